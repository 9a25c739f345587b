import XCTest
import BPTT

/// `CellCheck`, the one call a cell of your own is checked with (Examples/CustomCell uses it).
final class CellCheckTests: XCTestCase {
    /// A library cell with one wrong backward line: dh_{t−1} scaled by 1.01 after `stepBackward`.
    struct ScaledDhPrev: RecurrentCell {
        let inner: RNN<Double>
        var inputSize: Int { inner.inputSize }
        var hiddenSize: Int { inner.hiddenSize }
        var hQuantity: Quantity { inner.hQuantity }
        func gradientTag(_ name: String) -> String? { name == "h0" ? "rnn.dhprev" : nil }
        func initialParameters(_ i: Initializer, rng: inout RNG) -> RNN<Double>.Parameters { inner.initialParameters(i, rng: &rng) }
        func makeStepCache(batch B: Int) -> RNN<Double>.StepCache { inner.makeStepCache(batch: B) }
        func makeWorkspace() -> RNN<Double>.Workspace { inner.makeWorkspace() }
        func beginForward(_ p: RNN<Double>.Parameters, batch B: Int, _ ws: inout RNN<Double>.Workspace) { inner.beginForward(p, batch: B, &ws) }
        func beginBackward(_ p: RNN<Double>.Parameters, batch B: Int, steps: Int, _ ws: inout RNN<Double>.Workspace) {
            inner.beginBackward(p, batch: B, steps: steps, &ws)
        }
        func stepForward<P: CellProbe>(_ x: Matrix<Double>, _ prev: HiddenState<Double>, _ next: inout HiddenState<Double>, _ cache: inout RNN<Double>.StepCache,
                                       _ p: RNN<Double>.Parameters, _ ws: inout RNN<Double>.Workspace, t: Int, _ probe: P) {
            inner.stepForward(x, prev, &next, &cache, p, &ws, t: t, probe)
        }
        func stepBackward<P: CellProbe>(_ d: HiddenState<Double>, _ dPrev: inout HiddenState<Double>, _ dx: inout Matrix<Double>, inputGradient: Bool,
                                        _ x: Matrix<Double>, _ prev: HiddenState<Double>, _ next: HiddenState<Double>, _ cache: RNN<Double>.StepCache,
                                        _ p: RNN<Double>.Parameters, _ grads: inout RNN<Double>.Parameters, _ ws: inout RNN<Double>.Workspace, t: Int, _ probe: P) {
            inner.stepBackward(d, &dPrev, &dx, inputGradient: inputGradient, x, prev, next, cache, p, &grads, &ws, t: t, probe)
            dPrev.h.scale(by: 1.01)
        }
    }

    func testLibraryCellsPassAndAWrongLineIsNamed() {
        let r = CellCheck.run { RNN<Double>(inputSize: $0, hiddenSize: 4) }
        XCTAssertTrue(r.passed, r.message)
        XCTAssertFalse(r.steps.isEmpty)
        XCTAssertTrue(CellCheck.run { LSTM<Double>(inputSize: $0, hiddenSize: 3) }.passed)
        XCTAssertTrue(CellCheck.run { GRU<Double>(inputSize: $0, hiddenSize: 3, formulation: .cho) }.passed)
        let bad = CellCheck.run { ScaledDhPrev(inner: RNN<Double>(inputSize: $0, hiddenSize: 4)) }
        XCTAssertFalse(bad.passed)
        XCTAssertEqual(bad.firstStep?.t, 3, bad.message)                 // T = 4: dh_3 is the first wrong adjoint
        XCTAssertEqual(bad.tag, "rnn.dh", bad.message)
        XCTAssertTrue(bad.message.contains("look at (rnn.dhprev) first"), bad.message)
        // without per-step adjoints, the first wrong tensor is named by the cell's gradientTag
        XCTAssertEqual(CellCheck.run(perStep: false) { ScaledDhPrev(inner: RNN<Double>(inputSize: $0, hiddenSize: 4)) }.passed, false)
    }

    func testDefinedQuantitiesAreStableAndApart() {
        let a = Quantity.define("f", forward: ("x.f", "f"), backward: ("x.df", "df"))
        XCTAssertEqual(a, Quantity.define("f", forward: ("x.f", "f"), backward: ("x.df", "df")))
        XCTAssertNotEqual(a, Quantity.define("f", forward: ("y.f", "f"), backward: ("y.df", "df")))
        XCTAssertFalse(Quantity.allCases.contains(a))
        XCTAssertEqual(a.adjointTag, "x.df")
        XCTAssertEqual(Quantity.rnnH.info.forward?.tag, "rnn.h")
    }
}
