import BPTT
import Exercises
import XCTest

/// Each test checks one exercise cell in Float64 against central differences: every parameter,
/// every x_t, the initial state(s) and every per-step adjoint. It fails at the first wrong or
/// missing line of the step backward, naming that line's tag (the `TODO (tag)` to look at).
final class ExercisesTests: XCTestCase {
    func check<C: RecurrentCell>(_ make: @escaping (Int) -> C, file: StaticString = #filePath, line: UInt = #line) where C.Real == Double {
        let report = CellCheck.run(make)
        if !report.passed {
            XCTFail("first wrong or missing line: (\(report.line ?? "?"))\n\(report.message)", file: file, line: line)
        }
    }

    func testRNN() { check { ExerciseRNN<Double>(inputSize: $0, hiddenSize: 5) } }
    func testLSTM() { check { ExerciseLSTM<Double>(inputSize: $0, hiddenSize: 5) } }
    func testGRU() { check { ExerciseGRU<Double>(inputSize: $0, hiddenSize: 5) } }
}
