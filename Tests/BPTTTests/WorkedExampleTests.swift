import BPTT
import Foundation
import XCTest

/// Every derivation ends with a "## Worked example": a fenced block of `name = [values] (tag)` lines
/// (6 significant digits), each labelled with the tag of the equation that produced it, or
/// `(input)` for what the example chooses. This test recomputes each block with the real code
/// through the public API and compares numbers and labels, so a document can never drift from the
/// code; and for the cells it checks each (tag, value) pair against what the real forward and
/// backward passes recorded in a `Tracer` under that tag (`testLabelsMatchTheTracer`), so a
/// number cannot be printed under the name of an equation that did not produce it.
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
        "gradcheck": WorkedExamples.gradcheck, "charlm": WorkedExamples.charlm, "long-memory": WorkedExamples.longMemory,
    ]

    func testEveryDerivationHasAWorkedExample() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.derivations.path)
            .filter { $0.hasSuffix(".md") && $0 != "README.md" }
        XCTAssertGreaterThanOrEqual(files.count, 14)
        let readme = try String(contentsOf: Self.derivations.appendingPathComponent("README.md"), encoding: .utf8)
        let table = readme.split(separator: "\n").filter { $0.hasPrefix("| [") }
        for f in files.sorted() {
            XCTAssertTrue(table.contains { $0.hasPrefix("| [\(f)](\(f))") }, "derivations/README.md: the file table does not list \(f)")
        }
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
            XCTAssertEqual(documented.map(\.tag), computed.lines.map(\.tag), "\(stem).md: the example's labels differ from the code's")
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

    /// Every label is `input` or a tag some derivation defines; for the cells, every labelled
    /// number the tracer recorded under that tag equals the record.
    func testLabelsMatchTheTracer() throws {
        let defined = TraceabilityTests.definedTags()
        for (stem, make) in Self.examples.sorted(by: { $0.key < $1.key }) {
            let text = try String(contentsOf: Self.derivations.appendingPathComponent(stem + ".md"), encoding: .utf8)
            guard let documented = WorkedExample.block(in: text) else { continue }
            for l in documented where l.tag != "input" && defined[l.tag] == nil {
                XCTFail("\(stem).md: \(l.name) is labelled (\(l.tag)), which no derivation defines")
            }
            let computed = make()
            for failure in computed.labelFailures(documented) { XCTFail("\(stem).md: \(failure)") }
        }
    }

    /// The check above can fail: the LSTM's carried term dc^next_2 printed under (lstm.dc), the
    /// error the lstm.md example once had, is caught.
    func testASwappedLabelIsCaught() {
        let e = WorkedExamples.lstm()
        guard let carried = e.lines.first(where: { $0.name.hasPrefix("dcnext_2") }) else { return XCTFail("no dcnext_2 line") }
        let swapped = [(name: "dc_2 (1×2)", values: carried.values, tag: "lstm.dc")]
        let failures = e.labelFailures(swapped)
        XCTAssertEqual(failures.count, 1)
        XCTAssertTrue(failures.first?.contains("tracer recorded") == true, failures.first ?? "")
        let renamed = [(name: "dcnext_2 (1×2)", values: carried.values, tag: "lstm.dc")]
        XCTAssertEqual(e.labelFailures(renamed).count, 1, "a carried term under the full gradient's tag")
    }

    func testParserReadsScalarsVectorsAndIgnoresProse() {
        let text = """
        # x
        ## Worked example
        Some prose with = signs and [brackets].
        ```text
        # a comment
        W (2×2) = [1, -2.5, 3e-07, 0] (input)
        loss = 0.693147 (losses.ce)
        ```
        ```text
        other = [9]
        ```
        """
        let lines = WorkedExample.block(in: text)
        XCTAssertEqual(lines?.map(\.name), ["W (2×2)", "loss"])
        XCTAssertEqual(lines?.first?.values, [1, -2.5, 3e-7, 0])
        XCTAssertEqual(lines?.last?.values, [0.693147])
        XCTAssertEqual(lines?.map(\.tag), ["input", "losses.ce"])
        XCTAssertNil(WorkedExample.block(in: "## Other\n```text\na = 1\n```\n"))
        var e = WorkedExample()
        e.add("v", [1.0 / 3, -2e-9, 0], "input")
        XCTAssertEqual(e.rendered, "v = [0.333333, -2e-09, 0] (input)")
    }
}

/// The numbers of one worked example, in the order they are printed, each with the tag of the
/// equation that produced it (`input`: chosen or drawn by the example).
struct WorkedExample {
    typealias Line = (name: String, values: [Double], tag: String)
    var lines: [Line] = []
    /// The cell examples: what the real forward and backward recorded.
    var tracer: Tracer? = nil
    /// Values of the real run that no tracer record holds, by "tag@t" (e.g. ∂L/∂h_0 under "rnn.dhprev@0").
    var records: [String: [Double]] = [:]

    mutating func add(_ name: String, _ m: Matrix<Double>, _ tag: String) { lines.append(("\(name) (\(m.rows)×\(m.cols))", m.data, tag)) }
    mutating func add(_ name: String, _ v: [Double], _ tag: String) { lines.append((name, v, tag)) }
    mutating func add(_ name: String, _ v: Double, _ tag: String) { lines.append((name, [v], tag)) }

    static func format(_ v: Double) -> String {
        v == 0 ? "0" : String(format: "%.6g", v)
    }

    var rendered: String {
        lines.map { l in
            (l.values.count == 1 && !l.name.contains("×") ? "\(l.name) = \(Self.format(l.values[0]))"
                : "\(l.name) = [\(l.values.map(Self.format).joined(separator: ", "))]") + " (\(l.tag))"
        }.joined(separator: "\n")
    }

    /// "dc_2 (1×2)" → ("dc", 2); "dW_hh (2×2)" → ("dW_hh", nil).
    static func stemAndStep(_ name: String) -> (stem: String, t: Int?) {
        let base = name.split(separator: " ").first.map(String.init) ?? name
        if let u = base.lastIndex(of: "_"), let t = Int(base[base.index(after: u)...]) { return (String(base[..<u]), t) }
        return (base, nil)
    }

    static func close(_ a: [Double], _ b: [Double]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= 1e-5 * abs($1) + 1e-9 }
    }

    /// Checks documented lines against this example's tracer: a line whose tag is the forward or
    /// backward equation of a traced quantity must carry that quantity's name and equal the
    /// tracer's record of it (at its step; a parameter gradient: the final sum, its named blocks
    /// concatenated in the fused order). Returns one message per failure.
    func labelFailures(_ documented: [Line]) -> [String] {
        guard let tracer else { return [] }
        var failures: [String] = []
        let quantities = Quantity.allCases
        func show(_ v: [Double]) -> String { "[" + v.map(Self.format).joined(separator: ", ") + "]" }
        for l in documented {
            let (stem, t) = Self.stemAndStep(l.name)
            if let t, let v = records["\(l.tag)@\(t)"] {
                if !Self.close(l.values, v) { failures.append("\(l.name) (\(l.tag)) is \(show(l.values)); the real run computed \(show(v)) under (\(l.tag))") }
                continue
            }
            // the cells' own equations; readout and loss lines (losses.*, linear.*) are held by the value check
            guard ["rnn.", "lstm.", "gru."].contains(where: { l.tag.hasPrefix($0) }) else { continue }
            let fw = quantities.filter { $0.info.forward?.tag == l.tag }, bw = quantities.filter { $0.info.backward?.tag == l.tag }
            if fw.isEmpty && bw.isEmpty { continue }                       // not a traced equation: the value check covers it
            let candidates: [(Tracer.Phase, Quantity)] = fw.filter { $0.name == stem }.map { (.forward, $0) }
                + bw.filter { "d" + $0.name == stem || $0.name == stem }.map { (.backward, $0) }
            if let t {
                guard let (phase, q) = candidates.first(where: { tracer.record($0.0, $0.1, t) != nil }) else {
                    let names = (fw.map { $0.name } + bw.map { "d" + $0.name }).joined(separator: " or ")
                    failures.append("\(l.name) is labelled (\(l.tag)), but the tracer recorded (\(l.tag)) as \(names)_\(t), not \(stem)_\(t)")
                    continue
                }
                let v = tracer.record(phase, q, t)!.value.data
                if !Self.close(l.values, v) {
                    failures.append("\(l.name) is labelled (\(l.tag)) with \(show(l.values)), but the tracer recorded (\(l.tag)) at t = \(t) as \(show(v))")
                }
            } else {
                // a whole-sequence sum: the final record of the quantity with this backward tag
                guard let q = bw.first(where: { q in tracer.records.contains { $0.phase == .backward && $0.quantity == q } }),
                      let final = tracer.records.last(where: { $0.phase == .backward && $0.quantity == q })?.value.data else {
                    failures.append("\(l.name) is labelled (\(l.tag)), which the tracer never recorded"); continue
                }
                // named blocks of a fused sum (dW_ix, dW_fx, … of dW_x) are that sum's rows in order;
                // db_nh is the n block, the last third, of the h-side bias sums
                let blocks = q.name == stem ? l.values
                    : documented.filter { $0.tag == l.tag && Self.stemAndStep($0.name).t == nil }.flatMap(\.values)
                let expected = blocks.count < final.count ? Array(final.suffix(blocks.count)) : final
                if !Self.close(blocks, expected) {
                    failures.append("\(l.name) is labelled (\(l.tag)), but its values (with its blocks) differ from the tracer's final \(q.name) \(show(final))")
                }
            }
        }
        return failures
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
    static func block(in text: String) -> [Line]? {
        guard let r = blockRange(in: text) else { return nil }
        var out: [Line] = []
        for raw in text[r].split(separator: "\n") {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let eq = line.range(of: " = ") else { continue }
            let name = String(line[..<eq.lowerBound])
            var rhs = String(line[eq.upperBound...]), tag = ""
            if rhs.hasSuffix(")"), let open = rhs.range(of: " (", options: .backwards) {
                tag = String(rhs[open.upperBound..<rhs.index(before: rhs.endIndex)])
                rhs = String(rhs[..<open.lowerBound])
            }
            rhs = rhs.trimmingCharacters(in: CharacterSet(charactersIn: "[] "))
            out.append((name, rhs.split(separator: ",").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }, tag))
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
/// other number computed by the library. Every line carries the tag of the equation that
/// produced it, `input` for what the example chooses or draws.
enum WorkedExamples {
    static let xs = [0.5, -1.0, 2.0].map(col)   // x_1, x_2, x_3 (B = 1, D = 1)

    static func activations() -> WorkedExample {
        var e = WorkedExample()
        let a = row([-1.5, -0.2, 0.3, 2]), dh = row([1, 2, -1, 0.5])
        e.add("a", a, "input"); e.add("dh", dh, "input")
        let kinds: [(String, Activation, String)] = [("identity", .identity, "identity"), ("relu", .relu, "relu"),
                                                     ("leaky", .leakyReLU(alpha: 0.2), "leaky"), ("sigmoid", .sigmoid, "sigmoid"), ("tanh", .tanh, "tanh")]
        for (name, f, tag) in kinds {
            var h = Matrix<Double>(rows: 0, cols: 0), da = Matrix<Double>(rows: 0, cols: 0)
            f.forward(a, into: &h)
            f.backward(dh, z: a, h: h, into: &da)
            e.add("h_\(name)", h, "activations.\(tag)"); e.add("da_\(name)", da, "activations.d\(tag)")
        }
        return e
    }

    static func dropout() -> WorkedExample {
        var e = WorkedExample()
        let h = row([1, 2, 3, 4, 5, 6]), dhOut = row([0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
        var rng = RNG(seed: 3)
        var r = Matrix<Double>(rows: 0, cols: 0), out = Matrix<Double>(rows: 0, cols: 0)
        Dropout.forward(h, rate: 0.5, rng: &rng, mask: &r, into: &out)
        var dh = dhOut
        Dropout.backward(&dh, mask: r)
        e.add("h", h, "input"); e.add("r", r, "input"); e.add("htilde", out, "dropout.h"); e.add("dhtilde", dhOut, "input")
        e.add("dh", dh, "dropout.dh")
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
        e.add("W", p.W, "input"); e.add("ids", ids.map { Double($0) }, "input"); e.add("e", out, "embedding.e")
        e.add("de", de, "input"); e.add("dW", grads.W, "embedding.dW")
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
        e.add("x", x, "input"); e.add("W", p.W, "input"); e.add("b", p.b, "input"); e.add("y", y, "linear.y"); e.add("dy", dy, "input")
        e.add("dW", grads.W, "linear.dW"); e.add("db", grads.b, "linear.db"); e.add("dx", dx, "linear.dx")
        return e
    }

    static func losses() -> WorkedExample {
        var e = WorkedExample()
        let logits = row([2, 1, -1])
        var probs = Matrix<Double>(rows: 0, cols: 0), dp = Matrix<Double>(rows: 0, cols: 0)
        let ce = SoftmaxCrossEntropy.forward(logits: logits, targets: [0][...], probs: &probs)
        SoftmaxCrossEntropy.backward(probs: probs, targets: [0][...], scale: 1, into: &dp)
        e.add("p", logits, "input"); e.add("y", 0, "input"); e.add("softmax", probs, "losses.softmax"); e.add("ce", ce.lossSum, "losses.ce")
        e.add("dp", dp, "losses.dp")
        let yhat = row([0.2, 0.7, 0.9]), target = row([0, 1, 1]), scale = 1.0 / 3
        var d = Matrix<Double>(rows: 0, cols: 0)
        e.add("yhat", yhat, "input"); e.add("target", target, "input")
        e.add("mse", MSELoss.forward(yhat, target: target, scale: scale), "losses.mse")
        MSELoss.backward(yhat, target: target, scale: scale, into: &d); e.add("dmse", d, "losses.dmse")
        e.add("bce", BCELoss.forward(yhat, target: target, scale: scale), "losses.bce")
        BCELoss.backward(yhat, target: target, scale: scale, into: &d); e.add("dbce", d, "losses.dbce")
        let s = row([-1.5, 0.5, 3])
        e.add("s", s, "input")
        e.add("bcelogits", BCEWithLogitsLoss.forward(s, target: target, scale: scale), "losses.bcelogits")
        BCEWithLogitsLoss.backward(s, target: target, scale: scale, into: &d); e.add("dbcelogits", d, "losses.dbcelogits")
        return e
    }

    static func optimizers() -> WorkedExample {
        var e = WorkedExample()
        // θ = (W, b) of a 2→1 linear layer; L = ½‖θ‖², so g = θ at every step.
        let layer = Linear<Double>(inputSize: 2, outputSize: 1)
        var rng = RNG(seed: 0)
        var start = layer.initialParameters(.xavier, rng: &rng)
        start.W = row([1, -2]); start.b = row([0.5])
        e.add("theta_0", start.W.data + start.b.data, "input")
        for kind in OptimizerKind.allCases {
            var opt = Optimizer<Linear<Double>.Parameters>(OptimizerConfig(kind: kind, lr: 0.1))
            var p = start
            for n in 1...2 {
                let g = p   // L = ½‖θ‖² ⇒ g = θ
                opt.update(&p, grads: g)
                e.add("\(kind.rawValue)_theta_\(n)", p.W.data + p.b.data, "optimizers.\(kind.rawValue)")
            }
        }
        var g = start
        g.W = row([3, 4]); g.b = row([0])
        let norm = clipGradientNorm(&g, maxNorm: 1)
        e.add("clip_g", [3, 4, 0], "input"); e.add("clip_norm", norm, "optimizers.clip"); e.add("clip_g_clipped", g.W.data + g.b.data, "optimizers.clip")
        return e
    }

    /// Vanilla tanh RNN, H = 2, T = 3, 2 classes, many-to-one; loss = cross-entropy of the last readout.
    static func rnn() -> WorkedExample {
        var e = WorkedExample()
        let model = rnnClassifier(Double.self, input: 1, hidden: 2, classes: 2, activation: .tanh, output: .last)
        var rng = RNG(seed: 1)
        let p = model.initialParameters(.xavier, rng: &rng)
        let targets = [[1]]
        for (name, t) in p.namedTensorValues { e.add(name, t, "input") }
        e.add("x", xs.map { $0[0, 0] }, "input"); e.add("y", 1, "input")
        typealias Workspace = SequenceClassifier<RNN<Double>>.Workspace
        var ws = Workspace(), none: RNG? = nil
        let tracer = Tracer()
        ws.stack.tracer = tracer
        var grads = p.zeros()
        let loss = model.lossAndGradient(xs, targets: targets, p, lossScale: 1, workspace: &ws, grads: &grads, dropoutRNG: &none)
        e.tracer = tracer
        e.records["rnn.dhprev@0"] = ws.stack.dh0s[0].data
        let h = ws.stack.caches[0].states.map(\.h)
        for t in 1...3 { e.add("h_\(t)", h[t], "rnn.h") }
        e.add("softmax_3", ws.probabilities[0], "losses.softmax"); e.add("loss", loss.lossSum, "losses.ce")
        // dh_3 = dp_3 W_ph; dh_t for t < 3 is ∂L/∂h0 of the same network run from h_t on x_{t+1…3}
        // (computed apart from the traced run, which the labels are then checked against)
        var dp = Matrix<Double>(rows: 0, cols: 0), dh3 = Matrix<Double>(rows: 0, cols: 0)
        SoftmaxCrossEntropy.backward(probs: ws.probabilities[0], targets: [1][...], scale: 1, into: &dp)
        model.readout.inputBackward(dp, p.readout, dx: &dh3)
        e.add("dp_3", dp, "losses.dp"); e.add("dh_3", dh3, "rnn.dh")
        for t in stride(from: 2, through: 0, by: -1) {
            var w = Workspace(), g = p.zeros()
            model.lossAndGradient(Array(xs[t...]), targets: targets, h0s: [h[t]], p, lossScale: 1, workspace: &w, grads: &g, dropoutRNG: &none)
            e.add("dh_\(t)", w.stack.dh0s[0], t == 0 ? "rnn.dhprev" : "rnn.dh")
        }
        let tags = ["W_hx": "rnn.dW_hx", "W_hh": "rnn.dW_hh", "b_h": "rnn.db_h", "W_ph": "linear.dW", "b_p": "linear.db"]
        for (name, t) in grads.namedTensorValues { e.add("d" + name, t, tags[name]!) }
        var w = Workspace(), last = p.zeros()
        model.lossAndGradient(xs, targets: targets, p, lossScale: 1, workspace: &w, grads: &last, dropoutRNG: &none, truncation: 1)
        e.add("dW_hh_last_step_only", last.stack.units[0].W_hh, "rnn.truncate")
        return e
    }

    /// Runs a cell from (h_t, c_t) on x_{t+1…T} with dh_T = R and returns (∂L/∂h_t, ∂L/∂c_t with
    /// h_t held: the carried term dc^next_t).
    static func adjoints<Cell: RecurrentCell>(_ cell: Cell, _ p: Cell.Parameters, from t: Int, h: Matrix<Double>, c: Matrix<Double>?,
                                              R: Matrix<Double>) -> (dh: Matrix<Double>, dc: Matrix<Double>?) where Cell.Real == Double {
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
        for (name, t) in p.namedTensorValues { e.add(name, t, "input") }
        let R = row([1, -0.5])
        e.add("x", xs.map { $0[0, 0] }, "input"); e.add("R", R, "input")
        var cache = LSTM<Double>.Cache(), grads = p.zeros()
        let tracer = Tracer()
        cache.tracer = tracer
        cell.forward(xs, h0: nil, c0: nil, p, cache: &cache)
        let G = cell.gateLayout, H = 2
        var o: [Matrix<Double>] = [], tanhC: [Matrix<Double>] = []
        for t in 1...3 {
            let a = cache.steps[t - 1].gates
            e.add("i_\(t)", columns(a, G.i..<(G.i + H)), "lstm.i"); e.add("f_\(t)", columns(a, G.f..<(G.f + H)), "lstm.f")
            e.add("g_\(t)", columns(a, G.g..<(G.g + H)), "lstm.g"); e.add("o_\(t)", columns(a, G.o..<(G.o + H)), "lstm.o")
            e.add("c_\(t)", cache.states[t].c, "lstm.c"); e.add("h_\(t)", cache.states[t].h, "lstm.h")
            o.append(columns(a, G.o..<(G.o + H))); tanhC.append(Matrix(rows: 1, cols: H, data: cache.states[t].c.data.map { Foundation.tanh($0) }))
        }
        e.add("loss", zip(R.data, cache.states[3].h.data).map(*).reduce(0, +), "input")
        cell.backward([nil, nil, R], p, cache: &cache, grads: &grads, inputGradients: true, truncation: 0)
        e.tracer = tracer
        e.records["lstm.dhprev@0"] = cache.dh0.data; e.records["lstm.dcprev@0"] = cache.dc0!.data
        // the carried term the real backward passed from step t+1 to step t: dc_{t+1} ⊙ f_{t+1} (lstm.dcprev)
        for t in 1...2 {
            if let dc = tracer.record(.backward, .lstmC, t + 1)?.value.data, let f = tracer.record(.forward, .lstmF, t + 1)?.value.data {
                e.records["lstm.dcprev@\(t)"] = zip(dc, f).map(*)
            }
        }
        // dc_t (lstm.dc) = dc^next_t + dh_t ⊙ o_t ⊙ (1 − tanh²(c_t)), from the printed numbers;
        // dh_t and dc^next_t come from runs started at (h_t, c_t), apart from the traced run
        func dc(_ t: Int, dh: Matrix<Double>, next: [Double]) -> Matrix<Double> {
            var out = [Double](repeating: 0, count: H)
            for j in 0..<H {
                let (oj, th): (Double, Double) = (o[t - 1].data[j], tanhC[t - 1].data[j])
                let own: Double = dh.data[j] * oj * (1 - th * th)
                out[j] = next[j] + own
            }
            return Matrix(rows: 1, cols: H, data: out)
        }
        e.add("dh_3", R, "lstm.dh"); e.add("dc_3", dc(3, dh: R, next: [0, 0]), "lstm.dc")
        for t in stride(from: 2, through: 1, by: -1) {
            let d = adjoints(cell, p, from: t, h: cache.states[t].h, c: cache.states[t].c, R: R)
            e.add("dh_\(t)", d.dh, "lstm.dh"); e.add("dcnext_\(t)", d.dc!, "lstm.dcprev"); e.add("dc_\(t)", dc(t, dh: d.dh, next: d.dc!.data), "lstm.dc")
        }
        e.add("dh_0", cache.dh0, "lstm.dhprev"); e.add("dc_0", cache.dc0!, "lstm.dcprev")
        e.add("dx", cache.dxs.map { $0[0, 0] }, "lstm.dx")
        for (name, t) in grads.namedTensorValues {
            e.add("d" + name, t, name.hasPrefix("b") ? "lstm.db" : name.hasSuffix("x") ? "lstm.dW_x" : "lstm.dW_h")
        }
        return e
    }

    /// GRU (PyTorch's formulation), H = 2, T = 3, h0 = 0, loss L = ⟨R, h_3⟩.
    static func gru() -> WorkedExample {
        var e = WorkedExample()
        let cell = GRU<Double>(inputSize: 1, hiddenSize: 2)
        var rng = RNG(seed: 3)
        let p = cell.initialParameters(.xavier, rng: &rng)
        for (name, t) in p.namedTensorValues { e.add(name, t, "input") }
        let R = row([1, -0.5])
        e.add("x", xs.map { $0[0, 0] }, "input"); e.add("R", R, "input")
        var cache = GRU<Double>.Cache(), grads = p.zeros()
        let tracer = Tracer()
        cache.tracer = tracer
        cell.forward(xs, h0: nil, c0: nil, p, cache: &cache)
        let G = cell.gateLayout, H = 2
        for t in 1...3 {
            let a = cache.steps[t - 1].gates
            e.add("r_\(t)", columns(a, G.r..<(G.r + H)), "gru.r"); e.add("z_\(t)", columns(a, G.z..<(G.z + H)), "gru.z")
            e.add("n_\(t)", columns(a, G.n..<(G.n + H)), "gru.n"); e.add("h_\(t)", cache.states[t].h, "gru.h")
        }
        e.add("loss", zip(R.data, cache.states[3].h.data).map(*).reduce(0, +), "input")
        cell.backward([nil, nil, R], p, cache: &cache, grads: &grads, inputGradients: true, truncation: 0)
        e.tracer = tracer
        e.records["gru.dhprev@0"] = cache.dh0.data
        e.add("dh_3", R, "gru.dh")
        for t in stride(from: 2, through: 1, by: -1) {
            e.add("dh_\(t)", adjoints(cell, p, from: t, h: cache.states[t].h, c: nil, R: R).dh, "gru.dh")
        }
        e.add("dh_0", cache.dh0, "gru.dhprev")
        e.add("dx", cache.dxs.map { $0[0, 0] }, "gru.dx")
        let tags = ["W_rx": "gru.dW_x", "W_zx": "gru.dW_x", "W_nx": "gru.dW_x", "W_rh": "gru.dW_h", "W_zh": "gru.dW_h", "W_nh": "gru.dW_h",
                    "b_r": "gru.db", "b_z": "gru.db", "b_nx": "gru.db", "b_nh": "gru.db_nh"]
        for (name, t) in grads.namedTensorValues { e.add("d" + name, t, tags[name]!) }
        return e
    }

    /// Two rows of lengths 3 and 1 through a tanh RNN, H = 2; row 2's padding holds garbage.
    static func masking() -> WorkedExample {
        var e = WorkedExample()
        let rnn = RNN<Double>(inputSize: 1, hiddenSize: 2)
        var rng = RNG(seed: 7)
        let p = rnn.initialParameters(.xavier, rng: &rng)
        for (name, t) in p.namedTensorValues { e.add(name, t, "input") }
        let x = [[0.5, 1.5], [-1, 99], [2, -99]].map { Matrix<Double>(rows: 2, cols: 1, data: $0) }
        let lengths = [3, 1]
        e.add("lengths", lengths.map { Double($0) }, "input")
        for t in 1...3 { e.add("x_\(t)", x[t - 1], "input") }
        var cache = RNN<Double>.Cache(), grads = p.zeros()
        rnn.forward(x, h0: nil, p, lengths: lengths, cache: &cache)
        for t in 1...3 { e.add("h_\(t)", cache.states[t].h, "masking.h") }
        let R = Matrix<Double>(rows: 2, cols: 2, data: [1, -0.5, 1, -0.5])
        e.add("R", R, "input")
        rnn.backward([nil, nil, R], p, cache: &cache, grads: &grads, inputGradients: true)
        for t in 1...3 { e.add("dx_\(t)", cache.dxs[t - 1], "rnn.dx") }
        e.add("dh_0", cache.dh0, "masking.dhold")
        let tags = ["W_hx": "rnn.dW_hx", "W_hh": "rnn.dW_hh", "b_h": "rnn.db_h"]
        for (name, t) in grads.namedTensorValues { e.add("d" + name, t, tags[name]!) }
        return e
    }

    /// One bidirectional level of GRUs, H = 2, T = 3; the readout sees [→h_3, ←h_1]; loss ⟨R, s⟩.
    static func stacked() -> WorkedExample {
        var e = WorkedExample()
        let stack = RecurrentStack<GRU<Double>>(layers: 1, bidirectional: true, inputSize: 1, hiddenSize: 2) { GRU(inputSize: $0, hiddenSize: 2) }
        var rng = RNG(seed: 8)
        let p = stack.initialParameters(.xavier, rng: &rng)
        e.add("x", xs.map { $0[0, 0] }, "input")
        var ws = RecurrentStack<GRU<Double>>.Workspace(), grads = p.zeros()
        var none: RNG? = nil
        stack.forward(xs, p, workspace: &ws, dropoutRNG: &none)
        // in sequence time: →h_t is the forward unit's state after step t, ←h_t the reverse unit's after its step T − t + 1
        e.add("forward_h", (1...3).flatMap { ws.caches[0].states[$0].h.data }, "gru.h")
        e.add("reverse_h", (1...3).flatMap { ws.caches[1].states[3 - $0 + 1].h.data }, "stacked.rev")
        for t in 1...3 { e.add("o_\(t)", stack.output(t, ws), "stacked.out") }
        e.add("s", stack.finalState(ws), "stacked.final")
        let R = row([1, -0.5, 0.25, 2])
        e.add("R", R, "input")
        ws.dFinal = R
        ws.dFinalUsed = true
        stack.backward(p, workspace: &ws, grads: &grads, inputGradients: true)
        e.add("dx", ws.dxs.map { $0[0, 0] }, "stacked.dinput")
        e.add("dh0_forward", ws.dh0s[0], "gru.dhprev"); e.add("dh0_reverse", ws.dh0s[1], "gru.dhprev")
        return e
    }

    /// A 2×2 image, left half hidden, one hidden layer of 3 ReLU units, loss on the hidden pixels.
    static func maskedAutoencoder() -> WorkedExample {
        var e = WorkedExample()
        let model = MaskedAutoencoder<Double>(pixels: 4, hidden: [3], lossOn: .masked)
        var rng = RNG(seed: 5)
        let p = model.mlp.initialParameters(.xavier, rng: &rng)
        for (name, t) in p.namedTensorValues { e.add(name, t, "input") }
        let x = row([0.1, 0.9, 0.4, 0.6]), M = row([0, 1, 0, 1])
        e.add("x", x, "input"); e.add("M", M, "input")
        var ws = MaskedAutoencoder<Double>.Workspace(), grads = p.zeros()
        let loss = model.lossAndGradient(x, mask: M, p, workspace: &ws, grads: &grads, inputGradient: true)
        e.add("x_in", ws.xIn, "masked-autoencoder.xin"); e.add("xhat", ws.reconstruction, "activations.sigmoid"); e.add("loss", loss, "losses.mse")
        e.add("dx", ws.dx, "masked-autoencoder.dx")
        for (name, t) in grads.namedTensorValues { e.add("d" + name, t, name.hasPrefix("W") ? "linear.dW" : "linear.db") }
        return e
    }

    /// A GAN with latent 1, 2 pixels, one hidden layer of 2 units in G and in D, batch 2.
    static func gan() -> WorkedExample {
        var e = WorkedExample()
        let gan = GAN<Double>(latent: 1, pixels: 2, generatorHidden: [2], discriminatorHidden: [2])
        var rng = RNG(seed: 6)
        let p = gan.initialParameters(.xavier, rng: &rng)
        for (name, t) in p.g.namedTensorValues { e.add("G_" + name, t, "input") }
        for (name, t) in p.d.namedTensorValues { e.add("D_" + name, t, "input") }
        let zeta = Matrix<Double>(rows: 2, cols: 1, data: [0.5, -1])
        let real = Matrix<Double>(rows: 2, cols: 2, data: [0.9, 0.1, 0.8, 0.2])
        e.add("zeta", zeta, "input"); e.add("x_real", real, "input")
        var ws = GAN<Double>.Workspace()
        let fake = gan.generate(zeta, p.g, workspace: &ws)
        let losses = gan.discriminatorForward(real: real, fake: fake, p.d, workspace: &ws)
        let sReal = ws.dReal.output, sFake = ws.dFake.output
        e.add("xhat", fake, "activations.sigmoid"); e.add("s_real", sReal, "linear.y"); e.add("s_fake", sFake, "linear.y")
        e.add("L_D", losses.lossD, "gan.LD"); e.add("L_G", losses.lossG, "gan.LG")
        let ones = Matrix<Double>(rows: 2, cols: 1, repeating: 1), zeros = Matrix<Double>(rows: 2, cols: 1)
        var ds = Matrix<Double>(rows: 0, cols: 0)
        BCEWithLogitsLoss.backward(sReal, target: ones, scale: 0.5, into: &ds); e.add("ds_real", ds, "gan.dsreal")
        BCEWithLogitsLoss.backward(sFake, target: zeros, scale: 0.5, into: &ds); e.add("ds_fake", ds, "gan.dsfake")
        BCEWithLogitsLoss.backward(sFake, target: ones, scale: 0.5, into: &ds); e.add("ds_G", ds, "gan.dsG")
        var dD = p.d.zeros()
        gan.discriminatorBackward(real: real, fake: fake, p.d, workspace: &ws, grads: &dD)
        for (name, t) in dD.namedTensorValues { e.add("dD_" + name, t, name.hasPrefix("W") ? "linear.dW" : "linear.db") }
        var dG = p.g.zeros()
        gan.generatorStep(zeta, p, workspace: &ws, grads: &dG)
        e.add("dxhat", ws.dFake.dx, "gan.dxhat")
        for (name, t) in dG.namedTensorValues { e.add("dG_" + name, t, name.hasPrefix("W") ? "linear.dW" : "linear.db") }
        return e
    }

    /// One element of the RNN check case: central differences at several steps against the analytic value.
    static func gradcheck() -> WorkedExample {
        var e = WorkedExample()
        let c = rnnCase(.tanh, batch: 2, length: 3, input: 1, hidden: 2, classes: 2, withH0: false, seed: 0)
        let a = c.analytic()
        let theta = c.params.stack.units[0].W_hh[0, 0], analytic = a.grads.stack.units[0].W_hh[0, 0]
        func L(_ offset: Double) -> Double {
            var p = c.params
            p.stack.units[0].W_hh[0, 0] = theta + offset
            return c.loss(params: p, xs: c.xs, h0s: nil, c0s: nil)
        }
        e.add("theta", theta, "input"); e.add("loss", L(0), "losses.ce"); e.add("analytic", analytic, "rnn.dW_hh")
        for (k, h) in [1e-1, 1e-2, 1e-3].enumerated() {
            let n3 = (L(h) - L(-h)) / (2 * h)
            e.add("step_\(k + 1)", h, "input"); e.add("numeric3_\(k + 1)", n3, "gradcheck.central3")
            e.add("relerr3_\(k + 1)", GradientCheck.relativeError(analytic, n3), "gradcheck.relerr")
            if k < 2 {
                let n5 = (L(-2 * h) - 8 * L(-h) + 8 * L(h) - L(2 * h)) / (12 * h)
                e.add("numeric5_\(k + 1)", n5, "gradcheck.central5"); e.add("relerr5_\(k + 1)", GradientCheck.relativeError(analytic, n5), "gradcheck.relerr")
            }
        }
        return e
    }
}
