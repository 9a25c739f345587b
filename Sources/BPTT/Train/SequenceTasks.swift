import Foundation

/// Epoch-based sequence tasks on real data: images read row by row (one row of pixels per time
/// step) and text sentiment with embeddings and variable-length batches. Both use `ShardedStep`.
public struct SequenceTaskConfig: Sendable {
    public var task = "image-rows"              // image-rows | sentiment
    public var model = "lstm"                   // rnn | rnn-relu | lstm | gru | gru-cho
    public var layers = 1
    public var bidirectional = false
    public var hidden = 64
    public var epochs = 30
    public var batch = 32
    public var optimizer = OptimizerConfig(kind: .adam, lr: 1e-3)
    public var clip: Double? = 10
    public var seed: UInt64 = 0
    public var threads = 2
    public var shards = 2
    public var initializer: Initializer = .pytorch
    /// identity | orthogonal | chrono applied after `initializer` (nil: none).
    public var recurrentInit: RecurrentInit? = nil
    /// chrono: T_max (nil: the number of steps of an example).
    public var chronoTMax: Int? = nil
    /// pixels: the seed of the fixed pixel permutation (nil: pixels in reading order).
    public var permute: UInt64? = nil
    // sentiment
    public var embeddingDim = 100
    public var dropout = 0.5
    public var vocabularySize = 25_000
    public var maxLength = 400
    public init() {}
}

/// Saved in checkpoints: everything but the run length and the thread count.
extension SequenceTaskConfig: Codable, Equatable {
    enum CodingKeys: String, CodingKey {
        case task, model, layers, bidirectional, hidden, batch, optimizer, clip, seed, shards, initializer
        case embeddingDim, dropout, vocabularySize, maxLength
        case recurrentInit, chronoTMax, permute
    }
}

/// Prepared text data: encoded train/test sequences and the vocabulary.
public struct EncodedText: Sendable {
    public var vocabulary: Vocabulary
    public var train: [[Int]], trainLabels: [Int]
    public var test: [[Int]], testLabels: [Int]

    /// Tokenizes, builds the vocabulary of the `maxWords` most frequent training words (unk 0,
    /// pad 1), encodes and truncates to `maxLength` tokens (an empty review becomes [unk]).
    public init(train: [LabelledText], test: [LabelledText], maxWords: Int, maxLength: Int) {
        let tr = train.map { Tokenizer.tokenize($0.text) }, te = test.map { Tokenizer.tokenize($0.text) }
        let v = Vocabulary(texts: tr, maxWords: maxWords)
        vocabulary = v
        func enc(_ t: [String]) -> [Int] { let e = Array(v.encode(t).prefix(maxLength)); return e.isEmpty ? [Vocabulary.unk] : e }
        self.train = tr.map(enc); trainLabels = train.map(\.label)
        self.test = te.map(enc); testLabels = test.map(\.label)
    }
}

/// Trains an image-rows or sentiment model batch by batch; an epoch ends with the test accuracy.
/// Resumable between any two batches: the checkpoint holds the parameters, the optimiser state,
/// the epoch position (the batch order is replayed from the saved stream) and the dropout stream.
public final class SequenceTaskTrainer {
    public let config: SequenceTaskConfig
    public let dataIdentity: DataIdentity
    private let engine: SequenceTaskEngine

    /// The checkpoint's model kind is the task ("image-rows", "sentiment").
    public var task: String { config.task }
    public var step: Int { engine.step() }
    /// Completed epochs.
    public var epoch: Int { engine.epoch() }
    public var batchesPerEpoch: Int { engine.batchesPerEpoch }
    public var history: [EpochRecord] { engine.history() }
    public var parameterCount: Int { engine.parameterCount }

    /// Image rows: each image is H steps of W pixels, classified from the last state.
    public init(imageRows c: SequenceTaskConfig, data: ImageData, dataSpec: String) throws {
        guard let kind = CellKind(rawValue: c.model) else { throw BPTTError.usage("unknown model '\(c.model)'") }
        var c = c
        c.task = "image-rows"
        config = c
        dataIdentity = DataIdentity(data, spec: dataSpec)
        engine = try kind.accept(ImageSequenceMaker(c: c, data: data, identity: dataIdentity, layout: .rows), hidden: c.hidden)
    }

    /// Pixels: each image is H·W steps of one pixel (in the order of `c.permute`), classified
    /// from the last state (`derivations/long-memory.md`).
    public init(pixels c: SequenceTaskConfig, data: ImageData, dataSpec: String) throws {
        guard let kind = CellKind(rawValue: c.model) else { throw BPTTError.usage("unknown model '\(c.model)'") }
        var c = c
        c.task = "pixels"
        config = c
        dataIdentity = DataIdentity(data, spec: dataSpec)
        let order = PixelSequence.order(pixels: data.height * data.width, permute: c.permute)         // (long-memory.pixels)
        engine = try kind.accept(ImageSequenceMaker(c: c, data: data, identity: dataIdentity, layout: .pixels(order: order)), hidden: c.hidden)
    }

    /// Sentiment: embedding, dropout, masked stack, dense logit, BCE with logits. With `vectors`,
    /// the embedding width is theirs (and recorded as `embeddingDim`).
    public init(sentiment c: SequenceTaskConfig, text: EncodedText, vectors: Matrix<Float>?, identity: DataIdentity) throws {
        guard let kind = CellKind(rawValue: c.model) else { throw BPTTError.usage("unknown model '\(c.model)'") }
        var c = c
        c.task = "sentiment"
        if let vectors { c.embeddingDim = vectors.cols }
        config = c
        dataIdentity = identity
        engine = try kind.accept(SentimentMaker(c: c, text: text, vectors: vectors, identity: identity), hidden: c.hidden)
    }

    /// One batch (the first of an epoch shuffles); the last batch of an epoch also measures the
    /// test accuracy (`epochDone`).
    public func trainStep() -> BatchStats { engine.trainStep() }

    /// The predicted class of every test example (test-set order) with the current parameters;
    /// `testLabels` holds the true ones (sentiment: 0 negative, 1 positive).
    public func testPredictions() -> [Int] { engine.testPredictions() }
    public var testLabels: [Int] { engine.testLabels }

    public func checkpoint() -> Checkpoint { engine.checkpoint() }

    /// The run saved in a checkpoint of `task`; refuses any other kind.
    public static func savedRun(_ c: Checkpoint, task: String, source: String) throws -> SavedRun<SequenceTaskConfig> {
        try SavedRun<SequenceTaskConfig>.decode(c, model: task, source: source)
    }

    /// Restores a checkpoint of this very configuration (see `savedRun`), checking every tensor first.
    public func restore(_ c: Checkpoint, source: String) throws {
        let run = try Self.savedRun(c, task: task, source: source)
        try run.checkData(dataIdentity, source: source)
        try engine.restore(c, run, source)
    }
}

/// The trainer's view of an engine: closures made where the cell type is concrete, so
/// the generic code is specialised inside the library.
struct SequenceTaskEngine {
    let step: () -> Int
    let epoch: () -> Int
    let batchesPerEpoch: Int
    let parameterCount: Int
    let history: () -> [EpochRecord]
    let trainStep: () -> BatchStats
    let checkpoint: () -> Checkpoint
    let restore: (Checkpoint, SavedRun<SequenceTaskConfig>, String) throws -> Void
    /// The predicted class of every test example (in the test set's order) with the current parameters.
    let testPredictions: () -> [Int]
    /// The true class of every test example, same order.
    let testLabels: [Int]
}

/// The epoch loop shared by both tasks, for one concrete model: `runBatch` trains on the
/// schedule's items (image indices, or one length bucket), `testPredictions` classifies the test
/// set (in its order), which `testLabels` scores.
final class EpochEngine<Params: ParameterSet, Workspace> where Params.Real == Float {
    let config: SequenceTaskConfig
    let identity: DataIdentity
    let core: ShardedStep<Params, Workspace>
    var schedule: EpochSchedule
    var dropoutRNG: RNG
    var history: [EpochRecord] = []
    var clock = EpochClock()
    let runBatch: (ArraySlice<Int>, ShardedStep<Params, Workspace>, [UInt64]?) -> (StepStats, size: Int)
    let testPredictions: (Params) -> [Int]
    let testLabels: [Int]

    init(config: SequenceTaskConfig, identity: DataIdentity, core: ShardedStep<Params, Workspace>, schedule: EpochSchedule, dropoutRNG: RNG,
         runBatch: @escaping (ArraySlice<Int>, ShardedStep<Params, Workspace>, [UInt64]?) -> (StepStats, size: Int),
         testLabels: [Int], testPredictions: @escaping (Params) -> [Int]) {
        self.config = config
        self.identity = identity
        self.core = core
        self.schedule = schedule
        self.dropoutRNG = dropoutRNG
        self.runBatch = runBatch
        self.testLabels = testLabels
        self.testPredictions = testPredictions
    }

    /// The fraction of test examples classified right.
    func testAccuracy(_ p: Params) -> Double {
        let predicted = testPredictions(p)
        return Double(zip(predicted, testLabels).filter { $0 == $1 }.count) / Double(max(1, testLabels.count))
    }

    func trainStep() -> BatchStats {
        if schedule.cursor.batch == 0 { clock.reset(seen: 0) }
        var unused = RNG(seed: 0)   // the cumulative schedule shuffles with its own stream
        let items = schedule.nextBatch(rng: &unused)
        let (e, b) = (schedule.cursor.epoch + 1, schedule.cursor.batch + 1)
        // Dropout masks: one stream per shard, seeded in shard order (same numbers for any thread count).
        let seeds: [UInt64]? = config.task == "sentiment" && config.dropout > 0 ? (0..<core.shards).map { _ in dropoutRNG.next() } : nil
        let (st, B) = runBatch(items, core, seeds)
        var out = BatchStats(step: schedule.step + 1, epoch: e, batch: b, loss: st.loss, nonFinite: st.nonFinite)
        if st.nonFinite != nil { return out }
        if let done = schedule.record(loss: st.loss, weight: Double(B), correct: Int((st.accuracy * Double(B)).rounded()), size: B) {
            let rate = clock.rate(seen: done.seen)
            let loss = done.lossSum / max(done.weight, 1), acc = Double(done.correct) / Double(max(done.seen, 1))
            let test = testAccuracy(core.params)
            history.append(EpochRecord(epoch: e, trainLoss: loss, trainAccuracy: acc, testAccuracy: test))
            out.epochDone = EpochStats(epoch: e, loss: loss, accuracy: acc, testAccuracy: test, examplesPerSecond: rate)
        }
        return out
    }

    func checkpoint() -> Checkpoint {
        let o = core.optimizer.checkpointState(like: core.params)
        let run = SavedRun(config: config, data: identity, cursor: schedule.cursor, history: history)
        return Checkpoint(model: config.task, config: run.json, step: schedule.step, tensors: core.params.namedTensors(),
                          optimizerKind: o.kind, optimizerStep: o.step, optimizerState1: o.s1, optimizerState2: o.s2,
                          rngs: [("data", schedule.anchor), ("dropout", dropoutRNG)])
    }

    func restore(_ c: Checkpoint, _ run: SavedRun<SequenceTaskConfig>, _ source: String) throws {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        guard (try? e.encode(run.config)) == (try? e.encode(config)) else { throw BPTTError.input("\(source): the checkpoint's configuration differs from this run's") }
        var p = core.params
        try p.load(c.tensors, source: source)
        let o = try Optimizer<Params>(config.optimizer, restoring: c, like: p, source: source)
        guard let anchor = c.rng("data"), let dropout = c.rng("dropout") else {
            throw BPTTError.input("\(source): the checkpoint has no data/dropout random streams")
        }
        var s = schedule
        try s.restore(run.cursor, anchor: anchor, source: source)
        guard s.step == c.step else { throw BPTTError.input("\(source): step \(c.step) does not match the epoch position") }
        core.params = p
        core.optimizer = o
        core.step = c.step
        schedule = s
        dropoutRNG = dropout
        history = run.history
        clock.reset(seen: run.cursor.seen)
    }

    var engine: SequenceTaskEngine {
        SequenceTaskEngine(step: { self.schedule.step }, epoch: { self.schedule.cursor.epoch }, batchesPerEpoch: schedule.batchesPerEpoch,
                           parameterCount: core.params.parameterCount, history: { self.history },
                           trainStep: { self.trainStep() }, checkpoint: { self.checkpoint() },
                           restore: { try self.restore($0, $1, $2) },
                           testPredictions: { self.testPredictions(self.core.params) }, testLabels: testLabels)
    }
}

/// How an image becomes a sequence: one row of W pixels per step (image rows), or one pixel per
/// step in a fixed order (sequential and permuted pixels, `derivations/long-memory.md`).
enum ImageSequenceLayout {
    case rows
    case pixels(order: [Int])
}

/// Image classification from the last state of a recurrent stack, for either layout.
struct ImageSequenceMaker: CellVisitor {
    typealias Real = Float
    let c: SequenceTaskConfig, data: ImageData, identity: DataIdentity, layout: ImageSequenceLayout
    func visit<C: RecurrentCell>(_ make: @escaping (Int) -> C) throws -> SequenceTaskEngine where C.Real == Float {
        typealias Model = SequenceClassifier<C>
        let (H, W) = (data.height, data.width)
        let (steps, inputSize): (Int, Int)
        switch layout {
        case .rows: (steps, inputSize) = (H, W)
        case .pixels: (steps, inputSize) = (H * W, 1)
        }
        let model = Model(stack: RecurrentStack(layers: c.layers, bidirectional: c.bidirectional, inputSize: inputSize,
                                                hiddenSize: c.hidden, make: make), classes: data.classes)
        var rng = RNG(seed: c.seed)
        var params = model.initialParameters(c.initializer, rng: &rng)
        initialStackParameters(model.stack, &params.stack, c.recurrentInit, chronoTMax: c.chronoTMax ?? steps, seed: c.seed)
        let core = ShardedStep(params: params, optimizer: c.optimizer,
                               shards: c.shards, threads: c.threads, clip: c.clip, workspace: Model.Workspace())
        let dataRNG = rng.split(), dropoutRNG = rng.split()
        let (data, layout) = (self.data, self.layout)
        func sequences(_ set: ImageDataset, _ idx: ArraySlice<Int>, _ xs: inout [Matrix<Float>], _ flat: inout Matrix<Float>) {
            set.gather(idx, into: &flat)
            switch layout {
            case .rows:   // rows as time steps: xs[t][b, w] = image_b[t, w]
                resize(&xs, count: H, rows: idx.count, cols: W)
                for t in 0..<H { for b in 0..<idx.count { for w in 0..<W { xs[t][b, w] = flat[b, t * W + w] } } }
            case .pixels(let order):
                PixelSequence.sequences(flat, order: order, into: &xs)                          // (long-memory.pixels)
            }
        }
        var xs: [Matrix<Float>] = [], flat = Matrix<Float>(rows: 0, cols: 0)
        let e = EpochEngine(
            config: c, identity: identity, core: core,
            schedule: EpochSchedule(count: data.train.count, batch: c.batch, shuffle: .cumulative, rng: dataRNG),
            dropoutRNG: dropoutRNG,
            runBatch: { idx, core, _ in
                sequences(data.train, idx, &xs, &flat)
                let targets = idx.map { data.train.labels[$0] }
                let B = idx.count, batchXs = xs, scale = 1 / Double(B)
                let st = core.run(batch: B, dropoutSeeds: nil) { _, l, h, p, ws, g, drop in
                    model.lossAndGradient(batchXs.map { rowsSlice($0, l, h) }, targets: [Array(targets[l..<h])], p,
                                          lossScale: scale, workspace: &ws, grads: &g, dropoutRNG: &drop)
                }
                return (st, B)
            },
            testLabels: data.test.labels,
            testPredictions: { params in
                var ws = Model.Workspace(), lo = 0, predicted: [Int] = []
                var xs: [Matrix<Float>] = [], flat = Matrix<Float>(rows: 0, cols: 0)
                let all = Array(0..<data.test.count)
                while lo < all.count {
                    let hi = min(lo + 256, all.count)
                    sequences(data.test, all[lo..<hi], &xs, &flat)
                    model.forward(xs, targets: [all[lo..<hi].map { data.test.labels[$0] }], params, workspace: &ws)
                    predicted += ws.logits[0].rowArgmax()   // as the loss counts `correct`
                    lo = hi
                }
                return predicted
            })
        return e.engine
    }
}

struct SentimentMaker: CellVisitor {
    typealias Real = Float
    let c: SequenceTaskConfig, text: EncodedText, vectors: Matrix<Float>?, identity: DataIdentity
    func visit<C: RecurrentCell>(_ make: @escaping (Int) -> C) throws -> SequenceTaskEngine where C.Real == Float {
        typealias Model = SentimentClassifier<C>
        let E = vectors?.cols ?? c.embeddingDim
        let model = Model(vocabularySize: text.vocabulary.count, embeddingDim: E, dropout: c.dropout,
                          stack: RecurrentStack(layers: c.layers, bidirectional: c.bidirectional, inputSize: E,
                                                hiddenSize: c.hidden, make: make))
        var rng = RNG(seed: c.seed)
        let core = ShardedStep(params: model.initialParameters(c.initializer, rng: &rng, vectors: vectors), optimizer: c.optimizer,
                               shards: c.shards, threads: c.threads, clip: c.clip, workspace: Model.Workspace())
        let dataRNG = rng.split(), dropoutRNG = rng.split()
        // sort-by-length buckets: fixed batches of similar lengths, their order shuffled each epoch
        let batchSize = c.batch
        func buckets(_ seqs: [[Int]]) -> [[Int]] {
            let sorted = seqs.indices.sorted { (seqs[$0].count, $0) < (seqs[$1].count, $1) }
            return stride(from: 0, to: sorted.count, by: batchSize).map { Array(sorted[$0..<min($0 + batchSize, sorted.count)]) }
        }
        func batch(_ idx: [Int], _ seqs: [[Int]], _ labels: [Int]) -> TokenBatch {
            TokenBatch.padded(idx.map { seqs[$0] }, labels: idx.map { labels[$0] })
        }
        let text = self.text
        let trainBuckets = buckets(text.train)
        let testBuckets = buckets(text.test)
        let testBatches = testBuckets.map { batch($0, text.test, text.testLabels) }
        let e = EpochEngine(
            config: c, identity: identity, core: core,
            schedule: EpochSchedule(count: trainBuckets.count, batch: 1, shuffle: .cumulative, rng: dataRNG),
            dropoutRNG: dropoutRNG,
            runBatch: { items, core, seeds in
                let tb = batch(trainBuckets[items.first!], text.train, text.trainLabels)
                let B = tb.size, scale = 1 / Double(B)
                let st = core.run(batch: B, dropoutSeeds: seeds) { _, l, h, p, ws, g, drop in
                    model.lossAndGradient(tb.rows(l, h), p, lossScale: scale, workspace: &ws, grads: &g, dropoutRNG: &drop)
                }
                return (st, B)
            },
            testLabels: text.testLabels,
            testPredictions: { params in
                var ws = Model.Workspace(), none: RNG? = nil
                var predicted = [Int](repeating: 0, count: text.test.count)
                for (idx, tb) in zip(testBuckets, testBatches) {
                    model.forward(tb, params, workspace: &ws, dropoutRNG: &none)
                    for (b, i) in idx.enumerated() { predicted[i] = ws.logits[b, 0] > 0 ? 1 : 0 }   // σ(z) > ½
                }
                return predicted
            })
        return e.engine
    }
}
