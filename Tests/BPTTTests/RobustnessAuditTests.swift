import BPTT
import Foundation
import XCTest

/// Bad input that once crashed the tool, hung it or destroyed files: each case ends in one line on
/// stderr naming the flag or file and the cause, exit 2, and leaves every file as it was.
final class RobustnessAuditTests: XCTestCase, RunsBPTT {
    func refused(_ args: [String], _ text: String, environment: [String: String] = [:], file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try bptt(args, environment: environment)
        XCTAssertEqual(r.status, 2, "\(args): \(r.stdout)\(r.stderr)", file: file, line: line)
        XCTAssertTrue(r.stderr.contains(text), "\(args): '\(r.stderr)' should say '\(text)'", file: file, line: line)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, "\(args): one line, not \(r.stderr)", file: file, line: line)
    }

    /// A one-character output name (Foundation's deletingLastPathComponent trapped on it).
    func testOneCharacterOutputNames() throws {
        let dir = try scratchDirectory("onechar", test: self)
        let cwd = FileManager.default.currentDirectoryPath
        FileManager.default.changeCurrentDirectoryPath(dir.path)
        defer { FileManager.default.changeCurrentDirectoryPath(cwd) }
        let r = try bptt(["gradcheck", "--length", "2", "--hidden", "2", "--dump", "a"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent("a").path))
        let s = try bptt(["sweep", "--model", "rnn", "--lengths", "3", "--steps", "2", "--hidden", "4", "--batch", "4", "--quiet", "--out", "q"])
        XCTAssertEqual(s.status, 0, s.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent("q").path))
    }

    /// Sizes beyond memory are refused before they are allocated (BPTT_MEMORY_LIMIT stands in
    /// for a smaller machine): a 2,000×2,000 W_hh is 16 MB, over a 10 MB limit.
    func testSizesBeyondMemoryAreRefused() throws {
        let small = ["BPTT_MEMORY_LIMIT": "10000000"]
        try refused(["train", "--length", "3", "--steps", "1", "--hidden", "2000", "--batch", "4", "--eval-size", "10", "--quiet"],
                    "--hidden 2000, --batch 4, --length 3: the run needs about 128.9 MB", environment: small)
        try refused(["classify", "--hidden", "2000,2000", "--epochs", "1", "--quiet"],
                    "a 2000×2000 matrix (16.0 MB) is larger than this machine's memory (10.0 MB)", environment: small)
        // the whole run before anything is made: 400 steps × 512 rows × (1 + 8 × 16) × 4 bytes = 105.7 MB of caches,
        // and an LSTM whose four gate matrices each fit but not together
        try refused(["train", "--length", "400", "--steps", "1", "--hidden", "16", "--batch", "512", "--eval-size", "10", "--quiet"],
                    "--hidden 16, --batch 512, --length 400: the run needs about 105.7 MB", environment: ["BPTT_MEMORY_LIMIT": "50000000"])
        try refused(["train", "--model", "lstm", "--hidden", "1000", "--steps", "1", "--quiet"], "the run needs about", environment: small)
        // the step caches, all T of them, before the first is made, where no run-wide estimate is made (the text model)
        try refused(["train", "--task", "text", "--length", "400", "--steps", "1", "--hidden", "16", "--layers", "1", "--batch", "512", "--quiet"],
                    "T = 400 steps of B = 256 rows", environment: ["BPTT_MEMORY_LIMIT": "50000000"])
        // a line break in a path stays one line
        try refused(["train", "--resume", "no\nsuch.ckpt"], "no\\nsuch.ckpt")
        try refused(["train", "--eval-size", "9999999999"], "--eval-size: 9999999999 is above the maximum")
    }

    /// A checkpoint whose checksum is right but whose settings no run can have (written or edited by hand).
    func testCheckpointSettingsOutOfRange() throws {
        let dir = try scratchDirectory("ckrange", test: self)
        let good = dir.appendingPathComponent("rnn.ckpt").path
        XCTAssertEqual(try bptt(["train", "--length", "3", "--steps", "2", "--hidden", "4", "--batch", "4", "--eval-size", "10", "--quiet", "--save", good]).status, 0)
        for (from, to, name) in [("\"hidden\":4", "\"hidden\":-3", "hidden = -3"), ("\"layers\":1", "\"layers\":0", "layers = 0"),
                                 ("\"length\":3", "\"length\":0", "length = 0"), ("\"dropout\":0", "\"dropout\":2", "dropout = 2"),
                                 ("\"steps\":2", "\"steps\":-5", "steps = -5")] {
            var c = try Checkpoint.read(from: good)
            XCTAssertTrue(c.config.contains(from), c.config)
            c.config = c.config.replacingOccurrences(of: from, with: to)
            let bad = dir.appendingPathComponent("bad.ckpt").path
            try c.write(to: bad)
            try refused(["predict", "--checkpoint", bad, "--input", "1 2 3"], "the setting \(name) is out of range")
            try refused(["train", "--resume", bad, "--steps", "4", "--quiet"], "the setting \(name) is out of range")
        }
        var c = try Checkpoint.read(from: good)
        c.config = c.config.replacingOccurrences(of: "\"batch\":4", with: "\"batch\":0")
        try c.write(to: dir.appendingPathComponent("batch0.ckpt").path)
        try refused(["train", "--resume", dir.appendingPathComponent("batch0.ckpt").path, "--steps", "4", "--quiet"], "the setting batch = 0")
    }

    /// No output replaces a file of another kind, an input, or another output of the same run.
    func testOutputsNeverDestroyOtherFiles() throws {
        let dir = try scratchDirectory("clobber", test: self)
        func path(_ name: String) -> String { dir.appendingPathComponent(name).path }
        let base = ["train", "--length", "3", "--steps", "2", "--hidden", "4", "--batch", "4", "--eval-size", "10", "--quiet"]
        XCTAssertEqual(try bptt(base + ["--save", path("run.ckpt")]).status, 0)
        let checkpoint = try Data(contentsOf: URL(fileURLWithPath: path("run.ckpt")))
        try "some notes\n".write(toFile: path("notes.txt"), atomically: true, encoding: .utf8)
        try refused(base + ["--log", path("run.ckpt")], "already holds a bptt checkpoint")
        try refused(base + ["--save", path("notes.txt")], "already holds other content")
        try refused(["predict", "--checkpoint", path("run.ckpt"), "--input", "1 2 3", "--out", path("run.ckpt")], "--out")
        try checkpoint.write(to: URL(fileURLWithPath: path("copy.npz")))
        try refused(["export", "--checkpoint", path("run.ckpt"), "--out", path("copy.npz")], "already holds a bptt checkpoint")
        try refused(base + ["--save", path("x.out"), "--log", path("x.out")], "--save writes this file too")
        try refused(["explain", "--html", path("e.html"), "--markdown", path("e.html")], "writes this file too")
        try FileManager.default.createDirectory(atPath: path("g"), withIntermediateDirectories: true)
        try refused(["gan", "--steps", "2", "--out", path("g"), "--save", path("g/generator.ckpt")], "writes this file too")
        try refused(["bench", "--all", "--save", path("b.json"), "--compare", path("b.json")], "is also the input --compare")
        // a device, a pipe: never replaced by a regular file, never waited on
        try refused(base + ["--log", "/dev/null"], "is not a regular file")
        XCTAssertEqual(mkfifo(path("fifo"), 0o644), 0)
        try refused(base + ["--save", path("fifo")], "is not a regular file")
        try refused(base + ["--save", path(String(repeating: "a", count: 240))], "its name is 240 bytes long")
        try refused(["train", "--task", "text", "--data", path("notes.txt"), "--steps", "1", "--save", path("notes.txt")], "already holds other content")
        try refused(["train", "--task", "text", "--data", path("notes.txt"), "--steps", "1", "--log", path("notes.txt")], "is also the input --data")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path("run.ckpt"))), checkpoint, "the checkpoint was changed")
        XCTAssertEqual(try String(contentsOfFile: path("notes.txt"), encoding: .utf8), "some notes\n")
        // what the flags are for still works: a checkpoint replaces a checkpoint, and --save continues --resume in place
        XCTAssertEqual(try bptt(base + ["--save", path("run.ckpt")]).status, 0)
        XCTAssertEqual(try bptt(["train", "--resume", path("run.ckpt"), "--steps", "4", "--quiet", "--save", path("run.ckpt")]).status, 0)
        // a checkpoint saved through a symbolic link updates the file it points to, and the link stays
        try FileManager.default.createSymbolicLink(atPath: path("link.ckpt"), withDestinationPath: path("run.ckpt"))
        XCTAssertEqual(try bptt(["train", "--resume", path("link.ckpt"), "--steps", "6", "--quiet", "--save", path("link.ckpt")]).status, 0)
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: path("link.ckpt")), path("run.ckpt"))
        XCTAssertEqual(try Checkpoint.read(from: path("run.ckpt")).step, 6)
    }

    /// Flags whose output would be dropped, flags that contradict each other, and values that name nothing.
    func testDroppedOutputsAndContradictionsAreRefused() throws {
        try refused(["bench", "--save", "x.json", "--steps", "1"], "--save: bench writes its results file only with --all")
        try refused(["bench", "--all", "--gemm"], "different benchmarks")
        try refused(["bench", "--load", "/nonexistent-data"], "--load: /nonexistent-data is not a folder")
        try refused(["predict", "--checkpoint", "/nonexistent.ckpt", "--input", "1 2 3"], "/nonexistent.ckpt: no such file")
        try refused(["gradcheck", "--svg", "x.svg"], "--svg: the chart is written only with --epsilon-sweep")
        try refused(["gradcheck", "--epsilon-sweep", "--break", "rnn.dW_hh:overwrite"], "--epsilon-sweep and --break")
        try refused(["gan", "--no-judge-cache", "--judge-cache", "x"], "--no-judge-cache and --judge-cache")
        try refused(["train", "--resume", ""], "--resume: empty path")
        try refused(["classify", "--hidden", ""], "--hidden: empty")
        try refused(["sweep", "--model", "rnn,rnn", "--lengths", "5"], "rnn is listed twice")
        try refused(["sweep", "--lengths", "5,5"], "5 is listed twice")
        try refused(["train", "--lr", "0x10"], "--lr: '0x10' is not a finite number")
        try refused(["gradcheck", "--step", "1"], "--step: 1.0 is too large")
        try refused(["gradcheck", "--model", "lstm", "--break", "charlm.carry:reset"], "--task text --break charlm.carry:reset")
    }

    /// What one command accepts, the next accepts too: gan interpolate reads a gan run's own
    /// checkpoint as gan sample does; and a flag that was used is never called unused.
    func testGoodInputIsTakenAlike() throws {
        let dir = try scratchDirectory("alike", test: self)
        let ckpt = dir.appendingPathComponent("gan.ckpt").path
        let r = try bptt(ImageCLITests.smallGAN + ["--no-judge-cache", "--save", ckpt])
        XCTAssertEqual(r.status, 0, r.stderr)
        let i = try bptt(["gan", "interpolate", "--checkpoint", ckpt, "--out", dir.path, "--count", "4"])
        XCTAssertEqual(i.status, 0, i.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent("interpolation.png").path))
        let g = try bptt(["gradflow", "--model", "rnn", "--length", "4", "--hidden", "4", "--batch", "4", "--steps", "0", "--quiet", "--out", dir.path + "/flow"])
        XCTAssertEqual(g.status, 0, g.stderr)
        XCTAssertFalse(g.stderr.contains("did not use"), g.stderr)
    }

    /// Flags that would change nothing in the run given, and a folder given as a checkpoint.
    func testFlagsThatDoNotApplyAreRefused() throws {
        try refused(["train", "--optim", "sgd", "--beta1", "0.5"], "--beta1 is Adam's; --optim sgd does not use it")
        try refused(["classify", "--momentum", "0.5"], "--momentum is for --optim momentum or nesterov; --optim adam does not use it")
        try refused(["train", "--model", "rnn", "--forget-bias-one"], "--forget-bias-one sets the LSTM's b_f")
        try refused(["sweep", "--model", "rnn,gru", "--forget-bias-one", "--lengths", "5"], "no lstm is among --model rnn,gru")
        try refused(["gan", "--log-every", "3"], "--log-every: sets how often --log writes a row")
        try refused(["train", "--log-every", "3"], "--log-every: sets how often --log and --out write a row")
        let dir = try scratchDirectory("folderckpt", test: self)
        try refused(["predict", "--checkpoint", dir.path, "--input", "1 2 3"], "is a folder, not a checkpoint file")
        try refused(["train", "--resume", dir.path], "is a folder, not a checkpoint file")
    }
}
