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
}
