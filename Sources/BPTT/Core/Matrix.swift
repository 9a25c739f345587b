/// A dense row-major matrix: `rows × cols` scalars in one contiguous buffer.
///
/// Element (r, c) lives at `data[r * cols + c]`. Vectors (biases) are matrices with one row.
/// Shapes follow the derivations: a batch of hidden states is `B × H`, a weight `out × in`.
public struct Matrix<Real: Scalar>: Equatable, Sendable {
    public private(set) var rows: Int
    public private(set) var cols: Int
    public var data: [Real]

    /// A 0×0 matrix: a buffer that is sized later (`resize`), e.g. a workspace field.
    public init() { self.init(rows: 0, cols: 0) }

    public init(rows: Int, cols: Int, repeating value: Real = 0) {
        require(rows >= 0 && cols >= 0, "matrix shape must be non-negative")
        MemoryLimit.check(rows, cols, MemoryLayout<Real>.stride)
        self.rows = rows
        self.cols = cols
        self.data = [Real](repeating: value, count: rows * cols)
    }

    public init(rows: Int, cols: Int, data: [Real]) {
        require(data.count == rows * cols, "matrix data has \(data.count) elements, shape \(rows)x\(cols) needs \(rows * cols)")
        self.rows = rows
        self.cols = cols
        self.data = data
    }

    /// A `1 × n` row vector (biases).
    public init(vector: [Real]) { self.init(rows: 1, cols: vector.count, data: vector) }

    public static func zeros(_ rows: Int, _ cols: Int) -> Matrix { Matrix(rows: rows, cols: cols) }

    public var count: Int { rows * cols }
    public var shape: (rows: Int, cols: Int) { (rows, cols) }

    @inlinable public subscript(r: Int, c: Int) -> Real {
        get { data[r * cols + c] }
        set { data[r * cols + c] = newValue }
    }

    /// Same shape as `other`, all zeros.
    public init(zerosLike other: Matrix) { self.init(rows: other.rows, cols: other.cols) }

    /// Sets every element to zero without reallocating.
    public mutating func zero() {
        data.withUnsafeMutableBufferPointer { p in
            for i in p.indices { p[i] = 0 }
        }
    }

    /// Reshapes in place when the element count is unchanged; otherwise reallocates (zeros).
    public mutating func resize(rows: Int, cols: Int) {
        if rows * cols != data.count {
            MemoryLimit.check(rows, cols, MemoryLayout<Real>.stride)
            data = [Real](repeating: 0, count: rows * cols)
        }
        self.rows = rows
        self.cols = cols
    }

    public func transposed() -> Matrix {
        var t = Matrix(rows: cols, cols: rows)
        transpose(self, into: &t)
        return t
    }

    /// Converts between precisions (Float ↔ Double).
    public func converted<U: Scalar>(to: U.Type = U.self) -> Matrix<U> {
        Matrix<U>(rows: rows, cols: cols, data: data.map { U($0) })
    }

    /// Copies row `r` of `source` into row `r` of self... (whole rows, same width).
    public func row(_ r: Int) -> ArraySlice<Real> { data[(r * cols)..<((r + 1) * cols)] }
}

/// `t = aᵀ`, writing into an existing buffer of the right shape.
public func transpose<Real>(_ a: Matrix<Real>, into t: inout Matrix<Real>) {
    require(t.rows == a.cols && t.cols == a.rows, "transpose: shape mismatch")
    let (m, n) = (a.rows, a.cols)
    a.data.withUnsafeBufferPointer { src in
        t.data.withUnsafeMutableBufferPointer { dst in
            // Blocked so both reads and writes stay within a few cache lines.
            let block = 32
            var i0 = 0
            while i0 < m {
                let i1 = min(i0 + block, m)
                var j0 = 0
                while j0 < n {
                    let j1 = min(j0 + block, n)
                    for i in i0..<i1 {
                        for j in j0..<j1 { dst[j * m + i] = src[i * n + j] }
                    }
                    j0 = j1
                }
                i0 = i1
            }
        }
    }
}
