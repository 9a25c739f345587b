import Foundation

// What every resumable training command shares: where an epoch-based run stands (so that a
// checkpoint can be taken between any two batches and resumed bit for bit) and the run's record
// stored as the checkpoint's configuration. Tensors and optimiser state are saved as for every
// model (`Checkpoint.swift`).

/// Where an epoch-based run stands. `epoch` epochs are complete; `batch` batches of the next one
/// are done, with these running sums. A checkpoint taken at an epoch boundary has `batch == 0`.
public struct EpochCursor: Codable, Equatable, Sendable {
    public var epoch = 0
    public var batch = 0
    public var lossSum = 0.0      // Σ over the epoch's batches of (batch loss × weight, see `record`)
    public var weight = 0.0       // Σ of the weights
    public var correct = 0
    public var seen = 0           // examples
    public init() {}
}

/// One finished epoch, as saved in checkpoints (no timings: a checkpoint's bytes depend only on
/// the training state).
public struct EpochRecord: Codable, Equatable, Sendable {
    public var epoch: Int
    public var trainLoss: Double
    public var trainAccuracy: Double?
    public var testAccuracy: Double?
    public init(epoch: Int, trainLoss: Double, trainAccuracy: Double? = nil, testAccuracy: Double? = nil) {
        self.epoch = epoch
        self.trainLoss = trainLoss
        self.trainAccuracy = trainAccuracy
        self.testAccuracy = testAccuracy
    }
}

/// Which data a run trained on: a resumed run must see the same.
public struct DataIdentity: Codable, Equatable, Sendable {
    /// What `--data` named ("digits", "fashion-mnist", a path): a resumed run reloads it.
    public var spec: String
    /// The loaded data's own description.
    public var source: String
    public var train: Int
    public var test: Int
    public var shape: [Int]       // images: [height, width]; text: [vocabulary size]
    public init(spec: String, source: String, train: Int, test: Int, shape: [Int]) {
        self.spec = spec
        self.source = source
        self.train = train
        self.test = test
        self.shape = shape
    }

    public init(_ d: ImageData, spec: String) { self.init(spec: spec, source: d.source, train: d.train.count, test: d.test.count, shape: [d.height, d.width]) }

    public var description: String {
        "\(source) (\(train) train / \(test) test, shape \(shape.map(String.init).joined(separator: "×")))"
    }
}

/// Shuffled passes over `count` items in batches of `batch`, resumable between any two batches.
///
/// - `.freshEachEpoch`: each epoch shuffles 0..<count with the trainer's stream, which the
///   trainer also uses for other draws (dropout, masks). `anchor` is that stream at the start
///   of the current epoch, so the order can be re-derived.
/// - `.cumulative`: the schedule owns its stream and shuffles the previous epoch's order again
///   each epoch. `anchor` is the stream before the first epoch; restoring replays the shuffles.
public struct EpochSchedule: Sendable {
    public enum Shuffle: Sendable { case freshEachEpoch, cumulative }
    public let count: Int
    public let batch: Int
    public let shuffle: Shuffle
    public private(set) var order: [Int]
    public private(set) var anchor: RNG
    /// `.cumulative`: the schedule's own stream.
    private var own: RNG
    public var cursor = EpochCursor()

    public init(count: Int, batch: Int, shuffle: Shuffle, rng: RNG) {
        self.count = count
        self.batch = max(1, batch)
        self.shuffle = shuffle
        order = Array(0..<count)
        anchor = rng
        own = rng
    }

    public var batchesPerEpoch: Int { (count + batch - 1) / batch }
    /// Batches done in the whole run.
    public var step: Int { cursor.epoch * batchesPerEpoch + cursor.batch }

    /// The next batch's items; shuffles first at the start of an epoch (`rng`: the trainer's
    /// stream, used by `.freshEachEpoch`).
    public mutating func nextBatch(rng: inout RNG) -> ArraySlice<Int> {
        if cursor.batch == 0 {
            switch shuffle {
            case .freshEachEpoch:
                anchor = rng
                order = Array(0..<count)
                rng.shuffle(&order)
            case .cumulative:
                own.shuffle(&order)
            }
        }
        let lo = cursor.batch * batch
        return order[lo..<min(lo + batch, count)]
    }

    /// Records a finished batch. Returns the epoch's cursor (its sums) when it completed the epoch.
    public mutating func record(loss: Double, weight: Double, correct: Int = 0, size: Int) -> EpochCursor? {
        cursor.lossSum += loss * weight
        cursor.weight += weight
        cursor.correct += correct
        cursor.seen += size
        cursor.batch += 1
        guard cursor.batch == batchesPerEpoch else { return nil }
        let done = cursor
        cursor = EpochCursor()
        cursor.epoch = done.epoch + 1
        return done
    }

    /// Restores a saved position: `anchor` as saved (see the type's note).
    public mutating func restore(_ c: EpochCursor, anchor saved: RNG, source: String) throws {
        guard c.epoch >= 0, c.batch >= 0, c.batch < batchesPerEpoch, c.seen >= 0 else {
            throw BPTTError.input("\(source): epoch position \(c.epoch).\(c.batch) does not fit \(batchesPerEpoch) batches per epoch")
        }
        cursor = c
        anchor = saved
        order = Array(0..<count)
        switch shuffle {
        case .freshEachEpoch:
            if c.batch > 0 { var r = saved; r.shuffle(&order) }
        case .cumulative:
            own = saved
            let shuffles = c.epoch + (c.batch > 0 ? 1 : 0)
            guard shuffles <= 1_000_000 else { throw BPTTError.input("\(source): implausible epoch count \(c.epoch)") }
            for _ in 0..<shuffles { own.shuffle(&order) }
        }
    }
}

/// The configuration stored in a checkpoint of an epoch- or step-based command: the run's
/// settings, the data it saw, where it stands and its curve so far (JSON, keys sorted).
public struct SavedRun<Config: Codable & Equatable>: Codable, Equatable {
    public var config: Config
    public var data: DataIdentity
    public var cursor: EpochCursor
    public var history: [EpochRecord]
    /// Step-based runs: extra counters (e.g. the GAN's discriminator steps).
    public var counters: [String: Int]

    public init(config: Config, data: DataIdentity, cursor: EpochCursor = EpochCursor(), history: [EpochRecord] = [], counters: [String: Int] = [:]) {
        self.config = config
        self.data = data
        self.cursor = cursor
        self.history = history
        self.counters = counters
    }

    public var json: String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return String(decoding: try! e.encode(self), as: UTF8.self)
    }

    /// Reads the run record of a checkpoint of `model`; refuses any other kind with one line.
    public static func decode(_ c: Checkpoint, model: String, source: String) throws -> SavedRun {
        guard c.model == model else {
            throw BPTTError.input("\(source): holds a '\(c.model)' run; this command resumes '\(model)' checkpoints")
        }
        guard let r = try? JSONDecoder().decode(SavedRun.self, from: Data(c.config.utf8)) else {
            throw BPTTError.input("\(source): the checkpoint's configuration is not a '\(model)' configuration")
        }
        return r
    }

    /// The data given now must be the data the run was saved with.
    public func checkData(_ now: DataIdentity, source: String) throws {
        guard now.source == data.source, now.train == data.train, now.test == data.test, now.shape == data.shape else {
            throw BPTTError.input("\(source): saved for data \(data.description), but the data now is \(now.description)")
        }
    }
}
