import BPTT
import Foundation

/// Flags shared by the experiment commands, read into a TrainConfig.
let experimentOptions = [
    Option("batch", "B", "batch size (default 128)"),
    Option("hidden", "H", "hidden units (default 128)"),
    Option("layers", "N", "stacked levels (default 1)"),
    Option("bidirectional", nil, "two directions per level"),
    Option("forget-bias-one", nil, "LSTM: initialise b_f to 1"),
    Option("lr", "RATE", "learning rate (default 1e-3)"),
    Option("init", "NAME", "pytorch | xavier | normal | randn (default pytorch; randn is the seeds' torch.randn)"),
    Option("clip", "NORM", "global gradient-norm clip, 0 = off (default 10)"),
    Option("seed", "S", "random seed (default 0)"),
    Option("threads", "N", "worker threads (default 2)"),
    Option("out", "DIR", "directory for the CSV and SVG files"),
]

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
    c.initializer = Initializer(rawValue: try a.choice("init", Initializer.allCases.map(\.rawValue), default: "pytorch"))!
    c.threads = try a.int("threads", default: 2, min: 1, max: 64)
    return c
}

let sweepCommand = Command(
    name: "sweep",
    summary: "Seed 001's experiment: train each model at each palindrome length; table, CSV and SVG charts.",
    usage: "sweep --models rnn,lstm,gru --lengths 5-10 --steps 10000 [options]",
    options: [
        Option("models", "LIST", "comma-separated: rnn, rnn-relu, lstm, gru, gru-cho (default rnn,lstm)"),
        Option("lengths", "RANGE", "5-10, 10-150:10 or 5,8,10 (default 5-10)"),
        Option("steps", "N", "training steps per run (default 10000)"),
        Option("optim", "NAME", "optimiser (default rmsprop, as the seed)"),
        Option("log-every", "N", "curve resolution in steps (default 100)"),
        Option("quiet", nil, "no progress bar"),
        Option("json", nil, "end with one JSON line of results"),
        reportOption,
    ] + experimentOptions,
    run: runSweep
)

func runSweep(_ a: inout Arguments) throws -> Int32 {
    var base = try experimentConfig(a, optim: "rmsprop")
    base.steps = try a.int("steps", default: 10_000, min: 1)
    let models = a.string("models", default: "rnn,lstm").split(separator: ",", omittingEmptySubsequences: false).map(String.init)
    for m in models where !PalindromeTrainer.models.contains(m) {
        throw BPTTError.usage("--models: unknown model '\(m)' (expected: \(PalindromeTrainer.models.joined(separator: ", ")))")
    }
    let lengths = try Experiments.parseLengths(a.string("lengths", default: "5-10"))
    let out = a.string("out", default: "runs/sweep")
    let logEvery = try a.int("log-every", default: 100, min: 1)
    print("sweep: \(models.joined(separator: ", ")) × T = \(lengths.map(String.init).joined(separator: ", ")), \(base.steps) steps each, batch \(base.batch), hidden \(base.hidden), \(base.optimizer.kind.rawValue) lr \(base.optimizer.lr)")
    let start = Date()
    // One bar over all runs; Ctrl-C ends the sweep after the current step, keeping the finished runs' files.
    let total = models.count * lengths.count * base.steps
    let progress = Progress(total: total, label: "step", quiet: a.flag("quiet"))
    var done = 0
    Interrupt.install()
    let results = try Experiments.sweep(models: models, lengths: lengths, base: base, logEvery: logEvery, outDir: out,
                                        shouldStop: { Interrupt.requested },
                                        onStep: { m, T, s in
                                            done += 1
                                            progress.update(done, String(format: "%@ T=%d  loss %.4f  accuracy %.3f", m as NSString, T, s.loss, s.accuracy))
                                        }) { line in
        progress.line(line)
    }
    progress.finish()
    if Interrupt.requested {
        print("interrupted: \(results.count) of \(models.count * lengths.count) runs finished; their files are in \(out) (sweep has no --resume: rerun the missing models/lengths)")
        return 130
    }
    print("\neval accuracy on 1,000 fresh palindromes")
    print("T    " + models.map { $0.padding(toLength: 9, withPad: " ", startingAt: 0) }.joined())
    for T in lengths {
        let row = models.map { m in results.first { $0.model == m && $0.length == T }.map { String(format: "%-9.4f", $0.evalAccuracy) } ?? "-        " }
        print(String(T).padding(toLength: 5, withPad: " ", startingAt: 0) + row.joined())
    }
    let seconds = Date().timeIntervalSince(start)
    print(String(format: "total %.1f s; wrote %@/sweep_curves.csv, sweep_summary.csv, sweep_eval_accuracy.svg, sweep_T*.svg", seconds, out as NSString))
    try writeReport(a.string("report")) { .sweep(results: results, models: models, lengths: lengths, base: base, seconds: seconds) }
    if a.flag("json") {
        print(JSON.object([
            ("command", .string("sweep")), ("steps", .int(base.steps)), ("seconds", .number(seconds)),
            ("results", .array(results.map { .object([("model", .string($0.model)), ("length", .int($0.length)),
                                                      ("eval_accuracy", .number($0.evalAccuracy)), ("final_loss", .number($0.finalLoss)),
                                                      ("seconds", .number($0.seconds))]) })),
        ]).serialized())
    }
    return 0
}
