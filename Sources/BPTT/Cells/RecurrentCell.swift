/// What every recurrent layer (RNN, LSTM, GRU) offers the sequence drivers above it
/// (`RecurrentStack`, `SequenceClassifier`): a forward pass over all T steps into a reusable
/// named cache, and backpropagation through time that walks the steps in reverse and
/// accumulates (`+=`) into the gradients.
///
/// The state passed from step to step is h (B×H), plus the memory cell c (B×H) for the LSTM.
public protocol RecurrentCell {
    associatedtype T: Scalar
    associatedtype Parameters: ParameterSet where Parameters.T == T
    associatedtype Cache: RecurrentCache where Cache.T == T

    var inputSize: Int { get }
    var hiddenSize: Int { get }
    /// True when a memory cell c travels beside h (LSTM): then `c0` and `dc0` mean something.
    var hasCellState: Bool { get }

    func initialParameters(_ initializer: Initializer, rng: inout RNG) -> Parameters

    /// Runs all steps. xs: T inputs, each B×D; h0, c0: B×H initial states (nil: zeros).
    /// lengths: row b is a sequence of lengths[b] ≤ T steps; its state stops changing after its
    /// last step (`derivations/masking.md`) and backward respects the same mask. nil: all T.
    func forward(_ xs: [Matrix<T>], h0: Matrix<T>?, c0: Matrix<T>?, _ p: Parameters, lengths: [Int]?, cache: inout Cache)

    /// BPTT. dhs[t−1] = ∂L/∂h_t from above (nil: h_t feeds no loss directly). Accumulates into
    /// `grads`; afterwards `cache.dh0`, `cache.dc0` and (with `inputGradients`) `cache.dxs` are set.
    /// truncation k > 0: the gradient stops at chunk boundaries of k steps aligned to the end.
    func backward(_ dhs: [Matrix<T>?], _ p: Parameters, cache: inout Cache, grads: inout Parameters,
                  inputGradients: Bool, truncation: Int)
}

/// The part of a cell's cache the drivers read.
public protocol RecurrentCache {
    associatedtype T: Scalar
    init()
    /// h_t for t = 0…T (index 0 is h0).
    var h: [Matrix<T>] { get }
    /// ∂L/∂x_t (B×D each) after a backward pass with input gradients.
    var dxs: [Matrix<T>] { get }
    /// ∂L/∂h0 after a backward pass.
    var dh0: Matrix<T> { get }
    /// ∂L/∂c0 after a backward pass (LSTM); nil for cells without a memory cell.
    var dc0: Matrix<T>? { get }
    /// When true, backward records ‖∂L/∂h_t‖ (Frobenius norm over the batch) for t = 1…T
    /// into `dhNorms` (the gradient-flow experiment).
    var recordGradientNorms: Bool { get set }
    var dhNorms: [Double] { get }
    /// A check's probe (`bptt explain`, `gradcheck --locate`); nil while training.
    var tracer: Tracer? { get set }
    /// Drops the cache's references to the inputs of the last forward, so a driver can rewrite
    /// its input buffers in place (no copy-on-write) before the next forward.
    mutating func releaseInputs()
}

extension RecurrentCache {
    /// h_T, the state after the last step.
    public var hT: Matrix<T> { h[h.count - 1] }
}

extension RecurrentCell {
    /// All rows run the full T steps.
    public func forward(_ xs: [Matrix<T>], h0: Matrix<T>?, c0: Matrix<T>?, _ p: Parameters, cache: inout Cache) {
        forward(xs, h0: h0, c0: c0, p, lengths: nil, cache: &cache)
    }
}

extension RNN: RecurrentCell {
    public var hasCellState: Bool { false }
    public func forward(_ xs: [Matrix<T>], h0: Matrix<T>?, c0: Matrix<T>?, _ p: Parameters, lengths: [Int]?, cache: inout Cache) {
        forward(xs, h0: h0, p, lengths: lengths, cache: &cache)
    }
}

extension RNN.Cache: RecurrentCache {
    public var dc0: Matrix<T>? { nil }
    public mutating func releaseInputs() { xs = [] }
}

/// C[cBlock] = op(A[aBlock]) · op(B[bBlock]) + β·C[cBlock], on rectangular sub-blocks of
/// row-major matrices (a gate's columns of a fused buffer, a gate's rows of a fused weight).
/// Each block is (first row, first column); the block sizes follow from m, n, k.
func gemmBlock<T: Scalar>(m: Int, n: Int, k: Int,
                          _ a: Matrix<T>, at ao: (Int, Int) = (0, 0), transA: Bool = false,
                          _ b: Matrix<T>, at bo: (Int, Int) = (0, 0), transB: Bool = false,
                          into c: inout Matrix<T>, at co: (Int, Int) = (0, 0), beta: T = 0) {
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
func gemmBlock<T: Scalar>(m: Int, _ a: Matrix<T>, at ao: (Int, Int) = (0, 0), packed b: PackedB<T>,
                          into c: inout Matrix<T>, at co: (Int, Int) = (0, 0), beta: T = 0) {
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
func copyBlock<T>(_ src: Matrix<T>, into dst: inout Matrix<T>, at o: (Int, Int)) {
    precondition(o.0 + src.rows <= dst.rows && o.1 + src.cols <= dst.cols, "copyBlock: out of range")
    let (r, c, ld) = (src.rows, src.cols, dst.cols)
    src.data.withUnsafeBufferPointer { s in
        dst.data.withUnsafeMutableBufferPointer { d in
            for i in 0..<r { (d.baseAddress! + (o.0 + i) * ld + o.1).update(from: s.baseAddress! + i * c, count: c) }
        }
    }
}

/// dst += src[block at (row, col)] with dst's shape.
func addBlock<T: Scalar>(from src: Matrix<T>, at o: (Int, Int), into dst: inout Matrix<T>) {
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
func frobeniusNorm<T: Scalar>(_ m: Matrix<T>) -> Double { m.sumOfSquares.squareRoot() }
