import BPTT
import Foundation
import XCTest

/// The long-memory tasks (adding, copy, pixels) and initialisations (identity, orthogonal,
/// chrono): data layouts, Float64 gradient checks of the new losses, and the CLI contract.
final class LongMemoryTests: XCTestCase, RunsBPTT {

    // MARK: data

    func testAddingTargetIsTheMarkedSumWithOneMarkerInEachHalf() {
        var rng = RNG(seed: 5)
        for T in [2, 3, 10, 51] {
            let (xs, y) = AddingProblem.batch(length: T, batchSize: 40, rng: &rng, as: Double.self)
            XCTAssertEqual(xs.count, T)
            for b in 0..<40 {
                let marked = (0..<T).filter { xs[$0][b, 1] != 0 }
                XCTAssertEqual(marked.count, 2, "T=\(T): two marked steps")
                XCTAssertTrue(marked[0] < T / 2 && marked[1] >= T / 2, "T=\(T): one marker in each half, got \(marked)")
                XCTAssertTrue((0..<T).allSatisfy { xs[$0][b, 1] == 0 || xs[$0][b, 1] == 1 })
                XCTAssertTrue((0..<T).allSatisfy { (0..<1).contains(xs[$0][b, 0]) }, "values in [0, 1)")
                let masked = (0..<T).reduce(0.0) { $0 + xs[$1][b, 0] * xs[$1][b, 1] }
                XCTAssertEqual(y[b, 0], masked, accuracy: 1e-15)
            }
        }
        XCTAssertEqual(AddingProblem.constantBaseline, 1.0 / 6.0, accuracy: 1e-15)
    }

    /// The empirical MSE of answering 1 is the printed baseline (1/6), to sampling error.
    func testAddingBaselineIsTheMSEOfAnsweringOne() {
        var rng = RNG(seed: 8)
        let (_, y) = AddingProblem.batch(length: 20, batchSize: 20000, rng: &rng, as: Double.self)
        let mse = y.data.reduce(0) { $0 + ($1 - 1) * ($1 - 1) } / Double(y.rows)
        XCTAssertEqual(mse, 1.0 / 6.0, accuracy: 0.006)
    }

    func testCopyLayout() {
        var rng = RNG(seed: 2)
        for T in [1, 5, 30] {
            let n = CopyMemory.steps(delay: T)
            XCTAssertEqual(n, T + 20)
            let (xs, targets) = CopyMemory.batch(delay: T, batchSize: 7, rng: &rng, as: Double.self)
            XCTAssertEqual(xs.count, n)
            XCTAssertEqual(targets.count, n)
            for b in 0..<7 {
                let input = (0..<n).map { t -> Int in
                    let row = (0..<CopyMemory.inputSize).map { xs[t][b, $0] }
                    XCTAssertEqual(row.reduce(0, +), 1, "one-hot")
                    return row.firstIndex(of: 1)!
                }
                let data = Array(input[0..<10])
                XCTAssertTrue(data.allSatisfy { (1...8).contains($0) }, "ten symbols from 1…8")
                XCTAssertEqual(Array(input[10..<(T + 9)]), Array(repeating: 0, count: T - 1), "T − 1 blanks")
                XCTAssertEqual(input[T + 9], CopyMemory.delimiter, "the delimiter at step T + 10")
                XCTAssertEqual(Array(input[(T + 10)...]), Array(repeating: 0, count: 10), "ten blanks")
                let target = targets.map { $0[b] }
                XCTAssertEqual(Array(target[0..<(T + 10)]), Array(repeating: 0, count: T + 10))
                XCTAssertEqual(Array(target[(T + 10)...]), data, "the ten symbols, in order")
            }
        }
        XCTAssertEqual(CopyMemory.memorylessBaseline(delay: 100), 10 * log(8) / 120, accuracy: 1e-15)
    }

    func testPixelOrder() {
        XCTAssertEqual(PixelSequence.order(pixels: 5, permute: nil), [0, 1, 2, 3, 4])
        let p = PixelSequence.order(pixels: 64, permute: 3)
        XCTAssertEqual(p.sorted(), Array(0..<64), "a permutation")
        XCTAssertNotEqual(p, Array(0..<64))
        XCTAssertEqual(p, PixelSequence.order(pixels: 64, permute: 3), "fixed by its seed")
        XCTAssertNotEqual(p, PixelSequence.order(pixels: 64, permute: 4))
        let flat = Matrix<Double>(rows: 2, cols: 4, data: [0, 1, 2, 3, 10, 11, 12, 13])
        var xs: [Matrix<Double>] = []
        PixelSequence.sequences(flat, order: [2, 0, 3, 1], into: &xs)
        XCTAssertEqual(xs.map { $0.data }, [[2, 12], [0, 10], [3, 13], [1, 11]])
    }

    // MARK: gradient checks (Float64, central differences over every parameter)

    /// Max relative error between the analytic gradient and central differences of `loss`.
    func maxRelativeError<P: ParameterSet>(_ params: P, _ grads: P, _ loss: (P) -> Double, h: Double = 1e-5) -> Double where P.Real == Double {
        var worst = 0.0
        let analytic = grads.tensors, base = params.tensors
        for (k, tensor) in base.enumerated() {
            for i in 0..<tensor.count {
                var plus = base, minus = base
                plus[k].data[i] += h
                minus[k].data[i] -= h
                let numeric = (loss(params.with(plus)) - loss(params.with(minus))) / (2 * h)
                let a = analytic[k].data[i]
                worst = max(worst, abs(a - numeric) / max(abs(a) + abs(numeric), 1e-7))
            }
        }
        return worst
    }

    struct RegressorCheck: CellVisitor {
        typealias Real = Double
        let test: LongMemoryTests
        func visit<C: RecurrentCell>(_ make: @escaping (Int) -> C) throws -> Double where C.Real == Double {
            let model = SequenceRegressor(stack: RecurrentStack(layers: 2, bidirectional: false, inputSize: AddingProblem.inputSize, hiddenSize: 4, make: make))
            var rng = RNG(seed: 21)
            let p = model.initialParameters(.xavier, rng: &rng)
            let (xs, y) = AddingProblem.batch(length: 6, batchSize: 3, rng: &rng, as: Double.self)
            var ws = SequenceRegressor<C>.Workspace(), g = p.zeros(), none: RNG? = nil
            model.lossAndGradient(xs, targets: y, p, lossScale: 1.0 / 3, workspace: &ws, grads: &g, dropoutRNG: &none)
            return test.maxRelativeError(p, g) { q in
                var w = SequenceRegressor<C>.Workspace()
                return model.forward(xs, targets: y, q, workspace: &w) / 3
            }
        }
    }

    func testAddingRegressorGradientsMatchFiniteDifferences() throws {
        for kind in CellKind.allCases {
            let err = try kind.accept(RegressorCheck(test: self), hidden: 4)
            XCTAssertLessThan(err, 1e-5, "\(kind.rawValue): adding-problem gradient relative error \(err)")
        }
    }

    struct CopyCheck: CellVisitor {
        typealias Real = Double
        let test: LongMemoryTests
        func visit<C: RecurrentCell>(_ make: @escaping (Int) -> C) throws -> Double where C.Real == Double {
            let model = SequenceClassifier(stack: RecurrentStack(layers: 1, bidirectional: false, inputSize: CopyMemory.inputSize, hiddenSize: 3, make: make),
                                           classes: CopyMemory.classes, output: .everyStep)
            var rng = RNG(seed: 22)
            let p = model.initialParameters(.xavier, rng: &rng)
            let (xs, targets) = CopyMemory.batch(delay: 2, batchSize: 2, rng: &rng, as: Double.self)
            let scale = 1 / (2.0 * Double(xs.count))          // the mean per-step cross-entropy
            var ws = SequenceClassifier<C>.Workspace(), g = p.zeros(), none: RNG? = nil
            model.lossAndGradient(xs, targets: targets, p, lossScale: scale, workspace: &ws, grads: &g, dropoutRNG: &none)
            return test.maxRelativeError(p, g) { q in
                var w = SequenceClassifier<C>.Workspace()
                return model.forward(xs, targets: targets, q, workspace: &w).lossSum * scale
            }
        }
    }

    func testCopyPerStepCrossEntropyGradientsMatchFiniteDifferences() throws {
        for kind in [CellKind.rnn, .lstm, .gru] {
            let err = try kind.accept(CopyCheck(test: self), hidden: 3)
            XCTAssertLessThan(err, 1e-5, "\(kind.rawValue): copy-problem gradient relative error \(err)")
        }
    }

    struct PixelCheck: CellVisitor {
        typealias Real = Double
        let test: LongMemoryTests
        func visit<C: RecurrentCell>(_ make: @escaping (Int) -> C) throws -> Double where C.Real == Double {
            let model = SequenceClassifier(stack: RecurrentStack(layers: 1, bidirectional: false, inputSize: 1, hiddenSize: 3, make: make), classes: 4)
            var rng = RNG(seed: 23)
            let p = model.initialParameters(.xavier, rng: &rng)
            let images = Matrix<Double>.uniform(3, 9, bound: 1, rng: &rng)           // three 3×3 "images"
            var xs: [Matrix<Double>] = []
            PixelSequence.sequences(images, order: PixelSequence.order(pixels: 9, permute: 1), into: &xs)
            let targets = [[0, 3, 1]]
            var ws = SequenceClassifier<C>.Workspace(), g = p.zeros(), none: RNG? = nil
            model.lossAndGradient(xs, targets: targets, p, lossScale: 1.0 / 3, workspace: &ws, grads: &g, dropoutRNG: &none)
            return test.maxRelativeError(p, g) { q in
                var w = SequenceClassifier<C>.Workspace()
                return model.forward(xs, targets: targets, q, workspace: &w).lossSum / 3
            }
        }
    }

    func testPermutedPixelGradientsMatchFiniteDifferences() throws {
        for kind in [CellKind.rnn, .lstm] {
            let err = try kind.accept(PixelCheck(test: self), hidden: 3)
            XCTAssertLessThan(err, 1e-5, "\(kind.rawValue): pixel-task gradient relative error \(err)")
        }
    }

    // MARK: initialisations

    func testHouseholderQR() {
        var rng = RNG(seed: 9)
        for n in [1, 2, 5, 33] {
            let A = Matrix<Double>.normal(n, n, std: 1, rng: &rng)
            let (Q, R) = HouseholderQR.decompose(A)
            for i in 0..<n {
                for j in 0..<n {
                    var qtq = 0.0, qr = 0.0
                    for k in 0..<n { qtq += Q[k, i] * Q[k, j]; qr += Q[i, k] * R[k, j] }
                    XCTAssertEqual(qtq, i == j ? 1 : 0, accuracy: 1e-12, "QᵀQ = I (n=\(n))")
                    XCTAssertEqual(qr, A[i, j], accuracy: 1e-12, "QR = A (n=\(n))")
                    if i > j { XCTAssertEqual(R[i, j], 0) }
                }
                XCTAssertGreaterThanOrEqual(R[i, i], 0)
            }
        }
    }

    struct InitProbe: CellVisitor {
        typealias Real = Double
        let kind: RecurrentInit, tmax: Int
        func visit<C: RecurrentCell>(_ make: @escaping (Int) -> C) throws -> [String: Matrix<Double>] where C.Real == Double {
            let stack = RecurrentStack(layers: 2, bidirectional: false, inputSize: 3, hiddenSize: 6, make: make)
            var rng = RNG(seed: 4)
            var p = stack.initialParameters(.pytorch, rng: &rng)
            var irng = RNG(seed: 5)
            stack.applyRecurrentInit(kind, chronoTMax: tmax, to: &p, rng: &irng)
            var out: [String: Matrix<Double>] = [:]
            p.forEachTensor { name, m in out[name] = m }
            return out
        }
    }

    func testIdentityInit() throws {
        let t = try CellKind.rnnReLU.accept(InitProbe(kind: .identity, tmax: 0), hidden: 6)
        for l in 0..<2 {
            let W = try XCTUnwrap(t["W_hh_l\(l)"]), b = try XCTUnwrap(t["b_h_l\(l)"])
            for i in 0..<6 { for j in 0..<6 { XCTAssertEqual(W[i, j], i == j ? 1 : 0) } }
            XCTAssertEqual(b.data, Array(repeating: 0, count: 6))
            XCTAssertTrue(t["W_hx_l\(l)"]!.data.contains { $0 != 0 }, "the input weights keep their draw")
        }
    }

    func testOrthogonalInitGivesOrthogonalRecurrentMatrices() throws {
        for (kind, names) in [(CellKind.rnn, ["W_hh"]), (.lstm, ["W_ih", "W_fh", "W_gh", "W_oh"]), (.gru, ["W_rh", "W_zh", "W_nh"])] {
            let t = try kind.accept(InitProbe(kind: .orthogonal, tmax: 0), hidden: 6)
            for name in names {
                let W = try XCTUnwrap(t[name + "_l1"], "\(kind.rawValue) \(name)")
                for i in 0..<6 { for j in 0..<6 {
                    var s = 0.0
                    for k in 0..<6 { s += W[k, i] * W[k, j] }
                    XCTAssertEqual(s, i == j ? 1 : 0, accuracy: 1e-12, "\(kind.rawValue) \(name): WᵀW = I")
                } }
            }
        }
    }

    func testChronoBiasesLieInTheirRange() throws {
        let tmax = 50
        let lstm = try CellKind.lstm.accept(InitProbe(kind: .chrono, tmax: tmax), hidden: 6)
        for l in 0..<2 {
            let f = try XCTUnwrap(lstm["b_f_l\(l)"]).data, i = try XCTUnwrap(lstm["b_i_l\(l)"]).data
            XCTAssertTrue(f.allSatisfy { $0 >= 0 && $0 < log(Double(tmax - 1)) }, "b_f in [0, log(T_max − 1)): \(f)")
            XCTAssertEqual(i, f.map { -$0 }, "b_i = −b_f")
            XCTAssertGreaterThan(Set(f).count, 1, "drawn, not constant")
        }
        let gru = try CellKind.gru.accept(InitProbe(kind: .chrono, tmax: tmax), hidden: 6)
        let z = try XCTUnwrap(gru["b_z_l0"]).data
        XCTAssertTrue(z.allSatisfy { $0 >= 0 && $0 < log(Double(tmax - 1)) }, "b_z in [0, log(T_max − 1)): \(z)")
    }

    /// No recurrent init: the configuration written into checkpoints has no new keys, so the
    /// palindrome runs (and their checkpoints) are those of before.
    func testDefaultConfigurationHasNoRecurrentInitKeys() {
        let json = TrainConfig().json
        XCTAssertFalse(json.contains("recurrentInit") || json.contains("chronoTMax"), json)
    }

    // MARK: gradflow's Jacobian products, spectrum and saturation

    struct JacobianCheck: CellVisitor {
        typealias Real = Double
        func visit<C: RecurrentCell>(_ make: @escaping (Int) -> C) throws -> Double where C.Real == Double {
            let cell = make(2)
            var rng = RNG(seed: 31)
            let p = cell.initialParameters(.xavier, rng: &rng)
            let xs = (0..<5).map { _ in Matrix<Double>.normal(1, 2, std: 1, rng: &rng) }
            let J = GradientAnatomy.jacobians(cell, p, xs: xs)
            var worst = 0.0
            for k in 0...5 {
                let fd = GradientAnatomy.finiteDifferenceJacobian(cell, p, xs: xs, k: k)
                for i in 0..<fd.count { worst = max(worst, abs(fd.data[i] - J[k].data[i])) }
            }
            return worst
        }
    }

    /// ∂h_T/∂h_k by backpropagation equals the finite-difference Jacobian, every k, every cell.
    func testJacobianProductsMatchFiniteDifferences() throws {
        for kind in CellKind.allCases {
            let err = try kind.accept(JacobianCheck(), hidden: 4)
            XCTAssertLessThan(err, 1e-8, "\(kind.rawValue): max |J − J_fd| = \(err)")
        }
    }

    func testSpectralRadiusAndSingularValues() {
        // a rotation by 90° scaled by 0.5: complex eigenvalues ±0.5i, ρ = 0.5 = σ_max
        let R = Matrix<Double>(rows: 2, cols: 2, data: [0, -0.5, 0.5, 0])
        XCTAssertEqual(GradientAnatomy.spectralRadius(R), 0.5, accuracy: 1e-5)   // Gelfand at m = 65536: ‖·‖_F^{1/m} ≈ 1 + 5e-6
        // nilpotent: ρ = 0 while σ_max = 3 (Pascanu et al.'s two conditions differ)
        let N = Matrix<Double>(rows: 2, cols: 2, data: [0, 3, 0, 0])
        XCTAssertEqual(GradientAnatomy.spectralRadius(N), 0, accuracy: 1e-9)
        XCTAssertEqual(GradientAnatomy.topSingularValues(N, count: 1)[0], 3, accuracy: 1e-9)
        // upper triangular: ρ = max |diagonal| = 0.9
        let U = Matrix<Double>(rows: 3, cols: 3, data: [0.9, 5, 1, 0, -0.3, 2, 0, 0, 0.5])
        XCTAssertEqual(GradientAnatomy.spectralRadius(U), 0.9, accuracy: 2e-3)
        let D = Matrix<Double>(rows: 4, cols: 4, data: [2, 0, 0, 0, 0, -5, 0, 0, 0, 0, 0.5, 0, 0, 0, 0, 1])
        let s = GradientAnatomy.topSingularValues(D, count: 3)
        XCTAssertEqual(s[0], 5, accuracy: 1e-9); XCTAssertEqual(s[1], 2, accuracy: 1e-9); XCTAssertEqual(s[2], 1, accuracy: 1e-6)
    }

    func testGateSaturation() {
        let cell = LSTM<Double>(inputSize: 1, hiddenSize: 3)
        var rng = RNG(seed: 1)
        var p = cell.initialParameters(.pytorch, rng: &rng)
        p.b_f = Matrix(rows: 1, cols: 3, repeating: 10)      // f ≈ 1: saturated
        p.b_i = Matrix(rows: 1, cols: 3, data: [-10, 0, 0])   // one unit of three saturated
        let xs = (0..<4).map { _ in Matrix<Double>.uniform(5, 1, bound: 0.1, rng: &rng) }
        let sat = Dictionary(uniqueKeysWithValues: GradientAnatomy.saturation(cell, p, xs: xs).map { ($0.gate, $0.perStep) })
        XCTAssertEqual(Set(sat.keys), ["i", "f", "o"])
        XCTAssertEqual(sat["f"]!, [1, 1, 1, 1])
        for v in sat["i"]! { XCTAssertEqual(v, 1.0 / 3, accuracy: 1e-12) }
        XCTAssertTrue(GradientAnatomy.saturation(RNN<Double>(inputSize: 1, hiddenSize: 3), RNN<Double>(inputSize: 1, hiddenSize: 3).initialParameters(.pytorch, rng: &rng), xs: xs).isEmpty)
    }

    func testGradflowWritesTheAnatomy() throws {
        let dir = try scratchDirectory("gradflow-anatomy", test: self)
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try bptt(["gradflow", "--model", "rnn,gru", "--length", "6", "--steps", "4", "--hidden", "5", "--batch", "8", "--out", dir.path, "--quiet", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let j = try lastJSON(r)
        let gru = try XCTUnwrap((j["models"] as? [String: Any])?["gru"] as? [String: Any])
        let a = try XCTUnwrap(gru["anatomy_trained"] as? [String: Any])
        XCTAssertEqual((a["jacobian_norm"] as? [Double])?.count, 7)
        XCTAssertEqual((a["jacobian_norm"] as? [Double])?.last ?? 0, 5.0.squareRoot(), accuracy: 1e-12, "J_T = I")
        XCTAssertEqual(Set(((a["gate_saturation"] as? [String: Any]) ?? [:]).keys), ["r", "z"])
        let spectral = try XCTUnwrap(gru["spectral"] as? [[String: Any]])
        XCTAssertEqual(spectral.map { $0["step"] as? Int }, [0, 1, 2, 3, 4])
        for f in ["gradflow_jacobian.svg", "gradflow_spectral.svg", "gradflow_saturation.svg", "gradflow_jacobian.csv"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent(f).path), f)
        }
    }

    // MARK: the trainer and the command line

    func testCopyTrainerBeatsNothingAtFirstButReportsTheBaseline() throws {
        var c = LongMemoryConfig()
        c.task = "copy"; c.length = 3; c.hidden = 8; c.batch = 8; c.evalSize = 16
        let t = try LongMemoryTrainer(c)
        let s = t.trainStep()
        XCTAssertTrue(s.loss.isFinite && s.loss > 0)
        XCTAssertTrue((0...1).contains(s.accuracy))
        XCTAssertEqual(c.baseline, 10 * log(8) / 23, accuracy: 1e-15)
        // untrained, the mean per-step cross-entropy is near log 9 (nine classes, near-uniform outputs)
        XCTAssertEqual(t.evaluate().loss, log(9), accuracy: 0.3)
    }

    func testAddingSaveResumeIsExact() throws {
        let dir = try scratchDirectory("longmem", test: self)
        defer { try? FileManager.default.removeItem(at: dir) }
        let ck = dir.appendingPathComponent("a.ckpt").path
        let common = ["train", "--task", "adding", "--model", "gru", "--length", "8", "--hidden", "8", "--batch", "8", "--eval-size", "32", "--quiet", "--json"]
        let whole = try bptt(common + ["--steps", "6"])
        XCTAssertEqual(whole.status, 0, whole.stderr)
        let first = try bptt(common + ["--steps", "3", "--save", ck])
        XCTAssertEqual(first.status, 0, first.stderr)
        let rest = try bptt(common + ["--steps", "6", "--resume", ck, "--threads", "1"])
        XCTAssertEqual(rest.status, 0, rest.stderr)
        let a = try lastJSON(whole), b = try lastJSON(rest)
        XCTAssertEqual(a["final_loss"] as? Double, b["final_loss"] as? Double)
        XCTAssertEqual(a["eval_loss"] as? Double, b["eval_loss"] as? Double)
        XCTAssertEqual(a["baseline_loss"] as? Double, 1.0 / 6.0)
        for key in ["model", "task", "length", "steps", "final_loss", "eval_loss", "eval_accuracy", "baseline_loss", "examples_per_s"] {
            XCTAssertNotNil(a[key], "missing \(key)")
        }
        // a flag that shapes the run, given again with another value, is refused
        let clash = try bptt(["train", "--task", "adding", "--model", "gru", "--length", "9", "--steps", "6", "--resume", ck])
        XCTAssertEqual(clash.status, 2)
        XCTAssertTrue(clash.stderr.contains("--length 9 differs"), clash.stderr)
    }

    func testCopyAndPixelsRunFromTheCommandLine() throws {
        let copy = try bptt(["train", "--task", "copy", "--length", "4", "--steps", "3", "--hidden", "8", "--batch", "8", "--eval-size", "16", "--quiet", "--json"])
        XCTAssertEqual(copy.status, 0, copy.stderr)
        let j = try lastJSON(copy)
        XCTAssertEqual(j["sequence_steps"] as? Int, 24)
        XCTAssertEqual(try XCTUnwrap(j["baseline_loss"] as? Double), 10 * log(8) / 24, accuracy: 1e-12)
        XCTAssertTrue(copy.stdout.contains("baseline"), copy.stdout)
        let pixels = try bptt(["train", "--task", "pixels", "--model", "rnn-relu", "--init", "identity", "--permute", "7", "--hidden", "8",
                               "--epochs", "1", "--batch", "256", "--json"])
        XCTAssertEqual(pixels.status, 0, pixels.stderr)
        XCTAssertTrue(pixels.stdout.contains("64 steps of one pixel, permuted (seed 7)"), pixels.stdout)
        XCTAssertEqual(try lastJSON(pixels)["task"] as? String, "pixels")
    }

    func testBadFlagsGetOneLineErrors() throws {
        let cases: [([String], String)] = [
            (["train", "--task", "adding", "--model", "lstm", "--init", "identity"], "--init identity applies to rnn, rnn-relu, not lstm"),
            (["train", "--task", "copy", "--model", "rnn", "--init", "chrono"], "--init chrono applies to lstm, gru, gru-cho, not rnn"),
            (["train", "--task", "adding", "--init", "orthogonal", "--chrono-tmax", "50"], "--chrono-tmax applies to --init chrono"),
            (["train", "--task", "adding", "--length", "1"], "--length: 1 is below the minimum 2"),
            (["train", "--task", "adding", "--permute", "3"], "--permute does not apply to --task adding"),
            (["train", "--task", "copy", "--epochs", "3"], "--epochs does not apply to --task copy"),
            (["train", "--task", "image-rows", "--permute", "3"], "--permute applies to --task pixels, not image-rows"),
            (["train", "--task", "palindrome", "--permute", "3"], "--permute applies to --task pixels, not palindrome"),
            (["train", "--task", "pixels", "--permute", "x"], "--permute: 'x' is not a non-negative integer"),
            (["train", "--task", "adding", "--init", "chrono", "--chrono-tmax", "1"], "--chrono-tmax: 1 is below the minimum 2"),
            (["train", "--model", "gru", "--init", "identity", "--steps", "1"], "--init identity applies to rnn, rnn-relu, not gru"),
            // experiments over several models refuse before the first model trains
            (["gradflow", "--model", "rnn,lstm", "--init", "identity", "--length", "5", "--steps", "3", "--hidden", "8"], "--init identity applies to rnn, rnn-relu, not lstm"),
            (["sweep", "--model", "rnn,lstm", "--init", "chrono", "--lengths", "3", "--steps", "3"], "--init chrono applies to lstm, gru, gru-cho, not rnn"),
            (["train", "--task", "text", "--init", "identity", "--steps", "1"], "--init identity: the long-memory initialisations are not wired into --task text"),
        ]
        for (args, message) in cases {
            let r = try bptt(args)
            XCTAssertEqual(r.stdout, "", "\(args): no work before the error")
            XCTAssertEqual(r.status, 2, "\(args): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(message), "\(args): \(r.stderr)")
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, "\(args): one line: \(r.stderr)")
        }
    }
}

extension WorkedExamples {
    /// derivations/long-memory.md: the adding problem through a small RNN and its readout, the
    /// copy baseline, an orthogonal matrix, chrono biases and a pixel permutation.
    static func longMemory() -> WorkedExample {
        var e = WorkedExample()
        let v = [0.6, 0.1, 0.3, 0.9], m = [1.0, 0, 0, 1]
        let xs = (0..<4).map { Matrix<Double>(rows: 1, cols: 2, data: [v[$0], m[$0]]) }
        let y = zip(v, m).reduce(0) { $0 + $1.0 * $1.1 }
        let model = SequenceRegressor(stack: RecurrentStack(layers: 1, bidirectional: false, inputSize: 2, hiddenSize: 2) {
            RNN<Double>(inputSize: $0, hiddenSize: 2, activation: .tanh)
        })
        var rng = RNG(seed: 3)
        let p = model.initialParameters(.xavier, rng: &rng)
        var ws = SequenceRegressor<RNN<Double>>.Workspace(), g = p.zeros(), none: RNG? = nil
        let sum = model.lossAndGradient(xs, targets: Matrix(rows: 1, cols: 1, data: [y]), p, lossScale: 1, workspace: &ws, grads: &g, dropoutRNG: &none)
        e.add("v", Matrix(rows: 1, cols: 4, data: v), "input"); e.add("m", Matrix(rows: 1, cols: 4, data: m), "input")
        e.add("y", y, "long-memory.target")
        e.add("h_4", model.stack.finalState(ws.stack), "stacked.final")
        e.add("yhat", ws.yhat, "long-memory.y")
        e.add("mse", sum, "long-memory.mse")
        e.add("dyhat", ws.dyhat, "long-memory.dy")
        e.add("copy_baseline_T100", CopyMemory.memorylessBaseline(delay: 100), "long-memory.ce")
        var qrng = RNG(seed: 1)
        e.add("Q", HouseholderQR.randomOrthogonal(2, rng: &qrng), "long-memory.orthogonal")
        let stack = RecurrentStack(layers: 1, bidirectional: false, inputSize: 1, hiddenSize: 3) { LSTM<Double>(inputSize: $0, hiddenSize: 3) }
        var lrng = RNG(seed: 2)
        var lp = stack.initialParameters(.pytorch, rng: &lrng)
        var crng = RNG(seed: 2)
        stack.applyRecurrentInit(.chrono, chronoTMax: 10, to: &lp, rng: &crng)
        e.add("b_f", lp.units[0].b_f, "long-memory.chrono"); e.add("b_i", lp.units[0].b_i, "long-memory.chrono")
        e.add("order", PixelSequence.order(pixels: 6, permute: 1).map(Double.init), "long-memory.pixels")
        // the RNN of the adding example above: ∂h_4/∂h_0, and its W_hh's ρ and σ_max
        let cell = model.stack.cells[0], cp = p.stack.units[0]
        e.add("W_hh", cp.W_hh, "input")
        e.add("J_0", GradientAnatomy.jacobians(cell, cp, xs: xs)[0], "long-memory.jacobian")
        e.add("rho(W_hh)", GradientAnatomy.spectralRadius(cp.W_hh), "long-memory.spectral")
        e.add("sigma_max(W_hh)", GradientAnatomy.topSingularValues(cp.W_hh, count: 1, iterations: 500)[0], "long-memory.spectral")
        return e
    }
}
