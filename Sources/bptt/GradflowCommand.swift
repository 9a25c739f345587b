import BPTT
import Foundation

let gradflowCommand = Command(
    name: "gradflow",
    summary: "Print and chart ‖∂L/∂h_t‖ for every t, at initialisation and after training: vanishing gradients in numbers.",
    usage: "gradflow --model rnn,lstm,gru --length 50 [options]",
    options: [
        Option("model", "LIST", "one or more models, comma-separated (default rnn,lstm,gru)"),
        Option("length", "T", "palindrome length (default 50)"),
        Option("steps", "N", "training steps before the second measurement (default 1000)"),
        Option("optim", "NAME", "optimiser (default rmsprop)"),
        Option("stop-at", "N", "stop after N training steps over all models (saved with --save, continue with --resume)"),
        quietOption,
        Option("json", nil, "end with one JSON line of results"),
        reportOption,
    ] + experimentOptions(out: "runs/gradflow", files: "gradflow.csv, gradflow_init.svg, gradflow_trained.svg, gradflow_jacobian.csv, gradflow_jacobian.svg, gradflow_spectral.svg, gradflow_saturation.svg") + checkpointOptions(unit: "steps", resume: "continue the experiment saved in PATH: finished models are kept, the model in progress continues at its step (its configuration is used)") + gradflowTextOptions,
    run: runGradflow
)

let gradflowFields: [(flag: String, value: (GradflowRun.Settings) -> String)] = [
    ("model", { $0.models.joined(separator: ",") }), ("steps", { String($0.trainSteps) }),
]

func runGradflow(_ a: inout Arguments) throws -> Int32 {
    if a.has("task") { return try runTextGradflow(&a) }
    if a.has("data") { throw BPTTError.usage("--data applies to gradflow --task text") }
    var base = try experimentConfig(a, optim: "rmsprop")
    base.length = try a.int("length", default: 50, min: 2, max: 100_000)
    let models = try modelList(a, "model", default: "rnn,lstm,gru")
    try checkInit(base, models: models)
    let settings = GradflowRun.Settings(models: models, trainSteps: try a.int("steps", default: 1000, min: 0))
    let out = a.string("out", default: "runs/gradflow")
    let stopAt = try a.int("stop-at", default: 0, min: 1)
    let ck = try CheckpointFlags(a)
    let run: GradflowRun
    if let saved = try ck.checkpoint(), let source = ck.resume {
        let s = try GradflowRun.saved(saved, source: source)
        try checkResumeFlags(a, given: base, saved: s.base, source: source, experimentTrainFields + [("length", { String($0.length) })])
        try checkResumeFlags(a, given: settings, saved: s.settings, source: source, gradflowFields)
        run = try GradflowRun(resuming: saved, threads: base.threads, source: source)
        if stopAt > 0 { try checkTarget("stop-at", stopAt, done: run.step, source: source) }
    } else {
        run = try GradflowRun(base: base, settings: settings)
    }
    base = run.base
    let steps = run.settings.trainSteps
    if let source = ck.resume {
        print("gradflow: resumed from \(source) at step \(run.step) (\(run.flows.count) models done, \(run.stepInRun) steps into \(run.current))")
    }
    for g in run.flows { print(flowLine(g, steps: steps)) }
    Interrupt.install()
    let quiet = a.flag("quiet")   // read here: a run with nothing left to train uses it too
    var bar: BPTT.Progress?
    while !run.done && (stopAt == 0 || run.step < stopAt) {
        let m = run.current
        let progress = bar ?? Progress(total: steps, label: "gradflow \(m) T=\(base.length)", offset: run.stepInRun, quiet: steps == 0 || quiet)
        bar = progress
        let (s, finished) = try run.advance()
        if let s {
            if let bad = s.nonFinite {
                progress.finish()
                throw ck.nonFinite(bad, at: "\(m) step \(s.step)")
            }
            progress.update(s.step, String(format: "loss %.4f  accuracy %.3f", s.loss, s.accuracy))
        }
        if let g = finished {
            progress.finish()
            bar = nil
            print(flowLine(g, steps: steps))
            fflush(stdout)
        }
        if s != nil && ck.every > 0 && run.step % ck.every == 0 { try ck.write(run.checkpoint(), at: "step \(run.step)") }
        if try ck.interrupted(at: "\(m) step \(run.stepInRun) (gradflow step \(run.step))", progress: progress, run.checkpoint()) { return 130 }
    }
    bar?.finish()
    try ck.write(run.checkpoint())
    let flows = run.flows
    try Experiments.writeGradientFlow(flows, length: base.length, trainSteps: steps, outDir: out)
    try Experiments.writeGradientAnatomy(flows, length: base.length, outDir: out)
    for g in flows { for line in anatomyLines(g) { print(line) } }
    if !run.done {
        print("stopped at --stop-at \(stopAt): \(flows.count) of \(run.settings.models.count) models finished" + (ck.save.map { "; continue with --resume \($0)" } ?? ""))
    }
    print("\n‖∂L/∂h_t‖ (loss at step T = \(base.length) only; mean cross-entropy over a batch of \(base.batch))")
    print("t    " + flows.map { "\($0.model) init".padding(toLength: 14, withPad: " ", startingAt: 0) + "\($0.model) trained".padding(toLength: 14, withPad: " ", startingAt: 0) }.joined())
    for t in 0..<base.length {
        print(String(t + 1).padding(toLength: 5, withPad: " ", startingAt: 0)
              + flows.map { String(format: "%-14.3e%-14.3e", $0.atInit[t], $0.trained[t]) }.joined())
    }
    print("wrote \(out)/gradflow.csv, gradflow_init.svg, gradflow_trained.svg, gradflow_jacobian.csv, gradflow_jacobian.svg, gradflow_spectral.svg, gradflow_saturation.svg")
    try writeReport(a.string("report")) { .gradflow(flows: flows, base: base, steps: steps) }
    if a.flag("json") {
        print(JSON.object([
            ("command", .string("gradflow")), ("length", .int(base.length)), ("steps", .int(steps)), ("finished", .bool(run.done)),
            ("models", .object(flows.map { ($0.model, .object([("init", .array($0.atInit.map { .number($0) })),
                                                               ("trained", .array($0.trained.map { .number($0) })),
                                                               ("eval_accuracy", .number($0.evalAccuracy))] + anatomyJSON($0))) })),
        ]).serialized())
    }
    return 0
}

func flowLine(_ g: Experiments.GradientFlow, steps: Int) -> String {
    // a ratio over a zero norm (every unit dead) prints n/a
    "\(g.model): ‖∂L/∂h_1‖/‖∂L/∂h_T‖ = \(figure(g.atInit[0] / g.atInit[g.atInit.count - 1], "%.3g")) at init, "
        + "\(figure(g.trained[0] / g.trained[g.trained.count - 1], "%.3g")) after \(steps) steps (eval accuracy \(figure(g.evalAccuracy, "%.3f")))"
}
