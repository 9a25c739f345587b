import XCTest
import BPTT

/// The cell of Examples/CustomCell (its source file is linked into this suite, so the example
/// cannot rot when the library changes) and the helpers it is written with: `NamedTensors`,
/// `affine`, `accumulateAffineGradients`, `setElementwise`, `Walkthrough.description` and
/// `PalindromeTrainer.trainAndEvaluate`.
final class CustomCellExampleTests: XCTestCase {
    func testTheExampleCellPassesItsCheckAndABrokenGradientIsNamed() {
        let report = CellCheck.run { MGU<Double>(inputSize: $0, hiddenSize: 5) }
        XCTAssertTrue(report.passed, report.message)
        XCTAssertEqual(report.results.map(\.name), ["W_fx", "W_fh", "b_f", "W_nx", "W_nh", "b_n", "W_ph", "b_p", "x", "h0"])
        XCTAssertFalse(report.steps.isEmpty)
        // a cell whose dW_nh is doubled after the step: every adjoint agrees, the gradient's line is named
        struct DoubledW_nh: RecurrentCell {
            let inner: MGU<Double>
            var inputSize: Int { inner.inputSize }
            var hiddenSize: Int { inner.hiddenSize }
            var hQuantity: Quantity { inner.hQuantity }
            func gradientTag(_ name: String) -> String? { inner.gradientTag(name) }
            func initialParameters(_ i: Initializer, rng: inout RNG) -> MGU<Double>.Parameters { inner.initialParameters(i, rng: &rng) }
            func makeStepCache(batch B: Int) -> MGU<Double>.StepCache { inner.makeStepCache(batch: B) }
            func stepForward<P: CellProbe>(_ x: Matrix<Double>, _ prev: HiddenState<Double>, _ next: inout HiddenState<Double>,
                                           _ c: inout MGU<Double>.StepCache, _ p: MGU<Double>.Parameters, _ ws: inout Void, t: Int, _ probe: P) {
                inner.stepForward(x, prev, &next, &c, p, &ws, t: t, probe)
            }
            func stepBackward<P: CellProbe>(_ d: HiddenState<Double>, _ dPrev: inout HiddenState<Double>, _ dx: inout Matrix<Double>,
                                            inputGradient: Bool, _ x: Matrix<Double>, _ prev: HiddenState<Double>, _ next: HiddenState<Double>,
                                            _ c: MGU<Double>.StepCache, _ p: MGU<Double>.Parameters, _ g: inout MGU<Double>.Parameters,
                                            _ ws: inout Void, t: Int, _ probe: P) {
                let before = g.W_nh
                inner.stepBackward(d, &dPrev, &dx, inputGradient: inputGradient, x, prev, next, c, p, &g, &ws, t: t, probe)
                for i in g.W_nh.data.indices { g.W_nh.data[i] += g.W_nh.data[i] - before.data[i] }
            }
        }
        let bad = CellCheck.run { DoubledW_nh(inner: MGU<Double>(inputSize: $0, hiddenSize: 5)) }
        XCTAssertFalse(bad.passed)
        XCTAssertNil(bad.firstStep, bad.message)
        XCTAssertEqual(bad.line, "mgu.dW_n", bad.message)
        XCTAssertEqual(bad.results.filter { !$0.passed }.map(\.name), ["W_nh"])
    }

    func testTheExampleCellTrainsAndExplains() throws {
        var c = TrainConfig(); (c.model, c.length, c.hidden, c.batch, c.steps, c.optimizer.lr) = ("mgu", 4, 16, 32, 500, 1e-2)
        let trainer = try PalindromeTrainer(c) { MGU<Float>(inputSize: $0, hiddenSize: c.hidden) }
        XCTAssertEqual(trainer.parameterNames.prefix(6), ["W_fx", "W_fh", "b_f", "W_nx", "W_nh", "b_n"])
        let result = trainer.trainAndEvaluate()
        XCTAssertEqual(trainer.step, 500)
        XCTAssertGreaterThan(result.accuracy, 0.8)   // chance: 0.1
        var spec = Walkthrough.Spec(); (spec.length, spec.input, spec.classes) = (2, 1, 3)
        let walk = Walkthrough.make(spec) { MGU<Double>(inputSize: $0, hiddenSize: 2) }
        let text = walk.description
        XCTAssertTrue(text.contains("(mgu.df)  df_t = dh_t ⊙ (n_t − h_{t−1}) + dq_t ⊙ h_{t−1}"), text)
        XCTAssertTrue(text.hasSuffix(walk.checkText))
        XCTAssertLessThan(walk.maxRelError, 1e-7)
    }

    /// `NamedTensors` walks its list in order, pairs two sets, and updates in place.
    func testNamedTensorsWalk() {
        struct P: NamedTensors {
            typealias Real = Double
            var W: Matrix<Double>, b: Matrix<Double>
            static var tensors: [(String, TensorPath)] { [("W", \.W), ("b", \.b)] }
        }
        var p = P(W: Matrix(rows: 1, cols: 2, data: [1, 2]), b: Matrix(rows: 1, cols: 1, data: [3]))
        let g = P(W: Matrix(rows: 1, cols: 2, data: [10, 20]), b: Matrix(rows: 1, cols: 1, data: [30]))
        XCTAssertEqual(p.tensorNames, ["W", "b"])
        p.forEachTensor(pairedWith: g) { _, m, other in for i in m.data.indices { m.data[i] -= 0.1 * other!.data[i] } }
        XCTAssertEqual(p.W.data, [0, 0])
        XCTAssertEqual(p.b.data, [0])
        XCTAssertEqual(p.parameterCount, 3)
    }

    /// `affine` and its gradients are the three products they stand for; `setElementwise` is the
    /// elementwise formula on every element (ragged last chunk included), with self as an operand too.
    func testAffineAndElementwiseHelpers() {
        var rng = RNG(seed: 5)
        func random(_ r: Int, _ c: Int) -> Matrix<Double> { Matrix(rows: r, cols: c, data: (0..<(r * c)).map { _ in rng.uniform(-1, 1) }) }
        let (B, D, H) = (3, 2, 11)
        let (x, W_x, h, W_h, b) = (random(B, D), random(H, D), random(B, H), random(H, H), random(1, H))
        var a = Matrix<Double>.zeros(B, H)
        affine(x, W_x, h, W_h, b, into: &a)
        for i in 0..<B { for j in 0..<H {
            var s = b[0, j]
            for k in 0..<D { s += x[i, k] * W_x[j, k] }
            for k in 0..<H { s += h[i, k] * W_h[j, k] }
            XCTAssertEqual(a[i, j], s, accuracy: 1e-12)
        } }
        var (dW_x, dW_h, db) = (random(H, D), random(H, H), random(1, H))
        let (dW_x0, dW_h0, db0) = (dW_x, dW_h, db)
        accumulateAffineGradients(a, x, h, &dW_x, &dW_h, &db)
        for j in 0..<H {
            var s = db0[0, j]
            for i in 0..<B { s += a[i, j] }
            XCTAssertEqual(db[0, j], s, accuracy: 1e-12)
            for k in 0..<D {
                var s = dW_x0[j, k]
                for i in 0..<B { s += a[i, j] * x[i, k] }
                XCTAssertEqual(dW_x[j, k], s, accuracy: 1e-12)
            }
            for k in 0..<H {
                var s = dW_h0[j, k]
                for i in 0..<B { s += a[i, j] * h[i, k] }
                XCTAssertEqual(dW_h[j, k], s, accuracy: 1e-12)
            }
        }
        var out = Matrix<Double>.zeros(B, H)
        out.setElementwise(a, h) { u, v in u * v - 1 }
        XCTAssertEqual(out.data, zip(a.data, h.data).map { $0 * $1 - 1 })
        out.setElementwise(a, h, a) { u, v, w in u + v * w }
        XCTAssertEqual(out.data, zip(a.data, h.data).map { $0 + $1 * $0 })
        out.setElementwise(a) { u in 2 * u }
        XCTAssertEqual(out.data, a.data.map { 2 * $0 })
        let before = out
        out.setElementwise(out, a, h, a) { o, u, v, w in o + u * v - w }
        XCTAssertEqual(out.data, (0..<out.count).map { before.data[$0] + a.data[$0] * h.data[$0] - a.data[$0] })
        XCTAssertEqual(before.data, a.data.map { 2 * $0 }, "an operand that is self is read before it is written, never changed")
    }
}

/// `InputWeight`, the input side of the library's cells: a one-hot x_t picks rows of W_xᵀ instead
/// of multiplying, with the numbers of the product it replaces.
final class InputWeightTests: XCTestCase {
    func testOneHotInputsGiveTheProductsNumbers() {
        var rng = RNG(seed: 9)
        let (B, D, n) = (7, 13, 40)
        let W = Matrix<Double>(rows: n, cols: D, data: (0..<(n * D)).map { _ in rng.uniform(-1, 1) })
        var oneHot = Matrix<Double>.zeros(B, D)
        for b in 0..<B { oneHot[b, (b * 5) % D] = 1 }
        var dense = oneHot; dense[3, 0] = 0.5                          // one entry off: the product path
        var side = InputWeight<Double>()
        side.packForward(W)
        for x in [oneHot, dense, oneHot] {
            var fast = Matrix<Double>.zeros(B, n), plain = Matrix<Double>.zeros(B, n)
            side.forward(x, into: &fast)
            gemm(x, W, transB: true, into: &plain)
            XCTAssertEqual(fast.data, plain.data)
        }
        // dW_x += dAᵀ x over 300 stacked rows (two of the product's K blocks), onto a nonzero start
        let R = 300
        let dA = Matrix<Double>(rows: R, cols: n, data: (0..<(R * n)).map { _ in rng.uniform(-1, 1) })
        var xs = Matrix<Double>.zeros(R, D)
        for r in 0..<R { xs[r, rng.int(below: D)] = 1 }
        let start = Matrix<Double>(rows: n, cols: D, data: (0..<(n * D)).map { _ in rng.uniform(-1, 1) })
        var (fast, plain, scratch) = (start, start, Matrix<Double>())
        side.accumulateGradient(dA, xs, into: &fast, scratch: &scratch)
        gemm(dA, transA: true, xs, into: &plain, beta: 1)
        for i in 0..<fast.count { XCTAssertEqual(fast.data[i], plain.data[i], accuracy: 1e-12 * max(1, abs(plain.data[i]))) }
        XCTAssertNotEqual(fast.data, start.data)
        // not one-hot (a row of zeros, a 2, two ones): the product itself
        for (r, c, v) in [(0, 0, 0.0), (1, 2, 2.0), (2, 5, 1.0)] {
            var x = xs
            if v == 0 { for j in 0..<D { x[r, j] = 0 } } else { x[r, c] = v; if v == 1 { x[r, (c + 1) % D] = 1 } }
            var (a, b, s) = (start, start, Matrix<Double>())
            side.accumulateGradient(dA, x, into: &a, scratch: &s)
            gemm(dA, transA: true, x, into: &b, beta: 1)
            XCTAssertEqual(a.data, b.data)
        }
    }
}
