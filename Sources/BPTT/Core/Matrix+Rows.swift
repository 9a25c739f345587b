/// Rows lo..<hi of a matrix as a new matrix (a shard of a batch).
func rowsSlice<T>(_ m: Matrix<T>, _ lo: Int, _ hi: Int) -> Matrix<T> {
    if lo == 0 && hi == m.rows { return m }
    return Matrix(rows: hi - lo, cols: m.cols, data: Array(m.data[(lo * m.cols)..<(hi * m.cols)]))
}
