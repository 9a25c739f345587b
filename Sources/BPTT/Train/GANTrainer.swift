import Dispatch
import Foundation

public struct GANConfig: Sendable {
    public var latent = 100
    public var generatorHidden = [256, 512, 1024]
    public var discriminatorHidden = [1024, 512, 256]
    public var steps = 6000
    public var batch = 64
    public var optimizer: OptimizerConfig = { var c = OptimizerConfig(kind: .adam, lr: 2e-4); c.beta1 = 0.5; return c }()
    /// `always`: D every step; `seed`: with probability e^{L_D}/(e^{L_D}+e^{L_G}).
    public var seedSchedule = false
    public var initializer: Initializer = .pytorch
    public var seed: UInt64 = 0
    public var threads = 2
    public init() {}
}

/// Saved in checkpoints: everything but the run length and the thread count.
extension GANConfig: Codable, Equatable {
    enum CodingKeys: String, CodingKey { case latent, generatorHidden, discriminatorHidden, batch, optimizer, seedSchedule, initializer, seed }
}

public struct GANStepStats: Sendable {
    public var step: Int
    public var lossD: Double
    public var lossG: Double
    public var trainedD: Bool
    /// Set when a loss, a gradient or a parameter became NaN or ±∞ ("L_D", "gradient of G.W3", …):
    /// the run must stop without saving (the last good checkpoint stays as it was).
    public var nonFinite: String? = nil
}

/// Trains G and D in Float32: each step one real batch, one batch of z, D's update (every step
/// or, with `--d-schedule seed`, by a coin with probability e^{L_D}/(e^{L_D}+e^{L_G})), then G's update through the updated D.
///
/// The batch is always split into `shards` (2) fixed halves, each with its own workspace and
/// gradient buffers, run on up to `threads` threads; the shards' losses and gradients are summed
/// in shard order, so the numbers do not depend on the thread count. Nothing is allocated per
/// step beyond the index list: every buffer is reused.
public final class GANTrainer {
    public static let shards = 2   // at most 2: the update sums g₁ + g₂ (`updateOnShardSum`)
    public let config: GANConfig
    public let data: ImageDataset
    public let gan: GAN<Float>
    public private(set) var params: GAN<Float>.Parameters
    var optG: Optimizer<MLP<Float>.Parameters>, optD: Optimizer<MLP<Float>.Parameters>
    var rng: RNG
    var ws: [GAN<Float>.Workspace]
    var gradsG: [MLP<Float>.Parameters], gradsD: [MLP<Float>.Parameters]   // per shard; [0] receives the sum
    var xs: [Matrix<Float>], zs: [Matrix<Float>]                              // per shard: real images, latent points
    var losses: [(lossD: Double, lossG: Double)]
    public private(set) var step = 0
    public private(set) var dSteps = 0
    /// The data the run trains on, as recorded in checkpoints.
    public var dataIdentity: DataIdentity
    public static let model = "gan"

    public init(_ config: GANConfig, data: ImageDataset) {
        self.config = config
        self.data = data
        // One thread per GEMM: the shards are what runs in parallel.
        gan = GAN(latent: config.latent, pixels: data.pixels, generatorHidden: config.generatorHidden,
                  discriminatorHidden: config.discriminatorHidden, threads: 1)
        var rng = RNG(seed: config.seed)
        params = gan.initialParameters(config.initializer, rng: &rng)
        self.rng = rng.split()
        optG = Optimizer(config.optimizer)
        optD = Optimizer(config.optimizer)
        let S = min(Self.shards, config.batch)
        ws = Array(repeating: GAN<Float>.Workspace(), count: S)
        gradsG = Array(repeating: params.g.zeros(), count: S)
        gradsD = Array(repeating: params.d.zeros(), count: S)
        xs = Array(repeating: Matrix(rows: 0, cols: 0), count: S)
        zs = xs
        losses = Array(repeating: (0, 0), count: S)
        dataIdentity = DataIdentity(spec: "digits", source: "images", train: data.count, test: 0, shape: [data.height, data.width])
    }

    static func fillGaussian(_ m: inout Matrix<Float>, _ rows: Int, _ cols: Int, rng: inout RNG) {
        ensure(&m, rows, cols)
        for i in 0..<m.count { m.data[i] = Float(rng.gaussian()) }
    }

    public func trainStep() -> GANStepStats {
        let B = config.batch, S = ws.count
        let scale = 1 / Double(B)
        let idx = (0..<B).map { _ in rng.int(below: data.count) }
        for s in 0..<S { data.gather(idx[(s * B / S)..<((s + 1) * B / S)], into: &xs[s]) }
        for s in 0..<S { Self.fillGaussian(&zs[s], (s + 1) * B / S - s * B / S, config.latent, rng: &rng) }
        let gan = self.gan, alwaysD = !config.seedSchedule, parallel = config.threads > 1
        // 1. x̂ = G(z), D on real and fake, (L_D, L_G) per shard; with D trained every step, also ∂L_D/∂θ_D.
        ws.withUnsafeMutableBufferPointer { wsBuffer in
            gradsD.withUnsafeMutableBufferPointer { gdBuffer in
                losses.withUnsafeMutableBufferPointer { lossBuffer in
                    xs.withUnsafeBufferPointer { xBuffer in
                        zs.withUnsafeBufferPointer { zBuffer in
                            // Each shard touches only its own workspace, gradients and loss slot.
                            let ws = wsBuffer, gd = gdBuffer, out = lossBuffer, xs = xBuffer, zs = zBuffer
                            forEachShard(S, parallel: parallel) { s in
                                let fake = gan.generate(zs[s], self.params.g, workspace: &ws[s])
                                out[s] = gan.discriminatorForward(real: xs[s], fake: fake, self.params.d, workspace: &ws[s], lossScale: scale)
                                if alwaysD {
                                    gan.discriminatorBackward(real: xs[s], fake: fake, self.params.d, workspace: &ws[s], grads: &gd[s], lossScale: scale,
                                                              write: .overwrite)
                                }
                            }
                        }
                    }
                }
            }
        }
        var lossD = 0.0, lossG = 0.0
        for s in 0..<S { lossD += losses[s].lossD; lossG += losses[s].lossG }
        func broken(_ what: String) -> GANStepStats { GANStepStats(step: step + 1, lossD: lossD, lossG: lossG, trainedD: false, nonFinite: what) }
        if !lossD.isFinite { return broken("L_D") }
        if !lossG.isFinite { return broken("L_G") }
        var trainD = true
        if config.seedSchedule {
            let pD = 1 / (1 + Foundation.exp(lossG - lossD))   // e^{L_D} / (e^{L_D} + e^{L_G})
            trainD = rng.uniform() < pD
            if trainD {
                ws.withUnsafeMutableBufferPointer { wsBuffer in
                    gradsD.withUnsafeMutableBufferPointer { gdBuffer in
                        xs.withUnsafeBufferPointer { xBuffer in
                            let ws = wsBuffer, gd = gdBuffer, xs = xBuffer
                            forEachShard(S, parallel: parallel) { s in
                                gan.discriminatorBackward(real: xs[s], fake: ws[s].fake, self.params.d, workspace: &ws[s], grads: &gd[s], lossScale: scale,
                                                          write: .overwrite)
                            }
                        }
                    }
                }
            }
        }
        if trainD {
            // Σ over shards inside the update, in shard order: the same sum for any thread count
            if let cause = updateOnShardSum(&optD, &params.d, gradsD[0], S > 1 ? gradsD[1] : nil, prefix: "D.") { return broken(cause) }
            dSteps += 1
        }
        // 2. L_G through the updated D: ∂L_G/∂θ_G per shard.
        // (self.params is read in place, not held in a local: a second reference would make the optimiser copy every tensor)
        ws.withUnsafeMutableBufferPointer { wsBuffer in
            gradsG.withUnsafeMutableBufferPointer { ggBuffer in
                zs.withUnsafeBufferPointer { zBuffer in
                    let ws = wsBuffer, gg = ggBuffer, zs = zBuffer
                    forEachShard(S, parallel: parallel) { s in
                        gan.generatorStep(zs[s], self.params, workspace: &ws[s], grads: &gg[s], lossScale: scale, write: .overwrite)
                    }
                }
            }
        }
        // Each update checks what it writes (no pass of its own); a good step scans nothing.
        let causeG = updateOnShardSum(&optG, &params.g, gradsG[0], S > 1 ? gradsG[1] : nil, prefix: "G.")
        step += 1
        var stats = GANStepStats(step: step, lossD: lossD, lossG: lossG, trainedD: trainD)
        stats.nonFinite = causeG
        return stats
    }

    /// The whole run: G and D, both optimisers' state, the run's stream, the step and D's step count.
    public func checkpoint() -> Checkpoint {
        let og = optG.checkpointState(like: params.g, prefix: "G."), od = optD.checkpointState(like: params.d, prefix: "D.")
        let run = SavedRun(config: config, data: dataIdentity, counters: ["d_steps": dSteps])
        return Checkpoint(model: Self.model, config: run.json, step: step,
                          tensors: params.namedTensors(),
                          optimizerKind: config.optimizer.kind.rawValue, optimizerStep: step,
                          optimizerState1: og.s1 + od.s1, optimizerState2: og.s2 + od.s2, rngs: [("data", rng)])
    }

    public static func savedRun(_ c: Checkpoint, source: String) throws -> SavedRun<GANConfig> {
        if c.model == GeneratorCheckpoint.model {
            throw BPTTError.input("\(source): holds only the trained generator (gan --out writes it for sampling), not the whole run (no discriminator, no optimiser state), so it cannot be resumed: resume from the file the run's --save wrote (bptt gan --resume RUN.ckpt); sample from this one with bptt gan sample --checkpoint \(source) --count N --out DIR")
        }
        return try SavedRun<GANConfig>.decode(c, model: model, source: source)
    }

    /// Continues a saved run on `data` (which must be the data it was saved with).
    public convenience init(resuming c: Checkpoint, data: ImageDataset, identity: DataIdentity, threads: Int, source: String) throws {
        let run = try Self.savedRun(c, source: source)
        try run.checkData(identity, source: source)
        var config = run.config
        config.threads = threads
        self.init(config, data: data)
        dataIdentity = run.data
        guard c.optimizerKind == config.optimizer.kind.rawValue else {
            throw BPTTError.input("\(source): optimiser state is \(c.optimizerKind), the run uses \(config.optimizer.kind.rawValue)")
        }
        let dSteps = run.counters["d_steps"] ?? -1
        guard dSteps >= 0, dSteps <= c.step, c.optimizerStep == c.step, c.rng("data") != nil else {
            throw BPTTError.input("\(source): inconsistent GAN step counters or missing random stream")
        }
        var p = params
        try p.g.load(c.tensors, prefix: "G.", source: source)
        try p.d.load(c.tensors, prefix: "D.", source: source)
        let og = try Optimizer(config.optimizer, like: p.g, step: c.step, s1: c.optimizerState1, s2: c.optimizerState2, prefix: "G.", source: source)
        let od = try Optimizer(config.optimizer, like: p.d, step: dSteps, s1: c.optimizerState1, s2: c.optimizerState2, prefix: "D.", source: source)
        params = p
        optG = og
        optD = od
        rng = c.rng("data")!
        step = c.step
        self.dSteps = dSteps
    }

    /// n samples G(z) for z drawn from `seed` (the same seed gives the same latent points).
    public func samples(_ n: Int, seed: UInt64) -> Matrix<Float> {
        var r = RNG(seed: seed)
        var zz = Matrix<Float>(rows: 0, cols: 0)
        Self.fillGaussian(&zz, n, config.latent, rng: &r)
        var w = GAN<Float>.Workspace()
        return gan.generate(zz, params.g, workspace: &w)
    }
}

/// A generator checkpoint: the project's checkpoint file (`Checkpoint`: magic, version, FNV-1a
/// checksum, atomic write) with model "gan-generator", the sizes as JSON in `config`
/// (`{"latent":100,"sizes":[100,256,512,1024,64],"height":8,"width":8,"slope":0.2}`) and G's
/// tensors W1, b1, … . No optimiser state: it is for sampling and interpolation, not resuming.
public enum GeneratorCheckpoint {
    public static let model = "gan-generator"

    public static func save(_ path: String, latent: Int, sizes: [Int], height: Int, width: Int, slope: Double,
                            params: MLP<Float>.Parameters, step: Int = 0) throws {
        let config = JSON.object([("latent", .int(latent)), ("sizes", .array(sizes.map { .int($0) })),
                                  ("height", .int(height)), ("width", .int(width)), ("slope", .number(slope))]).serialized()
        try Checkpoint(model: model, config: config, step: step, tensors: params.namedTensors(), optimizerKind: "none", optimizerStep: 0,
                       optimizerState1: [], optimizerState2: [], rngs: []).write(to: path)
    }

    public static func load(_ path: String) throws -> (gan: GAN<Float>, params: MLP<Float>.Parameters, height: Int, width: Int) {
        try load(Checkpoint.read(from: path), source: path)
    }

    /// The generator saved in `c` (read from `path`).
    public static func load(_ c: Checkpoint, source path: String) throws -> (gan: GAN<Float>, params: MLP<Float>.Parameters, height: Int, width: Int) {
        guard c.model == model else { throw BPTTError.input("\(path): a '\(c.model)' checkpoint, not a GAN generator") }
        guard let obj = (try? JSONSerialization.jsonObject(with: Data(c.config.utf8))) as? [String: Any],
              let latent = obj["latent"] as? Int, let h = obj["height"] as? Int, let w = obj["width"] as? Int,
              let slope = (obj["slope"] as? NSNumber)?.doubleValue, let sizes = obj["sizes"] as? [Int],
              sizes.count >= 2, sizes.allSatisfy({ $0 > 0 && $0 < 1 << 20 }), sizes.first == latent, h > 0, w > 0, sizes.last == h * w
        else { throw BPTTError.input("\(path): malformed generator sizes in the checkpoint") }
        let gan = GAN<Float>(latent: latent, pixels: h * w, generatorHidden: Array(sizes.dropFirst().dropLast()), slope: slope)
        var rng = RNG(seed: 0)
        var p = gan.generator.initialParameters(.pytorch, rng: &rng)   // shapes only; overwritten below
        guard c.tensors.map(\.name) == p.tensorNames else {
            throw BPTTError.input("\(path): generator tensors \(c.tensors.map(\.name)), expected \(p.tensorNames)")
        }
        for (t, expected) in zip(c.tensors, p.tensors) where t.value.rows != expected.rows || t.value.cols != expected.cols {
            throw BPTTError.input("\(path): tensor \(t.name) is \(t.value.rows)×\(t.value.cols), expected \(expected.rows)×\(expected.cols)")
        }
        p.tensors = c.tensors.map(\.value)
        return (gan, p, h, w)
    }
}
