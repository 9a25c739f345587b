import Foundation

/// Training loops for the image models (Float32). Each large GEMM is split across `threads`
/// threads by columns, so results do not depend on the thread count.

public struct EpochStats: Sendable {
    public var epoch: Int
    public var loss: Double
    public var accuracy: Double?     // classifiers
    public var examplesPerSecond: Double
}

// MARK: - Masked autoencoder

public struct AutoencoderConfig: Sendable {
    public var mask: MaskedAutoencoder<Float>.Mask = .leftHalf
    public var lossOn: MaskedAutoencoder<Float>.LossOn = .masked
    public var hidden: [Int] = [256, 64, 256]
    public var epochs = 100
    public var batch = 64
    public var optimizer: OptimizerConfig = { var c = OptimizerConfig(kind: .adam, lr: 1e-3); return c }()
    public var initializer: Initializer = .pytorch
    public var seed: UInt64 = 0
    public var threads = 2
    public init() {}
}

public struct AutoencoderEvaluation: Sendable {
    public var maskedMSE: Double
    public var baselineZeroMSE: Double
    public var baselineMeanMSE: Double
    public var maskedPixels: Int
}

public final class AutoencoderTrainer {
    public let config: AutoencoderConfig
    public let data: ImageData
    public let model: MaskedAutoencoder<Float>
    public private(set) var params: MLP<Float>.Parameters
    var optimizer: MLPOptimizer<Float>
    var rng: RNG
    var ws = MaskedAutoencoder<Float>.Workspace()
    var grads: MLP<Float>.Parameters
    var x = Matrix<Float>(rows: 0, cols: 0), mask = Matrix<Float>(rows: 0, cols: 0)
    public private(set) var epoch = 0

    public init(_ config: AutoencoderConfig, data: ImageData) {
        self.config = config
        self.data = data
        model = MaskedAutoencoder(pixels: data.pixels, hidden: config.hidden, lossOn: config.lossOn, threads: config.threads)
        var rng = RNG(seed: config.seed)
        params = model.mlp.initialParameters(config.initializer, rng: &rng)
        self.rng = rng.split()
        optimizer = MLPOptimizer(config.optimizer, layers: model.mlp.layers.count)
        grads = params.zeros()
    }

    /// One pass over the shuffled training set. Throws when the loss stops being finite.
    public func trainEpoch() throws -> EpochStats {
        let start = Date()
        var order = Array(0..<data.train.count)
        rng.shuffle(&order)
        var lossSum = 0.0, batches = 0
        var lo = 0
        while lo < order.count {
            let idx = order[lo..<min(lo + config.batch, order.count)]
            data.train.gather(idx, into: &x)
            config.mask.fill(&mask, batch: idx.count, height: data.height, width: data.width, rng: &rng)
            grads.zero()
            lossSum += model.lossAndGradient(x, mask: mask, params, workspace: &ws, grads: &grads)
            optimizer.update(&params, grads: grads)
            batches += 1
            lo += config.batch
        }
        epoch += 1
        let loss = lossSum / Double(max(batches, 1))
        guard loss.isFinite else { throw BPTTError.nonFinite("autoencoder loss became \(loss) in epoch \(epoch)") }
        return EpochStats(epoch: epoch, loss: loss, accuracy: nil,
                          examplesPerSecond: Double(order.count) / max(Date().timeIntervalSince(start), 1e-9))
    }

    /// Test-set MSE on the masked pixels (masks from a fixed stream, the same for every run),
    /// beside the zero-fill and mean-image baselines. `reconstructions` receives the first images.
    public func evaluate(keep: Int = 0) -> (AutoencoderEvaluation, [(x: [Float], masked: [Float], xhat: [Float])]) {
        var evalRNG = RNG(seed: 0xA11CE)
        let mean = data.train.meanImage
        var sum = 0.0, zero = 0.0, meanFill = 0.0, n = 0
        var kept: [(x: [Float], masked: [Float], xhat: [Float])] = []
        let P = data.pixels
        var lo = 0
        while lo < data.test.count {
            let idx = Array(lo..<min(lo + 256, data.test.count))
            data.test.gather(idx[...], into: &x)
            config.mask.fill(&mask, batch: idx.count, height: data.height, width: data.width, rng: &evalRNG)
            model.forward(x, mask: mask, params, workspace: &ws)
            let xhat = ws.reconstruction
            for b in 0..<idx.count {
                for i in 0..<P where mask[b, i] == 0 {
                    let v = Double(x[b, i])
                    sum += (Double(xhat[b, i]) - v) * (Double(xhat[b, i]) - v)
                    zero += v * v
                    meanFill += (Double(mean.data[i]) - v) * (Double(mean.data[i]) - v)
                    n += 1
                }
                if kept.count < keep {
                    // Trained on the hidden pixels only, the output on visible ones is unconstrained
                    // (it looks like noise): show the input there, the reconstruction where hidden.
                    let shown = config.lossOn == .masked ? (0..<P).map { mask[b, $0] == 0 ? xhat[b, $0] : x[b, $0] } : Array(xhat.row(b))
                    kept.append((Array(x.row(b)), Array(ws.xIn.row(b)), shown))
                }
            }
            lo += 256
        }
        let d = Double(max(n, 1))
        return (AutoencoderEvaluation(maskedMSE: sum / d, baselineZeroMSE: zero / d, baselineMeanMSE: meanFill / d, maskedPixels: n), kept)
    }
}

// MARK: - Classifier

public struct ClassifierConfig: Sendable {
    public var hidden: [Int] = [256, 128]
    public var dropout = 0.2
    public var epochs = 40
    public var batch = 64
    public var optimizer = OptimizerConfig(kind: .adam, lr: 1e-3)
    public var initializer: Initializer = .pytorch
    public var seed: UInt64 = 0
    public var threads = 2
    public init() {}
}

/// An MLP digit classifier: ReLU hidden layers, inverted dropout, softmax cross-entropy.
public final class ClassifierTrainer {
    public let config: ClassifierConfig
    public let data: ImageData
    public let mlp: MLP<Float>
    public private(set) var params: MLP<Float>.Parameters
    var optimizer: MLPOptimizer<Float>
    var rng: RNG
    var cache = MLP<Float>.Cache()
    var grads: MLP<Float>.Parameters
    var x = Matrix<Float>(rows: 0, cols: 0), probs = Matrix<Float>(rows: 0, cols: 0), dOut = Matrix<Float>(rows: 0, cols: 0)
    public private(set) var epoch = 0

    public init(_ config: ClassifierConfig, data: ImageData) {
        self.config = config
        self.data = data
        var m = MLP<Float>(sizes: [data.pixels] + config.hidden + [max(data.classes, 2)], hidden: .relu, output: .identity,
                           dropout: config.dropout)
        m.threads = config.threads
        mlp = m
        var rng = RNG(seed: config.seed)
        params = mlp.initialParameters(config.initializer, rng: &rng)
        self.rng = rng.split()
        optimizer = MLPOptimizer(config.optimizer, layers: mlp.layers.count)
        grads = params.zeros()
    }

    public func trainEpoch() throws -> EpochStats {
        let start = Date()
        var order = Array(0..<data.train.count)
        rng.shuffle(&order)
        var lossSum = 0.0, correct = 0
        var lo = 0
        while lo < order.count {
            let idx = order[lo..<min(lo + config.batch, order.count)]
            let labels = idx.map { data.train.labels[$0] }
            data.train.gather(idx, into: &x)
            withUnsafeMutablePointer(to: &rng) { mlp.forward(x, params, cache: &cache, dropoutRNG: $0) }
            let r = SoftmaxCrossEntropy.forward(logits: cache.output, targets: labels[...], probs: &probs)
            SoftmaxCrossEntropy.backward(probs: probs, targets: labels[...], scale: 1 / Float(idx.count), into: &dOut)
            cache.dOutput = dOut
            grads.zero()
            mlp.backward(x, params, cache: &cache, grads: &grads)
            optimizer.update(&params, grads: grads)
            lossSum += r.lossSum
            correct += r.correct
            lo += config.batch
        }
        epoch += 1
        let loss = lossSum / Double(order.count)
        guard loss.isFinite else { throw BPTTError.nonFinite("classifier loss became \(loss) in epoch \(epoch)") }
        return EpochStats(epoch: epoch, loss: loss, accuracy: Double(correct) / Double(order.count),
                          examplesPerSecond: Double(order.count) / max(Date().timeIntervalSince(start), 1e-9))
    }

    /// Class probabilities for every row of `images` (no dropout).
    public func probabilities(_ images: Matrix<Float>) -> Matrix<Float> {
        var out = Matrix<Float>(rows: images.rows, cols: mlp.outputSize)
        var c = MLP<Float>.Cache(), p = Matrix<Float>(rows: 0, cols: 0), batch = Matrix<Float>(rows: 0, cols: 0)
        var lo = 0
        while lo < images.rows {
            let hi = min(lo + 256, images.rows)
            batch = rowsSlice(images, lo, hi)
            mlp.forward(batch, params, cache: &c)
            let dummy = [Int](repeating: 0, count: hi - lo)
            _ = SoftmaxCrossEntropy.forward(logits: c.output, targets: dummy[...], probs: &p)
            out.data.replaceSubrange((lo * out.cols)..<(hi * out.cols), with: p.data)
            lo = hi
        }
        return out
    }

    /// Accuracy on the test set.
    public func testAccuracy() -> Double {
        let p = probabilities(data.test.images)
        var correct = 0
        for r in 0..<p.rows {
            let row = p.row(r)
            if row.firstIndex(of: row.max()!)! - row.startIndex == data.test.labels[r] { correct += 1 }
        }
        return Double(correct) / Double(max(p.rows, 1))
    }
}
