import BPTT
import Foundation
import XCTest

/// The image commands end to end on the built-in digits, at sizes small enough to run in seconds.
final class ImageCLITests: XCTestCase, RunsBPTT {
    func tempDir(_ name: String) throws -> URL {
        let d = testTemporaryDirectory.appendingPathComponent("bptt-\(name)-\(getpid())")
        try? FileManager.default.removeItem(at: d)
        try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        return d
    }

    static let smallGAN = ["gan", "--steps", "12", "--batch", "16", "--g-hidden", "24,32", "--d-hidden", "32,16", "--latent", "8",
                           "--samples", "50", "--judge-epochs", "2", "--quiet", "--json"]

    /// The judge is trained once and read back: the same judgement, and a damaged cache file, or
    /// other data, trains afresh instead of being trusted.
    func testGANJudgeCacheGivesTheSameJudgementAndIsKeyedByTheData() throws {
        let dir = try tempDir("judge-cache")
        defer { try? FileManager.default.removeItem(at: dir) }
        let cache = dir.appendingPathComponent("cache").path
        let run = { (extra: [String]) throws -> [String: Any] in
            let r = try self.bptt(Self.smallGAN + ["--judge-cache", cache] + extra)
            XCTAssertEqual(r.status, 0, r.stderr)
            return try self.lastJSON(r)
        }
        let fresh = try run([]), again = try run([])
        let offRun = try bptt(Self.smallGAN + ["--no-judge-cache"])
        XCTAssertEqual(offRun.status, 0, offRun.stderr)
        let off = try lastJSON(offRun)
        XCTAssertEqual(fresh["judge_cached"] as? Bool, false)
        XCTAssertEqual(again["judge_cached"] as? Bool, true)
        XCTAssertEqual(off["judge_cached"] as? Bool, false)
        for key in ["confident_fraction", "classes_present", "classifier_test_accuracy"] {
            XCTAssertEqual("\(fresh[key]!)", "\(again[key]!)", key)
            XCTAssertEqual("\(fresh[key]!)", "\(off[key]!)", key)
        }
        XCTAssertEqual(fresh["class_histogram"] as? [Int], again["class_histogram"] as? [Int])
        let files = try FileManager.default.contentsOfDirectory(atPath: cache)
        XCTAssertEqual(files.count, 1, "\(files)")
        // A corrupted file is not trusted: trained afresh, same judgement, file replaced.
        let path = cache + "/" + files[0]
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes[bytes.count - 5] ^= 0x10
        try bytes.write(to: URL(fileURLWithPath: path))
        let repaired = try run([])
        XCTAssertEqual(repaired["judge_cached"] as? Bool, false)
        XCTAssertEqual("\(repaired["classifier_test_accuracy"]!)", "\(fresh["classifier_test_accuracy"]!)")
        XCTAssertEqual(try run([])["judge_cached"] as? Bool, true)
        // Other settings (the judge takes the run's seed): another key, a second file, trained afresh.
        let other = try run(["--seed", "7"])
        XCTAssertEqual(other["judge_cached"] as? Bool, false)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: cache).count, 2)
        // Two data sets of the same shape, counts and labels that differ in one pixel: two keys.
        func folder(_ name: String, _ change: UInt8) throws -> String {
            let d = dir.appendingPathComponent(name).path
            try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
            var pixels = (0..<(40 * 36)).map { UInt8($0 * 37 % 256) }
            pixels[100] ^= change
            try Data(IDXArray.encode(dims: [40, 6, 6], bytes: pixels)).write(to: URL(fileURLWithPath: d + "/all-images-idx3-ubyte"))
            try Data(IDXArray.encode(dims: [40], bytes: (0..<40).map { UInt8($0 % 3) })).write(to: URL(fileURLWithPath: d + "/all-labels-idx1-ubyte"))
            return d
        }
        let a = try folder("a", 0), b = try folder("b", 1)
        XCTAssertEqual(try run(["--data", a])["judge_cached"] as? Bool, false)
        XCTAssertEqual(try run(["--data", b])["judge_cached"] as? Bool, false, "a judge of other data must not be reused")
        XCTAssertEqual(try run(["--data", a])["judge_cached"] as? Bool, true)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: cache).count, 4)
    }

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
