import XCTest
import BPTT

func assertGradientsPass(_ results: [GradientCheck.Result], _ label: String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertFalse(results.isEmpty, "\(label): nothing was checked", file: file, line: line)
    for r in results {
        XCTAssertLessThan(r.maxRelError, GradientCheck.threshold,
                          "\(label) \(r.name): rel error \(r.maxRelError) (analytic \(r.analytic), numeric \(r.numeric))",
                          file: file, line: line)
        XCTAssertLessThan(r.kinks, r.count, "\(label) \(r.name): every element straddled a kink", file: file, line: line)
    }
}

final class MLPGradientTests: XCTestCase {
    func testEveryLossWithEveryHiddenActivation() {
        let hiddens: [Activation] = [.relu, .leakyReLU(alpha: 0.2), .sigmoid, .tanh]
        for loss in MLPCheckCase.Loss.allCases {
            for (i, hidden) in hiddens.enumerated() {
                let c = MLPCheckCase.random(loss: loss, hidden: hidden, seed: UInt64(10 * i + 1))
                let results = c.check()
                XCTAssertEqual(results.map(\.name), ["W1", "b1", "W2", "b2", "W3", "b3", "x"])
                assertGradientsPass(results, "\(loss) \(hidden)")
            }
        }
    }

    func testOverwrittenGradientsEqualAccumulatedOntoZeros() {
        // `write: .overwrite` on buffers full of garbage gives the bits of `+=` onto zeroed buffers,
        // for products split across threads or not; a second backward then accumulates as usual.
        for threads in [1, 2] {
            var mlp = MLP<Float>(sizes: [300, 160, 70, 10], hidden: .relu, output: .identity)
            mlp.threads = threads
            var rng = RNG(seed: 9)
            let p = mlp.initialParameters(.pytorch, rng: &rng)
            let x = Matrix<Float>.uniform(48, 300, bound: 1, rng: &rng), dOut = Matrix<Float>.uniform(48, 10, bound: 1, rng: &rng)
            var cache = MLP<Float>.Cache()
            func backward(_ g: inout MLP<Float>.Parameters, _ write: GradientWrite) {
                _ = mlp.forward(x, p, cache: &cache)
                cache.dOutput = dOut
                mlp.backward(x, p, cache: &cache, grads: &g, write: write)
            }
            var accumulated = p.zeros()
            backward(&accumulated, .accumulate)
            var overwritten = p
            overwritten.forEachTensor { _, m in for i in 0..<m.count { m.data[i] = .nan } }
            backward(&overwritten, .overwrite)
            XCTAssertEqual(overwritten.tensors.map(\.data), accumulated.tensors.map(\.data), "threads \(threads)")
            backward(&accumulated, .accumulate)
            backward(&overwritten, .accumulate)
            XCTAssertEqual(overwritten.tensors.map(\.data), accumulated.tensors.map(\.data), "threads \(threads), second pass")
        }
    }

    func testDropoutMasksEnterBackward() {
        let c = MLPCheckCase.random(loss: .mse, hidden: .tanh, sizes: [5, 8, 7, 4], batch: 4, dropout: 0.5, seed: 3)
        assertGradientsPass(c.check(), "dropout")
        // The mask really drops units: some hidden activations are exactly zero.
        let a = c.analytic()
        XCTAssertTrue(a.grads.layers[1].W.data.contains(0), "dropout should zero some weight-gradient columns")
    }

    func testBCEWithLogitsIsStableForLargeLogits() {
        let s = Matrix<Float>(rows: 1, cols: 4, data: [-200, -30, 30, 200])
        let y = Matrix<Float>(rows: 1, cols: 4, data: [1, 0, 1, 0])
        let l = BCEWithLogitsLoss.forward(s, target: y, scale: 1)
        XCTAssertTrue(l.isFinite)
        // −log σ(−200) ≈ 200 and −log(1 − σ(200)) ≈ 200 (wrong signs); the right signs cost ≈ e^{−30}
        XCTAssertEqual(l, 400, accuracy: 1e-3)
        var ds = Matrix<Float>(rows: 0, cols: 0)
        BCEWithLogitsLoss.backward(s, target: y, scale: 1, into: &ds)
        for (g, want) in zip(ds.data, [Float(-1), 0, 0, 1]) { XCTAssertEqual(g, want, accuracy: 1e-6) }
        // The probability form saturates: BCE on p = σ(200) = 1 is clamped, not infinite.
        let p = Matrix<Float>(rows: 1, cols: 2, data: [1, 0])
        XCTAssertEqual(BCELoss.forward(p, target: Matrix(rows: 1, cols: 2, data: [0, 1]), scale: 1), 200, accuracy: 1e-3)
    }

    func testParallelGEMMMatchesOneThread() {
        var rng = RNG(seed: 5)
        let a = Matrix<Float>.normal(37, 300, std: 1, rng: &rng)
        let b = Matrix<Float>.normal(515, 300, std: 1, rng: &rng)
        var c1 = Matrix<Float>(rows: 37, cols: 515), c2 = c1
        gemm(a, b, transB: true, into: &c1)
        gemm(a, b, transB: true, into: &c2, threads: 2)
        XCTAssertEqual(c1, c2)
        let d = Matrix<Float>.normal(300, 515, std: 1, rng: &rng)
        var e1 = Matrix<Float>(rows: 37, cols: 515), e2 = e1
        gemm(a, d, into: &e1)
        gemm(a, d, into: &e2, threads: 2)
        XCTAssertEqual(e1, e2)
    }
}

final class AutoencoderTests: XCTestCase {
    func testEveryMaskModeAndLossTarget() {
        let masks: [MaskedAutoencoder<Double>.Mask] = [.leftHalf, .rightHalf, .random(0.5), .patches(2)]
        for (i, mask) in masks.enumerated() {
            for lossOn in [MaskedAutoencoder<Double>.LossOn.masked, .all] {
                let c = AutoencoderCheckCase.random(mask: mask, lossOn: lossOn, seed: UInt64(i + 1))
                let results = c.check()
                XCTAssertEqual(results.map(\.name), ["W1", "b1", "W2", "b2", "W3", "b3", "x"])
                assertGradientsPass(results, "\(mask) \(lossOn)")
            }
        }
    }

    func testMasksHideWhatTheySay() {
        var rng = RNG(seed: 2)
        var m = Matrix<Float>(rows: 0, cols: 0)
        MaskedAutoencoder<Float>.Mask.leftHalf.fill(&m, batch: 2, height: 3, width: 4, rng: &rng)
        XCTAssertEqual(Array(m.data[0..<4]), [0, 0, 1, 1])
        MaskedAutoencoder<Float>.Mask.rightHalf.fill(&m, batch: 2, height: 3, width: 4, rng: &rng)
        XCTAssertEqual(Array(m.data[4..<8]), [1, 1, 0, 0])
        MaskedAutoencoder<Float>.Mask.random(0.5).fill(&m, batch: 50, height: 8, width: 8, rng: &rng)
        let hidden = m.data.filter { $0 == 0 }.count
        XCTAssertGreaterThan(hidden, 1400); XCTAssertLessThan(hidden, 1800)   // 3200 pixels, p = 0.5
        MaskedAutoencoder<Float>.Mask.patches(4).fill(&m, batch: 20, height: 8, width: 8, rng: &rng)
        for b in 0..<20 {   // constant on each 4×4 square, never all shown
            for r in 0..<8 { for c in 0..<8 { XCTAssertEqual(m[b, r * 8 + c], m[b, (r / 4) * 32 + (c / 4) * 4]) } }
            XCTAssertTrue((0..<64).contains { m[b, $0] == 0 })
        }
        XCTAssertNil(MaskedAutoencoder<Float>.Mask(parsing: "random:1.5"))
        XCTAssertNil(MaskedAutoencoder<Float>.Mask(parsing: "top-half"))
        // every row of a half mask is the whole image's pattern (filled once, copied)
        MaskedAutoencoder<Float>.Mask.leftHalf.fill(&m, batch: 3, height: 5, width: 7, rng: &rng)
        for b in 0..<3 { for r in 0..<5 { for c in 0..<7 { XCTAssertEqual(m[b, r * 7 + c], c < 3 ? 0 : 1) } } }
    }

    /// N = Σ w: counted for masks of 0s and 1s, summed in order otherwise; both equal the plain sum.
    func testLossWeightSumIsThePlainSum() {
        var rng = RNG(seed: 5)
        for lossOn in [MaskedAutoencoder<Float>.LossOn.masked, .all] {
            let model = MaskedAutoencoder<Float>(pixels: 64, hidden: [8], lossOn: lossOn, threads: 1)
            var m = Matrix<Float>(rows: 0, cols: 0)
            for mask in [MaskedAutoencoder<Float>.Mask.leftHalf, .random(0.3), .patches(3)] {
                mask.fill(&m, batch: 37, height: 8, width: 8, rng: &rng)
                let plain = m.data.reduce(0.0) { $0 + Double(lossOn == .masked ? 1 - $1 : 1) }
                XCTAssertEqual(model.lossWeightSum(m), plain, "\(mask), \(lossOn)")
            }
            let fractional = Matrix<Float>(rows: 2, cols: 3, data: [0, 0.25, 1, 0.1, 1, 0])
            let plain = fractional.data.reduce(0.0) { $0 + Double(lossOn == .masked ? 1 - $1 : 1) }
            XCTAssertEqual(model.lossWeightSum(fractional), plain)
        }
    }
}

final class GANGradientTests: XCTestCase {
    func testDiscriminatorAndGeneratorThroughDiscriminator() {
        for seed in [UInt64(1), 2] {
            let c = GANCheckCase.random(seed: seed)
            let d = c.checkDiscriminator()
            XCTAssertEqual(d.map(\.name), ["D.W1", "D.b1", "D.W2", "D.b2", "D.W3", "D.b3", "x_real", "x_fake"])
            assertGradientsPass(d, "D seed \(seed)")
            let g = c.checkGenerator()
            XCTAssertEqual(g.map(\.name), ["G.W1", "G.b1", "G.W2", "G.b2", "G.W3", "G.b3", "z"])
            assertGradientsPass(g, "G through D seed \(seed)")
        }
    }
}
