import Foundation
import XCTest

/// Every flag of every training and experiment command, fed what students type by mistake: a
/// missing value, a non-number, a zero or negative size, an unknown name. Each must stop with a
/// one-line error naming the flag, exit code 2, and leave no file behind.
final class CLIFlagTests: XCTestCase {
    enum Kind {
        case size            // a count ≥ 1: missing, abc, 1.5, 0, -3 are refused
        case count           // a count ≥ 0: missing, abc, -3
        case positive        // a number > 0: missing, abc, nan, 0, -1
        case nonNegative     // a number ≥ 0: missing, abc, inf, -1
        case choice          // a name: missing, bogus
        case list            // a list of sizes: missing, 0, abc, "8,,8"
        case lengths         // lengths: missing, 0, 5-3, abc, 1-1000000000
    }

    func bad(_ kind: Kind) -> [String?] {   // nil: the value is missing (flag last)
        switch kind {
        case .size: return [nil, "abc", "1.5", "0", "-3"]
        case .count: return [nil, "abc", "-3"]
        case .positive: return [nil, "abc", "nan", "0", "-1"]
        case .nonNegative: return [nil, "abc", "inf", "-1"]
        case .choice: return [nil, "bogus"]
        case .list: return [nil, "0", "abc", "8,,8"]
        case .lengths: return [nil, "0", "5-3", "abc", "1-1000000000"]
        }
    }

    /// (command words, [(flag, kind)]).
    let table: [([String], [(String, Kind)])] = [
        (["train"], [("model", .choice), ("task", .choice), ("layers", .size), ("length", .size), ("steps", .size), ("batch", .size),
                     ("hidden", .size), ("optim", .choice), ("lr", .positive), ("momentum", .nonNegative), ("weight-decay", .nonNegative),
                     ("clip", .nonNegative), ("truncate", .count), ("init", .choice), ("seed", .count), ("threads", .size),
                     ("eval-size", .size), ("save-every", .count), ("log-every", .size), ("dropout", .nonNegative), ("beta1", .nonNegative)]),
        (["train", "--task", "image-rows"], [("model", .choice), ("layers", .size), ("hidden", .size), ("epochs", .size), ("batch", .size),
                                             ("lr", .positive), ("clip", .nonNegative), ("threads", .size), ("save-every", .count), ("init", .choice)]),
        (["train", "--task", "sentiment"], [("model", .choice), ("hidden", .size), ("epochs", .size), ("batch", .size), ("lr", .positive),
                                            ("dropout", .nonNegative), ("embedding-dim", .size), ("vocab", .size), ("max-length", .size)]),
        (["autoencoder"], [("mask", .choice), ("loss-on", .choice), ("hidden", .list), ("epochs", .size), ("batch", .size), ("optim", .choice),
                           ("lr", .positive), ("beta1", .nonNegative), ("momentum", .nonNegative), ("weight-decay", .nonNegative),
                           ("seed", .count), ("threads", .size), ("save-every", .count)]),
        (["classify"], [("hidden", .list), ("dropout", .nonNegative), ("epochs", .size), ("batch", .size), ("lr", .positive),
                        ("threads", .size), ("save-every", .count)]),
        (["gan"], [("steps", .size), ("batch", .size), ("latent", .size), ("g-hidden", .list), ("d-hidden", .list), ("d-schedule", .choice),
                   ("samples", .size), ("judge-epochs", .size), ("log-every", .size), ("lr", .positive), ("beta1", .nonNegative),
                   ("threads", .size), ("save-every", .count)]),
        (["gan", "interpolate"], [("steps", .size), ("seed", .count)]),
        (["sweep"], [("model", .choice), ("lengths", .lengths), ("steps", .size), ("log-every", .size), ("batch", .size), ("hidden", .size),
                     ("layers", .size), ("lr", .positive), ("clip", .nonNegative), ("init", .choice), ("threads", .size), ("optim", .choice),
                     ("stop-at", .size), ("save-every", .count)]),
        (["gradflow"], [("model", .choice), ("length", .size), ("steps", .count), ("stop-at", .size), ("batch", .size), ("hidden", .size),
                        ("lr", .positive), ("save-every", .count)]),
        (["curriculum"], [("model", .choice), ("lengths", .lengths), ("max-steps", .size), ("eval-every", .size), ("eval-size", .size),
                          ("target", .positive), ("stop-at", .size), ("batch", .size), ("hidden", .size), ("lr", .positive), ("optim", .choice),
                          ("save-every", .count)]),
    ]

    /// Runs bptt in `cwd` (so that a stray output file would show up there).
    func run(_ args: [String], in cwd: URL) throws -> (status: Int32, stdout: String, stderr: String) {
        let p = Process()
        p.executableURL = bpttBinary
        p.arguments = args
        p.currentDirectoryURL = cwd
        var env = ProcessInfo.processInfo.environment
        env["SWIFT_BACKTRACE"] = "enable=no"
        p.environment = env
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    /// Runs the cases four at a time (process start-up dominates).
    func runAll(_ cases: [[String]], in cwd: URL) throws -> [(status: Int32, stdout: String, stderr: String)] {
        var results = [(status: Int32, stdout: String, stderr: String)?](repeating: nil, count: cases.count)
        let lock = NSLock()
        DispatchQueue.concurrentPerform(iterations: 4) { w in
            for i in stride(from: w, to: cases.count, by: 4) {
                let r = try? run(cases[i], in: cwd)
                lock.lock(); results[i] = r; lock.unlock()
            }
        }
        return try results.map { try XCTUnwrap($0) }
    }

    func testEveryFlagRefusesBadValuesWithOneLineAndExitTwo() throws {
        let cwd = testTemporaryDirectory.appendingPathComponent("bptt-flags-\(getpid())")
        try? FileManager.default.removeItem(at: cwd)
        try FileManager.default.createDirectory(at: cwd, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: cwd) }
        // Every output flag the command has points into cwd: nothing may appear there.
        let outputs: [String: [String]] = [
            "train": ["--save", "out.ckpt", "--log", "log.csv"],
            "train --task image-rows": ["--save", "out.ckpt", "--out", "outdir"],
            "train --task sentiment": ["--save", "out.ckpt", "--out", "outdir"],
            "autoencoder": ["--save", "out.ckpt", "--out", "outdir", "--log", "log.csv"],
            "classify": ["--save", "out.ckpt", "--log", "log.csv"],
            "gan": ["--save", "out.ckpt", "--out", "outdir", "--log", "log.csv"],
            "gan interpolate": ["--checkpoint", "none.ckpt", "--out", "outdir"],
            "sweep": ["--out", "outdir", "--save", "out.ckpt"],
            "gradflow": ["--out", "outdir", "--save", "out.ckpt"],
            "curriculum": ["--out", "outdir", "--save", "out.ckpt"],
        ]
        // Each flag gets one bad value, cycling through its kind's list (so every kind of mistake
        // is tried on some flag), and every command also gets a missing value on its first flag.
        var cases: [[String]] = []
        var tried: Set<String> = []
        var used: [String: Int] = [:]
        for (command, flags) in table {
            for (i, (flag, kind)) in flags.enumerated() {
                let values = Array(bad(kind).dropFirst())
                let k = used["\(kind)", default: 0]
                used["\(kind)"] = k + 1
                // few flags take lists or lengths: those get every bad value
                var picks: [String?] = kind == .list || kind == .lengths ? values : [values[k % values.count]]
                if i == 0 { picks.append(nil) }
                for value in picks {
                    tried.insert("\(kind):\(value ?? "missing")")
                    cases.append(command + outputs[command.joined(separator: " "), default: []] + ["--" + flag] + (value.map { [$0] } ?? []))
                }
            }
        }
        let results = try runAll(cases, in: cwd)
        for (args, r) in zip(cases, results) {
            let flag = args.last!.hasPrefix("--") ? args.last! : args[args.count - 2]
            let what = "\(args.joined(separator: " ")): \(r.stderr)"
            XCTAssertEqual(r.status, 2, what)
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, what)
            XCTAssertTrue(r.stderr.contains(flag), "error does not name \(flag): " + what)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: cwd.path), [], "bad flags left files behind")
        for kind in [Kind.size, .positive, .nonNegative, .list, .lengths] {
            for v in bad(kind).dropFirst() { XCTAssertTrue(tried.contains("\(kind):\(v!)"), "\(kind) \(v!) never tried") }
        }
        XCTAssertGreaterThan(cases.count, 100)
    }

    /// Bad input files: one line naming the file, exit 2, nothing written.
    /// The curriculum's LSTM starts with b_f = 1 (the same run as --forget-bias-one);
    /// --forget-bias-draw draws it instead; both flags at once are refused.
    func testCurriculumLSTMForgetBiasDefault() throws {
        let out = testTemporaryDirectory.appendingPathComponent("bptt-fb-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        let base = ["curriculum", "--model", "lstm", "--lengths", "3,4", "--max-steps", "20", "--eval-every", "10",
                    "--eval-size", "50", "--hidden", "8", "--batch", "16", "--quiet", "--json", "--out", out]
        let byDefault = try bptt(base), one = try bptt(base + ["--forget-bias-one"]), drawn = try bptt(base + ["--forget-bias-draw"])
        for r in [byDefault, one, drawn] { XCTAssertEqual(r.status, 0, r.stderr) }
        XCTAssertEqual(try lastJSON(byDefault)["stages"] as? NSArray, try lastJSON(one)["stages"] as? NSArray)
        XCTAssertNotEqual(try lastJSON(byDefault)["stages"] as? NSArray, try lastJSON(drawn)["stages"] as? NSArray)
        let both = try bptt(base + ["--forget-bias-one", "--forget-bias-draw"])
        XCTAssertEqual(both.status, 2)
        XCTAssertTrue(both.stderr.contains("--forget-bias-draw"), both.stderr)
    }

    func testMissingAndBadDataFiles() throws {
        let cwd = testTemporaryDirectory.appendingPathComponent("bptt-data-\(getpid())")
        try? FileManager.default.removeItem(at: cwd)
        try FileManager.default.createDirectory(at: cwd, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: cwd) }
        let junk = cwd.appendingPathComponent("junk.csv").path
        try Data([0xFF, 0xFE, 0x00, 0x41]).write(to: URL(fileURLWithPath: junk))
        let cases: [([String], String)] = [
            (["classify", "--data", "/nonexistent/folder"], "/nonexistent/folder"),
            (["autoencoder", "--data", "/nonexistent/folder", "--out", "outdir"], "/nonexistent/folder"),
            (["gan", "--data", "/nonexistent/folder", "--out", "outdir"], "/nonexistent/folder"),
            (["train", "--task", "image-rows", "--data", "/nonexistent/folder", "--out", "outdir"], "/nonexistent/folder"),
            (["train", "--task", "sentiment", "--data", "/nonexistent/file.csv", "--out", "outdir"], "/nonexistent/file.csv"),
            (["train", "--task", "sentiment", "--data", junk, "--out", "outdir"], "junk.csv"),
            (["train", "--task", "sentiment", "--vectors", "/nonexistent/vectors.txt", "--data", junk], "junk.csv"),
            (["classify", "--resume", "/nonexistent/run.ckpt", "--save", "out.ckpt"], "/nonexistent/run.ckpt"),
            (["sweep", "--resume", "/nonexistent/run.ckpt", "--save", "out.ckpt", "--out", "outdir"], "/nonexistent/run.ckpt"),
            (["gradflow", "--resume", "/nonexistent/run.ckpt", "--save", "out.ckpt", "--out", "outdir"], "/nonexistent/run.ckpt"),
            (["sweep", "--save-every", "2"], "--save-every"),
            (["gan", "interpolate", "--checkpoint", "/nonexistent/g.ckpt", "--out", "outdir"], "/nonexistent/g.ckpt"),
            (["train", "--task", "image-rows", "--length", "5"], "--length"),
            (["train", "--task", "image-rows", "--vocab", "5"], "--vocab"),
            (["train", "--task", "palindrome", "--epochs", "5"], "--epochs"),
            (["classify", "--save-every", "2"], "--save-every"),
        ]
        for (args, name) in cases {
            let r = try run(args, in: cwd)
            let what = "\(args.joined(separator: " ")): \(r.stderr)"
            XCTAssertEqual(r.status, 2, what)
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, what)
            XCTAssertTrue(r.stderr.contains(name), "error does not name \(name): " + what)
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: cwd.path), ["junk.csv"], "left files behind: " + what)
        }
    }
}
extension CLIFlagTests: RunsBPTT {}
