/// Gradient-check cases for the GAN: D's loss against D's parameters and both of its inputs
/// (real and generated images), and G's loss against G's parameters and z, through a fixed D.
public struct GANCheckCase {
    public var gan: GAN<Double>
    public var params: GAN<Double>.Parameters
    public var z: Matrix<Double>
    public var real: Matrix<Double>

    public static func random(latent: Int = 3, pixels: Int = 5, gHidden: [Int] = [6, 5], dHidden: [Int] = [6, 4],
                              batch: Int = 3, seed: UInt64, kinkMargin: Double = 1e-3) -> GANCheckCase {
        var rng = RNG(seed: seed)
        let gan = GAN<Double>(latent: latent, pixels: pixels, generatorHidden: gHidden, discriminatorHidden: dHidden)
        for _ in 0..<1000 {
            let p = gan.initialParameters(.xavier, rng: &rng)
            let z = Matrix<Double>.normal(batch, latent, std: 1, rng: &rng)
            var x = Matrix<Double>.uniform(batch, pixels, bound: 0.5, rng: &rng)
            for i in 0..<x.count { x.data[i] += 0.5 }
            let c = GANCheckCase(gan: gan, params: p, z: z, real: x)
            var ws = GAN<Double>.Workspace()
            gan.generate(z, p.g, workspace: &ws)
            _ = gan.discriminatorForward(real: x, fake: ws.fake, p.d, workspace: &ws)
            let margin = min(gan.generator.minKinkDistance(ws.g), gan.discriminator.minKinkDistance(ws.dReal),
                             gan.discriminator.minKinkDistance(ws.dFake))
            if margin > kinkMargin { return c }
        }
        fatalError("could not draw a GAN case away from the LeakyReLU kinks")
    }

    func pattern(_ ws: GAN<Double>.Workspace) -> Int {
        var h = Hasher()
        h.combine(gan.generator.kinkPattern(ws.g))
        h.combine(gan.discriminator.kinkPattern(ws.dReal))
        h.combine(gan.discriminator.kinkPattern(ws.dFake))
        return h.finalize()
    }

    /// D: parameters of D, the real batch x and the generated batch x̂ (as a constant input).
    public func checkDiscriminator(step: Double = GradientCheck.defaultStep) -> [GradientCheck.Result] {
        var ws = GAN<Double>.Workspace()
        let fake = gan.generate(z, params.g, workspace: &ws)
        _ = gan.discriminatorForward(real: real, fake: fake, params.d, workspace: &ws)
        var grads = params.d.zeros()
        gan.discriminatorBackward(real: real, fake: fake, params.d, workspace: &ws, grads: &grads, inputGradients: true)
        let dReal = ws.dReal.dx, dFake = ws.dFake.dx
        var tensors = params.d.checkTensors(analytic: grads).map { GradientCheck.Tensor(name: "D." + $0.name, value: $0.value, analytic: $0.analytic) }
        tensors.append(GradientCheck.Tensor(name: "x_real", value: real, analytic: dReal))
        tensors.append(GradientCheck.Tensor(name: "x_fake", value: fake, analytic: dFake))
        let n = params.d.tensors.count
        return GradientCheck.run(tensors, step: step) { v in
            var pd = params.d
            pd.tensors = Array(v[0..<n])
            var w = GAN<Double>.Workspace()
            let r = gan.discriminatorForward(real: v[n], fake: v[n + 1], pd, workspace: &w)
            var h = Hasher()
            h.combine(gan.discriminator.kinkPattern(w.dReal)); h.combine(gan.discriminator.kinkPattern(w.dFake))
            return .init(loss: r.lossD, pattern: h.finalize())
        }
    }

    /// G through D: parameters of G and the latent z; D is held fixed.
    public func checkGenerator(step: Double = GradientCheck.defaultStep) -> [GradientCheck.Result] {
        var ws = GAN<Double>.Workspace()
        gan.generate(z, params.g, workspace: &ws)
        var grads = params.g.zeros()
        gan.generatorStep(z, params, workspace: &ws, grads: &grads, inputGradient: true)
        var tensors = params.g.checkTensors(analytic: grads).map { GradientCheck.Tensor(name: "G." + $0.name, value: $0.value, analytic: $0.analytic) }
        tensors.append(GradientCheck.Tensor(name: "z", value: z, analytic: ws.g.dx))
        let n = params.g.tensors.count
        return GradientCheck.run(tensors, step: step) { v in
            var p = params
            p.g.tensors = Array(v[0..<n])
            var w = GAN<Double>.Workspace()
            let fake = gan.generate(v[n], p.g, workspace: &w)
            let r = gan.discriminatorForward(real: real, fake: fake, p.d, workspace: &w)
            return .init(loss: r.lossG, pattern: pattern(w))
        }
    }
}
