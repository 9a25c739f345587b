/// A reproducible gradient-check case for the MLP with each of its losses: random parameters,
/// inputs and targets from one seed; every weight, bias and the input x are checked.
public struct MLPCheckCase {
    public enum Loss: String, CaseIterable, Sendable {
        case softmaxCE = "softmax-ce", mse, bce, bceLogits = "bce-logits"
    }

    public var mlp: MLP<Double>
    public var params: MLP<Double>.Parameters
    public var x: Matrix<Double>
    public var loss: Loss
    public var labels: [Int]                 // softmax-ce targets
    public var targets: Matrix<Double>       // mse / bce targets in [0, 1]
    /// Dropout masks are drawn from this seed at every evaluation, so all evaluations share them.
    public var dropoutSeed: UInt64?

    /// sizes = [input, hidden…, output]. The output activation follows the loss: identity for
    /// softmax-ce and bce-logits, sigmoid for mse and bce.
    public static func random(loss: Loss, hidden: Activation, sizes: [Int] = [4, 6, 5, 3], batch: Int = 3,
                              dropout: Double = 0, seed: UInt64, kinkMargin: Double = 1e-3) -> MLPCheckCase {
        var rng = RNG(seed: seed)
        let output: Activation = (loss == .mse || loss == .bce) ? .sigmoid : .identity
        let mlp = MLP<Double>(sizes: sizes, hidden: hidden, output: output, dropout: dropout)
        for _ in 0..<1000 {
            let p = mlp.initialParameters(.xavier, rng: &rng)
            let x = Matrix<Double>.normal(batch, sizes[0], std: 1, rng: &rng)
            let labels = (0..<batch).map { _ in rng.int(below: sizes.last!) }
            let targets = Matrix<Double>.uniform(batch, sizes.last!, bound: 0.5, rng: &rng)
            var t = targets
            for i in 0..<t.count { t.data[i] += 0.5 }
            let c = MLPCheckCase(mlp: mlp, params: p, x: x, loss: loss, labels: labels, targets: t,
                                 dropoutSeed: dropout > 0 ? rng.next() : nil)
            if !hidden.hasKink || c.minKinkDistance() > kinkMargin { return c }
        }
        fatalError("could not draw an MLP case away from the ReLU kinks")
    }

    var scale: Double { loss == .softmaxCE ? 1 / Double(x.rows) : 1 / Double(targets.count) }

    func forward(_ p: MLP<Double>.Parameters, _ x: Matrix<Double>, _ cache: inout MLP<Double>.Cache) {
        if let s = dropoutSeed {
            var rng = RNG(seed: s)
            _ = withUnsafeMutablePointer(to: &rng) { mlp.forward(x, p, cache: &cache, dropoutRNG: $0) }
        } else {
            mlp.forward(x, p, cache: &cache)
        }
    }

    func minKinkDistance() -> Double {
        var cache = MLP<Double>.Cache()
        forward(params, x, &cache)
        return mlp.minKinkDistance(cache)
    }

    /// Loss at the given values and its gradient with respect to the network output, into `dOut`.
    func lossAndOutputGradient(_ out: Matrix<Double>, dOut: inout Matrix<Double>) -> Double {
        switch loss {
        case .softmaxCE:
            var probs = Matrix<Double>(rows: 0, cols: 0)
            let r = SoftmaxCrossEntropy.forward(logits: out, targets: labels[...], probs: &probs)
            SoftmaxCrossEntropy.backward(probs: probs, targets: labels[...], scale: scale, into: &dOut)
            return r.lossSum * scale
        case .mse:
            MSELoss.backward(out, target: targets, scale: scale, into: &dOut)
            return MSELoss.forward(out, target: targets, scale: scale)
        case .bce:
            BCELoss.backward(out, target: targets, scale: scale, into: &dOut)
            return BCELoss.forward(out, target: targets, scale: scale)
        case .bceLogits:
            BCEWithLogitsLoss.backward(out, target: targets, scale: scale, into: &dOut)
            return BCEWithLogitsLoss.forward(out, target: targets, scale: scale)
        }
    }

    public func evaluate(_ p: MLP<Double>.Parameters, _ x: Matrix<Double>) -> GradientCheck.Evaluation {
        var cache = MLP<Double>.Cache()
        forward(p, x, &cache)
        var unused = Matrix<Double>(rows: 0, cols: 0)
        return .init(loss: lossAndOutputGradient(cache.output, dOut: &unused), pattern: mlp.kinkPattern(cache))
    }

    /// `tracer`: records the pass for `bptt explain`.
    public func analytic(tracer: Tracer? = nil) -> (loss: Double, grads: MLP<Double>.Parameters, dx: Matrix<Double>) {
        var cache = MLP<Double>.Cache()
        cache.tracer = tracer
        forward(params, x, &cache)
        var dOut = Matrix<Double>(rows: 0, cols: 0)
        let value = lossAndOutputGradient(cache.output, dOut: &dOut)
        cache.dOutput = dOut
        var grads = params.zeros()
        mlp.backward(x, params, cache: &cache, grads: &grads, inputGradient: true)
        return (value, grads, cache.dx)
    }

    public func check(step: Double = GradientCheck.defaultStep, stencil: GradientCheck.Stencil = .fivePoint) -> [GradientCheck.Result] {
        let a = analytic()
        var tensors = params.checkTensors(analytic: a.grads)
        tensors.append(GradientCheck.Tensor(name: "x", value: x, analytic: a.dx))
        let n = params.tensors.count
        return GradientCheck.run(tensors, step: step, stencil: stencil) { values in
            var p = params
            p.tensors = Array(values[0..<n])
            return evaluate(p, values[n])
        }
    }
}
