import XCTest
import BPTT

final class RNNGradientTests: XCTestCase {
    func assertPasses(_ results: [GradientCheck.Result], _ label: String, file: StaticString = #filePath, line: UInt = #line) {
        for r in results {
            XCTAssertLessThan(r.maxRelError, GradientCheck.threshold,
                              "\(label) \(r.name): rel error \(r.maxRelError) (analytic \(r.analytic), numeric \(r.numeric))",
                              file: file, line: line)
        }
    }

    func testManyToOneEveryTensorTanhAndReLU() {
        for activation in [RNN<Double>.Activation.tanh, .relu] {
            for length in [1, 3, 8] {
                let c = rnnCase(activation, batch: 3, length: length, input: 2, hidden: 5,
                                            classes: 4, withH0: true, seed: UInt64(length))
                let results = c.check()
                XCTAssertEqual(results.map(\.name), ["W_hx", "W_hh", "b_h", "W_ph", "b_p", "x", "h0"])
                assertPasses(results, "\(activation) T=\(length)")
            }
        }
    }

    func testManyToManyAndZeroInitialState() {
        for activation in [RNN<Double>.Activation.tanh, .relu] {
            let c = rnnCase(activation, output: .everyStep, batch: 2, length: 4, input: 3,
                                        hidden: 4, classes: 3, withH0: false, seed: 9)
            let results = c.check()
            XCTAssertEqual(results.count, 6)
            assertPasses(results, "\(activation) many-to-many")
        }
    }
}
