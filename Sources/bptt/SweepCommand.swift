import BPTT
import Foundation

/// Flags shared by the experiment commands, read into a TrainConfig.
func experimentOptions(out folder: String, files: String) -> [Option] { [
    Option("batch", "B", "batch size (default 128)"),
    Option("hidden", "H", "hidden units (default 128)"),
    Option("layers", "N", "stacked levels (default 1)"),
    Option("bidirectional", nil, "two directions per level"),
    Option("forget-bias-one", nil, "LSTM: initialise b_f to 1"),
    Option("lr", "RATE", "learning rate (default 1e-3)"),
    Option("init", "NAME", "pytorch | xavier | normal | randn (N(0, 1), as torch.randn) | identity | orthogonal | chrono (long memory; default pytorch)"),
    Option("chrono-tmax", "T", "--init chrono: T_max, the longest dependency planned for (default: the length)"),
    Option("clip", "NORM", "global gradient-norm clip, 0 = off (default 10)"),
    Option("seed", "S", "random seed (default 0)"),
    Option("threads", "N", "worker threads (default 2); results do not depend on it"),
    Option("out", "DIR", "folder for \(files) (default \(folder))").writes(.folder(default: folder)),
] }

/// A comma-separated list of palindrome models (`--model rnn,lstm`); an empty or unknown name
/// is refused with the flag's name.
/// Refuses, before any model trains, an --init (or --forget-bias-one with chrono) that does not fit
/// one of the models an experiment will train in turn.
func checkInit(_ c: TrainConfig, models: [String]) throws {
    if let r = c.recurrentInit, let bad = models.first(where: { !r.cells.contains($0) }) {
        throw BPTTError.usage("--init \(r.rawValue) applies to \(r.cells.joined(separator: ", ")), not \(bad)")
    }
    if c.forgetBiasOne && c.recurrentInit == .chrono { throw BPTTError.usage("--forget-bias-one and --init chrono both set b_f; give one") }
    if c.forgetBiasOne && !models.contains("lstm") { throw BPTTError.usage("--forget-bias-one sets the LSTM's b_f, and no lstm is among --model \(models.joined(separator: ","))") }
}

func modelList(_ a: Arguments, _ flag: String, default value: String) throws -> [String] {
    let models = a.string(flag, default: value).split(separator: ",", omittingEmptySubsequences: false).map(String.init)
    for m in models where !PalindromeTrainer.models.contains(m) {
        throw BPTTError.usage("--\(flag): unknown model '\(m)' (expected: \(PalindromeTrainer.models.joined(separator: ", ")))")
    }
    if let twice = models.enumerated().first(where: { models[..<$0.offset].contains($0.element) }) {
        throw BPTTError.usage("--\(flag): \(twice.element) is listed twice (each model runs once)")
    }
    return models
}

func experimentConfig(_ a: Arguments, optim defaultOptim: String) throws -> TrainConfig {
    var c = TrainConfig()
    c.batch = try a.int("batch", default: 128, min: 1, max: 1_000_000)
    c.hidden = try a.int("hidden", default: 128, min: 1, max: 100_000)
    c.layers = try a.int("layers", default: 1, min: 1, max: 64)
    c.bidirectional = a.flag("bidirectional")
    c.forgetBiasOne = a.flag("forget-bias-one")
    let kind = OptimizerKind(rawValue: try a.choice("optim", OptimizerKind.allCases.map(\.rawValue), default: defaultOptim))!
    c.optimizer = OptimizerConfig(kind: kind, lr: try a.double("lr", default: 1e-3, positive: true))
    let clip = try a.double("clip", default: 10, nonNegative: true)
    c.clip = clip > 0 ? clip : nil
    c.seed = try a.seed()
    (c.initializer, c.recurrentInit, c.chronoTMax) = try initChoice(a)
    c.threads = try a.int("threads", default: 2, min: 1, max: 64)
    return c
}

let sweepCommand = Command(
    name: "sweep",
    summary: "Vanilla RNN against gated cells: train each model at each palindrome length; table, CSV and SVG charts.",
    usage: "sweep [--model rnn,lstm] --lengths 5-10 --steps 10000 [options]",
    options: [
        Option("model", "LIST", "one or more models, comma-separated: rnn, rnn-relu, lstm, gru, gru-cho (default rnn,lstm)"),
        .alias("models", of: "model", "LIST"),
        Option("lengths", "RANGE", "5-10, 10-150:10 or 5,8,10 (default 5-10)"),
        Option("steps", "N", "training steps per run (default 10000)"),
        Option("optim", "NAME", "optimiser (default rmsprop)"),
        Option("log-every", "N", "curve resolution in steps (default 100)"),
        Option("stop-at", "N", "stop after N steps over the whole sweep (runs × steps; saved with --save, continue with --resume)"),
        quietOption,
        Option("json", nil, "end with one JSON line of results"),
        reportOption,
    ] + experimentOptions(out: "runs/sweep", files: "sweep_curves.csv, sweep_summary.csv, sweep_eval_accuracy.svg, sweep_T<length>.svg") + checkpointOptions(unit: "steps", resume: "continue the sweep saved in PATH: finished runs are kept, the run in progress continues at its step (its configuration is used)"),
    run: runSweep
)

/// Flags that define an experiment's training (not the model list): given again on --resume, they must agree.
let experimentTrainFields = curriculumTrainFields.filter { $0.flag != "model" }
let sweepFields: [(flag: String, value: (SweepRun.Settings) -> String)] = [
    ("model", { $0.models.joined(separator: ",") }), ("lengths", { $0.lengths.map(String.init).joined(separator: ",") }),
    ("log-every", { String($0.logEvery) }),
]

func runSweep(_ a: inout Arguments) throws -> Int32 {
    var base = try experimentConfig(a, optim: "rmsprop")
    base.steps = try a.int("steps", default: 10_000, min: 1)
    let models = try modelList(a, "model", default: "rnn,lstm")
    try checkInit(base, models: models)
    let settings = SweepRun.Settings(models: models, lengths: try Experiments.parseLengths(a.string("lengths", default: "5-10")),
                                     logEvery: try a.int("log-every", default: 100, min: 1))
    let out = a.string("out", default: "runs/sweep")
    let stopAt = try a.int("stop-at", default: 0, min: 1)
    let ck = try CheckpointFlags(a)
    let run: SweepRun
    if let saved = try ck.checkpoint(), let source = ck.resume {
        let s = try SweepRun.saved(saved, source: source)
        try checkResumeFlags(a, given: base, saved: s.base, source: source, experimentTrainFields + [("steps", { String($0.steps) })])
        try checkResumeFlags(a, given: settings, saved: s.settings, source: source, sweepFields)
        run = try SweepRun(resuming: saved, threads: base.threads, source: source)
        if stopAt > 0 { try checkTarget("stop-at", stopAt, done: run.step, source: source) }
    } else {
        run = try SweepRun(base: base, settings: settings)
    }
    base = run.base
    let (lengths, runs) = (run.settings.lengths, run.settings.models)
    let quiet = a.flag("quiet")
    print("sweep: \(runs.joined(separator: ", ")) × T = \(lengths.map(String.init).joined(separator: ", ")), \(base.steps) steps each, batch \(base.batch), hidden \(base.hidden), \(base.optimizer.kind.rawValue) lr \(base.optimizer.lr)"
          + (ck.resume.map { "; resumed from \($0) at step \(run.step) (\(run.results.count) runs done, \(run.stepInRun) steps into \(run.current.model) T=\(run.current.length))" } ?? ""))
    let start = Date()
    // One bar over all runs.
    let progress = Progress(total: run.totalSteps, label: "step", offset: run.step, quiet: quiet)
    for r in run.results { progress.line(sweepLine(r, resumed: true)) }
    Interrupt.install()
    while !run.done && (stopAt == 0 || run.step < stopAt) {
        let (model, length) = run.current
        let (s, finished) = try run.trainStep()
        let place = "step \(s.step) of \(model) T=\(length)"
        if let bad = s.nonFinite {
            progress.finish()
            throw ck.nonFinite(bad, at: place)
        }
        if let r = finished { progress.line(sweepLine(r, resumed: false)) }
        if ck.every > 0 && run.step % ck.every == 0 { try ck.write(run.checkpoint(), at: "sweep step \(run.step)") }
        if try ck.interrupted(at: place + " (sweep step \(run.step))", progress: progress, run.checkpoint()) {
            try Experiments.writeSweep(run.results, models: runs, lengths: lengths, steps: base.steps, logEvery: run.settings.logEvery, outDir: out)
            print("\(run.results.count) of \(run.runCount) runs finished; their files are in \(out)" + (ck.save.map { "; continue with --resume \($0)" } ?? ""))
            return 130
        }
        progress.update(run.step, String(format: "%@ T=%d  loss %.4f  accuracy %.3f", model as NSString, length, s.loss, s.accuracy))
    }
    progress.finish()
    try ck.write(run.checkpoint())
    let results = run.results
    try Experiments.writeSweep(results, models: runs, lengths: lengths, steps: base.steps, logEvery: run.settings.logEvery, outDir: out)
    if !run.done {
        print("stopped at --stop-at \(stopAt): \(results.count) of \(run.runCount) runs finished" + (ck.save.map { "; continue with --resume \($0)" } ?? ""))
    }
    print("\neval accuracy on 1,000 fresh palindromes")
    print("T    " + runs.map { $0.padding(toLength: 9, withPad: " ", startingAt: 0) }.joined())
    for T in lengths {
        let row = runs.map { m in results.first { $0.model == m && $0.length == T }.map { String(format: "%-9.4f", $0.evalAccuracy) } ?? "-        " }
        print(String(T).padding(toLength: 5, withPad: " ", startingAt: 0) + row.joined())
    }
    let seconds = Date().timeIntervalSince(start)
    print(String(format: "total %.1f s; wrote %@/sweep_curves.csv, sweep_summary.csv, sweep_eval_accuracy.svg, sweep_T*.svg", seconds, out as NSString))
    try writeReport(a.string("report")) { .sweep(results: results, models: runs, lengths: lengths, base: base, seconds: seconds) }
    if a.flag("json") {
        print(JSON.object([
            ("command", .string("sweep")), ("steps", .int(base.steps)), ("finished", .bool(run.done)), ("seconds", .number(seconds)),
            ("results", .array(results.map { .object([("model", .string($0.model)), ("length", .int($0.length)),
                                                      ("eval_accuracy", .number($0.evalAccuracy)), ("final_loss", .number($0.finalLoss)),
                                                      ("seconds", .number($0.seconds))]) })),
        ]).serialized())
    }
    return 0
}

/// A finished run; `resumed`: restored from a checkpoint (its time is not saved).
func sweepLine(_ r: Experiments.SweepResult, resumed: Bool) -> String {
    String(format: "%-8@ T=%-3d eval accuracy %.4f  final loss %.4f  %@", r.model as NSString, r.length, r.evalAccuracy, r.finalLoss,
           (resumed ? "(from the checkpoint)" : String(format: "%.1f s", r.seconds)) as NSString)
}
