import BPTT
import Foundation
import XCTest

/// `bptt predict`, `gan sample`, `export` and `train --init-from`: each kind of checkpoint is
/// trained for a few steps here, saved, used through the CLI, and the CLI's numbers compared
/// with the library's own forward pass on the same model.
final class PredictExportTests: XCTestCase, RunsBPTT {
    var dir = ""

    override func setUpWithError() throws { dir = try scratchDirectory("predict", test: self).path }

    func ok(_ args: [String], file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        let r = try bptt(args)
        XCTAssertEqual(r.status, 0, "bptt \(args.joined(separator: " ")): \(r.stderr)", file: file, line: line)
        return try lastJSON(r)
    }

    func floats(_ any: Any?) -> [Float] { ((any as? [Any]) ?? []).map { Float(($0 as! NSNumber).doubleValue) } }

    // MARK: predict, one test per kind of checkpoint

    func testPalindromePredictEqualsTheLibrary() throws {
        let ck = dir + "/lstm.ckpt"
        _ = try ok(["train", "--model", "lstm", "--layers", "2", "--bidirectional", "--hidden", "8", "--length", "5", "--steps", "30",
                    "--batch", "16", "--save", ck, "--quiet", "--json"])
        let j = try ok(["predict", "--checkpoint", ck, "--input", "3 1 4 1 5", "--json"])
        let c = try Checkpoint.read(from: ck)
        let model = SequenceClassifier<LSTM<Float>>(stack: RecurrentStack(layers: 2, bidirectional: true, inputSize: 1, hiddenSize: 8,
                                                                          make: { LSTM<Float>(inputSize: $0, hiddenSize: 8) }), classes: 10)
        var rng = RNG(seed: 9)
        var p = model.initialParameters(.xavier, rng: &rng)
        try p.load(c.tensors, source: ck)
        var ws = SequenceClassifier<LSTM<Float>>.Workspace()
        model.forward([3, 1, 4, 1, 5].map { Matrix<Float>(rows: 1, cols: 1, data: [$0]) }, targets: [[0]], p, workspace: &ws)
        let expected = Array(ws.probabilities[0].data)
        XCTAssertEqual(floats(j["probabilities"]), expected)
        XCTAssertEqual(j["prediction"] as? Int, expected.indices.max { expected[$0] < expected[$1] })
        // the same digits on stdin give the same answer
        let piped = try bpttWithInput(["predict", "--checkpoint", ck, "--json"], stdin: "3,1,4,1,5\n")
        XCTAssertEqual(piped.status, 0, piped.stderr)
        XCTAssertEqual(floats(try lastJSON(piped)["probabilities"]), expected)
    }

    func testImageRowsPredictFromIndexAndPNG() throws {
        let ck = dir + "/rows.ckpt"
        _ = try ok(["train", "--task", "image-rows", "--model", "gru", "--hidden", "8", "--epochs", "1", "--save", ck, "--quiet", "--json"])
        let j = try ok(["predict", "--checkpoint", ck, "--data", "digits", "--index", "7", "--json"])
        let data = try ImageData.load("digits")
        let image = Array(data.test.images.row(7))
        let c = try Checkpoint.read(from: ck)
        let model = SequenceClassifier<GRU<Float>>(stack: RecurrentStack(layers: 1, bidirectional: false, inputSize: 8, hiddenSize: 8,
                                                                         make: { GRU<Float>(inputSize: $0, hiddenSize: 8) }), classes: 10)
        var rng = RNG(seed: 9)
        var p = model.initialParameters(.xavier, rng: &rng)
        try p.load(c.tensors, source: ck)
        var ws = SequenceClassifier<GRU<Float>>.Workspace()
        model.forward((0..<8).map { Matrix<Float>(rows: 1, cols: 8, data: Array(image[($0 * 8)..<($0 * 8 + 8)])) }, targets: [[0]], p, workspace: &ws)
        XCTAssertEqual(floats(j["probabilities"]), Array(ws.probabilities[0].data))
        XCTAssertEqual(j["label"] as? Int, data.test.labels[7])
        // the same image as a PNG file (8-bit grey holds the data's k/255 values exactly)
        let png = dir + "/seven.png"
        try PNG.write(png, width: 8, height: 8, pixels: image.map { UInt8(($0 * 255).rounded()) })
        XCTAssertEqual(floats(try ok(["predict", "--checkpoint", ck, "--input", png, "--json"])["probabilities"]), Array(ws.probabilities[0].data))
    }

    func testClassifierPredictEqualsTrainerProbabilities() throws {
        let ck = dir + "/cl.ckpt"
        _ = try ok(["classify", "--epochs", "1", "--hidden", "16", "--save", ck, "--quiet", "--json"])
        let j = try ok(["predict", "--checkpoint", ck, "--index", "3", "--json"])
        let data = try ImageData.load("digits")
        let trainer = try ClassifierTrainer(resuming: try Checkpoint.read(from: ck), data: data, threads: 1, source: ck)
        let expected = Array(trainer.probabilities(Matrix(rows: 1, cols: 64, data: Array(data.test.images.row(3)))).data)
        XCTAssertEqual(floats(j["probabilities"]), expected)
        XCTAssertEqual(floats(j["probabilities"]).count, 10)
    }

    func testAutoencoderPredictWritesPNGAndEqualsTheModel() throws {
        let ck = dir + "/ae.ckpt", png = dir + "/ae.png"
        _ = try ok(["autoencoder", "--epochs", "1", "--hidden", "16", "--save", ck, "--quiet", "--json"])
        let j = try ok(["predict", "--checkpoint", ck, "--index", "2", "--out", png, "--json"])
        let data = try ImageData.load("digits")
        let trainer = try AutoencoderTrainer(resuming: try Checkpoint.read(from: ck), data: data, threads: 1, source: ck)
        var mask = Matrix<Float>(rows: 0, cols: 0), rng = RNG(seed: 0)
        trainer.config.mask.fill(&mask, batch: 1, height: 8, width: 8, rng: &rng)
        var ws = MaskedAutoencoder<Float>.Workspace()
        trainer.model.forward(Matrix(rows: 1, cols: 64, data: Array(data.test.images.row(2))), mask: mask, trainer.params, workspace: &ws)
        XCTAssertEqual(floats(j["reconstruction"]), Array(ws.reconstruction.data))
        XCTAssertEqual(floats(j["masked_input"]), Array(ws.xIn.data))
        XCTAssertEqual(j["hidden_pixels"] as? Int, 32)
        let written = try PNG.readGrey(png)
        XCTAssertEqual(written.height, 8 * 4 + 4)   // three tiles of 8×8 scaled ×4 with 2-pixel gaps
    }

    func testSentimentPredictEqualsTheModel() throws {
        let ck = dir + "/se.ckpt"
        _ = try ok(["train", "--task", "sentiment", "--model", "gru", "--hidden", "4", "--embedding-dim", "8", "--vocab", "300",
                    "--max-length", "40", "--epochs", "1", "--save", ck, "--quiet", "--json"])
        let sentence = "a truly great film, not bad at all"
        let j = try ok(["predict", "--checkpoint", ck, "--input", sentence, "--json"])
        let text = EncodedText(train: SyntheticSentiment.generate(count: 20000, seed: 1), test: SyntheticSentiment.generate(count: 2000, seed: 2),
                               maxWords: 300, maxLength: 40)
        let ids = text.vocabulary.encode(Tokenizer.tokenize(sentence))
        let c = try Checkpoint.read(from: ck)
        let model = SentimentClassifier<GRU<Float>>(vocabularySize: text.vocabulary.count, embeddingDim: 8, dropout: 0.5,
                                                    stack: RecurrentStack(layers: 1, bidirectional: false, inputSize: 8, hiddenSize: 4,
                                                                          make: { GRU<Float>(inputSize: $0, hiddenSize: 4) }))
        var rng = RNG(seed: 9)
        var p = model.initialParameters(.xavier, rng: &rng)
        try p.load(c.tensors, source: ck)
        var ws = SentimentClassifier<GRU<Float>>.Workspace(), none: RNG? = nil
        model.forward(TokenBatch.padded([ids], labels: [0]), p, workspace: &ws, dropoutRNG: &none)
        let expected = 1 / (1 + Float.exp(-ws.logits[0, 0]))
        XCTAssertEqual(Float((j["probability_positive"] as! NSNumber).doubleValue), expected)
        XCTAssertEqual(j["prediction"] as? String, expected > 0.5 ? "positive" : "negative")
    }

    func testGANSampleEqualsTrainerSamplesAndResumeOfGeneratorSaysWhatToUse() throws {
        let run = dir + "/gan.ckpt", out = dir + "/g"
        _ = try ok(["gan", "--steps", "3", "--batch", "16", "--g-hidden", "24,32", "--d-hidden", "32,16", "--latent", "8", "--judge-epochs", "1",
                    "--samples", "10", "--out", out, "--save", run, "--quiet", "--json"])
        let data = try ImageData.load("digits")
        let trainer = try GANTrainer(resuming: try Checkpoint.read(from: run), data: data.train, identity: DataIdentity(data, spec: "digits"),
                                     threads: 1, source: run)
        let expected = trainer.samples(3, seed: 5)
        for ck in [run, out + "/generator.ckpt"] {
            let s = dir + "/samples-\(ck.hasSuffix("generator.ckpt") ? "g" : "run")"
            let j = try ok(["gan", "sample", "--checkpoint", ck, "--count", "3", "--seed", "5", "--out", s, "--json"])
            XCTAssertEqual((j["files"] as? [String])?.count, 3)
            for i in 0..<3 {
                let img = try PNG.readGrey(s + "/sample_00\(i).png")
                XCTAssertEqual(img.pixels.map { UInt8(($0 * 255).rounded()) }, expected.row(i).map { UInt8(max(0, min(255, ($0 * 255).rounded()))) })
            }
        }
        let r = try bptt(["gan", "--resume", out + "/generator.ckpt", "--steps", "5"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("gan sample") && r.stderr.contains("--save"), r.stderr)
        let p = try bptt(["predict", "--checkpoint", run, "--input", "1"])
        XCTAssertEqual(p.status, 2)
        XCTAssertTrue(p.stderr.contains("gan sample"), p.stderr)
    }

    // MARK: export

    func testExportRoundTripsBitExactWithPyTorchLayout() throws {
        for (model, extra) in [("lstm", ["--layers", "2", "--bidirectional"]), ("gru", []), ("rnn-relu", [])] {
            let ck = dir + "/\(model).ckpt"
            _ = try ok(["train", "--model", model, "--hidden", "6", "--length", "4", "--steps", "20", "--batch", "8", "--save", ck, "--quiet", "--json"] + extra)
            let c = try Checkpoint.read(from: ck)
            let layout = try TorchExport.layout(of: c, source: ck)
            for ext in ["safetensors", "npz"] {
                let out = dir + "/\(model).\(ext)"
                let j = try ok(["export", "--checkpoint", ck, "--out", out, "--json"])
                XCTAssertEqual(j["format"] as? String, ext)
                let read = try TorchExport.readTensors(out)
                let back = try TorchExport.bpttTensors(from: read, layout: layout, like: c.tensors, source: out)
                XCTAssertEqual(back.map(\.name), c.tensors.map(\.name))
                for (a, b) in zip(back, c.tensors) {
                    XCTAssertEqual(a.value.data.map(\.bitPattern), b.value.data.map(\.bitPattern), "\(model) \(ext) \(a.name)")
                }
                let byName = Dictionary(read.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
                let t = { (n: String) in c.tensors.first { $0.name == n }!.value.data }
                let H = 6
                if model == "lstm" {   // PyTorch's gate order i, f, g, o (bptt's fused buffers are i, f, o, g)
                    let w = try XCTUnwrap(byName["rnn.weight_ih_l1_reverse"])
                    XCTAssertEqual(w.shape, [4 * H, 2 * H])
                    XCTAssertEqual(Array(w.data[(2 * H * 2 * H)..<(3 * H * 2 * H)]), t("W_gx_l1_reverse"))
                    XCTAssertEqual(Array(byName["rnn.bias_ih_l0"]!.data[(3 * H)..<(4 * H)]), t("b_o_l0"))
                    XCTAssertEqual(byName["rnn.bias_hh_l0"]!.data, [Float](repeating: 0, count: 4 * H))
                } else if model == "gru" {   // r, z, n; b_nh is bias_hh's n block
                    XCTAssertEqual(Array(byName["rnn.bias_hh_l0"]!.data[(2 * H)...]), t("b_nh"))
                    XCTAssertEqual(Array(byName["rnn.weight_hh_l0"]!.data[(H * H)..<(2 * H * H)]), t("W_zh"))
                }
                XCTAssertEqual(byName["fc.weight"]!.shape, [10, H * (model == "lstm" ? 2 : 1)])
                XCTAssertEqual(byName["fc.bias"]!.data, t("b_p"))
            }
        }
        let st = try Safetensors.read(from: dir + "/gru.safetensors")
        XCTAssertEqual(st.metadata["bptt_kind"], "palindrome")
        XCTAssertTrue(st.metadata["torch_modules"]?.contains("nn.GRU(1, 6, num_layers=1)") == true, st.metadata["torch_modules"] ?? "")
    }

    func testExportOfImageModelsNamesLayers() throws {
        let ck = dir + "/cl.ckpt", out = dir + "/cl.safetensors"
        _ = try ok(["classify", "--epochs", "1", "--hidden", "16", "--save", ck, "--quiet", "--json"])
        let j = try ok(["export", "--checkpoint", ck, "--out", out, "--json"])
        let names = (j["tensors"] as? [[String: Any]])?.compactMap { $0["name"] as? String }
        XCTAssertEqual(names, ["layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"])
        let t = try Safetensors.read(from: out).tensors
        XCTAssertEqual(t[0].shape, [16, 64])
        XCTAssertEqual(t[0].data, try Checkpoint.read(from: ck).tensors[0].value.data)
    }

    func testInitFromStartsFromTheExportedWeights() throws {
        let first = dir + "/a.ckpt", weights = dir + "/a.safetensors", second = dir + "/b.ckpt"
        let common = ["train", "--model", "gru", "--hidden", "6", "--length", "4", "--batch", "8", "--quiet", "--json"]
        _ = try ok(common + ["--steps", "5", "--save", first])
        _ = try ok(["export", "--checkpoint", first, "--out", weights, "--json"])
        _ = try ok(common + ["--steps", "3", "--init-from", weights, "--save", second])
        // the library: a new run of the same configuration, its weights replaced by the first run's, 3 steps
        let a = try Checkpoint.read(from: first)
        var config = try JSONDecoder().decode(TrainConfig.self, from: Data(a.config.utf8))
        config.steps = 3
        let trainer = try PalindromeTrainer(config)
        var start = trainer.checkpoint()
        start.tensors = a.tensors
        try trainer.restore(start, source: "test")
        for _ in 0..<3 { trainer.trainStep() }
        XCTAssertEqual(try Checkpoint.read(from: second).tensors, trainer.checkpoint().tensors)
        // a file for another size is refused by name and shape, before training
        let r = try bptt(["train", "--model", "gru", "--hidden", "7", "--length", "4", "--steps", "3", "--init-from", weights])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("rnn.weight_ih_l0") && r.stderr.contains("shape"), r.stderr)
        XCTAssertFalse(r.stdout.contains("eval accuracy"))
        let lstm = try bptt(["train", "--model", "lstm", "--hidden", "6", "--length", "4", "--steps", "3", "--init-from", weights])
        XCTAssertEqual(lstm.status, 2, lstm.stderr)
    }

    // MARK: bad input: one line, exit 2, nothing written

    func testBadInputIsRefusedBeforeWork() throws {
        let ck = dir + "/ae.ckpt"
        _ = try ok(["autoencoder", "--epochs", "1", "--hidden", "8", "--save", ck, "--quiet", "--json"])
        let pal = dir + "/p.ckpt"
        _ = try ok(["train", "--hidden", "4", "--length", "3", "--steps", "2", "--batch", "4", "--save", pal, "--quiet", "--json"])
        try "not a file".write(toFile: dir + "/file", atomically: true, encoding: .utf8)
        let cases: [([String], String)] = [
            (["predict", "--checkpoint", dir + "/missing.ckpt", "--input", "1 2"], "missing.ckpt"),
            (["predict", "--checkpoint", pal, "--input", "1 x 3"], "'x'"),
            (["predict", "--checkpoint", pal, "--input", ""], "no digits"),
            (["predict", "--checkpoint", pal, "--index", "3"], "--index"),
            (["predict", "--checkpoint", ck, "--index", "2", "--out", dir + "/no/such/ae.png"], "does not exist"),
            (["predict", "--checkpoint", ck, "--index", "2", "--out", dir + "/file/ae.png"], "is a file"),
            (["predict", "--checkpoint", ck, "--index", "99999"], "--index 99999"),
            (["predict", "--checkpoint", ck, "--input", dir + "/file"], "not a readable PNG"),
            (["export", "--checkpoint", pal, "--out", dir + "/x.txt"], ".safetensors or .npz"),
            (["export", "--checkpoint", pal, "--out", dir + "/no/such/x.npz"], "does not exist"),
            (["export", "--checkpoint", dir + "/file", "--out", dir + "/x.npz"], "not a bptt checkpoint"),
            (["gan", "sample", "--checkpoint", pal, "--out", dir + "/s"], "gan sample takes"),
            (["gan", "sample", "--checkpoint", pal, "--out", dir + "/file"], "gan sample takes"),
            (["train", "--hidden", "4", "--steps", "2", "--init-from", dir + "/missing.safetensors"], "missing.safetensors"),
            (["train", "--task", "image-rows", "--init-from", dir + "/x.safetensors"], "--init-from"),
        ]
        for (args, needle) in cases {
            let r = try bptt(args)
            XCTAssertEqual(r.status, 2, "\(args): \(r.stderr)")
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, "\(args): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(needle), "\(args): expected '\(needle)' in \(r.stderr)")
            XCTAssertFalse(r.stderr.contains("NSCocoaErrorDomain"))
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/s"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/x.txt"))
    }

    /// Runs the binary with `stdin` as its standard input.
    func bpttWithInput(_ args: [String], stdin: String) throws -> Run {
        let p = Process()
        p.executableURL = bpttBinary
        p.arguments = args
        let inPipe = Pipe(), out = Pipe(), err = Pipe()
        p.standardInput = inPipe
        p.standardOutput = out
        p.standardError = err
        try p.run()
        inPipe.fileHandleForWriting.write(Data(stdin.utf8))
        try inPipe.fileHandleForWriting.close()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Run(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }
}
