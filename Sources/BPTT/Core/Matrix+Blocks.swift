/// Sub-block helpers on row-major matrices: a gate's columns of a fused B×nH buffer, a gate's
/// rows of a fused weight. They do the pointer plumbing so the cells' math lines do not.

/// C[cBlock] = op(A[aBlock]) · op(B[bBlock]) + β·C[cBlock], on rectangular sub-blocks of
/// row-major matrices (a gate's columns of a fused buffer, a gate's rows of a fused weight).
/// Each block is (first row, first column); the block sizes follow from m, n, k.
func gemmBlock<Real: Scalar>(m: Int, n: Int, k: Int,
                             _ a: Matrix<Real>, at ao: (Int, Int) = (0, 0), transA: Bool = false,
                             _ b: Matrix<Real>, at bo: (Int, Int) = (0, 0), transB: Bool = false,
                             into c: inout Matrix<Real>, at co: (Int, Int) = (0, 0), beta: Real = 0) {
    require(ao.0 + (transA ? k : m) <= a.rows && ao.1 + (transA ? m : k) <= a.cols, "gemmBlock: A block out of range")
    require(bo.0 + (transB ? n : k) <= b.rows && bo.1 + (transB ? k : n) <= b.cols, "gemmBlock: B block out of range")
    require(co.0 + m <= c.rows && co.1 + n <= c.cols, "gemmBlock: C block out of range")
    let (lda, ldb, ldc) = (a.cols, b.cols, c.cols)
    a.data.withUnsafeBufferPointer { pa in
        b.data.withUnsafeBufferPointer { pb in
            c.data.withUnsafeMutableBufferPointer { pc in
                gemm(m: m, n: n, k: k,
                     a: pa.baseAddress! + ao.0 * lda + ao.1, lda: lda, transA: transA,
                     b: pb.baseAddress! + bo.0 * ldb + bo.1, ldb: ldb, transB: transB,
                     c: pc.baseAddress! + co.0 * ldc + co.1, ldc: ldc, beta: beta)
            }
        }
    }
}

/// C[co…] (+)= A[ao…]·B for an m-row block of A, B packed once beforehand (`PackedB`).
func gemmBlock<Real: Scalar>(m: Int, _ a: Matrix<Real>, at ao: (Int, Int) = (0, 0), packed b: PackedB<Real>,
                             into c: inout Matrix<Real>, at co: (Int, Int) = (0, 0), beta: Real = 0) {
    require(ao.0 + m <= a.rows && ao.1 + b.k <= a.cols, "gemmBlock: A block out of range")
    require(co.0 + m <= c.rows && co.1 + b.n <= c.cols, "gemmBlock: C block out of range")
    let (lda, ldc) = (a.cols, c.cols)
    a.data.withUnsafeBufferPointer { pa in
        c.data.withUnsafeMutableBufferPointer { pc in
            gemm(m: m, a: pa.baseAddress! + ao.0 * lda + ao.1, lda: lda, transA: false, packed: b,
                 c: pc.baseAddress! + co.0 * ldc + co.1, ldc: ldc, beta: beta)
        }
    }
}

/// Copies `src` (r×c) into `dst` at (row, col).
func copyBlock<Real>(_ src: Matrix<Real>, into dst: inout Matrix<Real>, at o: (Int, Int)) {
    require(o.0 + src.rows <= dst.rows && o.1 + src.cols <= dst.cols, "copyBlock: out of range")
    let (r, c, ld) = (src.rows, src.cols, dst.cols)
    src.data.withUnsafeBufferPointer { s in
        dst.data.withUnsafeMutableBufferPointer { d in
            for i in 0..<r { (d.baseAddress! + (o.0 + i) * ld + o.1).update(from: s.baseAddress! + i * c, count: c) }
        }
    }
}

/// dst += src[block at (row, col)] with dst's shape.
func addBlock<Real: Scalar>(from src: Matrix<Real>, at o: (Int, Int), into dst: inout Matrix<Real>) {
    require(o.0 + dst.rows <= src.rows && o.1 + dst.cols <= src.cols, "addBlock: out of range")
    let (r, c, ld) = (dst.rows, dst.cols, src.cols)
    src.data.withUnsafeBufferPointer { s in
        dst.data.withUnsafeMutableBufferPointer { d in
            for i in 0..<r {
                let si = s.baseAddress! + (o.0 + i) * ld + o.1, di = d.baseAddress! + i * c
                for j in 0..<c { di[j] += si[j] }
            }
        }
    }
}

/// Frobenius norm of a matrix, in Double.
func frobeniusNorm<Real: Scalar>(_ m: Matrix<Real>) -> Double { m.sumOfSquares.squareRoot() }

/// Makes `list` hold `count` matrices of the given shape, reallocating only on a shape change.
func resize<Real>(_ list: inout [Matrix<Real>], count: Int, rows: Int, cols: Int) {
    if list.count != count || list.first.map({ $0.rows != rows || $0.cols != cols }) == true {
        list = (0..<count).map { _ in Matrix(rows: rows, cols: cols) }
    }
}

func ensure<Real>(_ m: inout Matrix<Real>, _ rows: Int, _ cols: Int) {
    if m.rows != rows || m.cols != cols { m = Matrix(rows: rows, cols: cols) }
}

/// The input side of a recurrent cell, x_t·W_xᵀ at every step forward and dA_t·W_x at every step
/// back, with W_x (n×D, stored as PyTorch stores a weight) laid out once per sequence, as W_h is,
/// instead of inside every step's product. W_xᵀ is kept as a plain D×n matrix: an input of at
/// most 4 numbers multiplies it in the tiny-K loop, and a one-hot x_t (every row a single 1,
/// zeros elsewhere: the characters of the text model, the symbols of the copy task) picks its
/// rows, since e_c·W_xᵀ is row c of W_xᵀ. Any other input multiplies W_xᵀ packed into GEMM panels
/// (packed at the first such step of the sequence). Every path gives the numbers of the plain
/// `gemm` call it replaces: a row of a one-hot product is its one nonzero term, exactly.
public struct InputWeight<Real: Scalar> {
    var source = Matrix<Real>()          // W_x (n×D): this sequence's, copied (D > 4)
    var forwardPlain = Matrix<Real>()    // W_xᵀ (D×n): D ≤ 4 always; one-hot inputs, on demand
    var plainReady = false               // `forwardPlain` holds this sequence's W_xᵀ
    var forward = PackedB<Real>()        // W_xᵀ (D×n) in panels, D > 4, packed on demand
    var forwardPacked = false            // `forward` holds this sequence's W_xᵀ
    var backward = PackedB<Real>()       // W_x (n×D) in panels
    var hot: [Int] = []                  // the column of the 1 in each row of a one-hot x_t
    public init() {}

    /// Once per forward (per sequence): takes W_x (n×D).
    public mutating func packForward(_ w: Matrix<Real>) {
        if w.cols <= 4 {
            ensure(&forwardPlain, w.cols, w.rows)
            transpose(w, into: &forwardPlain)
        } else {
            ensure(&source, w.rows, w.cols)
            source.copy(from: w)   // its own buffer: W_x's may change before a lazy form is made
            (plainReady, forwardPacked) = (false, false)
        }
    }
    /// Once per backward.
    public mutating func packBackward(_ w: Matrix<Real>) { backward.pack(w, k: w.rows, n: w.cols) }

    /// c = x·W_xᵀ (B×n), x B×D.
    public mutating func forward(_ x: Matrix<Real>, into c: inout Matrix<Real>) {
        if x.cols <= 4 { gemm(x, forwardPlain, into: &c); return }
        if oneHotColumns(x, into: &hot) {
            if !plainReady { ensure(&forwardPlain, source.cols, source.rows); transpose(source, into: &forwardPlain); plainReady = true }
            require(c.rows == x.rows && c.cols == forwardPlain.cols, "InputWeight.forward: output is \(c.rows)×\(c.cols), expected \(x.rows)×\(forwardPlain.cols)")
            for (r, row) in hot.enumerated() { copyRow(forwardPlain, row, into: &c, r) }   // e_c·W_xᵀ = row c of W_xᵀ
            return
        }
        if !forwardPacked { forward.pack(source, k: source.cols, n: source.rows, transB: true); forwardPacked = true }
        gemm(x, packed: forward, into: &c)
    }
    /// dx = dA·W_x (B×D), dA B×n.
    public func backward(_ dA: Matrix<Real>, into dx: inout Matrix<Real>) { gemm(dA, packed: backward, into: &dx) }
    /// dA·W_x in a new matrix (a catalogued mistake adds it into dx).
    func backwardCopy(_ dA: Matrix<Real>) -> Matrix<Real> {
        var dx = Matrix<Real>(rows: dA.rows, cols: backward.n)
        backward(dA, into: &dx)
        return dx
    }
    /// dx = dA[lo..<lo+B, ·]·W_x: one step's rows of a stacked dA (B × n).
    func backward(_ dA: Matrix<Real>, rows lo: Int, _ B: Int, into dx: inout Matrix<Real>) { gemm(dA, rows: lo, B, packed: backward, into: &dx) }

    /// dW_x += dAᵀ·x (dW_x n×D; dA R×n, x R×D, R rows: one step's batch, or every step's stacked).
    /// For a one-hot x it adds row r of dA into column c_r of dW_x, through W_xᵀ-shaped scratch so
    /// the additions run along rows: each element receives the same terms, in the same order (r
    /// ascending, onto its old value), as the product's chain of FMAs, so the sums are identical.
    public mutating func accumulateGradient(_ dA: Matrix<Real>, _ x: Matrix<Real>, into dW: inout Matrix<Real>, scratch: inout Matrix<Real>) {
        guard x.cols > 4, oneHotColumns(x, into: &hot) else { gemm(dA, transA: true, x, into: &dW, beta: 1); return }
        require(dA.rows == x.rows && dW.rows == dA.cols && dW.cols == x.cols,
                     "InputWeight.accumulateGradient: dA \(dA.rows)×\(dA.cols), x \(x.rows)×\(x.cols), dW \(dW.rows)×\(dW.cols)")
        ensure(&scratch, dW.cols, dW.rows)
        transpose(dW, into: &scratch)
        for (r, c) in hot.enumerated() { addRow(dA, r, into: &scratch, c) }   // dW_xᵀ[c_r] += dA[r]
        transpose(scratch, into: &dW)
    }
}

/// The column of the 1 in each row of `x`, into `hot`, when every row is one-hot (one element
/// exactly 1, the others exactly 0); false (and `hot` undefined) otherwise. Reads B×D numbers,
/// against the B×D×n multiply-adds of the product it lets a cell skip.
func oneHotColumns<Real: Scalar>(_ x: Matrix<Real>, into hot: inout [Int]) -> Bool {
    let (rows, cols) = (x.rows, x.cols)
    if hot.count != rows { hot = [Int](repeating: 0, count: rows) }
    return x.data.withUnsafeBufferPointer { p in
        for r in 0..<rows {
            var at = -1
            for j in 0..<cols {
                let v = p[r * cols + j]
                if v == 0 { continue }
                if v != 1 || at >= 0 { return false }
                at = j
            }
            if at < 0 { return false }
            hot[r] = at
        }
        return true
    }
}
