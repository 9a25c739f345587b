/// A fully connected GAN (MLP generator and discriminator), derived in `derivations/gan.md`.
///
///     x̂ = G(ζ)                  ζ ~ N(0, I) the latent code, G: ζ → 256 → 512 → 1024 → pixels, LeakyReLU 0.2, sigmoid
///     s = D(x)                  D: pixels → 1024 → 512 → 256 → 1, LeakyReLU 0.2, a logit (σ(s) = P(real))
///     L_D = BCE(σ(D(x)), 1) + BCE(σ(D(G(ζ))), 0)          (gan.LD)
///     L_G = BCE(σ(D(G(ζ))), 1) = −mean log σ(D(G(ζ)))      (gan.LG)  the non-saturating loss
public struct GAN<Real: Scalar> {
    /// G's tensors named G.W1, G.b1, …, then D's named D.W1, D.b1, … (as in checkpoints).
    public struct Parameters: ParameterSet {
        public var g: MLP<Real>.Parameters
        public var d: MLP<Real>.Parameters

        public mutating func forEachTensor(pairedWith other: Self?, _ body: (String, inout Matrix<Real>, Matrix<Real>?) -> Void) {
            g.forEachTensor(pairedWith: other?.g) { name, m, o in body("G." + name, &m, o) }
            d.forEachTensor(pairedWith: other?.d) { name, m, o in body("D." + name, &m, o) }
        }
    }

    public let latent: Int
    public let generator: MLP<Real>
    public let discriminator: MLP<Real>

    public init(latent: Int = 100, pixels: Int, generatorHidden: [Int] = [256, 512, 1024],
                discriminatorHidden: [Int] = [1024, 512, 256], slope: Double = 0.2, threads: Int = 1) {
        self.latent = latent
        var g = MLP<Real>(sizes: [latent] + generatorHidden + [pixels], hidden: .leakyReLU(alpha: slope), output: .sigmoid)
        var d = MLP<Real>(sizes: [pixels] + discriminatorHidden + [1], hidden: .leakyReLU(alpha: slope), output: .identity)
        g.threads = threads
        d.threads = threads
        generator = g
        discriminator = d
    }

    public func initialParameters(_ initializer: Initializer, rng: inout RNG) -> Parameters {
        Parameters(g: generator.initialParameters(initializer, rng: &rng), d: discriminator.initialParameters(initializer, rng: &rng))
    }

    public struct Workspace {
        public var g = MLP<Real>.Cache()
        public var dReal = MLP<Real>.Cache()
        public var dFake = MLP<Real>.Cache()
        var ones = Matrix<Real>(rows: 0, cols: 0), zeros = Matrix<Real>(rows: 0, cols: 0)
        var ds = Matrix<Real>(rows: 0, cols: 0)
        var noDGrads: MLP<Real>.Parameters? = nil
        public init() {}
        /// The generated images G(z) of the last `generate`.
        public var fake: Matrix<Real> { g.output }
        mutating func targets(_ b: Int) {
            if ones.rows != b { ones = Matrix(rows: b, cols: 1, repeating: 1); zeros = Matrix(rows: b, cols: 1) }
        }
    }

    /// x̂ = G(z), kept in `ws.g` for the generator's backward.
    @discardableResult
    public func generate(_ z: Matrix<Real>, _ p: MLP<Real>.Parameters, workspace ws: inout Workspace) -> Matrix<Real> {
        generator.forward(z, p, cache: &ws.g)
    }

    /// Forward of D on the real batch x and the generated batch x̂: returns (L_D, L_G) at the current D, the
    /// two numbers the probabilistic D schedule (`--d-schedule seed`) compares.
    /// `lossScale` is 1/B for the whole batch (default: 1/rows of x); a shard of the batch passes the
    /// whole batch's 1/B, so the shards' losses and gradients add up to the batch's.
    public func discriminatorForward(real x: Matrix<Real>, fake: Matrix<Real>, _ pD: MLP<Real>.Parameters, workspace ws: inout Workspace,
                                     lossScale: Double? = nil) -> (lossD: Double, lossG: Double) {
        let B = x.rows
        ws.targets(B)
        let sReal = discriminator.forward(x, pD, cache: &ws.dReal)
        let sFake = discriminator.forward(fake, pD, cache: &ws.dFake)
        let scale = lossScale ?? 1 / Double(B)
        let lossD = BCEWithLogitsLoss.forward(sReal, target: ws.ones, scale: scale)        // (gan.LD)
                  + BCEWithLogitsLoss.forward(sFake, target: ws.zeros, scale: scale)       // (gan.LD)
        let lossG = BCEWithLogitsLoss.forward(sFake, target: ws.ones, scale: scale)        // (gan.LG)
        return (lossD, lossG)
    }

    /// Backward of L_D after `discriminatorForward`: accumulates ∂L_D/∂θ_D (x̂ is a constant here);
    /// `write: .overwrite` writes it instead (`GradientWrite`).
    public func discriminatorBackward(real x: Matrix<Real>, fake: Matrix<Real>, _ pD: MLP<Real>.Parameters, workspace ws: inout Workspace,
                                      grads: inout MLP<Real>.Parameters, inputGradients: Bool = false, lossScale: Double? = nil,
                                      write: GradientWrite = .accumulate) {
        let scale = lossScale ?? 1 / Double(x.rows)
        // forward (gan.LD): L_D = mean ℓ(s_real, 1) + mean ℓ(s_fake, 0)
        BCEWithLogitsLoss.backward(ws.dReal.output, target: ws.ones, scale: scale, into: &ws.ds)    // (gan.dsreal)
        ws.dReal.dOutput = ws.ds
        discriminator.backward(x, pD, cache: &ws.dReal, grads: &grads, inputGradient: inputGradients, write: write)
        BCEWithLogitsLoss.backward(ws.dFake.output, target: ws.zeros, scale: scale, into: &ws.ds)   // (gan.dsfake)
        ws.dFake.dOutput = ws.ds
        discriminator.backward(fake, pD, cache: &ws.dFake, grads: &grads, inputGradient: inputGradients)
    }

    /// Forward and backward of L_G = mean ℓ(D(G(z)), 1) for the z of the last `generate`:
    /// the gradient reaches G only through D's input gradient; D's parameters get none.
    @discardableResult
    public func generatorStep(_ z: Matrix<Real>, _ p: Parameters, workspace ws: inout Workspace, grads: inout MLP<Real>.Parameters,
                              inputGradient: Bool = false, lossScale: Double? = nil, write: GradientWrite = .accumulate) -> Double {
        let B = z.rows
        ws.targets(B)
        let scale = lossScale ?? 1 / Double(B)
        let s = discriminator.forward(ws.g.output, p.d, cache: &ws.dFake)
        let lossG = BCEWithLogitsLoss.forward(s, target: ws.ones, scale: scale)                     // (gan.LG)
        // forward (gan.LG): L_G = mean ℓ(s, 1), s = D(x̂)
        BCEWithLogitsLoss.backward(s, target: ws.ones, scale: scale, into: &ws.ds)                  // (gan.dsG)
        ws.dFake.dOutput = ws.ds
        discriminator.backward(ws.g.output, p.d, cache: &ws.dFake, grads: &ws.noDGrads, inputGradient: true)   // (gan.dxhat)
        // forward: x̂ = G(z); its output gradient is D's input gradient
        ws.g.dOutput = ws.dFake.dx                                                                  // (gan.dxhat)
        generator.backward(z, p.g, cache: &ws.g, grads: &grads, inputGradient: inputGradient, write: write)
        return lossG
    }
}
