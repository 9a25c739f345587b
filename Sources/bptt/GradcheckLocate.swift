import BPTT
import Foundation

// `bptt gradcheck --locate`, `--break NAME`, `--list-breaks`: per-step adjoints and the catalogue
// of classic mistakes (Check/StepAdjointCheck.swift, Check/BreakCatalogue.swift).

/// What `--locate` and `--break` ask for; nil when neither is given.
struct LocateOptions {
    let steps: Bool
    let broken: Break?

    init?(_ a: Arguments, model: String) throws {
        let name = a.string("break")
        guard a.flag("locate") || name != nil else { return nil }
        let cells = CellKind.names
        guard cells.contains(model) else {
            throw BPTTError.usage("--\(name != nil ? "break" : "locate"): only for --model \(cells.joined(separator: "|")), not \(model)")
        }
        if try a.int("layers", default: 1, min: 1, max: 8) > 1 || a.flag("bidirectional") {
            throw BPTTError.usage("--locate/--break: one recurrent unit only (no --layers N > 1, no --bidirectional)")
        }
        if a.has("dump") && a.flag("locate") { throw BPTTError.usage("--dump: not together with --locate") }
        if let name {
            guard let b = Break(name: name) else {
                if CarryMistake(rawValue: name) != nil {
                    throw BPTTError.usage("--break: \(name) is a mistake of the character-level model's carried state: bptt gradcheck --task text --break \(name)")
                }
                throw BPTTError.usage("--break: unknown mistake '\(name)' (bptt gradcheck --list-breaks lists them)")
            }
            guard b.models.contains(model) else {
                throw BPTTError.usage("--break: \(name) is in the backward pass of --model \(b.models.joined(separator: "|")), not \(model)")
            }
            broken = b
        } else {
            broken = nil
        }
        steps = a.flag("locate")
    }
}

func listBreaks(json: Bool) -> Int32 {
    let width = Break.allCases.map(\.name.count).max() ?? 0
    print("deliberate mistakes (bptt gradcheck --model M --break NAME --locate); NAME = TAG:what, TAG the equation it breaks")
    for b in Break.allCases {
        print(b.name.padding(toLength: width + 2, withPad: " ", startingAt: 0) + b.summary + "  [" + b.models.joined(separator: ", ") + "]")
    }
    print("and the character-level model's \(CarryMistake.allCases.map(\.name).joined(separator: ", ")): bptt gradcheck --task text --list-breaks")
    if json {
        print(JSON.array(Break.allCases.map { b in
            .object([("name", .string(b.name)), ("tag", .string(b.tag)), ("models", .array(b.models.map { .string($0) })),
                     ("summary", .string(b.summary))])
        }).serialized())
    }
    return 0
}

func reportLocate(_ r: StepAdjointCheck.Report, title: String, sizes: String, model: String, T: Int, B: Int,
                  stencil: GradientCheck.Stencil, step: Double, json: Bool) -> Int32 {
    let broken = r.broken
    var fields: [(String, JSON)] = []
    let factor = constantFactor(r, T: T, B: B)
    if let factor { fields.append(("scale_factor", .object([("value", .number(factor.value)), ("name", .string(factor.name))]))) }
    if let broken { fields.append(("break", .string(broken.name))) }
    if !r.steps.isEmpty || r.firstDivergence != nil {
        fields.append(("max_step_rel_error", .number(GradientCheck.worst(r.steps.map(\.result.maxRelError)))))
        fields.append(("steps", .array(r.steps.map { e in
            .object([("t", .int(e.t)), ("quantity", .string(e.name)), ("tag", .string(e.tag)), ("rel_error", .number(e.result.maxRelError))])
        })))
        fields.append(("first_divergence", r.firstDivergence.map { d in
            JSON.object([("t", d.t.map { .int($0) } ?? .null), ("tag", .string(d.tag))])
        } ?? .null))
    }
    let stepsPassed = r.steps.allSatisfy(\.result.passed)
    return report(r.results, title: title + (broken.map { " with --break \($0.name)" } ?? ""), sizes: sizes, model: model,
                  stencil: stencil, step: step, json: json,
                  extra: ({
                      printSteps(r)
                      if let factor {
                          print(String(format: "every disagreeing adjoint and gradient is its finite difference × %.6g", factor.value)
                                + " (= \(factor.name)): a constant factor, as from a sum where a mean belongs or the reverse")
                      }
                  }, fields, stepsPassed))
}

/// The factor, when every disagreeing per-step adjoint and tensor is its finite difference times
/// one constant that is one of the case's sizes (T, 1/B, 2, …), judged at each one's worst element.
func constantFactor(_ r: StepAdjointCheck.Report, T: Int, B: Int) -> (value: Double, name: String)? {
    let failing = r.steps.map(\.result).filter { !$0.passed } + r.results.filter { !$0.passed }
    guard let first = failing.first, first.numeric != 0 else { return nil }
    let s = first.analytic / first.numeric
    guard failing.allSatisfy({ abs($0.analytic - s * $0.numeric) <= 1e-6 * abs($0.analytic) }),
          let name = AnswerCheck.factorName(s, T: T, B: B) else { return nil }
    return (s, name)
}

/// The per-step table: one row per time step (last first), one column per quantity, in the
/// order the backward pass computes them; then where the first disagreement is.
func printSteps(_ r: StepAdjointCheck.Report) {
    if let b = r.broken { print("mistake switched on: \(b.name) — \(b.summary)") }
    guard !r.steps.isEmpty else { return }
    var columns: [String] = []
    for e in r.steps where !columns.contains(e.name) { columns.append(e.name) }
    let steps = Array(Set(r.steps.map(\.t))).sorted(by: >)
    print("")
    print("per-step adjoints ∂L/∂q_t: analytic (the backward pass) vs central differences of L with q_t nudged inside the forward pass")
    print("max relative error per step and quantity (✗ at or above \(GradientCheck.threshold)); columns in backward order:")
    let w = 11
    print("   t " + columns.map { $0.leftPad(w) }.joined())
    for t in steps {
        var line = String(format: "%4d ", t)
        for c in columns {
            if let e = r.steps.first(where: { $0.t == t && $0.name == c }) {
                line += (String(format: "%.1e", e.result.maxRelError) + (e.result.passed ? " " : "✗")).leftPad(w)
            } else {
                line += "—".leftPad(w)
            }
        }
        print(line)
    }
    let kinks = r.steps.reduce(0) { $0 + $1.result.kinks }
    if kinks > 0 { print("(\(kinks) element(s) at a ReLU kink left out)") }
    let tags = Dictionary(r.steps.map { ($0.tag, $0.quantity) }, uniquingKeysWith: { a, _ in a })
    if let d = r.firstDivergence {
        let eq = tags[d.tag].flatMap { $0.info.backward?.text }.map { "  " + $0 } ?? ""
        if let t = d.t {
            print("first divergence walking back from t = \(steps.first ?? 0): t = \(t), (\(d.tag))\(eq)")
        } else {
            print("every per-step adjoint agrees; first divergence in a parameter gradient: (\(d.tag))")
        }
    } else {
        print("every per-step adjoint agrees with its finite difference")
    }
}

extension String {
    func leftPad(_ n: Int) -> String { count >= n ? self + " " : String(repeating: " ", count: n - count) + self }
}
