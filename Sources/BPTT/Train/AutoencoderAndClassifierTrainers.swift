import Foundation

/// Training loops for the image models (Float32). Each batch is split into two fixed shards, one
/// per thread, so the results do not depend on the thread count; evaluation splits each large
/// GEMM across `threads` threads by columns instead.

public struct EpochStats: Sendable {
    public var epoch: Int
    public var loss: Double
    public var accuracy: Double?     // classifiers (on the training batches)
    public var testAccuracy: Double? = nil
    public var examplesPerSecond: Double
}

/// One optimisation step (one batch) of an epoch-based trainer.
public struct BatchStats: Sendable {
    /// Batches done in the whole run, this one included.
    public var step: Int
    /// The epoch this batch belongs to (1-based) and its index in it (1-based).
    public var epoch: Int
    public var batch: Int
    public var loss: Double
    /// Set when the loss, a gradient or a parameter became NaN or ±∞ ("loss", "gradient of W2",
    /// "parameter W2 after the update"): the run must stop without saving. A non-finite loss skips
    /// the update; a non-finite gradient is caught by the update itself (in the same pass), which
    /// has by then written the parameters.
    public var nonFinite: String? = nil
    /// Set when this batch completed an epoch.
    public var epochDone: EpochStats? = nil
}

/// The optimiser step on g₁ (+ g₂): the gradients of one or two data-parallel shards, summed in
/// shard order inside the update's own loop, so 1 or 2 threads give the same numbers. On a
/// non-finite result, the cause, named from the summed gradients (formed only then); nil after a
/// good step. A trainer with more shards must sum the rest into g₂ first.
func updateOnShardSum<P: ParameterSet>(_ optimizer: inout Optimizer<P>, _ params: inout P, _ g1: P, _ g2: P?, prefix: String = "") -> String? {
    let finite = if let g2 { optimizer.update(&params, summing: g1, g2) } else { optimizer.update(&params, grads: g1) }
    if finite { return nil }
    var sum = g1
    if let g2 { sum.add(g2) }
    return nonFiniteCause(sum, params, prefix: prefix)
}

/// What made an update write a NaN or ±∞ (`Optimizer.update` returned false): the first non-finite
/// gradient tensor if any ("gradient of W2"), else the first non-finite parameter. Scans only
/// after a failure; a good step pays for no scan.
func nonFiniteCause<P: ParameterSet>(_ grads: P, _ params: P, prefix: String = "") -> String {
    if let bad = grads.firstNonFiniteTensor { return "gradient of " + prefix + bad }
    return "parameter \(prefix)\(params.firstNonFiniteTensor ?? "?") after the update"
}

/// Measures examples/s within an epoch (not saved: checkpoints hold no timings).
struct EpochClock {
    var start = Date(), seenAtStart = 0
    mutating func reset(seen: Int) { start = Date(); seenAtStart = seen }
    func rate(seen: Int) -> Double { Double(seen - seenAtStart) / max(Date().timeIntervalSince(start), 1e-9) }
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

/// Saved in checkpoints: everything but the run length and the thread count.
extension AutoencoderConfig: Codable, Equatable {
    enum CodingKeys: String, CodingKey { case mask, lossOn, hidden, batch, optimizer, initializer, seed }
    public init(from d: Decoder) throws {
        let k = try d.container(keyedBy: CodingKeys.self)
        self.init()
        let m = try k.decode(String.self, forKey: .mask)
        guard let mask = MaskedAutoencoder<Float>.Mask(parsing: m),
              let lossOn = MaskedAutoencoder<Float>.LossOn(rawValue: try k.decode(String.self, forKey: .lossOn)) else {
            throw DecodingError.dataCorruptedError(forKey: .mask, in: k, debugDescription: "bad mask or loss-on")
        }
        self.mask = mask
        self.lossOn = lossOn
        hidden = try k.decode([Int].self, forKey: .hidden)
        batch = try k.decode(Int.self, forKey: .batch)
        optimizer = try k.decode(OptimizerConfig.self, forKey: .optimizer)
        initializer = try k.decode(Initializer.self, forKey: .initializer)
        seed = try k.decode(UInt64.self, forKey: .seed)
        guard batch >= 1, hidden.allSatisfy({ $0 >= 1 && $0 <= 100_000 }) else {
            throw DecodingError.dataCorruptedError(forKey: .hidden, in: k, debugDescription: "bad sizes")
        }
    }
    public func encode(to e: Encoder) throws {
        var k = e.container(keyedBy: CodingKeys.self)
        try k.encode(mask.description, forKey: .mask)
        try k.encode(lossOn.rawValue, forKey: .lossOn)
        try k.encode(hidden, forKey: .hidden)
        try k.encode(batch, forKey: .batch)
        try k.encode(optimizer, forKey: .optimizer)
        try k.encode(initializer, forKey: .initializer)
        try k.encode(seed, forKey: .seed)
    }
    public static func == (a: Self, b: Self) -> Bool {
        a.mask == b.mask && a.lossOn == b.lossOn && a.hidden == b.hidden && a.batch == b.batch && a.optimizer == b.optimizer
            && a.initializer == b.initializer && a.seed == b.seed
    }
}

public struct AutoencoderEvaluation: Sendable {
    public var maskedMSE: Double
    public var baselineZeroMSE: Double
    public var baselineMeanMSE: Double
    public var maskedPixels: Int
}

public final class AutoencoderTrainer: ImageTrainerState {
    public static let model = "autoencoder"
    public let config: AutoencoderConfig
    public let data: ImageData
    public let dataSpec: String
    public let model: MaskedAutoencoder<Float>
    public internal(set) var params: MLP<Float>.Parameters
    var optimizer: Optimizer<MLP<Float>.Parameters>
    var rng: RNG
    public internal(set) var schedule: EpochSchedule
    public internal(set) var history: [EpochRecord] = []
    var clock = EpochClock()
    var ws = MaskedAutoencoder<Float>.Workspace()
    var x = Matrix<Float>(rows: 0, cols: 0), mask = Matrix<Float>(rows: 0, cols: 0)
    /// Training splits each batch into `shards` fixed halves, each run forward and backward on its
    /// own thread with one-thread products (`shardModel`), its own workspace and gradients; the
    /// gradients are summed in shard order, so 1 or 2 threads give the same numbers.
    public static let shards = 2   // at most 2: the update sums g₁ + g₂ (`updateOnShardSum`)
    let shardModel: MaskedAutoencoder<Float>
    var shardWS: [MaskedAutoencoder<Float>.Workspace], shardGrads: [MLP<Float>.Parameters]
    var shardX: [Matrix<Float>], shardMask: [Matrix<Float>], shardLoss: [Double]

    public init(_ config: AutoencoderConfig, data: ImageData, dataSpec: String = "digits") {
        self.config = config
        self.data = data
        self.dataSpec = dataSpec
        model = MaskedAutoencoder(pixels: data.pixels, hidden: config.hidden, lossOn: config.lossOn, threads: config.threads)
        shardModel = MaskedAutoencoder(pixels: data.pixels, hidden: config.hidden, lossOn: config.lossOn, threads: 1)
        (params, optimizer, rng, schedule) = newImageRun(model.mlp, config, count: data.train.count)
        shardWS = Array(repeating: MaskedAutoencoder<Float>.Workspace(), count: Self.shards)
        shardGrads = Array(repeating: params.zeros(), count: Self.shards)
        shardX = Array(repeating: Matrix(rows: 0, cols: 0), count: Self.shards)
        shardMask = shardX
        shardLoss = Array(repeating: 0, count: Self.shards)
    }

    /// One batch: masks from the run's stream, forward, backward, the non-finite guard, Adam.
    /// The first batch of an epoch shuffles the training set.
    public func trainStep() -> BatchStats {
        if schedule.cursor.batch == 0 { clock.reset(seen: 0) }
        let idx = schedule.nextBatch(rng: &rng)
        let (e, b) = (schedule.cursor.epoch + 1, schedule.cursor.batch + 1)
        config.mask.fill(&mask, batch: idx.count, height: data.height, width: data.width, rng: &rng)
        let N = model.lossWeightSum(mask)   // every shard's loss is scaled by 1/N of the whole batch
        let B = idx.count, S = min(Self.shards, B), p = params, shardModel = self.shardModel
        let (train, mask) = (data.train, self.mask)
        shardWS.withUnsafeMutableBufferPointer { wsBuffer in
            shardGrads.withUnsafeMutableBufferPointer { gsBuffer in
                shardLoss.withUnsafeMutableBufferPointer { outBuffer in
                    shardX.withUnsafeMutableBufferPointer { xBuffer in
                        shardMask.withUnsafeMutableBufferPointer { mBuffer in
                            // Each shard touches only its own rows, workspace, gradients and loss slot.
                            let (ws, gs, out, xs, ms) = (wsBuffer, gsBuffer, outBuffer, xBuffer, mBuffer)
                            forEachShard(S, parallel: config.threads > 1) { s in
                                let (lo, hi) = (s * B / S, (s + 1) * B / S)
                                train.gather(idx[(idx.startIndex + lo)..<(idx.startIndex + hi)], into: &xs[s])
                                ensure(&ms[s], hi - lo, mask.cols)
                                copyRows(mask, lo, hi, into: &ms[s])
                                out[s] = shardModel.lossAndGradient(xs[s], mask: ms[s], p, workspace: &ws[s], grads: &gs[s], normalizer: N, write: .overwrite)
                            }
                        }
                    }
                }
            }
        }
        let loss = shardLoss[..<S].reduce(0, +)
        var st = BatchStats(step: step + 1, epoch: e, batch: b, loss: loss)
        if !loss.isFinite { st.nonFinite = "loss"; return st }
        if let cause = updateOnShardSum(&optimizer, &params, shardGrads[0], S > 1 ? shardGrads[1] : nil) { st.nonFinite = cause; return st }
        if let done = schedule.record(loss: loss, weight: 1, size: idx.count) {
            let l = done.lossSum / max(done.weight, 1)
            history.append(EpochRecord(epoch: e, trainLoss: l))
            st.epochDone = EpochStats(epoch: e, loss: l, accuracy: nil, examplesPerSecond: clock.rate(seen: done.seen))
        }
        return st
    }

    /// The whole run: parameters, optimiser state, the run's stream, where it stands in its epoch, its curve.
    public func checkpoint() -> Checkpoint { wholeRunCheckpoint() }

    /// Continues a saved run on `data` (which must be the data it was saved with).
    public convenience init(resuming c: Checkpoint, data: ImageData, threads: Int, source: String) throws {
        try self.init(restoring: c, data: data, threads: threads, source: source)
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

/// Saved in checkpoints: everything but the run length and the thread count.
extension ClassifierConfig: Codable, Equatable {
    enum CodingKeys: String, CodingKey { case hidden, dropout, batch, optimizer, initializer, seed }
}

/// An MLP digit classifier: ReLU hidden layers, inverted dropout, softmax cross-entropy.
public final class ClassifierTrainer: ImageTrainerState {
    public static let model = "classifier"
    public let config: ClassifierConfig
    public let data: ImageData
    public let dataSpec: String
    public let mlp: MLP<Float>
    public internal(set) var params: MLP<Float>.Parameters
    var optimizer: Optimizer<MLP<Float>.Parameters>
    var rng: RNG
    public internal(set) var schedule: EpochSchedule
    public internal(set) var history: [EpochRecord] = []
    var clock = EpochClock()
    /// Training splits each batch into `shards` fixed parts, each run forward (with its own
    /// dropout stream, seeded from the run's stream in shard order) and backward on its own thread
    /// with one-thread products; the gradients are summed in shard order, so 1 or 2 threads give
    /// the same numbers.
    public static let shards = 2   // at most 2: the update sums g₁ + g₂ (`updateOnShardSum`)
    let shardMLP: MLP<Float>
    var shards: [Shard]
    struct Shard {
        var grads: MLP<Float>.Parameters
        var cache = MLP<Float>.Cache()
        var x = Matrix<Float>(rows: 0, cols: 0), probs = Matrix<Float>(rows: 0, cols: 0), dOut = Matrix<Float>(rows: 0, cols: 0)
        var lossSum = 0.0, correct = 0
        var dropoutSeed: UInt64? = nil   // this step's dropout stream (nil: no dropout)
        init(grads: MLP<Float>.Parameters) { self.grads = grads }

        /// Forward (dropout from its own stream when seeded), softmax cross-entropy scaled by
        /// `scale` (1/B of the whole batch), backward written into `grads` (no zeroing pass).
        mutating func run(_ mlp: MLP<Float>, _ p: MLP<Float>.Parameters, targets: ArraySlice<Int>, scale: Float) {
            if let seed = dropoutSeed {
                var drop = RNG(seed: seed)
                _ = mlp.forward(x, p, cache: &cache, dropoutRNG: &drop)
            } else {
                _ = mlp.forward(x, p, cache: &cache)
            }
            let r = SoftmaxCrossEntropy.forward(logits: cache.output, targets: targets, probs: &probs)
            SoftmaxCrossEntropy.backward(probs: probs, targets: targets, scale: scale, into: &dOut)
            cache.dOutput = dOut
            mlp.backward(x, p, cache: &cache, grads: &grads, write: .overwrite)
            (lossSum, correct) = (r.lossSum, r.correct)
        }
    }

    public init(_ config: ClassifierConfig, data: ImageData, dataSpec: String = "digits") {
        self.config = config
        self.data = data
        self.dataSpec = dataSpec
        var m = MLP<Float>(sizes: [data.pixels] + config.hidden + [max(data.classes, 2)], hidden: .relu, output: .identity,
                           dropout: config.dropout)
        m.threads = config.threads
        mlp = m
        m.threads = 1
        shardMLP = m
        (params, optimizer, rng, schedule) = newImageRun(mlp, config, count: data.train.count)
        shards = Array(repeating: Shard(grads: params.zeros()), count: Self.shards)
    }

    /// One batch: forward with dropout, softmax cross-entropy, backward, the non-finite guard, update.
    /// The first batch of an epoch shuffles the training set.
    public func trainStep() -> BatchStats {
        if schedule.cursor.batch == 0 { clock.reset(seen: 0) }
        let idx = schedule.nextBatch(rng: &rng)
        let (e, b) = (schedule.cursor.epoch + 1, schedule.cursor.batch + 1)
        let labels = idx.map { data.train.labels[$0] }
        let B = idx.count, S = min(Self.shards, B), p = params, shardMLP = self.shardMLP, scale = 1 / Float(B)
        for s in 0..<S {
            shards[s].dropoutSeed = config.dropout > 0 ? rng.next() : nil   // none drawn without dropout
            data.train.gather(idx[(idx.startIndex + s * B / S)..<(idx.startIndex + (s + 1) * B / S)], into: &shards[s].x)
        }
        shards.withUnsafeMutableBufferPointer { buffer in
            let shard = buffer   // each shard touches only its own slot
            forEachShard(S, parallel: config.threads > 1) { s in
                shard[s].run(shardMLP, p, targets: labels[(s * B / S)..<((s + 1) * B / S)], scale: scale)
            }
        }
        let r = (lossSum: shards[..<S].reduce(0) { $0 + $1.lossSum }, correct: shards[..<S].reduce(0) { $0 + $1.correct })
        let n = Double(B)
        var st = BatchStats(step: step + 1, epoch: e, batch: b, loss: r.lossSum / n)
        if !st.loss.isFinite { st.nonFinite = "loss"; return st }
        if let cause = updateOnShardSum(&optimizer, &params, shards[0].grads, S > 1 ? shards[1].grads : nil) { st.nonFinite = cause; return st }
        if let done = schedule.record(loss: r.lossSum / n, weight: n, correct: r.correct, size: idx.count) {
            let l = done.lossSum / Double(max(done.seen, 1)), acc = Double(done.correct) / Double(max(done.seen, 1))
            history.append(EpochRecord(epoch: e, trainLoss: l, trainAccuracy: acc))
            st.epochDone = EpochStats(epoch: e, loss: l, accuracy: acc, examplesPerSecond: clock.rate(seen: done.seen))
        }
        return st
    }

    /// The whole run: parameters, optimiser state, the run's stream, where it stands in its epoch, its curve.
    public func checkpoint() -> Checkpoint { wholeRunCheckpoint() }

    /// Continues a saved run on `data` (which must be the data it was saved with).
    public convenience init(resuming c: Checkpoint, data: ImageData, threads: Int, source: String) throws {
        try self.init(restoring: c, data: data, threads: threads, source: source)
    }

    /// Replaces the parameters with saved ones (a trained classifier read back, e.g. the GAN's
    /// cached judge). Throws when the names or shapes differ from this model's.
    public func setParameters(_ saved: [Checkpoint.NamedTensor], source: String) throws {
        var p = params
        try p.load(saved, source: source)
        params = p
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
