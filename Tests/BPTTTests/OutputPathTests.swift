import BPTT
import Foundation
import XCTest

/// Every path a run writes is checked before any work: each command that writes files, with each
/// kind of bad output path, stops with one line naming the path and the cause, exit 2, nothing
/// printed on stdout (no step ran) and no Foundation error text anywhere.
final class OutputPathTests: XCTestCase, RunsBPTT {
    enum Expect { case file, folder }

    /// (command line, output flag, what the flag names). The command lines are small runs, so a
    /// check that wrongly passed would still end soon (and fail the test by printing).
    let table: [([String], String, Expect)] = [
        (["train", "--steps", "3", "--hidden", "4", "--batch", "4"], "--save", .file),
        (["train", "--steps", "3", "--hidden", "4", "--batch", "4"], "--log", .file),
        (["train", "--steps", "3", "--hidden", "4", "--batch", "4"], "--report", .folder),
        (["train", "--task", "image-rows", "--epochs", "1", "--hidden", "4"], "--out", .folder),
        (["train", "--task", "image-rows", "--epochs", "1", "--hidden", "4"], "--save", .file),
        (["train", "--task", "sentiment", "--epochs", "1", "--hidden", "4"], "--out", .folder),
        (["autoencoder", "--epochs", "1", "--hidden", "8"], "--out", .folder),
        (["autoencoder", "--epochs", "1", "--hidden", "8"], "--log", .file),
        (["autoencoder", "--epochs", "1", "--hidden", "8"], "--report", .folder),
        (["autoencoder", "--epochs", "1", "--hidden", "8"], "--save", .file),
        (["classify", "--epochs", "1", "--hidden", "8"], "--save", .file),
        (["classify", "--epochs", "1", "--hidden", "8"], "--log", .file),
        (["gan", "--steps", "2", "--g-hidden", "8", "--d-hidden", "8", "--judge-epochs", "1", "--samples", "10"], "--out", .folder),
        (["gan", "--steps", "2", "--g-hidden", "8", "--d-hidden", "8", "--judge-epochs", "1", "--samples", "10"], "--log", .file),
        (["gan", "--steps", "2", "--g-hidden", "8", "--d-hidden", "8", "--judge-epochs", "1", "--samples", "10"], "--save", .file),
        (["gan", "--steps", "2", "--g-hidden", "8", "--d-hidden", "8", "--judge-epochs", "1", "--samples", "10"], "--report", .folder),
        (["gan", "interpolate", "--checkpoint", "/nonexistent/generator.ckpt"], "--out", .folder),
        (["sweep", "--model", "rnn", "--lengths", "3", "--steps", "3", "--hidden", "4", "--batch", "4"], "--out", .folder),
        (["sweep", "--model", "rnn", "--lengths", "3", "--steps", "3", "--hidden", "4", "--batch", "4"], "--save", .file),
        (["sweep", "--model", "rnn", "--lengths", "3", "--steps", "3", "--hidden", "4", "--batch", "4"], "--report", .folder),
        (["gradflow", "--model", "rnn", "--length", "3", "--steps", "3", "--hidden", "4", "--batch", "4"], "--out", .folder),
        (["gradflow", "--model", "rnn", "--length", "3", "--steps", "3", "--hidden", "4", "--batch", "4"], "--save", .file),
        (["curriculum", "--model", "rnn", "--lengths", "3", "--max-steps", "3", "--hidden", "4", "--batch", "4"], "--out", .folder),
        (["curriculum", "--model", "rnn", "--lengths", "3", "--max-steps", "3", "--hidden", "4", "--batch", "4"], "--save", .file),
        (["curriculum", "--model", "rnn", "--lengths", "3", "--max-steps", "3", "--hidden", "4", "--batch", "4"], "--report", .folder),
        (["train", "--task", "text", "--steps", "2", "--hidden", "4", "--layers", "1", "--batch", "2", "--length", "5"], "--save", .file),
        (["train", "--task", "adding", "--steps", "2", "--hidden", "4", "--length", "5", "--eval-size", "2"], "--out", .folder),
        (["train", "--task", "adding", "--steps", "2", "--hidden", "4", "--length", "5", "--eval-size", "2"], "--log", .file),
        (["train", "--task", "copy", "--steps", "2", "--hidden", "4", "--length", "5", "--eval-size", "2"], "--report", .folder),
        (["train", "--task", "copy", "--steps", "2", "--hidden", "4", "--length", "5", "--eval-size", "2"], "--save", .file),
        (["train", "--task", "pixels", "--epochs", "1", "--hidden", "4"], "--out", .folder),
        (["explain"], "--markdown", .file),
        (["explain", "--model", "lstm"], "--html", .file),
        (["gradcheck"], "--dump", .file),
        (["gradcheck", "--epsilon-sweep"], "--svg", .file),
        (["bench", "--all", "--steps", "1", "--warmup", "0"], "--save", .file),
    ]

    func testEveryOutputFlagRefusesEveryKindOfBadPathBeforeAnyWork() throws {
        let dir = try scratchDirectory("outputs", test: self)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("a-file").path
        try Data("x".utf8).write(to: URL(fileURLWithPath: file))
        // (path, what the one line must say)
        let bad: [Expect: [(String, String)]] = [
            .file: [(dir.path + "/missing/out.x", "does not exist"), (file + "/sub.x", "is a file, not a folder"),
                    (dir.path, "is a folder"), ("/proc/bptt-out.x", "virtual file system")],
            .folder: [(file + "/sub", "is a file, not a folder"), (file, "is a file"), ("/proc/bptt-out", "virtual file system")],
        ]
        var cases: [([String], String, String)] = []
        for (args, flag, kind) in table {
            for (path, cause) in bad[kind]! { cases.append((args + [flag, path], path, cause)) }
        }
        // the default folder of the experiments (runs/…) is checked too: here runs is a file
        let cwd = dir.appendingPathComponent("cwd")
        try FileManager.default.createDirectory(at: cwd, withIntermediateDirectories: true)
        try Data("x".utf8).write(to: cwd.appendingPathComponent("runs"))
        var results = [Run?](repeating: nil, count: cases.count)
        let lock = NSLock()
        DispatchQueue.concurrentPerform(iterations: 4) { w in
            for i in stride(from: w, to: cases.count, by: 4) {
                let r = try? bptt(cases[i].0)
                lock.lock(); results[i] = r; lock.unlock()
            }
        }
        for ((args, path, cause), r) in zip(cases, results) {
            let what = args.joined(separator: " ")
            let r = try XCTUnwrap(r, what)
            XCTAssertEqual(r.status, 2, "\(what): \(r.stderr)")
            XCTAssertEqual(r.stdout, "", "\(what): work started before the output check")
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, "\(what): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(path), "\(what): the error does not name \(path): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(cause), "\(what): the error does not say '\(cause)': \(r.stderr)")
            XCTAssertFalse((r.stdout + r.stderr).contains("NSCocoaErrorDomain"), "\(what): \(r.stderr)")
        }
        for command in [["sweep"], ["gradflow"], ["curriculum"]] {
            let r = try runIn(cwd, command + ["--steps", "3"])
            XCTAssertEqual(r.status, 2, r.stderr)
            XCTAssertEqual(r.stdout, "", r.stderr)
            XCTAssertTrue(r.stderr.contains("runs/\(command[0])") && r.stderr.contains("is a file"), r.stderr)
        }
        // the checks leave nothing behind
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted(), ["a-file", "cwd"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: cwd.path), ["runs"])
        XCTAssertGreaterThan(cases.count, 90)
    }

    /// A folder flag given a file name (the old `gan interpolate --out strip.png`) says --out is a folder.
    func testFolderFlagGivenAFileNameSaysItIsAFolder() throws {
        let dir = try scratchDirectory("outname", test: self)
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try bptt(["gan", "interpolate", "--checkpoint", "/nonexistent/g.ckpt", "--out", dir.path + "/strip.png"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("--out names a folder"), r.stderr)
    }

    /// Foundation's errors reach the user as words: the path's cause, never the domain and code.
    func testFileErrorsInWords() throws {
        let dir = try scratchDirectory("words", test: self)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("f").path
        try Data("x".utf8).write(to: URL(fileURLWithPath: file))
        XCTAssertThrowsError(try createFolder(file + "/sub")) { e in
            let text = "\(e)"
            XCTAssertTrue(text.contains(file + "/sub"), text)
            XCTAssertFalse(text.contains("NSCocoaErrorDomain") || text.contains("Code="), text)
        }
        XCTAssertThrowsError(try writeFileAtomically(file + "/sub/x.svg", "x")) { e in
            XCTAssertFalse("\(e)".contains("NSCocoaErrorDomain") || "\(e)".contains("Code="), "\(e)")
        }
    }

    func runIn(_ cwd: URL, _ args: [String]) throws -> Run {
        let p = Process()
        p.executableURL = bpttBinary
        p.arguments = args
        p.currentDirectoryURL = cwd
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Run(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }
}
