import BPTT
import MGU
import XCTest

final class TrainAndExplainTests: XCTestCase {
    /// The same cell trains on palindromes through the library, with no more code.
    func testTrainsOnPalindromes() throws {
        var c = TrainConfig(); (c.model, c.length, c.hidden, c.batch, c.steps, c.optimizer.lr) = ("mgu", 4, 16, 32, 500, 1e-2)
        let trainer = try PalindromeTrainer(c) { MGU<Float>(inputSize: $0, hiddenSize: c.hidden) }
        for _ in 0..<c.steps { trainer.trainStep() }
        XCTAssertGreaterThan(trainer.evaluate().accuracy, 0.8)   // chance: 0.1
    }
    /// `bptt explain` for the cell: every equation with its numbers, forward then backward.
    func testExplains() {
        var spec = Walkthrough.Spec(); (spec.length, spec.input, spec.classes) = (2, 1, 3)
        let w = Walkthrough.make(spec) { MGU<Double>(inputSize: $0, hiddenSize: 2) }
        print(w.sections.map(w.text).joined(separator: "\n") + "\n" + w.checkText)
        XCTAssertTrue(w.sections.flatMap(\.items).contains { $0.tag == "mgu.df" } && w.maxRelError < 1e-7)
    }
}
