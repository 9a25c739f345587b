import Dispatch
import Foundation

/// Everything a palindrome training run needs, as given on the command line.
public struct TrainConfig: Sendable, Equatable {
    public var model: String = "rnn"          // rnn | rnn-relu
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
    public init(step: Int, loss: Double, accuracy: Double, gradNorm: Double) {
        self.step = step
        self.loss = loss
        self.accuracy = accuracy
        self.gradNorm = gradNorm
    }
}

/// Trains a sequence classifier on palindromes in Float32, the batch split across both cores.
public final class PalindromeTrainer {
    public typealias Model = RNNClassifier<Float>
    public let config: TrainConfig
    public let model: Model
    public private(set) var params: Model.Parameters
    public private(set) var optimizer: Optimizer<Model.Parameters>
    public private(set) var step = 0
    private var dataRNG: RNG
    private var workspaces: [Model.Workspace]
    private var shardGrads: [Model.Parameters]
    private var grads: Model.Parameters

    public static let models = ["rnn", "rnn-relu"]

    public init(_ config: TrainConfig) throws {
        guard Self.models.contains(config.model) else { throw BPTTError.usage("unknown model '\(config.model)' (expected one of: \(Self.models.joined(separator: ", ")))") }
        guard config.task == "palindrome" else { throw BPTTError.usage("unknown task '\(config.task)' (expected: palindrome)") }
        self.config = config
        model = Model(inputSize: Palindrome.inputSize, hiddenSize: config.hidden, classes: Palindrome.classes,
                      activation: config.model == "rnn-relu" ? .relu : .tanh)
        var rng = RNG(seed: config.seed)
        params = model.initialParameters(config.initializer, rng: &rng)
        dataRNG = rng.split()
        optimizer = Optimizer(config.optimizer)
        let shards = max(1, min(config.shards, config.batch))
        workspaces = Array(repeating: Model.Workspace(), count: shards)
        grads = params.zeros()
        shardGrads = Array(repeating: grads, count: shards)
    }

    /// One step: a fresh batch, forward and backward on every shard, summed gradients,
    /// clipping, optimiser update.
    @discardableResult
    public func trainStep() -> StepStats {
        let (xs, targets) = Palindrome.batch(length: config.length, batchSize: config.batch, rng: &dataRNG, as: Float.self)
        let shards = workspaces.count
        let B = config.batch
        let lossScale = 1 / Double(B)
        var partial = [(lossSum: Double, correct: Int)](repeating: (0, 0), count: shards)
        let model = self.model, current = self.params, truncation = config.truncation
        workspaces.withUnsafeMutableBufferPointer { wsBuffer in
            shardGrads.withUnsafeMutableBufferPointer { gsBuffer in
                partial.withUnsafeMutableBufferPointer { outBuffer in
                    // Each shard touches only its own workspace, gradients and result slot.
                    let ws = wsBuffer, gs = gsBuffer, out = outBuffer
                    let run = { (s: Int) in
                        let lo = s * B / shards, hi = (s + 1) * B / shards
                        let xsShard = xs.map { rowsSlice($0, lo, hi) }
                        gs[s].zero()
                        out[s] = model.lossAndGradient(xsShard, targets: [Array(targets[lo..<hi])], current,
                                                       lossScale: lossScale, workspace: &ws[s], grads: &gs[s],
                                                       truncation: truncation)
                    }
                    if config.threads > 1 && shards > 1 {
                        DispatchQueue.concurrentPerform(iterations: shards, execute: run)
                    } else {
                        for s in 0..<shards { run(s) }
                    }
                }
            }
        }
        grads.zero()
        for g in shardGrads { grads.add(g) }   // fixed order: same sum for any thread count
        let norm = config.clip.map { clipGradientNorm(&grads, maxNorm: $0) } ?? grads.globalNorm
        optimizer.update(&params, grads: grads)
        step += 1
        let lossSum = partial.reduce(0) { $0 + $1.lossSum }
        let correct = partial.reduce(0) { $0 + $1.correct }
        return StepStats(step: step, loss: lossSum / Double(B), accuracy: Double(correct) / Double(B), gradNorm: norm)
    }

    /// Accuracy and mean loss on `count` fresh palindromes from a stream independent of training.
    public func evaluate(count: Int? = nil, seed: UInt64? = nil) -> (accuracy: Double, loss: Double) {
        let n = count ?? config.evalSize
        var rng = RNG(seed: seed ?? (config.seed ^ 0xE7A1_5EED))
        var ws = Model.Workspace()
        var correct = 0, lossSum = 0.0, done = 0
        while done < n {
            let b = min(config.batch, n - done)
            let (xs, targets) = Palindrome.batch(length: config.length, batchSize: b, rng: &rng, as: Float.self)
            let r = model.forward(xs, targets: [targets], params, workspace: &ws)
            correct += r.correct
            lossSum += r.lossSum
            done += b
        }
        return (Double(correct) / Double(n), lossSum / Double(n))
    }
}

/// Rows lo..<hi of a matrix as a new matrix (a shard of a batch).
func rowsSlice<T>(_ m: Matrix<T>, _ lo: Int, _ hi: Int) -> Matrix<T> {
    if lo == 0 && hi == m.rows { return m }
    return Matrix(rows: hi - lo, cols: m.cols, data: Array(m.data[(lo * m.cols)..<(hi * m.cols)]))
}
