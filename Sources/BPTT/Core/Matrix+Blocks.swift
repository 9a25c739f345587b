/// Sub-block helpers on row-major matrices: a gate's columns of a fused B×nH buffer, a gate's
/// rows of a fused weight. They do the pointer plumbing so the cells' math lines do not.

/// C[cBlock] = op(A[aBlock]) · op(B[bBlock]) + β·C[cBlock], on rectangular sub-blocks of
/// row-major matrices (a gate's columns of a fused buffer, a gate's rows of a fused weight).
/// Each block is (first row, first column); the block sizes follow from m, n, k.
func gemmBlock<Real: Scalar>(m: Int, n: Int, k: Int,
                             _ a: Matrix<Real>, at ao: (Int, Int) = (0, 0), transA: Bool = false,
                             _ b: Matrix<Real>, at bo: (Int, Int) = (0, 0), transB: Bool = false,
                             into c: inout Matrix<Real>, at co: (Int, Int) = (0, 0), beta: Real = 0) {
    precondition(ao.0 + (transA ? k : m) <= a.rows && ao.1 + (transA ? m : k) <= a.cols, "gemmBlock: A block out of range")
    precondition(bo.0 + (transB ? n : k) <= b.rows && bo.1 + (transB ? k : n) <= b.cols, "gemmBlock: B block out of range")
    precondition(co.0 + m <= c.rows && co.1 + n <= c.cols, "gemmBlock: C block out of range")
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
    precondition(ao.0 + m <= a.rows && ao.1 + b.k <= a.cols, "gemmBlock: A block out of range")
    precondition(co.0 + m <= c.rows && co.1 + b.n <= c.cols, "gemmBlock: C block out of range")
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
    precondition(o.0 + src.rows <= dst.rows && o.1 + src.cols <= dst.cols, "copyBlock: out of range")
    let (r, c, ld) = (src.rows, src.cols, dst.cols)
    src.data.withUnsafeBufferPointer { s in
        dst.data.withUnsafeMutableBufferPointer { d in
            for i in 0..<r { (d.baseAddress! + (o.0 + i) * ld + o.1).update(from: s.baseAddress! + i * c, count: c) }
        }
    }
}

/// dst += src[block at (row, col)] with dst's shape.
func addBlock<Real: Scalar>(from src: Matrix<Real>, at o: (Int, Int), into dst: inout Matrix<Real>) {
    precondition(o.0 + dst.rows <= src.rows && o.1 + dst.cols <= src.cols, "addBlock: out of range")
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
/// back, with W_x (n×D, stored as PyTorch stores a weight) packed into GEMM panels once per
/// sequence, as W_h is, instead of inside every step's product. An input of at most 4 numbers
/// keeps W_xᵀ as a plain matrix, for the tiny-K loop that product takes. Either way every product
/// runs the loop, and gives the numbers, of the plain `gemm` call it replaces.
public struct InputWeight<Real: Scalar> {
    var forward = PackedB<Real>()        // W_xᵀ (D×n) in panels, D > 4
    var forwardPlain = Matrix<Real>()    // W_xᵀ (D×n), D ≤ 4
    var backward = PackedB<Real>()       // W_x (n×D) in panels
    public init() {}

    /// Once per forward: takes W_x (n×D), or the rows `rows` of a fused one.
    mutating func packForward(_ w: Matrix<Real>) {
        if w.cols <= 4 {
            ensure(&forwardPlain, w.cols, w.rows)
            transpose(w, into: &forwardPlain)
        } else {
            forward.pack(w, k: w.cols, n: w.rows, transB: true)
        }
    }
    /// Once per backward.
    mutating func packBackward(_ w: Matrix<Real>) { backward.pack(w, k: w.rows, n: w.cols) }

    /// c = x·W_xᵀ (B×n), x B×D.
    func forward(_ x: Matrix<Real>, into c: inout Matrix<Real>) {
        if x.cols <= 4 { gemm(x, forwardPlain, into: &c) } else { gemm(x, packed: forward, into: &c) }
    }
    /// dx = dA·W_x (B×D), dA B×n.
    func backward(_ dA: Matrix<Real>, into dx: inout Matrix<Real>) { gemm(dA, packed: backward, into: &dx) }
}
