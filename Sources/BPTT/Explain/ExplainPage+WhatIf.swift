import Foundation

/// The "what if" panels of `bptt explain --html`, precomputed so the page stays static: the same
/// example with another sequence length, another spectral radius of the recurrent weights, tanh
/// or ReLU, truncated BPTT, and each catalogued mistake of the model's backward pass (`Break`),
/// located as `bptt gradcheck --break NAME --locate` locates it.
extension ExplainPage {
    struct Panel {
        var json: JSON
        var tags: [String]
    }

    /// One variant's backward pass: ‖∂L/∂h_t‖ (and ‖∂L/∂c_t‖) per step, its gradients against
    /// finite differences of the (full, untruncated) loss, and the recurrent weights' spectral radius.
    struct VariantRun {
        var loss = 0.0
        var dh: [Double] = []
        var dc: [Double]? = nil
        var tensors: [GradientCheck.Result] = []
        var rho = 0.0
    }

    /// The recurrent weight blocks (each H×H) by check-tensor name.
    static func recurrentNames(_ model: String) -> [String] {
        switch model {
        case "rnn", "rnn-relu": return ["W_hh"]
        case "lstm": return ["W_ih", "W_fh", "W_gh", "W_oh"]
        default: return ["W_rh", "W_zh", "W_nh"]
        }
    }

    /// Spectral radius (largest |eigenvalue|) of a square matrix by Gelfand's formula,
    /// ρ = lim ‖A^k‖^{1/k}, with k = 2^12 reached by squaring (renormalised at every squaring).
    /// Accurate to about 0.5% for the small matrices here. 0 for a nilpotent matrix.
    public static func spectralRadius(_ a: Matrix<Double>) -> Double {
        require(a.rows == a.cols, "spectralRadius: square matrix")
        let n = a.rows
        var m = a
        var logScale = 0.0, k = 1.0
        for _ in 0..<12 {
            let norm = sqrt(m.data.reduce(0) { $0 + $1 * $1 })
            if norm == 0 { return 0 }
            for i in m.data.indices { m.data[i] /= norm }
            logScale += log(norm) / k
            var sq = Matrix<Double>(rows: n, cols: n)
            for i in 0..<n { for j in 0..<n { var s = 0.0; for l in 0..<n { s += m[i, l] * m[l, j] }; sq[i, j] = s } }
            m = sq
            k *= 2
        }
        let norm = sqrt(m.data.reduce(0) { $0 + $1 * $1 })
        if norm == 0 { return 0 }
        return exp(logScale + log(norm) / k)
    }

    /// Scales every recurrent block so that the largest spectral radius among them is `rho`;
    /// returns the radius before. Non-square or zero blocks are left alone.
    static func setRadius<P: ParameterSet>(_ params: inout P, model: String, rho: Double?) -> Double where P.Real == Double {
        let names = recurrentNames(model)
        var tensors = params.checkTensors(analytic: params)
        let radii = tensors.filter { names.contains($0.name) && $0.value.rows == $0.value.cols }.map { spectralRadius($0.value) }
        let before = radii.max() ?? 0
        guard let rho, before > 0 else { return before }
        let s = rho / before
        for k in tensors.indices where names.contains(tensors[k].name) {
            var v = tensors[k].value
            for i in v.data.indices { v.data[i] *= s }
            tensors[k] = .init(name: tensors[k].name, value: v, analytic: v)
        }
        params = params.with(tensors.map(\.value))
        return rho
    }

    /// Runs one variant: `model` at length `T`, recurrent weights set to spectral radius `rho`
    /// (nil: as drawn), truncation `k` (0: full BPTT), `breaking` switched on.
    static func runVariant(_ spec: Walkthrough.Spec, model: String, T: Int, rho: Double? = nil, k: Int = 0, breaking: Break? = nil) -> VariantRun {
        let tracer = Tracer(breaking: breaking)
        let hq: Quantity = model.hasPrefix("rnn") ? .rnnH : model == "lstm" ? .lstmH : .gruH
        var s = SequenceCheckSpec(model: CellKind(rawValue: model)!)
        (s.batch, s.length, s.input, s.hidden, s.classes, s.withH0, s.seed) =
            (spec.batch, T, spec.input, spec.hidden, spec.classes, spec.withH0, spec.seed)
        var out = try! s.model.accept(VariantVisitor(spec: s, rho: rho, k: k, tracer: tracer), hidden: s.hidden)
        func norm(_ m: Matrix<Double>?) -> Double { sqrt((m?.data ?? []).reduce(0) { $0 + $1 * $1 }) }
        out.dh = (1...T).map { norm(tracer.record(.backward, hq, $0)?.value) }
        if model == "lstm" { out.dc = (1...T).map { norm(tracer.record(.backward, .lstmC, $0)?.value) } }
        return out
    }

    struct VariantVisitor: CellVisitor {
        typealias Real = Double
        let spec: SequenceCheckSpec, rho: Double?, k: Int, tracer: Tracer
        func visit<C: RecurrentCell>(_ make: @escaping (Int) -> C) throws -> VariantRun where C.Real == Double {
            var c = SequenceCheckCase(spec, make: make)
            var out = VariantRun()
            out.rho = ExplainPage.setRadius(&c.params, model: spec.model.rawValue, rho: rho)
            // the analytic pass with truncation k (SequenceCheckCase.analytic, plus truncation)
            var ws = SequenceCheckCase<C>.Model.Workspace()
            ws.stack.tracer = tracer
            var grads = c.params.zeros()
            var none: RNG? = nil
            let r = c.model.lossAndGradient(c.xs, targets: c.targets, h0s: c.h0s, c0s: c.c0s, c.params, lengths: nil, lossScale: c.lossScale,
                                            workspace: &ws, grads: &grads, dropoutRNG: &none, inputGradients: true, truncation: k)
            out.loss = r.lossSum * c.lossScale
            var tensors = c.params.checkTensors(analytic: grads)
            tensors.append(.init(name: "x", value: GradientCheck.stack(c.xs), analytic: GradientCheck.stack(ws.stack.dxs)))
            if let h0s = c.h0s { tensors.append(.init(name: "h0", value: h0s[0], analytic: ws.stack.dh0s[0])) }
            if let c0s = c.c0s { tensors.append(.init(name: "c0", value: c0s[0], analytic: ws.stack.dc0s[0]!)) }
            let np = c.params.tensorCount, hasH0 = c.h0s != nil, hasC0 = c.c0s != nil, steps = spec.length
            let cc = c
            out.tensors = GradientCheck.run(tensors) { values in
                cc.evaluate(params: cc.params.with(values), xs: GradientCheck.unstack(values[np], steps: steps),
                            h0s: hasH0 ? [values[np + 1]] : nil, c0s: hasC0 ? [values[np + 2]] : nil)
            }
            return out
        }
    }

    static func runJSON(_ r: VariantRun) -> [(String, JSON)] {
        var f: [(String, JSON)] = [
            ("loss", .number(r.loss)), ("rho", .number(r.rho)),
            ("dh", .array(r.dh.map { .number($0) })),
            ("tensors", .array(r.tensors.map { .array([.string($0.name), .number($0.maxRelError), .bool($0.passed)]) })),
            ("max_rel_error", .number(r.tensors.map(\.maxRelError).max() ?? 0)),
        ]
        if let dc = r.dc { f.append(("dc", .array(dc.map { .number($0) }))) }
        return f
    }

    /// The panels for a recurrent model's page (none for the MLP).
    static func panels(_ spec: Walkthrough.Spec) -> [Panel] {
        let model = spec.model
        let T = max(spec.length, 8)   // long enough for gradients to vanish or explode
        var out: [Panel] = []
        func add(_ group: String, _ id: String, _ label: String, _ title: String, _ note: String, _ r: VariantRun, _ extra: [(String, JSON)] = []) {
            out.append(Panel(json: .object([("group", .string(group)), ("id", .string(id)), ("label", .string(label)),
                                             ("title", .string(title)), ("note", .string(note)), ("T", .int(r.dh.count))] + runJSON(r) + extra),
                             tags: []))
        }
        let drawn = runVariant(spec, model: model, T: T).rho
        for L in Array(Set([2, 4, 8, 16, spec.length])).sorted() {
            let r = runVariant(spec, model: model, T: L)
            add("length", "T\(L)", "T = \(L)", "sequence length T = \(L)",
                "the same seed and sizes, \(L) steps; full BPTT, so every gradient still agrees with finite differences", r)
        }
        for rho in [0.5, 1.0, 2.0, 4.0] {
            let r = runVariant(spec, model: model, T: T, rho: rho)
            add("rho", String(format: "rho%g", rho), String(format: "ρ = %g", rho), String(format: "recurrent weights scaled to spectral radius ρ = %g (drawn: %.3f), T = %d", rho, drawn, T),
                model.hasPrefix("rnn") ? "W_hh scaled so that its largest |eigenvalue| is ρ; below 1 the backward product of Jacobians shrinks ‖∂L/∂h_t‖ step after step, far above 1 it can grow (or saturate tanh)"
                                       : "every gate's recurrent block scaled by one factor, so that the largest spectral radius among them is ρ; the gates soften what ρ does to a vanilla RNN", r)
        }
        for act in ["rnn", "rnn-relu"] {
            let r = runVariant(spec, model: act, T: T)
            add("phi", act, act == "rnn" ? "φ = tanh" : "φ = ReLU", "vanilla RNN with φ = \(act == "rnn" ? "tanh" : "ReLU"), T = \(T)" + (model.hasPrefix("rnn") ? "" : " (the \(model) gates have fixed nonlinearities: shown for the vanilla RNN of the same sizes and seed)"),
                act == "rnn" ? "tanh′ = 1 − h² ≤ 1: each step back multiplies by W_hh and a factor ≤ 1"
                             : "ReLU′ is 0 or 1: a step back passes the gradient through the active units unchanged and stops it at the others", r)
        }
        for k in [0, 1, 2, 4] {
            let r = runVariant(spec, model: model, T: T, k: k)
            add("trunc", "k\(k)", k == 0 ? "full" : "k = \(k)", k == 0 ? "full BPTT, T = \(T)" : "truncated BPTT, k = \(k), T = \(T)",
                k == 0 ? "every step's gradient flows back to t = 1: the analytic gradients agree with finite differences"
                       : "the gradient stops every \(k) steps (tags rnn.truncate, lstm.truncate, gru.truncate): the analytic gradients are no longer the loss's, and finite differences show by how much", r)
        }
        // the catalogued mistakes, located as gradcheck --locate locates them
        for b in Break.allCases where b.models.contains(model) {
            var s = SequenceCheckSpec(model: CellKind(rawValue: model)!)
            (s.batch, s.length, s.input, s.hidden, s.classes, s.withH0, s.seed) =
                (spec.batch, spec.length, spec.input, spec.hidden, spec.classes, spec.withH0, spec.seed)
            let report = SequenceGradientCheck.locate(s, breaking: b)
            let broken = runVariant(spec, model: model, T: spec.length, breaking: b)
            let correct = runVariant(spec, model: model, T: spec.length)
            var command = "bptt gradcheck --model \(model) --length \(spec.length) --batch \(spec.batch) --input \(spec.input) --hidden \(spec.hidden) --classes \(spec.classes) --seed \(spec.seed)"
            if !spec.withH0 { command += " --no-h0" }
            command += " --break \(b.name) --locate"
            let first = report.steps.first(where: { !$0.result.passed })
            var panel = Panel(json: .object([
                ("group", .string("mistake")), ("id", .string(b.name)), ("label", .string(b.name)),
                ("title", .string("mistake \(b.name)")), ("note", .string(b.summary)), ("T", .int(spec.length)),
                ("break_tag", .string(b.tag)), ("command", .string(command)),
                ("loss", .number(broken.loss)), ("dh", .array(broken.dh.map { .number($0) })),
                ("dh_correct", .array(correct.dh.map { .number($0) })),
                ("steps", .array(report.steps.map { e in
                    .array([.int(e.t), .string(e.name), .string(e.tag), .number(e.result.maxRelError), .bool(e.result.passed),
                            .number(e.result.analytic), .number(e.result.numeric)])
                })),
                ("first_failing", first.map { .array([.int($0.t), .string($0.name), .string($0.tag), .number($0.result.analytic), .number($0.result.numeric)]) } ?? .null),
                ("divergence", report.firstDivergence.map { d in .object([("t", d.t.map { .int($0) } ?? .null), ("tag", .string(d.tag))]) } ?? .null),
                ("tensors", .array(report.results.map { .array([.string($0.name), .number($0.maxRelError), .bool($0.passed)]) })),
                ("max_rel_error", .number(report.results.map(\.maxRelError).max() ?? 0)),
            ]), tags: [b.tag])
            if let d = report.firstDivergence { panel.tags.append(d.tag) }
            panel.tags += report.steps.map(\.tag)
            out.append(panel)
        }
        return out
    }
}
