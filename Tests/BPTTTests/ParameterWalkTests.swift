import XCTest
import BPTT

/// The one walk over a model's tensors: its names and order (what checkpoints store), its
/// pairing of two sets, and the optimiser and checkpoint code built on it.
final class ParameterWalkTests: XCTestCase {
    func testNamesAndOrderOfEveryModel() {
        var rng = RNG(seed: 1)
        let gru = ["W_rx", "W_rh", "b_r", "W_zx", "W_zh", "b_z", "W_nx", "W_nh", "b_nx", "b_nh"]
        let stack = RecurrentStack<GRU<Double>>(layers: 2, bidirectional: true, inputSize: 2, hiddenSize: 3) { GRU(inputSize: $0, hiddenSize: 3) }
        let classifier = SequenceClassifier(stack: stack, classes: 4)
        let p = classifier.initialParameters(.pytorch, rng: &rng)
        let units = ["_l0", "_l0_reverse", "_l1", "_l1_reverse"].flatMap { s in gru.map { $0 + s } }
        XCTAssertEqual(p.tensorNames, units + ["W_ph", "b_p"])
        XCTAssertEqual(p.tensorCount, 42)
        XCTAssertEqual(p.parameterCount, p.tensors.reduce(0) { $0 + $1.count })
        // a lone unit keeps the cell's own names
        let one = SequenceClassifier(stack: RecurrentStack<LSTM<Double>>(layers: 1, bidirectional: false, inputSize: 2, hiddenSize: 3) {
            LSTM(inputSize: $0, hiddenSize: 3) }, classes: 2).initialParameters(.pytorch, rng: &rng)
        XCTAssertEqual(one.tensorNames, ["W_ix", "W_ih", "b_i", "W_fx", "W_fh", "b_f", "W_gx", "W_gh", "b_g", "W_ox", "W_oh", "b_o", "W_ph", "b_p"])
        let sentiment = SentimentClassifier(vocabularySize: 7, embeddingDim: 2, dropout: 0, stack: RecurrentStack<LSTM<Double>>(
            layers: 1, bidirectional: false, inputSize: 2, hiddenSize: 3) { LSTM(inputSize: $0, hiddenSize: 3) })
        let s = sentiment.initialParameters(.pytorch, rng: &rng).tensorNames
        XCTAssertEqual(s.first, "W_emb")
        XCTAssertEqual(Array(s.suffix(2)), ["W_out", "b_out"])
        let mlp = MLP<Double>(sizes: [4, 3, 2], hidden: .tanh, output: .identity).initialParameters(.pytorch, rng: &rng)
        XCTAssertEqual(mlp.tensorNames, ["W1", "b1", "W2", "b2"])
        XCTAssertEqual(mlp.tensors.map(\.rows), [3, 1, 2, 1])
        let gan = GAN<Double>(latent: 2, pixels: 4, generatorHidden: [3], discriminatorHidden: [3]).initialParameters(.pytorch, rng: &rng)
        XCTAssertEqual(gan.tensorNames, ["G.W1", "G.b1", "G.W2", "G.b2", "D.W1", "D.b1", "D.W2", "D.b2"])
    }

    func testPairedWalkHandsOverTheSameTensorOfTheOtherSet() {
        var rng = RNG(seed: 2)
        let stack = RecurrentStack<LSTM<Double>>(layers: 2, bidirectional: true, inputSize: 2, hiddenSize: 3) { LSTM(inputSize: $0, hiddenSize: 3) }
        var p = SequenceClassifier(stack: stack, classes: 2).initialParameters(.pytorch, rng: &rng)
        var marks = p.zeros()
        var k = 0.0
        marks.forEachTensor { _, m in k += 1; for i in 0..<m.count { m.data[i] = k } }
        var visited = 0
        p.forEachTensor(pairedWith: marks) { name, m, o in
            visited += 1
            XCTAssertEqual(o?.rows, m.rows, name)
            XCTAssertEqual(o?.cols, m.cols, name)
            XCTAssertEqual(o?.data.first, Double(visited), name)
        }
        XCTAssertEqual(visited, p.tensorCount)
        // add, zero and the setter go through the same walk
        let before = p.tensors
        p.add(marks)
        for (i, (a, b)) in zip(p.tensors, before).enumerated() { XCTAssertEqual(a.data[0], b.data[0] + Double(i + 1)) }
        p.zero()
        XCTAssertTrue(p.tensors.allSatisfy { $0.data.allSatisfy { $0 == 0 } })
        p.tensors = before
        XCTAssertEqual(p.tensors, before)
    }

    /// One optimiser over a whole MLP equals one optimiser per layer, bit for bit (the rules are
    /// elementwise), and its state is saved and restored under the parameters' names.
    func testOneOptimiserOverTheMLPEqualsOnePerLayer() throws {
        var rng = RNG(seed: 3)
        let mlp = MLP<Float>(sizes: [5, 4, 3], hidden: .tanh, output: .identity)
        var whole = mlp.initialParameters(.pytorch, rng: &rng)
        var layers = whole.layers
        let config = OptimizerConfig(kind: .adam, lr: 0.01)
        var opt = Optimizer<MLP<Float>.Parameters>(config)
        var perLayer = Array(repeating: Optimizer<Linear<Float>.Parameters>(config), count: layers.count)
        for _ in 0..<3 {
            var g = whole.zeros()
            g.forEachTensor { _, m in for i in 0..<m.count { m.data[i] = Float(rng.gaussian()) } }
            opt.update(&whole, grads: g)
            for l in layers.indices { perLayer[l].update(&layers[l], grads: g.layers[l]) }
        }
        XCTAssertEqual(whole.tensors, layers.flatMap { [$0.W, $0.b] })
        let state = opt.checkpointState(like: whole, prefix: "D.")
        XCTAssertEqual(state.s1.map(\.name), ["D.W1", "D.b1", "D.W2", "D.b2"])
        XCTAssertEqual(state.step, 3)
        let restored = try Optimizer(config, like: whole, step: state.step, s1: [.init("G.W1", whole.layers[0].W)] + state.s1,
                                     s2: state.s2, prefix: "D.", source: "t")
        XCTAssertEqual(restored.s1, opt.s1)
        XCTAssertEqual(restored.s2, opt.s2)
        XCTAssertThrowsError(try Optimizer(config, like: whole, step: 3, s1: Array(state.s1.dropLast()), s2: state.s2, prefix: "D.", source: "t"))
    }

    func testLoadWithPrefixTakesOnlyItsOwnTensors() throws {
        var rng = RNG(seed: 4)
        let gan = GAN<Float>(latent: 2, pixels: 4, generatorHidden: [3], discriminatorHidden: [3])
        let saved = gan.initialParameters(.pytorch, rng: &rng)
        var p = gan.initialParameters(.pytorch, rng: &rng)
        XCTAssertNotEqual(p.tensors, saved.tensors)
        let file = saved.namedTensors()
        XCTAssertEqual(file.map(\.name), saved.tensorNames)
        try p.d.load(file, prefix: "D.", source: "t")
        XCTAssertEqual(p.d.tensors, saved.d.tensors)
        XCTAssertNotEqual(p.g.tensors, saved.g.tensors)
        try p.load(file, source: "t")
        XCTAssertEqual(p.tensors, saved.tensors)
        XCTAssertThrowsError(try p.g.load(file, prefix: "D.", source: "t"))   // D's shapes are not G's
    }

    /// `setToSum(a, b)` stores what zero(), add(a), add(b) store (signed zeros included) and returns
    /// the same Σ x² as `sumOfSquares` of the result, bit for bit.
    func testSetToSumIsZeroAddAddAndItsSumOfSquares() {
        var rng = RNG(seed: 3)
        let stack = RecurrentStack<GRU<Float>>(layers: 2, bidirectional: false, inputSize: 3, hiddenSize: 5) { GRU(inputSize: $0, hiddenSize: 5) }
        let model = SequenceClassifier(stack: stack, classes: 3)
        var a = model.initialParameters(.pytorch, rng: &rng), b = model.initialParameters(.pytorch, rng: &rng)
        // exact zeros of both signs in both shards, where (0 + a) + b and a + b differ in sign
        a.forEachTensor { _, m in m.data[0] = -0.0; if m.count > 1 { m.data[1] = -0.0 } }
        b.forEachTensor { _, m in m.data[0] = -0.0; if m.count > 1 { m.data[1] = 0.0 } }
        var expected = a.zeros()
        expected.add(a); expected.add(b)
        var fused = a.zeros()
        fused.forEachTensor { _, m in for i in 0..<m.count { m.data[i] = .nan } }   // overwritten, not read
        let sum = fused.setToSum(a, b)
        XCTAssertEqual(fused.tensors.flatMap { $0.data.map(\.bitPattern) }, expected.tensors.flatMap { $0.data.map(\.bitPattern) })
        XCTAssertEqual(sum.bitPattern, expected.sumOfSquares.bitPattern)
        XCTAssertEqual(fused.tensors[0].data[0].sign, .plus)   // (0 + −0) + −0 = +0
        // shared out between two threads: the same tensors and the same sum, bit for bit
        var shared = a.zeros()
        let sharedSum = shared.setToSum(a, b, parallel: true)
        XCTAssertEqual(shared.tensors.flatMap { $0.data.map(\.bitPattern) }, expected.tensors.flatMap { $0.data.map(\.bitPattern) })
        XCTAssertEqual(sharedSum.bitPattern, sum.bitPattern)
    }
}
