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

public struct GANStepStats: Sendable {
    public var step: Int
    public var lossD: Double
    public var lossG: Double
    public var trainedD: Bool
}

/// Trains G and D in Float32: each step one real batch, one batch of z, D's update (every step
/// or by the seed's coin), then G's update through the updated D.
public final class GANTrainer {
    public let config: GANConfig
    public let data: ImageDataset
    public let gan: GAN<Float>
    public private(set) var params: GAN<Float>.Parameters
    var optG: MLPOptimizer<Float>, optD: MLPOptimizer<Float>
    var rng: RNG
    var ws = GAN<Float>.Workspace()
    var gradsG: MLP<Float>.Parameters, gradsD: MLP<Float>.Parameters
    var x = Matrix<Float>(rows: 0, cols: 0), z = Matrix<Float>(rows: 0, cols: 0)
    public private(set) var step = 0
    public private(set) var dSteps = 0

    public init(_ config: GANConfig, data: ImageDataset) {
        self.config = config
        self.data = data
        gan = GAN(latent: config.latent, pixels: data.pixels, generatorHidden: config.generatorHidden,
                  discriminatorHidden: config.discriminatorHidden, threads: config.threads)
        var rng = RNG(seed: config.seed)
        params = gan.initialParameters(config.initializer, rng: &rng)
        self.rng = rng.split()
        optG = MLPOptimizer(config.optimizer, layers: gan.generator.layers.count)
        optD = MLPOptimizer(config.optimizer, layers: gan.discriminator.layers.count)
        gradsG = params.g.zeros()
        gradsD = params.d.zeros()
    }

    static func fillGaussian(_ m: inout Matrix<Float>, _ rows: Int, _ cols: Int, rng: inout RNG) {
        ensure(&m, rows, cols)
        for i in 0..<m.count { m.data[i] = Float(rng.gaussian()) }
    }

    public func trainStep() throws -> GANStepStats {
        let B = config.batch
        let idx = (0..<B).map { _ in rng.int(below: data.count) }
        data.gather(idx[...], into: &x)
        Self.fillGaussian(&z, B, config.latent, rng: &rng)
        let fake = gan.generate(z, params.g, workspace: &ws)
        let (lossD, lossG) = gan.discriminatorForward(real: x, fake: fake, params.d, workspace: &ws)
        guard lossD.isFinite && lossG.isFinite else { throw BPTTError.nonFinite("GAN losses became L_D = \(lossD), L_G = \(lossG) at step \(step + 1)") }
        var trainD = true
        if config.seedSchedule {
            let p = 1 / (1 + Foundation.exp(lossG - lossD))   // e^{L_D} / (e^{L_D} + e^{L_G})
            trainD = rng.uniform() < p
        }
        if trainD {
            gradsD.zero()
            gan.discriminatorBackward(real: x, fake: fake, params.d, workspace: &ws, grads: &gradsD)
            optD.update(&params.d, grads: gradsD)
            dSteps += 1
        }
        gradsG.zero()
        gan.generatorStep(z, params, workspace: &ws, grads: &gradsG)
        optG.update(&params.g, grads: gradsG)
        step += 1
        return GANStepStats(step: step, lossD: lossD, lossG: lossG, trainedD: trainD)
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

/// A generator checkpoint: sizes and weights, little-endian Float32 after a text header line.
public enum GeneratorCheckpoint {
    static let magic = "bptt-generator-v1"

    public static func save(_ path: String, latent: Int, sizes: [Int], height: Int, width: Int, slope: Double, params: MLP<Float>.Parameters) throws {
        var header = "\(magic) latent=\(latent) sizes=\(sizes.map(String.init).joined(separator: ",")) height=\(height) width=\(width) slope=\(slope)\n"
        var data = Data(header.utf8)
        header = ""
        for t in params.tensors { t.data.withUnsafeBufferPointer { data.append(Data(buffer: $0)) } }
        try writeFileAtomically(path, data)
    }

    public static func load(_ path: String) throws -> (gan: GAN<Float>, params: MLP<Float>.Parameters, height: Int, width: Int) {
        guard let data = FileManager.default.contents(atPath: path) else { throw BPTTError.input("cannot read checkpoint \(path)") }
        guard let nl = data.firstIndex(of: 10), let header = String(data: data[..<nl], encoding: .utf8), header.hasPrefix(magic + " ") else {
            throw BPTTError.input("\(path): not a bptt generator checkpoint")
        }
        var fields: [String: String] = [:]
        for f in header.split(separator: " ").dropFirst() {
            let kv = f.split(separator: "=", maxSplits: 1)
            if kv.count == 2 { fields[String(kv[0])] = String(kv[1]) }
        }
        guard let latent = fields["latent"].flatMap({ Int($0) }), let h = fields["height"].flatMap({ Int($0) }),
              let w = fields["width"].flatMap({ Int($0) }), let slope = fields["slope"].flatMap({ Double($0) }),
              let sizes = fields["sizes"]?.split(separator: ",").compactMap({ Int($0) }),
              sizes.count >= 2, sizes.allSatisfy({ $0 > 0 && $0 < 1 << 20 }), sizes.first == latent, sizes.last == h * w, h > 0, w > 0
        else { throw BPTTError.input("\(path): malformed checkpoint header") }
        let gan = GAN<Float>(latent: latent, pixels: h * w, generatorHidden: Array(sizes.dropFirst().dropLast()), slope: slope)
        var rng = RNG(seed: 0)
        var p = gan.generator.initialParameters(.pytorch, rng: &rng)
        let need = p.parameterCount * 4
        let body = data[(nl + 1)...]
        guard body.count == need else { throw BPTTError.input("\(path): checkpoint has \(body.count) bytes of weights, expected \(need) (truncated?)") }
        var offset = body.startIndex
        var tensors = p.tensors
        for i in tensors.indices {
            let n = tensors[i].count
            tensors[i].data = body[offset..<(offset + 4 * n)].withUnsafeBytes { raw in
                (0..<n).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
            }
            offset += 4 * n
        }
        p.tensors = tensors
        return (gan, p, h, w)
    }
}
