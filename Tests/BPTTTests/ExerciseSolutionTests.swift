import Foundation
import XCTest
import BPTT

/// Examples/Exercises cannot rot: its three blanked cells, with every blank filled by the
/// library's line, are the files in ExerciseSolutions/ (compiled here, in the root suite), and
/// those pass `CellCheck` as the exercises' own tests require.
final class ExerciseSolutionTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let cells = ["RNN", "LSTM", "GRU"]

    /// One blank: `… // TODO (tag): what to write — forward (tag): the line it undoes`.
    struct Blank { let tag: String; let line: Int }

    /// Walks the exercise and the solved file together: every line but a blank must be the same,
    /// and a blank with tag X stands for one or more solved lines ending in `// (X)`.
    /// Returns the blanks, or the first difference.
    static func align(exercise: [String], solved: [String]) -> Result<[Blank], AlignmentError> {
        var blanks: [Blank] = []
        var j = 0
        for (i, line) in exercise.enumerated() {
            if let tag = blankTag(line) {
                guard line.contains("— forward (") else { return .failure(.init("exercise line \(i + 1): the blank (\(tag)) restates no forward line")) }
                let start = j
                while j < solved.count, solved[j].hasSuffix("// (\(tag))"),
                      i + 1 >= exercise.count || solved[j] != exercise[i + 1] { j += 1 }
                if j == start { return .failure(.init("exercise line \(i + 1): no solved line ending in // (\(tag)) at solved line \(j + 1)")) }
                blanks.append(Blank(tag: tag, line: i + 1))
            } else {
                guard j < solved.count, solved[j] == line else {
                    return .failure(.init("exercise line \(i + 1) differs from solved line \(j + 1):\n  \(line)\n  \(j < solved.count ? solved[j] : "<end>")"))
                }
                j += 1
            }
        }
        if j != solved.count { return .failure(.init("solved file has \(solved.count - j) extra lines from line \(j + 1)")) }
        return .success(blanks)
    }
    struct AlignmentError: Error { let text: String; init(_ t: String) { text = t } }
    static func blankTag(_ line: String) -> String? {
        guard let r = line.range(of: "// TODO ("), let close = line[r.upperBound...].firstIndex(of: ")") else { return nil }
        return String(line[r.upperBound..<close])
    }
    static func lines(_ path: String) throws -> [String] {
        try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8).components(separatedBy: "\n")
    }

    /// (a) each solved file is its exercise with the blanks filled in, and nothing else.
    func testSolvedFilesAreTheExercisesFilledIn() throws {
        let expected: [String: Int] = ["RNN": 6, "LSTM": 15, "GRU": 14]
        for cell in Self.cells {
            let exercise = try Self.lines("Examples/Exercises/Sources/Exercises/Exercise\(cell).swift")
            let solved = try Self.lines("Tests/BPTTTests/ExerciseSolutions/Exercise\(cell).swift").drop { $0.hasPrefix("// SOLUTION:") }
            XCTAssertFalse(solved.contains { $0.contains("// TODO (") }, "\(cell): the solved file still has a blank")
            switch Self.align(exercise: exercise, solved: Array(solved)) {
            case .failure(let e): XCTFail("Exercise\(cell).swift and its solution differ: \(e.text)")
            case .success(let blanks): XCTAssertEqual(blanks.count, expected[cell], "\(cell): blanks \(blanks.map(\.tag))")
            }
        }
    }

    /// The alignment rejects a solved file that changed a line outside the blanks, or left one empty.
    func testAlignmentCatchesADrift() {
        let ex = ["a", "x = 0  // TODO (t.x): x = 1 — forward (t.y): y = x", "b"]
        XCTAssertNoThrow(try Self.align(exercise: ex, solved: ["a", "x = 1  // (t.x)", "b"]).get())
        XCTAssertThrowsError(try Self.align(exercise: ex, solved: ["a", "x = 1  // (t.x)", "c"]).get())
        XCTAssertThrowsError(try Self.align(exercise: ex, solved: ["a", "b"]).get())
        XCTAssertThrowsError(try Self.align(exercise: ["x = 0  // TODO (t.x): x = 1"], solved: ["x = 1  // (t.x)"]).get())
    }

    /// (b) the filled-in cells pass the exercises' check.
    func testSolvedExercisesPassCellCheck() {
        let reports = [CellCheck.run { ExerciseRNN<Double>(inputSize: $0, hiddenSize: 5) },
                       CellCheck.run { ExerciseLSTM<Double>(inputSize: $0, hiddenSize: 5) },
                       CellCheck.run { ExerciseGRU<Double>(inputSize: $0, hiddenSize: 5) }]
        for r in reports {
            XCTAssertTrue(r.passed, r.message)
            XCTAssertNil(r.line, r.message)
            XCTAssertFalse(r.steps.isEmpty, r.message)
        }
    }

    /// The filled LSTM with a wrong dc_{t−1} line (scaled by 1.01): every adjoint of step T agrees,
    /// and the report names the dc_{t−1} line, not the dc_t line it first shows in.
    struct WrongCarry: RecurrentCell {
        typealias L = ExerciseLSTM<Double>
        let inner: L
        var inputSize: Int { inner.inputSize }
        var hiddenSize: Int { inner.hiddenSize }
        var hQuantity: Quantity { inner.hQuantity }
        func gradientTag(_ name: String) -> String? { inner.gradientTag(name) }
        func initialParameters(_ i: Initializer, rng: inout RNG) -> L.Parameters { inner.initialParameters(i, rng: &rng) }
        func makeStepCache(batch B: Int) -> L.StepCache { inner.makeStepCache(batch: B) }
        func makeWorkspace() -> L.Workspace { inner.makeWorkspace() }
        func beginBackward(_ p: L.Parameters, batch B: Int, steps: Int, _ ws: inout L.Workspace) { inner.beginBackward(p, batch: B, steps: steps, &ws) }
        func stepForward<P: CellProbe>(_ x: Matrix<Double>, _ prev: L.State, _ next: inout L.State, _ cache: inout L.StepCache,
                                       _ p: L.Parameters, _ ws: inout L.Workspace, t: Int, _ probe: P) {
            inner.stepForward(x, prev, &next, &cache, p, &ws, t: t, probe)
        }
        func stepBackward<P: CellProbe>(_ d: L.State, _ dPrev: inout L.State, _ dx: inout Matrix<Double>, inputGradient: Bool,
                                        _ x: Matrix<Double>, _ prev: L.State, _ next: L.State, _ cache: L.StepCache,
                                        _ p: L.Parameters, _ grads: inout L.Parameters, _ ws: inout L.Workspace, t: Int, _ probe: P) {
            inner.stepBackward(d, &dPrev, &dx, inputGradient: inputGradient, x, prev, next, cache, p, &grads, &ws, t: t, probe)
            dPrev.c.scale(by: 1.01)
        }
    }

    func testAWrongCarryNamesTheLineThatPassesItBack() {
        let r = CellCheck.run { WrongCarry(inner: ExerciseLSTM<Double>(inputSize: $0, hiddenSize: 5)) }
        XCTAssertFalse(r.passed)
        XCTAssertEqual(r.firstStep?.t, 3, r.message)
        XCTAssertEqual(r.tag, "lstm.dc", r.message)
        XCTAssertEqual(r.line, "lstm.dcprev", r.message)
        XCTAssertTrue(r.message.contains("look at (lstm.dcprev) first"), r.message)
    }
}
