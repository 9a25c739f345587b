import Foundation
import BPTT
import XCTest

/// Runs the real `bptt` executable, built beside the test bundle.
final class CLITests: XCTestCase, RunsBPTT {
    func testBadFlagsGiveOneLineErrorAndExitTwo() throws {
        let cases: [([String], String)] = [
            (["train", "--steps", "abc"], "--steps"),
            (["train", "--bogus"], "--bogus"),
            (["train", "--length", "0"], "--length"),
            (["train", "--batch", "-3"], "--batch"),
            (["train", "--lr", "nan"], "--lr"),
            (["train", "--model", "transformer"], "--model"),
            (["train", "--steps"], "--steps"),
            (["gradcheck", "--stencil", "7"], "--stencil"),
            (["bench", "--hidden", "1.5"], "--hidden"),
            (["frobnicate"], "frobnicate"),
        ]
        for (args, name) in cases {
            let r = try bptt(args)
            XCTAssertEqual(r.status, 2, "\(args)")
            let lines = r.stderr.split(separator: "\n")
            XCTAssertEqual(lines.count, 1, "\(args): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(name), "\(args): error does not name \(name): \(r.stderr)")
        }
    }

    func testHelpForEveryCommand() throws {
        XCTAssertEqual(try bptt(["--help"]).status, 0)
        for c in ["train", "gradcheck", "bench"] {
            let r = try bptt([c, "--help"])
            XCTAssertEqual(r.status, 0)
            XCTAssertTrue(r.stdout.contains("usage: bptt \(c)"))
        }
    }

    func testTrainJSONAndLog() throws {
        let log = testTemporaryDirectory.appendingPathComponent("bptt-test-\(getpid()).csv")
        defer { try? FileManager.default.removeItem(at: log) }
        let r = try bptt(["train", "--length", "3", "--steps", "40", "--batch", "16", "--hidden", "8",
                          "--log", log.path, "--log-every", "10", "--json", "--eval-size", "50"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let j = try lastJSON(r)
        for key in ["model", "task", "length", "steps", "final_loss", "final_accuracy", "eval_accuracy", "examples_per_s", "seconds"] {
            XCTAssertNotNil(j[key], "missing \(key)")
        }
        XCTAssertEqual(j["steps"] as? Int, 40)
        let rows = try String(contentsOf: log, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(rows.first, "step,step_loss,mean_loss_since_previous_row,step_accuracy,mean_accuracy_since_previous_row,grad_norm,examples_per_s")
        XCTAssertEqual(rows.count, 5)   // header + steps 10, 20, 30, 40
    }

    func testSameSeedSameNumbersAnyThreadCount() throws {
        let args = ["train", "--length", "4", "--steps", "25", "--batch", "32", "--hidden", "16", "--json", "--quiet", "--eval-size", "64"]
        let a = try lastJSON(try bptt(args + ["--threads", "1"]))
        let b = try lastJSON(try bptt(args + ["--threads", "2"]))
        XCTAssertEqual(a["final_loss"] as? Double, b["final_loss"] as? Double)
        XCTAssertEqual(a["eval_accuracy"] as? Double, b["eval_accuracy"] as? Double)
        let c = try lastJSON(try bptt(args + ["--seed", "1"]))
        XCTAssertNotEqual(a["final_loss"] as? Double, c["final_loss"] as? Double)
    }

    func testGradcheckJSONAndDumpRecomputesTheLoss() throws {
        let dump = testTemporaryDirectory.appendingPathComponent("bptt-dump-\(getpid()).json")
        defer { try? FileManager.default.removeItem(at: dump) }
        for model in ["rnn", "rnn-relu"] {
            let r = try bptt(["gradcheck", "--model", model, "--json", "--dump", dump.path])
            XCTAssertEqual(r.status, 0, r.stdout)
            let j = try lastJSON(r)
            XCTAssertEqual(j["model"] as? String, model)
            XCTAssertLessThan(try XCTUnwrap(j["max_rel_error"] as? Double), 1e-7)
            XCTAssertEqual((j["tensors"] as? [String: Any])?.count, 7)

            // Recompute the dumped case's loss with an independent scalar implementation.
            let d = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: dump)) as? [String: Any])
            let (B, T, D, H, K) = (d["batch"] as! Int, d["length"] as! Int, d["input"] as! Int, d["hidden"] as! Int, d["classes"] as! Int)
            let params = d["parameters"] as! [String: [String: Any]]
            func t(_ n: String) -> [Double] { (params[n]!["data"] as! [NSNumber]).map(\.doubleValue) }
            let (Whx, Whh, bh, Wph, bp) = (t("W_hx"), t("W_hh"), t("b_h"), t("W_ph"), t("b_p"))
            XCTAssertEqual(params["W_hh"]!["shape"] as? [Int], [H, H])
            XCTAssertEqual(params["b_h"]!["shape"] as? [Int], [H])
            let x = d["inputs"] as! [[[NSNumber]]]
            let y = d["targets"] as! [Int]
            let h0 = d["h0"] as? [[NSNumber]]
            var loss = 0.0
            for b in 0..<B {
                var h = (0..<H).map { h0?[b][$0].doubleValue ?? 0 }
                for s in 0..<T {
                    var a = [Double](repeating: 0, count: H)
                    for i in 0..<H {
                        a[i] = bh[i]
                        for j in 0..<D { a[i] += Whx[i * D + j] * x[b][s][j].doubleValue }
                        for j in 0..<H { a[i] += Whh[i * H + j] * h[j] }
                    }
                    h = a.map { model == "rnn" ? Foundation.tanh($0) : max($0, 0) }
                }
                let p = (0..<K).map { k in bp[k] + (0..<H).reduce(0.0) { $0 + Wph[k * H + $1] * h[$1] } }
                let m = p.max()!
                loss += log(p.map { exp($0 - m) }.reduce(0, +)) - (p[y[b]] - m)
            }
            XCTAssertEqual(loss / Double(B), try XCTUnwrap(d["loss_value"] as? Double), accuracy: 1e-12)
        }
    }

    func testBenchJSON() throws {
        let r = try bptt(["bench", "--steps", "5", "--warmup", "1", "--hidden", "16", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let j = try lastJSON(r)
        XCTAssertEqual(j["model"] as? String, "rnn")
        XCTAssertGreaterThan(try XCTUnwrap(j["examples_per_s"] as? Double), 0)
    }
}

extension CLITests {
    func testDivergenceExitsThreeAndKeepsTheLastGoodCheckpoint() throws {
        let ckpt = testTemporaryDirectory.appendingPathComponent("bptt-nan-\(getpid()).ckpt").path
        defer { try? FileManager.default.removeItem(atPath: ckpt) }
        let r = try bptt(["train", "--model", "rnn-relu", "--lr", "1e9", "--steps", "100", "--batch", "16", "--hidden", "16",
                          "--quiet", "--save", ckpt, "--save-every", "1"])
        XCTAssertEqual(r.status, 3, r.stderr)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("step "), r.stderr)
        // the checkpoint on disk is a good one (finite parameters) and loads
        let c = try Checkpoint.read(from: ckpt)
        XCTAssertTrue(c.tensors.allSatisfy { $0.value.isFinite })
    }

    func testResumeFromTheCommandLineMatchesAStraightRun() throws {
        let dir = testTemporaryDirectory.appendingPathComponent("bptt-resume-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let base = ["train", "--model", "gru", "--length", "4", "--batch", "16", "--hidden", "8", "--optim", "adam", "--quiet", "--eval-size", "20"]
        XCTAssertEqual(try bptt(base + ["--steps", "20", "--save", dir.appendingPathComponent("straight").path]).status, 0)
        XCTAssertEqual(try bptt(base + ["--steps", "10", "--save", dir.appendingPathComponent("half").path]).status, 0)
        let r = try bptt(["train", "--resume", dir.appendingPathComponent("half").path, "--steps", "20", "--quiet",
                          "--save", dir.appendingPathComponent("resumed").path])
        XCTAssertEqual(r.status, 0, r.stderr)
        let a = try Checkpoint.read(from: dir.appendingPathComponent("straight").path)
        let b = try Checkpoint.read(from: dir.appendingPathComponent("resumed").path)
        XCTAssertEqual(a.step, 20)
        XCTAssertEqual(a, b)
        // --resume alone finds the task in the checkpoint (here the copy problem): the same run again
        let copy = ["train", "--task", "copy", "--length", "3", "--batch", "4", "--hidden", "8", "--quiet", "--eval-size", "8"]
        XCTAssertEqual(try bptt(copy + ["--steps", "6", "--save", dir.appendingPathComponent("copy-straight").path]).status, 0)
        XCTAssertEqual(try bptt(copy + ["--steps", "3", "--save", dir.appendingPathComponent("copy-half").path]).status, 0)
        let rc = try bptt(["train", "--resume", dir.appendingPathComponent("copy-half").path, "--steps", "6", "--quiet",
                           "--save", dir.appendingPathComponent("copy-resumed").path])
        XCTAssertEqual(rc.status, 0, rc.stderr)
        XCTAssertEqual(try Checkpoint.read(from: dir.appendingPathComponent("copy-straight").path),
                       try Checkpoint.read(from: dir.appendingPathComponent("copy-resumed").path))
        // a conflicting model flag and a damaged file are refused with one line, exit 2
        let conflict = try bptt(["train", "--resume", dir.appendingPathComponent("half").path, "--hidden", "9"])
        XCTAssertEqual(conflict.status, 2)
        XCTAssertTrue(conflict.stderr.contains("--hidden"), conflict.stderr)
        var bytes = try Data(contentsOf: dir.appendingPathComponent("half"))
        bytes[bytes.count - 5] ^= 0xFF
        try bytes.write(to: dir.appendingPathComponent("bad"))
        let bad = try bptt(["train", "--resume", dir.appendingPathComponent("bad").path, "--steps", "20"])
        XCTAssertEqual(bad.status, 2)
        XCTAssertTrue(bad.stderr.contains("checksum"), bad.stderr)
    }

    func testInterruptSavesACheckpointAndExitsCleanly() throws {
        let ckpt = testTemporaryDirectory.appendingPathComponent("bptt-int-\(getpid()).ckpt").path
        defer { try? FileManager.default.removeItem(atPath: ckpt) }
        let r = try bpttInterrupted(["train", "--steps", "1000000", "--hidden", "16", "--batch", "16", "--save", ckpt], after: 1.5)
        XCTAssertEqual(r.status, 130)
        XCTAssertTrue(r.stdout.contains("interrupted at step"), r.stdout)
        let c = try Checkpoint.read(from: ckpt)
        XCTAssertGreaterThan(c.step, 0)
    }
}
