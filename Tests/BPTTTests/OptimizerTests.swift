import XCTest
import BPTT

/// One-tensor parameter set for exercising the optimisers.
struct Toy: ParameterSet {
    var w: Matrix<Double>
    mutating func forEachTensor(pairedWith other: Toy?, _ body: (String, inout Matrix<Double>, Matrix<Double>?) -> Void) {
        body("w", &w, other?.w)
    }
}

final class OptimizerTests: XCTestCase {
    let theta0: [Double] = [1.0, -2.0, 0.5]
    let gradients: [[Double]] = [[0.5, -1.0, 0.0], [0.1, 0.2, -0.3], [-0.4, 0.05, 0.25]]

    func run(_ config: OptimizerConfig, steps: Int) -> [Double] {
        var p = Toy(w: Matrix(vector: theta0))
        var opt = Optimizer<Toy>(config)
        for s in 0..<steps { opt.update(&p, grads: Toy(w: Matrix(vector: gradients[s]))) }
        return p.w.data
    }

    func assertClose(_ a: [Double], _ b: [Double], _ label: String, accuracy: Double = 1e-12) {
        XCTAssertEqual(a.count, b.count)
        for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: accuracy, label) }
    }

    func testUpdateReportsNonFiniteParametersForEveryRule() {
        // A NaN or ±∞ gradient makes every rule write a non-finite parameter, and the update says so;
        // a finite step says true. 20 elements: both the 8-lane loops and the scalar tail.
        for kind in OptimizerKind.allCases {
            for bad in [Double.nan, .infinity, -.infinity] {
                for at in [0, 7, 19] {
                    var p = Toy(w: Matrix(vector: (0..<20).map { Double($0) * 0.1 }))
                    var opt = Optimizer<Toy>(OptimizerConfig(kind: kind, lr: 0.01))
                    XCTAssertTrue(opt.update(&p, grads: Toy(w: Matrix(vector: (0..<20).map { Double($0) * 0.01 }))), "\(kind)")
                    var g = (0..<20).map { Double($0) * 0.01 }
                    g[at] = bad
                    XCTAssertFalse(opt.update(&p, grads: Toy(w: Matrix(vector: g))), "\(kind) \(bad) at \(at)")
                }
            }
        }
    }

    func testUpdateSummingTwoShardsEqualsUpdateOnTheirSum() {
        // g = g_1 + g_2 formed inside the update's loop gives the bits of the update on the stored sum,
        // for every rule, with and without weight decay, on sizes that take the 8-lane loops, the scalar
        // tail and the two-thread halves (≥ 2^17 elements); a non-finite shard gradient is reported.
        for kind in OptimizerKind.allCases {
            for wd in [0.0, 0.01] {
                for n in [13, 1 << 17 + 5] {
                    var rng = RNG(seed: UInt64(n))
                    let theta = Matrix<Double>.uniform(1, n, bound: 1, rng: &rng)
                    var config = OptimizerConfig(kind: kind, lr: 0.01)
                    config.weightDecay = wd
                    var (summed, fused) = (Toy(w: theta), Toy(w: theta))
                    var (optSummed, optFused) = (Optimizer<Toy>(config), Optimizer<Toy>(config))
                    for _ in 0..<3 {
                        let g1 = Toy(w: Matrix.uniform(1, n, bound: 1, rng: &rng)), g2 = Toy(w: Matrix.uniform(1, n, bound: 1, rng: &rng))
                        var sum = g1
                        sum.add(g2)
                        XCTAssertTrue(optSummed.update(&summed, grads: sum))
                        XCTAssertTrue(optFused.update(&fused, summing: g1, g2))
                    }
                    XCTAssertEqual(fused.w.data, summed.w.data, "\(kind) wd \(wd) n \(n)")
                    XCTAssertEqual(optFused.s1.map(\.data), optSummed.s1.map(\.data), "\(kind) state")
                    var bad = Toy(w: Matrix(rows: 1, cols: n))
                    bad.w.data[n - 1] = .nan
                    XCTAssertFalse(optFused.update(&fused, summing: Toy(w: Matrix(rows: 1, cols: n)), bad), "\(kind)")
                }
            }
        }
    }

    func testFirstStepsByHand() {
        // SGD, lr 0.1: θ − 0.1·g
        assertClose(run(OptimizerConfig(kind: .sgd, lr: 0.1), steps: 1), [0.95, -1.9, 0.5], "sgd")
        // Momentum μ 0.9, lr 0.1: v1 = g1, v2 = 0.9 v1 + g2 = [0.55, -0.7, -0.3]
        // θ2 = θ0 − 0.1(v1 + v2) = [1 − 0.105, −2 + 0.17, 0.5 + 0.03]
        assertClose(run(OptimizerConfig(kind: .momentum, lr: 0.1), steps: 2), [0.895, -1.83, 0.53], "momentum")
        // Nesterov: step direction g + μ v. Step 1: d = g1 + 0.9 g1 = 1.9 g1 → θ1 = [0.905, −1.81, 0.5]
        assertClose(run(OptimizerConfig(kind: .nesterov, lr: 0.1), steps: 1), [0.905, -1.81, 0.5], "nesterov")
        // Adagrad lr 0.1: s = g², θ −= 0.1 g/(|g| + 1e-10) ≈ θ − 0.1 sign(g)
        assertClose(run(OptimizerConfig(kind: .adagrad, lr: 0.1), steps: 1),
                    [1 - 0.1 * 0.5 / (0.5 + 1e-10), -2 + 0.1 * 1 / (1 + 1e-10), 0.5], "adagrad")
        // RMSprop lr 0.01, α 0.99: s = 0.01 g², θ −= 0.01 g/(0.1|g| + 1e-8)
        assertClose(run(OptimizerConfig(kind: .rmsprop, lr: 0.01), steps: 1),
                    [1 - 0.01 * 0.5 / (0.05 + 1e-8), -2 + 0.01 * 1 / (0.1 + 1e-8), 0.5], "rmsprop")
        // Adam lr 0.1: after one step m̂ = g, v̂ = g², so θ −= 0.1 g/(|g| + 1e-8)
        assertClose(run(OptimizerConfig(kind: .adam, lr: 0.1), steps: 1),
                    [1 - 0.1 * 0.5 / (0.5 + 1e-8), -2 + 0.1 / (1 + 1e-8), 0.5], "adam", accuracy: 1e-9)
    }

    /// Three steps against a scalar transcription of PyTorch's update loops.
    func testSeveralStepsAgainstScalarReference() {
        for kind in OptimizerKind.allCases {
            var config = OptimizerConfig(kind: kind, lr: 0.05)
            config.weightDecay = 0.01
            let got = run(config, steps: 3)
            var expected = theta0
            for i in 0..<expected.count {
                var th = theta0[i], s = 0.0, v = 0.0
                for n in 1...3 {
                    let g = gradients[n - 1][i] + 0.01 * th
                    switch kind {
                    case .sgd: th -= 0.05 * g
                    case .momentum, .nesterov:
                        s = n == 1 ? g : 0.9 * s + g
                        th -= 0.05 * (kind == .nesterov ? g + 0.9 * s : s)
                    case .adagrad: s += g * g; th -= 0.05 * g / (s.squareRoot() + 1e-10)
                    case .rmsprop: s = 0.99 * s + 0.01 * g * g; th -= 0.05 * g / (s.squareRoot() + 1e-8)
                    case .adam:
                        s = 0.9 * s + 0.1 * g; v = 0.999 * v + 0.001 * g * g
                        let mHat = s / (1 - pow(0.9, Double(n))), vHat = v / (1 - pow(0.999, Double(n)))
                        th -= 0.05 * mHat / (vHat.squareRoot() + 1e-8)   // textbook form; PyTorch's arrangement is equal
                    }
                }
                expected[i] = th
            }
            assertClose(got, expected, kind.rawValue, accuracy: 1e-9)
        }
    }

    func testClippingScalesToMaxNormAndLeavesSmallGradientsAlone() {
        var g = Toy(w: Matrix(vector: [3, 4]))      // norm 5
        let norm = clipGradientNorm(&g, maxNorm: 1)
        XCTAssertEqual(norm, 5, accuracy: 1e-12)
        XCTAssertEqual(g.w.data[0], 3 / (5 + 1e-6), accuracy: 1e-12)
        XCTAssertEqual(g.w.data[1], 4 / (5 + 1e-6), accuracy: 1e-12)
        var small = Toy(w: Matrix(vector: [0.3, 0.4]))
        clipGradientNorm(&small, maxNorm: 1)
        XCTAssertEqual(small.w.data, [0.3, 0.4])
    }
}

import Foundation
