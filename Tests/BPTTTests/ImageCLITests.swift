import Foundation
import XCTest

/// The image commands end to end on the built-in digits, at sizes small enough to run in seconds.
final class ImageCLITests: XCTestCase, RunsBPTT {
    func tempDir(_ name: String) throws -> URL {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("bptt-\(name)-\(getpid())")
        try? FileManager.default.removeItem(at: d)
        try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        return d
    }

    static let smallGAN = ["gan", "--steps", "12", "--batch", "16", "--g-hidden", "24,32", "--d-hidden", "32,16", "--latent", "8",
                           "--samples", "50", "--judge-epochs", "2", "--quiet", "--json"]

    /// Two shards summed in a fixed order: one thread or two give the same generator, bit for bit.
    /// The checkpoint reads back (interpolate), and a damaged one is a one-line error, exit 2.
    func testGANSameNumbersAnyThreadsLogAndCheckpoint() throws {
        let dir = try tempDir("gan")
        defer { try? FileManager.default.removeItem(at: dir) }
        let one = dir.appendingPathComponent("t1").path, two = dir.appendingPathComponent("t2").path
        let log = dir.appendingPathComponent("gan.csv").path
        let r1 = try bptt(Self.smallGAN + ["--threads", "1", "--out", one, "--log", log, "--log-every", "5"])
        XCTAssertEqual(r1.status, 0, r1.stderr)
        let r2 = try bptt(Self.smallGAN + ["--threads", "2", "--out", two])
        XCTAssertEqual(r2.status, 0, r2.stderr)
        let j1 = try lastJSON(r1), j2 = try lastJSON(r2)
        for key in ["confident_fraction", "classes_present", "class_histogram", "seconds", "steps_per_s"] { XCTAssertNotNil(j1[key], key) }
        XCTAssertEqual(j1["final_loss_d"] as? Double, j2["final_loss_d"] as? Double)
        let c1 = try Data(contentsOf: URL(fileURLWithPath: one + "/generator.ckpt"))
        let c2 = try Data(contentsOf: URL(fileURLWithPath: two + "/generator.ckpt"))
        XCTAssertEqual(c1, c2, "generator differs between 1 and 2 threads")
        let rows = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(rows.first, "step,step_loss_d,mean_loss_d_since_previous_row,step_loss_g,mean_loss_g_since_previous_row,d_steps,examples_per_s")
        XCTAssertEqual(rows.count, 4)   // header + steps 5, 10, 12

        // The checkpoint reads back: interpolate draws from it.
        let strip = dir.appendingPathComponent("strip").path
        let ri = try bptt(["gan", "interpolate", "--checkpoint", one + "/generator.ckpt", "--out", strip, "--steps", "4", "--json"])
        XCTAssertEqual(ri.status, 0, ri.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: strip + "/interpolation.png"))

        // Truncated, corrupted, or not a checkpoint at all: one line naming the problem, exit 2.
        let bad = dir.appendingPathComponent("bad.ckpt")
        var flipped = c1; flipped[flipped.count - 3] ^= 0x40
        for (bytes, why) in [(c1.prefix(c1.count / 2), "truncated"), (flipped, "checksum"), (Data("hello\n".utf8), "not a bptt checkpoint")] {
            try Data(bytes).write(to: bad)
            let r = try bptt(["gan", "interpolate", "--checkpoint", bad.path, "--out", strip])
            XCTAssertEqual(r.status, 2, "\(why): \(r.stderr)")
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
            XCTAssertTrue(r.stderr.contains(why), "\(why): \(r.stderr)")
        }
    }

    func testAutoencoderAndClassifyLogs() throws {
        let dir = try tempDir("logs")
        defer { try? FileManager.default.removeItem(at: dir) }
        let ae = dir.appendingPathComponent("ae.csv").path, cl = dir.appendingPathComponent("cl.csv").path
        let ra = try bptt(["autoencoder", "--epochs", "2", "--hidden", "16", "--log", ae, "--quiet", "--json"])
        XCTAssertEqual(ra.status, 0, ra.stderr)
        XCTAssertNotNil(try lastJSON(ra)["masked_mse"])
        let aeRows = try String(contentsOfFile: ae, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(aeRows.first, "epoch,mean_loss_over_epoch,test_masked_mse,examples_per_s")
        XCTAssertEqual(aeRows.count, 3)
        // the last row's test masked-pixel MSE is the one the run reports; logging it leaves the run unchanged
        XCTAssertEqual(try XCTUnwrap(Double(aeRows[2].split(separator: ",")[2])), try XCTUnwrap(try lastJSON(ra)["masked_mse"] as? Double), accuracy: 1e-12)
        let quiet = try bptt(["autoencoder", "--epochs", "2", "--hidden", "16", "--quiet", "--json"])
        XCTAssertEqual(try XCTUnwrap(try lastJSON(quiet)["final_loss"] as? Double), try XCTUnwrap(try lastJSON(ra)["final_loss"] as? Double))
        let rc = try bptt(["classify", "--epochs", "2", "--hidden", "16", "--log", cl, "--quiet", "--json"])
        XCTAssertEqual(rc.status, 0, rc.stderr)
        XCTAssertNotNil(try lastJSON(rc)["test_accuracy"])
        let rows = try String(contentsOfFile: cl, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(rows.first, "epoch,mean_loss_over_epoch,train_accuracy,test_accuracy,examples_per_s")
        XCTAssertEqual(rows.count, 3)
        // the last row's test accuracy is the one the run reports
        XCTAssertEqual(try XCTUnwrap(Double(rows[2].split(separator: ",")[3])), try XCTUnwrap(try lastJSON(rc)["test_accuracy"] as? Double), accuracy: 1e-12)
    }
}
