import Foundation

/// Everything an adding- or copy-problem run needs (`bptt train --task adding|copy`).
public struct LongMemoryConfig: Sendable, Equatable, Codable {
    public var task = "adding"                 // adding | copy
    public var model = "lstm"                  // rnn | rnn-relu | lstm | gru | gru-cho
    public var layers = 1
    public var hidden = 128
    /// adding: the sequence length T; copy: the delay T (an example is T + 20 steps).
    public var length = 100
    public var steps = 2000
    public var batch = 64
    public var optimizer = OptimizerConfig(kind: .adam, lr: 1e-3)
    public var clip: Double? = 1
    public var seed: UInt64 = 0
    public var initializer: Initializer = .pytorch
    /// identity | orthogonal | chrono applied after `initializer` (nil: none).
    public var recurrentInit: RecurrentInit? = nil
    /// chrono: T_max (nil: the example's number of steps).
    public var chronoTMax: Int? = nil
    public var forgetBiasOne = false
    public var shards = 2
    public var threads = 2
    public var evalSize = 1000
    public init() {}

    /// Steps the network runs per example: T (adding) or T + 20 (copy).
    public var sequenceSteps: Int { task == "copy" ? CopyMemory.steps(delay: length) : length }

    /// The loss of the memoryless answer: 1/6 for adding (always 1), 10 log 8 / (T + 20) for copy.
    public var baseline: Double { task == "copy" ? CopyMemory.memorylessBaseline(delay: length) : AddingProblem.constantBaseline }

    public var json: String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return String(decoding: try! e.encode(self), as: UTF8.self)
    }
}

/// Trains a recurrent model on the adding problem (MSE, linear readout of h_T) or the copy
/// problem (softmax cross-entropy at every step), a fresh batch each step, Float32, the batch split
/// in shards (same numbers for 1 or 2 threads).
///
/// Step statistics: `loss` is the batch MSE (adding) or the mean cross-entropy per step (copy);
/// `accuracy` is the fraction of examples answered within 0.04 of the target (adding, the
/// criterion of Hochreiter & Schmidhuber 1997) or of the ten recalled symbols right (copy).
public final class LongMemoryTrainer {
    public static let tasks = ["adding", "copy"]
    public let config: LongMemoryConfig
    private let engine: LongMemoryEngine

    /// Errors: `BPTTError.usage` for an unknown task or model, or an initialisation the cell lacks.
    public init(_ config: LongMemoryConfig) throws {
        guard Self.tasks.contains(config.task) else { throw BPTTError.usage("unknown task '\(config.task)' (expected: adding, copy)") }
        guard let kind = CellKind(rawValue: config.model) else {
            throw BPTTError.usage("unknown model '\(config.model)' (expected one of: \(CellKind.names.joined(separator: ", ")))")
        }
        if let r = config.recurrentInit, !r.cells.contains(config.model) {
            throw BPTTError.usage("--init \(r.rawValue) applies to \(r.cells.joined(separator: ", ")), not \(config.model)")
        }
        try MemoryLimit.checkRecurrentRun(model: config.model, layers: config.layers, bidirectional: false, input: 16,
                                          hidden: config.hidden, batch: config.batch, length: config.sequenceSteps)
        guard config.length >= (config.task == "adding" ? 2 : 1) else {
            throw BPTTError.usage("--length \(config.length): the \(config.task) problem needs T ≥ \(config.task == "adding" ? 2 : 1)")
        }
        self.config = config
        engine = try kind.accept(LongMemoryMaker(config: config), hidden: config.hidden, forgetBiasOne: config.forgetBiasOne)
    }

    public var step: Int { engine.step() }
    public var parameterCount: Int { engine.parameterCount }

    /// One step: a fresh batch, forward and backward on every shard, clipping, the update.
    @discardableResult
    public func trainStep() -> StepStats { engine.trainStep() }

    /// Loss and accuracy (as in `trainStep`) on `count` fresh examples from a stream independent of training.
    public func evaluate(count: Int? = nil, seed: UInt64? = nil) -> (accuracy: Double, loss: Double) {
        engine.evaluate(count ?? config.evalSize, seed ?? (config.seed ^ 0xE7A1_5EED))
    }

    /// The flat parameter tensors by name (for `gradflow`-style inspection and tests).
    public func tensors() -> [Checkpoint.NamedTensor] { engine.checkpoint().tensors }

    public func checkpoint() -> Checkpoint { engine.checkpoint() }

    /// Continues a run from a checkpoint of `task` written by `checkpoint()`, with its
    /// configuration (`adjust` may change steps, threads and the evaluation size).
    public convenience init(resuming c: Checkpoint, source: String, adjust: (inout LongMemoryConfig) -> Void = { _ in }) throws {
        guard Self.tasks.contains(c.model) else {
            throw BPTTError.input("\(source): holds a '\(c.model)' run; this resumes adding or copy checkpoints")
        }
        guard var config = try? JSONDecoder().decode(LongMemoryConfig.self, from: Data(c.config.utf8)), config.task == c.model else {
            throw BPTTError.input("\(source): the checkpoint's configuration is not a '\(c.model)' configuration")
        }
        adjust(&config)
        try self.init(config)
        try engine.restore(c, source)
    }

    /// The saved configuration of a checkpoint of `task`, for comparing flags before resuming.
    public static func savedConfig(_ c: Checkpoint, task: String, source: String) throws -> LongMemoryConfig {
        guard c.model == task else { throw BPTTError.input("\(source): holds a '\(c.model)' run; --task \(task) resumes '\(task)' checkpoints") }
        guard let config = try? JSONDecoder().decode(LongMemoryConfig.self, from: Data(c.config.utf8)) else {
            throw BPTTError.input("\(source): the checkpoint's configuration is not a '\(task)' configuration")
        }
        return config
    }
}

struct LongMemoryEngine {
    let step: () -> Int
    let parameterCount: Int
    let trainStep: () -> StepStats
    let evaluate: (Int, UInt64) -> (accuracy: Double, loss: Double)
    let checkpoint: () -> Checkpoint
    let restore: (Checkpoint, String) throws -> Void
}

/// Draws a model's parameters: the ordinary initialiser, then the recurrent one (if any) from
/// its own stream. The data and dropout streams split from `rng` afterwards are the same either way.
func initialStackParameters<C: RecurrentCell>(_ stack: RecurrentStack<C>, _ p: inout RecurrentStack<C>.Parameters,
                                              _ kind: RecurrentInit?, chronoTMax: Int, seed: UInt64) {
    guard let kind else { return }
    var rng = RNG(seed: RecurrentInit.seed(seed))
    stack.applyRecurrentInit(kind, chronoTMax: chronoTMax, to: &p, rng: &rng)
}

struct LongMemoryMaker: CellVisitor {
    typealias Real = Float
    let config: LongMemoryConfig

    func visit<C: RecurrentCell>(_ make: @escaping (Int) -> C) throws -> LongMemoryEngine where C.Real == Float {
        let c = config
        let stack = RecurrentStack(layers: c.layers, bidirectional: false, inputSize: c.task == "copy" ? CopyMemory.inputSize : AddingProblem.inputSize,
                                   hiddenSize: c.hidden, make: make)
        if c.task == "copy" { return copyEngine(stack) }
        return addingEngine(stack)
    }

    /// Builds the shared parts: the sharded step, the data stream, and the checkpoint/restore closures.
    private func common<P: ParameterSet, W>(_ params: P, _ rng: inout RNG, workspace: W)
        -> (core: ShardedStep<P, W>, data: Box<RNG>) where P.Real == Float {
        let core = ShardedStep(params: params, optimizer: config.optimizer, shards: max(1, min(config.shards, config.batch)),
                               threads: config.threads, clip: config.clip, workspace: workspace)
        return (core, Box(rng.split()))
    }

    private func io<P: ParameterSet, W>(_ core: ShardedStep<P, W>, _ data: Box<RNG>) -> (checkpoint: () -> Checkpoint, restore: (Checkpoint, String) throws -> Void) where P.Real == Float {
        let c = config
        return ({
            let o = core.optimizer.checkpointState(like: core.params)
            return Checkpoint(model: c.task, config: c.json, step: core.step, tensors: core.params.namedTensors(),
                              optimizerKind: o.kind, optimizerStep: o.step, optimizerState1: o.s1, optimizerState2: o.s2,
                              rngs: [("data", data.value)])
        }, { ck, source in
            var p = core.params
            try p.load(ck.tensors, source: source)
            let o = try Optimizer<P>(c.optimizer, restoring: ck, like: core.params, source: source)
            guard let d = ck.rng("data") else { throw BPTTError.input("\(source): the checkpoint has no data random stream") }
            core.params = p
            core.optimizer = o
            core.step = ck.step
            data.value = d
        })
    }

    private func addingEngine<C: RecurrentCell>(_ stack: RecurrentStack<C>) -> LongMemoryEngine where C.Real == Float {
        typealias Model = SequenceRegressor<C>
        let c = config
        let model = Model(stack: stack)
        var rng = RNG(seed: c.seed)
        var params = model.initialParameters(c.initializer, rng: &rng)
        initialStackParameters(stack, &params.stack, c.recurrentInit, chronoTMax: c.chronoTMax ?? c.sequenceSteps, seed: c.seed)
        let (core, data) = common(params, &rng, workspace: Model.Workspace())
        let (checkpoint, restore) = io(core, data)
        func within(_ yhat: Matrix<Float>, _ y: Matrix<Float>) -> Int {
            (0..<y.rows).reduce(0) { $0 + (abs(yhat[$1, 0] - y[$1, 0]) < 0.04 ? 1 : 0) }
        }
        return LongMemoryEngine(
            step: { core.step }, parameterCount: params.parameterCount,
            trainStep: {
                let (xs, y) = AddingProblem.batch(length: c.length, batchSize: c.batch, rng: &data.value, as: Float.self)
                let scale = 1 / Double(c.batch)                                                    // (long-memory.mse)
                return core.run(batch: c.batch, dropoutSeeds: nil) { _, lo, hi, p, ws, g, drop in
                    let sum = model.lossAndGradient(xs.map { rowsSlice($0, lo, hi) }, targets: rowsSlice(y, lo, hi), p,
                                                    lossScale: scale, workspace: &ws, grads: &g, dropoutRNG: &drop)
                    return (sum, within(ws.yhat, rowsSlice(y, lo, hi)))
                }
            },
            evaluate: { n, seed in
                var rng = RNG(seed: seed), ws = Model.Workspace()
                var sum = 0.0, right = 0, done = 0
                while done < n {
                    let b = min(256, n - done)
                    let (xs, y) = AddingProblem.batch(length: c.length, batchSize: b, rng: &rng, as: Float.self)
                    sum += model.forward(xs, targets: y, core.params, workspace: &ws)
                    right += within(ws.yhat, y)
                    done += b
                }
                return (Double(right) / Double(n), sum / Double(n))
            },
            checkpoint: checkpoint, restore: restore)
    }

    private func copyEngine<C: RecurrentCell>(_ stack: RecurrentStack<C>) -> LongMemoryEngine where C.Real == Float {
        typealias Model = SequenceClassifier<C>
        let c = config
        let model = Model(stack: stack, classes: CopyMemory.classes, output: .everyStep)
        var rng = RNG(seed: c.seed)
        var params = model.initialParameters(c.initializer, rng: &rng)
        initialStackParameters(stack, &params.stack, c.recurrentInit, chronoTMax: c.chronoTMax ?? c.sequenceSteps, seed: c.seed)
        let (core, data) = common(params, &rng, workspace: Model.Workspace())
        let (checkpoint, restore) = io(core, data)
        let n = c.sequenceSteps
        /// Recalled symbols right: the arg-max at each of the last ten steps against the target.
        func recalled(_ probs: [Matrix<Float>], _ targets: [[Int]], _ lo: Int) -> Int {
            var right = 0
            for t in (n - CopyMemory.recall)..<n {
                let p = probs[t]
                for b in 0..<p.rows {
                    var best = 0
                    for k in 1..<p.cols where p[b, k] > p[b, best] { best = k }
                    if best == targets[t][lo + b] { right += 1 }
                }
            }
            return right
        }
        return LongMemoryEngine(
            step: { core.step }, parameterCount: params.parameterCount,
            trainStep: {
                let (xs, targets) = CopyMemory.batch(delay: c.length, batchSize: c.batch, rng: &data.value, as: Float.self)
                // L = (1 / (B (T + 20))) Σ_b Σ_t −log p_t[y_t]: the mean per-step cross-entropy
                let scale = 1 / (Double(c.batch) * Double(n))                                         // (long-memory.ce)
                var stats = core.run(batch: c.batch, dropoutSeeds: nil) { _, lo, hi, p, ws, g, drop in
                    let r = model.lossAndGradient(xs.map { rowsSlice($0, lo, hi) }, targets: targets.map { Array($0[lo..<hi]) }, p,
                                                  lossScale: scale, workspace: &ws, grads: &g, dropoutRNG: &drop)   // (long-memory.dp)
                    return (r.lossSum / Double(n), recalled(ws.probabilities, targets, lo))
                }
                stats.accuracy /= Double(CopyMemory.recall)
                return stats
            },
            evaluate: { count, seed in
                var rng = RNG(seed: seed), ws = Model.Workspace()
                var sum = 0.0, right = 0, done = 0
                while done < count {
                    let b = min(256, count - done)
                    let (xs, targets) = CopyMemory.batch(delay: c.length, batchSize: b, rng: &rng, as: Float.self)
                    sum += model.forward(xs, targets: targets, core.params, workspace: &ws).lossSum / Double(n)
                    right += recalled(ws.probabilities, targets, 0)
                    done += b
                }
                return (Double(right) / Double(count * CopyMemory.recall), sum / Double(count))
            },
            checkpoint: checkpoint, restore: restore)
    }
}

/// A mutable value shared by closures (the data stream a trainer's closures advance).
final class Box<Value> {
    var value: Value
    init(_ value: Value) { self.value = value }
}
