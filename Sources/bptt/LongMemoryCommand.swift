import BPTT
import Foundation

// `bptt train --task adding|copy` (a fresh batch each step), the --init values for long memory
// (identity, orthogonal, chrono) shared by every recurrent command, and --permute for --task pixels.

/// Flags only the long-memory tasks read (the recurrent inits apply to every recurrent task).
let longMemoryOptions: [Option] = [
    Option("chrono-tmax", "T", "--init chrono: T_max, the longest dependency planned for (default: the steps of an example)"),
    Option("permute", "SEED", "pixels: read the pixels in the fixed random order drawn from SEED (permuted pixel task)"),
]

/// The --init help text: the ordinary initialisers and the recurrent ones.
let initHelp = "pytorch | xavier | normal | randn | identity (W_hh = I, b_h = 0: rnn, rnn-relu) | orthogonal (every recurrent H×H matrix) | chrono (LSTM/GRU gate biases from T_max) (default pytorch)"

/// --init: an ordinary initialiser, or a recurrent one applied after PyTorch's draws.
func initChoice(_ a: Arguments) throws -> (Initializer, RecurrentInit?, chronoTMax: Int?) {
    let names = Initializer.allCases.map(\.rawValue) + RecurrentInit.allCases.map(\.rawValue)
    let v = try a.choice("init", names, default: "pytorch")
    let tmax = a.has("chrono-tmax") ? try a.int("chrono-tmax", default: 0, min: 2, max: 100_000_000) : nil
    if let r = RecurrentInit(rawValue: v) {
        if tmax != nil && r != .chrono { throw BPTTError.usage("--chrono-tmax applies to --init chrono, not --init \(v)") }
        return (.pytorch, r, tmax)
    }
    if tmax != nil { throw BPTTError.usage("--chrono-tmax applies to --init chrono, not --init \(v)") }
    return (Initializer(rawValue: v)!, nil, nil)
}

/// The --init value as given (for checkpoints and resume checks).
func initName(_ i: Initializer, _ r: RecurrentInit?) -> String { r?.rawValue ?? i.rawValue }

/// Flags that define an adding/copy run: given again on --resume, they must agree.
let longMemoryFields: [(flag: String, value: (LongMemoryConfig) -> String)] = [
    ("model", { $0.model }), ("layers", { String($0.layers) }), ("hidden", { String($0.hidden) }), ("length", { String($0.length) }),
    ("batch", { String($0.batch) }), ("clip", { String($0.clip ?? 0) }), ("init", { initName($0.initializer, $0.recurrentInit) }),
    ("chrono-tmax", { String($0.chronoTMax ?? 0) }), ("forget-bias-one", { String($0.forgetBiasOne) }), ("seed", { String($0.seed) }),
] + lifted(\LongMemoryConfig.optimizer)

func runLongMemoryTask(_ a: inout Arguments, task: String) throws -> Int32 {
    for flag in sequenceTaskOptions.map(\.name) + ["truncate", "dropout", "bidirectional", "init-from", "permute"] where a.given(flag) && flag != "out" {
        throw BPTTError.usage("--\(flag) does not apply to --task \(task)")
    }
    var c = LongMemoryConfig()
    c.task = task
    c.model = try a.choice("model", CellKind.names, default: "lstm")
    c.layers = try a.int("layers", default: 1, min: 1, max: 16)
    c.hidden = try a.int("hidden", default: 128, min: 1, max: 100_000)
    c.length = try a.int("length", default: 100, min: task == "adding" ? 2 : 1, max: 1_000_000)
    c.steps = try a.int("steps", default: 2000, min: 1)
    c.batch = try a.int("batch", default: 64, min: 1, max: 1_000_000)
    c.optimizer = try optimizerConfig(a, kind: "adam", lr: 1e-3)
    let clip = try a.double("clip", default: 1, nonNegative: true)
    c.clip = clip > 0 ? clip : nil
    (c.initializer, c.recurrentInit, c.chronoTMax) = try initChoice(a)
    c.forgetBiasOne = a.flag("forget-bias-one")
    if c.forgetBiasOne && c.model != "lstm" { throw BPTTError.usage("--forget-bias-one applies to --model lstm, not \(c.model)") }
    if c.forgetBiasOne && c.recurrentInit == .chrono { throw BPTTError.usage("--forget-bias-one and --init chrono both set b_f; give one") }
    c.seed = try a.seed()
    c.threads = try a.int("threads", default: 2, min: 1, max: 64)
    c.evalSize = try a.int("eval-size", default: 1000, min: 1, max: 1_000_000)
    let logEvery = try a.int("log-every", default: 10, min: 1)
    let ck = try CheckpointFlags(a)
    let json = a.flag("json"), quiet = a.flag("quiet")
    let trainer: LongMemoryTrainer
    if let saved = try ck.checkpoint(), let source = ck.resume {
        let s = try LongMemoryTrainer.savedConfig(saved, task: task, source: source)
        try checkResumeFlags(a, given: c, saved: s, source: source, longMemoryFields)
        let given = c
        trainer = try LongMemoryTrainer(resuming: saved, source: source) { saved in
            saved.steps = given.steps
            saved.threads = given.threads
            if a.has("eval-size") { saved.evalSize = given.evalSize }
        }
        try checkTarget("steps", c.steps, done: trainer.step, source: source)
    } else {
        trainer = try LongMemoryTrainer(c)
    }
    c = trainer.config
    let header = ["step", "step_loss", "mean_loss_since_previous_row", "step_accuracy", "mean_accuracy_since_previous_row", "grad_norm", "examples_per_s"]
    var log: CSVWriter? = nil
    if let path = a.string("log") { log = try CSVWriter(path: path, header: header) }
    let out = a.string("out")
    if let out { try makeOutputFolder(out) }
    let lossName = task == "adding" ? "MSE" : "cross-entropy per step"
    let accuracyName = task == "adding" ? "answers within 0.04" : "symbols recalled"
    let steps = c.sequenceSteps
    if !quiet {
        print("training \(c.model) on \(task) T=\(c.length) (\(steps) steps per example): \(c.steps) steps, batch \(c.batch), hidden \(c.hidden), "
              + "\(c.optimizer.kind.rawValue) lr \(c.optimizer.lr), init \(initName(c.initializer, c.recurrentInit)), clip \(c.clip.map { String($0) } ?? "off"), \(trainer.parameterCount) parameters")
        print(task == "adding" ? String(format: "baseline: always answering 1 gives MSE %.4f", c.baseline)
                               : String(format: "baseline: the memoryless answer gives %.4f nats per step (10 log 8 / (T + 20))", c.baseline))
        if let source = ck.resume { print("resumed from \(source) at step \(trainer.step)") }
    }
    Interrupt.install()
    let start = Date(), firstStep = trainer.step
    var last = StepStats(step: trainer.step, loss: .nan, accuracy: .nan, gradNorm: .nan)
    var curve: [StepStats] = []
    var points: [(step: Double, loss: Double, accuracy: Double)] = []
    var (lossSum, accuracySum, since) = (0.0, 0.0, 0)
    let progress = Progress(total: c.steps, label: "step", offset: firstStep, quiet: quiet)
    while trainer.step < c.steps {
        last = trainer.trainStep()
        if let bad = last.nonFinite {
            progress.finish()
            try log?.close()
            throw ck.nonFinite(bad, at: "step \(last.step)")
        }
        if a.has("report") { curve.append(last) }
        if ck.every > 0 && last.step % ck.every == 0 { try ck.write(trainer.checkpoint(), at: "step \(last.step)") }
        if try ck.interrupted(at: "step \(last.step)", progress: progress, trainer.checkpoint()) {
            try log?.close()
            return 130
        }
        let rate = Double((last.step - firstStep) * c.batch) / max(Date().timeIntervalSince(start), 1e-9)
        lossSum += last.loss; accuracySum += last.accuracy; since += 1
        if last.step % logEvery == 0 || last.step == c.steps {
            let meanLoss = lossSum / Double(since), meanAccuracy = accuracySum / Double(since)
            try log?.write([String(last.step), fmt(last.loss), fmt(meanLoss), fmt(last.accuracy), fmt(meanAccuracy), fmt(last.gradNorm), String(format: "%.0f", rate)])
            points.append((Double(last.step), meanLoss, meanAccuracy))
            (lossSum, accuracySum, since) = (0, 0, 0)
        }
        progress.update(last.step, String(format: "\(lossName) %.4f  \(accuracyName) %.3f  grad-norm %.3g  %.0f examples/s",
                                          last.loss, last.accuracy, last.gradNorm, rate))
    }
    progress.finish()
    let seconds = Date().timeIntervalSince(start)
    try log?.close()
    try ck.write(trainer.checkpoint())
    let eval = trainer.evaluate()
    let rate = Double((trainer.step - firstStep) * c.batch) / max(seconds, 1e-9)
    print(String(format: "eval \(lossName) %.4f (baseline %.4f; %.4f × the baseline), \(accuracyName) %.4f, on %d fresh examples; %.1f s, %.0f examples/s",
                 eval.loss, c.baseline, eval.loss / c.baseline, eval.accuracy, c.evalSize, seconds, rate))
    let title = "\(c.model) on \(task) T=\(c.length)"
    func baselineSeries() -> (String, [(x: Double, y: Double)]) {
        ("baseline (memoryless)", points.isEmpty ? [] : [(points.first!.step, c.baseline), (points.last!.step, c.baseline)])
    }
    if let out {
        try writeCurves(out + "/curves.svg", title: title, x: "step", integerX: false,
                        loss: [("mean \(lossName) since the previous point", points.map { ($0.step, $0.loss) }), baselineSeries()],
                        accuracy: [(accuracyName, points.map { ($0.step, $0.accuracy) })])
        let csv = try CSVWriter(path: out + "/curves.csv", header: ["step", "mean_loss_since_previous_row", "mean_accuracy_since_previous_row", "baseline_loss"])
        for p in points { try csv.write([String(Int(p.step)), fmt(p.loss), fmt(p.accuracy), fmt(c.baseline)]) }
        try csv.close()
        print("wrote \(out)/curves.csv and \(out)/curves.svg")
    }
    try writeReport(a.string("report")) {
        var r = Report(title: "bptt train: \(title)")
        r.configuration = [("task", task), ("model", c.model), ("length T", String(c.length)), ("steps per example", String(steps)),
                           ("hidden", String(c.hidden)), ("layers", String(c.layers)), ("batch", String(c.batch)),
                           ("optimiser", "\(c.optimizer.kind.rawValue) lr \(c.optimizer.lr)"), ("clip", c.clip.map { String($0) } ?? "off"),
                           ("init", initName(c.initializer, c.recurrentInit)), ("seed", String(c.seed)), ("training steps", String(trainer.step))]
        r.headline = [("eval \(lossName)", String(format: "%.4f", eval.loss)), ("memoryless baseline", String(format: "%.4f", c.baseline)),
                      ("eval \(accuracyName)", String(format: "%.4f", eval.accuracy)), ("examples/s", String(format: "%.0f", rate))]
        var lossChart = SVGChart(title: "\(title): \(lossName)", xLabel: "step", yLabel: lossName)
        lossChart.series = [.init(name: "the step's \(lossName)", points: curve.map { (Double($0.step), $0.loss) }),
                            .init(name: "baseline (memoryless)", points: curve.isEmpty ? [] : [(Double(curve.first!.step), c.baseline), (Double(curve.last!.step), c.baseline)])]
        var accuracyChart = SVGChart(title: "\(title): \(accuracyName)", xLabel: "step", yLabel: accuracyName)
        accuracyChart.series = [.init(name: accuracyName, points: curve.map { (Double($0.step), $0.accuracy) })]
        accuracyChart.yRange = 0...1
        r.sections = [.init("Training", [.chart(lossChart), .chart(accuracyChart)])]
        return r
    }
    if json {
        print(JSON.object([
            ("model", .string(c.model)), ("task", .string(task)), ("length", .int(c.length)), ("sequence_steps", .int(steps)),
            ("steps", .int(trainer.step)), ("batch", .int(c.batch)), ("hidden", .int(c.hidden)), ("layers", .int(c.layers)),
            ("optimizer", .string(c.optimizer.kind.rawValue)), ("lr", .number(c.optimizer.lr)), ("init", .string(initName(c.initializer, c.recurrentInit))),
            ("seed", .int(Int(truncatingIfNeeded: c.seed))),
            ("final_loss", .number(last.loss)), ("final_accuracy", .number(last.accuracy)),
            ("eval_loss", .number(eval.loss)), ("eval_accuracy", .number(eval.accuracy)), ("baseline_loss", .number(c.baseline)),
            ("examples_per_s", .number(rate.rounded())), ("seconds", .number((seconds * 1000).rounded() / 1000)),
        ]).serialized())
    }
    return 0
}

/// gradflow's Jacobian, spectrum and saturation summary lines for one model.
func anatomyLines(_ g: Experiments.GradientFlow) -> [String] {
    var lines: [String] = []
    for (phase, a) in [("at init", g.anatomyInit), ("trained", g.anatomyTrained)] {
        guard let a, let first = a.norms.first, let s = a.topSingularValues.first else { continue }
        let sat = a.saturation.keys.sorted().map { gate -> String in
            let v = a.saturation[gate]!
            return "\(gate) \(figure(v.reduce(0, +) / Double(max(v.count, 1)), "%.2f"))"
        }
        lines.append("\(g.model) \(phase): ‖∂h_T/∂h_0‖ = \(figure(first, "%.3e")), its top singular values \(s.map { figure($0, "%.3e") }.joined(separator: ", "))"
                     + (sat.isEmpty ? "" : "; mean gate saturation " + sat.joined(separator: ", ")))
    }
    if let sp = g.spectral, let a = sp.first, let b = sp.last {
        for name in a.spectralRadius.keys.sorted() {
            lines.append("\(g.model) \(name): ρ \(figure(a.spectralRadius[name], "%.3f")) → \(figure(b.spectralRadius[name], "%.3f")), σ_max \(figure(a.largestSingularValue[name], "%.3f")) → \(figure(b.largestSingularValue[name], "%.3f")) (steps \(a.step) → \(b.step))")
        }
    }
    return lines
}

/// gradflow's --json fields for the Jacobian products, the spectrum and the saturation.
func anatomyJSON(_ g: Experiments.GradientFlow) -> [(String, JSON)] {
    func summary(_ a: JacobianSummary) -> JSON {
        .object([("jacobian_norm", .array(a.norms.map { .number($0) })),
                 ("jacobian_top_singular_values", .array(a.topSingularValues.map { .array($0.map { .number($0) }) })),
                 ("gate_saturation", .object(a.saturation.keys.sorted().map { ($0, .array(a.saturation[$0]!.map { .number($0) })) }))])
    }
    var out: [(String, JSON)] = []
    if let a = g.anatomyInit { out.append(("anatomy_init", summary(a))) }
    if let a = g.anatomyTrained { out.append(("anatomy_trained", summary(a))) }
    if let sp = g.spectral {
        out.append(("spectral", .array(sp.map { p in
            .object([("step", .int(p.step)),
                     ("spectral_radius", .object(p.spectralRadius.keys.sorted().map { ($0, .number(p.spectralRadius[$0]!)) })),
                     ("largest_singular_value", .object(p.largestSingularValue.keys.sorted().map { ($0, .number(p.largestSingularValue[$0]!)) }))])
        })))
    }
    return out
}
