import BPTT
import Foundation

// What every training command does around its loop: --save / --save-every / --resume, the
// non-finite guard's message (exit 3), Ctrl-C and SIGTERM (save, exit 130), and the check that
// flags given again on --resume agree with the checkpoint.

/// The checkpoint flags; `unit` is what --save-every counts ("steps" or "epochs"); `resume`
/// replaces --resume's description.
func checkpointOptions(unit: String, resume: String? = nil) -> [Option] {
    [Option("save", "PATH", "write a checkpoint here at the end, every --save-every \(unit), and on Ctrl-C/SIGTERM").writes(.checkpoint),
     Option("save-every", "N", "\(unit) between checkpoints (default: only at the end)"),
     Option("resume", "PATH", resume ?? "continue the run saved in PATH up to --\(unit) in total (its configuration is used; a flag that shapes the run, given again, must equal the saved value, else exit 2)")]
}

/// Where this run's last checkpoint went (shared by the copies of a `CheckpointFlags`).
final class WrittenCheckpoint { var place: String? = nil }

struct CheckpointFlags {
    let save: String?
    let every: Int
    let resume: String?
    /// Set when this run writes --save, so a divergence message names a checkpoint only if it exists.
    let written = WrittenCheckpoint()

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

    /// Writes --save (when given); `place` ("step 40") is what a later divergence message quotes.
    func write(_ c: @autoclosure () -> Checkpoint, at place: String? = nil) throws {
        if let save {
            try c().write(to: save)
            written.place = place ?? "the last save"
        }
    }

    /// The exit-3 error: where, what went non-finite first, and which checkpoint (if any) holds
    /// the last good state: one this run wrote, or the one it resumed from; never another run's file.
    func nonFinite(_ what: String, at place: String) -> BPTTError {
        .nonFinite("\(place): \(what) became NaN or infinite; stopped without saving it" + checkpointNote)
    }

    var checkpointNote: String {
        guard let save else { return "" }
        if let at = written.place { return " (the last good checkpoint, from \(at), stays in \(save))" }
        if let resume, resume == save { return " (\(save) still holds the checkpoint this run resumed from)" }
        return " (no checkpoint was written to \(save): this run saved nothing before it diverged)"
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
            if ck.every > 0 && e.epoch % ck.every == 0 { try ck.write(trainer.checkpoint(), at: "epoch \(e.epoch)") }
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

/// One warning line on stderr ("bptt: warning: …"); the run goes on.
func warn(_ message: String) {
    FileHandle.standardError.write(("bptt: warning: " + message + "\n").data(using: .utf8)!)
}

/// Recurrent dropout acts between stacked levels (as in PyTorch's nn.LSTM, which warns the same):
/// with a single level it would change nothing, so say so rather than train as if it did.
func warnDropoutWithoutLevels(_ p: Double, layers: Int) {
    guard p > 0, layers == 1 else { return }
    warn("--dropout \(p) acts between stacked levels; with --layers 1 there is none, so it changes nothing (use --layers 2 or more)")
}

/// A printed figure: `format` applied to x, or "n/a" when x is missing or not finite (a division
/// by zero in a summary must never print as nan).
func figure(_ x: Double?, _ format: String) -> String {
    guard let x, x.isFinite else { return "n/a" }
    return String(format: format, x)
}
