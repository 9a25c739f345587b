import BPTT
import Foundation
import XCTest

/// Every derivation ends with a "## Worked example": a fenced block of `name = [values]` lines
/// (6 significant digits). This test recomputes each block with the real code through the public
/// API and compares, so a document can never drift from the code.
///
/// Regenerate the blocks after a deliberate change of the math:
///
///     BPTT_WRITE_EXAMPLES=1 swift test -c release --filter WorkedExampleTests
final class WorkedExampleTests: XCTestCase {
    static let derivations = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("derivations")

    /// The examples, by derivation file (without `.md`).
    static let examples: [String: () -> WorkedExample] = [
        "activations": WorkedExamples.activations, "dropout": WorkedExamples.dropout,
        "embedding": WorkedExamples.embedding, "gan": WorkedExamples.gan, "gru": WorkedExamples.gru,
        "linear": WorkedExamples.linear, "losses": WorkedExamples.losses, "lstm": WorkedExamples.lstm,
        "masked-autoencoder": WorkedExamples.maskedAutoencoder, "masking": WorkedExamples.masking,
        "optimizers": WorkedExamples.optimizers, "rnn": WorkedExamples.rnn, "stacked": WorkedExamples.stacked,
        "gradcheck": WorkedExamples.gradcheck,
    ]

    func testEveryDerivationHasAWorkedExample() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.derivations.path)
            .filter { $0.hasSuffix(".md") && $0 != "README.md" }
        XCTAssertGreaterThanOrEqual(files.count, 14)
        for f in files.sorted() {
            let stem = String(f.dropLast(3))
            XCTAssertNotNil(Self.examples[stem], "\(f) has no worked example in WorkedExampleTests")
            let text = try String(contentsOf: Self.derivations.appendingPathComponent(f), encoding: .utf8)
            XCTAssertNotNil(WorkedExample.block(in: text), "\(f) has no '## Worked example' section with a fenced block")
        }
    }

    func testWorkedExamplesMatchTheCode() throws {
        let write = ProcessInfo.processInfo.environment["BPTT_WRITE_EXAMPLES"] != nil
        for (stem, make) in Self.examples.sorted(by: { $0.key < $1.key }) {
            let url = Self.derivations.appendingPathComponent(stem + ".md")
            var text = try String(contentsOf: url, encoding: .utf8)
            let computed = make()
            if write, let updated = computed.replacingBlock(in: text) {
                text = updated
                try text.write(to: url, atomically: true, encoding: .utf8)
            }
            guard let documented = WorkedExample.block(in: text) else {
                XCTFail("\(stem).md: no worked example block"); continue
            }
            XCTAssertEqual(documented.map(\.name), computed.lines.map(\.name), "\(stem).md: the example's lines differ from the code's")
            for (d, c) in zip(documented, computed.lines) where d.name == c.name {
                XCTAssertEqual(d.values.count, c.values.count, "\(stem).md: \(d.name) has \(d.values.count) values, the code \(c.values.count)")
                for (k, (a, b)) in zip(d.values, c.values).enumerated() {
                    // 6 significant digits are printed: the rounding is at most 5e-6 relative
                    XCTAssertLessThanOrEqual(abs(a - b), 1e-5 * abs(b) + 1e-12,
                                             "\(stem).md: \(d.name)[\(k)] is \(a) in the document, \(b) in the code")
                }
            }
        }
    }

    func testParserReadsScalarsVectorsAndIgnoresProse() {
        let text = """
        # x
        ## Worked example
        Some prose with = signs and [brackets].
        ```text
        # a comment
        W (2×2) = [1, -2.5, 3e-07, 0]
        loss = 0.693147
        ```
        ```text
        other = [9]
        ```
        """
        let lines = WorkedExample.block(in: text)
        XCTAssertEqual(lines?.map(\.name), ["W (2×2)", "loss"])
        XCTAssertEqual(lines?.first?.values, [1, -2.5, 3e-7, 0])
        XCTAssertEqual(lines?.last?.values, [0.693147])
        XCTAssertNil(WorkedExample.block(in: "## Other\n```text\na = 1\n```\n"))
        var e = WorkedExample()
        e.add("v", [1.0 / 3, -2e-9, 0])
        XCTAssertEqual(e.rendered, "v = [0.333333, -2e-09, 0]")
    }
}

/// The numbers of one worked example, in the order they are printed.
struct WorkedExample {
    var lines: [(name: String, values: [Double])] = []

    mutating func add(_ name: String, _ m: Matrix<Double>) { lines.append(("\(name) (\(m.rows)×\(m.cols))", m.data)) }
    mutating func add(_ name: String, _ v: [Double]) { lines.append((name, v)) }
    mutating func add(_ name: String, _ v: Double) { lines.append((name, [v])) }

    static func format(_ v: Double) -> String {
        v == 0 ? "0" : String(format: "%.6g", v)
    }

    var rendered: String {
        lines.map { l in
            l.values.count == 1 && !l.name.contains("×") ? "\(l.name) = \(Self.format(l.values[0]))"
                : "\(l.name) = [\(l.values.map(Self.format).joined(separator: ", "))]"
        }.joined(separator: "\n")
    }

    /// The range of the first fenced block's body after the "## Worked example" heading.
    static func blockRange(in text: String) -> Range<String.Index>? {
        guard let heading = text.range(of: "\n## Worked example") ?? (text.hasPrefix("## Worked example") ? text.range(of: "## Worked example") : nil),
              let open = text.range(of: "\n```", range: heading.upperBound..<text.endIndex),
              let bodyStart = text[open.upperBound...].firstIndex(of: "\n").map({ text.index(after: $0) }),
              let close = text.range(of: "```", range: bodyStart..<text.endIndex) else { return nil }
        return bodyStart..<close.lowerBound
    }

    /// Parses `name = [v, v, …]` or `name = v` lines; blank lines and `#` comments are skipped.
    static func block(in text: String) -> [(name: String, values: [Double])]? {
        guard let r = blockRange(in: text) else { return nil }
        var out: [(name: String, values: [Double])] = []
        for raw in text[r].split(separator: "\n") {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let eq = line.range(of: " = ") else { continue }
            let name = String(line[..<eq.lowerBound])
            let rhs = line[eq.upperBound...].trimmingCharacters(in: CharacterSet(charactersIn: "[] "))
            out.append((name, rhs.split(separator: ",").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }))
        }
        return out
    }

    func replacingBlock(in text: String) -> String? {
        guard let r = Self.blockRange(in: text) else { return nil }
        var t = text
        t.replaceSubrange(r, with: rendered + "\n")
        return t
    }
}

private func row(_ v: [Double]) -> Matrix<Double> { Matrix(rows: 1, cols: v.count, data: v) }
private func col(_ v: Double) -> Matrix<Double> { Matrix(rows: 1, cols: 1, data: [v]) }
private func columns(_ m: Matrix<Double>, _ r: Range<Int>) -> Matrix<Double> {
    Matrix(rows: m.rows, cols: r.count, data: (0..<m.rows).flatMap { b in r.map { m[b, $0] } })
}

/// The examples themselves: small inputs chosen by hand, parameters from a fixed seed, every
/// other number computed by the library.
enum WorkedExamples {
    static let xs = [0.5, -1.0, 2.0].map(col)   // x_1, x_2, x_3 (B = 1, D = 1)

    static func activations() -> WorkedExample {
        var e = WorkedExample()
        let z = row([-1.5, -0.2, 0.3, 2]), dh = row([1, 2, -1, 0.5])
        e.add("z", z); e.add("dh", dh)
        let kinds: [(String, Activation)] = [("identity", .identity), ("relu", .relu), ("leaky", .leakyReLU(alpha: 0.2)),
                                             ("sigmoid", .sigmoid), ("tanh", .tanh)]
        for (name, a) in kinds {
            var h = Matrix<Double>(rows: 0, cols: 0), dz = Matrix<Double>(rows: 0, cols: 0)
            a.forward(z, into: &h)
            a.backward(dh, z: z, h: h, into: &dz)
            e.add("h_\(name)", h); e.add("dz_\(name)", dz)
        }
        return e
    }

    static func dropout() -> WorkedExample {
        var e = WorkedExample()
        let a = row([1, 2, 3, 4, 5, 6]), dh = row([0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
        var rng = RNG(seed: 3)
        var r = Matrix<Double>(rows: 0, cols: 0), h = Matrix<Double>(rows: 0, cols: 0)
        Dropout.forward(a, rate: 0.5, rng: &rng, mask: &r, into: &h)
        var da = dh
        Dropout.backward(&da, mask: r)
        e.add("a", a); e.add("r", r); e.add("h", h); e.add("dh", dh); e.add("da", da)
        return e
    }

    static func embedding() -> WorkedExample {
        var e = WorkedExample()
        let emb = Embedding<Double>(vocabularySize: 4, dimension: 2)
        var rng = RNG(seed: 4)
        let p = emb.initialParameters(rng: &rng)
        let ids = [2, 1, 2, 3]
        var out = Matrix<Double>(rows: 0, cols: 0)
        emb.forward(ids[...], p, into: &out)
        let de = Matrix<Double>(rows: 4, cols: 2, data: [1, -1, 0.5, 0.5, 2, 0, -1, 3])
        var grads = p.zeros()
        emb.backward(de, ids: ids[...], grads: &grads)
        e.add("W", p.W); e.add("ids", ids.map { Double($0) }); e.add("e", out); e.add("de", de); e.add("dW", grads.W)
        return e
    }

    static func linear() -> WorkedExample {
        var e = WorkedExample()
        let layer = Linear<Double>(inputSize: 3, outputSize: 2)
        var rng = RNG(seed: 0)
        var p = layer.initialParameters(.xavier, rng: &rng)
        p.W = Matrix(rows: 2, cols: 3, data: [0.1, -0.2, 0.3, 0.4, 0.5, -0.6])
        p.b = row([0.01, -0.02])
        let x = Matrix<Double>(rows: 2, cols: 3, data: [1, 2, -1, 0.5, 0, 3])
        var y = Matrix<Double>(rows: 0, cols: 0)
        layer.forward(x, p, into: &y)
        let dy = Matrix<Double>(rows: 2, cols: 2, data: [1, -1, 0.5, 2])
        var grads = p.zeros(), dx = Matrix<Double>(rows: 0, cols: 0)
        layer.backward(dy, x: x, p, grads: &grads, dx: &dx)
        e.add("x", x); e.add("W", p.W); e.add("b", p.b); e.add("y", y); e.add("dy", dy)
        e.add("dW", grads.W); e.add("db", grads.b); e.add("dx", dx)
        return e
    }

    static func losses() -> WorkedExample {
        var e = WorkedExample()
        let logits = row([2, 1, -1])
        var probs = Matrix<Double>(rows: 0, cols: 0), dp = Matrix<Double>(rows: 0, cols: 0)
        let ce = SoftmaxCrossEntropy.forward(logits: logits, targets: [0][...], probs: &probs)
        SoftmaxCrossEntropy.backward(probs: probs, targets: [0][...], scale: 1, into: &dp)
        e.add("p", logits); e.add("y", 0); e.add("softmax", probs); e.add("ce", ce.lossSum); e.add("dp", dp)
        let yhat = row([0.2, 0.7, 0.9]), target = row([0, 1, 1]), scale = 1.0 / 3
        var d = Matrix<Double>(rows: 0, cols: 0)
        e.add("yhat", yhat); e.add("target", target)
        e.add("mse", MSELoss.forward(yhat, target: target, scale: scale))
        MSELoss.backward(yhat, target: target, scale: scale, into: &d); e.add("dmse", d)
        e.add("bce", BCELoss.forward(yhat, target: target, scale: scale))
        BCELoss.backward(yhat, target: target, scale: scale, into: &d); e.add("dbce", d)
        let s = row([-1.5, 0.5, 3])
        e.add("s", s)
        e.add("bcelogits", BCEWithLogitsLoss.forward(s, target: target, scale: scale))
        BCEWithLogitsLoss.backward(s, target: target, scale: scale, into: &d); e.add("dbcelogits", d)
        return e
    }

    static func optimizers() -> WorkedExample {
        var e = WorkedExample()
        // θ = (W, b) of a 2→1 linear layer; L = ½‖θ‖², so g = θ at every step.
        let layer = Linear<Double>(inputSize: 2, outputSize: 1)
        var rng = RNG(seed: 0)
        var start = layer.initialParameters(.xavier, rng: &rng)
        start.W = row([1, -2]); start.b = row([0.5])
        e.add("theta_0", start.W.data + start.b.data)
        for kind in OptimizerKind.allCases {
            var opt = Optimizer<Linear<Double>.Parameters>(OptimizerConfig(kind: kind, lr: 0.1))
            var p = start
            for n in 1...2 {
                let g = p   // L = ½‖θ‖² ⇒ g = θ
                opt.update(&p, grads: g)
                e.add("\(kind.rawValue)_theta_\(n)", p.W.data + p.b.data)
            }
        }
        var g = start
        g.W = row([3, 4]); g.b = row([0])
        let norm = clipGradientNorm(&g, maxNorm: 1)
        e.add("clip_g", [3, 4, 0]); e.add("clip_norm", norm); e.add("clip_g_clipped", g.W.data + g.b.data)
        return e
    }

    /// Vanilla tanh RNN, H = 2, T = 3, 2 classes, many-to-one; loss = cross-entropy of the last readout.
    static func rnn() -> WorkedExample {
        var e = WorkedExample()
        let model = RNNClassifier<Double>(inputSize: 1, hiddenSize: 2, classes: 2, activation: .tanh, output: .last)
        var rng = RNG(seed: 1)
        let p = model.initialParameters(.xavier, rng: &rng)
        let targets = [[1]]
        for (name, t) in p.namedTensorValues { e.add(name, t) }
        e.add("x", xs.map { $0[0, 0] }); e.add("y", 1)
        var ws = RNNClassifier<Double>.Workspace()
        var grads = p.zeros()
        let loss = model.lossAndGradient(xs, targets: targets, h0: nil, p, lossScale: 1, workspace: &ws, grads: &grads)
        let h = ws.rnn.states.map(\.h)
        for t in 1...3 { e.add("h_\(t)", h[t]) }
        e.add("softmax_3", ws.probabilities[0]); e.add("loss", loss.lossSum)
        // dh_3 = dp_3 W_ph; dh_t for t < 3 is ∂L/∂h0 of the same network run from h_t on x_{t+1…3}
        var dp = Matrix<Double>(rows: 0, cols: 0), dh3 = Matrix<Double>(rows: 0, cols: 0)
        SoftmaxCrossEntropy.backward(probs: ws.probabilities[0], targets: [1][...], scale: 1, into: &dp)
        model.readout.inputBackward(dp, p.readout, dx: &dh3)
        e.add("dp_3", dp); e.add("dh_3", dh3)
        for t in stride(from: 2, through: 0, by: -1) {
            var w = RNNClassifier<Double>.Workspace(), g = p.zeros()
            model.lossAndGradient(Array(xs[t...]), targets: targets, h0: h[t], p, lossScale: 1, workspace: &w, grads: &g)
            e.add("dh_\(t)", w.rnn.dh0)
        }
        for (name, t) in grads.namedTensorValues { e.add("d" + name, t) }
        var w = RNNClassifier<Double>.Workspace(), last = p.zeros()
        model.lossAndGradient(xs, targets: targets, h0: nil, p, lossScale: 1, workspace: &w, grads: &last, truncation: 1)
        e.add("dW_hh_last_step_only", last.rnn.W_hh)
        return e
    }

    /// Runs a cell from (h_t, c_t) on x_{t+1…T} with dh_T = R and returns (∂L/∂h_t, ∂L/∂c_t).
    static func adjoints<Cell: RecurrentCell>(_ cell: Cell, _ p: Cell.Parameters, from t: Int, h: Matrix<Double>, c: Matrix<Double>?,
                                              R: Matrix<Double>) -> (dh: Matrix<Double>, dc: Matrix<Double>?) where Cell.T == Double {
        var cache = Cell.Cache(), g = p.zeros()
        let rest = Array(xs[t...])
        cell.forward(rest, h0: h, c0: c, p, cache: &cache)
        cell.backward(Array(repeating: nil, count: rest.count - 1) + [R], p, cache: &cache, grads: &g, inputGradients: false, truncation: 0)
        return (cache.dh0, cache.dc0)
    }

    /// LSTM, H = 2, T = 3, h0 = c0 = 0, loss L = ⟨R, h_3⟩.
    static func lstm() -> WorkedExample {
        var e = WorkedExample()
        let cell = LSTM<Double>(inputSize: 1, hiddenSize: 2)
        var rng = RNG(seed: 2)
        let p = cell.initialParameters(.xavier, rng: &rng)
        for (name, t) in p.namedTensorValues { e.add(name, t) }
        let R = row([1, -0.5])
        e.add("x", xs.map { $0[0, 0] }); e.add("R", R)
        var cache = LSTM<Double>.Cache(), grads = p.zeros()
        cell.forward(xs, h0: nil, c0: nil, p, cache: &cache)
        let G = cell.gateLayout, H = 2
        for t in 1...3 {
            let a = cache.steps[t - 1].gates
            e.add("i_\(t)", columns(a, G.i..<(G.i + H))); e.add("f_\(t)", columns(a, G.f..<(G.f + H)))
            e.add("g_\(t)", columns(a, G.g..<(G.g + H))); e.add("o_\(t)", columns(a, G.o..<(G.o + H)))
            e.add("c_\(t)", cache.states[t].c); e.add("h_\(t)", cache.states[t].h)
        }
        e.add("loss", zip(R.data, cache.states[3].h.data).map(*).reduce(0, +))
        cell.backward([nil, nil, R], p, cache: &cache, grads: &grads, inputGradients: true, truncation: 0)
        for t in stride(from: 2, through: 1, by: -1) {
            let d = adjoints(cell, p, from: t, h: cache.states[t].h, c: cache.states[t].c, R: R)
            e.add("dh_\(t)", d.dh); e.add("dc_\(t)", d.dc!)
        }
        e.add("dh_0", cache.dh0); e.add("dc_0", cache.dc0!)
        e.add("dx", cache.dxs.map { $0[0, 0] })
        for (name, t) in grads.namedTensorValues { e.add("d" + name, t) }
        return e
    }

    /// GRU (PyTorch's formulation), H = 2, T = 3, h0 = 0, loss L = ⟨R, h_3⟩.
    static func gru() -> WorkedExample {
        var e = WorkedExample()
        let cell = GRU<Double>(inputSize: 1, hiddenSize: 2)
        var rng = RNG(seed: 3)
        let p = cell.initialParameters(.xavier, rng: &rng)
        for (name, t) in p.namedTensorValues { e.add(name, t) }
        let R = row([1, -0.5])
        e.add("x", xs.map { $0[0, 0] }); e.add("R", R)
        var cache = GRU<Double>.Cache(), grads = p.zeros()
        cell.forward(xs, h0: nil, c0: nil, p, cache: &cache)
        let G = cell.gateLayout, H = 2
        for t in 1...3 {
            let a = cache.steps[t - 1].gates
            e.add("r_\(t)", columns(a, G.r..<(G.r + H))); e.add("z_\(t)", columns(a, G.z..<(G.z + H)))
            e.add("n_\(t)", columns(a, G.n..<(G.n + H))); e.add("h_\(t)", cache.states[t].h)
        }
        e.add("loss", zip(R.data, cache.states[3].h.data).map(*).reduce(0, +))
        cell.backward([nil, nil, R], p, cache: &cache, grads: &grads, inputGradients: true, truncation: 0)
        for t in stride(from: 2, through: 1, by: -1) {
            e.add("dh_\(t)", adjoints(cell, p, from: t, h: cache.states[t].h, c: nil, R: R).dh)
        }
        e.add("dh_0", cache.dh0)
        e.add("dx", cache.dxs.map { $0[0, 0] })
        for (name, t) in grads.namedTensorValues { e.add("d" + name, t) }
        return e
    }

    /// Two rows of lengths 3 and 1 through a tanh RNN, H = 2; row 2's padding holds garbage.
    static func masking() -> WorkedExample {
        var e = WorkedExample()
        let rnn = RNN<Double>(inputSize: 1, hiddenSize: 2)
        var rng = RNG(seed: 7)
        let p = rnn.initialParameters(.xavier, rng: &rng)
        for (name, t) in p.namedTensorValues { e.add(name, t) }
        let x = [[0.5, 1.5], [-1, 99], [2, -99]].map { Matrix<Double>(rows: 2, cols: 1, data: $0) }
        let lengths = [3, 1]
        e.add("lengths", lengths.map { Double($0) })
        for t in 1...3 { e.add("x_\(t)", x[t - 1]) }
        var cache = RNN<Double>.Cache(), grads = p.zeros()
        rnn.forward(x, h0: nil, p, lengths: lengths, cache: &cache)
        for t in 1...3 { e.add("h_\(t)", cache.states[t].h) }
        let R = Matrix<Double>(rows: 2, cols: 2, data: [1, -0.5, 1, -0.5])
        e.add("R", R)
        rnn.backward([nil, nil, R], p, cache: &cache, grads: &grads, inputGradients: true)
        for t in 1...3 { e.add("dx_\(t)", cache.dxs[t - 1]) }
        e.add("dh_0", cache.dh0)
        for (name, t) in grads.namedTensorValues { e.add("d" + name, t) }
        return e
    }

    /// One bidirectional level of GRUs, H = 2, T = 3; the readout sees [→h_3, ←h_1]; loss ⟨R, s⟩.
    static func stacked() -> WorkedExample {
        var e = WorkedExample()
        let stack = RecurrentStack<GRU<Double>>(layers: 1, bidirectional: true, inputSize: 1, hiddenSize: 2) { GRU(inputSize: $0, hiddenSize: 2) }
        var rng = RNG(seed: 8)
        let p = stack.initialParameters(.xavier, rng: &rng)
        e.add("x", xs.map { $0[0, 0] })
        var ws = RecurrentStack<GRU<Double>>.Workspace(), grads = p.zeros()
        var none: RNG? = nil
        stack.forward(xs, p, workspace: &ws, dropoutRNG: &none)
        e.add("forward_h", (1...3).flatMap { ws.caches[0].states[$0].h.data })
        e.add("reverse_h", (1...3).flatMap { ws.caches[1].states[$0].h.data })
        for t in 1...3 { e.add("o_\(t)", stack.output(t, ws)) }
        e.add("s", stack.finalState(ws))
        let R = row([1, -0.5, 0.25, 2])
        e.add("R", R)
        ws.dFinal = R
        ws.dFinalUsed = true
        stack.backward(p, workspace: &ws, grads: &grads, inputGradients: true)
        e.add("dx", ws.dxs.map { $0[0, 0] })
        e.add("dh0_forward", ws.dh0s[0]); e.add("dh0_reverse", ws.dh0s[1])
        return e
    }

    /// A 2×2 image, left half hidden, one hidden layer of 3 ReLU units, loss on the hidden pixels.
    static func maskedAutoencoder() -> WorkedExample {
        var e = WorkedExample()
        let model = MaskedAutoencoder<Double>(pixels: 4, hidden: [3], lossOn: .masked)
        var rng = RNG(seed: 5)
        let p = model.mlp.initialParameters(.xavier, rng: &rng)
        for (name, t) in p.namedTensorValues { e.add(name, t) }
        let x = row([0.1, 0.9, 0.4, 0.6]), m = row([0, 1, 0, 1])
        e.add("x", x); e.add("m", m)
        var ws = MaskedAutoencoder<Double>.Workspace(), grads = p.zeros()
        let loss = model.lossAndGradient(x, mask: m, p, workspace: &ws, grads: &grads, inputGradient: true)
        e.add("x_in", ws.xIn); e.add("xhat", ws.reconstruction); e.add("loss", loss)
        e.add("dx", ws.dx)
        for (name, t) in grads.namedTensorValues { e.add("d" + name, t) }
        return e
    }

    /// A GAN with latent 1, 2 pixels, one hidden layer of 2 units in G and in D, batch 2.
    static func gan() -> WorkedExample {
        var e = WorkedExample()
        let gan = GAN<Double>(latent: 1, pixels: 2, generatorHidden: [2], discriminatorHidden: [2])
        var rng = RNG(seed: 6)
        let p = gan.initialParameters(.xavier, rng: &rng)
        for (name, t) in p.g.namedTensorValues { e.add("G_" + name, t) }
        for (name, t) in p.d.namedTensorValues { e.add("D_" + name, t) }
        let z = Matrix<Double>(rows: 2, cols: 1, data: [0.5, -1])
        let real = Matrix<Double>(rows: 2, cols: 2, data: [0.9, 0.1, 0.8, 0.2])
        e.add("z", z); e.add("x_real", real)
        var ws = GAN<Double>.Workspace()
        let fake = gan.generate(z, p.g, workspace: &ws)
        let losses = gan.discriminatorForward(real: real, fake: fake, p.d, workspace: &ws)
        let sReal = ws.dReal.output, sFake = ws.dFake.output
        e.add("xhat", fake); e.add("s_real", sReal); e.add("s_fake", sFake)
        e.add("L_D", losses.lossD); e.add("L_G", losses.lossG)
        let ones = Matrix<Double>(rows: 2, cols: 1, repeating: 1), zeros = Matrix<Double>(rows: 2, cols: 1)
        var ds = Matrix<Double>(rows: 0, cols: 0)
        BCEWithLogitsLoss.backward(sReal, target: ones, scale: 0.5, into: &ds); e.add("ds_real", ds)
        BCEWithLogitsLoss.backward(sFake, target: zeros, scale: 0.5, into: &ds); e.add("ds_fake", ds)
        BCEWithLogitsLoss.backward(sFake, target: ones, scale: 0.5, into: &ds); e.add("ds_G", ds)
        var dD = p.d.zeros()
        gan.discriminatorBackward(real: real, fake: fake, p.d, workspace: &ws, grads: &dD)
        for (name, t) in dD.namedTensorValues { e.add("dD_" + name, t) }
        var dG = p.g.zeros()
        gan.generatorStep(z, p, workspace: &ws, grads: &dG)
        e.add("dxhat", ws.dFake.dx)
        for (name, t) in dG.namedTensorValues { e.add("dG_" + name, t) }
        return e
    }

    /// One element of the RNN check case: central differences at several steps against the analytic value.
    static func gradcheck() -> WorkedExample {
        var e = WorkedExample()
        let c = RNNCheckCase.random(activation: .tanh, batch: 2, length: 3, input: 1, hidden: 2, classes: 2, withH0: false, seed: 0)
        let a = c.analytic()
        let theta = c.params.rnn.W_hh[0, 0], analytic = a.grads.rnn.W_hh[0, 0]
        func L(_ offset: Double) -> Double {
            var p = c.params
            p.rnn.W_hh[0, 0] = theta + offset
            return c.loss(params: p, xs: c.xs, h0: nil).loss
        }
        e.add("theta", theta); e.add("loss", L(0)); e.add("analytic", analytic)
        for (k, h) in [1e-1, 1e-2, 1e-3].enumerated() {
            let n3 = (L(h) - L(-h)) / (2 * h)
            e.add("step_\(k + 1)", h); e.add("numeric3_\(k + 1)", n3); e.add("relerr3_\(k + 1)", GradientCheck.relativeError(analytic, n3))
            if k < 2 {
                let n5 = (L(-2 * h) - 8 * L(-h) + 8 * L(h) - L(2 * h)) / (12 * h)
                e.add("numeric5_\(k + 1)", n5); e.add("relerr5_\(k + 1)", GradientCheck.relativeError(analytic, n5))
            }
        }
        return e
    }
}
