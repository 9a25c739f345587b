import Foundation

extension Walkthrough {
    /// `bptt explain --task text`: one chunk of a character-level model on a 3-character
    /// vocabulary (a, b, c), walked number by number — the chunk starts from the state the
    /// previous chunk of the same streams ended in (charlm.carry), every step has its own
    /// softmax and loss ℓ_t (charlm.loss), every step's dp_t enters the backward pass
    /// (charlm.dp, charlm.dh), and the gradient stops at the chunk's start (charlm.stop).
    /// The finite differences hold the carried state fixed. `spec.model` names the cell;
    /// `spec.length`, `spec.batch`, `spec.hidden`, `spec.seed` the sizes (input and classes are 3).
    public static func text(_ spec: Spec) -> Walkthrough {
        var s = CharLMCheckSpec(model: CellKind(rawValue: spec.model) ?? .rnn)
        (s.vocabulary, s.hidden, s.batch, s.length, s.seed) = (3, spec.hidden, spec.batch, spec.length, spec.seed)
        return try! s.model.accept(TextVisitor(spec: spec, checkSpec: s), hidden: s.hidden)
    }

    struct TextVisitor: CellVisitor {
        typealias Real = Double
        let spec: Spec, checkSpec: CharLMCheckSpec
        func visit<C: RecurrentCell>(_ make: @escaping (Int) -> C) -> Walkthrough where C.Real == Double {
            let c = CharLMCheckCase(checkSpec, make: make)
            let tracer = Tracer()
            let path = c.stateful(nil, tracer: tracer)   // chunk 1, then chunk 2 traced
            let s0 = c.carriedState()
            let tensors = c.params.checkTensors(analytic: path.grads)
            let loss = c.definitionLoss(c.params, from: s0)
            let (x2, y2) = c.streams.chunk(1)
            let letters = ["a", "b", "c"]
            let rows = { (ids: [[Int]]) in ids.map { $0.map { letters[$0] }.joined() } }
            var w = Walkthrough.assemble(
                title: "text: a character-level \(spec.model) language model, one chunk of stateful truncated BPTT",
                notes: ["vocabulary a, b, c (one-hot x_t); \(checkSpec.batch) stream\(checkSpec.batch == 1 ? "" : "s"); chunk 2 of each stream, T = \(checkSpec.length): inputs per step \(rows(x2)), targets (the next characters) \(rows(y2))",
                        "the chunk starts from the state chunk 1 ended in (charlm.carry); a softmax and a loss at every step, L = 1/(T·B) Σ_t Σ_b ℓ_{t,b} (charlm.loss); the gradient stops at the chunk's start (charlm.stop)  (derivations/charlm.md)"],
                spec: spec, tracer: tracer, tensors: tensors, targets: y2.flatMap { $0 }, loss: loss,
                lossFunction: { .init(loss: c.definitionLoss(c.params.with($0), from: s0)) }, blocks: [:])
            // the inputs, one-hot, and the carried state, shown with the example: with one level the
            // state is the h0 (and c0) the first step reads, so the page draws it in column t = 0
            let xs = x2.indices.map { t in
                Matrix<Double>(rows: x2[t].count, cols: 3, data: x2[t].flatMap { id in (0..<3).map { $0 == id ? 1.0 : 0.0 } })
            }
            w.sections[0].items.append(Item(tag: "charlm.x", text: "x_t = onehot(input_t): \(rows(x2.indices.map { x2[$0] }))",
                                            latex: #"x_t = \mathrm{onehot}(\text{input}_t)"#,
                                            values: xs.enumerated().map { Value(symbol: "x_\($0.offset + 1)", latex: "x_{\($0.offset + 1)}", matrix: $0.element) },
                                            note: nil))
            let oneLevel = s0.h.count == 1
            let carried = s0.named(prefix: "s0.").map { name, m -> Value in
                let symbol = oneLevel ? (name.hasPrefix("s0.h") ? "h0" : "c0") : name
                return Value(symbol: symbol, latex: latexName(symbol), matrix: m)
            }
            w.sections[0].items.append(Item(tag: "charlm.carry", text: "s_0 = the state after chunk 1 (held fixed)", latex: #"s_0 = s^{(1)}_T"#,
                                            values: carried, note: "a constant: its gradient is dropped (charlm.stop)"))
            // the per-step losses, from the probabilities the forward pass wrote
            if let k = w.sections.firstIndex(where: { $0.title == "readout and loss" }) {
                var items = w.sections[k].items.filter { $0.tag != "losses.ce" }
                let probs = tracer.records.filter { $0.phase == .forward && $0.quantity == .probs }
                for r in probs {
                    let ell = Matrix<Double>(rows: r.value.rows, cols: 1, data: (0..<r.value.rows).map { b in -Foundation.log(r.value[b, y2[r.t - 1][b]]) })
                    items.append(Item(tag: "charlm.loss", text: "ℓ_\(r.t) = −log ŷ_\(r.t)[target_\(r.t)]  (targets \(y2[r.t - 1].map { letters[$0] }.joined(separator: ", ")))",
                                      latex: "\\ell_{\(r.t)} = -\\log \\hat y_{\(r.t), \\text{target}}", values: [Value(symbol: "ℓ_\(r.t)", latex: "\\ell_{\(r.t)}", matrix: ell)], note: nil))
                }
                items.append(Item(tag: "charlm.loss", text: "L = 1/(T·B) Σ_t Σ_b ℓ_{t,b}", latex: #"L = \tfrac{1}{TB}\textstyle\sum_t\sum_b \ell_{t,b}"#,
                                  values: [Value(symbol: "L", latex: "L", matrix: Matrix(rows: 1, cols: 1, data: [loss]))],
                                  note: "dp_t = (ŷ_t − onehot(target_t))/(T·B) enters at every step (charlm.dp)"))
                w.sections[k].items = items
                w.sections[k] = Section(title: "readout and the per-step losses", items: items)
            }
            return w
        }
    }
}
