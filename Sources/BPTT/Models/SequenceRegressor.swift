/// A recurrent stack (any cell, any depth, one or two directions) with a linear readout of the
/// final state and a squared-error loss: the adding-problem model, derived in
/// `derivations/long-memory.md`.
///
///     s  = final states of the stack               (stacked.final; h_T for one direction)
///     ŷ  = s W_yᵀ + b_y                              (long-memory.y)      W_y 1×H·directions, b_y 1×1
///     L  = lossScale · Σ_b (ŷ_b − y_b)²              (long-memory.mse)    lossScale = 1/B: the batch MSE
public struct SequenceRegressor<Cell: RecurrentCell> {
    public typealias Real = Cell.Real
    public typealias Stack = RecurrentStack<Cell>

    public struct Parameters: ParameterSet {
        public var stack: Stack.Parameters
        public var readout: Linear<Real>.Parameters
        /// The stack's tensors, then the readout's W_y (1 × H·directions) and b_y (1 × 1).
        public mutating func forEachTensor(pairedWith other: Self?, _ body: (String, inout Matrix<Real>, Matrix<Real>?) -> Void) {
            stack.forEachTensor(pairedWith: other?.stack, body)
            body("W_y", &readout.W, other?.readout.W); body("b_y", &readout.b, other?.readout.b)
        }
    }

    public struct Workspace {
        public var stack = Stack.Workspace()
        /// ŷ after a forward, B×1.
        public internal(set) var yhat = Matrix<Real>(rows: 0, cols: 0)
        /// dŷ after a backward, B×1.
        public internal(set) var dyhat = Matrix<Real>(rows: 0, cols: 0)
        public init() {}
    }

    public let stack: Stack
    public let readout: Linear<Real>

    public init(stack: Stack) {
        self.stack = stack
        self.readout = Linear(inputSize: stack.outputSize, outputSize: 1)
    }

    public func initialParameters(_ initializer: Initializer, rng: inout RNG) -> Parameters {
        Parameters(stack: stack.initialParameters(initializer, rng: &rng), readout: readout.initialParameters(initializer, rng: &rng))
    }

    /// Forward only: the summed squared error Σ_b (ŷ_b − y_b)² over the B rows. xs: T steps of
    /// B×D; targets: B×1. Evaluation passes no dropout stream.
    @discardableResult
    public func forward(_ xs: [Matrix<Real>], targets y: Matrix<Real>, _ p: Parameters, workspace ws: inout Workspace,
                        dropoutRNG: inout RNG?) -> Double {
        require(y.rows == xs[0].rows && y.cols == 1, "SequenceRegressor: targets must be B×1")
        stack.forward(xs, p.stack, workspace: &ws.stack, dropoutRNG: &dropoutRNG)
        readout.forward(stack.finalState(ws.stack), p.readout, into: &ws.yhat)          // (long-memory.y)
        return MSELoss.forward(ws.yhat, target: y, scale: 1)                             // (long-memory.mse)
    }

    @discardableResult
    public func forward(_ xs: [Matrix<Real>], targets y: Matrix<Real>, _ p: Parameters, workspace ws: inout Workspace) -> Double {
        var none: RNG? = nil
        return forward(xs, targets: y, p, workspace: &ws, dropoutRNG: &none)
    }

    /// Forward and backward: accumulates ∂L/∂θ into `grads` for L = lossScale · Σ_b (ŷ_b − y_b)²;
    /// returns the summed squared error (unscaled).
    @discardableResult
    public func lossAndGradient(_ xs: [Matrix<Real>], targets y: Matrix<Real>, _ p: Parameters, lossScale: Double,
                                workspace ws: inout Workspace, grads: inout Parameters, dropoutRNG: inout RNG?,
                                truncation: Int = 0) -> Double {
        let sum = forward(xs, targets: y, p, workspace: &ws, dropoutRNG: &dropoutRNG)
        // forward (long-memory.mse): L = lossScale · Σ (ŷ − y)²  ⇒  dŷ = 2 · lossScale · (ŷ − y)
        MSELoss.backward(ws.yhat, target: y, scale: lossScale, into: &ws.dyhat)          // (long-memory.dy)
        // forward (long-memory.y): ŷ = s W_yᵀ + b_y  ⇒  ds = dŷ W_y (linear.dx), dW_y += dŷᵀ s, db_y += Σ dŷ
        readout.backward(ws.dyhat, x: stack.finalState(ws.stack), p.readout, grads: &grads.readout, dx: &ws.stack.dFinal)
        ws.stack.dFinalUsed = true
        stack.backward(p.stack, workspace: &ws.stack, grads: &grads.stack, truncation: truncation)
        return sum
    }
}
