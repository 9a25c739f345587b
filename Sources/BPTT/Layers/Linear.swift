/// How a backward pass stores the parameter gradients: added into what the buffers hold (`+=`,
/// the default), or written as though the buffers had been zeroed first. The two give the same
/// numbers; `overwrite` saves the pass that zeroes the buffers and the product's read of them
/// (a data-parallel shard's first backward of a step).
public enum GradientWrite: Sendable { case accumulate, overwrite }

/// Fully connected layer, derived in `derivations/linear.md`.
///
///     y = x Wᵀ + b          (linear.y)      x B×in, W out×in, b 1×out, y B×out
public struct Linear<Real: Scalar> {
    public struct Parameters: ParameterSet {
        public var W: Matrix<Real>  // out × in
        public var b: Matrix<Real>  // 1 × out
        public mutating func forEachTensor(pairedWith other: Self?, _ body: (String, inout Matrix<Real>, Matrix<Real>?) -> Void) {
            body("W", &W, other?.W); body("b", &b, other?.b)
        }
    }

    public let inputSize: Int
    public let outputSize: Int

    public init(inputSize: Int, outputSize: Int) {
        self.inputSize = inputSize
        self.outputSize = outputSize
    }

    public func initialParameters(_ initializer: Initializer, rng: inout RNG) -> Parameters {
        let (i, o) = (inputSize, outputSize)
        return Parameters(
            W: .initialized(o, i, initializer, fanIn: i, fanOut: o, pytorchFan: i, rng: &rng),
            b: .initialized(1, o, initializer, fanIn: i, fanOut: o, pytorchFan: i, rng: &rng))
    }

    /// y = x Wᵀ + b, written into `y` (B×out).
    public func forward(_ x: Matrix<Real>, _ p: Parameters, into y: inout Matrix<Real>, threads: Int = 1) {
        ensure(&y, x.rows, outputSize)
        gemm(x, p.W, transB: true, into: &y, threads: threads)   // (linear.y)
        y.addRowVector(p.b)                    // (linear.y)
    }

    /// Given dy = ∂L/∂y, accumulates ∂L/∂W and ∂L/∂b into `grads` and, if asked, writes
    /// ∂L/∂x into `dx` (or adds to it with `accumulateInput`).
    public func backward(_ dy: Matrix<Real>, x: Matrix<Real>, _ p: Parameters, grads: inout Parameters,
                         dx: inout Matrix<Real>, accumulateInput: Bool = false, threads: Int = 1, write: GradientWrite = .accumulate) {
        // forward (linear.y): y = x Wᵀ + b
        backward(dy, x: x, grads: &grads, threads: threads, write: write)             // (linear.dW) (linear.db)
        ensure(&dx, dy.rows, inputSize)
        gemm(dy, p.W, into: &dx, beta: accumulateInput ? 1 : 0, threads: threads)     // (linear.dx)
    }

    /// ∂L/∂x only, written into `dx` (parameters held fixed, e.g. D while training G).
    public func inputBackward(_ dy: Matrix<Real>, _ p: Parameters, dx: inout Matrix<Real>, threads: Int = 1) {
        // forward (linear.y): y = x Wᵀ + b
        ensure(&dx, dy.rows, inputSize)
        gemm(dy, p.W, into: &dx, threads: threads)                                    // (linear.dx)
    }

    /// Parameter gradients only (the input needs no gradient).
    public func backward(_ dy: Matrix<Real>, x: Matrix<Real>, grads: inout Parameters, threads: Int = 1, write: GradientWrite = .accumulate) {
        if write == .overwrite { grads.b.zero() }                                     // 1×out: cheap to zero
        // dW += dyᵀ x; with `overwrite` the product writes dW (beta 0), which is 0 + dyᵀ x
        gemm(dy, transA: true, x, into: &grads.W, beta: write == .overwrite ? 0 : 1, threads: threads)   // (linear.dW)
        dy.accumulateColumnSums(into: &grads.b)                                       // (linear.db)
    }
}
