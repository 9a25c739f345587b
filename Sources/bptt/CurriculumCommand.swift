import BPTT
import Foundation

let curriculumCommand = Command(
    name: "curriculum",
    summary: "Seed 003's curriculum: train on each length until eval accuracy reaches the target, then the next.",
    usage: "curriculum --model lstm --lengths 10-150:10 --optim adam [options]",
    options: [
        Option("model", "NAME", "rnn | rnn-relu | lstm | gru | gru-cho (default lstm)"),
        Option("lengths", "RANGE", "lengths in order (default 10-150:10)"),
        Option("optim", "NAME", "optimiser (default adam, as the seed)"),
        Option("max-steps", "N", "step budget per length (default 3000)"),
        Option("eval-every", "N", "steps between evaluations (default 100)"),
        Option("eval-size", "N", "fresh palindromes per evaluation (default 500)"),
        Option("target", "ACC", "eval accuracy that moves to the next length (default 0.99)"),
        Option("keep-going", nil, "continue to the next length even when the target was missed"),
        Option("json", nil, "end with one JSON line of results"),
        reportOption,
    ] + experimentOptions,
    run: runCurriculum
)

func runCurriculum(_ a: inout Arguments) throws -> Int32 {
    var base = try experimentConfig(a, optim: "adam")
    base.model = try a.choice("model", PalindromeTrainer.models, default: "lstm")
    let lengths = try Experiments.parseLengths(a.string("lengths", default: "10-150:10"))
    let maxSteps = try a.int("max-steps", default: 3000, min: 1)
    let evalEvery = try a.int("eval-every", default: 100, min: 1)
    let evalSize = try a.int("eval-size", default: 500, min: 1)
    let target = try a.double("target", default: 0.99, positive: true)
    let out = a.string("out", default: "runs/curriculum")
    print("curriculum: \(base.model), T = \(lengths.map(String.init).joined(separator: ", ")), target \(target), at most \(maxSteps) steps per length, \(base.optimizer.kind.rawValue) lr \(base.optimizer.lr)")
    let start = Date()
    let stages = try Experiments.curriculum(base: base, lengths: lengths, maxSteps: maxSteps, evalEvery: evalEvery, evalSize: evalSize,
                                            target: target, stopOnFailure: !a.flag("keep-going"), outDir: out) { print($0); fflush(stdout) }
    let reached = stages.filter(\.reached).map(\.length).max()
    print(String(format: "longest length reached: %@; peak memory %.0f MiB; %.1f s; wrote %@/curriculum.csv and SVGs",
                 (reached.map(String.init) ?? "none") as NSString, Experiments.peakMemoryMiB(), Date().timeIntervalSince(start), out as NSString))
    try writeReport(a.string("report")) { .curriculum(stages: stages, base: base, target: target, maxSteps: maxSteps) }
    if a.flag("json") {
        print(JSON.object([
            ("command", .string("curriculum")), ("model", .string(base.model)),
            ("longest_reached", reached.map { .int($0) } ?? .null), ("peak_memory_mib", .number(Experiments.peakMemoryMiB())),
            ("stages", .array(stages.map { .object([("length", .int($0.length)), ("steps", .int($0.steps)),
                                                    ("eval_accuracy", .number($0.evalAccuracy)), ("reached", .bool($0.reached))]) })),
        ]).serialized())
    }
    return 0
}
