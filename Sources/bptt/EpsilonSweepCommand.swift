import BPTT
import Foundation

// `bptt gradcheck --model M --epsilon-sweep [--json] [--svg FILE]`: the step-size / precision
// sweep of derivations/gradcheck.md. Dispatched from GradcheckCommand.swift.

let epsilonSweepOptions = [
    Option("epsilon-sweep", nil, "max relative error for steps 1e-1 … 1e-10, 3- and 5-point, Float64 and Float32 (rnn, rnn-relu, lstm, gru, gru-cho)"),
    Option("svg", "FILE", "with --epsilon-sweep: write the log-log chart (our SVG writer)").writes(.file),
]

func runEpsilonSweep(_ a: inout Arguments, model: String) throws -> Int32 {
    guard EpsilonSweep.models.contains(model), let kind = CellKind(rawValue: model) else {
        throw BPTTError.usage("--epsilon-sweep: --model must be one of \(EpsilonSweep.models.joined(separator: ", "))")
    }
    var spec = SequenceCheckSpec(model: kind)
    try readCaseSizes(a, into: &spec)
    let svg = a.string("svg")
    let r = EpsilonSweep.run(spec)

    print("epsilon sweep: \(model), \(r.sizes), max relative error over \(r.elements) elements (every parameter and input)")
    for (title, pick) in [("max relative error (what the checker judges)", \EpsilonSweep.Series.maxRelError),
                          ("median relative error (a typical element)", \EpsilonSweep.Series.medianRelError)] {
        print("\n" + title)
        print("step h  " + r.series.map { $0.name.padding(toLength: 17, withPad: " ", startingAt: 0) }.joined())
        for (k, h) in EpsilonSweep.steps.enumerated() {
            let mark = abs(h - GradientCheck.defaultStep) < 1e-15 ? "← the checker (Float64, 5-point)" : ""
            print(String(format: "%.0e   ", h) + r.series.map { String(format: "%-17.2e", $0[keyPath: pick][k]) }.joined() + mark)
        }
    }
    print("")
    print("best    " + r.series.map { String(format: "h=%-15.0e", $0.bestStep) }.joined() + "(of the max)")
    print("theory  " + r.series.map { String(format: "h*~%-14.0e", $0.theoreticalStep) }.joined() + " (u^1/3, u^1/5)")
    let f64 = r.checkerSeries, f32best = r.series.filter { $0.precision == "float32" }.map(\.best).min() ?? .nan
    print(String(format: """
        Right of the bottom, truncation: the error falls ~100x (3-point, h^2) or ~10^4x (5-point, h^4) per 10x smaller step.
        Left of it, round-off: about u|L|/h, it grows 10x per 10x smaller step (u = 1.1e-16 in Float64, 6.0e-8 in Float32).
        The checker uses the 5-point stencil at h = %.0e in Float64: error %.1e there, near the bottom of its V (best %.1e at h = %.0e),
        far below the pass mark %.0e, and with a step large enough that gradients of 1e-5 stay above round-off.
        Float32 reaches at best %.1e at any step: it cannot confirm 1e-7, which is why checks run in Float64.
        (At h <= 1e-7 a Float32 nudge of a weight near 1 rounds away, theta + h == theta: numeric 0, relative error 1.
        The max is set by the few elements with gradients near the 1e-5 floor; the median shows a typical element.)
        """, GradientCheck.defaultStep, r.checkerError, f64.best, f64.bestStep, GradientCheck.threshold, f32best))
    if let svg { try r.chart.write(to: svg) }
    if a.flag("json") { print(r.json.serialized()) }
    return 0
}
