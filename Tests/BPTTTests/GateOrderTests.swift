import Foundation
import XCTest
import BPTT

/// The LSTM's gate order is stated once (i, f, g, o, as PyTorch's `nn.LSTM`) and held everywhere:
/// the derivation, the fused layout, the parameters (checkpoints, gradcheck) and `explain`.
final class GateOrderTests: XCTestCase {
    static let order = ["i", "f", "g", "o"]

    /// The gate letter of a parameter name: W_ix → i, b_g → g.
    static func gate(_ name: String) -> String {
        name.hasPrefix("b_") ? String(name.dropFirst(2).prefix(1)) : String(name.dropFirst(2).prefix(1))
    }

    func testTheLSTMGateOrderIsOneOrderEverywhere() throws {
        XCTAssertEqual(LSTM<Double>.Gates.order, Self.order)
        // the fused layout: column blocks in that order
        let G = LSTM<Double>(inputSize: 2, hiddenSize: 3).gateLayout
        XCTAssertEqual([G.i, G.f, G.g, G.o], [0, 3, 6, 9])
        // the parameters (checkpoint tensors, gradcheck rows): W_⋆x, W_⋆h, b_⋆ per gate, in that order
        var rng = RNG(seed: 1)
        let p = LSTM<Double>(inputSize: 2, hiddenSize: 3).initialParameters(.pytorch, rng: &rng)
        let gates = p.tensorNames.map(Self.gate)
        XCTAssertEqual(gates, Self.order.flatMap { [$0, $0, $0] }, "parameter order: \(p.tensorNames)")
        // the derivation states the stacking [W_ix; W_fx; W_gx; W_ox] and the order in words
        let md = try String(contentsOf: TraceabilityTests.root.appendingPathComponent("derivations/lstm.md"), encoding: .utf8)
        XCTAssertTrue(md.contains(#"W_x = [W_{ix}; W_{fx}; W_{gx}; W_{ox}]"#), "lstm.md must stack W_x as i, f, g, o")
        XCTAssertTrue(md.contains(#"A_t = [a^i_t, a^f_t, a^g_t, a^o_t]"#), "lstm.md must lay out A_t as i, f, g, o")
        XCTAssertTrue(md.contains("**i, f, g, o**"), "lstm.md must state the order once in words")
        // explain: the fused gradient blocks are described in that order, and the gates' adjoints
        // of one step come in that order too
        var spec = Walkthrough.Spec()
        spec.model = "lstm"
        let w = Walkthrough.make(spec)
        let notes = w.sections.flatMap(\.items).compactMap(\.note).filter { $0.contains("blocks of") }
        XCTAssertFalse(notes.isEmpty, "explain describes the fused blocks")
        for n in notes { XCTAssertTrue(n.contains("i, f, g, o"), "explain: \(n)") }
        let step = try XCTUnwrap(w.sections.first { $0.title == "backward, t = 3" })
        let da = step.items.map(\.tag).filter { $0.hasPrefix("lstm.da_") }
        XCTAssertEqual(da, Self.order.map { "lstm.da_" + $0 }, "explain's order of the gates' adjoints")
    }
}
