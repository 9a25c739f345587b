import Foundation

/// `bptt explain`: one tiny example walked through number by number — every forward equation in
/// the order the code runs it, the loss, every backward equation in reverse time order, and each
/// parameter's analytic gradient beside its finite-difference estimate.
///
/// The numbers are not recomputed here: they are what the real forward and backward passes wrote,
/// recorded by a `Tracer` at the lines that cite each tag. The case is the one `bptt gradcheck`
/// builds for the same model, seed and sizes, so the two agree.
public struct Walkthrough: Sendable, CustomStringConvertible {
    /// A named matrix, printed with its shape.
    public struct Value: Sendable {
        public let symbol: String        // plain: "h_2"
        public let latex: String         // "h_{2}"
        public let matrix: Matrix<Double>
    }

    /// One equation with the numbers it produced.
    public struct Item: Sendable {
        public let tag: String
        public let text: String
        public let latex: String
        public let values: [Value]
        public let note: String?
    }

    /// A group of items between two pauses of `--interactive`.
    public struct Section: Sendable {
        public let title: String
        public var items: [Item]
    }

    /// One element of one parameter (or input): analytic vs five-point central difference.
    public struct ElementCheck: Sendable {
        public let tensor: String
        public let index: String
        public let analytic: Double
        public let numeric: Double
        public let relError: Double
        /// Left out: every step tried straddled a ReLU kink.
        public let atKink: Bool
    }

    public var title: String
    public var notes: [String]
    public var sections: [Section]
    public var checks: [ElementCheck]
    /// Max relative error per tensor, in the check's order (as `bptt gradcheck` reports it).
    public var tensorErrors: [(name: String, error: Double)]
    public var loss: Double
    /// The analytic gradients, by tensor name (as `bptt gradcheck --dump` writes them).
    public var gradients: [(name: String, value: Matrix<Double>)]
    public var maxRelError: Double { GradientCheck.worst(tensorErrors.map(\.error)) }

    /// The sizes of the example (the flags of `bptt explain`).
    public struct Spec: Sendable {
        public var model = "rnn"
        public var length = 3, batch = 1, input = 1, hidden = 2, classes = 3
        /// MLP: hidden layer widths (default one layer of `hidden`).
        public var hiddenLayers: [Int]? = nil
        public var withH0 = true
        public var seed: UInt64 = 0
        public var step = GradientCheck.defaultStep
        public init() {}
        public static let models = ["rnn", "rnn-relu", "lstm", "gru", "gru-cho", "mlp"]
    }

    /// Builds the walk-through for `spec.model`.
    public static func make(_ spec: Spec) -> Walkthrough {
        switch spec.model {
        case "mlp": return mlp(spec)
        default:
            var s = SequenceCheckSpec(model: CellKind(rawValue: spec.model)!)
            (s.batch, s.length, s.input, s.hidden, s.classes, s.withH0, s.seed) =
                (spec.batch, spec.length, spec.input, spec.hidden, spec.classes, spec.withH0, spec.seed)
            return try! s.model.accept(SequenceVisitor(spec: spec, checkSpec: s), hidden: spec.hidden)
        }
    }

    /// The walk-through of a cell of your own (`bptt explain` for it): `spec`'s sizes and seed
    /// (`spec.model` and `spec.hidden` are unused: the cell's own size counts), the cell run
    /// through the library's time loop under a softmax readout of h_T. Every quantity the cell
    /// reports to the probe (`Quantity.define`) appears with its equation's tag and text.
    /// Print it with `text(_:)` per section and `checkText`, or `markdown`. Errors: none.
    public static func make<C: RecurrentCell>(_ spec: Spec, title: String? = nil, cell make: @escaping (_ inputSize: Int) -> C) -> Walkthrough where C.Real == Double {
        var s = SequenceCheckSpec(model: .rnn)
        (s.batch, s.length, s.input, s.classes, s.withH0, s.seed) = (spec.batch, spec.length, spec.input, spec.classes, spec.withH0, spec.seed)
        s.hidden = make(spec.input).hiddenSize
        var spec = spec
        spec.hidden = s.hidden
        return SequenceVisitor(spec: spec, checkSpec: s, custom: title ?? "\(C.self) with a softmax readout of h_T").visit(make)
    }

    // MARK: - the models

    struct SequenceVisitor: CellVisitor {
        typealias Real = Double
        let spec: Spec, checkSpec: SequenceCheckSpec
        /// The title of a cell of your own (nil: one of the library's, by `checkSpec.model`).
        var custom: String? = nil
        func visit<C: RecurrentCell>(_ make: @escaping (Int) -> C) -> Walkthrough where C.Real == Double {
            let c = SequenceCheckCase(checkSpec, make: make)
            let tracer = Tracer()
            let a = c.analytic(tracer: tracer)
            var tensors = c.params.checkTensors(analytic: a.grads)
            tensors.append(.init(name: "x", value: GradientCheck.stack(c.xs), analytic: GradientCheck.stack(a.dxs)))
            if let h0s = c.h0s { tensors.append(.init(name: "h0", value: h0s[0], analytic: a.dh0s[0])) }
            if let c0s = c.c0s { tensors.append(.init(name: "c0", value: c0s[0], analytic: a.dc0s[0]!)) }
            let np = c.params.tensorCount, hasH0 = c.h0s != nil, hasC0 = c.c0s != nil, steps = checkSpec.length
            let loss: ([Matrix<Double>]) -> GradientCheck.Evaluation = { values in
                let p = c.params.with(values)
                return c.evaluate(params: p, xs: GradientCheck.unstack(values[np], steps: steps),
                                  h0s: hasH0 ? [values[np + 1]] : nil, c0s: hasC0 ? [values[np + 2]] : nil)
            }
            let H = checkSpec.hidden
            var blocks: [Quantity: String] = [:]
            let title: String
            let notes: [String]
            switch custom == nil ? checkSpec.model : nil {
            case nil:
                title = custom!
                notes = []
            case .rnn?, .rnnReLU?:
                let phi = checkSpec.model == .rnn ? "tanh" : "ReLU"
                title = "\(checkSpec.model.rawValue): vanilla RNN (φ = \(phi)) with a softmax readout of h_T"
                notes = ["h_t = φ(x_t W_hxᵀ + h_{t−1} W_hhᵀ + b_h), p = h_T W_phᵀ + b_p, L = mean −log softmax(p)[y]  (derivations/rnn.md)"]
            case .lstm?:
                let G = LSTM<Double>(inputSize: checkSpec.input, hiddenSize: H).gateLayout
                let order = [("i", G.i), ("f", G.f), ("g", G.g), ("o", G.o)].sorted { $0.1 < $1.1 }.map(\.0)
                let rows = "fused over the gates: row blocks of \(H) in the order " + order.joined(separator: ", ") + " (LSTM.Gates)"
                for q in [Quantity.lstmDW_x, .lstmDW_h] { blocks[q] = rows }
                blocks[.lstmDb] = "columns in blocks of \(H): " + order.joined(separator: ", ")
                title = "lstm: LSTM (gates i, f, g, o) with a softmax readout of h_T"
                notes = ["gates i, f, g, o: i, f, o = σ(·), g = tanh(·); c_t = g_t ⊙ i_t + c_{t−1} ⊙ f_t; h_t = o_t ⊙ tanh(c_t)  (derivations/lstm.md)"]
            default:
                let rows = "fused over the gates: row blocks of \(H) in the order r, z, n (GRU.Gates)"
                for q in [Quantity.gruDW_x, .gruDW_h] { blocks[q] = rows }
                blocks[.gruDb] = "columns in blocks of \(H): b_r, b_z, b_nx"
                blocks[.gruDb_nh] = "columns in blocks of \(H): only the n block is db_nh"
                let cho = checkSpec.model == .gruCho
                title = cho ? "gru-cho: GRU (Cho et al. 2014) with a softmax readout of h_T"
                            : "gru: GRU (PyTorch's formulation) with a softmax readout of h_T"
                notes = [cho ? "r, z = σ(·); q_t = r_t ⊙ h_{t−1}; n_t = tanh(x_t W_nxᵀ + b_nx + q_t W_nhᵀ + b_nh); h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t−1}  (derivations/gru.md)"
                             : "r, z = σ(·); m_t = h_{t−1} W_nhᵀ + b_nh; n_t = tanh(x_t W_nxᵀ + b_nx + r_t ⊙ m_t); h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t−1}  (derivations/gru.md)"]
            }
            return Walkthrough.assemble(title: title, notes: notes, spec: spec, tracer: tracer, tensors: tensors,
                                        targets: c.targets[0], loss: a.loss, lossFunction: loss, blocks: blocks)
        }
    }

    static func mlp(_ spec: Spec) -> Walkthrough {
        let sizes = [spec.input] + (spec.hiddenLayers ?? [spec.hidden]) + [spec.classes]
        let c = MLPCheckCase.random(loss: .softmaxCE, hidden: .tanh, sizes: sizes, batch: spec.batch, seed: spec.seed)
        let tracer = Tracer()
        let a = c.analytic(tracer: tracer)
        var tensors = c.params.checkTensors(analytic: a.grads)
        tensors.append(.init(name: "x", value: c.x, analytic: a.dx))
        let n = c.params.tensors.count
        let loss: ([Matrix<Double>]) -> GradientCheck.Evaluation = { values in
            var p = c.params
            p.tensors = Array(values[0..<n])
            return c.evaluate(p, values[n])
        }
        var w = assemble(title: "mlp: " + sizes.map(String.init).joined(separator: "→") + " MLP, tanh hidden layers, softmax cross-entropy",
                         notes: ["z_l = h_{l−1} W_lᵀ + b_l, a_l = φ_l(z_l) (tanh; identity on the last layer), L = mean −log softmax(a_L)[y]  (derivations/linear.md, activations.md, losses.md)"],
                         spec: spec, tracer: tracer, tensors: tensors, targets: c.labels, loss: a.loss, lossFunction: loss,
                         blocks: [:], layers: c.mlp.layers.map(\.activation))
        w.notes.append("here the step index t is the layer l")
        return w
    }

    // MARK: - assembling the sections from the tracer's records

    static func item(_ r: Tracer.Record, blocks: [Quantity: String], layers: [Activation]?) -> Item {
        let info = r.quantity.info
        let step = r.t == 0 ? "" : "\(r.t)"
        let sub = r.t == 0 ? "" : "_\(r.t)"
        var eq: Quantity.Equation
        var symbol: String, latex: String
        var note: String? = blocks[r.quantity]
        if r.phase == .forward {
            eq = info.forward!
            symbol = info.name + sub
            latex = info.symbol.replacingOccurrences(of: "#", with: step)
        } else {
            eq = info.backward!
            if info.forward != nil {
                symbol = "d" + info.name + sub
                latex = "d" + info.symbol.replacingOccurrences(of: "#", with: step)
            } else {
                symbol = info.name
                latex = info.symbol.replacingOccurrences(of: "#", with: step)
                if note == nil, r.t > 0, layers == nil { note = "sum so far (steps T … \(r.t))" }
            }
        }
        if let layers, r.t >= 1, r.t <= layers.count, (r.quantity == .mlpA && r.phase == .forward) || (r.quantity == .mlpZ && r.phase == .backward) {
            let act = layers[r.t - 1]
            let name: String
            switch act {
            case .identity: name = "identity"
            case .relu: name = "relu"
            case .leakyReLU: name = "leaky"
            case .sigmoid: name = "sigmoid"
            case .tanh: name = "tanh"
            }
            eq = r.phase == .forward
                ? .init(tag: "activations.\(name)", text: "a_l = \(act)(z_l)", latex: #"a_l = \varphi_l(z_l)"#)
                : .init(tag: "activations.d\(name)", text: "dz_l = da_l ⊙ \(act)′(z_l)", latex: #"dz_l = da_l \odot \varphi_l'(z_l)"#)
        }
        return Item(tag: eq.tag, text: eq.text, latex: eq.latex, values: [Value(symbol: symbol, latex: latex, matrix: r.value)], note: note)
    }

    static func assemble(title: String, notes: [String], spec: Spec, tracer: Tracer, tensors: [GradientCheck.Tensor],
                         targets: [Int], loss: Double, lossFunction: ([Matrix<Double>]) -> GradientCheck.Evaluation,
                         blocks: [Quantity: String], layers: [Activation]? = nil) -> Walkthrough {
        let readout: Set<Quantity> = [.logitsStacked, .probs, .readoutDW, .readoutDb]
        var sections: [Section] = []
        // setup: parameters, inputs, initial states, targets
        var setup = Section(title: "the example (Float64, seed \(spec.seed))", items: [])
        for t in tensors {
            let shown = t.name == "x" && layers == nil
                ? GradientCheck.unstack(t.value, steps: spec.length).enumerated().map { Value(symbol: "x_\($0.offset + 1)", latex: "x_{\($0.offset + 1)}", matrix: $0.element) }
                : [Value(symbol: t.name, latex: latexName(t.name), matrix: t.value)]
            setup.items.append(Item(tag: "", text: "", latex: "", values: shown, note: nil))
        }
        setup.items.append(Item(tag: "", text: "targets y = \(targets)", latex: "y = (" + targets.map(String.init).joined(separator: ", ") + ")",
                                values: [], note: nil))
        sections.append(setup)
        let forward = tracer.records.filter { $0.phase == .forward }
        let backward = tracer.records.filter { $0.phase == .backward }
        let unit = layers == nil ? "t" : "layer"
        for t in Array(Set(forward.map(\.t))).sorted() {
            let items = forward.filter { $0.t == t && !readout.contains($0.quantity) }.map { item($0, blocks: blocks, layers: layers) }
            if !items.isEmpty { sections.append(Section(title: "forward, \(unit) = \(t)", items: items)) }
        }
        var lossSection = Section(title: "readout and loss", items: forward.filter { readout.contains($0.quantity) }.map { item($0, blocks: blocks, layers: layers) })
        lossSection.items.append(Item(tag: "losses.ce", text: "L = (1/B) Σ_b −log ŷ_{b, y_b}", latex: #"L = \tfrac{1}{B}\textstyle\sum_b -\log \hat y_{b, y_b}"#,
                                      values: [Value(symbol: "L", latex: "L", matrix: Matrix(rows: 1, cols: 1, data: [loss]))], note: nil))
        sections.append(lossSection)
        let backReadout = backward.filter { readout.contains($0.quantity) }
        if !backReadout.isEmpty {
            sections.append(Section(title: "backward: loss and readout", items: backReadout.map { item($0, blocks: blocks, layers: layers) }))
        }
        for t in Array(Set(backward.map(\.t))).sorted(by: >) where t > 0 {
            let items = backward.filter { $0.t == t && !readout.contains($0.quantity) }.map { item($0, blocks: blocks, layers: layers) }
            if !items.isEmpty { sections.append(Section(title: "backward, \(unit) = \(t)", items: items)) }
        }
        let after = backward.filter { $0.t == 0 }.map { item($0, blocks: blocks, layers: layers) }
        if !after.isEmpty { sections.append(Section(title: "after the loop: weight gradients summed over all steps", items: after)) }

        // the check, element by element, with the checker of `bptt gradcheck`
        var checks: [ElementCheck] = []
        var tensorErrors: [(name: String, error: Double)] = []
        let base = tensors.map(\.value)
        for (k, t) in tensors.enumerated() {
            var worst = 0.0
            for i in 0..<t.value.count {
                let one = GradientCheck.Tensor(name: t.name, value: Matrix(rows: 1, cols: 1, data: [t.value.data[i]]),
                                               analytic: Matrix(rows: 1, cols: 1, data: [t.analytic.data[i]]))
                let r = GradientCheck.run([one], step: spec.step) { v in
                    var values = base
                    values[k].data[i] = v[0].data[0]
                    return lossFunction(values)
                }[0]
                let index = t.value.rows == 1 || t.value.cols == 1 ? "[\(i)]" : "[\(i / t.value.cols),\(i % t.value.cols)]"
                checks.append(ElementCheck(tensor: t.name, index: index, analytic: r.analytic, numeric: r.numeric,
                                           relError: r.maxRelError, atKink: r.kinks > 0))
                worst = max(worst, r.maxRelError)
            }
            tensorErrors.append((t.name, worst))
        }
        let inputs = layers == nil ? "T=\(spec.length) " : ""
        return Walkthrough(title: title, notes: notes + ["sizes: \(inputs)B=\(spec.batch) D=\(spec.input) H=\(spec.hidden) K=\(spec.classes), seed \(spec.seed)"],
                           sections: sections, checks: checks, tensorErrors: tensorErrors, loss: loss,
                           gradients: tensors.map { ($0.name, $0.analytic) })
    }

    static func latexName(_ name: String) -> String {
        // W_hx → W_{hx}, b_nh → b_{nh}, h0 → h_0, W1 → W_1
        if let u = name.firstIndex(of: "_") {
            return String(name[..<u]) + "_{" + name[name.index(after: u)...] + "}"
        }
        if let d = name.firstIndex(where: \.isNumber) { return String(name[..<d]) + "_{" + name[d...] + "}" }
        return name
    }
}

// MARK: - rendering

extension Walkthrough {
    /// A number as the walk-through prints it.
    public static func format(_ v: Double) -> String {
        if v == 0 { return "0" }
        return abs(v) >= 1e-4 && abs(v) < 1e5 ? String(format: "%+.6f", v) : String(format: "%+.4e", v)
    }

    /// One section as plain text for a terminal.
    public func text(_ s: Section) -> String {
        var out = "── \(s.title) " + String(repeating: "─", count: max(3, 60 - s.title.count)) + "\n"
        for item in s.items {
            if !item.tag.isEmpty { out += "(\(item.tag))  \(item.text)\n" } else if !item.text.isEmpty { out += item.text + "\n" }
            if let note = item.note { out += "    [\(note)]\n" }
            for v in item.values {
                let shape = "\(v.matrix.rows)×\(v.matrix.cols)"
                let label = "    \(v.symbol) (\(shape)) = "
                for r in 0..<v.matrix.rows {
                    let row = (0..<v.matrix.cols).map { Walkthrough.format(v.matrix[r, $0]).leftPadded(10) }.joined(separator: " ")
                    out += (r == 0 ? label : String(repeating: " ", count: label.count)) + "[" + row + " ]\n"
                }
            }
        }
        return out
    }

    /// The whole walk-through as `bptt explain` prints it: every section, then the check's table.
    public var description: String { sections.map(text).joined(separator: "\n") + "\n" + checkText }

    /// The final table as plain text.
    public var checkText: String {
        var out = "── analytic gradient (backward pass) vs finite difference (5-point stencil, step \(GradientCheck.defaultStep)) ──\n"
        out += "element".padding(toLength: 14, withPad: " ", startingAt: 0) + "      analytic         numeric          rel. error\n"
        for c in checks {
            out += (c.tensor + c.index).padding(toLength: 14, withPad: " ", startingAt: 0)
                + String(format: "  %+.10e  %+.10e  %.2e", c.analytic, c.numeric, c.relError)
                + (c.atKink ? "  (at a ReLU kink, left out)" : "") + "\n"
        }
        out += "max relative error per tensor: " + tensorErrors.map { "\($0.name) " + String(format: "%.1e", $0.error) }.joined(separator: ", ") + "\n"
        out += String(format: "max relative error %.3e (threshold %.0e): %@\n", maxRelError, GradientCheck.threshold,
                      (maxRelError < GradientCheck.threshold ? "pass" : "FAIL") as NSString)
        return out
    }

    /// The whole walk-through as Markdown with LaTeX in ```math blocks (rendered by GitHub).
    public var markdown: String {
        var out = "# bptt explain — \(title)\n\n"
        for n in notes { out += "- \(n)\n" }
        out += "- Every number below was written by the real forward and backward pass (recorded by a tracer at the line that cites the tag), in the order the code computed it.\n\n"
        for s in sections {
            out += "## \(s.title.prefix(1).uppercased() + s.title.dropFirst())\n\n"
            for item in s.items {
                if !item.tag.isEmpty {
                    out += "`(\(item.tag))`\n\n```math\n\(item.latex) \\tag{\(item.tag)}\n```\n\n"
                } else if !item.latex.isEmpty {
                    out += "```math\n\(item.latex)\n```\n\n"
                }
                if let note = item.note { out += "_\(note)_\n\n" }
                for v in item.values { out += "```math\n\(v.latex) = \(Walkthrough.latexMatrix(v.matrix)) \\quad (\(v.matrix.rows)\\times \(v.matrix.cols))\n```\n\n" }
            }
        }
        out += "## Check: analytic gradient vs finite difference\n\n"
        out += "Five-point central difference, step \(GradientCheck.defaultStep); relative error $|a-n|/\\max(|a|,|n|,10^{-5})$.\n\n"
        out += "| element | analytic | numeric | relative error |\n|---|---:|---:|---:|\n"
        for c in checks {
            out += "| `\(c.tensor)\(c.index)` | " + String(format: "%+.10e | %+.10e | %.2e", c.analytic, c.numeric, c.relError)
                + (c.atKink ? " (at a kink, left out)" : "") + " |\n"
        }
        out += "\n" + String(format: "Max relative error %.3e (threshold %.0e): **%@**.\n", maxRelError, GradientCheck.threshold,
                             (maxRelError < GradientCheck.threshold ? "pass" : "FAIL") as NSString)
        return out
    }

    static func latexMatrix(_ m: Matrix<Double>) -> String {
        let rows = (0..<m.rows).map { r in (0..<m.cols).map { format(m[r, $0]).replacingOccurrences(of: "e", with: "\\mathrm{e}") }.joined(separator: " & ") }
        return "\\begin{bmatrix} " + rows.joined(separator: " \\\\ ") + " \\end{bmatrix}"
    }

    /// The `--json` summary: loss, analytic gradients and the max relative error per tensor.
    public var json: JSON {
        .object([
            ("title", .string(title)), ("loss", .number(loss)),
            ("gradients", .object(gradients.map { ($0.name, JSON.array($0.value.data.map { .number($0) })) })),
            ("tensors", .object(tensorErrors.map { ($0.name, .number($0.error)) })),
            ("max_rel_error", .number(maxRelError)), ("threshold", .number(GradientCheck.threshold)),
            ("passed", .bool(maxRelError < GradientCheck.threshold)),
            ("sections", .int(sections.count)),
            ("equations", .array(equations.map { e in
                .object([("section", .string(e.section)), ("tag", .string(e.item.tag)), ("symbol", .string(e.item.values.first?.symbol ?? "")),
                         ("shape", .array([.int(e.item.values.first?.matrix.rows ?? 0), .int(e.item.values.first?.matrix.cols ?? 0)])),
                         ("value", .array((e.item.values.first?.matrix.data ?? []).map { .number($0) }))])
            })),
            ("checks", .array(checks.map { c in
                .object([("element", .string(c.tensor + c.index)), ("analytic", .number(c.analytic)), ("numeric", .number(c.numeric)),
                         ("rel_error", .number(c.relError)), ("at_kink", .bool(c.atKink))])
            })),
        ])
    }

    /// Every equation of the walk-through in the order the code ran it (forward, loss, backward),
    /// with the title of its section: the steps of `bptt explain --html`, the `equations` of `--json`.
    public var equations: [(section: String, item: Item)] {
        sections.flatMap { s in s.items.filter { !$0.tag.isEmpty }.map { (s.title, $0) } }
    }
}

extension String {
    func leftPadded(_ n: Int) -> String { count >= n ? self : String(repeating: " ", count: n - count) + self }
}
