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
        Option("json", nil, "end with one JSON line of results"),
        reportOption,
    ] + experimentOptions,
    run: runGradflow
)

func runGradflow(_ a: inout Arguments) throws -> Int32 {
    var base = try experimentConfig(a, optim: "rmsprop")
    base.length = try a.int("length", default: 50, min: 2, max: 100_000)
    let steps = try a.int("steps", default: 1000, min: 0)
    let models = a.string("model", default: "rnn,lstm,gru").split(separator: ",").map(String.init)
    for m in models where !PalindromeTrainer.models.contains(m) {
        throw BPTTError.usage("--model: unknown model '\(m)' (expected: \(PalindromeTrainer.models.joined(separator: ", ")))")
    }
    let out = a.string("out", default: "runs/gradflow")
    let flows = try Experiments.gradientFlow(models: models, base: base, trainSteps: steps, outDir: out) { print($0); fflush(stdout) }
    print("\n‖∂L/∂h_t‖ (loss at step T = \(base.length) only; mean cross-entropy over a batch of \(base.batch))")
    print("t    " + flows.map { "\($0.model) init".padding(toLength: 14, withPad: " ", startingAt: 0) + "\($0.model) trained".padding(toLength: 14, withPad: " ", startingAt: 0) }.joined())
    for t in 0..<base.length {
        print(String(t + 1).padding(toLength: 5, withPad: " ", startingAt: 0)
              + flows.map { String(format: "%-14.3e%-14.3e", $0.atInit[t], $0.trained[t]) }.joined())
    }
    print("wrote \(out)/gradflow.csv, gradflow_init.svg, gradflow_trained.svg")
    try writeReport(a.string("report")) { .gradflow(flows: flows, base: base, steps: steps) }
    if a.flag("json") {
        print(JSON.object([
            ("command", .string("gradflow")), ("length", .int(base.length)), ("steps", .int(steps)),
            ("models", .object(flows.map { ($0.model, .object([("init", .array($0.atInit.map { .number($0) })),
                                                               ("trained", .array($0.trained.map { .number($0) })),
                                                               ("eval_accuracy", .number($0.evalAccuracy))])) })),
        ]).serialized())
    }
    return 0
}
