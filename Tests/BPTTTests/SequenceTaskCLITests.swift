import BPTT
import Foundation
import XCTest

/// `bptt train --task image-rows|sentiment` end to end at tiny sizes: the --json contract, the
/// curves written by --out, and both corpus layouts.
final class SequenceTaskCLITests: XCTestCase, RunsBPTT {
    var dir: URL!

    override func setUpWithError() throws { dir = try scratchDirectory("seqtask", test: self) }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    static let jsonKeys = ["model", "task", "epochs", "train_loss", "test_accuracy", "examples_per_s", "seconds"]

    func checkJSON(_ r: Run, model: String, task: String, epochs: Int) throws {
        XCTAssertEqual(r.status, 0, r.stderr)
        let j = try lastJSON(r)
        for key in Self.jsonKeys { XCTAssertNotNil(j[key], "\(task): missing \(key)") }
        XCTAssertEqual(j["model"] as? String, model)
        XCTAssertEqual(j["task"] as? String, task)
        XCTAssertEqual(j["epochs"] as? Int, epochs)
        let loss = try XCTUnwrap(j["train_loss"] as? Double), acc = try XCTUnwrap(j["test_accuracy"] as? Double)
        XCTAssertTrue(loss.isFinite && loss > 0, "\(loss)")
        XCTAssertTrue((0...1).contains(acc), "\(acc)")
        XCTAssertGreaterThan(try XCTUnwrap(j["examples_per_s"] as? Double), 0)
        XCTAssertGreaterThan(try XCTUnwrap(j["seconds"] as? Double), 0)
    }

    func testImageRowsJSONAndCurves() throws {
        let out = dir.appendingPathComponent("curves").path
        let r = try bptt(["train", "--task", "image-rows", "--model", "rnn-relu", "--hidden", "8", "--epochs", "2", "--batch", "64",
                          "--quiet", "--json", "--out", out])
        try checkJSON(r, model: "rnn-relu", task: "image-rows", epochs: 2)
        let rows = try String(contentsOfFile: out + "/curves.csv", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(rows.first, "epoch,train_loss,train_accuracy,test_accuracy")
        XCTAssertEqual(rows.count, 3)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/curves.svg"))
        // the confusion matrix: 10×10 over the 359 test digits, its diagonal the reported accuracy
        let j = try lastJSON(r)
        let m = try XCTUnwrap(j["confusion_matrix"] as? [[Int]])
        XCTAssertEqual(m.count, 10)
        XCTAssertEqual(m.flatMap { $0 }.reduce(0, +), 359)
        let diagonal = (0..<10).map { m[$0][$0] }.reduce(0, +)
        XCTAssertEqual(Double(diagonal) / 359, try XCTUnwrap(j["test_accuracy"] as? Double), accuracy: 1e-12)
        XCTAssertTrue(r.stdout.contains("confusion matrix (rows: true class, columns: predicted class)"))
        if diagonal < 359 {
            XCTAssertEqual(j["misclassified_png"] as? String, out + "/misclassified.png")
            XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/misclassified.png"))
        }
    }

    /// The same tiny corpus as a CSV file and as the Large Movie Review folder layout.
    func testSentimentJSONFromCSVAndFolderLayout() throws {
        var rng = RNG(seed: 11)
        let filler = "the a movie film plot actor scene story music".split(separator: " ")
        func review(_ label: Int) -> String {
            var words = (0..<(2 + rng.int(below: 12))).map { _ in String(filler[rng.int(below: filler.count)]) }
            words.insert(label == 1 ? "great" : "awful", at: rng.int(below: words.count + 1))
            return words.joined(separator: " ")
        }
        var csv = ["review\tsentiment"]
        for _ in 0..<120 { let l = rng.int(below: 2); csv.append(review(l) + "\t" + (l == 1 ? "pos" : "neg")) }
        let tsv = dir.appendingPathComponent("corpus.tsv").path
        try (csv.joined(separator: "\n") + "\n").write(toFile: tsv, atomically: true, encoding: .utf8)
        let root = dir.appendingPathComponent("aclImdb")
        for split in ["train", "test"] {
            for (sub, label) in [("pos", 1), ("neg", 0)] {
                let d = root.appendingPathComponent("\(split)/\(sub)")
                try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
                for i in 0..<(split == "train" ? 40 : 10) {
                    try (review(label) + "<br /><br />").write(to: d.appendingPathComponent("\(i)_7.txt"), atomically: true, encoding: .utf8)
                }
            }
        }
        for (data, model, extra) in [(tsv, "gru", [String]()), (root.path, "lstm", ["--bidirectional"])] {
            let r = try bptt(["train", "--task", "sentiment", "--data", data, "--model", model, "--hidden", "4", "--embedding-dim", "8",
                              "--epochs", "2", "--batch", "16", "--quiet", "--json"] + extra)
            try checkJSON(r, model: model, task: "sentiment", epochs: 2)
            // 2×2 confusion over the 20 test reviews (folder) or the held-out part of the file
            let j = try lastJSON(r), m = try XCTUnwrap(j["confusion_matrix"] as? [[Int]])
            XCTAssertEqual(m.count, 2)
            let total = m.flatMap { $0 }.reduce(0, +)
            XCTAssertEqual(Double(m[0][0] + m[1][1]) / Double(total), try XCTUnwrap(j["test_accuracy"] as? Double), accuracy: 1e-12)
            if data == root.path { XCTAssertEqual(total, 20) }
        }
    }
}
