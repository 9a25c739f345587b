import BPTT
import MGU
import XCTest

final class MGUTests: XCTestCase {
    /// Every parameter, every x_t and h0 in Float64 against central differences, and every per-step adjoint.
    func testBackwardAgreesWithCentralDifferences() {
        let report = CellCheck.run { MGU<Double>(inputSize: $0, hiddenSize: 5) }
        XCTAssertTrue(report.passed, report.message)
    }
    /// Through the library with no more code: the cell trains on palindromes (chance: 0.1), and is
    /// walked through as `bptt explain` does (every equation with its numbers, then the check).
    func testTrainsAndExplains() throws {
        var c = TrainConfig(); (c.model, c.length, c.hidden, c.batch, c.steps, c.optimizer.lr) = ("mgu", 4, 16, 32, 500, 1e-2)
        let trainer = try PalindromeTrainer(c) { MGU<Float>(inputSize: $0, hiddenSize: c.hidden) }
        XCTAssertGreaterThan(trainer.trainAndEvaluate().accuracy, 0.8)
        var spec = Walkthrough.Spec(); (spec.length, spec.input, spec.classes) = (2, 1, 3)
        let walk = Walkthrough.make(spec) { MGU<Double>(inputSize: $0, hiddenSize: 2) }
        print(walk)
        XCTAssertTrue(walk.sections.flatMap(\.items).contains { $0.tag == "mgu.df" },
                      "the walk-through names no equation (mgu.df): if you renamed the cell's tags, name one of yours here")
        XCTAssertLessThan(walk.maxRelError, 1e-7, "the walk-through's gradients disagree with central differences")
    }
}
