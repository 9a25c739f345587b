/// Mean squared error and binary cross-entropy, derived in `derivations/losses.md`.
/// Each `forward` returns the loss L (in Double); each `backward` writes dŷ = ∂L/∂ŷ (or ∂L/∂s).
/// `scale` is 1/N, the number of terms averaged (the caller decides what N counts).

/// L = scale · Σ w ⊙ (ŷ − y)²; the weights w select pixels (a mask) or are all 1 (`nil`).
public enum MSELoss {
    public static func forward<Real: Scalar>(_ yhat: Matrix<Real>, target y: Matrix<Real>, weights w: Matrix<Real>? = nil, scale: Double) -> Double {
        require(yhat.count == y.count && (w == nil || w!.count == y.count), "mse: shape mismatch")
        var sum = 0.0
        // Through the buffers (an element subscript checks the array each time); the same sum in the same order.
        yhat.data.withUnsafeBufferPointer { yh in
            y.data.withUnsafeBufferPointer { yv in
                if let w {
                    w.data.withUnsafeBufferPointer { wv in
                        for i in 0..<yh.count {
                            let e = Double(yh[i] - yv[i])
                            sum += Double(wv[i]) * e * e                                    // (losses.mse)
                        }
                    }
                } else {
                    for i in 0..<yh.count {
                        let e = Double(yh[i] - yv[i])
                        sum += 1 * e * e                                                    // (losses.mse)
                    }
                }
            }
        }
        return scale * sum                                                          // (losses.mse)
    }

    public static func backward<Real: Scalar>(_ yhat: Matrix<Real>, target y: Matrix<Real>, weights w: Matrix<Real>? = nil,
                                              scale: Double, into dyhat: inout Matrix<Real>) {
        ensure(&dyhat, yhat.rows, yhat.cols)
        let s = Real(2 * scale)
        // forward (losses.mse): L = (1/N) Σ w (ŷ − y)²
        let n = yhat.count
        dyhat.data.withUnsafeMutableBufferPointer { d in
            yhat.data.withUnsafeBufferPointer { yh in
                y.data.withUnsafeBufferPointer { yv in
                    if let w {
                        w.data.withUnsafeBufferPointer { wv in
                            for i in 0..<n { d[i] = s * wv[i] * (yh[i] - yv[i]) }          // (losses.dmse)
                        }
                    } else {
                        for i in 0..<n { d[i] = s * 1 * (yh[i] - yv[i]) }                  // (losses.dmse)
                    }
                }
            }
        }
    }
}

/// Binary cross-entropy on probabilities π ∈ (0, 1) (the argument `p`): L = −scale · Σ [y log π + (1 − y) log(1 − π)].
/// Logarithms are clamped at −100 as PyTorch's `BCELoss` does, so π = 0 or 1 gives a finite loss.
public enum BCELoss {
    public static func forward<Real: Scalar>(_ p: Matrix<Real>, target y: Matrix<Real>, scale: Double) -> Double {
        require(p.count == y.count, "bce: shape mismatch")
        var sum = 0.0
        for i in 0..<p.count {
            let pi = Double(p.data[i]), yi = Double(y.data[i])
            let logP = max(Foundation.log(pi), -100), log1mP = max(Foundation.log(1 - pi), -100)
            sum -= yi * logP + (1 - yi) * log1mP                                     // (losses.bce)
        }
        return scale * sum
    }

    public static func backward<Real: Scalar>(_ p: Matrix<Real>, target y: Matrix<Real>, scale: Double, into dp: inout Matrix<Real>) {
        ensure(&dp, p.rows, p.cols)
        let eps = Real(1e-12)
        // forward (losses.bce): ℓ = −[y log π + (1 − y) log(1 − π)]
        for i in 0..<p.count {
            let pi = p.data[i]
            dp.data[i] = Real(scale) * (pi - y.data[i]) / max(pi * (1 - pi), eps)      // (losses.dbce)
        }
    }
}

/// Binary cross-entropy on logits s (π = σ(s)), in the stable form
/// ℓ = max(s, 0) − s·y + log(1 + e^{−|s|}), which neither overflows nor loses precision for large |s|.
public enum BCEWithLogitsLoss {
    public static func forward<Real: Scalar>(_ s: Matrix<Real>, target y: Matrix<Real>, scale: Double) -> Double {
        require(s.count == y.count, "bce-with-logits: shape mismatch")
        var sum = 0.0
        for i in 0..<s.count {
            let si = Double(s.data[i]), yi = Double(y.data[i])
            sum += max(si, 0) - si * yi + Foundation.log1p(Foundation.exp(-abs(si)))   // (losses.bcelogits)
        }
        return scale * sum
    }

    public static func backward<Real: Scalar>(_ s: Matrix<Real>, target y: Matrix<Real>, scale: Double, into ds: inout Matrix<Real>) {
        ensure(&ds, s.rows, s.cols)
        // forward (losses.bcelogits): ℓ = max(s, 0) − s y + log(1 + e^{−|s|}); ∂ℓ/∂s = σ(s) − y
        for i in 0..<s.count {
            ds.data[i] = Real(scale) * (Real.sigmoid(s.data[i]) - y.data[i])               // (losses.dbcelogits)
        }
    }
}

import Foundation
