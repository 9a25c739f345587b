import Foundation

// What the resumable experiments (sweep, curriculum, gradflow) share: their checkpoint is the
// checkpoint of the palindrome trainer in progress, relabelled, with the experiment's own record
// as its configuration.

/// An experiment's checkpoint: the trainer's (an empty one between runs) under the experiment's
/// model name, with `config` (JSON) as its configuration.
func experimentCheckpoint(_ trainer: Checkpoint?, model: String, config: String) -> Checkpoint {
    var c = trainer
        ?? Checkpoint(model: "", config: "", step: 0, tensors: [], optimizerKind: "", optimizerStep: 0, optimizerState1: [], optimizerState2: [], rngs: [])
    c.model = model
    c.config = config
    return c
}

/// The record saved in an experiment's checkpoint of `model`; refuses another kind of checkpoint,
/// or a configuration that does not decode or is not `valid`, with one line.
func decodeExperiment<Saved: Decodable>(_ c: Checkpoint, model: String, decoder: JSONDecoder = experimentDecoder(), source: String,
                                        valid: (Saved) -> Bool) throws -> Saved {
    guard c.model == model else { throw BPTTError.input("\(source): holds a '\(c.model)' run; this command resumes '\(model)' checkpoints") }
    guard let s = try? decoder.decode(Saved.self, from: Data(c.config.utf8)), valid(s) else {
        throw BPTTError.input("\(source): the checkpoint's configuration is not a \(model) configuration")
    }
    return s
}

extension Checkpoint {
    /// The trainer's own checkpoint inside an experiment's: the same tensors, optimiser state and
    /// streams, under the trainer's model name and configuration `train`.
    func trainerCheckpoint(_ train: TrainConfig) -> Checkpoint {
        var inner = self
        inner.model = train.model
        inner.config = train.json
        return inner
    }
}

extension TrainConfig {
    /// The configuration on `threads` threads (results do not depend on the thread count).
    func withThreads(_ threads: Int) -> TrainConfig {
        var c = self
        c.threads = threads
        return c
    }

    /// The configuration with `threads` 0: an experiment's checkpoint does not record the thread
    /// count (the resuming command's --threads is used).
    var withoutThreads: TrainConfig { withThreads(0) }
}

/// An experiment's checkpoint configuration as JSON: keys sorted, Doubles written so they read
/// back to the same bits, NaN and ±∞ as strings.
func experimentJSON<Real: Encodable>(_ value: Real) -> String {
    let e = JSONEncoder()
    e.outputFormatting = [.sortedKeys]
    e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    return String(decoding: try! e.encode(value), as: UTF8.self)
}

func experimentDecoder() -> JSONDecoder {
    let d = JSONDecoder()
    d.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    return d
}
