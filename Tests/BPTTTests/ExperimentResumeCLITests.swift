import BPTT
import Foundation
import XCTest

/// Checkpoints of the multi-run experiments (`sweep`, `gradflow`): one file for the whole
/// experiment, holding the finished runs' results and the run in progress. On the real binary,
/// at sizes that run in well under a second.
final class ExperimentResumeCLITests: XCTestCase, RunsBPTT {
    var dir: URL!

    override func setUpWithError() throws { dir = try scratchDirectory("exp-resume", test: self) }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }
    func bytes(_ p: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: p)) }
    func text(_ p: String) throws -> String { try String(contentsOfFile: p, encoding: .utf8) }

    /// The last line (the --json summary) with every "seconds" value blanked: timings are the
    /// only numbers a resumed run may change (the finished runs' times are not saved).
    func numbers(_ r: Run) -> String {
        let last = r.stdout.split(separator: "\n").last.map(String.init) ?? ""
        return last.replacingOccurrences(of: #""seconds":[-0-9.e+]+"#, with: #""seconds":_"#, options: .regularExpression)
    }

    /// The CSV without its last column (sweep_summary.csv's seconds).
    func withoutLastColumn(_ csv: String) -> String {
        csv.split(separator: "\n").map { $0.split(separator: ",").dropLast().joined(separator: ",") }.joined(separator: "\n")
    }

    /// An experiment: `args` start it (every defining flag); `resume` is the command without them;
    /// `stops` are the --stop-at points tried (one at a run boundary, one inside a run, between two
    /// curve points); `files` its outputs compared byte for byte.
    struct Case {
        let name: String
        let args: [String]
        let resume: [String]
        let stops: [Int]
        let files: [String]
    }

    let sweep = Case(name: "sweep", args: ["sweep", "--models", "rnn,gru", "--lengths", "3,4", "--steps", "30", "--batch", "16", "--hidden", "8",
                                           "--log-every", "7", "--json", "--quiet"],
                     resume: ["sweep", "--json", "--quiet"], stops: [30, 45],
                     files: ["sweep_curves.csv", "sweep_eval_accuracy.svg", "sweep_T3.svg", "sweep_T4.svg"])
    let gradflow = Case(name: "gradflow", args: ["gradflow", "--model", "rnn,lstm,gru", "--length", "5", "--steps", "20", "--batch", "8",
                                                 "--hidden", "8", "--json"],
                        resume: ["gradflow", "--json"], stops: [20, 27],
                        files: ["gradflow.csv", "gradflow_init.svg", "gradflow_trained.svg"])

    /// Straight run == stopped (--stop-at) + --resume: same JSON numbers, same CSV and SVG files,
    /// and the same final checkpoint, byte for byte; the stopped run says it is unfinished.
    func testStoppedAndResumedExperimentsMatchAStraightRun() throws {
        for c in [sweep, gradflow] {
            let straight = try bptt(c.args + ["--out", path("\(c.name)-straight"), "--save", path("\(c.name)-straight.ckpt")])
            XCTAssertEqual(straight.status, 0, "\(c.name): \(straight.stderr)")
            XCTAssertEqual(try lastJSON(straight)["finished"] as? Bool, true)
            for stop in c.stops {
                let out = path("\(c.name)-\(stop)"), half = path("\(c.name)-\(stop).ckpt"), resumed = path("\(c.name)-\(stop)-resumed.ckpt")
                let first = try bptt(c.args + ["--out", out, "--save", half, "--stop-at", String(stop)])
                XCTAssertEqual(first.status, 0, "\(c.name) to \(stop): \(first.stderr)")
                XCTAssertEqual(try lastJSON(first)["finished"] as? Bool, false, "\(c.name) stopped at \(stop)")
                XCTAssertTrue(first.stdout.contains("stopped at --stop-at \(stop)"), first.stdout)
                let second = try bptt(c.resume + ["--resume", half, "--out", out, "--save", resumed, "--threads", "1"])
                XCTAssertEqual(second.status, 0, "\(c.name) from \(stop): \(second.stderr)")
                XCTAssertTrue(second.stdout.contains("resumed from \(half) at step \(stop)"), second.stdout)
                XCTAssertEqual(numbers(second), numbers(straight), "\(c.name) resumed at \(stop): JSON differs")
                for f in c.files {
                    XCTAssertEqual(try bytes(out + "/" + f), try bytes(path("\(c.name)-straight") + "/" + f), "\(c.name) resumed at \(stop): \(f) differs")
                }
                XCTAssertEqual(try bytes(resumed), try bytes(path("\(c.name)-straight.ckpt")), "\(c.name) resumed at \(stop): checkpoint differs")
            }
        }
        let summary = "/sweep_summary.csv"
        XCTAssertEqual(withoutLastColumn(try text(path("sweep-45") + summary)), withoutLastColumn(try text(path("sweep-straight") + summary)))
        XCTAssertEqual(try text(path("sweep-45") + summary).split(separator: "\n").count, 5)
    }

    /// A truncated, a corrupted, another command's and a mismatching checkpoint: exit 2, one line,
    /// nothing written (neither the output folder nor the --save file).
    func testBadCheckpointsAreRefusedWithOneLineAndNothingWritten() throws {
        for c in [sweep, gradflow] {
            XCTAssertEqual(try bptt(c.args + ["--out", path("\(c.name)-ok"), "--save", path("\(c.name).ckpt"), "--stop-at", String(c.stops[1])]).status, 0)
        }
        let good = try bytes(path("sweep.ckpt"))
        try good.prefix(good.count / 2).write(to: URL(fileURLWithPath: path("truncated.ckpt")))
        var flipped = good
        flipped[flipped.count - 9] ^= 0x10
        try flipped.write(to: URL(fileURLWithPath: path("corrupted.ckpt")))
        let cases: [([String], String)] = [
            (sweep.resume + ["--resume", path("truncated.ckpt")], "truncated"),
            (gradflow.resume + ["--resume", path("truncated.ckpt")], "truncated"),
            (sweep.resume + ["--resume", path("corrupted.ckpt")], "corrupted"),
            (gradflow.resume + ["--resume", path("corrupted.ckpt")], "corrupted"),
            (sweep.resume + ["--resume", path("gradflow.ckpt")], "'gradflow' run"),
            (gradflow.resume + ["--resume", path("sweep.ckpt")], "'sweep' run"),
            (sweep.resume + ["--resume", path("sweep.ckpt"), "--hidden", "9"], "--hidden 9"),
            (sweep.resume + ["--resume", path("sweep.ckpt"), "--lengths", "3"], "--lengths 3"),
            (gradflow.resume + ["--resume", path("gradflow.ckpt"), "--steps", "21"], "--steps 21"),
            (gradflow.resume + ["--resume", path("gradflow.ckpt"), "--stop-at", "26"], "--stop-at 26"),
        ]
        for (args, why) in cases {
            let r = try bptt(args + ["--out", path("never"), "--save", path("never.ckpt")])
            let what = "\(args.joined(separator: " ")): \(r.stderr)"
            XCTAssertEqual(r.status, 2, what)
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, what)
            XCTAssertTrue(r.stderr.contains(why), what)
            XCTAssertFalse(FileManager.default.fileExists(atPath: path("never")), what)
            XCTAssertFalse(FileManager.default.fileExists(atPath: path("never.ckpt")), what)
        }
    }

    /// Ctrl-C just after the first run has finished: exit 130, a checkpoint holding that run (and
    /// the second one in progress), and resuming it gives the straight run's JSON numbers.
    func testInterruptedSweepResumesToTheStraightResults() throws {
        let args = ["sweep", "--models", "rnn,gru", "--lengths", "3", "--steps", "3000", "--batch", "8", "--hidden", "8", "--log-every", "50"]
        let ckpt = path("interrupted.ckpt")
        // the first run's result line is printed (and flushed) when it finishes: then Ctrl-C,
        // while the second run (3,000 steps) is still going
        let r = try bpttInterrupted(args + ["--out", path("interrupted"), "--save", ckpt], whenPrinted: "T=3   eval accuracy")
        let seen = r.stdout
        XCTAssertEqual(r.status, 130, seen)
        XCTAssertTrue(seen.contains("interrupted at step"), seen)
        XCTAssertTrue(seen.contains("1 of 2 runs finished"), seen)
        XCTAssertEqual(try Checkpoint.read(from: ckpt).model, "sweep")
        let resumed = try bptt(["sweep", "--resume", ckpt, "--out", path("resumed"), "--json", "--quiet"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        let straight = try bptt(args + ["--out", path("straight"), "--json", "--quiet"])
        XCTAssertEqual(straight.status, 0, straight.stderr)
        XCTAssertEqual(numbers(resumed), numbers(straight))
        XCTAssertEqual(try bytes(path("resumed/sweep_curves.csv")), try bytes(path("straight/sweep_curves.csv")))
    }
}
