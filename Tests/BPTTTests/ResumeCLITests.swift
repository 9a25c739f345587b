import BPTT
import Foundation
import XCTest

/// Checkpoints, exact resume, divergence and interrupts for every training command, on the real
/// binary at sizes that run in a second or two.
final class ResumeCLITests: XCTestCase, RunsBPTT {
    var dir: URL!

    override func setUpWithError() throws { dir = try scratchDirectory("resume-cli", test: self) }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    /// A small labelled CSV corpus (a sentiment word among filler; label 1 = positive).
    func corpus() throws -> String {
        var rng = RNG(seed: 7)
        let filler = "the a movie film plot actor scene story music very quite rather".split(separator: " ")
        var rows = ["text,label"]
        for _ in 0..<240 {
            let label = rng.int(below: 2)
            var words = (0..<(3 + rng.int(below: 18))).map { _ in String(filler[rng.int(below: filler.count)]) }
            words.insert(label == 1 ? "great" : "awful", at: rng.int(below: words.count + 1))
            rows.append(words.joined(separator: " ") + ",\(label)")
        }
        let p = path("corpus.csv")
        try (rows.joined(separator: "\n") + "\n").write(toFile: p, atomically: true, encoding: .utf8)
        return p
    }

    /// A training command: `args` start a run (all model flags); `resume` is the command without
    /// model flags; `unit` is the flag counting the run's length; `half` its value for the first half.
    struct Case {
        let name: String
        let args: [String]
        let resume: [String]
        let unit: String
        let half: Int
    }

    func cases() throws -> [Case] {
        let csv = try corpus()
        let gan = ["--samples", "20", "--judge-epochs", "1", "--quiet"]
        return [
            Case(name: "classify", args: ["classify", "--hidden", "16", "--quiet"], resume: ["classify", "--quiet"], unit: "epochs", half: 1),
            Case(name: "autoencoder", args: ["autoencoder", "--hidden", "16", "--mask", "random:0.3", "--quiet"],
                 resume: ["autoencoder", "--quiet"], unit: "epochs", half: 1),
            Case(name: "gan", args: ["gan", "--batch", "16", "--g-hidden", "24,32", "--d-hidden", "32,16", "--latent", "8", "--d-schedule", "seed"] + gan,
                 resume: ["gan"] + gan, unit: "steps", half: 6),
            Case(name: "image-rows", args: ["train", "--task", "image-rows", "--model", "gru", "--hidden", "8", "--batch", "32", "--quiet"],
                 resume: ["train", "--task", "image-rows", "--quiet"], unit: "epochs", half: 1),
            Case(name: "sentiment", args: ["train", "--task", "sentiment", "--data", csv, "--model", "lstm", "--bidirectional", "--hidden", "4",
                                           "--embedding-dim", "8", "--batch", "16", "--quiet"],
                 resume: ["train", "--task", "sentiment", "--quiet"], unit: "epochs", half: 1),
            Case(name: "curriculum", args: ["curriculum", "--model", "gru", "--lengths", "3,4", "--max-steps", "20", "--eval-every", "5",
                                            "--eval-size", "40", "--batch", "16", "--hidden", "8", "--optim", "rmsprop", "--quiet", "--out", path("cur")],
                 resume: ["curriculum", "--quiet", "--out", path("cur")], unit: "steps", half: 13),
        ]
    }

    /// N units, stop, resume N more == 2N straight: the two final checkpoints are the same bytes.
    /// A checkpoint of another command is refused with one line, exit 2, and nothing is written.
    func testEveryCommandResumesExactlyAndRefusesOtherCheckpoints() throws {
        let all = try cases()
        for c in all {
            let straight = path("\(c.name)-straight"), half = path("\(c.name)-half"), resumed = path("\(c.name)-resumed")
            let r1 = try bptt(c.args + ["--\(c.unit)", String(2 * c.half), "--save", straight])
            XCTAssertEqual(r1.status, 0, "\(c.name): \(r1.stderr)")
            let r2 = try bptt(c.args + ["--\(c.unit)", String(c.half), "--save", half])
            XCTAssertEqual(r2.status, 0, "\(c.name): \(r2.stderr)")
            let r3 = try bptt(c.resume + ["--resume", half, "--\(c.unit)", String(2 * c.half), "--save", resumed])
            XCTAssertEqual(r3.status, 0, "\(c.name): \(r3.stderr)")
            let a = try Data(contentsOf: URL(fileURLWithPath: straight)), b = try Data(contentsOf: URL(fileURLWithPath: resumed))
            XCTAssertEqual(a, b, "\(c.name): resumed run differs from the straight run")
            XCTAssertEqual(try Checkpoint.read(from: half).model, try Checkpoint.read(from: straight).model)
        }
        // Each command given the next one's checkpoint: one line naming the kind, exit 2, nothing written.
        for (i, c) in all.enumerated() {
            let other = all[(i + 1) % all.count]
            let out = path("\(c.name)-never")
            let r = try bptt(c.resume + ["--resume", path("\(other.name)-half"), "--\(c.unit)", "50", "--save", out])
            XCTAssertEqual(r.status, 2, "\(c.name) resuming \(other.name): \(r.stderr)")
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
            XCTAssertTrue(r.stderr.contains("checkpoint"), r.stderr)
            XCTAssertFalse(FileManager.default.fileExists(atPath: out), "\(c.name): wrote \(out)")
        }
        // A model flag given again must agree with the checkpoint; a target below it is refused.
        let conflict = try bptt(["classify", "--resume", path("classify-half"), "--hidden", "17", "--save", path("never")])
        XCTAssertEqual(conflict.status, 2)
        XCTAssertTrue(conflict.stderr.contains("--hidden"), conflict.stderr)
        let below = try bptt(["classify", "--resume", path("classify-straight"), "--epochs", "1"])
        XCTAssertEqual(below.status, 2)
        XCTAssertTrue(below.stderr.contains("--epochs"), below.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("never")))
    }

    /// --lr 1e9 on models that really blow up: exit 3, one line naming the step and what went
    /// non-finite, and the file at --save is the last good checkpoint: the one already there, or
    /// one saved (--save-every 1) before the failing step, with finite parameters.
    func testDivergenceExitsThreeAndKeepsTheLastGoodCheckpoint() throws {
        let csv = try corpus()
        let good = path("good.ckpt")
        XCTAssertEqual(try bptt(["classify", "--hidden", "16", "--epochs", "1", "--quiet", "--save", good]).status, 0)
        let goodBytes = try Data(contentsOf: URL(fileURLWithPath: good))
        let runs: [[String]] = [
            ["train", "--task", "image-rows", "--model", "rnn-relu", "--hidden", "8", "--epochs", "2"],
            ["train", "--task", "sentiment", "--data", csv, "--model", "rnn-relu", "--hidden", "8", "--epochs", "2"],
            ["classify", "--hidden", "64,64", "--dropout", "0", "--optim", "sgd", "--epochs", "2"],
            ["gan", "--batch", "16", "--g-hidden", "24,32", "--d-hidden", "32,16", "--latent", "8", "--optim", "sgd", "--steps", "30"],
            ["curriculum", "--model", "rnn-relu", "--lengths", "3,4", "--optim", "rmsprop", "--hidden", "8", "--batch", "16", "--out", path("cur")],
            ["sweep", "--models", "rnn-relu", "--lengths", "3,4", "--steps", "50", "--hidden", "8", "--batch", "16", "--out", path("sw")],
            ["gradflow", "--model", "rnn-relu", "--length", "4", "--steps", "50", "--hidden", "8", "--batch", "16", "--out", path("gf")],
        ]
        for args in runs {
            let target = path("diverged.ckpt")
            try goodBytes.write(to: URL(fileURLWithPath: target))
            let r = try bptt(args + ["--lr", "1e9", "--quiet", "--save", target, "--save-every", "1"])
            XCTAssertEqual(r.status, 3, "\(args[0]): \(r.stderr)")
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
            XCTAssertTrue(r.stderr.contains("step ") && r.stderr.contains("became NaN or infinite"), r.stderr)
            let failing = Int(r.stderr.split(separator: " ").drop { $0 != "step" }.dropFirst().first?.prefix { $0.isNumber } ?? "") ?? 0
            let kept = try Checkpoint.read(from: target)
            XCTAssertTrue(kept.tensors.allSatisfy { $0.value.isFinite }, args[0])
            XCTAssertTrue(try Data(contentsOf: URL(fileURLWithPath: target)) == goodBytes || kept.step < failing,
                          "\(args[0]): the checkpoint at step \(kept.step) is not from before the failing step \(failing)")
        }
    }

    /// Ctrl-C in the middle of an epoch saves a checkpoint between two batches and exits 130;
    /// resuming it gives the same parameters as a run that was never interrupted.
    func testInterruptMidEpochThenResumeMatchesAStraightRun() throws {
        let args = ["train", "--task", "image-rows", "--model", "lstm", "--hidden", "16", "--batch", "8", "--quiet"]
        let ckpt = path("interrupted.ckpt")
        let stopped = try bpttInterrupted(args + ["--epochs", "1000", "--save", ckpt], after: 1.0)
        XCTAssertEqual(stopped.status, 130, stopped.stdout)
        XCTAssertTrue(stopped.stdout.contains("interrupted at step"), stopped.stdout)
        let c = try Checkpoint.read(from: ckpt)
        XCTAssertGreaterThan(c.step, 0)
        let perEpoch = (1438 + 7) / 8   // built-in digits: 1,438 training images
        let epochs = c.step / perEpoch + 1
        let resumed = path("resumed.ckpt"), straight = path("straight.ckpt")
        let r = try bptt(["train", "--task", "image-rows", "--resume", ckpt, "--epochs", String(epochs), "--save", resumed, "--quiet"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try bptt(args + ["--epochs", String(epochs), "--save", straight]).status, 0)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: resumed)), try Data(contentsOf: URL(fileURLWithPath: straight)),
                       "interrupted at step \(c.step) and resumed to epoch \(epochs): differs from the straight run")
    }
}
