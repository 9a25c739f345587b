import XCTest
import BPTT

/// Variable-length batches (`derivations/masking.md`): finite-difference checks with mixed
/// lengths and garbage in the padded positions, for every cell, one and two directions.
final class MaskingTests: XCTestCase {
    static let lengths = [4, 2, 1, 3]   // T = 4: one full row, the others padded

    func spec(_ model: CellKind, layers: Int = 1, bidirectional: Bool, output: SequenceOutput = .last,
              seed: UInt64 = 5) -> SequenceCheckSpec {
        var s = SequenceCheckSpec(model: model)
        s.layers = layers
        s.bidirectional = bidirectional
        s.output = output
        s.length = 4
        s.batch = 4
        s.input = 2
        s.hidden = 3
        s.classes = 3
        s.lengths = Self.lengths
        s.seed = seed
        return s
    }

    func check(_ s: SequenceCheckSpec, file: StaticString = #filePath, line: UInt = #line) {
        for r in SequenceGradientCheck.run(s).results {
            XCTAssertLessThan(r.maxRelError, GradientCheck.threshold,
                              "\(s.model.rawValue) bi=\(s.bidirectional) layers=\(s.layers) \(r.name): \(r.maxRelError) (analytic \(r.analytic), numeric \(r.numeric))",
                              file: file, line: line)
        }
    }

    func testMaskedGradientsEveryCellBothDirections() {
        for model in [CellKind.rnn, .rnnReLU, .lstm, .gru, .gruCho] {
            check(spec(model, bidirectional: false))
            check(spec(model, bidirectional: true))
        }
        check(spec(.lstm, layers: 2, bidirectional: true, seed: 6))
        check(spec(.gru, layers: 2, bidirectional: false, output: .everyStep, seed: 7))
    }

    /// Padded inputs get exactly zero gradient, analytic and numeric; run without lengths, the
    /// same garbage moves the loss, so a leaking implementation would fail this test.
    func testPaddingNeverLeaks() {
        struct V: CellVisitor {
            typealias Real = Double
            let s: SequenceCheckSpec
            func visit<C: RecurrentCell>(_ make: @escaping (Int) -> C) throws -> (analytic: Double, numeric: Double, leak: Double) where C.Real == Double {
                let c = SequenceCheckCase(s, make: make)
                let a = c.analytic()
                var maxA = 0.0, maxN = 0.0, maxLeak = 0.0
                for t in 0..<s.length { for b in 0..<s.batch where t >= s.lengths![b] { for d in 0..<s.input {
                    maxA = max(maxA, abs(a.dxs[t][b, d]))
                    var plus = c.xs, minus = c.xs
                    plus[t][b, d] += 1e-3; minus[t][b, d] -= 1e-3
                    maxN = max(maxN, abs(c.loss(params: c.params, xs: plus, h0s: c.h0s, c0s: c.c0s)
                                        - c.loss(params: c.params, xs: minus, h0s: c.h0s, c0s: c.c0s)))
                    // the same nudge with the mask switched off (a leaking model)
                    var ws = SequenceCheckCase<C>.Model.Workspace()
                    let lp = c.model.forward(plus, targets: c.targets, h0s: c.h0s, c0s: c.c0s, c.params, workspace: &ws).lossSum
                    let lm = c.model.forward(minus, targets: c.targets, h0s: c.h0s, c0s: c.c0s, c.params, workspace: &ws).lossSum
                    maxLeak = max(maxLeak, abs(lp - lm))
                } } }
                return (maxA, maxN, maxLeak)
            }
        }
        for model in [CellKind.rnn, .lstm, .gru] {
            for bi in [false, true] {
                let s = spec(model, bidirectional: bi)
                let r = try! model.accept(V(s: s), hidden: s.hidden)
                XCTAssertEqual(r.analytic, 0, "\(model) bi=\(bi): padded inputs have analytic gradient")
                XCTAssertEqual(r.numeric, 0, "\(model) bi=\(bi): padded inputs move the loss")
                XCTAssertGreaterThan(r.leak, 1e-8, "\(model) bi=\(bi): the unmasked model should feel the padding")
            }
        }
    }

    /// With lengths, the final state of row b equals the state of the same row run alone for ℓ_b
    /// steps; the reverse direction starts at the row's own end.
    func testFinalStateIsTrueLastState() {
        var rng = RNG(seed: 3)
        let stack = RecurrentStack<LSTM<Double>>(layers: 1, bidirectional: true, inputSize: 2, hiddenSize: 3) {
            LSTM(inputSize: $0, hiddenSize: 3)
        }
        let p = stack.initialParameters(.xavier, rng: &rng)
        let xs = (0..<4).map { _ in Matrix<Double>.normal(4, 2, std: 1, rng: &rng) }
        var ws = RecurrentStack<LSTM<Double>>.Workspace()
        var none: RNG? = nil
        stack.forward(xs, p, lengths: Self.lengths, workspace: &ws, dropoutRNG: &none)
        let final = stack.finalState(ws)
        for b in 0..<4 {
            let l = Self.lengths[b]
            let alone = (0..<l).map { t in Matrix<Double>(rows: 1, cols: 2, data: [xs[t][b, 0], xs[t][b, 1]]) }
            var ws1 = RecurrentStack<LSTM<Double>>.Workspace()
            stack.forward(alone, p, workspace: &ws1, dropoutRNG: &none)
            let f1 = stack.finalState(ws1)
            for j in 0..<6 { XCTAssertEqual(final[b, j], f1[0, j], accuracy: 1e-12, "row \(b) column \(j)") }
        }
    }

    /// `bptt gradcheck --model embedding|dropout|masked-lstm|masked-bilstm`: the whole sentiment
    /// model (garbage token ids in padding, fixed dropout masks) and masked LSTM stacks.
    func testTextGradchecks() {
        for m in TextGradientCheck.models {
            let rs = TextGradientCheck.run(m, seed: 1)
            XCTAssertFalse(rs.isEmpty)
            for r in rs { XCTAssertLessThan(r.maxRelError, GradientCheck.threshold, "\(m) \(r.name): \(r.maxRelError)") }
        }
    }
}
