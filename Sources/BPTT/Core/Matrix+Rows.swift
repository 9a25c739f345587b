/// Rows lo..<hi of a matrix as a new matrix (a shard of a batch).
func rowsSlice<Real>(_ m: Matrix<Real>, _ lo: Int, _ hi: Int) -> Matrix<Real> {
    if lo == 0 && hi == m.rows { return m }
    return Matrix(rows: hi - lo, cols: m.cols, data: Array(m.data[(lo * m.cols)..<(hi * m.cols)]))
}

/// Rows lo..<hi of `m` into `out` (already (hi − lo) × m.cols): a shard of a batch, no allocation.
func copyRows<Real>(_ m: Matrix<Real>, _ lo: Int, _ hi: Int, into out: inout Matrix<Real>) {
    require(out.rows == hi - lo && out.cols == m.cols, "copyRows: output is \(out.rows)×\(out.cols), expected \(hi - lo)×\(m.cols)")
    out.data.withUnsafeMutableBufferPointer { dst in
        m.data.withUnsafeBufferPointer { src in dst.baseAddress!.update(from: src.baseAddress! + lo * m.cols, count: (hi - lo) * m.cols) }
    }
}

extension Matrix {
    /// The column of each row's largest entry (the first one on a tie): the predicted class of
    /// each row of logits or probabilities.
    public func rowArgmax() -> [Int] {
        (0..<rows).map { r in
            var best = 0
            for k in 1..<Swift.max(cols, 1) where self[r, k] > self[r, best] { best = k }
            return best
        }
    }
}
