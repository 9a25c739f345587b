import Foundation

/// Finite-difference gradient checking in Float64, reusable by every part.
///
/// For each element θ_i of each tensor, the numeric gradient is a central difference,
/// by default the five-point stencil (error O(ε⁴), so ε can be large enough that rounding in L
/// stays far below the 1e-7 pass mark even for gradients of 1e-5):
///
///     n_i = (L(θ − 2ε e_i) − 8 L(θ − ε e_i) + 8 L(θ + ε e_i) − L(θ + 2ε e_i)) / 12ε
///
/// or the three-point one, (L(θ + ε e_i) − L(θ − ε e_i)) / 2ε, error O(ε²).
///
/// and its error against the analytic a_i is the relative error
///
///     |a − n| / max(|a|, |n|, 1e-5 · max(1, 1e-3 / ε))
///
/// (0 when a = n). The floor keeps gradients that are nearly zero (vanished paths, dead
/// ReLU units) from being judged against rounding noise: below it the test is absolute,
/// |a − n| < 1e-12 at ε = 1e-3, about the noise of the stencil there. Rounding in L is divided by
/// ε, so at a smaller step (chosen, or shrunk at a kink) the floor grows with 1/ε. A tensor's
/// error is the maximum over its elements.
///
/// Piecewise-smooth models (ReLU) report an activation pattern with each loss; when a nudge
/// changes the pattern, the difference straddles a kink and is meaningless, so the step is
/// shrunk (÷10, twice); an element that still straddles a kink is reported apart, "at a kink",
/// with its one-sided differences beside the analytic value (`Result.kinkEntries`): it neither
/// fails the check nor disappears from it.
///
/// Derivation, error terms, the choice of step and threshold: `derivations/gradcheck.md`.
public enum GradientCheck {
    /// The pass mark: a correct backward pass agrees with central differences to ~1e-9 here.
    public static let threshold = 1e-7

    public struct Tensor {
        public var name: String
        public var value: Matrix<Double>
        public var analytic: Matrix<Double>
        public init(name: String, value: Matrix<Double>, analytic: Matrix<Double>) {
            require(value.rows == analytic.rows && value.cols == analytic.cols, "gradient of \(name) has the wrong shape")
            self.name = name
            self.value = value
            self.analytic = analytic
        }
    }

    /// A loss value and, for piecewise-smooth models, a hash of which pieces were active
    /// (0 for smooth models).
    public struct Evaluation {
        public var loss: Double
        public var pattern: Int
        public init(loss: Double, pattern: Int = 0) { self.loss = loss; self.pattern = pattern }
    }

    /// Scale below which the relative error becomes an absolute one (see above).
    public static let scaleFloor = 1e-5

    public struct Result: Sendable {
        public let name: String
        public let maxRelError: Double
        /// Flat index of the worst element and the two gradients there.
        public let worstIndex: Int
        public let analytic: Double
        public let numeric: Double
        public let count: Int
        /// Elements whose every step tried straddled a ReLU kink: reported apart, not judged.
        public var kinks: Int { kinkEntries.count }
        public let kinkEntries: [Kink]
        public var passed: Bool { maxRelError < GradientCheck.threshold }
    }

    /// An element at a kink: the analytic value beside the one-sided differences (gradcheck.onesided)
    /// at the smallest step tried. The analytic value should match the side θ lies on.
    public struct Kink: Sendable {
        public let tensor: String
        public let index: Int
        public let analytic: Double
        public let left: Double      // (L(θ) − L(θ − h)) / h
        public let right: Double     // (L(θ + h) − L(θ)) / h
        public let step: Double
    }

    /// `step`: the ε the numeric value `n` was taken with; below `defaultStep` the floor grows as
    /// 1/ε, because so does the rounding noise of a central difference.
    /// The largest of `errors`, NaN when any is NaN (`max()` would skip it: NaN compares false), 0 for none.
    public static func worst(_ errors: [Double]) -> Double {
        errors.contains { $0.isNaN } ? .nan : (errors.max() ?? 0)
    }

    public static func relativeError(_ a: Double, _ n: Double, step: Double = defaultStep) -> Double {
        let floor = scaleFloor * max(1, defaultStep / step)
        return a == n ? 0 : abs(a - n) / max(abs(a), abs(n), floor)            // (gradcheck.relerr)
    }

    /// The numeric derivative of `f` at 0 with step h: the three- or five-point central difference.
    public static func centralDifference(_ stencil: Stencil, step h: Double, _ f: (Double) -> Double) -> Double {
        switch stencil {
        case .threePoint: return (f(h) - f(-h)) / (2 * h)                                   // (gradcheck.central3)
        case .fivePoint: return (f(-2 * h) - 8 * f(-h) + 8 * f(h) - f(2 * h)) / (12 * h)  // (gradcheck.central5)
        }
    }

    /// Checks every element of every tensor. `loss` receives all tensors (one of them nudged)
    /// in the order given and returns the scalar loss.
    public enum Stencil: String, Sendable { case threePoint = "3", fivePoint = "5" }

    public static let defaultStep = 1e-3

    public static func run(_ tensors: [Tensor], step: Double = defaultStep, stencil: Stencil = .fivePoint,
                           loss: ([Matrix<Double>]) -> Evaluation) -> [Result] {
        let base = loss(tensors.map(\.value)).pattern
        var values = tensors.map(\.value)
        var results: [Result] = []
        for (k, tensor) in tensors.enumerated() {
            var worst = (error: 0.0, index: 0, a: 0.0, n: 0.0)
            var kinks: [Kink] = []
            var judged = false   // a worst element has been recorded (kinks are not judged)
            for i in 0..<tensor.value.count {
                let original = values[k].data[i]
                var straddles = false
                func at(_ offset: Double) -> Double {
                    values[k].data[i] = original + offset
                    defer { values[k].data[i] = original }
                    let e = loss(values)
                    if e.pattern != base { straddles = true }
                    return e.loss
                }
                var n = 0.0
                var h = step
                for _ in 0..<3 {
                    straddles = false
                    n = centralDifference(stencil, step: h, at)
                    if !straddles { break }
                    h /= 10
                }
                let a = tensor.analytic.data[i]
                if straddles {
                    // at a kink: one-sided differences at the smallest step, reported apart
                    let h = h * 10, l0 = at(0)
                    kinks.append(Kink(tensor: tensor.name, index: i, analytic: a,
                                      left: (l0 - at(-h)) / h, right: (at(h) - l0) / h, step: h))   // (gradcheck.onesided)
                    continue
                }
                let e = relativeError(a, n, step: h)
                // a NaN is the worst there is: once one is seen it stays the tensor's error (NaN > x is false)
                if !judged || e.isNaN || (!worst.error.isNaN && e > worst.error) { worst = (e, i, a, n); judged = true }
            }
            results.append(Result(name: tensor.name, maxRelError: worst.error, worstIndex: worst.index,
                                  analytic: worst.a, numeric: worst.n, count: tensor.value.count, kinkEntries: kinks))
        }
        return results
    }

    /// The elements at a kink, for the `--json` line: `[{tensor, index, analytic, left, right}]`.
    /// `names` overrides the tensor names (the image-model checks prefix them with the case).
    public static func kinksJSON(_ results: [Result], names: [String]? = nil) -> JSON {
        .array(results.enumerated().flatMap { (k, r) in
            r.kinkEntries.map { e in
                JSON.object([("tensor", .string(names?[k] ?? e.tensor)), ("index", .int(e.index)),
                             ("analytic", .number(e.analytic)), ("left", .number(e.left)), ("right", .number(e.right))])
            }
        })
    }

    /// The elements at a kink as table lines: analytic beside the one-sided differences.
    public static func kinkLines(_ results: [Result], names: [String]? = nil) -> [String] {
        let all = results.enumerated().flatMap { (k, r) in r.kinkEntries.map { (names?[k] ?? $0.tensor, $0) } }
        guard !all.isEmpty else { return [] }
        return ["at a kink (not judged; the analytic value should match the side θ lies on):"]
            + all.map { name, e in
                String(format: "  %@[%d]  analytic %+.8e  left %+.8e  right %+.8e  (step %.0e)",
                       name as NSString, e.index, e.analytic, e.left, e.right, e.step)
            }
    }

    /// The T inputs x_t (each B×D) as one (T·B)×D tensor, t-major, so a check treats them as one.
    public static func stack(_ ms: [Matrix<Double>]) -> Matrix<Double> {
        Matrix(rows: ms.count * ms[0].rows, cols: ms[0].cols, data: ms.flatMap(\.data))
    }

    /// The inverse of `stack`: T matrices of (rows / T) rows each.
    public static func unstack(_ m: Matrix<Double>, steps: Int) -> [Matrix<Double>] {
        let r = m.rows / steps
        return (0..<steps).map { t in Matrix(rows: r, cols: m.cols, data: Array(m.data[(t * r * m.cols)..<((t + 1) * r * m.cols)])) }
    }
}
