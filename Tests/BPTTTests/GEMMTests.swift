import XCTest
import BPTT

final class GEMMTests: XCTestCase {
    /// Reference: C = op(A)·op(B) by the textbook triple loop, in Double.
    func naive(_ a: Matrix<Double>, _ ta: Bool, _ b: Matrix<Double>, _ tb: Bool) -> Matrix<Double> {
        let A = ta ? a.transposed() : a
        let B = tb ? b.transposed() : b
        var c = Matrix<Double>(rows: A.rows, cols: B.cols)
        for i in 0..<A.rows { for j in 0..<B.cols {
            var s = 0.0
            for k in 0..<A.cols { s += A[i, k] * B[k, j] }
            c[i, j] = s
        } }
        return c
    }

    func testAllFormsAndShapesMatchTheTripleLoop() {
        var rng = RNG(seed: 1)
        // shapes straddle the 6-row and 16-column blocking, including tails, K = 1 and K > 256
        for (m, n, k) in [(1, 1, 1), (6, 16, 3), (7, 17, 5), (13, 33, 1), (5, 10, 128), (12, 48, 7), (2, 3, 4), (7, 32, 9), (1, 16, 4), (16, 64, 20),
                          (13, 40, 600), (7, 33, 257), (6, 16, 256),   // K across the 256-row panel blocks
                          (512, 1, 640), (40, 3, 300), (13, 4, 5)] {   // tiny N (dW_x of a one-number input)
            for ta in [false, true] { for tb in [false, true] {
                let a = Matrix<Double>.normal(ta ? k : m, ta ? m : k, std: 1, rng: &rng)
                let b = Matrix<Double>.normal(tb ? n : k, tb ? k : n, std: 1, rng: &rng)
                let expected = naive(a, ta, b, tb)
                var c = Matrix<Double>(rows: m, cols: n)
                gemm(a, transA: ta, b, transB: tb, into: &c)
                for i in 0..<c.count { XCTAssertEqual(c.data[i], expected.data[i], accuracy: 1e-12, "m\(m) n\(n) k\(k) ta\(ta) tb\(tb)") }
                // beta = 1 accumulates onto what is there
                let before = Matrix<Double>.normal(m, n, std: 1, rng: &rng)
                var acc = before
                gemm(a, transA: ta, b, transB: tb, into: &acc, beta: 1)
                for i in 0..<acc.count { XCTAssertEqual(acc.data[i], before.data[i] + expected.data[i], accuracy: 1e-12) }
            } }
        }
    }

    func testARowGetsTheSameBitsWhicheverLoopOrderTheBatchSizeChooses() {
        // A data-parallel shard of 32 rows takes the small-m loop order, the whole batch of 64 or 65
        // rows another one: every row of C must be the same sum in the same order either way, with
        // K across several 256-row blocks, for both forms of B and for C += … onto the same values.
        var rng = RNG(seed: 5)
        for transB in [false, true] {
            for (n, k) in [(784, 1024), (70, 600), (33, 257)] {
                let a = Matrix<Float>.uniform(65, k, bound: 1, rng: &rng)
                let b = Matrix<Float>.uniform(transB ? n : k, transB ? k : n, bound: 1, rng: &rng)
                let c0 = Matrix<Float>.uniform(65, n, bound: 1, rng: &rng)
                for beta: Float in [0, 1] {
                    var whole = c0
                    gemm(a, b, transB: transB, into: &whole, beta: beta)
                    func rows(_ m: Matrix<Float>, _ lo: Int, _ count: Int) -> Matrix<Float> {
                        Matrix(rows: count, cols: m.cols, data: Array(m.data[(lo * m.cols)..<((lo + count) * m.cols)]))
                    }
                    for (lo, count) in [(0, 32), (32, 32), (64, 1), (3, 17)] {
                        var part = rows(c0, lo, count)
                        gemm(rows(a, lo, count), b, transB: transB, into: &part, beta: beta)
                        XCTAssertEqual(part.data, rows(whole, lo, count).data, "rows \(lo)..<\(lo + count) n \(n) k \(k) transB \(transB) beta \(beta)")
                    }
                }
            }
        }
    }

    func testFloatAgreesWithDouble() {
        var rng = RNG(seed: 2)
        let a = Matrix<Double>.normal(37, 129, std: 1, rng: &rng)
        let b = Matrix<Double>.normal(129, 70, std: 1, rng: &rng)
        var cd = Matrix<Double>(rows: 37, cols: 70)
        gemm(a, b, into: &cd)
        var cf = Matrix<Float>(rows: 37, cols: 70)
        gemm(a.converted(to: Float.self), b.converted(to: Float.self), into: &cf)
        for i in 0..<cd.count { XCTAssertEqual(Double(cf.data[i]), cd.data[i], accuracy: 1e-3) }
    }

    /// Float products: the AVX-512 kernel (when this CPU has it) and the AVX2 kernels give the
    /// same bits for every form and shape — each element is the same FMA chain — and both agree
    /// with the triple loop. On a CPU without AVX-512 this checks the AVX2 path against the loop.
    func testAVX512AndAVX2KernelsGiveIdenticalFloats() {
        var rng = RNG(seed: 3)
        let saved = GEMMKernels.avx512
        defer { GEMMKernels.avx512 = saved }
        for (m, n, k) in [(1, 1, 1), (6, 32, 3), (7, 33, 5), (13, 40, 600), (64, 512, 129), (128, 128, 128), (300, 70, 300),
                          (9, 100, 257), (2, 17, 4), (65, 48, 20), (4, 31, 9), (512, 1, 640), (40, 3, 300), (13, 4, 5)] {
            for ta in [false, true] { for tb in [false, true] {
                let a = Matrix<Double>.normal(ta ? k : m, ta ? m : k, std: 1, rng: &rng)
                let b = Matrix<Double>.normal(tb ? n : k, tb ? k : n, std: 1, rng: &rng)
                let expected = naive(a, ta, b, tb)
                let af = a.converted(to: Float.self), bf = b.converted(to: Float.self)
                let start = Matrix<Double>.normal(m, n, std: 1, rng: &rng).converted(to: Float.self)
                var results: [[Float]] = []
                for use512 in [false, GEMMKernels.cpuHasAVX512] {
                    GEMMKernels.avx512 = use512
                    var c = Matrix<Float>(rows: m, cols: n)
                    gemm(af, transA: ta, bf, transB: tb, into: &c)
                    var acc = start
                    gemm(af, transA: ta, bf, transB: tb, into: &acc, beta: 1)
                    results.append(c.data + acc.data)
                    for i in 0..<c.count {
                        XCTAssertEqual(Double(c.data[i]), expected.data[i], accuracy: 1e-4 * Double(k).squareRoot() * 10, "m\(m) n\(n) k\(k)")
                    }
                }
                XCTAssertEqual(results[0], results[1], "m\(m) n\(n) k\(k) ta\(ta) tb\(tb): the two kernels differ")
            } }
        }
    }

    /// A product with a zero operand (h_0 = 0 at a cell's first step) is skipped: with the other
    /// operand finite it stores exactly what the micro-kernel does, +0 (β = 0) or C + 0 (β = 1,
    /// where −0 becomes +0), in every loop order and through a packed B; an ∞ in the other
    /// operand still gives the NaNs of 0·∞, where the textbook product has them.
    func testAZeroOperandStoresTheKernelsZeroAndKeepsTheNaNsOfZeroTimesInfinity() {
        var rng = RNG(seed: 9)
        func bits(_ m: Matrix<Float>) -> [UInt32] { m.data.map(\.bitPattern) }
        // the forward h_0·W_hᵀ of a 64-row shard (small M), dW_h = dAᵀ·h_0 (packed A), others
        for (m, n, k) in [(64, 384, 128), (384, 128, 64), (7, 33, 257), (40, 3, 300), (3, 2, 9)] {
            for ta in [false, true] { for tb in [false, true] { for zeroA in [true, false] {
                let label = "m\(m) n\(n) k\(k) ta\(ta) tb\(tb) zeroA \(zeroA)"
                var a = Matrix<Float>.normal(ta ? k : m, ta ? m : k, std: 1, rng: &rng)
                var b = Matrix<Float>.normal(tb ? n : k, tb ? k : n, std: 1, rng: &rng)
                if zeroA { a = Matrix(rows: a.rows, cols: a.cols); a.data[1] = -0.0 } else { b = Matrix(rows: b.rows, cols: b.cols); b.data[1] = -0.0 }
                var before = Matrix<Float>.normal(m, n, std: 1, rng: &rng)
                before.data[0] = -0.0
                var c = before
                gemm(a, transA: ta, b, transB: tb, into: &c, beta: 1)
                XCTAssertEqual(bits(c), before.data.map { ($0 + 0).bitPattern }, label)
                XCTAssertEqual(c.data[0].sign, .plus, label)
                gemm(a, transA: ta, b, transB: tb, into: &c)
                XCTAssertEqual(bits(c), [UInt32](repeating: 0, count: m * n), label)
                // an ∞ in the other operand: NaN wherever the textbook product has one
                if zeroA { b.data[b.count / 2] = .infinity } else { a.data[a.count / 2] = -.infinity }
                gemm(a, transA: ta, b, transB: tb, into: &c)
                let textbook = naive(a.converted(to: Double.self), ta, b.converted(to: Double.self), tb)
                XCTAssertEqual(c.data.map(\.isNaN), textbook.data.map(\.isNaN), label)
                XCTAssertTrue(c.data.contains { $0.isNaN }, label)
            } } }
        }
        // through a packed B (the cells' W_hᵀ)
        let w = Matrix<Float>.normal(96, 40, std: 1, rng: &rng)
        var packed = PackedB<Float>()
        packed.pack(w, k: 40, n: 96, transB: true)
        let h0 = Matrix<Float>(rows: 64, cols: 40)
        var before = Matrix<Float>.normal(64, 96, std: 1, rng: &rng)
        before.data[5] = -0.0
        var c = before
        gemm(h0, packed: packed, into: &c, beta: 1)
        XCTAssertEqual(bits(c), before.data.map { ($0 + 0).bitPattern })
        gemm(h0, packed: packed, into: &c)
        XCTAssertEqual(bits(c), [UInt32](repeating: 0, count: c.count))
        var bad = w
        bad.data[7] = .nan
        packed.pack(bad, k: 40, n: 96, transB: true)
        gemm(h0, packed: packed, into: &c)
        XCTAssertEqual(c.data.filter(\.isNaN).count, 64)   // column 0 of C (row 0 of W), in each of the 64 rows
    }

    /// dW = Aᵀ·B whose B starts with zero rows (a stacked h_{t−1} whose first rows are h_0 = 0)
    /// skips them, and stores the same bits as before: each element of C is C (β = 1) plus, per
    /// K-block of 256, one FMA chain from +0 over the block, emulated here term by term.
    func testLeadingZeroRowsOfAWeightGradientAreSkippedWithTheSameBits() {
        var rng = RNG(seed: 11)
        let (m, n, k) = (300, 40, 640)                       // gemmPanels: Aᵀ with rows 300 apart, K in 3 blocks
        for (zeroRows, beta) in [(64, 1), (64, 0), (300, 0), (300, 1), (0, 1)] {
            var a = Matrix<Float>.normal(k, m, std: 1, rng: &rng)     // stored K×M: op(A) = Aᵀ
            var b = Matrix<Float>.normal(k, n, std: 1, rng: &rng)
            for i in 0..<(zeroRows * n) { b.data[i] = i % 7 == 0 ? -0.0 : 0 }
            var before = Matrix<Float>.normal(m, n, std: 1, rng: &rng)
            before.data[3] = -0.0
            func emulated() -> [UInt32] {
                var out = [UInt32]()
                for i in 0..<m { for j in 0..<n {
                    var c: Float = beta == 1 ? before.data[i * n + j] : 0
                    var p0 = 0
                    while p0 < k {
                        var chain: Float = 0
                        for p in p0..<min(p0 + 256, k) { chain.addProduct(a.data[p * m + i], b.data[p * n + j]) }
                        c = (p0 == 0 && beta == 0) ? chain : c + chain
                        p0 += 256
                    }
                    out.append(c.bitPattern)
                } }
                return out
            }
            var c = before
            gemm(a, transA: true, b, into: &c, beta: Float(beta))
            XCTAssertEqual(c.data.map(\.bitPattern), emulated(), "zero rows \(zeroRows), beta \(beta)")
            // an ∞ in A's rows against the zero rows: the NaNs of 0·∞ stay
            if zeroRows > 0 {
                a.data[5 * m + 2] = .infinity
                c = before
                gemm(a, transA: true, b, into: &c, beta: Float(beta))
                XCTAssertEqual(c.data.map(\.bitPattern), emulated(), "zero rows \(zeroRows), beta \(beta), ∞")
                XCTAssertEqual(c.data.filter(\.isNaN).count, n)   // row 2 of C
            }
        }
    }
}
