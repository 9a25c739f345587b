/// Helpers for variable-length batches, derived in `derivations/masking.md`.
///
/// Row b of a batch is a sequence of length ℓ_b = lengths[b] ≤ T; at step t the rows with
/// ℓ_b < t are finished (m_{t,b} = 0). Each helper touches only finished rows and allocates nothing.

/// Validates `lengths` for a batch of `rows` sequences padded to `steps`.
func checkLengths(_ lengths: [Int]?, rows: Int, steps: Int, _ who: String) {
    guard let lengths else { return }
    require(lengths.count == rows, "\(who): \(lengths.count) lengths for \(rows) rows")
    for l in lengths { require(l >= 1 && l <= steps, "\(who): length \(l) outside 1…\(steps)") }
}

/// Row-wise copy: dst[dr, col…] = src[sr, 0…] (src row width).
@inline(__always)
func copyRow<Real>(_ src: Matrix<Real>, _ sr: Int, into dst: inout Matrix<Real>, _ dr: Int, col: Int = 0, width: Int? = nil) {
    let w = width ?? src.cols
    src.data.withUnsafeBufferPointer { s in
        dst.data.withUnsafeMutableBufferPointer { d in
            (d.baseAddress! + dr * dst.cols + col).update(from: s.baseAddress! + sr * src.cols, count: w)
        }
    }
}

/// Row-wise add: dst[dr, …] += src[sr, col…] (dst row width).
@inline(__always)
func addRow<Real: Scalar>(_ src: Matrix<Real>, _ sr: Int, col: Int = 0, into dst: inout Matrix<Real>, _ dr: Int) {
    let w = dst.cols
    src.data.withUnsafeBufferPointer { s in
        dst.data.withUnsafeMutableBufferPointer { d in
            let si = s.baseAddress! + sr * src.cols + col, di = d.baseAddress! + dr * w
            for j in 0..<w { di[j] += si[j] }
        }
    }
}

/// Forward (masking.h / masking.c): finished rows keep the previous state, current[b] = previous[b].
@inline(__always)
func holdFinishedRows<Real>(_ lengths: [Int], step t: Int, previous: Matrix<Real>, into current: inout Matrix<Real>) {
    for b in lengths.indices where lengths[b] < t {
        copyRow(previous, b, into: &current, b)                 // (masking.h)
    }
}

/// Backward (masking.dcell): moves finished rows of `d` (dh_t or dc_t) into `carry` and zeroes
/// them in `d`, so the cell sees κ ⊙ d (κ the step mask). `carry` must be B×H.
@inline(__always)
func divertFinishedRows<Real: Scalar>(_ lengths: [Int], step t: Int, from d: inout Matrix<Real>, into carry: inout Matrix<Real>) {
    for b in lengths.indices where lengths[b] < t {
        copyRow(d, b, into: &carry, b)
        d.data.withUnsafeMutableBufferPointer { p in
            for j in 0..<d.cols { p[b * d.cols + j] = 0 }       // (masking.dcell)
        }
    }
}

/// Backward (masking.dhold / masking.dc): dPrev[b] += carry[b] for the finished rows.
@inline(__always)
func addFinishedRows<Real: Scalar>(_ lengths: [Int], step t: Int, from carry: Matrix<Real>, into dPrev: inout Matrix<Real>) {
    for b in lengths.indices where lengths[b] < t {
        addRow(carry, b, into: &dPrev, b)                       // (masking.dhold)
    }
}

/// (masking.rev) r(t, b): row b's step t read in reverse within its own length (1-based).
@inline(__always)
func reversedStep(_ t: Int, length l: Int) -> Int { t <= l ? l - t + 1 : t }
