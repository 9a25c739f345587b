import Foundation

/// Gradients computed elsewhere — numpy, PyTorch, by hand — checked against the library's
/// (`bptt gradcheck --case CASE.json --answers MINE.json`).
///
/// The case is a file `bptt gradcheck --dump` wrote: sizes, inputs, targets, h0 (c0), the
/// parameters. The reference is the library's own backward pass on that case, recomputed here
/// (it passes the central-difference check), with every per-step adjoint.
///
/// The answers are JSON in the shape of the dump:
///
///     {"gradients": {"W_hx": {"shape": [H, D], "data": [...]}, "b_h": {"shape": [H], "data": [...]}, ...},
///      "steps": {"h": [t][b][j], "c": [t][b][j], ...},        optional: per-step adjoints
///      "dtype": "float64" | "float32"}                        optional: the precision computed in
///
/// `gradients`: every parameter of the case, by name, data row-major; a missing one is a
/// mismatch. `steps`: for any quantity the cell reports (the names `gradcheck --locate` prints:
/// h, c, a, i, f, g, o, a_i, …, r, z, n, m, q, p), ∂L/∂q_t for t = 1…T in that order, each B×width:
/// dh_t is the whole gradient of the loss with respect to h_t (from the read-out and from step
/// t+1); p, the logits, exists only at the read-out steps (t = T alone for a last-step read-out).
/// A dump carries the reference's own per-step adjoints under the same key.
///
/// Pass mark (max elementwise relative error, as the gradient check measures it): `float64Mark`
/// for Float64 answers, `float32Mark` for Float32 ones.
public enum AnswerCheck {
    /// Float64 answers: the same algorithm summed in another order agrees to ~1e-12; 1e-6 leaves
    /// room for another order of operations and still fails every catalogued mistake.
    public static let float64Mark = 1e-6
    /// Float32 answers: 24-bit arithmetic through a few steps loses a few more digits, most on
    /// elements that are differences of near-equal terms; 1e-3 still fails every catalogued mistake.
    public static let float32Mark = 1e-3

    /// A case read from a dump: one recurrent unit of a cell the library ships.
    public struct Case {
        public var spec: SequenceCheckSpec
        public var xs: [Matrix<Double>]
        public var targets: [[Int]]
        public var h0: Matrix<Double>?
        public var c0: Matrix<Double>?
        public var parameters: [String: Matrix<Double>]
    }

    /// The library's gradients and per-step adjoints on a case.
    public struct Reference {
        public var gradients: [(name: String, value: Matrix<Double>)]
        /// Per-step adjoints in walking order: last step first, in the order the backward pass
        /// computes them within a step (as `gradcheck --locate` walks them).
        public var steps: [(quantity: Quantity, t: Int, value: Matrix<Double>)]
        public var loss: Double
    }

    public struct TensorResult: Sendable {
        public let name: String
        public let maxRelError: Double
        public let missing: Bool
        /// When every element is the reference times one constant (≠ 1): that constant, and what
        /// it is in the case's sizes ("1/T", "B", "2", …) when it is one of those.
        public let factor: Double?
        public let factorName: String?
        public let passed: Bool
    }

    public struct StepResult: Sendable {
        public let t: Int
        public let quantity: Quantity
        public let maxRelError: Double
        public let passed: Bool
        public var name: String { quantity.name }
        public var tag: String { quantity.adjointTag }
    }

    public struct Report: Sendable {
        public let model: String
        public let mark: Double
        public let tensors: [TensorResult]
        /// The per-step adjoints the answers gave, in walking order.
        public let steps: [StepResult]
        public let firstStep: StepResult?
        /// The equation to look at: the first disagreeing per-step adjoint's, else the gradient
        /// equation of the first disagreeing tensor; nil when everything agrees.
        public let tag: String?
        public var passed: Bool { tensors.allSatisfy(\.passed) && steps.allSatisfy(\.passed) }
    }

    // MARK: reading

    static func field(_ o: [String: Any], _ key: String, _ src: String) throws -> Any {
        guard let v = o[key], !(v is NSNull) else { throw BPTTError.input("\(src): \(key): missing") }
        return v
    }
    static func int(_ o: [String: Any], _ key: String, _ src: String, min: Int = 1) throws -> Int {
        guard let n = try field(o, key, src) as? NSNumber, Double(n.intValue) == n.doubleValue, n.intValue >= min else {
            throw BPTTError.input("\(src): \(key): not a whole number ≥ \(min)")
        }
        return n.intValue
    }
    static func numbers(_ v: Any, _ shape: [Int], _ path: String, _ src: String) throws -> [Double] {
        if shape.isEmpty {
            guard let n = v as? NSNumber, n.doubleValue.isFinite else { throw BPTTError.input("\(src): \(path): not a finite number") }
            return [n.doubleValue]
        }
        guard let a = v as? [Any] else { throw BPTTError.input("\(src): \(path): not an array") }
        guard a.count == shape[0] else { throw BPTTError.input("\(src): \(path): \(a.count) entries, expected \(shape[0])") }
        var out: [Double] = []
        for (i, e) in a.enumerated() { out += try numbers(e, Array(shape.dropFirst()), "\(path)[\(i)]", src) }
        return out
    }
    /// `{"shape": [r, c] or [n], "data": [...]}` → r×c (or 1×n), checked against `rows`×`cols`.
    static func tensor(_ v: Any, rows: Int, cols: Int, _ path: String, _ src: String) throws -> Matrix<Double> {
        guard let o = v as? [String: Any] else { throw BPTTError.input("\(src): \(path): not an object {shape, data}") }
        guard let shape = (try field(o, "shape", "\(src): \(path)") as? [Any])?.compactMap({ ($0 as? NSNumber)?.intValue }) else {
            throw BPTTError.input("\(src): \(path).shape: not an array of whole numbers")
        }
        let want = rows == 1 ? [[cols], [1, cols]] : [[rows, cols]]
        guard want.contains(shape) else {
            throw BPTTError.input("\(src): \(path).shape: \(shape), expected \(want[0])")
        }
        let data = try numbers(try field(o, "data", "\(src): \(path)"), [rows * cols], "\(path).data", src)
        return Matrix(rows: rows, cols: cols, data: data)
    }

    /// Reads a case `bptt gradcheck --dump` wrote. Errors: `BPTTError.input` naming the field.
    public static func readCase(_ json: Any, source src: String) throws -> Case {
        guard let o = json as? [String: Any] else { throw BPTTError.input("\(src): not a JSON object") }
        guard let name = try field(o, "model", src) as? String, let kind = CellKind(rawValue: name) else {
            throw BPTTError.input("\(src): model: expected one of \(CellKind.names.joined(separator: ", "))")
        }
        if let l = o["layers"] as? NSNumber, l.intValue != 1 { throw BPTTError.input("\(src): layers: \(l), only one recurrent unit can be checked") }
        if o["bidirectional"] as? Bool == true { throw BPTTError.input("\(src): bidirectional: only one direction can be checked") }
        var spec = SequenceCheckSpec(model: kind)
        switch o["output"] as? String ?? "last" {
        case "last": spec.output = .last
        case "every-step": spec.output = .everyStep
        default: throw BPTTError.input("\(src): output: expected last or every-step")
        }
        (spec.batch, spec.length, spec.input, spec.hidden) = (try int(o, "batch", src), try int(o, "length", src),
                                                              try int(o, "input", src), try int(o, "hidden", src))
        spec.classes = try int(o, "classes", src, min: 2)
        let (B, T, D, H, K) = (spec.batch, spec.length, spec.input, spec.hidden, spec.classes)
        let x = try numbers(try field(o, "inputs", src), [B, T, D], "inputs", src)
        var xs: [Matrix<Double>] = []
        for t in 0..<T {
            var m = Matrix<Double>(rows: B, cols: D)
            for b in 0..<B { for d in 0..<D { m[b, d] = x[(b * T + t) * D + d] } }
            xs.append(m)
        }
        let y = try numbers(try field(o, "targets", src), spec.output == .last ? [B] : [B, T], "targets", src)
        guard y.allSatisfy({ $0 == $0.rounded() && $0 >= 0 && $0 < Double(K) }) else {
            throw BPTTError.input("\(src): targets: expected class numbers 0…\(K - 1)")
        }
        let targets = spec.output == .last ? [y.map { Int($0) }] : (0..<T).map { t in (0..<B).map { Int(y[$0 * T + t]) } }
        func state(_ key: String) throws -> Matrix<Double>? {
            guard let v = o[key], !(v is NSNull) else { return nil }
            return Matrix(rows: B, cols: H, data: try numbers(v, [B, H], key, src))
        }
        let h0 = try state("h0"), c0 = kind == .lstm ? try state("c0") : nil
        spec.withH0 = h0 != nil
        if kind == .lstm && (h0 == nil) != (c0 == nil) { throw BPTTError.input("\(src): c0: give both h0 and c0, or neither") }
        guard let ps = try field(o, "parameters", src) as? [String: Any] else { throw BPTTError.input("\(src): parameters: not an object") }
        var parameters: [String: Matrix<Double>] = [:]
        for (name, shape) in try shapes(spec) {
            guard let v = ps[name] else { throw BPTTError.input("\(src): parameters.\(name): missing") }
            parameters[name] = try tensor(v, rows: shape.rows, cols: shape.cols, "parameters.\(name)", src)
        }
        return Case(spec: spec, xs: xs, targets: targets, h0: h0, c0: c0, parameters: parameters)
    }

    struct Shapes: CellVisitor {
        typealias Real = Double
        let spec: SequenceCheckSpec
        func visit<C: RecurrentCell>(_ make: @escaping (Int) -> C) throws -> [(String, (rows: Int, cols: Int))] where C.Real == Double {
            let m = SequenceClassifier(stack: RecurrentStack(layers: 1, bidirectional: false, inputSize: spec.input,
                                                             hiddenSize: spec.hidden, make: make), classes: spec.classes, output: spec.output)
            var rng = RNG(seed: 0)
            return m.initialParameters(.xavier, rng: &rng).namedTensorValues.map { ($0.name, ($0.value.rows, $0.value.cols)) }
        }
    }
    /// The parameter names and shapes of the case's model, in the model's order.
    static func shapes(_ spec: SequenceCheckSpec) throws -> [(String, (rows: Int, cols: Int))] {
        try spec.model.accept(Shapes(spec: spec), hidden: spec.hidden)
    }

    struct ReferenceVisitor: CellVisitor {
        typealias Real = Double
        let c: Case, breaking: Break?
        func visit<C: RecurrentCell>(_ make: @escaping (Int) -> C) throws -> Reference where C.Real == Double {
            var spec = c.spec
            spec.model = .rnn   // the draw is replaced below; .rnn avoids the ReLU redraw loop
            var k = SequenceCheckCase(spec, make: make)
            k.xs = c.xs; k.targets = c.targets
            k.h0s = c.h0.map { [$0] }; k.c0s = c.c0.map { [$0] }
            k.params = k.params.with(k.params.namedTensorValues.map { c.parameters[$0.name]! })
            let tracer = Tracer(breaking: breaking)
            let a = k.analytic(tracer: tracer)
            return Reference(gradients: a.grads.namedTensorValues.map { ($0.name, $0.value) }, steps: walk(tracer), loss: a.loss)
        }
    }

    /// The library's backward pass on the case (with `breaking` switched on: what `--dump --break` writes).
    public static func reference(_ c: Case, breaking: Break? = nil) -> Reference {
        try! c.spec.model.accept(ReferenceVisitor(c: c, breaking: breaking), hidden: c.spec.hidden)
    }

    /// Every per-step adjoint a tracer recorded (with a forward record: a quantity, not a running
    /// sum), in walking order: last step first, in the order the backward pass wrote them.
    public static func walk(_ tracer: Tracer) -> [(quantity: Quantity, t: Int, value: Matrix<Double>)] {
        tracer.records.enumerated()
            .filter { $0.element.phase == .backward && tracer.record(.forward, $0.element.quantity, $0.element.t) != nil }
            .sorted { ($0.element.t, -$0.offset) > ($1.element.t, -$1.offset) }
            .map { ($0.element.quantity, $0.element.t, $0.element.value) }
    }

    /// Per-step adjoints as the answers' `steps` object: `{name: [t][b][j]}`, t = 1…T.
    public static func stepsJSON(_ steps: [(quantity: Quantity, t: Int, value: Matrix<Double>)]) -> JSON {
        var names: [String] = []
        var byName: [String: [Int: Matrix<Double>]] = [:]
        for s in steps {
            if byName[s.quantity.name] == nil { names.append(s.quantity.name) }
            byName[s.quantity.name, default: [:]][s.t] = s.value
        }
        return .object(names.map { name in
            let ms = byName[name]!
            return (name, .array(ms.keys.sorted().map { t in
                let m = ms[t]!
                return .array((0..<m.rows).map { b in .array((0..<m.cols).map { .number(m[b, $0]) }) })
            }))
        })
    }

    // MARK: comparing

    /// Compares answers (parsed JSON) with the reference. Errors: `BPTTError.input` naming the
    /// answers' field (a tensor or quantity the case does not have, a wrong shape, a non-number).
    public static func compare(_ c: Case, _ ref: Reference, answers json: Any, source src: String) throws -> Report {
        guard let o = json as? [String: Any] else { throw BPTTError.input("\(src): not a JSON object") }
        let dtype = o["dtype"] as? String ?? "float64"
        guard ["float64", "float32"].contains(dtype) else { throw BPTTError.input("\(src): dtype: expected float64 or float32") }
        let mark = dtype == "float32" ? float32Mark : float64Mark
        guard let gs = try field(o, "gradients", src) as? [String: Any] else { throw BPTTError.input("\(src): gradients: not an object") }
        let names = ref.gradients.map(\.name)
        for key in gs.keys.sorted() where !names.contains(key) {
            throw BPTTError.input("\(src): gradients.\(key): the case has no such parameter (it has \(names.joined(separator: ", ")))")
        }
        let (B, T) = (c.spec.batch, c.spec.length)
        var tensors: [TensorResult] = []
        for (name, r) in ref.gradients {
            guard let v = gs[name] else {
                tensors.append(TensorResult(name: name, maxRelError: .infinity, missing: true, factor: nil, factorName: nil, passed: false))
                continue
            }
            let a = try tensor(v, rows: r.rows, cols: r.cols, "gradients.\(name)", src)
            let err = maxRelError(a, r)
            let f = err < mark ? nil : constantFactor(a, r, mark: mark)
            tensors.append(TensorResult(name: name, maxRelError: err, missing: false, factor: f,
                                        factorName: f.flatMap { factorName($0, T: T, B: B) }, passed: err < mark))
        }
        var steps: [StepResult] = []
        if let so = o["steps"], !(so is NSNull) {
            guard let so = so as? [String: Any] else { throw BPTTError.input("\(src): steps: not an object {quantity: [t][b][j]}") }
            let known = ref.steps.reduce(into: [String]()) { if !$0.contains($1.quantity.name) { $0.append($1.quantity.name) } }
            for key in so.keys.sorted() where !known.contains(key) {
                throw BPTTError.input("\(src): steps.\(key): not a quantity of \(c.spec.model.rawValue) (\(known.joined(separator: ", ")))")
            }
            var given: [String: [Double]] = [:]
            var stepsOf: [String: [Int]] = [:]   // the steps a quantity exists at, in order (p: the read-out steps)
            for s in ref.steps { stepsOf[s.quantity.name, default: []].insert(s.t, at: 0) }
            for (key, v) in so {
                let width = ref.steps.first { $0.quantity.name == key }!.value.cols
                given[key] = try numbers(v, [stepsOf[key]!.count, B, width], "steps.\(key)", src)
            }
            for s in ref.steps {
                guard let all = given[s.quantity.name] else { continue }
                let n = s.value.rows * s.value.cols, i = stepsOf[s.quantity.name]!.firstIndex(of: s.t)!
                let a = Matrix(rows: s.value.rows, cols: s.value.cols, data: Array(all[i * n..<(i + 1) * n]))
                let err = maxRelError(a, s.value)
                steps.append(StepResult(t: s.t, quantity: s.quantity, maxRelError: err, passed: err < mark))
            }
        }
        let first = steps.first { !$0.passed }
        var tag = first?.tag
        if tag == nil, let bad = tensors.first(where: { !$0.passed }) {
            tag = StepAdjointCheck.parameterTag(bad.name, model: c.spec.model.rawValue)
        }
        return Report(model: c.spec.model.rawValue, mark: mark, tensors: tensors, steps: steps, firstStep: first, tag: tag)
    }

    static func maxRelError(_ a: Matrix<Double>, _ r: Matrix<Double>) -> Double {
        GradientCheck.worst(zip(a.data, r.data).map { GradientCheck.relativeError($0, $1) })
    }

    /// s when a = s·r elementwise (to within `mark`, relative to the largest element), s ≠ 1.
    static func constantFactor(_ a: Matrix<Double>, _ r: Matrix<Double>, mark: Double) -> Double? {
        let rr = zip(r.data, r.data).map(*).reduce(0, +)
        guard rr > 0 else { return nil }
        let s = zip(a.data, r.data).map(*).reduce(0, +) / rr
        let scale = a.data.map(abs).max() ?? 0
        guard scale > 0, zip(a.data, r.data).allSatisfy({ abs($0 - s * $1) <= mark * scale }) else { return nil }
        return abs(s - 1) < mark ? nil : s
    }

    /// The case's sizes a factor is, if any: "1/T" for a loss summed over T read-outs, "B" for a
    /// batch sum where a mean belongs, "2", "−1", …
    public static func factorName(_ s: Double, T: Int, B: Int) -> String? {
        let (t, b) = (Double(T), Double(B))
        var candidates: [(String, Double)] = [("T", t), ("1/T", 1 / t), ("B", b), ("1/B", 1 / b), ("T·B", t * b), ("1/(T·B)", 1 / (t * b)),
                                              ("2", 2), ("1/2", 0.5), ("−1", -1)]
        if T == B { candidates.removeAll { $0.0.contains("B") && !$0.0.contains("T") } }   // T = B: call it T
        return candidates.first { abs(s - $0.1) <= 1e-9 * abs($0.1) }?.0
    }
}
