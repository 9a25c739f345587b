import XCTest
import BPTT

/// Truncated BPTT against its definition (derivations/rnn.md): the sum over chunks of k steps,
/// aligned to the end of the sequence, of each chunk's full-BPTT gradient when the chunk is run
/// as its own sequence from its (fixed) start state.
final class TruncatedBPTTTests: XCTestCase {
    typealias Model = SequenceClassifier<RNN<Double>>

    func chunks(length T: Int, k: Int) -> [ClosedRange<Int>] {
        var out: [ClosedRange<Int>] = []
        var end = T
        while end >= 1 { out.append(max(1, end - k + 1)...end); end -= k }
        return out.reversed()
    }

    func testChunkBoundaries() {
        XCTAssertEqual(chunks(length: 7, k: 3), [1...1, 2...4, 5...7])
        XCTAssertEqual(chunks(length: 6, k: 3), [1...3, 4...6])
    }

    func check(output: Model.Output, length T: Int, k: Int, activation: RNN<Double>.Activation) {
        var c = rnnCase(activation, output: output, batch: 3, length: T, input: 2, hidden: 4, classes: 3, withH0: true, seed: 11)
        c.truncation = k
        let truncated = c.analytic()

        // The definition, chunk by chunk.
        let model = c.model
        var ws = Model.Workspace()
        model.forward(c.xs, targets: c.targets, h0s: c.h0s, c.params, workspace: &ws)
        let states = ws.stack.caches[0].states.map(\.h)   // h_0 … h_T
        var expected = c.params.zeros()
        var dxs: [Matrix<Double>] = []
        var dh0 = Matrix<Double>(rows: 0, cols: 0)
        for (n, chunk) in chunks(length: T, k: k).enumerated() {
            let xs = Array(c.xs[(chunk.lowerBound - 1)..<chunk.upperBound])
            let start = states[chunk.lowerBound - 1]
            var chunkWS = Model.Workspace(), none: RNG? = nil, ran = true
            var g = c.params.zeros()
            switch output {
            case .everyStep:
                let targets = Array(c.targets[(chunk.lowerBound - 1)..<chunk.upperBound])
                model.lossAndGradient(xs, targets: targets, h0s: [start], c.params, lossScale: c.lossScale,
                                      workspace: &chunkWS, grads: &g, dropoutRNG: &none, inputGradients: true)
            case .last:
                if chunk.upperBound == T {
                    model.lossAndGradient(xs, targets: c.targets, h0s: [start], c.params, lossScale: c.lossScale,
                                          workspace: &chunkWS, grads: &g, dropoutRNG: &none, inputGradients: true)
                } else {
                    ran = false   // no loss reads this chunk: its gradients are 0
                }
            }
            expected.add(g)
            if !ran {
                dxs += xs.map { Matrix(zerosLike: $0) }
                if n == 0 { dh0 = Matrix(zerosLike: c.h0s![0]) }
            } else {
                dxs += chunkWS.stack.dxs
                if n == 0 { dh0 = chunkWS.stack.dh0s[0] }
            }
        }
        for ((name, got), want) in zip(truncated.grads.namedTensorValues, expected.tensors) {
            for (a, b) in zip(got.data, want.data) {
                XCTAssertEqual(a, b, accuracy: 1e-12, "\(output) T=\(T) k=\(k) \(name)")
            }
        }
        for t in 0..<T { for (a, b) in zip(truncated.dxs[t].data, dxs[t].data) { XCTAssertEqual(a, b, accuracy: 1e-12, "dx_\(t + 1)") } }
        for (a, b) in zip(truncated.dh0s[0].data, dh0.data) { XCTAssertEqual(a, b, accuracy: 1e-12, "dh0") }
    }

    func testTruncationMatchesItsDefinition() {
        for activation in [RNN<Double>.Activation.tanh, .relu] {
            check(output: .last, length: 7, k: 3, activation: activation)
            check(output: .everyStep, length: 7, k: 3, activation: activation)
            check(output: .everyStep, length: 6, k: 2, activation: activation)
        }
    }

    func testTruncationIsRealAndVanishesForLongWindows() {
        var c = rnnCase(.tanh, batch: 2, length: 6, input: 2, hidden: 4, classes: 3, withH0: true, seed: 3)
        let full = c.analytic()
        c.truncation = 6
        let same = c.analytic()
        XCTAssertEqual(full.grads.W_hh_ , same.grads.W_hh_)
        c.truncation = 2
        let cut = c.analytic()
        XCTAssertNotEqual(full.grads.W_hh_, cut.grads.W_hh_, "truncation to 2 of 6 steps must change dW_hh")
        XCTAssertEqual(cut.dh0s[0].maxAbs, 0, "h0 lies beyond the truncation window of a many-to-one loss")
    }
}

extension SequenceClassifier<RNN<Double>>.Parameters {
    var W_hh_: [Double] { stack.units[0].W_hh.data }
}
