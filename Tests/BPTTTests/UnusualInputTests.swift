import BPTT
import Foundation
import XCTest

/// Inputs a new user brings: tiny data sets, text files from other systems (byte-order mark,
/// CR or CRLF line ends, a tab inside a review, unquoted commas), word2vec-style vectors, ReLU
/// stacks near a kink, changed flags on --resume, a mask that hides nothing, dropout with one level.
/// Each is refused with one line naming the thing and the cause (exit 2), read correctly, or
/// warned about; never a trap, a silent loss or a NaN in a printed figure.
final class UnusualInputTests: XCTestCase, RunsBPTT {
    var dir: URL!

    override func setUpWithError() throws { dir = try scratchDirectory("unusual", test: self) }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        let p = path(name)
        try Data(bytes).write(to: URL(fileURLWithPath: p))
        return p
    }

    func write(_ name: String, _ text: String) throws -> String { try write(name, Array(text.utf8)) }

    func inputError(_ body: () throws -> Void, _ fragments: [String], file: StaticString = #filePath, line: UInt = #line) {
        do {
            try body()
            XCTFail("expected an input error containing \(fragments)", file: file, line: line)
        } catch let e as BPTTError {
            XCTAssertEqual(e.exitCode, 2, "\(e)", file: file, line: line)
            for f in fragments { XCTAssertTrue(e.description.contains(f), "'\(e.description)' lacks '\(f)'", file: file, line: line) }
            XCTAssertFalse(e.description.contains("\n"), "one line: \(e.description)", file: file, line: line)
        } catch {
            XCTFail("unexpected error \(error)", file: file, line: line)
        }
    }

    /// One clean line on stderr with every fragment, exit 2, nothing on stdout.
    func refused(_ r: Run, _ fragments: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(r.status, 2, r.stderr, file: file, line: line)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr, file: file, line: line)
        for f in fragments { XCTAssertTrue(r.stderr.contains(f), "'\(r.stderr)' lacks '\(f)'", file: file, line: line) }
        XCTAssertEqual(r.stdout, "", file: file, line: line)
    }

    /// A folder holding one IDX images/labels pair of `n` images of h×w.
    func idxFolder(_ name: String, n: Int, height: Int, width: Int, pixel: (Int) -> UInt8 = { UInt8($0 * 37 % 256) }) throws -> String {
        let d = path(name)
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        let images = IDXArray.encode(dims: [n, height, width], bytes: (0..<(n * height * width)).map(pixel))
        let labels = IDXArray.encode(dims: [n], bytes: (0..<n).map { UInt8($0 % 3) })
        try Data(images).write(to: URL(fileURLWithPath: d + "/all-images-idx3-ubyte"))
        try Data(labels).write(to: URL(fileURLWithPath: d + "/all-labels-idx1-ubyte"))
        return d
    }

    // MARK: 1. a split too small

    func testOneImageIsRefusedByEverySplittingCommand() throws {
        let one = try idxFolder("one", n: 1, height: 6, width: 6)
        inputError({ _ = try ImageData.load(one) }, [one, "1 image: too few to split into train and test"])
        let runs: [[String]] = [
            ["autoencoder", "--data", one, "--epochs", "1", "--hidden", "8"],
            ["gan", "--data", one, "--steps", "3", "--batch", "4", "--g-hidden", "8", "--d-hidden", "8", "--latent", "4", "--judge-epochs", "1"],
            ["classify", "--data", one, "--epochs", "1", "--hidden", "8"],
            ["train", "--task", "image-rows", "--data", one, "--epochs", "1", "--hidden", "4"],
        ]
        for args in runs { refused(try bptt(args), [one, "1 image: too few to split into train and test"]) }
        // two images are enough: one to train on, one to test (a batch larger than the set is fine)
        let two = try idxFolder("two", n: 2, height: 6, width: 6)
        let r = try bptt(["gan", "--data", two, "--steps", "3", "--batch", "4", "--g-hidden", "8", "--d-hidden", "8", "--latent", "4",
                          "--judge-epochs", "1", "--samples", "10", "--quiet"])
        XCTAssertEqual(r.status, 0, r.stderr)
        // text: a corpus of one row
        let csv = try write("one.csv", "text,label\ngood film,1\n")
        inputError({ _ = try TextCorpus.load(csv) }, [csv, "1 row: too few to split into train and test"])
        refused(try bptt(["train", "--task", "sentiment", "--data", csv, "--epochs", "1"]), [csv, "too few to split"])
    }

    // MARK: 2. kinks in stacked and bidirectional ReLU checks

    /// Every stacked or bidirectional ReLU shape passes over 20 seeds: cases are drawn away from
    /// the kink at every level and direction, and a nudge that still flips a unit is seen and handled.
    func testStackedAndBidirectionalReLUChecksHandleKinks() {
        let shapes: [(layers: Int, bidirectional: Bool, h0: Bool)] = [(2, false, true), (3, false, true), (1, true, true),
                                                                       (2, true, true), (3, true, true), (3, true, false)]
        for shape in shapes {
            var failing: [UInt64] = []
            for seed in UInt64(0)..<20 {
                var spec = SequenceCheckSpec(model: .rnnReLU)
                spec.layers = shape.layers
                spec.bidirectional = shape.bidirectional
                spec.withH0 = shape.h0
                spec.seed = seed
                if SequenceGradientCheck.run(spec).results.contains(where: { !$0.passed }) { failing.append(seed) }
            }
            XCTAssertEqual(failing, [], "rnn-relu layers \(shape.layers)\(shape.bidirectional ? " bidirectional" : "")\(shape.h0 ? "" : " no-h0"): seeds failing")
        }
    }

    /// The noise floor of the relative error follows the step: a few ulps of L over ε. At the default
    /// step an absolute difference of 3e-12 on a zero gradient is a real disagreement (a term of 1e-12
    /// would not be noise there); at ε = 1e-4, after shrinking at a kink, it is the noise level.
    func testRelativeErrorFloorGrowsAsTheStepShrinks() {
        XCTAssertGreaterThan(GradientCheck.relativeError(0, 2.96e-12), GradientCheck.threshold)
        XCTAssertLessThan(GradientCheck.relativeError(0, 2.96e-12, step: 1e-4), GradientCheck.threshold)
        XCTAssertEqual(GradientCheck.relativeError(0.5, 0.5 + 1e-9, step: 1e-5), GradientCheck.relativeError(0.5, 0.5 + 1e-9), accuracy: 0)
        XCTAssertEqual(GradientCheck.relativeError(0, 1e-12, step: 1e-2), GradientCheck.relativeError(0, 1e-12), accuracy: 0)
    }

    /// The drawn case keeps every pre-activation of every unit away from 0, and the loss reports
    /// the activation pattern of every level (a nudge across a kink changes it).
    func testReLUStackCaseIsDrawnAwayFromTheKinkAndReportsItsPattern() {
        var spec = SequenceCheckSpec(model: .rnnReLU)
        spec.layers = 3
        spec.bidirectional = true
        spec.seed = 0   // a seed that straddled a kink of an upper reverse level before
        let c = SequenceCheckCase(spec) { RNN<Double>(inputSize: $0, hiddenSize: spec.hidden, activation: .relu) }
        XCTAssertTrue(c.hasReLU)
        XCTAssertGreaterThan(c.minPreActivationMagnitude(), 1e-3)
        let base = c.evaluate(params: c.params, xs: c.xs, h0s: c.h0s, c0s: c.c0s)
        XCTAssertNotEqual(base.pattern, 0)
        // a large push on the top reverse unit's bias switches some unit off: the pattern changes
        var p = c.params
        let top = p.stack.units.count - 1
        for i in 0..<p.stack.units[top].b_h.count { p.stack.units[top].b_h.data[i] -= 100 }
        XCTAssertNotEqual(c.evaluate(params: p, xs: c.xs, h0s: c.h0s, c0s: c.c0s).pattern, base.pattern)
        // smooth cells are unchanged: no pattern
        var lstm = SequenceCheckSpec(model: .lstm)
        lstm.layers = 2
        let l = SequenceCheckCase(lstm) { LSTM<Double>(inputSize: $0, hiddenSize: lstm.hidden) }
        XCTAssertEqual(l.evaluate(params: l.params, xs: l.xs, h0s: l.h0s, c0s: l.c0s).pattern, 0)
    }

    // MARK: 4. rows with more fields than the header

    func testRowsWithMoreFieldsThanTheHeaderAreRefusedNamingTheRow() throws {
        let bytes = Array("label,text\n1,a fine film\n0,the film was long, and yet awful\n".utf8)
        inputError({ _ = try TextCorpus.parseTable(bytes, source: "extra.csv") },
                   ["extra.csv", "row 3 has 3 fields, the header has 2", "double quotes"])
        let tsv = Array("text\tlabel\ngood\t1\t\textra\n".utf8)
        inputError({ _ = try TextCorpus.parseTable(tsv, source: "extra.tsv") }, ["row 2 has 4 fields", "tab"])
        // quoted, the comma stays in the text
        let quoted = try TextCorpus.parseTable(Array("label,text\n0,\"the film was long, and yet awful\"\n".utf8), source: "q.csv")
        XCTAssertEqual(quoted, [LabelledText(text: "the film was long, and yet awful", label: 0)])
        refused(try bptt(["train", "--task", "sentiment", "--data", try write("extra.csv", bytes), "--epochs", "1"]), ["row 3 has 3 fields"])
    }

    // MARK: 5. byte-order mark, CR, CRLF

    func testByteOrderMarkAndEveryLineEndReadTheSame() throws {
        let rows = [("a good film", 1), ("a bad\tfilm", 0), ("fine, really", 1)]
        let expected = rows.map { LabelledText(text: $0.0, label: $0.1) }
        let body = ["text,label"] + rows.map { "\"\($0.0)\",\($0.1)" }
        for (name, end) in [("LF", "\n"), ("CRLF", "\r\n"), ("CR", "\r")] {
            for bom in [false, true] {
                let text = (bom ? "\u{FEFF}" : "") + body.joined(separator: end) + end
                let got = try TextCorpus.parseTable(Array(text.utf8), source: "\(name).csv")
                XCTAssertEqual(got, expected, "\(name)\(bom ? " with BOM" : "")")
            }
        }
        // TSV with CRLF: the separator comes from the header line
        let tsv = try TextCorpus.parseTable(Array("\u{FEFF}text\tlabel\r\ngood one\t1\r\nbad one\t0\r\n".utf8), source: "t.tsv")
        XCTAssertEqual(tsv, [LabelledText(text: "good one", label: 1), LabelledText(text: "bad one", label: 0)])
        // a folder of reviews saved with a BOM and CRLF
        let root = path("reviews")
        for (split, sub) in [("train", "pos"), ("train", "neg"), ("test", "pos"), ("test", "neg")] {
            try FileManager.default.createDirectory(atPath: "\(root)/\(split)/\(sub)", withIntermediateDirectories: true)
            try Data(Array("\u{FEFF}Great film.\r\nReally.\r\n".utf8)).write(to: URL(fileURLWithPath: "\(root)/\(split)/\(sub)/1.txt"))
        }
        let folder = try TextCorpus.load(root)
        XCTAssertEqual(Tokenizer.tokenize(folder.train[0].text), ["great", "film", "really"])
        XCTAssertFalse(folder.train[0].text.unicodeScalars.contains("\u{FEFF}"))
    }

    // MARK: 6. word vectors

    func testWordVectorsReadWord2VecHeaderCRLFAndNameTheLine() throws {
        let v = Vocabulary(texts: [["good", "bad", "film"]], maxWords: 10)
        func load(_ text: String) throws -> (matrix: Matrix<Float>, found: Int) {
            var rng = RNG(seed: 1)
            return try WordVectors.read(try write("v.txt", text), vocabulary: v, rng: &rng)
        }
        let plain = try load("good 1 2 3\nbad -1 -2 -3\n")
        for text in ["2 3\ngood 1 2 3\nbad -1 -2 -3\n", "good 1 2 3\r\nbad -1 -2 -3\r\n", "\u{FEFF}2 3\r\ngood 1 2 3\r\n\r\nbad\t-1 -2 -3\r\n",
                     "good 1 2 3\rbad -1 -2 -3\r"] {
            let got = try load(text)
            XCTAssertEqual(got.matrix, plain.matrix, text.debugDescription)
            XCTAssertEqual(got.found, 2)
        }
        let p = path("v.txt")
        inputError({ _ = try load("good 1 2 3\r\nbad 1 x 3\r\n") }, [p, "line 2", "'x' is not a finite number"])
        inputError({ _ = try load("good 1 2 3\n\nbad 1 2\n") }, [p, "line 3 has 2 numbers", "ragged"])
        inputError({ _ = try load("2 50\ngood 1 2 3\n") }, [p, "line 1", "word2vec header", "50 numbers", "next line has 3"])
        inputError({ _ = try load("2 3\n") }, [p, "no vectors"])
    }

    // MARK: 3. changed flags on --resume

    /// Every flag that shapes a palindrome run, given with --resume at another value, is refused
    /// naming the flag and both values; --threads and --eval-size apply.
    func testResumedPalindromeRunRefusesChangedFlagsAndAppliesTheRest() throws {
        let ckpt = path("a.ckpt")
        let base = ["train", "--model", "lstm", "--length", "5", "--batch", "16", "--hidden", "16"]
        XCTAssertEqual(try bptt(base + ["--steps", "10", "--save", ckpt, "--quiet"]).status, 0)
        let changed: [([String], String)] = [
            (["--lr", "0.05"], "--lr 0.05 differs from the checkpoint's 0.001"), (["--clip", "1"], "--clip 1.0 differs from the checkpoint's 10.0"),
            (["--truncate", "2"], "--truncate 2 differs"), (["--weight-decay", "0.1"], "--weight-decay 0.1 differs"),
            (["--init", "xavier"], "--init xavier differs from the checkpoint's pytorch"), (["--seed", "3"], "--seed 3 differs from the checkpoint's 0"),
            (["--dropout", "0.2"], "--dropout 0.2 differs"), (["--forget-bias-one"], "--forget-bias-one true differs from the checkpoint's false"),
            (["--momentum", "0.5"], "--momentum 0.5 differs"), (["--beta1", "0.5"], "--beta1 0.5 differs"),
            (["--optim", "adam"], "--optim adam differs"), (["--bidirectional"], "--bidirectional true differs"),
        ]
        for (flags, message) in changed {
            refused(try bptt(base + ["--steps", "20", "--resume", ckpt] + flags), [message, ckpt])
        }
        // the same value again is accepted; --eval-size and --threads apply (and are printed)
        let r = try bptt(base + ["--steps", "20", "--resume", ckpt, "--lr", "0.001", "--eval-size", "37", "--threads", "1"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("on 37 fresh palindromes"), r.stdout)
        XCTAssertTrue(r.stdout.contains("resumed from \(ckpt) at step 10, its configuration; threads 1, eval size 37"), r.stdout)
    }

    // MARK: 7. a divergence message names only a checkpoint this run wrote

    func testDivergenceNamesOnlyACheckpointThisRunWrote() throws {
        let target = path("x.ckpt")
        let diverge = ["train", "--model", "rnn-relu", "--lr", "1e9", "--steps", "100", "--quiet", "--save", target]
        var r = try bptt(diverge)
        XCTAssertEqual(r.status, 3, r.stderr)
        XCTAssertFalse(r.stderr.contains("stays in"), r.stderr)
        XCTAssertTrue(r.stderr.contains("no checkpoint was written to \(target)"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: target))
        // another run's checkpoint at that path: untouched, and not called this run's last good checkpoint
        XCTAssertEqual(try bptt(["train", "--length", "3", "--steps", "2", "--hidden", "4", "--batch", "4", "--eval-size", "10", "--quiet",
                                 "--save", target]).status, 0)
        let other = try Data(contentsOf: URL(fileURLWithPath: target))
        r = try bptt(diverge)
        XCTAssertEqual(r.status, 3, r.stderr)
        XCTAssertFalse(r.stderr.contains("stays in"), r.stderr)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: target)), other)
        // a file that is not a checkpoint is not replaced by one, before any work
        let notes = try write("notes.ckpt", "another run's notes")
        r = try bptt(Array(diverge.dropLast()) + [notes])
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertEqual(try String(contentsOfFile: notes, encoding: .utf8), "another run's notes")
        // a checkpoint this run wrote is named, with where it was taken
        r = try bptt(diverge + ["--save-every", "1"])
        XCTAssertEqual(r.status, 3, r.stderr)
        XCTAssertTrue(r.stderr.contains("the last good checkpoint, from step 1, stays in \(target)"), r.stderr)
        XCTAssertEqual(try Checkpoint.read(from: target).step, 1)
        // an image command the same way (no --save-every: nothing written)
        let c = try bptt(["classify", "--hidden", "64,64", "--dropout", "0", "--optim", "sgd", "--lr", "1e9", "--epochs", "2", "--quiet",
                          "--save", path("c.ckpt")])
        XCTAssertEqual(c.status, 3, c.stderr)
        XCTAssertTrue(c.stderr.contains("no checkpoint was written"), c.stderr)
    }

    // MARK: 8. a mask that hides nothing; no NaN in printed figures

    func testMaskThatHidesNothingIsRefusedAndNoFigurePrintsNaN() throws {
        let thin = try idxFolder("thin", n: 10, height: 6, width: 1)
        refused(try bptt(["autoencoder", "--data", thin, "--mask", "left-half", "--epochs", "1", "--hidden", "4"]),
                ["--mask left-half", "hides no pixel", "6×1"])
        XCTAssertEqual(try bptt(["autoencoder", "--data", thin, "--mask", "right-half", "--epochs", "1", "--hidden", "4", "--quiet"]).status, 0)
        // blank images: every baseline is 0, so the improvement over the mean image is 0/0
        let blank = try idxFolder("blank", n: 6, height: 4, width: 4, pixel: { _ in 0 })
        let r = try bptt(["autoencoder", "--data", blank, "--epochs", "1", "--hidden", "4"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertFalse(r.stdout.replacingOccurrences(of: blank, with: "DATA").lowercased().contains("nan"), r.stdout)
        XCTAssertTrue(r.stdout.contains("(n/a below the mean-image baseline)"), r.stdout)
    }

    // MARK: 9. dropout with one level

    func testDropoutWithOneLevelWarns() throws {
        let run = ["train", "--model", "lstm", "--length", "3", "--steps", "3", "--batch", "8", "--hidden", "4", "--eval-size", "10", "--quiet"]
        let r = try bptt(run + ["--dropout", "0.99"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stderr, "bptt: warning: --dropout 0.99 acts between stacked levels; with --layers 1 there is none, so it changes nothing (use --layers 2 or more)\n")
        let two = try bptt(run + ["--dropout", "0.5", "--layers", "2"])
        XCTAssertEqual(two.status, 0, two.stderr)
        XCTAssertEqual(two.stderr, "")
        let classify = try bptt(["classify", "--hidden", "none", "--dropout", "0.3", "--epochs", "1", "--quiet"])
        XCTAssertEqual(classify.status, 0, classify.stderr)
        XCTAssertTrue(classify.stderr.contains("warning: --dropout 0.3 acts on hidden layers"), classify.stderr)
    }

    // MARK: vectors by name

    func testVectorsByNameNeedTheInstallAndCoverageIsPrinted() throws {
        let csv = try write("c.csv", "text,label\n" + (0..<20).map { "\($0 % 2 == 0 ? "good" : "bad") film number\($0),\(($0 + 1) % 2)" }.joined(separator: "\n") + "\n")
        let vec = try write("v.txt", "2 3\r\ngood 1 2 3\r\nfilm 0 1 0\r\n")
        let r = try bptt(["train", "--task", "sentiment", "--data", csv, "--vectors", vec, "--epochs", "1", "--hidden", "2", "--batch", "4"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("vectors \(vec): 2 of "), r.stdout)
        if !FileManager.default.fileExists(atPath: NSHomeDirectory() + "/.local/share/bptt/glove-6b-50d/glove.6B.50d.txt") {
            refused(try bptt(["train", "--task", "sentiment", "--vectors", "glove-50d", "--epochs", "1"]), ["--vectors glove-50d", "make data-glove"])
        }
    }
}
