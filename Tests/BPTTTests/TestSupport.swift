import Foundation
import XCTest

/// Runs the real `bptt` executable, built beside the test bundle (shared by the CLI tests).
protocol RunsBPTT {}

var bpttBinary: URL {
    URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("bptt")
}

struct Run { let status: Int32; let stdout: String; let stderr: String }

extension RunsBPTT {
    func bptt(_ args: [String]) throws -> Run {
        let exe = bpttBinary
        guard FileManager.default.isExecutableFile(atPath: exe.path) else {
            XCTFail("bptt executable not found at \(exe.path)")
            throw CocoaError(.fileNoSuchFile)
        }
        let p = Process()
        p.executableURL = exe
        p.arguments = args
        // A crash must fail the test at once, not wait on the backtracer holding our pipes.
        var env = ProcessInfo.processInfo.environment
        env["SWIFT_BACKTRACE"] = "enable=no"
        p.environment = env
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Run(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    func lastJSON(_ r: Run) throws -> [String: Any] {
        let last = r.stdout.split(separator: "\n").last.map(String.init) ?? ""
        let obj = try JSONSerialization.jsonObject(with: Data(last.utf8))
        return try XCTUnwrap(obj as? [String: Any], "last line is not a JSON object: \(last)")
    }
}
