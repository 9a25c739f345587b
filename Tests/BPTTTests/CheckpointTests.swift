import Foundation
import XCTest
import BPTT

final class CheckpointTests: XCTestCase {
    func sample() -> Checkpoint {
        var rng = RNG(seed: 5)
        _ = rng.gaussian()   // leaves a spare Gaussian in the state
        let w = Matrix<Float>.normal(3, 4, std: 1, rng: &rng)
        let b = Matrix<Float>.normal(1, 4, std: 1, rng: &rng)
        return Checkpoint(model: "rnn", config: #"{"hidden":4}"#, step: 17,
                          tensors: [.init("W", w), .init("b", b)], optimizerKind: "adam", optimizerStep: 17,
                          optimizerState1: [.init("W", w), .init("b", b)], optimizerState2: [.init("W", w), .init("b", b)],
                          rngs: [("data", rng), ("init", RNG(seed: 1))])
    }

    func testRoundTripIsExact() throws {
        let c = sample()
        XCTAssertEqual(try Checkpoint.decode(c.encoded()), c)
        let path = testTemporaryDirectory.appendingPathComponent("ckpt-\(getpid()).bin").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try c.write(to: path)
        XCTAssertEqual(try Checkpoint.read(from: path), c)
    }

    func expectError(_ bytes: [UInt8], containing text: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try Checkpoint.decode(bytes, source: "x.ckpt"), file: file, line: line) { e in
            let message = (e as? BPTTError)?.description ?? ""
            XCTAssertTrue(message.contains(text), "expected '\(text)' in '\(message)'", file: file, line: line)
            XCTAssertEqual((e as? BPTTError)?.exitCode, 2, file: file, line: line)
        }
    }

    func testEveryKindOfDamageIsNamed() {
        let good = sample().encoded()
        expectError(Array(good.prefix(5)), containing: "bad magic")
        expectError([UInt8](repeating: 0, count: 40), containing: "bad magic")
        var v = good; v[8] = 9
        expectError(v, containing: "version 9")
        for cut in [good.count - 1, good.count / 2, 30, 28] {
            expectError(Array(good.prefix(cut)), containing: "truncated")
        }
        var flipped = good; flipped[good.count - 3] ^= 0x10
        expectError(flipped, containing: "checksum")
        expectError(good + [0], containing: "unexpected bytes")
    }

    /// Seeded random mutations: every case must end in a correct parse or a clean error.
    func testFuzzedCheckpointsNeverTrap() {
        let good = sample().encoded()
        var rng = RNG(seed: 2024)
        var parsed = 0, rejected = 0
        let cases = FuzzTests.cases   // 2,000; BPTT_FUZZ_CASES (make fuzz: 100,000)
        for _ in 0..<cases {
            var b = good
            switch rng.int(below: 4) {
            case 0: for _ in 0...rng.int(below: 4) { b[rng.int(below: b.count)] = UInt8(rng.int(below: 256)) }
            case 1: b = Array(b.prefix(rng.int(below: b.count)))
            case 2: b.insert(UInt8(rng.int(below: 256)), at: rng.int(below: b.count))
            default:
                // damage the payload but fix the checksum and length, to reach the field parser
                let i = 28 + rng.int(below: b.count - 28)
                b[i] = UInt8(rng.int(below: 256))
                if rng.int(below: 2) == 0 { b = Array(b.prefix(28 + rng.int(below: b.count - 28))) }
                let payload = b[28...]
                var header: [UInt8] = []
                for v in [UInt64(payload.count), fnv1a64(payload)] { withUnsafeBytes(of: v.littleEndian) { header += $0 } }
                b.replaceSubrange(12..<28, with: header)
            }
            do { _ = try Checkpoint.decode(b); parsed += 1 } catch is BPTTError { rejected += 1 } catch { XCTFail("unexpected error \(error)") }
        }
        XCTAssertEqual(parsed + rejected, cases)
        XCTAssertGreaterThan(rejected, cases / 2)
    }

    func testLoadRefusesAnotherModelsTensors() throws {
        var rng = RNG(seed: 1)
        let model = rnnClassifier(Float.self, input: 1, hidden: 4, classes: 10)
        var p = model.initialParameters(.pytorch, rng: &rng)
        let other = rnnClassifier(Float.self, input: 1, hidden: 5, classes: 10).initialParameters(.pytorch, rng: &rng)
        let before = p
        XCTAssertThrowsError(try p.load(other.namedTensors(), source: "c")) { e in
            XCTAssertTrue("\(e)".contains("W_hx is 5x1"), "\(e)")
        }
        XCTAssertEqual(p.tensors, before.tensors, "nothing may change on a refused load")
        try p.load(before.namedTensors(), source: "c")
        XCTAssertEqual(p.tensors, before.tensors)
    }
}
