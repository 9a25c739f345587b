import Foundation
import BPTT
import XCTest

/// The character-level language model (derivations/charlm.md): the worked example, stateful
/// truncated BPTT against its definition, the carry mistakes located, the stream layout, exact
/// resume, and the `train --task text` / `generate` command lines.
final class CharLMTests: XCTestCase, RunsBPTT {
    /// Every number of the derivation's worked example, through the library.
    func testWorkedExample() {
        let stack = RecurrentStack(layers: 1, bidirectional: false, inputSize: 3, hiddenSize: 1) {
            RNN<Double>(inputSize: $0, hiddenSize: 1, activation: .tanh)
        }
        let model = CharLM(vocabularySize: 3, embeddingDim: 0, stack: stack)
        var rng = RNG(seed: 0)
        var p = model.initialParameters(.xavier, rng: &rng)
        p.tensors = [Matrix(rows: 1, cols: 3, data: [0.5, -0.5, 1]), Matrix(rows: 1, cols: 1, data: [0.8]), Matrix(rows: 1, cols: 1, data: [0]),
                     Matrix(rows: 3, cols: 1, data: [1, -1, 0.5]), Matrix(rows: 1, cols: 3, data: [0, 0, 0])]
        XCTAssertEqual(p.tensorNames, ["W_hx", "W_hh", "b_h", "W_ph", "b_p"])
        let streams = try! CharStreams([0, 1, 2, 0, 1], rows: 1, length: 2, what: "abcab")
        XCTAssertEqual(streams.chunksPerEpoch, 2)
        var ws = CharLM<RNN<Double>>.Workspace()
        let (x1, y1) = streams.chunk(0), (x2, y2) = streams.chunk(1)
        XCTAssertEqual(x1, [[0], [1]]); XCTAssertEqual(y1, [[1], [2]]); XCTAssertEqual(x2, [[2], [0]]); XCTAssertEqual(y2, [[0], [1]])
        let l1 = model.forward(inputs: x1, targets: y1, from: nil, p, workspace: &ws).lossSum / 2
        XCTAssertEqual(l1, 1.428176, accuracy: 5e-7)
        let s0 = model.finalState(ws)
        XCTAssertEqual(s0.h[0][0, 0], -0.129574, accuracy: 5e-7)
        var g = p.zeros()
        var none: RNG? = nil
        let l2 = model.lossAndGradient(inputs: x2, targets: y2, from: s0, p, lossScale: 0.5, workspace: &ws, grads: &g, dropoutRNG: &none).lossSum / 2
        XCTAssertEqual(l2, 1.436719, accuracy: 5e-7)
        let yhat = ws.probabilities
        for (k, v) in [0.515693, 0.123531, 0.360776].enumerated() { XCTAssertEqual(yhat[0][0, k], v, accuracy: 5e-7) }
        for (k, v) in [0.532027, 0.109570, 0.358404].enumerated() { XCTAssertEqual(yhat[1][0, k], v, accuracy: 5e-7) }
        XCTAssertEqual(model.finalState(ws).h[0][0, 0], 0.790067, accuracy: 5e-7)
        XCTAssertEqual(g.net.stack.units[0].W_hh[0, 0], 0.213316, accuracy: 5e-7)
        XCTAssertEqual(ws.net.stack.dh0s[0][0, 0], 0.010586, accuracy: 5e-7)   // the gradient left at the boundary
    }

    /// Chunk 2's gradient from the carried state equals the finite differences of its loss with
    /// that state held fixed, for every cell, stacked, with an embedding, per-step adjoints included.
    func testStatefulTruncatedBPTTEqualsItsDefinition() {
        for kind in CellKind.allCases {
            var spec = CharLMCheckSpec(model: kind)
            spec.seed = 3
            let r = CharLMCheck.run(spec, steps: true)
            XCTAssertTrue(r.passed, "\(kind): \(r.results.map { ($0.name, $0.maxRelError) })")
            XCTAssertFalse(r.steps.isEmpty, "\(kind)")
            XCTAssertNil(r.firstDivergence, "\(kind)")
            XCTAssertEqual(r.carryError, 0)
            XCTAssertEqual(r.boundaryGradient, 0)
        }
        var spec = CharLMCheckSpec(model: .lstm)
        spec.layers = 2
        spec.embedding = 3
        spec.vocabulary = 5
        let r = CharLMCheck.run(spec)
        XCTAssertTrue(r.passed, "\(r.results.map { ($0.name, $0.maxRelError) })")
        XCTAssertTrue(r.results.contains { $0.name == "W_emb" })
    }

    /// Each carry mistake fails the check and is located at the equation it breaks; a mistake
    /// of the general catalogue is located inside the chunk.
    func testCarryMistakesAreLocated() {
        for kind in [CellKind.lstm, .gru, .rnn] {
            for m in CarryMistake.allCases {
                let r = CharLMCheck.run(CharLMCheckSpec(model: kind), mistake: m, steps: true)
                XCTAssertFalse(r.passed, "\(m.name) on \(kind)")
                XCTAssertGreaterThan(r.results.map(\.maxRelError).max()!, 1e-3, "\(m.name) on \(kind): the gradient itself must be wrong")
                XCTAssertEqual(r.firstDivergence?.tag, m.tag, "\(m.name) on \(kind)")
            }
        }
        let r = CharLMCheck.run(CharLMCheckSpec(model: .lstm), breaking: .lossesDpSumOverT, steps: true)
        XCTAssertEqual(r.firstDivergence?.tag, "losses.dp")
        XCTAssertEqual(r.firstDivergence?.t, 3)
        XCTAssertTrue(TraceabilityTests.definedTags().keys.contains("charlm.carry"))
        XCTAssertTrue(TraceabilityTests.definedTags().keys.contains("charlm.stop"))
    }

    func testStreamLayoutAndErrors() throws {
        let ids = Array(0..<23)
        let s = try CharStreams(ids, rows: 2, length: 3, what: "t")
        XCTAssertEqual(s.rowLength, 11)
        XCTAssertEqual(s.chunksPerEpoch, 3)
        let (x0, y0) = s.chunk(0), (x1, _) = s.chunk(1)
        XCTAssertEqual(x0, [[0, 11], [1, 12], [2, 13]])
        XCTAssertEqual(y0, [[1, 12], [2, 13], [3, 14]])
        XCTAssertEqual(x1[0], [3, 14])   // the next chunk continues each row
        XCTAssertThrowsError(try CharStreams(ids, rows: 4, length: 5, what: "t")) { e in
            XCTAssertTrue("\(e)".contains("too few"), "\(e)")
        }
    }

    func testVocabularyAndCorpus() throws {
        let c = try CharCorpus(text: "abcabcabcé", source: "t", validationFraction: 0, vocabulary: nil)
        XCTAssertEqual(c.vocabulary.stored, "abcé")
        XCTAssertEqual(c.vocabulary.decode(c.train), "abcabcabcé")
        XCTAssertThrowsError(try CharCorpus(text: String(repeating: "ab", count: 9) + "ca", source: "t", validationFraction: 0.1)) { e in
            XCTAssertTrue("\(e)".contains("'c'") && "\(e)".contains("validation"), "\(e)")   // validation holds a character training lacks
        }
        let text = try CharCorpus.builtinText()
        XCTAssertEqual(text.unicodeScalars.count, 993_249)
        XCTAssertTrue(text.hasPrefix("THE TRAGEDY OF ROMEO AND JULIET") || text.contains("ROMEO"), String(text.prefix(80)))
        let b = try CharCorpus(text: text, source: "builtin", validationFraction: 0.1)
        XCTAssertEqual(b.train.count, 893_924)
        XCTAssertEqual(b.validation.count, 99_325)
        XCTAssertEqual(b.vocabulary.count, 73)
    }

    /// Learning-rate schedules (charlm.lrstep, charlm.lrcos).
    func testLearningRateSchedules() {
        var c = TextConfig()
        c.optimizer.lr = 1
        c.lrDecay = "step"; c.lrDecayEvery = 2; c.lrDecayFactor = 0.5
        XCTAssertEqual((1...5).map { c.learningRate(at: $0) }, [1, 1, 0.5, 0.5, 0.25])
        c.lrDecay = "cosine"; c.lrDecayEvery = 4
        XCTAssertEqual(c.learningRate(at: 1), 1, accuracy: 1e-12)
        XCTAssertEqual(c.learningRate(at: 3), 0.5, accuracy: 1e-12)
        XCTAssertEqual(c.learningRate(at: 5), 0, accuracy: 1e-12)
        XCTAssertEqual(c.learningRate(at: 9), 0, accuracy: 1e-12)
    }

    func smallCorpus() throws -> CharCorpus {
        var rng = RNG(seed: 9)
        let words = ["the ", "king ", "and ", "queen ", "said ", "no\n"]
        let text = (0..<400).map { _ in words[rng.int(below: words.count)] }.joined()
        return try CharCorpus(text: text, source: "words", validationFraction: 0.1)
    }

    /// A run stopped, saved and restored continues bit for bit, for 1 or 2 threads, and the
    /// carried state is part of what is saved.
    func testResumeIsExactAndThreadIndependent() throws {
        let corpus = try smallCorpus()
        var c = TextConfig()
        c.model = "lstm"; c.layers = 2; c.hidden = 8; c.length = 7; c.batch = 4; c.dropout = 0.2
        c.lrDecay = "cosine"; c.lrDecayEvery = 20
        func straight(threads: Int) throws -> (Checkpoint, Double) {
            var cc = c
            cc.threads = threads
            let t = try TextTrainer(cc, corpus: corpus, dataSpec: "words")
            var last = 0.0
            for _ in 0..<10 { last = t.trainStep().loss }
            return (t.checkpoint(), last)
        }
        let (one, lossOne) = try straight(threads: 1)
        let (two, lossTwo) = try straight(threads: 2)
        XCTAssertEqual(lossOne, lossTwo)
        XCTAssertEqual(one.tensors, two.tensors)
        XCTAssertTrue(one.tensors.contains { $0.name == "carry.c_u1" })
        let first = try TextTrainer(c, corpus: corpus, dataSpec: "words")
        for _ in 0..<4 { _ = first.trainStep() }
        let saved = try Checkpoint.decode(first.checkpoint().encoded())
        let second = try TextTrainer(c, corpus: corpus, dataSpec: "words")
        try second.restore(saved, source: "saved")
        var last = 0.0
        for _ in 0..<6 { last = second.trainStep().loss }
        XCTAssertEqual(last, lossOne)
        XCTAssertEqual(second.checkpoint().tensors, one.tensors)
        // without the carried state the continuation differs: the state matters
        var cut = saved
        cut.tensors.removeAll { $0.name.hasPrefix("carry.") }
        let third = try TextTrainer(c, corpus: corpus, dataSpec: "words")
        XCTAssertThrowsError(try third.restore(cut, source: "cut"))
    }

    /// Training lowers the validation loss of a small text, and sampling is deterministic.
    func testTrainingLearnsAndSamples() throws {
        let corpus = try smallCorpus()
        var c = TextConfig()
        c.hidden = 24; c.layers = 1; c.length = 16; c.batch = 8; c.embedding = 8
        let t = try TextTrainer(c, corpus: corpus, dataSpec: "words")
        let before = t.validate().nats
        XCTAssertEqual(before, log(Double(corpus.vocabulary.count)), accuracy: 0.3)
        for _ in 0..<120 { _ = t.trainStep() }
        let after = t.validate().nats
        XCTAssertLessThan(after, before - 0.8, "validation \(before) → \(after)")
        let a = t.sample(prime: [0], count: 40, temperature: 0.8, topK: nil, seed: 1)
        XCTAssertEqual(a, t.sample(prime: [0], count: 40, temperature: 0.8, topK: nil, seed: 1))
        XCTAssertNotEqual(a, t.sample(prime: [0], count: 40, temperature: 0.8, topK: nil, seed: 2))
        let greedy = t.sample(prime: [0], count: 40, temperature: 0, topK: nil, seed: 1)
        XCTAssertEqual(greedy, t.sample(prime: [0], count: 40, temperature: 0, topK: nil, seed: 7))
        XCTAssertEqual(greedy, t.sample(prime: [0], count: 40, temperature: 0.5, topK: 1, seed: 3))
    }

    func testCommandLines() throws {
        let dir = try scratchDirectory("charlm", test: self)
        let text = dir.appendingPathComponent("words.txt").path
        let corpus = (0..<300).map { ["the ", "king ", "said ", "no\n"][$0 * 7 % 4] }.joined()
        try corpus.write(toFile: text, atomically: true, encoding: .utf8)
        let ckpt = dir.appendingPathComponent("m.ckpt").path
        let r = try bptt(["train", "--task", "text", "--data", text, "--model", "gru", "--layers", "1", "--hidden", "16", "--length", "10",
                          "--batch", "4", "--steps", "12", "--eval-every", "6", "--sample-every", "6", "--save", ckpt, "--json", "--threads", "1"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let j = try lastJSON(r)
        XCTAssertEqual(j["task"] as? String, "text")
        XCTAssertEqual(j["steps"] as? Int, 12)
        let nats = try XCTUnwrap(j["validation_nats"] as? Double), bits = try XCTUnwrap(j["validation_bits"] as? Double)
        XCTAssertEqual(bits, nats / log(2), accuracy: 1e-9)
        XCTAssertEqual((j["history"] as? [Any])?.count, 2)
        XCTAssertTrue(r.stdout.contains("sample at step 6"))
        // resuming to 16 steps equals training 16 steps straight
        let straight = try bptt(["train", "--task", "text", "--data", text, "--model", "gru", "--layers", "1", "--hidden", "16", "--length", "10",
                                 "--batch", "4", "--steps", "16", "--json"])
        let resumed = try bptt(["train", "--task", "text", "--resume", ckpt, "--steps", "16", "--threads", "1", "--json"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertEqual(try lastJSON(resumed)["final_loss"] as? Double, try lastJSON(straight)["final_loss"] as? Double)
        // stopped after 4 steps and resumed to 8: the same figures and history as 8 steps straight
        // (the closing evaluation of the first run is not part of its checkpoint)
        let common = ["train", "--task", "text", "--data", text, "--model", "gru", "--layers", "1", "--hidden", "16", "--length", "10",
                      "--batch", "4", "--json", "--threads", "1"]
        let half = dir.appendingPathComponent("half.ckpt").path, whole = dir.appendingPathComponent("whole.ckpt").path
        let eight = try bptt(common + ["--steps", "8", "--save", whole])
        XCTAssertEqual(try bptt(common + ["--steps", "4", "--save", half]).status, 0)
        let rest = try bptt(["train", "--task", "text", "--resume", half, "--steps", "8", "--save", half, "--json"])
        for key in ["final_loss", "train_nats", "validation_nats"] {
            XCTAssertEqual(try lastJSON(rest)[key] as? Double, try lastJSON(eight)[key] as? Double, key)
        }
        XCTAssertEqual((try lastJSON(rest)["history"] as? [Any])?.count, (try lastJSON(eight)["history"] as? [Any])?.count)
        XCTAssertEqual(FileManager.default.contents(atPath: half), FileManager.default.contents(atPath: whole), "the two checkpoints are byte-identical")
        let g = try bptt(["generate", "--checkpoint", ckpt, "--prime", "the ", "--count", "30", "--temperature", "0", "--json"])
        XCTAssertEqual(g.status, 0, g.stderr)
        let gj = try lastJSON(g)
        XCTAssertEqual((gj["text"] as? String)?.unicodeScalars.count, 30)
        let plain = try bptt(["generate", "--checkpoint", ckpt, "--prime", "the ", "--count", "30", "--temperature", "0"])
        XCTAssertEqual(plain.stdout, "the " + (gj["text"] as! String) + "\n")
        // one-line errors, exit 2
        let empty = dir.appendingPathComponent("empty.txt").path
        _ = FileManager.default.createFile(atPath: empty, contents: Data())
        let binary = dir.appendingPathComponent("bin.txt").path
        _ = FileManager.default.createFile(atPath: binary, contents: Data([0x61, 0x62, 0xFF, 0x63]))
        let short = dir.appendingPathComponent("short.txt").path
        try "abcdefghij".write(toFile: short, atomically: true, encoding: .utf8)
        let cases: [([String], String)] = [
            (["train", "--task", "text", "--data", dir.appendingPathComponent("none.txt").path], "no such file"),
            (["train", "--task", "text", "--data", empty], "empty"),
            (["train", "--task", "text", "--data", binary], "not UTF-8"),
            (["train", "--task", "text", "--data", short, "--validation", "0"], "too few"),
            (["train", "--task", "text", "--truncate", "5"], "--length"),
            (["train", "--task", "palindrome", "--embedding", "4"], "--task text"),
            (["generate", "--checkpoint", ckpt, "--prime", "xyz€"], "vocabulary"),
            (["generate", "--checkpoint", ckpt, "--temperature", "-1"], "--temperature"),
            (["generate", "--checkpoint", ckpt, "--top-k", "0"], "--top-k"),
            (["generate", "--checkpoint", ckpt, "--top-k", "1000"], "vocabulary has"),
            (["generate"], "--checkpoint"),
            (["generate", "--checkpoint", text], text),
            (["gradcheck", "--task", "text", "--break", "rnn.dh:nonsense"], "--break"),
            (["predict", "--checkpoint", ckpt, "--input", "abc"], "bptt generate --checkpoint"),
            (["export", "--checkpoint", ckpt, "--out", dir.appendingPathComponent("m.safetensors").path], "bptt generate --checkpoint"),
        ]
        for (args, needle) in cases {
            let e = try bptt(args)
            XCTAssertEqual(e.status, 2, "\(args): \(e.stdout) \(e.stderr)")
            XCTAssertEqual(e.stderr.split(separator: "\n").count, 1, "\(args): \(e.stderr)")
            XCTAssertTrue(e.stderr.contains(needle), "\(args): \(e.stderr)")
        }
        for b in CarryMistake.allCases {
            let c = try bptt(["gradcheck", "--task", "text", "--model", "lstm", "--break", b.name, "--locate", "--json"])
            XCTAssertEqual(c.status, 1)
            XCTAssertEqual((try lastJSON(c)["first_divergence"] as? [String: Any])?["tag"] as? String, b.tag)
        }
        XCTAssertEqual(try bptt(["gradcheck", "--task", "text", "--model", "gru", "--locate"]).status, 0)
        // gradflow: ‖∂L/∂h_t‖ at every step of one chunk, at initialisation and after training
        let flowDir = dir.appendingPathComponent("flow").path
        let f = try bptt(["gradflow", "--task", "text", "--data", text, "--model", "rnn,gru", "--length", "8", "--batch", "4", "--hidden", "8", "--steps", "3",
                          "--out", flowDir, "--json"])
        XCTAssertEqual(f.status, 0, f.stderr)
        let flowCSV = try String(contentsOfFile: flowDir + "/gradflow.csv", encoding: .utf8)
        XCTAssertEqual(flowCSV.split(separator: "\n").count, 1 + 2 * 2 * 8, "header + (rnn, gru) × (init, trained) × T rows")
        for svg in ["gradflow_init.svg", "gradflow_trained.svg"] {
            XCTAssertTrue(try String(contentsOfFile: flowDir + "/" + svg, encoding: .utf8).contains("<polyline"), svg)
        }
        let models = try XCTUnwrap(try lastJSON(f)["models"] as? [String: [String: Any]])
        XCTAssertEqual(Set(models.keys), ["rnn", "gru"])
        for (_, m) in models { XCTAssertEqual((m["init"] as? [Double])?.count, 8); XCTAssertTrue(((m["trained"] as? [Double]) ?? []).allSatisfy { $0 > 0 }) }
        // explain walks the per-step losses of one chunk from the carried state; its check passes
        let x = try bptt(["explain", "--task", "text", "--model", "lstm", "--length", "3", "--batch", "2", "--json"])
        XCTAssertEqual(x.status, 0, x.stderr)
        for needle in ["(charlm.carry)", "ℓ_1", "ℓ_3", "(charlm.loss)  L = 1/(T·B)", "backward, t = 3"] { XCTAssertTrue(x.stdout.contains(needle), needle) }
        XCTAssertLessThan(try XCTUnwrap(try lastJSON(x)["max_rel_error"] as? Double), 1e-7)
    }
}

extension WorkedExamples {
    /// derivations/charlm.md: text `abcab`, T = 2, one tanh unit; chunk 2 from the carried state.
    static func charlm() -> WorkedExample {
        var e = WorkedExample()
        let stack = RecurrentStack(layers: 1, bidirectional: false, inputSize: 3, hiddenSize: 1) {
            RNN<Double>(inputSize: $0, hiddenSize: 1, activation: .tanh)
        }
        let model = CharLM(vocabularySize: 3, embeddingDim: 0, stack: stack)
        var rng = RNG(seed: 0)
        var p = model.initialParameters(.xavier, rng: &rng)
        let m = { (r: Int, c: Int, v: [Double]) in Matrix<Double>(rows: r, cols: c, data: v) }
        p.tensors = [m(1, 3, [0.5, -0.5, 1]), m(1, 1, [0.8]), m(1, 1, [0]), m(3, 1, [1, -1, 0.5]), m(1, 3, [0, 0, 0])]
        let text = [0, 1, 2, 0, 1]
        let streams = try! CharStreams(text, rows: 1, length: 2, what: "abcab")
        let (x1, y1) = streams.chunk(0), (x2, y2) = streams.chunk(1)
        e.add("text", text.map(Double.init), "input")
        for (name, t) in zip(["W_hx", "W_hh", "b_h", "W_ph", "b_p"], p.tensors) { e.add(name, t, "input") }
        var ws = CharLM<RNN<Double>>.Workspace()
        let l1 = model.forward(inputs: x1, targets: y1, from: nil, p, workspace: &ws).lossSum / 2
        e.add("chunk 1: h_1", ws.net.stack.caches[0].states[1].h, "rnn.h")
        e.add("chunk 1: h_2", ws.net.stack.caches[0].states[2].h, "rnn.h")
        e.add("chunk 1: L", l1, "charlm.loss")
        let s0 = model.finalState(ws)
        e.add("chunk 2: s_0", s0.h[0], "charlm.carry")
        let tracer = Tracer()
        ws.net.stack.tracer = tracer
        var g = p.zeros()
        var none: RNG? = nil
        let l2 = model.lossAndGradient(inputs: x2, targets: y2, from: s0, p, lossScale: 0.5, workspace: &ws, grads: &g, dropoutRNG: &none).lossSum / 2
        for t in 1...2 {
            e.add("chunk 2: h_\(t)", ws.net.stack.caches[0].states[t].h, "rnn.h")
            e.add("chunk 2: yhat_\(t)", ws.probabilities[t - 1], "losses.softmax")
            e.add("chunk 2: ell_\(t)", -log(ws.probabilities[t - 1][0, y2[t - 1][0]]), "charlm.loss")
        }
        e.add("chunk 2: L", l2, "charlm.loss")
        for t in [2, 1] {
            e.add("dp_\(t)", tracer.record(.backward, .logitsStacked, t)!.value, "charlm.dp")
            e.add("dh_\(t)", tracer.record(.backward, .rnnH, t)!.value, "charlm.dh")
        }
        e.add("dW_hh", g.net.stack.units[0].W_hh, "charlm.stop")
        e.add("ds_0 (dropped)", ws.net.stack.dh0s[0], "rnn.dhprev")
        return e
    }
}


/// A text file saved on another system reads the same: a leading byte-order mark is skipped and
/// CRLF and CR line ends become LF, so the vocabulary does not change.
final class CharTextLineEndTests: XCTestCase {
    func testByteOrderMarkAndLineEndsReadAsLF() throws {
        let dir = testTemporaryDirectory.appendingPathComponent("bptt-lineends-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let lf = "ROMEO:\nBut soft!\n\nJULIET:\nAy me.\n"
        var texts: [String] = []
        for (name, bytes) in [("lf", Array(lf.utf8)), ("bom-crlf", [0xEF, 0xBB, 0xBF] + Array(lf.replacingOccurrences(of: "\n", with: "\r\n").utf8)),
                              ("cr", Array(lf.replacingOccurrences(of: "\n", with: "\r").utf8))] {
            let path = dir.appendingPathComponent(name + ".txt").path
            XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
            texts.append(try CharCorpus.readUTF8(path))
        }
        XCTAssertEqual(texts, [lf, lf, lf])
    }
}
