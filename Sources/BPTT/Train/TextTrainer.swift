import Foundation

/// A character-level language model's run (`bptt train --task text`), saved in checkpoints but
/// for the run length and the thread count.
public struct TextConfig: Sendable, Equatable, Codable {
    public var model = "lstm"                 // rnn | rnn-relu | lstm | gru | gru-cho
    public var layers = 2
    public var dropout = 0.0                  // between levels, training only
    public var forgetBiasOne = false
    public var embedding = 0                  // E > 0: an embedding of width E; 0: one-hot inputs
    public var hidden = 256
    public var length = 100                   // T: steps per chunk (truncated BPTT window)
    public var batch = 32                     // B: parallel streams
    public var optimizer = OptimizerConfig(kind: .adam, lr: 2e-3)
    public var clip: Double? = 5
    public var seed: UInt64 = 0
    public var initializer: Initializer = .pytorch
    /// none | step | cosine (`TextConfig.learningRate(at:)`).
    public var lrDecay = "none"
    /// step: multiply by `lrDecayFactor` every `lrDecayEvery` steps; cosine: reach 0 at step `lrDecayEvery`.
    public var lrDecayEvery = 0
    public var lrDecayFactor = 0.5
    public var validationFraction = 0.1
    /// The vocabulary (built from the training part), its symbols in order.
    public var vocabulary = ""
    public var shards = 2
    public var threads = 2
    public init() {}

    enum CodingKeys: String, CodingKey {
        case model, layers, dropout, forgetBiasOne, embedding, hidden, length, batch, optimizer, clip, seed, initializer
        case lrDecay, lrDecayEvery, lrDecayFactor, validationFraction, vocabulary, shards
    }

    public static let decays = ["none", "step", "cosine"]

    /// The learning rate of update number `step` (1-based), derived in `derivations/charlm.md`:
    /// step decay lr·γ^⌊(step−1)/N⌋ (charlm.lrstep); cosine ½·lr·(1 + cos(π·min(step−1, N)/N)) (charlm.lrcos).
    public func learningRate(at step: Int) -> Double {
        let lr = optimizer.lr, n = max(lrDecayEvery, 1), k = Double(max(step - 1, 0))
        switch lrDecay {
        case "step": return lr * pow(lrDecayFactor, (k / Double(n)).rounded(.down))                    // (charlm.lrstep)
        case "cosine": return 0.5 * lr * (1 + cos(Double.pi * min(k, Double(n)) / Double(n)))          // (charlm.lrcos)
        default: return lr
        }
    }
}

/// B parallel streams over a text, as char-rnn and Saito's `TimeLSTM` language model lay them
/// out: row b is the contiguous slice ids[b·L ..< (b+1)·L], L = ⌊N/B⌋, read in chunks of T steps;
/// chunk k gives inputs ids[b·L + kT + t] and targets ids[b·L + kT + t + 1], t = 0…T−1 (charlm.layout).
public struct CharStreams: Sendable {
    public let ids: [Int]
    public let rows: Int
    public let rowLength: Int
    public let length: Int

    /// Errors: a text too short for `rows` streams of `length` + 1 characters.
    public init(_ ids: [Int], rows: Int, length: Int, what: String) throws {
        self.ids = ids
        self.rows = rows
        self.length = length
        rowLength = ids.count / max(rows, 1)
        guard rowLength >= length + 1 else {
            throw BPTTError.input("\(what): \(ids.count) characters are too few for \(rows) streams of --length \(length) + 1 characters (\(rows * (length + 1)) needed; lower --batch or --length)")
        }
    }

    /// Full chunks of T steps per pass (the last T+1 characters of a row may be read by two chunks,
    /// each character predicted once).
    public var chunksPerEpoch: Int { (rowLength - 1) / length }

    /// Chunk k (0-based): inputs[t][b] and targets[t][b], t = 0…steps−1, where steps is T or what is left of the rows.
    public func chunk(_ k: Int, steps: Int? = nil) -> (inputs: [[Int]], targets: [[Int]]) {
        let start = k * length
        let n = steps ?? length
        require(start + n + 1 <= rowLength, "chunk \(k) runs past the rows")
        let inputs = (0..<n).map { t in (0..<rows).map { b in ids[b * rowLength + start + t] } }        // (charlm.layout)
        let targets = (0..<n).map { t in (0..<rows).map { b in ids[b * rowLength + start + t + 1] } }   // (charlm.layout)
        return (inputs, targets)
    }
}

/// A validation score: the mean over every predicted character of −ln p(next character), in
/// nats and in bits (nats / ln 2).
public struct TextEvaluation: Codable, Equatable, Sendable {
    public var step: Int
    public var epoch: Double               // epochs done, fractional
    public var trainNats: Double           // mean training loss since the previous evaluation
    public var validationNats: Double
    public var validationBits: Double { validationNats / log(2) }
    public var characters: Int             // characters scored
}

/// Where a text run stands, saved as the checkpoint's configuration (JSON, keys sorted).
public struct TextRun: Codable, Equatable {
    public var config: TextConfig
    public var data: DataIdentity
    public var epoch: Int          // complete passes
    public var chunk: Int          // chunks done in the current pass
    public var lossSum: Double     // training loss summed since the last evaluation
    public var lossCount: Int
    public var history: [TextEvaluation]

    public var json: String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return String(decoding: try! e.encode(self), as: UTF8.self)
    }

    /// The model name of text checkpoints.
    public static let model = "text"

    public static func decode(_ c: Checkpoint, source: String) throws -> TextRun {
        guard c.model == model else {
            throw BPTTError.input("\(source): holds a '\(c.model)' run, not a character-level text model ('\(model)')")
        }
        guard let r = try? JSONDecoder().decode(TextRun.self, from: Data(c.config.utf8)) else {
            throw BPTTError.input("\(source): the checkpoint's configuration is not a text-model configuration")
        }
        guard CellKind(rawValue: r.config.model) != nil, r.config.vocabulary.unicodeScalars.count >= 2 else {
            throw BPTTError.input("\(source): the checkpoint's model '\(r.config.model)' or its vocabulary is not usable")
        }
        return r
    }
}

/// One training step's figures.
public struct TextStepStats: Sendable {
    public var step: Int
    public var loss: Double            // mean nats per character of the chunk
    public var gradNorm: Double
    public var lr: Double
    public var epochDone: Bool         // this chunk ended a pass over the training text
    public var nonFinite: String?
}

/// Trains a `CharLM` (any cell, stacked, one-hot or embedded inputs) by stateful truncated BPTT
/// in Float32, the B streams split in shards across threads. Resumable between any two steps:
/// the checkpoint holds the parameters, the optimiser state, the carried states, the position
/// in the text and the dropout stream.
public final class TextTrainer {
    public let config: TextConfig
    public let corpus: CharCorpus
    public let streams: CharStreams
    private let engine: TextEngine

    public var step: Int { engine.step() }
    public var run: TextRun { engine.run() }
    public var parameterCount: Int { engine.parameterCount }
    public var chunksPerEpoch: Int { streams.chunksPerEpoch }
    public var history: [TextEvaluation] { run.history }

    /// A new run on `corpus` (its vocabulary is stored in the configuration).
    public init(_ config: TextConfig, corpus: CharCorpus, dataSpec: String) throws {
        guard let kind = CellKind(rawValue: config.model) else { throw BPTTError.usage("unknown model '\(config.model)'") }
        var c = config
        c.vocabulary = corpus.vocabulary.stored
        self.config = c
        self.corpus = corpus
        streams = try CharStreams(corpus.train, rows: c.batch, length: c.length, what: corpus.source + " (training part)")
        let identity = DataIdentity(spec: dataSpec, source: corpus.source, train: corpus.train.count, test: corpus.validation.count,
                                    shape: [corpus.vocabulary.count])
        engine = try kind.accept(TextEngineMaker(c: c, streams: streams, validation: corpus.validation, identity: identity),
                                 hidden: c.hidden, forgetBiasOne: c.forgetBiasOne)
    }

    /// One chunk: forward and backward on every shard from the carried states, summed
    /// gradients, clipping, the scheduled learning rate, the update; the final states are kept.
    public func trainStep() -> TextStepStats { engine.trainStep() }

    /// The validation score (`TextEvaluation` fields) of the current parameters.
    public func validate() -> (nats: Double, characters: Int) { engine.validate() }

    /// Appends an evaluation to the run's history (validation now, the mean training loss since the last one).
    @discardableResult
    public func evaluate() -> TextEvaluation { engine.evaluate() }

    public func sample(prime: [Int], count: Int, temperature: Double, topK: Int?, seed: UInt64) -> [Int] {
        engine.sample(prime, count, temperature, topK, seed)
    }

    /// ‖∂L/∂h_t‖ (Frobenius over the B rows) for t = 1…T of the top level, on the first chunk of
    /// the training text from the zero state, with the current parameters (no update): how far
    /// back inside a chunk the per-step losses' gradient reaches.
    public func gradientNorms() -> [Double] { engine.gradientNorms() }

    public func checkpoint() -> Checkpoint { engine.checkpoint() }

    /// Restores a checkpoint of this very run (configuration, data, tensors checked first).
    public func restore(_ c: Checkpoint, source: String) throws {
        let r = try TextRun.decode(c, source: source)
        var mine = config
        mine.threads = r.config.threads   // the thread count is not saved: it never changes the numbers
        guard r.config == mine else { throw BPTTError.input("\(source): the checkpoint's configuration differs from this run's") }
        try engine.restore(c, r, source)
    }
}

struct TextEngine {
    let step: () -> Int
    let run: () -> TextRun
    let parameterCount: Int
    let trainStep: () -> TextStepStats
    let validate: () -> (nats: Double, characters: Int)
    let evaluate: () -> TextEvaluation
    let sample: ([Int], Int, Double, Int?, UInt64) -> [Int]
    let gradientNorms: () -> [Double]
    let checkpoint: () -> Checkpoint
    let restore: (Checkpoint, TextRun, String) throws -> Void
}

struct TextEngineMaker: CellVisitor {
    typealias Real = Float
    let c: TextConfig, streams: CharStreams, validation: [Int], identity: DataIdentity
    func visit<C: RecurrentCell>(_ make: @escaping (Int) -> C) throws -> TextEngine where C.Real == Float {
        let e = TextEngineFor<C>(c, streams: streams, validation: validation, identity: identity, make: make)
        return TextEngine(step: { e.core.step }, run: { e.run }, parameterCount: e.core.params.parameterCount,
                          trainStep: { e.trainStep() }, validate: { e.validate() }, evaluate: { e.evaluate() },
                          sample: { e.sampler.sample(e.core.params, prime: $0, count: $1, temperature: $2, topK: $3, seed: $4) },
                          gradientNorms: { e.gradientNorms() },
                          checkpoint: { e.checkpoint() }, restore: { try e.restore($0, $1, $2) })
    }
}

/// One shard's carried state (a box per shard, so each thread writes only its own).
final class CarryBox<Real: Scalar> { var state: CarriedState<Real>? = nil }

/// Builds the model a text configuration describes.
func makeCharLM<C: RecurrentCell>(_ c: TextConfig, vocabulary V: Int, make: @escaping (Int) -> C) -> CharLM<C> {
    CharLM(vocabularySize: V, embeddingDim: c.embedding,
           stack: RecurrentStack(layers: c.layers, bidirectional: false, dropout: c.dropout,
                                 inputSize: c.embedding > 0 ? c.embedding : V, hiddenSize: c.hidden, make: make))
}

final class TextEngineFor<Cell: RecurrentCell> where Cell.Real == Float {
    typealias Model = CharLM<Cell>
    let config: TextConfig
    let model: Model
    let core: ShardedStep<Model.Parameters, Model.Workspace>
    let streams: CharStreams
    let validation: [Int]
    let identity: DataIdentity
    let carries: [CarryBox<Float>]
    let sampler: CharSampler<Cell>
    var dropoutRNG: RNG
    var epoch = 0, chunk = 0, lossSum = 0.0, lossCount = 0
    var history: [TextEvaluation] = []

    init(_ c: TextConfig, streams: CharStreams, validation: [Int], identity: DataIdentity, make: @escaping (Int) -> Cell) {
        config = c
        model = makeCharLM(c, vocabulary: c.vocabulary.unicodeScalars.count, make: make)
        var rng = RNG(seed: c.seed)
        let params = model.initialParameters(c.initializer, rng: &rng)
        dropoutRNG = rng.split()
        let shards = max(1, min(c.shards, c.batch))
        core = ShardedStep(params: params, optimizer: c.optimizer, shards: shards, threads: c.threads, clip: c.clip, workspace: Model.Workspace())
        carries = (0..<shards).map { _ in CarryBox<Float>() }
        self.streams = streams
        self.validation = validation
        self.identity = identity
        sampler = CharSampler(model: model)
    }

    var run: TextRun {
        TextRun(config: config, data: identity, epoch: epoch, chunk: chunk, lossSum: lossSum, lossCount: lossCount, history: history)
    }

    func trainStep() -> TextStepStats {
        let (inputs, targets) = streams.chunk(chunk)
        let steps = inputs.count, B = config.batch
        let seeds: [UInt64]? = config.dropout > 0 && config.layers > 1 ? (0..<core.shards).map { _ in dropoutRNG.next() } : nil
        let model = self.model, carries = self.carries
        let lossScale = 1 / Double(steps * B)                                           // (charlm.loss) (charlm.dp)
        core.optimizer.config.lr = config.learningRate(at: core.step + 1)              // (charlm.lrstep) (charlm.lrcos)
        let st = core.run(batch: B, dropoutSeeds: seeds) { s, lo, hi, p, ws, g, drop in
            let box = carries[s]
            let r = model.lossAndGradient(inputs: inputs.map { Array($0[lo..<hi]) }, targets: targets.map { Array($0[lo..<hi]) },
                                          from: box.state, p, lossScale: lossScale, workspace: &ws, grads: &g, dropoutRNG: &drop)
            box.state = model.finalState(ws)                                            // (charlm.carry)
            // ShardedStep divides by B: the step's loss is then the mean over T·B characters
            return (r.lossSum / Double(steps), 0)
        }
        var out = TextStepStats(step: st.step, loss: st.loss, gradNorm: st.gradNorm, lr: core.optimizer.config.lr, epochDone: false,
                                nonFinite: st.nonFinite)
        if st.nonFinite != nil { return out }
        lossSum += st.loss
        lossCount += 1
        chunk += 1
        if chunk == streams.chunksPerEpoch {
            // a new pass starts every stream at its beginning, from the zero state
            chunk = 0
            epoch += 1
            for b in carries { b.state = nil }
            out.epochDone = true
        }
        return out
    }

    /// Stateful over the validation text: min(B, ⌊N/(T+1)⌋) rows, every character after a row's
    /// first predicted once, chunks of T steps (the last one shorter), one thread.
    func validate() -> (nats: Double, characters: Int) {
        let rows = max(1, min(config.batch, validation.count / (config.length + 1)))
        guard let s = try? CharStreams(validation, rows: rows, length: 1, what: "validation") else { return (.nan, 0) }
        var ws = Model.Workspace()
        var state: CarriedState<Float>? = nil
        var total = 0.0, n = 0, start = 0
        while start < s.rowLength - 1 {
            let steps = min(config.length, s.rowLength - 1 - start)
            let inputs = (0..<steps).map { t in (0..<rows).map { b in s.ids[b * s.rowLength + start + t] } }
            let targets = (0..<steps).map { t in (0..<rows).map { b in s.ids[b * s.rowLength + start + t + 1] } }
            total += model.forward(inputs: inputs, targets: targets, from: state, core.params, workspace: &ws).lossSum
            state = model.finalState(ws)
            n += steps * rows
            start += steps
        }
        return (total / Double(max(n, 1)), n)
    }

    func gradientNorms() -> [Double] {
        let (inputs, targets) = streams.chunk(0)
        var ws = Model.Workspace()
        var g = core.params.zeros()
        var none: RNG? = nil
        let top = model.stack.cells.count - 1
        model.forward(inputs: inputs, targets: targets, from: nil, core.params, workspace: &ws)   // creates the caches
        ws.net.stack.caches[top].recordGradientNorms = true
        model.lossAndGradient(inputs: inputs, targets: targets, from: nil, core.params, lossScale: 1 / Double(inputs.count * config.batch),
                              workspace: &ws, grads: &g, dropoutRNG: &none)
        return ws.net.stack.caches[top].dhNorms
    }

    func evaluate() -> TextEvaluation {
        let v = validate()
        let e = TextEvaluation(step: core.step, epoch: Double(epoch) + Double(chunk) / Double(streams.chunksPerEpoch),
                               trainNats: lossCount > 0 ? lossSum / Double(lossCount) : .nan, validationNats: v.nats, characters: v.characters)
        history.append(e)
        lossSum = 0
        lossCount = 0
        return e
    }

    func checkpoint() -> Checkpoint {
        let o = core.optimizer.checkpointState(like: core.params)
        var tensors = core.params.namedTensors()
        // the carried states, all shards' rows stacked (B × H per unit and part)
        if carries.allSatisfy({ $0.state != nil }) {
            let parts = carries.map { $0.state!.named(prefix: "carry.") }
            for (k, (name, _)) in parts[0].enumerated() {
                let blocks = parts.map { $0[k].1 }
                var m = Matrix<Float>(rows: blocks.reduce(0) { $0 + $1.rows }, cols: blocks[0].cols)
                var r = 0
                for blk in blocks { for i in 0..<blk.rows { copyRow(blk, i, into: &m, r); r += 1 } }
                tensors.append(.init(name, m))
            }
        }
        return Checkpoint(model: TextRun.model, config: run.json, step: core.step, tensors: tensors,
                          optimizerKind: o.kind, optimizerStep: o.step, optimizerState1: o.s1, optimizerState2: o.s2,
                          rngs: [("dropout", dropoutRNG)])
    }

    func restore(_ c: Checkpoint, _ r: TextRun, _ source: String) throws {
        guard r.data.source == identity.source, r.data.train == identity.train, r.data.test == identity.test, r.data.shape == identity.shape else {
            throw BPTTError.input("\(source): saved for data \(r.data.description), but the data now is \(identity.description)")
        }
        guard r.chunk >= 0, r.chunk < streams.chunksPerEpoch, r.epoch >= 0 else {
            throw BPTTError.input("\(source): position \(r.epoch).\(r.chunk) does not fit \(streams.chunksPerEpoch) chunks per pass")
        }
        var p = core.params
        try p.load(c.tensors.filter { !$0.name.hasPrefix("carry.") }, source: source)
        let o = try Optimizer<Model.Parameters>(config.optimizer, restoring: c, like: p, source: source)
        guard let dropout = c.rng("dropout") else { throw BPTTError.input("\(source): the checkpoint has no dropout random stream") }
        // carried states: all or none
        let units = model.stack.cells.count, H = config.hidden, B = config.batch
        let names = CarriedState<Float>.zeros(units: units, batch: 1, hidden: 1, cell: model.stack.hasCellState).named(prefix: "carry.").map(\.0)
        let saved = Dictionary(c.tensors.filter { $0.name.hasPrefix("carry.") }.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
        var states: [CarriedState<Float>?] = Array(repeating: nil, count: carries.count)
        if !saved.isEmpty {
            guard Set(saved.keys) == Set(names), saved.values.allSatisfy({ $0.rows == B && $0.cols == H }) else {
                throw BPTTError.input("\(source): the carried states are not \(names.count) tensors of \(B)x\(H)")
            }
            let whole = CarriedState(h: (0..<units).map { saved["carry.h_u\($0)"]! },
                                     c: model.stack.hasCellState ? (0..<units).map { saved["carry.c_u\($0)"]! } : nil)
            let shards = carries.count
            for s in 0..<shards { states[s] = whole.rows(s * B / shards, (s + 1) * B / shards) }
        } else if r.chunk > 0 {
            throw BPTTError.input("\(source): a checkpoint taken inside a pass must hold the carried states")
        }
        core.params = p
        core.optimizer = o
        core.step = c.step
        dropoutRNG = dropout
        for (b, s) in zip(carries, states) { b.state = s }
        epoch = r.epoch
        chunk = r.chunk
        lossSum = r.lossSum
        lossCount = r.lossCount
        history = r.history
    }
}

/// Sampling from a trained `CharLM`: the prime is read from the zero state, then one symbol at
/// a time is drawn from softmax(p/τ) (τ = 0: the arg-max; `topK`: only the K most likely).
struct CharSampler<Cell: RecurrentCell> where Cell.Real == Float {
    let model: CharLM<Cell>

    func sample(_ p: CharLM<Cell>.Parameters, prime: [Int], count: Int, temperature: Double, topK: Int?, seed: UInt64) -> [Int] {
        require(!prime.isEmpty, "sample: an empty prime")
        var rng = RNG(seed: seed)
        var ws = CharLM<Cell>.Workspace()
        model.forward(inputs: prime.map { [$0] }, targets: prime.map { _ in [0] }, from: nil, p, workspace: &ws)
        var state = model.finalState(ws)
        var out: [Int] = []
        out.reserveCapacity(count)
        let V = model.vocabularySize
        var logits = [Double](repeating: 0, count: V)
        for _ in 0..<count {
            let last = ws.net.logits[ws.net.logits.count - 1]
            for k in 0..<V { logits[k] = Double(last[0, k]) }
            let next = Self.draw(logits, temperature: temperature, topK: topK, rng: &rng)
            out.append(next)
            model.forward(inputs: [[next]], targets: [[0]], from: state, p, workspace: &ws)
            state = model.finalState(ws)
        }
        return out
    }

    /// One draw from softmax(logits/τ) restricted to the `topK` largest (ties: the lower id first).
    static func draw(_ logits: [Double], temperature: Double, topK: Int?, rng: inout RNG) -> Int {
        let order = logits.indices.sorted { (logits[$0], -$0) > (logits[$1], -$1) }
        if temperature == 0 { return order[0] }
        let keep = Array(order.prefix(min(topK ?? logits.count, logits.count)))
        let top = logits[keep[0]]
        let w = keep.map { exp((logits[$0] - top) / temperature) }
        var u = rng.uniform() * w.reduce(0, +)
        for (i, k) in keep.enumerated() {
            u -= w[i]
            if u < 0 { return k }
        }
        return keep[keep.count - 1]
    }
}

/// Generation from a saved text model, without its training data (`bptt generate`).
public struct TextGenerator {
    public let run: TextRun
    public let vocabulary: CharVocabulary
    private let draw: ([Int], Int, Double, Int?, UInt64) -> [Int]

    /// Reads the model a text checkpoint holds (tensors checked by name and shape).
    public init(_ c: Checkpoint, source: String) throws {
        run = try TextRun.decode(c, source: source)
        vocabulary = CharVocabulary(stored: run.config.vocabulary)
        let kind = CellKind(rawValue: run.config.model)!
        draw = try kind.accept(Maker(c: run.config, checkpoint: c, source: source), hidden: run.config.hidden, forgetBiasOne: run.config.forgetBiasOne)
    }

    struct Maker: CellVisitor {
        typealias Real = Float
        let c: TextConfig, checkpoint: Checkpoint, source: String
        func visit<C: RecurrentCell>(_ make: @escaping (Int) -> C) throws -> ([Int], Int, Double, Int?, UInt64) -> [Int] where C.Real == Float {
            let model = makeCharLM(c, vocabulary: c.vocabulary.unicodeScalars.count, make: make)
            var rng = RNG(seed: 0)
            var p = model.initialParameters(c.initializer, rng: &rng)
            try p.load(checkpoint.tensors.filter { !$0.name.hasPrefix("carry.") }, source: source)
            let s = CharSampler(model: model), params = p
            return { s.sample(params, prime: $0, count: $1, temperature: $2, topK: $3, seed: $4) }
        }
    }

    /// `count` symbols after `prime` (ids of this vocabulary).
    public func sample(prime: [Int], count: Int, temperature: Double, topK: Int?, seed: UInt64) -> [Int] {
        draw(prime, count, temperature, topK, seed)
    }
}
