/// An RNN with a softmax readout of the last state: the palindrome model.
///
///     h_t = φ(x_t W_hxᵀ + h_{t−1} W_hhᵀ + b_h)     (rnn.a, rnn.h)
///     p_t = h_t W_phᵀ + b_p                        (rnn.p)
///     L   = mean over the batch (and over steps, many-to-many) of −log softmax(p_t)[y_t]
///
/// Many-to-one reads out at the last step only; many-to-many at every step.
public struct RNNClassifier<T: Scalar> {
    public enum Output: String, Sendable {
        case last      // many-to-one: one target per sequence
        case everyStep // many-to-many: one target per step
    }

    public struct Parameters: ParameterSet {
        public var rnn: RNN<T>.Parameters
        public var readout: Linear<T>.Parameters
        public mutating func forEachTensor(pairedWith other: Self?, _ body: (String, inout Matrix<T>, Matrix<T>?) -> Void) {
            rnn.forEachTensor(pairedWith: other?.rnn, body)
            body("W_ph", &readout.W, other?.readout.W); body("b_p", &readout.b, other?.readout.b)
        }
    }

    /// Buffers for one batch (or one shard of it), reused across steps.
    public struct Workspace {
        public var rnn = RNN<T>.Cache()
        var logits: [Matrix<T>] = []
        var probs: [Matrix<T>] = []
        var dlogits = Matrix<T>(rows: 0, cols: 0)
        var dhs: [Matrix<T>?] = []
        public init() {}
        /// Class probabilities at the read-out steps (one matrix for many-to-one).
        public var probabilities: [Matrix<T>] { probs }
    }

    public let rnn: RNN<T>
    public let readout: Linear<T>
    public let output: Output
    public var inputSize: Int { rnn.inputSize }
    public var hiddenSize: Int { rnn.hiddenSize }
    public var classes: Int { readout.outputSize }

    public init(inputSize: Int, hiddenSize: Int, classes: Int, activation: RNN<T>.Activation = .tanh, output: Output = .last) {
        rnn = RNN(inputSize: inputSize, hiddenSize: hiddenSize, activation: activation)
        readout = Linear(inputSize: hiddenSize, outputSize: classes)
        self.output = output
    }

    public func initialParameters(_ initializer: Initializer, rng: inout RNG) -> Parameters {
        Parameters(rnn: rnn.initialParameters(initializer, rng: &rng),
                   readout: readout.initialParameters(initializer, rng: &rng))
    }

    /// Forward pass only: fills the workspace's probabilities and returns the summed loss and
    /// the number of correct arg-max predictions over all read-out steps.
    /// - targets: one array of B labels per read-out step (1 for `.last`, T for `.everyStep`).
    @discardableResult
    public func forward(_ xs: [Matrix<T>], targets: [[Int]], h0: Matrix<T>? = nil, _ p: Parameters,
                        workspace ws: inout Workspace) -> (lossSum: Double, correct: Int) {
        rnn.forward(xs, h0: h0, p.rnn, cache: &ws.rnn)
        let steps = readoutSteps(xs.count)
        precondition(targets.count == steps.count, "expected \(steps.count) target rows, got \(targets.count)")
        resize(&ws.logits, count: steps.count, rows: xs[0].rows, cols: classes)
        resize(&ws.probs, count: steps.count, rows: xs[0].rows, cols: classes)
        var lossSum = 0.0, correct = 0
        for (j, t) in steps.enumerated() {
            readout.forward(ws.rnn.states[t].h, p.readout, into: &ws.logits[j])                          // (rnn.p)
            ws.rnn.tracer?.forward(.logits, t, &ws.logits[j])                                     // (rnn.p)
            let r = SoftmaxCrossEntropy.forward(logits: ws.logits[j], targets: targets[j][...], probs: &ws.probs[j])
            ws.rnn.tracer?.forward(.probs, t, &ws.probs[j])                                       // (losses.softmax)
            lossSum += r.lossSum
            correct += r.correct
        }
        return (lossSum, correct)
    }

    /// Forward and backward: accumulates ∂L/∂θ into `grads` where L = lossScale · Σ ℓ.
    /// For the mean over a full batch of B sequences, lossScale = 1/B (many-to-one) or
    /// 1/(B·T) (many-to-many). Afterwards `ws.rnn.dh0` holds ∂L/∂h0 and, with
    /// `inputGradients`, `ws.rnn.dxs` holds ∂L/∂x_t.
    @discardableResult
    public func lossAndGradient(_ xs: [Matrix<T>], targets: [[Int]], h0: Matrix<T>? = nil, _ p: Parameters,
                                lossScale: Double, workspace ws: inout Workspace, grads: inout Parameters,
                                inputGradients: Bool = false, truncation: Int = 0) -> (lossSum: Double, correct: Int) {
        let result = forward(xs, targets: targets, h0: h0, p, workspace: &ws)
        let steps = readoutSteps(xs.count)
        if ws.dhs.count != xs.count { ws.dhs = Array(repeating: nil, count: xs.count) }
        // break losses.dp:sum-over-T: the loss summed over the T steps where it is averaged
        let scale = ws.rnn.tracer?.breaks(.lossesDpSumOverT) == true ? lossScale * Double(xs.count) : lossScale
        for (j, t) in steps.enumerated() {
            SoftmaxCrossEntropy.backward(probs: ws.probs[j], targets: targets[j][...], scale: T(scale),
                                         into: &ws.dlogits, tracer: ws.rnn.tracer)                     // (losses.dp)
            ws.rnn.tracer?.backward(.logits, t, ws.dlogits)                                            // (losses.dp)
            // forward (rnn.p): p_t = h_t W_phᵀ + b_p
            // ∂L/∂h_t from the readout: dp_t W_ph (taken out of the list so it is updated in place)
            var dh = ws.dhs[t - 1] ?? Matrix(rows: 0, cols: 0)
            ws.dhs[t - 1] = nil
            readout.backward(ws.dlogits, x: ws.rnn.states[t].h, p.readout, grads: &grads.readout, dx: &dh)  // (rnn.dh)
            ws.dhs[t - 1] = dh
            if let tracer = ws.rnn.tracer { tracer.backward(.readoutDW, t, grads.readout.W); tracer.backward(.readoutDb, t, grads.readout.b) }
        }
        rnn.backward(ws.dhs, p.rnn, cache: &ws.rnn, grads: &grads.rnn,
                     inputGradients: inputGradients, truncation: truncation)
        return result
    }

    /// The steps t (1-based) whose h_t is read out.
    func readoutSteps(_ length: Int) -> [Int] {
        output == .last ? [length] : Array(1...length)
    }
}
