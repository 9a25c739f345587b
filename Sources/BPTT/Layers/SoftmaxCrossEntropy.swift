/// Softmax cross-entropy with integer targets, derived in `derivations/losses.md`.
///
///     ŷ = softmax(p)                      (losses.softmax)
///     ℓ = −log ŷ_y                        (losses.ce)
///     ∂ℓ/∂p = ŷ − onehot(y)               (losses.dp)
public enum SoftmaxCrossEntropy {
    /// Writes ŷ = softmax(p) row by row into `probs` and returns Σ_rows −log ŷ[row, y_row]
    /// (in Double) and the number of rows whose arg-max equals the target.
    public static func forward<Real: Scalar>(logits p: Matrix<Real>, targets: ArraySlice<Int>, probs: inout Matrix<Real>)
        -> (lossSum: Double, correct: Int)
    {
        require(targets.count == p.rows, "cross-entropy: \(targets.count) targets for \(p.rows) rows")
        ensure(&probs, p.rows, p.cols)
        let K = p.cols
        var lossSum = 0.0
        var correct = 0
        p.data.withUnsafeBufferPointer { p in
            probs.data.withUnsafeMutableBufferPointer { y in
                for r in 0..<targets.count {
                    let row = p.baseAddress! + r * K
                    let out = y.baseAddress! + r * K
                    var maxV = row[0], arg = 0
                    for k in 1..<K where row[k] > maxV { maxV = row[k]; arg = k }
                    // (losses.softmax) ŷ_k = e^{p_k − max} / Σ_j e^{p_j − max}
                    var sum: Real = 0
                    for k in 0..<K { out[k] = Real.exp(row[k] - maxV); sum += out[k] }   // (losses.softmax)
                    for k in 0..<K { out[k] /= sum }                                   // (losses.softmax)
                    let target = targets[targets.startIndex + r]
                    // (losses.ce) ℓ = −log ŷ_y = log Σ_j e^{p_j − max} − (p_y − max)
                    lossSum += Double(Real.log(sum)) - Double(row[target] - maxV)         // (losses.ce)
                    if arg == target { correct += 1 }
                }
            }
        }
        return (lossSum, correct)
    }

    /// dp = scale · (ŷ − onehot(y)); `scale` is 1/(number of terms averaged in the loss).
    /// `tracer`: a check's probe, which may switch on the catalogued mistake `losses.dp:no-minus-one`.
    public static func backward<Real: Scalar>(probs: Matrix<Real>, targets: ArraySlice<Int>, scale: Real, into dp: inout Matrix<Real>,
                                              tracer: Tracer? = nil) {
        ensure(&dp, probs.rows, probs.cols)
        let K = probs.cols
        probs.data.withUnsafeBufferPointer { y in
            dp.data.withUnsafeMutableBufferPointer { d in
                for r in 0..<probs.rows {
                    for k in 0..<K { d[r * K + k] = scale * y[r * K + k] }          // (losses.dp)
                    d[r * K + targets[targets.startIndex + r]] -= scale              // (losses.dp)
                    if tracer?.breaks(.lossesDpNoMinusOne) == true { d[r * K + targets[targets.startIndex + r]] += scale }  // break
                }
            }
        }
    }
}
