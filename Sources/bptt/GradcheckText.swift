import BPTT
import Foundation

// `bptt gradcheck --task text`: stateful truncated BPTT checked against its definition
// (Check/CharLMCheck.swift), with the carry mistakes of its own catalogue.

let gradcheckTextOptions: [Option] = [
    Option("task", "NAME", "text: the character-level language model, chunk 2 of a stateful stream against the finite differences of its loss with the carried state held fixed"),
    Option("embedding", "E", "text: embedding width; 0 = one-hot inputs (default 0)"),
    Option("vocabulary", "V", "text: characters in the vocabulary (default 4)"),
]

func runTextGradcheck(_ a: inout Arguments) throws -> Int32 {
    guard try a.choice("task", ["text"], default: "text") == "text" else { return 2 }
    let json = a.flag("json")
    if a.flag("list-breaks") {
        print("deliberate mistakes of stateful truncated BPTT (bptt gradcheck --task text --break NAME --locate); NAME = TAG:what")
        let width = CarryMistake.allCases.map(\.name.count).max() ?? 0
        for m in CarryMistake.allCases { print(m.name.padding(toLength: width + 2, withPad: " ", startingAt: 0) + m.summary) }
        if json {
            print(JSON.array(CarryMistake.allCases.map { .object([("name", .string($0.name)), ("tag", .string($0.tag)), ("summary", .string($0.summary))]) }).serialized())
        }
        return 0
    }
    for flag in ["bidirectional", "dump", "case", "answers", "output", "no-h0", "classes", "input", "stencil", "epsilon-sweep"] where a.has(flag) || a.flag(flag) {
        throw BPTTError.usage("--\(flag) does not apply to gradcheck --task text")
    }
    var spec = CharLMCheckSpec(model: CellKind(rawValue: try a.choice("model", CellKind.names, default: "lstm"))!)
    spec.layers = try a.int("layers", default: 1, min: 1, max: 4)
    spec.embedding = try a.int("embedding", default: 0, min: 0, max: 32)
    spec.vocabulary = try a.int("vocabulary", default: 4, min: 2, max: 64)
    spec.hidden = try a.int("hidden", default: 3, min: 1, max: 32)
    spec.batch = try a.int("batch", default: 2, min: 1, max: 16)
    spec.length = try a.int("length", default: 3, min: 1, max: 32)
    spec.seed = try a.seed()
    let step = try finiteDifferenceStep(a)
    let locate = a.flag("locate")
    var mistake: CarryMistake? = nil, broken: Break? = nil
    if let name = a.string("break") {
        if let m = CarryMistake(rawValue: name) { mistake = m }
        else if let b = Break(name: name), b.models.contains(spec.model.rawValue) { broken = b }
        else {
            throw BPTTError.usage("--break: '\(name)' is not a mistake of --task text with --model \(spec.model.rawValue) (bptt gradcheck --task text --list-breaks, or one of bptt gradcheck --list-breaks for this model)")
        }
    }
    if locate && spec.layers > 1 { warn("--locate: per-step adjoints need one unit; with --layers \(spec.layers) only the carry, the boundary and the parameters are checked") }
    let r = CharLMCheck.run(spec, mistake: mistake, breaking: broken, steps: locate, step: step)
    let title = "text \(spec.model.rawValue)\(spec.layers > 1 ? " \(spec.layers) layers" : ""), chunk 2 of 2 from the carried state"
    let sizes = "T=\(spec.length) B=\(spec.batch) V=\(spec.vocabulary) H=\(spec.hidden)\(spec.embedding > 0 ? " E=\(spec.embedding)" : " one-hot")"
    var fields: [(String, JSON)] = [("carry_error", .number(r.carryError)), ("boundary_gradient", .number(r.boundaryGradient))]
    if let name = mistake?.name ?? broken?.name { fields.append(("break", .string(name))) }
    if locate {
        fields.append(("steps", .array(r.steps.map { e in
            .object([("t", .int(e.t)), ("quantity", .string(e.name)), ("tag", .string(e.tag)), ("rel_error", .number(e.result.maxRelError))])
        })))
        fields.append(("first_divergence", r.firstDivergence.map { d in
            .object([("t", d.t.map { .int($0) } ?? .null), ("tag", .string(d.tag))])
        } ?? .null))
    }
    return report(r.results, title: title, sizes: sizes, model: spec.model.rawValue, stencil: .fivePoint, step: step, json: json,
                  extra: ({
                      print(String(format: "carried state (charlm.carry): chunk 2 started %.3e away from the state chunk 1 ended in", r.carryError))
                      print(String(format: "boundary (charlm.stop): gradient handed back into chunk 1 %.3e (must be 0)", r.boundaryGradient))
                      if locate {
                          for e in r.steps where !e.result.passed {
                              print(String(format: "  step %d %@ (%@): rel error %.3e", e.t, e.name, e.tag, e.result.maxRelError))
                          }
                          if !r.steps.isEmpty { print("per-step adjoints of chunk 2: \(r.steps.count) checked, \(r.steps.filter { !$0.result.passed }.count) disagree") }
                          if let d = r.firstDivergence {
                              print("first divergence: " + (d.t.map { $0 > 0 ? "step \($0), " : "" } ?? "") + "(\(d.tag))")
                          } else { print("first divergence: none") }
                      }
                  }, fields, r.passed))
}
