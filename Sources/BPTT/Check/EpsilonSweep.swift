import Foundation

/// How the finite-difference step and the precision decide what a gradient check can see
/// (`derivations/gradcheck.md`): the maximum relative error over every parameter and input
/// element, for steps h = 1e-1 … 1e-10, with the three- and five-point stencils, in Float64 and
/// in Float32. The same generic cell code runs in both precisions; the Float32 case is the
/// Float64 case rounded.
///
/// Truncation error falls as h² (h⁴) to the right; round-off, about u·|L|/h, rises to the left:
/// the curve is a V on log–log axes (gradcheck.error), with its bottom near h ~ u^{1/3} (u^{1/5}).
public enum EpsilonSweep {
    public static let steps: [Double] = (1...10).map { pow(10, -Double($0)) }

    public struct Series: Sendable {
        public let precision: String            // "float64" | "float32"
        public let stencil: GradientCheck.Stencil
        /// Max relative error at each of `steps` (what the checker judges).
        public let maxRelError: [Double]
        /// Median relative error at each of `steps` (a typical element: the textbook V, undisturbed
        /// by the few elements whose gradients are near the noise floor).
        public let medianRelError: [Double]
        public var name: String { "\(precision == "float64" ? "Float64" : "Float32"), \(stencil.rawValue)-point" }
        var shortName: String { "\(precision == "float64" ? "F64" : "F32") \(stencil.rawValue)-pt" }
        /// The step with the smallest error.
        public var bestStep: Double { EpsilonSweep.steps[maxRelError.indices.min { maxRelError[$0] < maxRelError[$1] }!] }
        public var best: Double { maxRelError.min()! }
        /// Unit roundoff of the precision.
        public var unitRoundoff: Double { precision == "float64" ? 0x1p-53 : 0x1p-24 }
        /// The optimum's order of magnitude, u^{1/3} or u^{1/5} (gradcheck.optimal).
        public var theoreticalStep: Double { pow(unitRoundoff, stencil == .threePoint ? 1.0 / 3 : 1.0 / 5) }
    }

    public struct Report: Sendable {
        public let model: String
        public let sizes: String
        public let elements: Int
        public let series: [Series]

        public var checkerSeries: Series { series.first { $0.precision == "float64" && $0.stencil == .fivePoint }! }
        /// The checker's error at its own step.
        public var checkerError: Double { checkerSeries.maxRelError[EpsilonSweep.steps.firstIndex { abs($0 - GradientCheck.defaultStep) < 1e-15 }!] }

        public var json: JSON {
            .object([
                ("model", .string(model)), ("elements", .int(elements)),
                ("steps", .array(EpsilonSweep.steps.map { .number($0) })),
                ("series", .array(series.map { s in
                    .object([("precision", .string(s.precision)), ("stencil", .string(s.stencil.rawValue)),
                             ("max_rel_error", .array(s.maxRelError.map { .number($0) })),
                             ("median_rel_error", .array(s.medianRelError.map { .number($0) })),
                             ("best_step", .number(s.bestStep)), ("best_error", .number(s.best)),
                             ("theoretical_step", .number(s.theoreticalStep))])
                })),
                ("checker_step", .number(GradientCheck.defaultStep)), ("checker_stencil", .string("5")),
                ("checker_error", .number(checkerError)), ("threshold", .number(GradientCheck.threshold)),
            ])
        }

        /// Log–log chart of every series, the checker's step marked.
        public var chart: SVGChart {
            var c = SVGChart(title: "Gradient check of \(model): relative error vs step h (max solid, median dashed)", xLabel: "finite-difference step h",
                             yLabel: "max relative error")
            c.logX = true
            c.logY = true
            c.series = series.map { s in SVGChart.Series(name: s.shortName + " max", points: zip(EpsilonSweep.steps, s.maxRelError).map { ($0, $1) }) }
            for s in series {
                var m = SVGChart.Series(name: s.shortName + " median", points: zip(EpsilonSweep.steps, s.medianRelError).map { ($0, $1) })
                m.dashed = true
                c.series.append(m)
            }
            c.verticalMarkers = [(GradientCheck.defaultStep, "checker: 5-point, h = 1e-3")]
            c.horizontalMarkers = [(GradientCheck.threshold, "pass mark 1e-7")]
            return c
        }
    }

    public static let models = ["rnn", "rnn-relu", "lstm", "gru", "gru-cho"]

    /// Sweeps the case `bptt gradcheck --model M` checks (same spec and seed, one unit).
    public static func run(_ spec: SequenceCheckSpec) -> Report {
        let r64 = try! spec.model.accept(Visitor<Double>(spec: spec), hidden: spec.hidden)
        let r32 = try! spec.model.accept(Visitor<Float>(spec: spec), hidden: spec.hidden)
        return Report(model: spec.model.rawValue,
                      sizes: "T=\(spec.length) B=\(spec.batch) D=\(spec.input) H=\(spec.hidden) K=\(spec.classes)",
                      elements: r64.elements, series: r64.series + r32.series)
    }

    struct Visitor<Real: Scalar>: CellVisitor {
        let spec: SequenceCheckSpec
        func visit<C: RecurrentCell>(_ make: @escaping (Int) -> C) throws -> (elements: Int, series: [Series]) where C.Real == Real {
            typealias Model = SequenceClassifier<C>
            let model = Model(stack: RecurrentStack(layers: 1, bidirectional: false, inputSize: spec.input, hiddenSize: spec.hidden, make: make),
                              classes: spec.classes, output: .last)
            // the same draws as SequenceCheckCase, in precision T
            var rng = RNG(seed: spec.seed)
            let params = model.initialParameters(.xavier, rng: &rng)
            var xs = (0..<spec.length).map { _ in Matrix<Real>.normal(spec.batch, spec.input, std: 1, rng: &rng) }
            let targets = [(0..<spec.batch).map { _ in rng.int(below: spec.classes) }]
            let h0s = spec.withH0 ? [Matrix<Real>.uniform(spec.batch, spec.hidden, bound: 0.5, rng: &rng)] : nil
            let c0s = spec.withH0 && model.stack.hasCellState ? [Matrix<Real>.uniform(spec.batch, spec.hidden, bound: 0.5, rng: &rng)] : nil
            let scale = 1 / Double(spec.batch)

            var ws = Model.Workspace()
            var grads = params.zeros()
            var none: RNG? = nil
            model.lossAndGradient(xs, targets: targets, h0s: h0s, c0s: c0s, params, lossScale: scale, workspace: &ws,
                                  grads: &grads, dropoutRNG: &none, inputGradients: true)
            let dxs = ws.stack.dxs

            var values = params.tensors
            let gradients = grads.tensors
            func loss() -> Double {
                var w = Model.Workspace()
                var p = params
                p.tensors = values
                return model.forward(xs, targets: targets, h0s: h0s, c0s: c0s, p, workspace: &w).lossSum * scale
            }
            // every parameter element and every input element, with its analytic gradient
            var elements = 0
            var series: [Series] = []
            for stencil in [GradientCheck.Stencil.threePoint, .fivePoint] {
                var errors: [Double] = [], medians: [Double] = []
                for h in EpsilonSweep.steps {
                    var all: [Double] = []
                    for k in values.indices {
                        for i in 0..<values[k].count {
                            let original = values[k].data[i]
                            let n = GradientCheck.centralDifference(stencil, step: h) { offset in
                                values[k].data[i] = original + Real(offset)
                                defer { values[k].data[i] = original }
                                return loss()
                            }
                            all.append(GradientCheck.relativeError(Double(gradients[k].data[i]), n))
                        }
                    }
                    for t in 0..<xs.count {
                        for i in 0..<xs[t].count {
                            let original = xs[t].data[i]
                            let n = GradientCheck.centralDifference(stencil, step: h) { offset in
                                xs[t].data[i] = original + Real(offset)
                                defer { xs[t].data[i] = original }
                                return loss()
                            }
                            all.append(GradientCheck.relativeError(Double(dxs[t].data[i]), n))
                        }
                    }
                    all.sort()
                    errors.append(all.last ?? 0)
                    medians.append(all.isEmpty ? 0 : all[all.count / 2])
                }
                series.append(Series(precision: Real.typeName, stencil: stencil, maxRelError: errors, medianRelError: medians))
            }
            elements = params.parameterCount + xs.reduce(0) { $0 + $1.count }
            return (elements, series)
        }
    }
}
