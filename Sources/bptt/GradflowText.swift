import BPTT
import Foundation

// `bptt gradflow --task text`: ‖∂L/∂h_t‖ inside one chunk of the character-level model, where a
// loss enters at every step, at initialisation and after --steps steps of stateful truncated BPTT.

let gradflowTextOptions: [Option] = [
    Option("task", "NAME", "text: the character-level model on the built-in text (or --data FILE): ‖∂L/∂h_t‖ over one chunk of --length T (default 100), loss at every step"),
    Option("data", "FILE", "text: the text (default: the built-in Shakespeare tragedies)"),
]

func runTextGradflow(_ a: inout Arguments) throws -> Int32 {
    guard try a.choice("task", ["text"], default: "text") == "text" else { return 2 }
    for flag in ["stop-at", "save", "save-every", "resume", "report"] where a.has(flag) {
        throw BPTTError.usage("--\(flag) does not apply to gradflow --task text (a short run, printed)")
    }
    let models = try modelList(a, "model", default: "rnn,lstm,gru")
    var c = TextConfig()
    c.layers = 1
    c.hidden = try a.int("hidden", default: 128, min: 1, max: 4096)   // (as the palindrome default)
    c.length = try a.int("length", default: 100, min: 2, max: 10_000)
    c.batch = try a.int("batch", default: 32, min: 1, max: 4096)
    c.optimizer = try optimizerConfig(a, kind: "adam", lr: 2e-3)
    c.seed = try a.seed()
    c.threads = try a.int("threads", default: 2, min: 1, max: 64)
    let steps = try a.int("steps", default: 200, min: 0)
    let out = a.string("out", default: "runs/gradflow")
    let spec = a.string("data") ?? "builtin"
    let read = try CharCorpus.read(spec)
    let corpus = try CharCorpus(text: read.text, source: read.source, validationFraction: 0.1)
    var flows: [(model: String, atInit: [Double], trained: [Double], validation: Double)] = []
    for m in models {
        var cm = c
        cm.model = m
        let t = try TextTrainer(cm, corpus: corpus, dataSpec: spec)
        let atInit = t.gradientNorms()
        let progress = Progress(total: steps, label: "gradflow text \(m) T=\(c.length)", quiet: a.flag("quiet") || steps == 0)
        for _ in 0..<steps {
            let s = t.trainStep()
            if let bad = s.nonFinite { progress.finish(); throw BPTTError.nonFinite("\(m) step \(s.step): \(bad) became NaN or infinite") }
            progress.update(s.step, String(format: "loss %.4f", s.loss))
        }
        progress.finish()
        let v = t.validate().nats
        flows.append((m, atInit, t.gradientNorms(), v))
        print("\(m): ‖∂L/∂h_1‖/‖∂L/∂h_T‖ = \(figure(atInit[0] / atInit[atInit.count - 1], "%.3g")) at init, "
              + "\(figure(flows.last!.trained[0] / flows.last!.trained[atInit.count - 1], "%.3g")) after \(steps) steps (validation \(figure(v, "%.4f")) nats/char)")
    }
    print("\n‖∂L/∂h_t‖ over one chunk of \(read.source), loss at every step (mean cross-entropy over T·B = \(c.length)·\(c.batch) characters)")
    print("t    " + flows.map { "\($0.model) init".padding(toLength: 14, withPad: " ", startingAt: 0) + "\($0.model) trained".padding(toLength: 14, withPad: " ", startingAt: 0) }.joined())
    for t in 0..<c.length {
        print(String(t + 1).padding(toLength: 5, withPad: " ", startingAt: 0) + flows.map { String(format: "%-14.3e%-14.3e", $0.atInit[t], $0.trained[t]) }.joined())
    }
    try Experiments.writeGradientFlow(flows.map { .init(model: $0.model, atInit: $0.atInit, trained: $0.trained, evalAccuracy: .nan) },
                                      length: c.length, trainSteps: steps, outDir: out)
    print("wrote \(out)/gradflow.csv, gradflow_init.svg, gradflow_trained.svg")
    if a.flag("json") {
        print(JSON.object([
            ("command", .string("gradflow")), ("task", .string("text")), ("length", .int(c.length)), ("steps", .int(steps)),
            ("models", .object(flows.map { ($0.model, .object([("init", .array($0.atInit.map { .number($0) })),
                                                               ("trained", .array($0.trained.map { .number($0) })),
                                                               ("validation_nats", .number($0.validation))])) })),
        ]).serialized())
    }
    return 0
}
