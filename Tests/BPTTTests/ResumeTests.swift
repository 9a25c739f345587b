import Foundation
import XCTest
import BPTT

/// Resuming is exact: 2N steps straight equal N steps, a checkpoint, and N more — bit for bit.
final class ResumeTests: XCTestCase {
    func config(_ optim: OptimizerKind, model: String = "rnn") -> TrainConfig {
        var c = TrainConfig()
        c.model = model
        c.length = 4; c.batch = 16; c.hidden = 8; c.steps = 12
        c.optimizer = OptimizerConfig(kind: optim, lr: optim == .sgd || optim == .momentum || optim == .nesterov ? 0.05 : 1e-2)
        c.evalSize = 32
        return c
    }

    func testResumeIsExactForEveryOptimiser() throws {
        for optim in OptimizerKind.allCases {
            try checkResume(config(optim))
        }
    }

    func testResumeIsExactWithDropoutAndGatedCells() throws {
        var c = config(.adam, model: "lstm")
        c.layers = 2; c.dropout = 0.3
        try checkResume(c)
        try checkResume(config(.rmsprop, model: "gru"))
    }

    func checkResume(_ c: TrainConfig, file: StaticString = #filePath, line: UInt = #line) throws {
        let straight = try PalindromeTrainer(c)
        for _ in 0..<c.steps { straight.trainStep() }

        let first = try PalindromeTrainer(c)
        for _ in 0..<(c.steps / 2) { first.trainStep() }
        let path = testTemporaryDirectory.appendingPathComponent("resume-\(getpid()).ckpt").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try first.checkpoint().write(to: path)
        let resumed = try PalindromeTrainer(resuming: try Checkpoint.read(from: path), steps: c.steps, source: path)
        XCTAssertEqual(resumed.step, c.steps / 2, file: file, line: line)
        while resumed.step < c.steps { resumed.trainStep() }

        let a = straight.checkpoint(), b = resumed.checkpoint()
        XCTAssertEqual(a.tensors, b.tensors, "\(c.model) \(c.optimizer.kind): parameters differ after resuming", file: file, line: line)
        XCTAssertEqual(a.optimizerState1, b.optimizerState1, file: file, line: line)
        XCTAssertEqual(a.optimizerState2, b.optimizerState2, file: file, line: line)
        XCTAssertEqual(a, b, file: file, line: line)
        XCTAssertNotEqual(a.tensors, first.checkpoint().tensors, "training must have moved the parameters", file: file, line: line)
    }

    func testNonFiniteStepIsCaughtAndNotApplied() throws {
        // A ReLU RNN with lr 1e9: W_hh explodes, h overflows within T steps.
        var c = config(.rmsprop, model: "rnn-relu")
        c.optimizer.lr = 1e9
        let t = try PalindromeTrainer(c)
        var caught: StepStats? = nil
        var before = t.checkpoint().tensors
        for _ in 0..<200 {
            let s = t.trainStep()
            if s.nonFinite != nil { caught = s; break }
            before = t.checkpoint().tensors
        }
        let s = try XCTUnwrap(caught, "a ReLU RNN at lr 1e9 should diverge")
        XCTAssertNotNil(s.nonFinite)
        if !(s.nonFinite!.hasPrefix("parameter")) {
            XCTAssertEqual(t.checkpoint().tensors, before, "a non-finite step must not change the parameters")
        }
    }
}
