import Foundation

/// Epoch-based sequence tasks on real data: images read row by row (seed 004) and text
/// sentiment with embeddings and variable-length batches (seed 002). Both use `ShardedStep`.
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
    // sentiment
    public var embeddingDim = 100
    public var dropout = 0.5
    public var vocabularySize = 25_000
    public var maxLength = 400
    public init() {}
}

/// One epoch's numbers.
public struct SequenceEpochStats: Sendable {
    public var epoch: Int
    public var trainLoss: Double
    public var trainAccuracy: Double
    public var testAccuracy: Double
    public var examplesPerSecond: Double
    public var seconds: Double
    /// Set when training stopped on a NaN/∞ (what broke).
    public var nonFinite: String? = nil
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

/// Runs a whole task: `onEpoch` is called after every epoch (return false to stop).
public enum SequenceTaskRunner {
    /// seed 004: each image is H steps of W pixels, classified from the last state.
    public static func imageRows(_ c: SequenceTaskConfig, data: ImageData, onEpoch: @escaping (SequenceEpochStats) -> Bool) throws -> Int {
        guard let kind = CellKind(rawValue: c.model) else { throw BPTTError.usage("unknown model '\(c.model)'") }
        return try kind.accept(ImageRowsMaker(c: c, data: data, onEpoch: onEpoch), hidden: c.hidden)
    }

    /// seed 002: embedding, dropout, masked stack, dense logit, BCE with logits.
    public static func sentiment(_ c: SequenceTaskConfig, text: EncodedText, vectors: Matrix<Float>?,
                                 onEpoch: @escaping (SequenceEpochStats) -> Bool) throws -> Int {
        guard let kind = CellKind(rawValue: c.model) else { throw BPTTError.usage("unknown model '\(c.model)'") }
        return try kind.accept(SentimentMaker(c: c, text: text, vectors: vectors, onEpoch: onEpoch), hidden: c.hidden)
    }

    struct ImageRowsMaker: CellVisitor {
        typealias T = Float
        let c: SequenceTaskConfig, data: ImageData, onEpoch: (SequenceEpochStats) -> Bool
        func visit<C: RecurrentCell>(_ make: @escaping (Int) -> C) throws -> Int where C.T == Float {
            typealias Model = SequenceClassifier<C>
            let (H, W) = (data.height, data.width)
            let model = Model(stack: RecurrentStack(layers: c.layers, bidirectional: c.bidirectional, inputSize: W,
                                                    hiddenSize: c.hidden, make: make), classes: data.classes)
            var rng = RNG(seed: c.seed)
            let core = ShardedStep(params: model.initialParameters(c.initializer, rng: &rng), optimizer: c.optimizer,
                                   shards: c.shards, threads: c.threads, clip: c.clip, workspace: Model.Workspace())
            var dataRNG = rng.split()
            // rows as time steps: xs[t][b, w] = image_b[t, w]
            func sequences(_ set: ImageDataset, _ idx: ArraySlice<Int>, _ xs: inout [Matrix<Float>], _ flat: inout Matrix<Float>) {
                set.gather(idx, into: &flat)
                resize(&xs, count: H, rows: idx.count, cols: W)
                for t in 0..<H { for b in 0..<idx.count { for w in 0..<W { xs[t][b, w] = flat[b, t * W + w] } } }
            }
            var xs: [Matrix<Float>] = [], flat = Matrix<Float>(rows: 0, cols: 0)
            var order = Array(0..<data.train.count)
            for epoch in 1...max(1, c.epochs) {
                let start = Date()
                dataRNG.shuffle(&order)
                var lossSum = 0.0, correct = 0, seen = 0
                var lo = 0
                while lo < order.count {
                    let hi = min(lo + c.batch, order.count)
                    let idx = order[lo..<hi]
                    sequences(data.train, idx, &xs, &flat)
                    let targets = idx.map { data.train.labels[$0] }
                    let B = hi - lo, batchXs = xs, scale = 1 / Double(B)
                    let st = core.run(batch: B, dropoutSeeds: nil) { _, l, h, p, ws, g, drop in
                        model.lossAndGradient(batchXs.map { rowsSlice($0, l, h) }, targets: [Array(targets[l..<h])], p,
                                              lossScale: scale, workspace: &ws, grads: &g, dropoutRNG: &drop)
                    }
                    if let bad = st.nonFinite { _ = onEpoch(SequenceEpochStats(epoch: epoch, trainLoss: .nan, trainAccuracy: .nan, testAccuracy: .nan, examplesPerSecond: 0, seconds: 0, nonFinite: bad)); return epoch }
                    lossSum += st.loss * Double(B); correct += Int((st.accuracy * Double(B)).rounded()); seen += B
                    lo = hi
                }
                let seconds = Date().timeIntervalSince(start)
                // test accuracy
                var ws = Model.Workspace(), right = 0, tlo = 0
                let all = Array(0..<data.test.count)
                while tlo < all.count {
                    let thi = min(tlo + 256, all.count)
                    sequences(data.test, all[tlo..<thi], &xs, &flat)
                    right += model.forward(xs, targets: [all[tlo..<thi].map { data.test.labels[$0] }], core.params, workspace: &ws).correct
                    tlo = thi
                }
                let s = SequenceEpochStats(epoch: epoch, trainLoss: lossSum / Double(seen), trainAccuracy: Double(correct) / Double(seen),
                                   testAccuracy: Double(right) / Double(max(1, all.count)),
                                   examplesPerSecond: Double(seen) / max(seconds, 1e-9), seconds: seconds)
                if !onEpoch(s) { return epoch }
            }
            return c.epochs
        }
    }

    struct SentimentMaker: CellVisitor {
        typealias T = Float
        let c: SequenceTaskConfig, text: EncodedText, vectors: Matrix<Float>?, onEpoch: (SequenceEpochStats) -> Bool
        func visit<C: RecurrentCell>(_ make: @escaping (Int) -> C) throws -> Int where C.T == Float {
            typealias Model = SentimentClassifier<C>
            let E = vectors?.cols ?? c.embeddingDim
            let model = Model(vocabularySize: text.vocabulary.count, embeddingDim: E, dropout: c.dropout,
                              stack: RecurrentStack(layers: c.layers, bidirectional: c.bidirectional, inputSize: E,
                                                    hiddenSize: c.hidden, make: make))
            var rng = RNG(seed: c.seed)
            let core = ShardedStep(params: model.initialParameters(c.initializer, rng: &rng, vectors: vectors), optimizer: c.optimizer,
                                   shards: c.shards, threads: c.threads, clip: c.clip, workspace: Model.Workspace())
            var dataRNG = rng.split(), dropoutRNG = rng.split()
            // sort-by-length buckets: fixed batches of similar lengths, their order shuffled each epoch
            func buckets(_ seqs: [[Int]]) -> [[Int]] {
                let sorted = seqs.indices.sorted { (seqs[$0].count, $0) < (seqs[$1].count, $1) }
                return stride(from: 0, to: sorted.count, by: c.batch).map { Array(sorted[$0..<min($0 + c.batch, sorted.count)]) }
            }
            func batch(_ idx: [Int], _ seqs: [[Int]], _ labels: [Int]) -> TokenBatch {
                TokenBatch.padded(idx.map { seqs[$0] }, labels: idx.map { labels[$0] })
            }
            var trainBuckets = buckets(text.train)
            let testBatches = buckets(text.test).map { batch($0, text.test, text.testLabels) }
            for epoch in 1...max(1, c.epochs) {
                let start = Date()
                dataRNG.shuffle(&trainBuckets)
                var lossSum = 0.0, correct = 0, seen = 0
                for idx in trainBuckets {
                    let tb = batch(idx, text.train, text.trainLabels)
                    let B = tb.size, scale = 1 / Double(B)
                    let seeds: [UInt64]? = c.dropout > 0 ? (0..<core.shards).map { _ in dropoutRNG.next() } : nil
                    let st = core.run(batch: B, dropoutSeeds: seeds) { _, l, h, p, ws, g, drop in
                        model.lossAndGradient(tb.rows(l, h), p, lossScale: scale, workspace: &ws, grads: &g, dropoutRNG: &drop)
                    }
                    if let bad = st.nonFinite { _ = onEpoch(SequenceEpochStats(epoch: epoch, trainLoss: .nan, trainAccuracy: .nan, testAccuracy: .nan, examplesPerSecond: 0, seconds: 0, nonFinite: bad)); return epoch }
                    lossSum += st.loss * Double(B); correct += Int((st.accuracy * Double(B)).rounded()); seen += B
                }
                let seconds = Date().timeIntervalSince(start)
                var ws = Model.Workspace(), right = 0, none: RNG? = nil
                for tb in testBatches { right += model.forward(tb, core.params, workspace: &ws, dropoutRNG: &none).correct }
                let s = SequenceEpochStats(epoch: epoch, trainLoss: lossSum / Double(seen), trainAccuracy: Double(correct) / Double(seen),
                                   testAccuracy: Double(right) / Double(max(1, text.test.count)),
                                   examplesPerSecond: Double(seen) / max(seconds, 1e-9), seconds: seconds)
                if !onEpoch(s) { return epoch }
            }
            return c.epochs
        }
    }
}
