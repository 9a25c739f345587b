import Foundation
import BPTT
import XCTest

/// `bptt gradcheck --case CASE.json --answers MINE.json`: gradients computed elsewhere, checked
/// against the library's on a dumped case.
final class AnswerCheckTests: XCTestCase, RunsBPTT {
    var dir: URL { testTemporaryDirectory.appendingPathComponent("bptt-answers") }
    override func setUpWithError() throws { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }
    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    /// A correct dump is its own correct answers, for every cell.
    func testEveryCellsDumpIsAnsweredCorrectly() throws {
        for model in CellKind.names {
            XCTAssertEqual(try bptt(["gradcheck", "--model", model, "--dump", path("\(model).json"), "--length", "3"]).status, 0, model)
            let r = try bptt(["gradcheck", "--case", path("\(model).json"), "--answers", path("\(model).json"), "--json"])
            XCTAssertEqual(r.status, 0, "\(model): \(r.stdout)\(r.stderr)")
            let j = try lastJSON(r)
            XCTAssertEqual(j["passed"] as? Bool, true, model)
            XCTAssertFalse((j["steps"] as? [Any] ?? []).isEmpty, "\(model): the dump carries no per-step adjoints")
        }
    }

    /// For every catalogued mistake, the dump of the broken pass is rejected at the mistake's tag.
    func testEveryBreakIsRejectedAtItsTag() throws {
        // an answers file holds parameter gradients and per-step adjoints, not ∂L/∂x_t, so a mistake
        // in dx_t alone (rnn.dx:accumulate) is for gradcheck itself, not for --answers
        for b in Break.allCases where b.tag != "rnn.dx" {
            for model in Set([b.models[0], b.models.last!]).sorted() {
                let file = path("\(model)-\(b.name).json")
                _ = try bptt(["gradcheck", "--model", model, "--break", b.name, "--dump", file])
                let r = try bptt(["gradcheck", "--case", file, "--answers", file, "--json"])
                XCTAssertEqual(r.status, 1, "\(b.name) on \(model): \(r.stdout)\(r.stderr)")
                let j = try lastJSON(r)
                let d = try XCTUnwrap(j["first_divergence"] as? [String: Any], "\(b.name) on \(model)")
                XCTAssertEqual(d["tag"] as? String, b.tag, "\(b.name) on \(model): \(d)")
                XCTAssertTrue(r.stdout.contains("(\(b.tag))"), "\(b.name) on \(model): \(r.stdout)")
            }
        }
    }

    /// Without per-step adjoints the first wrong tensor is named; a constant factor is named as one
    /// of the case's sizes; a missing tensor fails.
    func testFactorsMissingTensorsAndGradientsAlone() throws {
        let file = path("lstm.json")
        XCTAssertEqual(try bptt(["gradcheck", "--model", "lstm", "--dump", file, "--length", "5", "--batch", "2"]).status, 0)
        var dump = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: file))) as? [String: Any])
        var grads = try XCTUnwrap(dump["gradients"] as? [String: [String: Any]])
        func scaled(_ t: [String: Any], _ s: Double) -> [String: Any] { ["shape": t["shape"]!, "data": (t["data"] as! [Double]).map { $0 * s }] }
        grads["W_fh"] = scaled(grads["W_fh"]!, 1.0 / 5)       // 1/T
        grads["b_o"] = scaled(grads["b_o"]!, 2)               // B
        grads["W_ix"] = nil
        dump = ["gradients": grads]
        let answers = path("mine.json")
        try JSONSerialization.data(withJSONObject: dump).write(to: URL(fileURLWithPath: answers))
        let r = try bptt(["gradcheck", "--case", file, "--answers", answers, "--json"])
        XCTAssertEqual(r.status, 1, r.stdout)
        let j = try lastJSON(r)
        XCTAssertEqual(j["missing"] as? [String], ["W_ix"])
        let factors = try XCTUnwrap(j["factors"] as? [String: [String: Any]])
        XCTAssertEqual(factors["W_fh"]?["name"] as? String, "1/T", r.stdout)
        XCTAssertEqual(factors["b_o"]?["name"] as? String, "B", r.stdout)
        XCTAssertEqual((j["first_divergence"] as? [String: Any])?["tag"] as? String, "lstm.dW_x", r.stdout)   // W_ix: first in order
        XCTAssertTrue(r.stdout.contains("every element is the library's × 0.2 (= 1/T)"), r.stdout)
        // answers off by a relative 1e-5 (alternating signs: no constant factor) fail the Float64 mark
        // and pass the Float32 one
        var rounded = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: file))) as? [String: Any])
        let g32 = (rounded["gradients"] as! [String: [String: Any]]).mapValues { t in
            ["shape": t["shape"]!, "data": (t["data"] as! [Double]).enumerated().map { $1 * (1 + ($0 % 2 == 0 ? 1e-5 : -1e-5)) }] as [String: Any]
        }
        rounded = ["gradients": g32]
        try JSONSerialization.data(withJSONObject: rounded).write(to: URL(fileURLWithPath: answers))
        XCTAssertEqual(try bptt(["gradcheck", "--case", file, "--answers", answers]).status, 1)
        rounded["dtype"] = "float32"
        try JSONSerialization.data(withJSONObject: rounded).write(to: URL(fileURLWithPath: answers))
        XCTAssertEqual(try bptt(["gradcheck", "--case", file, "--answers", answers]).status, 0)
    }

    /// Bad input: one line naming the file and field, exit 2.
    func testBadInputIsOneLineNamingTheField() throws {
        let file = path("rnn.json")
        XCTAssertEqual(try bptt(["gradcheck", "--model", "rnn", "--dump", file]).status, 0)
        let answers = path("bad.json")
        let cases: [(String, [String], String)] = [
            (#"{"gradients": {"W_hh": {"shape": [5, 4], "data": []}}}"#, [], "gradients.W_hh.shape"),
            (#"{"gradients": {"W_xx": {"shape": [1], "data": [0]}}}"#, [], "gradients.W_xx"),
            (#"{"gradients": {}, "steps": {"zz": []}}"#, [], "steps.zz"),
            (#"{"gradients": {}, "steps": {"h": [[[1]]]}}"#, [], "steps.h"),
            (#"{"gradients": {}, "dtype": "float16"}"#, [], "dtype"),
            (#"{"gradients": "#, [], "not JSON"),
            (#"{}"#, [], "gradients"),
            (#"{"gradients": {}}"#, ["--model", "lstm"], "--model"),
        ]
        for (text, extra, field) in cases {
            try text.write(toFile: answers, atomically: true, encoding: .utf8)
            let r = try bptt(["gradcheck", "--case", file, "--answers", answers] + extra)
            XCTAssertEqual(r.status, 2, "\(text): \(r.stdout)")
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, "\(text): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(field), "\(text): \(r.stderr)")
        }
        let r = try bptt(["gradcheck", "--case", answers, "--answers", file])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("bad.json"), r.stderr)
        XCTAssertEqual(try bptt(["gradcheck", "--answers", file]).status, 2)
    }
}
