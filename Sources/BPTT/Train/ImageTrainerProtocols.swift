import Foundation

/// A trainer that goes through shuffled epochs one batch at a time and can be saved between any
/// two batches (the image trainers and the sequence tasks).
public protocol EpochTrainer: AnyObject {
    /// Completed epochs; batches done in the run.
    var epoch: Int { get }
    var step: Int { get }
    var batchesPerEpoch: Int { get }
    var history: [EpochRecord] { get }
    func trainStep() -> BatchStats
    func checkpoint() -> Checkpoint
}

extension SequenceTaskTrainer: EpochTrainer {}

/// What the image trainers (autoencoder, classifier) share: an MLP trained in shuffled epochs
/// with one random stream, saved and resumed whole between any two batches.
public protocol ImageTrainer: EpochTrainer {
    associatedtype Config: ImageTrainerConfig
    /// The checkpoint's model name.
    static var model: String { get }
    var config: Config { get }
    var data: ImageData { get }
    var params: MLP<Float>.Parameters { get }
    /// Where the run stands in its epochs.
    var schedule: EpochSchedule { get }
    init(_ config: Config, data: ImageData, dataSpec: String)
    /// Continues a saved run on `data` (which must be the data it was saved with).
    init(resuming c: Checkpoint, data: ImageData, threads: Int, source: String) throws
}

/// An image trainer's configuration: saved in checkpoints but for the run length and the thread count.
public protocol ImageTrainerConfig: Codable, Equatable {
    var epochs: Int { get set }
    var batch: Int { get }
    var threads: Int { get set }
    var optimizer: OptimizerConfig { get }
    var initializer: Initializer { get }
    var seed: UInt64 { get }
}

extension AutoencoderConfig: ImageTrainerConfig {}
extension ClassifierConfig: ImageTrainerConfig {}

extension ImageTrainer {
    public var epoch: Int { schedule.cursor.epoch }
    public var step: Int { schedule.step }
    public var batchesPerEpoch: Int { schedule.batchesPerEpoch }

    /// Runs batches until the current epoch completes. Throws when the loss or a gradient stops being finite.
    public func trainEpoch() throws -> EpochStats {
        while true {
            let s = trainStep()
            if let bad = s.nonFinite { throw BPTTError.nonFinite("\(Self.model) step \(s.step) (epoch \(s.epoch)): \(bad) became NaN or infinite") }
            if let done = s.epochDone { return done }
        }
    }

    /// The run saved in a checkpoint (its configuration decides the model; refuses other kinds).
    public static func savedRun(_ c: Checkpoint, source: String) throws -> SavedRun<Config> {
        try SavedRun<Config>.decode(c, model: model, source: source)
    }
}

/// A new run of `mlp`: the parameters drawn from the seed's stream, which then splits off the run's
/// stream (shuffles, dropout, masks); a fresh optimiser; shuffled epochs over `count` training images.
func newImageRun(_ mlp: MLP<Float>, _ config: some ImageTrainerConfig, count: Int)
    -> (params: MLP<Float>.Parameters, optimizer: Optimizer<MLP<Float>.Parameters>, rng: RNG, schedule: EpochSchedule) {
    var rng = RNG(seed: config.seed)
    let params = mlp.initialParameters(config.initializer, rng: &rng)
    let runRNG = rng.split()
    return (params, Optimizer(config.optimizer), runRNG,
            EpochSchedule(count: count, batch: config.batch, shuffle: .freshEachEpoch, rng: runRNG))
}

/// The state an image trainer carries from batch to batch, all of it saved in its checkpoint.
protocol ImageTrainerState: ImageTrainer {
    var dataSpec: String { get }
    var params: MLP<Float>.Parameters { get set }
    var optimizer: Optimizer<MLP<Float>.Parameters> { get set }
    var rng: RNG { get set }
    var schedule: EpochSchedule { get set }
    var history: [EpochRecord] { get set }
    var clock: EpochClock { get set }
}

extension ImageTrainerState {
    /// The whole run: parameters, optimiser state, the run's stream, where it stands in its epoch, its curve.
    func wholeRunCheckpoint() -> Checkpoint {
        let o = optimizer.checkpointState(like: params)
        let run = SavedRun(config: config, data: DataIdentity(data, spec: dataSpec), cursor: schedule.cursor, history: history)
        return Checkpoint(model: Self.model, config: run.json, step: step, tensors: params.namedTensors(),
                          optimizerKind: config.optimizer.kind.rawValue, optimizerStep: o.step, optimizerState1: o.s1,
                          optimizerState2: o.s2, rngs: [("data", rng), ("epoch", schedule.anchor)])
    }

    /// Continues the run saved in `c` on `data` (which must be the data it was saved with), on `threads` threads.
    init(restoring c: Checkpoint, data: ImageData, threads: Int, source: String) throws {
        let run = try Self.savedRun(c, source: source)
        try run.checkData(DataIdentity(data, spec: run.data.spec), source: source)
        var config = run.config
        config.threads = threads
        self.init(config, data: data, dataSpec: run.data.spec)
        var p = params
        try p.load(c.tensors, source: source)
        let o = try Optimizer(config.optimizer, like: p, step: c.optimizerStep, s1: c.optimizerState1,
                              s2: c.optimizerState2, source: source)
        guard let r = c.rng("data"), let anchor = c.rng("epoch") else { throw BPTTError.input("\(source): the checkpoint has no data/epoch random streams") }
        try schedule.restore(run.cursor, anchor: anchor, source: source)
        guard schedule.step == c.step else { throw BPTTError.input("\(source): step \(c.step) does not match the epoch position") }
        params = p
        optimizer = o
        rng = r
        history = run.history
        clock.reset(seen: run.cursor.seen)
    }
}
