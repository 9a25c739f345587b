import XCTest
import BPTT

/// Finite-difference checks (Float64, < 1e-7) of every parameter, input, h0 and c0 for the
/// LSTM, both GRUs, stacks of two levels and bidirectional stacks.
final class CellGradientTests: XCTestCase {
    func check(_ model: CellKind, layers: Int = 1, bidirectional: Bool = false, output: SequenceOutput = .last,
               length: Int = 4, seed: UInt64 = 1, file: StaticString = #filePath, line: UInt = #line) -> [GradientCheck.Result] {
        var spec = SequenceCheckSpec(model: model)
        spec.layers = layers
        spec.bidirectional = bidirectional
        spec.output = output
        spec.length = length
        spec.batch = 3
        spec.input = 2
        spec.hidden = 4
        spec.classes = 3
        spec.seed = seed
        let results = SequenceGradientCheck.run(spec).results
        for r in results {
            XCTAssertLessThan(r.maxRelError, GradientCheck.threshold,
                              "\(model.rawValue) layers=\(layers) bi=\(bidirectional) \(output) \(r.name): rel error \(r.maxRelError) (analytic \(r.analytic), numeric \(r.numeric))",
                              file: file, line: line)
        }
        return results
    }

    func testLSTMEveryTensor() {
        let r = check(.lstm)
        XCTAssertEqual(r.map(\.name), ["W_ix", "W_ih", "b_i", "W_fx", "W_fh", "b_f", "W_gx", "W_gh", "b_g",
                                       "W_ox", "W_oh", "b_o", "W_ph", "b_p", "x", "h0", "c0"])
        _ = check(.lstm, output: .everyStep, length: 3, seed: 2)
    }

    func testGRUBothFormulations() {
        let names = ["W_rx", "W_rh", "b_r", "W_zx", "W_zh", "b_z", "W_nx", "W_nh", "b_nx", "b_nh", "W_ph", "b_p", "x", "h0"]
        XCTAssertEqual(check(.gru).map(\.name), names)
        XCTAssertEqual(check(.gruCho).map(\.name), names)
        _ = check(.gru, output: .everyStep, length: 3, seed: 3)
        _ = check(.gruCho, output: .everyStep, length: 3, seed: 4)
    }

    func testTwoLevelStacks() {
        for model in [CellKind.rnn, .lstm, .gru, .gruCho] {
            let r = check(model, layers: 2, length: 3, seed: 5)
            XCTAssertTrue(r.contains { $0.name.hasSuffix("_l1") })
            XCTAssertTrue(r.contains { $0.name == "h0_l1" })
        }
    }

    func testBidirectional() {
        for model in [CellKind.lstm, .gru, .gruCho, .rnn] {
            let r = check(model, bidirectional: true, length: 3, seed: 6)
            XCTAssertTrue(r.contains { $0.name.hasSuffix("_l0_reverse") })
        }
        // two bidirectional levels, read out at every step
        let r = check(.lstm, layers: 2, bidirectional: true, output: .everyStep, length: 3, seed: 7)
        XCTAssertTrue(r.contains { $0.name == "c0_l1_reverse" })
    }

    /// A wrong backward must fail the check (the check can fail): perturb one analytic value.
    func testCheckDetectsAWrongGradient() {
        var spec = SequenceCheckSpec(model: .lstm)
        spec.hidden = 3
        let tensors = [GradientCheck.Tensor(name: "w", value: Matrix(rows: 1, cols: 1, data: [0.3]),
                                            analytic: Matrix(rows: 1, cols: 1, data: [2 * 0.3 + 1e-4]))]
        let r = GradientCheck.run(tensors) { v in .init(loss: v[0].data[0] * v[0].data[0]) }
        XCTAssertGreaterThan(r[0].maxRelError, GradientCheck.threshold)
    }
}
