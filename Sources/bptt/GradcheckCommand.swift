import BPTT
import Foundation

let gradcheckCommand = Command(
    name: "gradcheck",
    summary: """
    Check every analytic gradient (parameters, inputs x_t, h0) against central finite differences
    in Float64. Exit 1 when any tensor's max relative error reaches \(GradientCheck.threshold).
    """,
    usage: "gradcheck --model rnn|rnn-relu|lstm|gru|gru-cho|mlp|autoencoder|gan|embedding|dropout|masked-lstm|masked-bilstm [--layers N] [--bidirectional] [--json] [--dump FILE] [options]\n       bptt gradcheck --case CASE.json --answers MINE.json [--json]",
    options: [
        Option("model", "NAME", "rnn | rnn-relu | lstm | gru | gru-cho | mlp | autoencoder | gan | embedding | dropout | masked-lstm | masked-bilstm (default rnn)"),
        Option("layers", "N", "stacked levels (default 1)"),
        Option("bidirectional", nil, "two directions per level"),
        Option("mask", "MODE", "autoencoder: left-half | right-half | random:P | patches:K | all (default all)"),
        Option("length", "T", "time steps (default 4)"),
        Option("batch", "B", "batch size (default 3)"),
        Option("input", "D", "input width (default 2)"),
        Option("hidden", "H", "hidden units (default 5)"),
        Option("classes", "K", "classes (default 4)"),
        Option("output", "MODE", "last (many-to-one) | every-step (many-to-many) (default last)"),
        Option("no-h0", nil, "start from h0 = 0 instead of a random h0"),
        Option("seed", "S", "random seed of the case (default 0)"),
        Option("step", "EPS", "finite-difference step (default \(GradientCheck.defaultStep))"),
        .alias("epsilon", of: "step", "EPS"),
        Option("stencil", "N", "3 or 5 points (default 5)"),
        Option("dump", "FILE", "write the checked case (inputs, targets, h0, parameters, gradients, loss, per-step adjoints) as JSON; with --break, the broken pass's gradients").writes(.file),
        Option("case", "FILE", "with --answers: a case --dump wrote (rnn, rnn-relu, lstm, gru, gru-cho; one unit)"),
        Option("answers", "FILE", "gradients computed elsewhere, {\"gradients\": {name: {shape, data}}, \"steps\": {q: [t][b][j]}, \"dtype\"}: compared with the library's on --case; exit 1 on a mismatch"),
        Option("json", nil, "end with one JSON line of results"),
        Option("locate", nil, "rnn, rnn-relu, lstm, gru, gru-cho: also check ∂L/∂(every quantity at every step) and name where the backward pass first goes wrong"),
        Option("break", "NAME", "switch on a catalogued mistake in the backward pass (see --list-breaks); the check must fail"),
        Option("list-breaks", nil, "list the catalogue of deliberate mistakes and exit"),
    ] + epsilonSweepOptions + gradcheckTextOptions,
    run: runGradcheck
)

func runGradcheck(_ a: inout Arguments) throws -> Int32 {
    if a.has("task") { return try runTextGradcheck(&a) }
    for flag in ["embedding", "vocabulary"] where a.has(flag) { throw BPTTError.usage("--\(flag) applies to gradcheck --task text") }
    if a.flag("list-breaks") { return listBreaks(json: a.flag("json")) }
    if a.has("case") || a.has("answers") { return try runAnswers(a) }
    let model = try a.choice("model", CellKind.names + ["mlp", "autoencoder", "gan"] + TextGradientCheck.models, default: "rnn")
    if a.has("svg") && !a.given("epsilon-sweep") { throw BPTTError.usage("--svg: the chart is written only with --epsilon-sweep") }
    if a.given("epsilon-sweep") && a.has("break") { throw BPTTError.usage("--epsilon-sweep and --break: the sweep charts a correct gradient; check a mistake without --epsilon-sweep") }
    if a.flag("epsilon-sweep") { return try runEpsilonSweep(&a, model: model) }
    let locate = try LocateOptions(a, model: model)
    if ["mlp", "autoencoder", "gan"].contains(model) { return try runImageModelGradcheck(model, a) }
    if TextGradientCheck.models.contains(model) {
        // the sentiment model (embedding, fixed dropout masks) and masked LSTM batches of lengths 5, 2, 1, 4
        let step = try finiteDifferenceStep(a)
        let results = TextGradientCheck.run(model, seed: try a.seed(), step: step)
        return report(results, title: model, sizes: "mixed lengths 5,2,1,4 with garbage padding", model: model,
                      stencil: .fivePoint, step: step, json: a.flag("json"))
    }
    let output = try a.choice("output", ["last", "every-step"], default: "last")
    let stencil = GradientCheck.Stencil(rawValue: try a.choice("stencil", ["3", "5"], default: "5"))!
    let step = try finiteDifferenceStep(a)
    let layers = try a.int("layers", default: 1, min: 1, max: 8)
    // every cell, one unit or a stack, on the model `train --model` trains
    var spec = SequenceCheckSpec(model: CellKind(rawValue: model)!)
    spec.layers = layers
    spec.bidirectional = a.flag("bidirectional")
    spec.output = output == "last" ? .last : .everyStep
    try readCaseSizes(a, into: &spec)
    if let locate, let path = a.string("dump") {
        try writeFileAtomically(path, SequenceGradientCheck.dump(spec, breaking: locate.broken).serialized() + "\n")
    }
    if let locate {
        return reportLocate(SequenceGradientCheck.locate(spec, breaking: locate.broken, steps: locate.steps, step: step, stencil: stencil),
                            title: model, sizes: "T=\(spec.length) B=\(spec.batch) D=\(spec.input) H=\(spec.hidden) K=\(spec.classes)",
                            model: model, T: spec.length, B: spec.batch, stencil: stencil, step: step, json: a.flag("json"))
    }
    let run = SequenceGradientCheck.run(spec, step: step, stencil: stencil, dump: a.string("dump") != nil)
    if let path = a.string("dump"), let d = run.dump { try writeFileAtomically(path, d.serialized() + "\n") }
    let title = "\(model)\(layers > 1 ? " \(layers) layers" : "")\(spec.bidirectional ? " bidirectional" : "")"
    return report(run.results, title: title, sizes: "T=\(spec.length) B=\(spec.batch) D=\(spec.input) H=\(spec.hidden) K=\(spec.classes)",
                  model: model, stencil: stencil, step: step, json: a.flag("json"))
}

/// The sizes and seed of a check case (`--batch --length --input --hidden --classes --no-h0 --seed`),
/// shared by the check and `--epsilon-sweep`.
func readCaseSizes(_ a: Arguments, into spec: inout SequenceCheckSpec) throws {
    spec.batch = try a.int("batch", default: 3, min: 1, max: 64)
    spec.length = try a.int("length", default: 4, min: 1, max: 64)
    spec.input = try a.int("input", default: 2, min: 1, max: 64)
    spec.hidden = try a.int("hidden", default: 5, min: 1, max: 64)
    spec.classes = try a.int("classes", default: 4, min: 2, max: 64)
    spec.withH0 = !a.flag("no-h0")
    spec.seed = try a.seed()
}

/// `extra`: more output after the table (per-step adjoints), its JSON fields, and whether it passed.
func report(_ results: [GradientCheck.Result], title: String, sizes: String, model: String,
            stencil: GradientCheck.Stencil, step: Double, json: Bool,
            extra: (print: () -> Void, json: [(String, JSON)], passed: Bool)? = nil) -> Int32 {
    let worst = GradientCheck.worst(results.map(\.maxRelError))
    let passed = results.allSatisfy(\.passed) && extra?.passed != false
    let width = max(7, results.map(\.name.count).max() ?? 0)
    print("gradient check: \(title), \(sizes), Float64, \(stencil.rawValue)-point stencil, step \(step)")
    print("tensor".padding(toLength: width, withPad: " ", startingAt: 0) + " elements  max rel error  analytic (worst)   numeric (worst)")
    for r in results {
        let kinks = r.kinks > 0 ? "  (\(r.kinks) at a ReLU kink, below)" : ""
        print(r.name.padding(toLength: width, withPad: " ", startingAt: 0)
              + String(format: " %8d  %13.3e  %+.10e  %+.10e  ", r.count, r.maxRelError, r.analytic, r.numeric)
              + (r.passed ? "ok" : "FAIL") + kinks)
    }
    GradientCheck.kinkLines(results).forEach { print($0) }
    extra?.print()
    print(String(format: "max relative error %.3e (threshold %.0e): %@", worst, GradientCheck.threshold,
                 (passed ? "pass" : "FAIL") as NSString))
    if json {
        print(JSON.object([
            ("model", .string(model)), ("max_rel_error", .number(worst)),
            ("threshold", .number(GradientCheck.threshold)),
            ("passed", .bool(passed)),
            ("tensors", .object(results.map { ($0.name, .number($0.maxRelError)) })),
            ("kinks", GradientCheck.kinksJSON(results)),
        ] + (extra?.json ?? [])).serialized())
    }
    return passed ? 0 : 1
}

/// The MLP-family checks: every loss and hidden activation (mlp), every mask mode (autoencoder),
/// D and G-through-D (gan). Same table and JSON shape as the RNN check.
func runImageModelGradcheck(_ model: String, _ a: Arguments) throws -> Int32 {
    let seed = try a.seed()
    let step = try finiteDifferenceStep(a)
    var results: [(name: String, r: GradientCheck.Result)] = []
    func add(_ prefix: String, _ rs: [GradientCheck.Result]) { results += rs.map { (prefix + $0.name, $0) } }
    switch model {
    case "mlp":
        let hiddens: [Activation] = [.relu, .leakyReLU(alpha: 0.2), .sigmoid, .tanh]
        for loss in MLPCheckCase.Loss.allCases {
            for h in hiddens {
                add("\(loss.rawValue)/\(h)/", MLPCheckCase.random(loss: loss, hidden: h, seed: seed).check(step: step))
            }
        }
        add("dropout/", MLPCheckCase.random(loss: .mse, hidden: .tanh, sizes: [5, 8, 7, 4], batch: 4, dropout: 0.5, seed: seed).check(step: step))
    case "autoencoder":
        let text = a.string("mask", default: "all")
        let masks: [MaskedAutoencoder<Double>.Mask]
        if text == "all" { masks = [.leftHalf, .rightHalf, .random(0.5), .patches(2)] }
        else if let m = MaskedAutoencoder<Double>.Mask(parsing: text) { masks = [m] }
        else { throw BPTTError.usage("--mask: unknown value '\(text)'") }
        for m in masks {
            for on in [MaskedAutoencoder<Double>.LossOn.masked, .all] {
                add("\(m)/\(on.rawValue)/", AutoencoderCheckCase.random(mask: m, lossOn: on, seed: seed).check(step: step))
            }
        }
    default:
        let c = GANCheckCase.random(seed: seed)
        add("", c.checkDiscriminator(step: step))
        add("", c.checkGenerator(step: step))
    }
    let worst = GradientCheck.worst(results.map(\.r.maxRelError))
    print("gradient check: \(model), Float64, 5-point stencil, step \(step)")
    for (name, r) in results {
        let kinks = r.kinks > 0 ? "  (\(r.kinks) at a kink, below)" : ""
        print(name.padding(toLength: 34, withPad: " ", startingAt: 0)
              + String(format: " %6d  %10.3e  ", r.count, r.maxRelError) + (r.passed ? "ok" : "FAIL") + kinks)
    }
    GradientCheck.kinkLines(results.map(\.r), names: results.map(\.name)).forEach { print($0) }
    print(String(format: "max relative error %.3e (threshold %.0e): %@", worst, GradientCheck.threshold,
                 (results.allSatisfy(\.r.passed) ? "pass" : "FAIL") as NSString))
    if a.flag("json") {
        print(JSON.object([
            ("model", .string(model)), ("max_rel_error", .number(worst)),
            ("threshold", .number(GradientCheck.threshold)), ("passed", .bool(results.allSatisfy(\.r.passed))),
            ("tensors", .object(results.map { ($0.name, .number($0.r.maxRelError)) })),
            ("kinks", GradientCheck.kinksJSON(results.map(\.r), names: results.map(\.name))),
        ]).serialized())
    }
    return worst < GradientCheck.threshold ? 0 : 1
}

/// `--step EPS`: positive and at most 0.5 (a larger step measures the function far from the point, not its slope).
func finiteDifferenceStep(_ a: Arguments) throws -> Double {
    let step = try a.double("step", default: GradientCheck.defaultStep, positive: true)
    guard step <= 0.5 else { throw BPTTError.usage("--step: \(step) is too large for a finite difference (at most 0.5)") }
    return step
}
