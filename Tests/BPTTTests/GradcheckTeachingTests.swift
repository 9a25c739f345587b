import BPTT
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest

/// The step-size sweep and kink reporting of `derivations/gradcheck.md`.
final class GradcheckTeachingTests: XCTestCase, RunsBPTT {
    // MARK: kinks

    /// L(θ) = 3·max(θ₀, 0) + ½θ₁²: θ₀ = 1e-7 sits on the kink for every step tried.
    func testAnElementAtAKinkIsReportedApartWithOneSidedDifferences() {
        let value = Matrix<Double>(rows: 1, cols: 2, data: [1e-7, 0.7])
        let analytic = Matrix<Double>(rows: 1, cols: 2, data: [3, 0.7])
        let results = GradientCheck.run([.init(name: "theta", value: value, analytic: analytic)]) { v in
            let t = v[0].data
            return .init(loss: 3 * max(t[0], 0) + 0.5 * t[1] * t[1], pattern: t[0] > 0 ? 1 : 0)
        }
        let r = results[0]
        XCTAssertEqual(r.kinks, 1)
        XCTAssertTrue(r.passed, "a kink must not fail the check")
        XCTAssertEqual(r.worstIndex, 1, "the smooth element is still checked")
        let k = r.kinkEntries[0]
        XCTAssertEqual(k.tensor, "theta")
        XCTAssertEqual(k.index, 0)
        XCTAssertEqual(k.analytic, 3)
        XCTAssertEqual(k.step, GradientCheck.defaultStep / 100, accuracy: 1e-18)
        XCTAssertEqual(k.right, 3, accuracy: 1e-9, "θ lies right of the kink: the right slope is the analytic one")
        XCTAssertEqual(k.left, 3 * 1e-7 / k.step, accuracy: 1e-9, "the left difference crosses the kink")
        let json = GradientCheck.kinksJSON(results).serialized()
        XCTAssertTrue(json.contains("\"tensor\":\"theta\"") && json.contains("\"index\":0") && json.contains("\"left\"") && json.contains("\"right\""), json)
        XCTAssertEqual(GradientCheck.kinkLines(results).count, 2)
    }

    /// The MLP checks (ReLU, LeakyReLU) with a step so large that nudges cross kinks: those entries
    /// are listed under "kinks" in the JSON, beside the existing fields, and in the table.
    func testKinksAreListedInTheJSONAndTheTable() throws {
        let r = try bptt(["gradcheck", "--model", "mlp", "--step", "0.5", "--json"])
        let j = try lastJSON(r)
        for key in ["model", "max_rel_error", "threshold", "passed", "tensors"] { XCTAssertNotNil(j[key], key) }
        let kinks = try XCTUnwrap(j["kinks"] as? [[String: Any]])
        XCTAssertFalse(kinks.isEmpty, "no nudge crossed a kink even with a large step")
        for k in kinks {
            XCTAssertTrue((k["tensor"] as? String)?.contains("relu") == true, "\(k)")   // only piecewise-linear cases have kinks
            XCTAssertNotNil(k["index"] as? Int)
            for key in ["analytic", "left", "right"] { XCTAssertTrue((k[key] as? Double)?.isFinite == true, key) }
        }
        XCTAssertTrue(r.stdout.contains("at a kink"), r.stdout)
        // the default checks of the piecewise-linear models still pass, and say which entries sat on a kink (usually none)
        for model in ["rnn-relu", "mlp", "gan"] {
            let d = try bptt(["gradcheck", "--model", model, "--json"])
            XCTAssertEqual(d.status, 0, model)
            XCTAssertNotNil(try lastJSON(d)["kinks"] as? [Any], model)
        }
    }

    // MARK: step-size sweep

    func testEpsilonSweepShowsTheVInBothPrecisions() {
        var spec = SequenceCheckSpec(model: .rnn)
        spec.batch = 2; spec.length = 3; spec.input = 1; spec.hidden = 2; spec.classes = 2
        let report = EpsilonSweep.run(spec)
        XCTAssertEqual(report.series.count, 4)
        for s in report.series {
            let e = s.maxRelError
            XCTAssertEqual(e.count, EpsilonSweep.steps.count)
            let k = e.indices.min { e[$0] < e[$1] }!
            // a V: the bottom is inside the range, both ends are far above it
            XCTAssertTrue(k > 0 && k < e.count - 1, "\(s.name): minimum at an end: \(e)")
            XCTAssertGreaterThan(e[0], 20 * e[k], "\(s.name): no truncation side: \(e)")
            XCTAssertGreaterThan(e[e.count - 1], 20 * e[k], "\(s.name): no round-off side: \(e)")
        }
        let f64 = report.series.filter { $0.precision == "float64" }, f32 = report.series.filter { $0.precision == "float32" }
        // three-point truncation ∝ h²: 1e-1 → 1e-2 divides the error by ~100
        let three = f64.first { $0.stencil == .threePoint }!.maxRelError
        XCTAssertGreaterThan(three[0] / three[1], 30)
        XCTAssertLessThan(three[0] / three[1], 300)
        // round-off: Float32 bottoms out far above Float64, and above the pass mark
        XCTAssertGreaterThan(f32.map(\.best).min()!, GradientCheck.threshold)
        XCTAssertLessThan(f64.map(\.best).min()!, 1e-9)
        XCTAssertLessThan(report.checkerError, GradientCheck.threshold)
        // Float32's optimum lies at a larger step (round-off is 5e8 times larger)
        XCTAssertGreaterThan(f32.first { $0.stencil == .threePoint }!.bestStep, f64.first { $0.stencil == .threePoint }!.bestStep)
        // below its resolution a Float32 nudge vanishes (θ + h rounds to θ): numeric 0, error 1
        XCTAssertEqual(f32[0].medianRelError.last!, 1, accuracy: 1e-6)
        // the typical element traces the textbook V too
        let median = f64.first { $0.stencil == .threePoint }!.medianRelError
        let k = median.indices.min { median[$0] < median[$1] }!
        XCTAssertTrue(k > 0 && k < median.count - 1 && median[0] > 100 * median[k] && median.last! > 100 * median[k], "\(median)")
    }

    func testEpsilonSweepCommandWritesJSONAndAWellFormedSVG() throws {
        let svg = testTemporaryDirectory.appendingPathComponent("bptt-eps-\(UUID().uuidString).svg").path
        defer { try? FileManager.default.removeItem(atPath: svg) }
        let r = try bptt(["gradcheck", "--model", "gru", "--epsilon-sweep", "--length", "3", "--hidden", "3", "--json", "--svg", svg])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("← the checker"), r.stdout)
        let j = try lastJSON(r)
        XCTAssertEqual((j["steps"] as? [Double])?.count, 10)
        let series = try XCTUnwrap(j["series"] as? [[String: Any]])
        XCTAssertEqual(Set(series.map { "\($0["precision"]!)/\($0["stencil"]!)" }), ["float64/3", "float64/5", "float32/3", "float32/5"])
        XCTAssertEqual(j["checker_step"] as? Double, GradientCheck.defaultStep)
        let parser = XMLParser(data: try Data(contentsOf: URL(fileURLWithPath: svg)))
        XCTAssertTrue(parser.parse(), "\(parser.parserError.map { "\($0)" } ?? "")")
        let bad = try bptt(["gradcheck", "--model", "mlp", "--epsilon-sweep"])
        XCTAssertEqual(bad.status, 2)
    }
}
