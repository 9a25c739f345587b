import Foundation
import XCTest
import BPTT

final class VectorizedTests: XCTestCase {
    func testFloatTanhAndSigmoidAreAccurate() {
        // a dense sweep over the interesting range plus extremes, odd count to exercise the tail
        var xs: [Float] = stride(from: -12.0, through: 12.0, by: 0.0137).map { Float($0) }
        xs += [0, -0, 1e-8, -1e-8, 1e-3, 30, -30, 88, -88]
        var t = xs, s = xs
        t.withUnsafeMutableBufferPointer { Float.tanh(inPlace: $0) }
        s.withUnsafeMutableBufferPointer { Float.sigmoid(inPlace: $0) }
        var worstT = 0.0, worstS = 0.0
        for (i, x) in xs.enumerated() {
            worstT = max(worstT, abs(Double(t[i]) - Foundation.tanh(Double(x))))
            worstS = max(worstS, abs(Double(s[i]) - 1 / (1 + Foundation.exp(-Double(x)))))
        }
        XCTAssertLessThan(worstT, 5e-7, "tanh max abs error")
        XCTAssertLessThan(worstS, 5e-7, "sigmoid max abs error")
    }

    func testDoubleUsesExactLibm() {
        var xs: [Double] = [-3, -0.5, 0, 0.25, 2]
        let expected = xs.map { Foundation.tanh($0) }
        xs.withUnsafeMutableBufferPointer { Double.tanh(inPlace: $0) }
        XCTAssertEqual(xs, expected)
    }

    /// expf8 is libm's expf evaluated 8 lanes at a time: the same bits, not an approximation of it.
    /// A spread of 2²⁰ bit patterns over all 2³² floats (every sign, exponent and NaN payload
    /// class), plus the edges of its special branch (±88, overflow near 88.72, underflow near
    /// −103.28 and −103.97), ±0, ±∞ and subnormals.
    func testExpf8IsLibmExpfBitForBit() {
        var xs: [Float] = []
        var b: UInt64 = 0
        while b < 1 << 32 { xs.append(Float(bitPattern: UInt32(b))); b += 4093 }
        let edges: [Float] = [88, -88, 0x1.62e42ep6, -0x1.9fe368p6, -0x1.9d1d9ep6]   // glibc's special branch and its limits
        xs += edges + edges.map(\.nextUp) + edges.map(\.nextDown)
        xs += [0, -0, .infinity, -.infinity, .nan, -103.5, 1e-45, -1e-45, 1, -1, 0.5]
        while xs.count % 8 != 0 { xs.append(Float(xs.count)) }
        var mismatches = 0, example = ""
        for i in stride(from: 0, to: xs.count, by: 8) {
            let v = SIMD8<Float>(xs[i..<i + 8])
            let e = expf8(v)
            for l in 0..<8 {
                let want = Foundation.expf(v[l])
                if e[l].bitPattern != want.bitPattern && !(e[l].isNaN && want.isNaN) {
                    mismatches += 1
                    if example.isEmpty { example = "expf8(\(v[l])) = \(e[l]), expf = \(want)" }
                }
            }
        }
        XCTAssertGreaterThan(xs.count, 1_000_000)
        XCTAssertEqual(mismatches, 0, example)
    }

    /// The sigmoid layer (8 lanes a time, with a tail) gives the scalar σ's bits in both precisions.
    func testSigmoidLayerHasTheScalarBits() {
        var rng = RNG(seed: 7)
        var zs: [Float] = (0..<1003).map { _ in Float(rng.gaussian() * 6) }
        zs += [0, -0, 88, -88, 100, -100, -104, .infinity, -.infinity, 1e-30, -1e-30]
        let z = Matrix(rows: 1, cols: zs.count, data: zs)
        var h = Matrix<Float>(rows: 0, cols: 0)
        Activation.sigmoid.forward(z, into: &h)
        for (i, x) in zs.enumerated() {
            XCTAssertEqual(h.data[i].bitPattern, Float.sigmoid(x).bitPattern, "σ(\(x))")
        }
        let zd = Matrix(rows: 1, cols: zs.count, data: zs.map(Double.init))
        var hd = Matrix<Double>(rows: 0, cols: 0)
        Activation.sigmoid.forward(zd, into: &hd)
        for (i, x) in zd.data.enumerated() {
            XCTAssertEqual(hd.data[i].bitPattern, Double.sigmoid(x).bitPattern, "σ(\(x))")
        }
        var nan = Matrix<Float>(rows: 0, cols: 0)
        Activation.sigmoid.forward(Matrix(rows: 1, cols: 3, data: [1, .nan, -1]), into: &nan)
        XCTAssertTrue(nan.data[1].isNaN)
        XCTAssertEqual(nan.data[0], Float.sigmoid(1))
    }
}
