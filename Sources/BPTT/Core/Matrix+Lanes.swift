/// The cells' elementwise plumbing: a B×H block visited 8 columns at a time, so each math line
/// is written once, on `SIMD8` chunks, for both precisions (Float training, Double checks).
///
///     let (gates, cPrev, c) = (cache.gates.lanes, prev.c.lanes, next.c.writableLanes())
///     forEachChunk(rows: B, cols: H) { k in
///         c[k] = gates[k, G.g] * gates[k, G.i] + cPrev[k] * gates[k, G.f]      // (lstm.c)
///     }
///
/// `m[k, block]` reads or writes the 8 lanes of chunk `k` in the column block starting at
/// `block`; at the end of a row fewer than 8 lanes remain (`k.n`): the others read as zero and
/// are never written. The nonlinearities run on whole blocks (`applySigmoid`, `applyTanh`,
/// `applyReLU`), so Float keeps its SIMD approximations and Double its libm functions.

/// Eight columns (or the `n < 8` left at a row's end) of one row: `row`, first column `col`.
public struct Chunk {
    public let row: Int, col: Int, n: Int
    /// The same columns of a 1×n row vector (a bias broadcast over the rows).
    @inline(__always) public var bias: Chunk { Chunk(row: 0, col: col, n: n) }
}

/// Visits every chunk of a rows×cols block, row by row, 8 columns at a time.
@inline(__always)
public func forEachChunk(rows: Int, cols: Int, _ body: (Chunk) -> Void) {
    for row in 0..<rows {
        var j = 0
        while j + 8 <= cols { body(Chunk(row: row, col: j, n: 8)); j += 8 }
        if j < cols { body(Chunk(row: row, col: j, n: cols - j)) }
    }
}

/// A matrix seen chunk by chunk through its base address, taken once per elementwise block
/// (a check for unique storage at every chunk would cost more than the arithmetic). Valid while
/// the matrix is neither reallocated nor copied: use it only within the block that made it.
public struct Lanes<Real: Scalar> {
    @usableFromInline let base: UnsafeMutablePointer<Real>
    @usableFromInline let cols: Int

    /// The lanes of chunk `k` in the column block that starts at column `block`.
    @inline(__always)
    public subscript(k: Chunk, block: Int = 0) -> SIMD8<Real> {
        get { lanes8(UnsafePointer(base + k.row * cols + block + k.col), k.n) }
        nonmutating set { store8(newValue, base + k.row * cols + block + k.col, k.n) }
    }
}

extension Matrix {
    /// Read-only lanes (never write through them).
    @inline(__always)
    public var lanes: Lanes<Real> {
        require(count > 0, "Matrix.lanes: empty matrix")
        return data.withUnsafeBufferPointer { Lanes(base: UnsafeMutablePointer(mutating: $0.baseAddress!), cols: cols) }
    }

    /// Lanes to write through rows `row`… only (chunk row r is matrix row `row` + r): a block of
    /// rows written in place, such as one step's rows of a stacked buffer. Makes the storage unique first.
    @inline(__always)
    mutating func writableLanes(fromRow row: Int) -> Lanes<Real> {
        require(row >= 0 && row < rows, "Matrix.writableLanes(fromRow:): row \(row) of \(rows)")
        let cols = self.cols
        return data.withUnsafeMutableBufferPointer { Lanes(base: $0.baseAddress! + row * cols, cols: cols) }
    }

    /// Lanes to write through; makes the storage unique first.
    @inline(__always)
    public mutating func writableLanes() -> Lanes<Real> {
        require(count > 0, "Matrix.writableLanes: empty matrix")
        let cols = self.cols
        return data.withUnsafeMutableBufferPointer { Lanes(base: $0.baseAddress!, cols: cols) }
    }

    /// σ(x) in place on the column block `block..<block+width` of every row (all columns: nil).
    @inline(__always)
    public mutating func applySigmoid(block: Int = 0, width: Int? = nil) {
        forEachRowSlice(block, width ?? cols) { Real.sigmoid(inPlace: $0) }
    }

    /// tanh(x) in place on a column block of every row (all columns: nil).
    @inline(__always)
    public mutating func applyTanh(block: Int = 0, width: Int? = nil) {
        forEachRowSlice(block, width ?? cols) { Real.tanh(inPlace: $0) }
    }

    /// max(x, 0) in place, every element.
    @inline(__always)
    public mutating func applyReLU() {
        data.withUnsafeMutableBufferPointer { a in for i in 0..<a.count { a[i] = max(a[i], 0) } }
    }

    @inline(__always)
    private mutating func forEachRowSlice(_ block: Int, _ width: Int, _ body: (UnsafeMutableBufferPointer<Real>) -> Void) {
        let (rows, cols) = (self.rows, self.cols)
        data.withUnsafeMutableBufferPointer { p in
            if block == 0 && width == cols { body(p); return }
            for r in 0..<rows { body(UnsafeMutableBufferPointer(rebasing: p[(r * cols + block)..<(r * cols + block + width)])) }
        }
    }
}

extension Matrix {
    /// self = body(a) element by element, 8 lanes at a time: `q.setElementwise(f) { f in 1 - f }`.
    /// Every operand has self's shape (B×H); self may be one of them. Errors: a shape mismatch
    /// stops with a fatal error naming both shapes.
    @inline(__always)
    public mutating func setElementwise(_ a: Matrix, _ body: (SIMD8<Real>) -> SIMD8<Real>) {
        requireShape(a); let (la, out) = (a.lanes, writableLanes())
        forEachChunk(rows: rows, cols: cols) { k in out[k] = body(la[k]) }
    }

    /// self = body(a, b) element by element: `q.setElementwise(f, hPrev) { f, h0 in f * h0 }` (q_t = f_t ⊙ h_{t−1}).
    @inline(__always)
    public mutating func setElementwise(_ a: Matrix, _ b: Matrix, _ body: (SIMD8<Real>, SIMD8<Real>) -> SIMD8<Real>) {
        requireShape(a); requireShape(b); let (la, lb, out) = (a.lanes, b.lanes, writableLanes())
        forEachChunk(rows: rows, cols: cols) { k in out[k] = body(la[k], lb[k]) }
    }

    /// self = body(a, b, c) element by element: `h.setElementwise(f, hPrev, n) { f, h0, n in (1 - f) * h0 + f * n }`.
    @inline(__always)
    public mutating func setElementwise(_ a: Matrix, _ b: Matrix, _ c: Matrix,
                                        _ body: (SIMD8<Real>, SIMD8<Real>, SIMD8<Real>) -> SIMD8<Real>) {
        requireShape(a); requireShape(b); requireShape(c); let (la, lb, lc, out) = (a.lanes, b.lanes, c.lanes, writableLanes())
        forEachChunk(rows: rows, cols: cols) { k in out[k] = body(la[k], lb[k], lc[k]) }
    }

    /// self = body(a, b, c, d) element by element: `df.setElementwise(dh, n, hPrev, dq) { dh, n, h0, dq in dh * (n - h0) + dq * h0 }`.
    /// self may be an operand (`dhPrev.setElementwise(dhPrev, …)` adds into it).
    @inline(__always)
    public mutating func setElementwise(_ a: Matrix, _ b: Matrix, _ c: Matrix, _ d: Matrix,
                                        _ body: (SIMD8<Real>, SIMD8<Real>, SIMD8<Real>, SIMD8<Real>) -> SIMD8<Real>) {
        requireShape(a); requireShape(b); requireShape(c); requireShape(d)
        let (la, lb, lc, ld, out) = (a.lanes, b.lanes, c.lanes, d.lanes, writableLanes())
        forEachChunk(rows: rows, cols: cols) { k in out[k] = body(la[k], lb[k], lc[k], ld[k]) }
    }

    @inline(__always)
    private func requireShape(_ other: Matrix) {
        require(other.rows == rows && other.cols == cols, "elementwise: shapes \(rows)×\(cols) and \(other.rows)×\(other.cols) differ")
    }
}

/// tanh on 8 lanes, lane by lane with the scalar function (the catalogued mistakes of the checks
/// use it; the training path uses `applyTanh`).
@inline(__always)
public func tanh<Real: Scalar>(_ v: SIMD8<Real>) -> SIMD8<Real> {
    var s = v
    for l in 0..<8 { s[l] = Real.tanh(v[l]) }
    return s
}

/// d where v > 0, else 0, lane by lane: ReLU's derivative read from its output v, applied to d.
@inline(__always)
public func whereGreaterThanZero<Real: Scalar>(_ v: SIMD8<Real>, _ d: SIMD8<Real>) -> SIMD8<Real> {
    var s = d
    for l in 0..<8 where !(v[l] > 0) { s[l] = 0 }
    return s
}
