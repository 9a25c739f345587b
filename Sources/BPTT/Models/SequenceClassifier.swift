/// Where a sequence model reads out.
public enum SequenceOutput: String, Sendable {
    case last      // many-to-one: one target per sequence
    case everyStep // many-to-many: one target per step
}

/// A recurrent stack (any cell, any depth, one or two directions) with a softmax readout:
/// the palindrome model for `--model rnn|rnn-relu|lstm|gru|gru-cho`, the one `train`, `gradcheck`
/// and `explain` all use. For one RNN level this is the model of `derivations/rnn.md`:
/// h_t (rnn.a, rnn.h), p = h_T W_phᵀ + b_p (rnn.p), dh_T = dp W_ph (rnn.dh).
///
///     o_t = RecurrentStack(x)_t                     (stacked.out; →h_t for one direction)
///     p   = s W_phᵀ + b_p,  s = final states         (stacked.p, many-to-one)
///     p_t = o_t W_phᵀ + b_p                          (stacked.p, many-to-many)
///     L   = mean of −log softmax(p)[y]
public struct SequenceClassifier<Cell: RecurrentCell> {
    public typealias Real = Cell.Real
    public typealias Output = SequenceOutput
    public typealias Stack = RecurrentStack<Cell>

    public struct Parameters: ParameterSet {
        public var stack: Stack.Parameters
        public var readout: Linear<Real>.Parameters
        /// The stack's tensors, then the readout's W_ph (K × H·directions) and b_p (1 × K).
        public mutating func forEachTensor(pairedWith other: Self?, _ body: (String, inout Matrix<Real>, Matrix<Real>?) -> Void) {
            stack.forEachTensor(pairedWith: other?.stack, body)
            body("W_ph", &readout.W, other?.readout.W); body("b_p", &readout.b, other?.readout.b)
        }
    }

    public struct Workspace {
        public var stack = Stack.Workspace()
        var logits: [Matrix<Real>] = []
        var probs: [Matrix<Real>] = []
        var dlogits = Matrix<Real>(rows: 0, cols: 0)
        public init() {}
        public var probabilities: [Matrix<Real>] { probs }
    }

    public let stack: Stack
    public let readout: Linear<Real>
    public let output: Output
    public var classes: Int { readout.outputSize }

    public init(stack: Stack, classes: Int, output: Output = .last) {
        self.stack = stack
        self.readout = Linear(inputSize: stack.outputSize, outputSize: classes)
        self.output = output
    }

    public func initialParameters(_ initializer: Initializer, rng: inout RNG) -> Parameters {
        Parameters(stack: stack.initialParameters(initializer, rng: &rng), readout: readout.initialParameters(initializer, rng: &rng))
    }

    func readoutSteps(_ length: Int) -> [Int] { output == .last ? [length] : Array(1...length) }

    /// Forward only: returns the summed loss and the number of correct arg-max predictions.
    /// targets: one row of B labels per read-out step. dropoutRNG: non-nil while training.
    @discardableResult
    /// lengths: per-row sequence lengths (`derivations/masking.md`); the many-to-one readout then
    /// reads each row's true last state. nil: every row runs all T steps.
    public func forward(_ xs: [Matrix<Real>], targets: [[Int]], h0s: [Matrix<Real>]? = nil, c0s: [Matrix<Real>]? = nil,
                        _ p: Parameters, lengths: [Int]? = nil, workspace ws: inout Workspace, dropoutRNG: inout RNG?) -> (lossSum: Double, correct: Int) {
        stack.forward(xs, h0s: h0s, c0s: c0s, p.stack, lengths: lengths, workspace: &ws.stack, dropoutRNG: &dropoutRNG)
        let steps = readoutSteps(xs.count)
        require(targets.count == steps.count, "expected \(steps.count) target rows, got \(targets.count)")
        resize(&ws.logits, count: steps.count, rows: xs[0].rows, cols: classes)
        resize(&ws.probs, count: steps.count, rows: xs[0].rows, cols: classes)
        var lossSum = 0.0, correct = 0
        for (j, t) in steps.enumerated() {
            let s = output == .last ? stack.finalState(ws.stack) : stack.output(t, ws.stack)
            readout.forward(s, p.readout, into: &ws.logits[j])                                     // (stacked.p) (rnn.p)
            ws.stack.tracer?.forward(.logitsStacked, t, &ws.logits[j])                             // (stacked.p)
            let r = SoftmaxCrossEntropy.forward(logits: ws.logits[j], targets: targets[j][...], probs: &ws.probs[j])
            ws.stack.tracer?.forward(.probs, t, &ws.probs[j])                                      // (losses.softmax)
            lossSum += r.lossSum
            correct += r.correct
        }
        return (lossSum, correct)
    }

    /// Forward without dropout (evaluation).
    @discardableResult
    public func forward(_ xs: [Matrix<Real>], targets: [[Int]], h0s: [Matrix<Real>]? = nil, c0s: [Matrix<Real>]? = nil,
                        _ p: Parameters, lengths: [Int]? = nil, workspace ws: inout Workspace) -> (lossSum: Double, correct: Int) {
        var none: RNG? = nil
        return forward(xs, targets: targets, h0s: h0s, c0s: c0s, p, lengths: lengths, workspace: &ws, dropoutRNG: &none)
    }

    /// Forward and backward: accumulates ∂L/∂θ into `grads` for L = lossScale · Σ ℓ. Afterwards
    /// `ws.stack.dh0s`, `ws.stack.dc0s` and (with `inputGradients`) `ws.stack.dxs` are set.
    @discardableResult
    public func lossAndGradient(_ xs: [Matrix<Real>], targets: [[Int]], h0s: [Matrix<Real>]? = nil, c0s: [Matrix<Real>]? = nil,
                                _ p: Parameters, lengths: [Int]? = nil, lossScale: Double, workspace ws: inout Workspace, grads: inout Parameters,
                                dropoutRNG: inout RNG?, inputGradients: Bool = false, truncation: Int = 0) -> (lossSum: Double, correct: Int) {
        let result = forward(xs, targets: targets, h0s: h0s, c0s: c0s, p, lengths: lengths, workspace: &ws, dropoutRNG: &dropoutRNG)
        // break losses.dp:sum-over-T: the loss summed over the T steps where it is averaged
        let scale = ws.stack.tracer?.breaks(.lossesDpSumOverT) == true ? lossScale * Double(xs.count) : lossScale
        for (j, t) in readoutSteps(xs.count).enumerated() {
            SoftmaxCrossEntropy.backward(probs: ws.probs[j], targets: targets[j][...], scale: Real(scale),
                                         into: &ws.dlogits, tracer: ws.stack.tracer)                  // (losses.dp)
            ws.stack.tracer?.backward(.logitsStacked, t, ws.dlogits)                                  // (losses.dp)
            // forward (stacked.p): p = s W_phᵀ + b_p  ⇒  ds = dp W_ph (linear.dx)
            if output == .last {
                readout.backward(ws.dlogits, x: stack.finalState(ws.stack), p.readout, grads: &grads.readout, dx: &ws.stack.dFinal)
                ws.stack.dFinalUsed = true
            } else {
                readout.backward(ws.dlogits, x: stack.output(t, ws.stack), p.readout, grads: &grads.readout,
                                 dx: &ws.stack.dOutputs[t - 1])
                ws.stack.dOutputUsed[t - 1] = true
            }
            if let tracer = ws.stack.tracer { tracer.backward(.readoutDW, t, grads.readout.W); tracer.backward(.readoutDb, t, grads.readout.b) }
        }
        stack.backward(p.stack, workspace: &ws.stack, grads: &grads.stack, inputGradients: inputGradients, truncation: truncation)
        return result
    }
}

/// The recurrent cells by their command-line names.
public enum CellKind: String, CaseIterable, Sendable {
    case rnn, rnnReLU = "rnn-relu", lstm, gru, gruCho = "gru-cho"

    public static var names: [String] { allCases.map(\.rawValue) }

    /// Calls `visitor` with a maker of this kind of cell (argument: input width).
    public func accept<V: CellVisitor>(_ visitor: V, hidden: Int, forgetBiasOne: Bool = false) throws -> V.Result {
        switch self {
        case .rnn: return try visitor.visit { RNN<V.Real>(inputSize: $0, hiddenSize: hidden, activation: .tanh) }
        case .rnnReLU: return try visitor.visit { RNN<V.Real>(inputSize: $0, hiddenSize: hidden, activation: .relu) }
        case .lstm: return try visitor.visit { LSTM<V.Real>(inputSize: $0, hiddenSize: hidden, forgetBiasOne: forgetBiasOne) }
        case .gru: return try visitor.visit { GRU<V.Real>(inputSize: $0, hiddenSize: hidden, formulation: .pytorch) }
        case .gruCho: return try visitor.visit { GRU<V.Real>(inputSize: $0, hiddenSize: hidden, formulation: .cho) }
        }
    }
}

/// Generic code to run for whichever cell a name picks (Swift has no generic closures).
public protocol CellVisitor {
    associatedtype Real: Scalar
    associatedtype Result
    func visit<C: RecurrentCell>(_ make: @escaping (Int) -> C) throws -> Result where C.Real == Real
}
