import Foundation
import XCTest

/// One flag vocabulary: the closest known flag for a typo, --version, whole-sentence summaries,
/// each task's defaults in --help, aliases, flags a model ignores refused, --quiet hiding progress only.
final class FlagVocabularyTests: XCTestCase, RunsBPTT {
    func testUnknownFlagNamesTheClosestKnownOne() throws {
        for (args, hint) in [(["train", "--hiden", "4"], "did you mean --hidden?"), (["sweep", "--model", "rnn", "--lenghts", "3"], "did you mean --lengths?"),
                             (["gan", "--stpes", "3"], "did you mean --steps?"), (["classify", "--epoch", "3"], "did you mean --epochs?")] {
            let r = try bptt(args)
            XCTAssertEqual(r.status, 2, r.stderr)
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
            XCTAssertTrue(r.stderr.contains(hint), "\(args): \(r.stderr)")
        }
        let far = try bptt(["train", "--zzzzzz", "1"])
        XCTAssertEqual(far.status, 2)
        XCTAssertFalse(far.stderr.contains("did you mean"), far.stderr)
    }

    func testVersionAndWholeSentenceSummaries() throws {
        let v = try bptt(["--version"])
        XCTAssertEqual(v.status, 0)
        XCTAssertTrue(v.stdout.hasPrefix("bptt "), v.stdout)
        let help = try bptt(["--help"])
        let lines = help.stdout.split(separator: "\n").drop { !$0.hasPrefix("commands:") }.dropFirst().prefix { $0.hasPrefix("  ") }
        XCTAssertGreaterThanOrEqual(lines.count, 11, help.stdout)
        for line in lines {
            XCTAssertTrue(line.hasSuffix("."), "not a whole sentence: \(line)")
            XCTAssertFalse(line.hasSuffix(":.") || line.hasSuffix(",."), "cut short: \(line)")
        }
    }

    func testTrainHelpGivesEachTasksDefaults() throws {
        let r = try bptt(["train", "--help"])
        XCTAssertEqual(r.status, 0)
        for text in ["palindrome  rnn, rmsprop lr 1e-3, hidden 128", "image-rows  lstm, adam lr 2e-3, hidden 64", "sentiment   lstm, adam lr 1e-2, hidden 10",
                     "hidden units (default: palindrome 128, image-rows 64, sentiment 10; other tasks: the defaults by task, below)"] {
            XCTAssertTrue(r.stdout.contains(text), "train --help lacks: \(text)")
        }
    }

    func testFlagsAModelDoesNotUseAreRefused() throws {
        for (args, flag) in [(["explain", "--model", "mlp", "--length", "5"], "--length"), (["explain", "--model", "mlp", "--no-h0"], "--no-h0"),
                             (["train", "--task", "image-rows", "--length", "5"], "--length")] {
            let r = try bptt(args)
            XCTAssertEqual(r.status, 2, "\(args): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(flag), r.stderr)
            XCTAssertEqual(r.stdout, "", "\(args): work started")
        }
    }

    /// A flag a run turned out not to use draws a warning (never silence).
    func testUnusedFlagIsWarned() throws {
        let r = try bptt(["gradcheck", "--model", "mlp", "--length", "5"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("warning: --length was given but gradcheck did not use it"), r.stderr)
        let used = try bptt(["gradcheck", "--model", "rnn", "--length", "3"])
        XCTAssertFalse(used.stderr.contains("warning"), used.stderr)
    }

    func testModelListAndAliases() throws {
        let dir = try scratchDirectory("alias", test: self)
        defer { try? FileManager.default.removeItem(at: dir) }
        let base = ["sweep", "--lengths", "3", "--steps", "2", "--hidden", "4", "--batch", "4", "--quiet", "--json", "--out", dir.path]
        let a = try bptt(base + ["--model", "rnn,gru"]), b = try bptt(base + ["--models", "rnn,gru"])
        XCTAssertEqual(a.status, 0, a.stderr)
        XCTAssertEqual(b.status, 0, b.stderr)
        XCTAssertEqual((try lastJSON(a)["results"] as? [[String: Any]])?.compactMap { $0["model"] as? String }, ["rnn", "gru"])
        XCTAssertEqual((try lastJSON(b)["results"] as? [[String: Any]])?.compactMap { $0["model"] as? String }, ["rnn", "gru"])
        // the curve rows say what they hold: means over the steps since the previous row
        let header = try String(contentsOfFile: dir.path + "/sweep_curves.csv", encoding: .utf8).split(separator: "\n").first
        XCTAssertEqual(header, "model,length,step,mean_loss_since_previous_row,mean_accuracy_since_previous_row")
        let both = try bptt(base + ["--model", "rnn", "--models", "gru"])
        XCTAssertEqual(both.status, 2, both.stderr)
        XCTAssertTrue(both.stderr.contains("--model"), both.stderr)
        // curriculum stops early with --stop-at, as sweep and gradflow do
        let c = try bptt(["curriculum", "--model", "rnn", "--lengths", "3,4", "--max-steps", "20", "--hidden", "4", "--batch", "4",
                          "--stop-at", "5", "--quiet", "--json", "--out", dir.path])
        XCTAssertEqual(c.status, 0, c.stderr)
        XCTAssertEqual(try lastJSON(c)["steps"] as? Int, 5)
        XCTAssertTrue(c.stdout.contains("stopped at --stop-at 5"), c.stdout)
    }

    /// --quiet hides progress only: the results and the --json line still print.
    func testQuietKeepsResults() throws {
        let dir = try scratchDirectory("quiet", test: self)
        defer { try? FileManager.default.removeItem(at: dir) }
        let cases: [([String], String)] = [
            (["train", "--steps", "30", "--hidden", "4", "--batch", "8", "--eval-size", "10"], "eval accuracy"),
            (["classify", "--epochs", "1", "--hidden", "8"], "test accuracy"),
            (["autoencoder", "--epochs", "1", "--hidden", "8", "--out", dir.path + "/ae"], "test masked-pixel MSE"),
            (["train", "--task", "image-rows", "--epochs", "1", "--hidden", "4"], "final test accuracy"),
            (["gan", "--steps", "2", "--g-hidden", "8", "--d-hidden", "8", "--judge-epochs", "1", "--samples", "10"], "confident"),
            (["curriculum", "--model", "rnn", "--lengths", "3", "--max-steps", "10", "--hidden", "4", "--batch", "4", "--eval-size", "10",
              "--out", dir.path + "/cur"], "longest length reached"),
        ]
        for (args, result) in cases {
            let r = try bptt(args + ["--quiet", "--json"])
            XCTAssertEqual(r.status, 0, "\(args): \(r.stderr)")
            XCTAssertTrue(r.stdout.contains(result), "\(args) --quiet hid the result: \(r.stdout)")
            XCTAssertNoThrow(try lastJSON(r), "\(args)")
            XCTAssertFalse(r.stdout.contains("ETA"), "\(args) --quiet printed progress: \(r.stdout)")
        }
    }
}
