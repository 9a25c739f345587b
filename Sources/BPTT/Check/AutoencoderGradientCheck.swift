/// Gradient-check case for the masked autoencoder: every weight and bias, and the images x
/// (whose gradient combines the masked-input path and the target path), for one mask mode.
public struct AutoencoderCheckCase {
    public var model: MaskedAutoencoder<Double>
    public var params: MLP<Double>.Parameters
    public var x: Matrix<Double>
    public var mask: Matrix<Double>

    public static func random(mask: MaskedAutoencoder<Double>.Mask, lossOn: MaskedAutoencoder<Double>.LossOn = .masked,
                              height: Int = 4, width: Int = 4, hidden: [Int] = [6, 5], batch: Int = 3,
                              seed: UInt64, kinkMargin: Double = 1e-3) -> AutoencoderCheckCase {
        var rng = RNG(seed: seed)
        let model = MaskedAutoencoder<Double>(pixels: height * width, hidden: hidden, lossOn: lossOn)
        for _ in 0..<1000 {
            let p = model.mlp.initialParameters(.xavier, rng: &rng)
            var x = Matrix<Double>.uniform(batch, height * width, bound: 0.5, rng: &rng)
            for i in 0..<x.count { x.data[i] += 0.5 }
            var m = Matrix<Double>(rows: 0, cols: 0)
            mask.fill(&m, batch: batch, height: height, width: width, rng: &rng)
            let c = AutoencoderCheckCase(model: model, params: p, x: x, mask: m)
            var ws = MaskedAutoencoder<Double>.Workspace()
            c.model.forward(x, mask: m, p, workspace: &ws)
            if model.mlp.minKinkDistance(ws.cache) > kinkMargin { return c }
        }
        fatalError("could not draw an autoencoder case away from the ReLU kinks")
    }

    public func evaluate(_ p: MLP<Double>.Parameters, _ x: Matrix<Double>) -> GradientCheck.Evaluation {
        var ws = MaskedAutoencoder<Double>.Workspace()
        let r = model.forward(x, mask: mask, p, workspace: &ws)
        return .init(loss: r.sum / max(r.count, 1), pattern: model.mlp.kinkPattern(ws.cache))
    }

    public func check(step: Double = GradientCheck.defaultStep, stencil: GradientCheck.Stencil = .fivePoint) -> [GradientCheck.Result] {
        var ws = MaskedAutoencoder<Double>.Workspace()
        var grads = params.zeros()
        model.lossAndGradient(x, mask: mask, params, workspace: &ws, grads: &grads, inputGradient: true)
        var tensors = params.checkTensors(analytic: grads)
        tensors.append(GradientCheck.Tensor(name: "x", value: x, analytic: ws.dx))
        let n = params.tensors.count
        return GradientCheck.run(tensors, step: step, stencil: stencil) { values in
            var p = params
            p.tensors = Array(values[0..<n])
            return evaluate(p, values[n])
        }
    }
}
