import BPTT
import Foundation

/// `bptt gradcheck --case CASE.json --answers MINE.json [--json]`: gradients computed elsewhere
/// against the library's on the same case (`AnswerCheck` describes both files).
func runAnswers(_ a: Arguments) throws -> Int32 {
    guard let casePath = a.string("case") else { throw BPTTError.usage("--answers: give the case too (--case CASE.json, from gradcheck --dump)") }
    guard let answersPath = a.string("answers") else { throw BPTTError.usage("--case: give the answers to check (--answers MINE.json)") }
    for flag in ["model", "break", "locate", "dump", "layers", "bidirectional"] where a.has(flag) {
        throw BPTTError.usage("--\(flag): not with --case/--answers (the case file fixes the model and sizes)")
    }
    let c = try AnswerCheck.readCase(try readJSON(casePath), source: casePath)
    let ref = AnswerCheck.reference(c)
    let r = try AnswerCheck.compare(c, ref, answers: try readJSON(answersPath), source: answersPath)
    let s = c.spec
    print("answers \(answersPath) against the library on case \(casePath): \(r.model), T=\(s.length) B=\(s.batch) D=\(s.input) H=\(s.hidden) K=\(s.classes); "
          + String(format: "pass mark %.0e (max relative error)", r.mark))
    let width = max(7, r.tensors.map(\.name.count).max() ?? 0)
    print("tensor".padding(toLength: width, withPad: " ", startingAt: 0) + "  max rel error")
    for t in r.tensors {
        var line = t.name.padding(toLength: width, withPad: " ", startingAt: 0)
        if t.missing { line += "        missing  FAIL" } else {
            line += String(format: "  %13.3e  ", t.maxRelError) + (t.passed ? "ok" : "FAIL")
        }
        if let f = t.factor {
            line += String(format: "  every element is the library's × %.6g", f) + (t.factorName.map { " (= \($0))" } ?? "")
        }
        print(line)
    }
    if !r.steps.isEmpty {
        var names: [String] = []
        for e in r.steps where !names.contains(e.name) { names.append(e.name) }
        let bad = r.steps.filter { !$0.passed }
        print("per-step adjoints given: \(names.joined(separator: ", ")) at t = \(s.length)…1; \(bad.count) of \(r.steps.count) disagree")
    }
    if let e = r.firstStep {
        print("first divergence walking back from t = \(s.length): step \(e.t), quantity \(e.name): d\(e.name)_\(e.t) is wrong at (\(e.tag))"
              + String(format: ", relative error %.1e", e.maxRelError))
        if let eq = e.quantity.info.backward { print("  \(eq.tag): \(eq.text)") }
    } else if let tag = r.tag {
        let bad = r.tensors.first { !$0.passed }!
        print("first disagreeing gradient: \(bad.name), at (\(tag))" + (r.steps.isEmpty ? " (give per-step adjoints under \"steps\" to find the step)" : "; every per-step adjoint given agrees"))
    }
    let factors = Set(r.tensors.compactMap(\.factorName))
    if factors.count == 1, r.tensors.allSatisfy({ $0.passed || $0.factorName != nil }) {
        print("every disagreeing gradient is the library's × \(factors.first!): a constant factor, as from a sum where a mean belongs (1/T, 1/B) or the reverse")
    }
    print(r.passed ? "answers agree with the library: pass" : "answers disagree with the library: FAIL")
    if a.flag("json") {
        print(JSON.object([
            ("model", .string(r.model)), ("passed", .bool(r.passed)), ("mark", .number(r.mark)),
            ("tensors", .object(r.tensors.map { ($0.name, $0.missing ? .null : .number($0.maxRelError)) })),
            ("missing", .array(r.tensors.filter(\.missing).map { .string($0.name) })),
            ("factors", .object(r.tensors.compactMap { t in t.factor.map { (t.name, JSON.object([("value", .number($0)), ("name", t.factorName.map { .string($0) } ?? .null)])) } })),
            ("steps", .array(r.steps.map { .object([("t", .int($0.t)), ("quantity", .string($0.name)), ("tag", .string($0.tag)), ("rel_error", .number($0.maxRelError))]) })),
            ("first_divergence", r.tag.map { tag in
                JSON.object([("t", r.firstStep.map { .int($0.t) } ?? .null), ("quantity", r.firstStep.map { .string($0.name) } ?? .null), ("tag", .string(tag))])
            } ?? .null),
        ]).serialized())
    }
    return r.passed ? 0 : 1
}

/// A JSON file, or one line naming the file and what is wrong with it.
func readJSON(_ path: String) throws -> Any {
    guard let data = FileManager.default.contents(atPath: path) else { throw BPTTError.input("\(path): cannot read the file") }
    do { return try JSONSerialization.jsonObject(with: data) } catch {
        throw BPTTError.input("\(path): not JSON (\((error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? "parse error"))")
    }
}
