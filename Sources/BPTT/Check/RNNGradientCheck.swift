/// A complete, reproducible gradient-check case for the RNN classifier: random parameters,
/// inputs, targets and (optionally) h0, all from one seed. `bptt gradcheck` runs it, and
/// `--dump` writes it so another framework can recompute the same loss and gradients.
public struct RNNCheckCase {
    public var activation: RNN<Double>.Activation
    public var output: RNNClassifier<Double>.Output
    public var batch: Int, length: Int, input: Int, hidden: Int, classes: Int
    public var xs: [Matrix<Double>]           // T × (B×D)
    public var targets: [[Int]]               // one row of B labels per read-out step
    public var h0: Matrix<Double>?
    public var params: RNNClassifier<Double>.Parameters
    public var truncation: Int = 0

    public var model: RNNClassifier<Double> {
        RNNClassifier(inputSize: input, hiddenSize: hidden, classes: classes, activation: activation, output: output)
    }

    /// Builds a random case. For ReLU, cases whose pre-activations come within `kinkMargin` of 0
    /// are redrawn, so that the finite differences never straddle the kink.
    public static func random(activation: RNN<Double>.Activation, output: RNNClassifier<Double>.Output = .last,
                              batch: Int, length: Int, input: Int, hidden: Int, classes: Int,
                              withH0: Bool, seed: UInt64, kinkMargin: Double = 1e-3) -> RNNCheckCase {
        var rng = RNG(seed: seed)
        for _ in 0..<1000 {
            let m = RNNClassifier<Double>(inputSize: input, hiddenSize: hidden, classes: classes,
                                          activation: activation, output: output)
            // Larger than PyTorch's init so that every path carries a sizeable gradient.
            let p = m.initialParameters(.xavier, rng: &rng)
            let xs = (0..<length).map { _ in Matrix<Double>.normal(batch, input, std: 1, rng: &rng) }
            let steps = output == .last ? 1 : length
            let targets = (0..<steps).map { _ in (0..<batch).map { _ in rng.int(below: classes) } }
            let h0 = withH0 ? Matrix<Double>.uniform(batch, hidden, bound: 0.5, rng: &rng) : nil
            let c = RNNCheckCase(activation: activation, output: output, batch: batch, length: length,
                                 input: input, hidden: hidden, classes: classes, xs: xs, targets: targets,
                                 h0: h0, params: p)
            if activation == .tanh || c.minPreActivationMagnitude() > kinkMargin { return c }
        }
        fatalError("could not draw a ReLU case away from the kink")
    }

    /// min |a_t| over all steps, rows and units.
    public func minPreActivationMagnitude() -> Double {
        // Run the real forward, then rebuild each a_t from the saved h_{t−1}.
        var cache = RNN<Double>.Cache()
        model.rnn.forward(xs, h0: h0, params.rnn, cache: &cache)
        var minA = Double.infinity
        for t in 1...length {
            var a = Matrix<Double>(rows: batch, cols: hidden)
            gemm(xs[t - 1], params.rnn.W_hx, transB: true, into: &a)
            gemm(cache.states[t - 1].h, params.rnn.W_hh, transB: true, into: &a, beta: 1)
            a.addRowVector(params.rnn.b_h)
            minA = min(minA, a.data.map { abs($0) }.min() ?? .infinity)
        }
        return minA
    }

    public var lossScale: Double { 1 / Double(batch * (output == .last ? 1 : length)) }

    /// Mean cross-entropy at the given values, with the ReLU activation pattern (which units
    /// were active at which step) as a hash, so the checker can see a nudge cross a kink.
    public func loss(params p: RNNClassifier<Double>.Parameters, xs: [Matrix<Double>], h0: Matrix<Double>?) -> GradientCheck.Evaluation {
        var ws = RNNClassifier<Double>.Workspace()
        let value = model.forward(xs, targets: targets, h0: h0, p, workspace: &ws).lossSum * lossScale
        guard activation == .relu else { return .init(loss: value) }
        var hasher = Hasher()
        for h in ws.rnn.states.dropFirst().map(\.h) { for v in h.data { hasher.combine(v > 0) } }
        return .init(loss: value, pattern: hasher.finalize())
    }

    /// Loss and analytic gradients of parameters, inputs and h0. `tracer`: records the pass
    /// (and may switch on a catalogued mistake), for `bptt explain` and `gradcheck --locate`.
    public func analytic(tracer: Tracer? = nil) -> (loss: Double, grads: RNNClassifier<Double>.Parameters, dxs: [Matrix<Double>], dh0: Matrix<Double>) {
        var ws = RNNClassifier<Double>.Workspace()
        ws.rnn.tracer = tracer
        var grads = params.zeros()
        let r = model.lossAndGradient(xs, targets: targets, h0: h0, params, lossScale: lossScale,
                                      workspace: &ws, grads: &grads, inputGradients: true, truncation: truncation)
        return (r.lossSum * lossScale, grads, ws.rnn.dxs, ws.rnn.dh0)
    }

    /// Checks every parameter, every input x_t and h0 (when given) against central differences.
    public func check(step: Double = GradientCheck.defaultStep, stencil: GradientCheck.Stencil = .fivePoint,
                      tracer: Tracer? = nil) -> [GradientCheck.Result] {
        precondition(truncation == 0, "finite differences define full BPTT; check truncation with checkTruncated")
        let a = analytic(tracer: tracer)
        var tensors = params.checkTensors(analytic: a.grads)
        // inputs: one tensor "x" of shape (T·B)×D, rows ordered t-major
        tensors.append(GradientCheck.Tensor(name: "x", value: GradientCheck.stack(xs), analytic: GradientCheck.stack(a.dxs)))
        if let h0 { tensors.append(GradientCheck.Tensor(name: "h0", value: h0, analytic: a.dh0)) }
        let np = params.tensorCount
        return GradientCheck.run(tensors, step: step, stencil: stencil) { values in
            let p = params.with(values)
            let x = GradientCheck.unstack(values[np], steps: length)
            return loss(params: p, xs: x, h0: h0 == nil ? nil : values[np + 1])
        }
    }

    /// The case as JSON (the `--dump` contract): sizes, inputs x[b][t][d], targets, h0,
    /// parameters and gradients `{name: {shape, data}}` (biases shape [n]), the loss, and every
    /// per-step adjoint `{quantity: [t][b][j]}` under "steps" (the shape `--answers` reads).
    /// `breaking`: the gradients and adjoints of the backward pass with that mistake switched on.
    public func dump(breaking: Break? = nil) -> JSON {
        let tracer = Tracer(breaking: breaking)
        let a = analytic(tracer: tracer)
        let biasNames: Set<String> = ["b_h", "b_p"]
        let inputs: JSON = .array((0..<batch).map { b in
            .array((0..<length).map { t in .array((0..<input).map { d in .number(xs[t][b, d]) }) })
        })
        let targetsJSON: JSON = output == .last
            ? .array(targets[0].map { .int($0) })
            : .array((0..<batch).map { b in .array((0..<length).map { t in .int(targets[t][b]) }) })
        let h0JSON: JSON = h0.map { h in .array((0..<batch).map { b in .array((0..<hidden).map { .number(h[b, $0]) }) }) } ?? .null
        return .object([
            ("model", .string(activation == .tanh ? "rnn" : "rnn-relu")),
            ("output", .string(output == .last ? "last" : "every-step")),
            ("batch", .int(batch)), ("length", .int(length)), ("input", .int(input)),
            ("hidden", .int(hidden)), ("classes", .int(classes)),
            ("inputs", inputs), ("targets", targetsJSON), ("h0", h0JSON),
            ("parameters", .object(params.namedTensorValues.map { ($0.name, JSON.tensor($0.value, vector: biasNames.contains($0.name))) })),
            ("gradients", .object(a.grads.namedTensorValues.map { ($0.name, JSON.tensor($0.value, vector: biasNames.contains($0.name))) })),
            ("loss_value", .number(a.loss)),
            ("steps", AnswerCheck.stepsJSON(AnswerCheck.walk(tracer))),
        ] + (breaking.map { [("break", JSON.string($0.name))] } ?? []))
    }
}
