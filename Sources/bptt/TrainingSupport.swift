import BPTT
import Foundation

// What every training command does around its loop: --save / --save-every / --resume, the
// non-finite guard's message (exit 3), Ctrl-C and SIGTERM (save, exit 130), and the check that
// flags given again on --resume agree with the checkpoint.

/// The checkpoint flags; `unit` is what --save-every counts ("steps" or "epochs"); `resume`
/// replaces --resume's description.
func checkpointOptions(unit: String, resume: String? = nil) -> [Option] {
    [Option("save", "PATH", "write a checkpoint here at the end, every --save-every \(unit), and on Ctrl-C/SIGTERM"),
     Option("save-every", "N", "\(unit) between checkpoints (default: only at the end)"),
     Option("resume", "PATH", resume ?? "continue the run saved in PATH up to --\(unit) in total (its configuration is used)")]
}

struct CheckpointFlags {
    let save: String?
    let every: Int
    let resume: String?

    init(_ a: Arguments) throws {
        save = a.string("save")
        every = try a.int("save-every", default: 0, min: 0)
        resume = a.string("resume")
        if every > 0 && save == nil { throw BPTTError.usage("--save-every needs --save PATH") }
        if save == "" { throw BPTTError.usage("--save: empty path") }
        if resume == "" { throw BPTTError.usage("--resume: empty path") }
    }

    /// The checkpoint named by --resume (validated: magic, version, length, checksum).
    func checkpoint() throws -> Checkpoint? { try resume.map { try Checkpoint.read(from: $0) } }

    func write(_ c: @autoclosure () -> Checkpoint) throws {
        if let save { try c().write(to: save) }
    }

    /// The exit-3 error: where, what went non-finite first, and that the last good checkpoint stays.
    func nonFinite(_ what: String, at place: String) -> BPTTError {
        .nonFinite("\(place): \(what) became NaN or infinite; stopped without saving it"
            + (save.map { " (the last good checkpoint stays in \($0))" } ?? ""))
    }

    /// After a step: on Ctrl-C/SIGTERM saves (with --save), says so and returns true (exit 130).
    func interrupted(at place: String, progress: BPTT.Progress, _ c: @autoclosure () -> Checkpoint) throws -> Bool {
        guard Interrupt.requested else { return false }
        progress.finish()
        try write(c())
        print("interrupted at \(place)" + (save.map { "; checkpoint saved to \($0)" } ?? "; no --save given, nothing saved"))
        fflush(stdout)
        return true
    }
}

/// On --resume, a model-defining flag given again must agree with the checkpoint's value.
func checkResumeFlags<C>(_ a: Arguments, given: C, saved: C, source: String, _ fields: [(flag: String, value: (C) -> String)]) throws {
    for (flag, value) in fields where a.has(flag) || a.flag(flag) {
        guard value(given) == value(saved) else {
            throw BPTTError.usage("--\(flag) \(value(given)) differs from the checkpoint's \(value(saved)) (\(source))")
        }
    }
}

/// The target must not be below where the checkpoint stands.
func checkTarget(_ flag: String, _ target: Int, done: Int, source: String) throws {
    guard done <= target else {
        throw BPTTError.usage("--\(flag) \(target) is below the checkpoint's \(done) (\(source))")
    }
}

/// The optimiser flags as text, for comparing against a checkpoint.
let optimizerFields: [(flag: String, value: (OptimizerConfig) -> String)] = [
    ("optim", { $0.kind.rawValue }), ("lr", { String($0.lr) }), ("beta1", { String($0.beta1) }),
    ("momentum", { String($0.momentum) }), ("weight-decay", { String($0.weightDecay) }),
]
func lifted<C>(_ path: KeyPath<C, OptimizerConfig>) -> [(flag: String, value: (C) -> String)] {
    optimizerFields.map { f in (f.flag, { f.value($0[keyPath: path]) }) }
}

/// The progress display of an epoch run, counting steps; opens with `lines`.
func epochProgress(_ trainer: some EpochTrainer, _ epochs: Int, quiet: Bool, _ lines: [String]) -> BPTT.Progress {
    let progress = Progress(total: epochs * trainer.batchesPerEpoch, label: "step", offset: trainer.step, quiet: quiet)
    for line in lines { progress.line(line) }
    return progress
}

/// "resumed from PATH at epoch E + B batches".
func resumedAt(_ trainer: some EpochTrainer, _ source: String) -> String {
    "resumed from \(source) at epoch \(trainer.epoch) + \(trainer.step % trainer.batchesPerEpoch) batches"
}

/// Trains until `epochs` epochs are complete: `epochDone` after each, a checkpoint every
/// --save-every epochs, the non-finite guard (closes `log`, throws: exit 3), Ctrl-C/SIGTERM (closes
/// `log`, saves, returns nil: exit 130); at the end closes `log`, saves and returns the seconds
/// trained. `stepLine` formats the step's epoch, `epochs` and the loss.
func trainEpochs(_ trainer: some EpochTrainer, _ epochs: Int, _ ck: CheckpointFlags, log: CSVWriter? = nil, progress: BPTT.Progress,
                 stepLine: String, epochDone: (EpochStats) throws -> Void) throws -> TimeInterval? {
    Interrupt.install()
    let start = Date()
    while trainer.epoch < epochs {
        let s = trainer.trainStep()
        if let bad = s.nonFinite {
            progress.finish()
            try log?.close()
            throw ck.nonFinite(bad, at: "step \(s.step) (epoch \(s.epoch), batch \(s.batch))")
        }
        if let e = s.epochDone {
            try epochDone(e)
            if ck.every > 0 && e.epoch % ck.every == 0 { try ck.write(trainer.checkpoint()) }
        }
        if try ck.interrupted(at: "step \(s.step) (epoch \(s.epoch), batch \(s.batch))", progress: progress, trainer.checkpoint()) {
            try log?.close()
            return nil
        }
        progress.update(s.step, String(format: stepLine, s.epoch, epochs, s.loss))
    }
    progress.finish()
    let seconds = Date().timeIntervalSince(start)
    try log?.close()
    try ck.write(trainer.checkpoint())
    return seconds
}
