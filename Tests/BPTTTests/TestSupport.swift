import Foundation
import XCTest
import BPTT

/// The folder every test writes under: `bptt-tests-<pid>` in the system's temporary directory,
/// one per test process, removed with everything in it when the test bundle finishes (so a run
/// leaves nothing behind in /tmp, and two test processes never share a file).
let testTemporaryDirectory: URL = {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bptt-tests-\(getpid())")
    try? FileManager.default.removeItem(at: dir)
    try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    XCTestObservationCenter.shared.addTestObserver(RemovesFolderWhenTestsFinish(dir))
    return dir
}()

/// Removes one folder when the test bundle finishes (registered by `testTemporaryDirectory`).
final class RemovesFolderWhenTestsFinish: NSObject, XCTestObservation {
    let folder: URL
    init(_ folder: URL) { self.folder = folder }
    func testBundleDidFinish(_ testBundle: Bundle) { try? FileManager.default.removeItem(at: folder) }
}

/// Runs the real `bptt` executable, built beside the test bundle (shared by the CLI tests).
protocol RunsBPTT {}

var bpttBinary: URL {
    URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("bptt")
}

struct Run { let status: Int32; let stdout: String; let stderr: String }

extension RunsBPTT {
    func bptt(_ args: [String], environment extra: [String: String] = [:]) throws -> Run {
        let (p, out, err) = try launchBPTT(args, environment: extra)
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Run(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    /// Starts the binary with piped stdout and stderr (the caller reads them and waits).
    func launchBPTT(_ args: [String], environment extra: [String: String] = [:]) throws -> (Process, Pipe, Pipe) {
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
        // The GAN's judge cache goes to a temporary folder, never the user's own cache.
        if env["BPTT_CACHE"] == nil { env["BPTT_CACHE"] = testTemporaryDirectory.appendingPathComponent("bptt-test-cache-\(getpid())").path }
        env.merge(extra) { _, new in new }
        p.environment = env
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        return (p, out, err)
    }

    /// Runs the binary and sends it SIGINT (Ctrl-C) once its stdout contains `marker`, or after
    /// `seconds` when no marker is given; returns its status and everything it printed.
    func bpttInterrupted(_ args: [String], after seconds: Double = 0, whenPrinted marker: String? = nil) throws -> Run {
        let (p, out, err) = try launchBPTT(args)
        var seen = ""
        if let marker {
            while !seen.contains(marker) {
                let chunk = out.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                seen += String(decoding: chunk, as: UTF8.self)
            }
        } else {
            Thread.sleep(forTimeInterval: seconds)
        }
        kill(p.processIdentifier, SIGINT)
        seen += String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Run(status: p.terminationStatus, stdout: seen, stderr: String(decoding: e, as: UTF8.self))
    }

    func lastJSON(_ r: Run) throws -> [String: Any] {
        let last = r.stdout.split(separator: "\n").last.map(String.init) ?? ""
        let obj = try JSONSerialization.jsonObject(with: Data(last.utf8))
        return try XCTUnwrap(obj as? [String: Any], "last line is not a JSON object: \(last)")
    }
}

/// A new empty folder under the temporary directory, unique to this process and `test`.
func scratchDirectory(_ label: String, test: XCTestCase) throws -> URL {
    let dir = testTemporaryDirectory.appendingPathComponent("bptt-\(label)-\(getpid())-\(test.name.filter(\.isLetter))")
    try? FileManager.default.removeItem(at: dir)
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
}

/// A one-level RNN check case: the model `train --model rnn|rnn-relu` trains, as `bptt gradcheck` draws it.
func rnnCase(_ activation: RNN<Double>.Activation, output: SequenceOutput = .last, batch: Int, length: Int, input: Int,
             hidden: Int, classes: Int, withH0: Bool, seed: UInt64) -> SequenceCheckCase<RNN<Double>> {
    var spec = SequenceCheckSpec(model: activation == .tanh ? .rnn : .rnnReLU)
    spec.output = output
    (spec.batch, spec.length, spec.input, spec.hidden, spec.classes, spec.withH0, spec.seed) = (batch, length, input, hidden, classes, withH0, seed)
    return SequenceCheckCase(spec) { RNN<Double>(inputSize: $0, hiddenSize: hidden, activation: activation) }
}

/// A one-level RNN with a softmax readout (many-to-one unless `output` says otherwise).
func rnnClassifier<Real: Scalar>(_ type: Real.Type = Real.self, input: Int, hidden: Int, classes: Int, activation: RNN<Real>.Activation = .tanh,
                                 output: SequenceOutput = .last) -> SequenceClassifier<RNN<Real>> {
    SequenceClassifier(stack: RecurrentStack(layers: 1, bidirectional: false, inputSize: input, hiddenSize: hidden) {
        RNN<Real>(inputSize: $0, hiddenSize: hidden, activation: activation)
    }, classes: classes, output: output)
}
