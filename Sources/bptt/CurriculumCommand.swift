import BPTT
import Foundation

let curriculumCommand = Command(
    name: "curriculum",
    summary: "Curriculum: train on each length until eval accuracy reaches the target, then the next.",
    usage: "curriculum --model lstm --lengths 10-150:10 --optim adam [options]",
    options: [
        Option("model", "NAME", "rnn | rnn-relu | lstm | gru | gru-cho (default lstm)"),
        Option("lengths", "RANGE", "lengths in order (default 10-150:10)"),
        Option("optim", "NAME", "optimiser (default adam)"),
        Option("max-steps", "N", "step budget per length (default 3000)"),
        Option("eval-every", "N", "steps between evaluations (default 100)"),
        Option("eval-size", "N", "fresh palindromes per evaluation (default 500)"),
        Option("target", "ACC", "eval accuracy that moves to the next length, in (0, 1] (default 0.99)"),
        Option("keep-going", nil, "continue to the next length even when the target was missed"),
        Option("forget-bias-draw", nil, "LSTM: draw b_f like every other bias (the curriculum's default sets b_f = 1, as --forget-bias-one)"),
        Option("stop-at", "N", "stop after N steps in total, over all lengths (default: no limit; saved with --save, continue with --resume and a larger --stop-at)"),
        .alias("steps", of: "stop-at", "N"),
        quietOption,
        Option("json", nil, "end with one JSON line of results"),
        reportOption,
    ] + experimentOptions(out: "runs/curriculum", files: "curriculum.csv, curriculum_accuracy.svg, curriculum_steps.svg")
      + checkpointOptions(unit: "steps", resume: "continue the curriculum saved in PATH: finished lengths are kept, the length in progress continues at its step, up to --stop-at if given (its configuration is used; a flag that shapes the run, given again, must equal the saved value, else exit 2)"),
    run: runCurriculum
)

/// Flags that define a curriculum: given again on --resume, they must agree.
let curriculumTrainFields: [(flag: String, value: (TrainConfig) -> String)] = [
    ("model", { $0.model }), ("batch", { String($0.batch) }), ("hidden", { String($0.hidden) }), ("layers", { String($0.layers) }),
    ("bidirectional", { String($0.bidirectional) }), ("forget-bias-one", { String($0.forgetBiasOne) }),
    ("forget-bias-draw", { String(!$0.forgetBiasOne) }),
    ("optim", { $0.optimizer.kind.rawValue }), ("lr", { String($0.optimizer.lr) }), ("init", { initName($0.initializer, $0.recurrentInit) }), ("chrono-tmax", { String($0.chronoTMax ?? 0) }),
    ("clip", { String($0.clip ?? 0) }), ("seed", { String($0.seed) }),
]
let curriculumFields: [(flag: String, value: (CurriculumRun.Settings) -> String)] = [
    ("lengths", { $0.lengths.map(String.init).joined(separator: ",") }), ("max-steps", { String($0.maxSteps) }),
    ("eval-every", { String($0.evalEvery) }), ("eval-size", { String($0.evalSize) }), ("target", { String($0.target) }),
    ("keep-going", { String(!$0.stopOnFailure) }),
]

func runCurriculum(_ a: inout Arguments) throws -> Int32 {
    var base = try experimentConfig(a, optim: "adam")
    base.model = try a.choice("model", PalindromeTrainer.models, default: "lstm")
    // With b_f drawn like the other biases the LSTM stalled at T = 50 (89.8% after 10,000 steps,
    // seed 0); with b_f = 1 it reached 100% at every length to 150. So the curriculum starts there.
    if a.flag("forget-bias-draw") {
        guard !a.flag("forget-bias-one") else { throw BPTTError.usage("--forget-bias-draw and --forget-bias-one contradict each other") }
        base.forgetBiasOne = false
    } else if base.model == "lstm" && base.recurrentInit != .chrono {   // chrono draws b_f itself
        base.forgetBiasOne = true
    }
    let settings = CurriculumRun.Settings(
        lengths: try Experiments.parseLengths(a.string("lengths", default: "10-150:10")),
        maxSteps: try a.int("max-steps", default: 3000, min: 1), evalEvery: try a.int("eval-every", default: 100, min: 1),
        evalSize: try a.int("eval-size", default: 500, min: 1, max: 1_000_000), target: try a.double("target", default: 0.99, positive: true),
        stopOnFailure: !a.flag("keep-going"))
    guard settings.target <= 1 else { throw BPTTError.usage("--target: \(settings.target) is above 1 (an accuracy)") }
    let limit = try a.int("stop-at", default: 0, min: 1)
    let ck = try CheckpointFlags(a)
    let out = a.string("out", default: "runs/curriculum")
    let json = a.flag("json"), quiet = a.flag("quiet")
    let run: CurriculumRun
    if let saved = try ck.checkpoint(), let source = ck.resume {
        let s = try CurriculumRun.saved(saved, source: source)
        try checkResumeFlags(a, given: base, saved: s.base, source: source, curriculumTrainFields)
        try checkResumeFlags(a, given: settings, saved: s.settings, source: source, curriculumFields)
        run = try CurriculumRun(resuming: saved, threads: base.threads, source: source)
        if limit > 0 { try checkTarget("stop-at", limit, done: run.step, source: source) }
    } else {
        run = try CurriculumRun(base: base, settings: settings)
    }
    base = run.base
    let progress = Progress(total: limit > 0 ? limit : run.settings.lengths.count * run.settings.maxSteps, label: "step", offset: run.step, quiet: quiet)
    progress.line("curriculum: \(base.model), T = \(run.settings.lengths.map(String.init).joined(separator: ", ")), target \(run.settings.target), at most \(run.settings.maxSteps) steps per length, \(base.optimizer.kind.rawValue) lr \(base.optimizer.lr)"
                  + (ck.resume.map { "; resumed from \($0) at step \(run.step) (T=\(run.length), \(run.stepsInStage) steps into it)" } ?? ""))
    for st in run.stages { progress.result(stageLine(st)) }
    Interrupt.install()
    let start = Date()
    while !run.done && (limit == 0 || run.step < limit) {
        let (s, finished) = run.trainStep()
        if let bad = s.nonFinite {
            progress.finish()
            throw ck.nonFinite(bad, at: "step \(s.step) (T=\(run.length))")
        }
        if let st = finished { progress.result(stageLine(st)) }
        if ck.every > 0 && s.step % ck.every == 0 { try ck.write(run.checkpoint(), at: "step \(s.step)") }
        if try ck.interrupted(at: "step \(s.step) (T=\(run.length))", progress: progress, run.checkpoint()) { return 130 }
        progress.update(s.step, String(format: "T=%d  %d steps at it  loss %.4f  accuracy %.3f", run.length, run.stepsInStage, s.loss, s.accuracy))
    }
    progress.finish()
    try ck.write(run.checkpoint())
    let stages = run.stages
    try Experiments.writeCurriculum(stages, model: base.model, outDir: out)
    let reached = stages.filter(\.reached).map(\.length).max()
    progress.result(String(format: "%@longest length reached: %@; peak memory %.0f MiB; %.1f s; wrote %@/curriculum.csv and SVGs",
                         (run.done ? "" : "stopped at --stop-at \(limit) (resume with --resume and a larger --stop-at); ") as NSString,
                         (reached.map(String.init) ?? "none") as NSString, Experiments.peakMemoryMiB(), Date().timeIntervalSince(start), out as NSString))
    try writeReport(a.string("report")) {
        .curriculum(stages: stages, base: base, target: run.settings.target, maxSteps: run.settings.maxSteps)
    }
    if json {
        print(JSON.object([
            ("command", .string("curriculum")), ("model", .string(base.model)), ("steps", .int(run.step)), ("finished", .bool(run.done)),
            ("longest_reached", reached.map { .int($0) } ?? .null), ("peak_memory_mib", .number(Experiments.peakMemoryMiB())),
            ("stages", .array(stages.map { .object([("length", .int($0.length)), ("steps", .int($0.steps)),
                                                    ("eval_accuracy", .number($0.evalAccuracy)), ("reached", .bool($0.reached))]) })),
        ]).serialized())
    }
    return 0
}

func stageLine(_ s: Experiments.CurriculumStage) -> String {
    String(format: "T=%-4d %5d steps  eval accuracy %.4f  %@  %.1f s  peak memory %.0f MiB",
           s.length, s.steps, s.evalAccuracy, (s.reached ? "reached" : "NOT reached") as NSString, s.seconds, s.peakMemoryMiB)
}
