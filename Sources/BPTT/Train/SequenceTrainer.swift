import Foundation

/// Everything a palindrome training run needs, as given on the command line.
public struct TrainConfig: Sendable, Equatable, Codable {
    public var model: String = "rnn"          // rnn | rnn-relu | lstm | gru | gru-cho
    public var layers: Int = 1                // stacked levels
    public var bidirectional = false
    public var dropout: Double = 0            // between levels (training only)
    public var forgetBiasOne = false          // LSTM: b_f initialised to 1
    public var task: String = "palindrome"
    public var length: Int = 10               // T: digits seen
    public var steps: Int = 10_000
    public var batch: Int = 128
    public var hidden: Int = 128
    public var optimizer = OptimizerConfig(kind: .rmsprop, lr: 1e-3)
    public var clip: Double? = 10             // max global gradient norm; nil = no clipping
    public var seed: UInt64 = 0
    public var initializer: Initializer = .pytorch
    public var truncation: Int = 0            // k > 0: truncated BPTT to k steps
    /// identity | orthogonal | chrono applied after `initializer` (nil: none; not written to JSON then).
    public var recurrentInit: RecurrentInit? = nil
    /// chrono: T_max (nil: the sequence length).
    public var chronoTMax: Int? = nil
    /// The batch is split into this many shards, run on up to that many threads; gradients are
    /// summed in shard order, so the numbers do not depend on the thread count.
    public var shards: Int = 2
    public var threads: Int = 2
    public var evalSize: Int = 1000
    public init() {}
}

/// Statistics of one optimisation step.
public struct StepStats: Sendable {
    public var step: Int            // 1-based
    public var loss: Double         // mean over the batch
    public var accuracy: Double
    public var gradNorm: Double     // before clipping
    /// Set when the loss or a gradient was NaN or ±∞: what went non-finite first ("loss", or a
    /// gradient's tensor name). The update was then skipped, so the parameters are the last good ones.
    public var nonFinite: String? = nil
    public init(step: Int, loss: Double, accuracy: Double, gradNorm: Double, nonFinite: String? = nil) {
        self.step = step
        self.loss = loss
        self.accuracy = accuracy
        self.gradNorm = gradNorm
        self.nonFinite = nonFinite
    }
}

/// Trains a sequence classifier (any cell, stacked or bidirectional) on palindromes in Float32,
/// the batch split across both cores. The concrete cell is chosen here, inside the library, so
/// the generic code is specialised (a generic called from another module runs unspecialised).
public final class PalindromeTrainer {
    public let config: TrainConfig
    private let engine: PalindromeEngine
    /// Digits seen per example; the curriculum changes it between steps.
    public var length: Int

    public static let models = CellKind.names

    public init(_ config: TrainConfig) throws {
        guard let kind = CellKind(rawValue: config.model) else {
            throw BPTTError.usage("unknown model '\(config.model)' (expected one of: \(Self.models.joined(separator: ", ")))")
        }
        guard config.task == "palindrome" else { throw BPTTError.usage("unknown task '\(config.task)' (expected: palindrome)") }
        if let r = config.recurrentInit, !r.cells.contains(config.model) {
            throw BPTTError.usage("--init \(r.rawValue) applies to \(r.cells.joined(separator: ", ")), not \(config.model)")
        }
        if config.forgetBiasOne && config.recurrentInit == .chrono { throw BPTTError.usage("--forget-bias-one and --init chrono both set b_f; give one") }
        try MemoryLimit.checkRecurrentRun(model: config.model, layers: config.layers, bidirectional: config.bidirectional, input: Palindrome.inputSize,
                                          hidden: config.hidden, batch: config.batch, length: config.length)
        self.config = config
        self.length = config.length
        engine = try kind.accept(EngineMaker(config: config), hidden: config.hidden, forgetBiasOne: config.forgetBiasOne)
    }

    /// Trains a cell of your own on palindromes, exactly as `--model` trains the library's: a
    /// stack of `config.layers` levels of `make(inputWidth)` cells (each `config.hidden` units
    /// wide; level 0 reads `Palindrome.inputSize`), a softmax readout of h_T, Float32, the batch
    /// split in shards. `config.model` is only the name written into checkpoints.
    /// Errors: `BPTTError.usage` for a task other than palindrome.
    public init<C: RecurrentCell>(_ config: TrainConfig, cell make: @escaping (_ inputSize: Int) -> C) throws where C.Real == Float {
        guard config.task == "palindrome" else { throw BPTTError.usage("unknown task '\(config.task)' (expected: palindrome)") }
        self.config = config
        self.length = config.length
        engine = try EngineMaker(config: config).visit(make)
    }

    public var step: Int { engine.step() }
    public var parameterCount: Int { engine.parameterCount }
    public var parameterNames: [String] { engine.parameterNames }

    /// One step: a fresh batch, forward and backward on every shard, summed gradients,
    /// clipping, optimiser update.
    @discardableResult
    public func trainStep() -> StepStats { engine.trainStep(length) }

    /// `config.steps` training steps from where the run stands, then `evaluate()`: accuracy and
    /// mean loss on `config.evalSize` fresh palindromes.
    public func trainAndEvaluate() -> (accuracy: Double, loss: Double) {
        for _ in 0..<config.steps { trainStep() }
        return evaluate()
    }

    /// Accuracy and mean loss on `count` fresh palindromes from a stream independent of training.
    public func evaluate(count: Int? = nil, seed: UInt64? = nil) -> (accuracy: Double, loss: Double) {
        engine.evaluate(length, count ?? config.evalSize, seed ?? (config.seed ^ 0xE7A1_5EED))
    }

    /// ‖∂L/∂h_t‖ for t = 1…T of the top level's forward unit, on one fixed batch (no update).
    public func gradientNorms(batch: Int = 128, seed: UInt64 = 0x6F10) -> [Double] {
        engine.gradientNorms(length, batch, seed)
    }

    /// The whole run's state: configuration, parameters, optimiser state, RNG streams, step.
    public func checkpoint() -> Checkpoint { engine.checkpoint() }

    /// Restores a checkpoint of this very model (names and shapes checked before anything changes).
    public func restore(_ c: Checkpoint, source: String) throws { try engine.restore(c, source) }

    /// Continues a run from a checkpoint written by `checkpoint()`, using the checkpoint's
    /// configuration (steps aside; `adjust` may change what does not alter the training numbers,
    /// such as threads or the evaluation size). Refuses, changing nothing, a checkpoint of another model.
    public convenience init(resuming c: Checkpoint, steps: Int, source: String, adjust: (inout TrainConfig) -> Void = { _ in }) throws {
        guard CellKind(rawValue: c.model) != nil else {
            throw BPTTError.input("\(source): holds a '\(c.model)' run; train --task palindrome resumes checkpoints of \(PalindromeTrainer.models.joined(separator: ", "))")
        }
        guard let data = c.config.data(using: .utf8),
              var config = try? JSONDecoder().decode(TrainConfig.self, from: data) else {
            throw BPTTError.input("\(source): the checkpoint's configuration is not a sequence-training configuration")
        }
        guard config.model == c.model else { throw BPTTError.input("\(source): model '\(c.model)' but configuration for '\(config.model)'") }
        guard config.batch >= 1, config.threads >= 1 else {
            throw BPTTError.input("\(source): the setting batch = \(config.batch) or threads = \(config.threads) is out of range; the file was not written by bptt or was edited")
        }
        config.steps = steps
        adjust(&config)
        try self.init(config)
        try engine.restore(c, source)
    }
}

extension TrainConfig {
    /// The configuration as stored in checkpoints (JSON, keys sorted).
    public var json: String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return String(decoding: try! e.encode(self), as: UTF8.self)
    }
}

/// The trainer's view of an engine: closures made where the cell type is concrete, so that
/// everything they call is specialised. (Calling a generic class's methods through a protocol
/// would run the unspecialised generic code: ~300× slower here.)
struct PalindromeEngine {
    let step: () -> Int
    let parameterCount: Int
    let parameterNames: [String]
    let trainStep: (Int) -> StepStats
    let evaluate: (Int, Int, UInt64) -> (accuracy: Double, loss: Double)
    let gradientNorms: (Int, Int, UInt64) -> [Double]
    let checkpoint: () -> Checkpoint
    let restore: (Checkpoint, String) throws -> Void
}

struct EngineMaker: CellVisitor {
    typealias Real = Float
    let config: TrainConfig
    func visit<C: RecurrentCell>(_ make: @escaping (Int) -> C) throws -> PalindromeEngine where C.Real == Float {
        let e = PalindromeEngineFor<C>(config, make: make)
        return PalindromeEngine(step: { e.step }, parameterCount: e.parameterCount, parameterNames: e.parameterNames,
                                trainStep: { e.trainStep(length: $0) },
                                evaluate: { e.evaluate(length: $0, count: $1, seed: $2) },
                                gradientNorms: { e.gradientNorms(length: $0, batch: $1, seed: $2) },
                                checkpoint: { e.checkpoint() },
                                restore: { try e.restore($0, source: $1) })
    }
}

final class PalindromeEngineFor<Cell: RecurrentCell> where Cell.Real == Float {
    typealias Model = SequenceClassifier<Cell>
    let config: TrainConfig
    let model: Model
    private let core: ShardedStep<Model.Parameters, Model.Workspace>
    var params: Model.Parameters { core.params }
    var step: Int { core.step }
    private var dataRNG: RNG
    private var dropoutRNG: RNG

    init(_ config: TrainConfig, make: @escaping (Int) -> Cell) {
        self.config = config
        model = Model(stack: RecurrentStack(layers: config.layers, bidirectional: config.bidirectional, dropout: config.dropout,
                                            inputSize: Palindrome.inputSize, hiddenSize: config.hidden, make: make),
                      classes: Palindrome.classes)
        var rng = RNG(seed: config.seed)
        var params = model.initialParameters(config.initializer, rng: &rng)
        initialStackParameters(model.stack, &params.stack, config.recurrentInit, chronoTMax: config.chronoTMax ?? config.length, seed: config.seed)
        dataRNG = rng.split()
        dropoutRNG = rng.split()
        core = ShardedStep(params: params, optimizer: config.optimizer, shards: max(1, min(config.shards, config.batch)),
                           threads: config.threads, clip: config.clip, workspace: Model.Workspace())
    }

    var parameterCount: Int { params.parameterCount }
    var parameterNames: [String] { params.tensorNames }

    func trainStep(length: Int) -> StepStats {
        let (xs, targets) = Palindrome.batch(length: length, batchSize: config.batch, rng: &dataRNG, as: Float.self)
        // Dropout masks: one stream per shard, seeded in shard order (same numbers for any thread count).
        let dropoutSeeds: [UInt64]? = config.dropout > 0 ? (0..<core.shards).map { _ in dropoutRNG.next() } : nil
        let model = self.model, truncation = config.truncation, lossScale = 1 / Double(config.batch)
        return core.run(batch: config.batch, dropoutSeeds: dropoutSeeds) { _, lo, hi, p, ws, g, drop in
            model.lossAndGradient(xs.map { rowsSlice($0, lo, hi) }, targets: [Array(targets[lo..<hi])], p,
                                  lossScale: lossScale, workspace: &ws, grads: &g, dropoutRNG: &drop, truncation: truncation)
        }
    }

    func checkpoint() -> Checkpoint {
        let o = core.optimizer.checkpointState(like: params)
        return Checkpoint(model: config.model, config: config.json, step: step, tensors: params.namedTensors(),
                          optimizerKind: o.kind, optimizerStep: o.step, optimizerState1: o.s1, optimizerState2: o.s2,
                          rngs: [("data", dataRNG), ("dropout", dropoutRNG)])
    }

    func restore(_ c: Checkpoint, source: String) throws {
        var p = params
        try p.load(c.tensors, source: source)
        let o = try Optimizer<Model.Parameters>(config.optimizer, restoring: c, like: params, source: source)
        guard let data = c.rng("data"), let dropout = c.rng("dropout") else {
            throw BPTTError.input("\(source): the checkpoint has no data/dropout random streams")
        }
        core.params = p
        core.optimizer = o
        core.step = c.step
        dataRNG = data
        dropoutRNG = dropout
    }

    func evaluate(length: Int, count n: Int, seed: UInt64) -> (accuracy: Double, loss: Double) {
        var rng = RNG(seed: seed)
        var ws = Model.Workspace()
        var correct = 0, lossSum = 0.0, done = 0
        while done < n {
            let b = min(config.batch, n - done)
            let (xs, targets) = Palindrome.batch(length: length, batchSize: b, rng: &rng, as: Float.self)
            let r = model.forward(xs, targets: [targets], params, workspace: &ws)
            correct += r.correct
            lossSum += r.lossSum
            done += b
        }
        return (Double(correct) / Double(n), lossSum / Double(n))
    }

    func gradientNorms(length: Int, batch: Int, seed: UInt64) -> [Double] {
        var rng = RNG(seed: seed)
        let (xs, targets) = Palindrome.batch(length: length, batchSize: batch, rng: &rng, as: Float.self)
        var ws = Model.Workspace()
        let top = model.stack.cells.count - model.stack.directions
        var g = params.zeros()
        var none: RNG? = nil
        // record on the top level's forward unit (its cache exists after the first forward)
        model.forward(xs, targets: [targets], params, workspace: &ws)
        ws.stack.caches[top].recordGradientNorms = true
        model.lossAndGradient(xs, targets: [targets], params, lossScale: 1 / Double(batch), workspace: &ws,
                              grads: &g, dropoutRNG: &none)
        return ws.stack.caches[top].dhNorms
    }
}
