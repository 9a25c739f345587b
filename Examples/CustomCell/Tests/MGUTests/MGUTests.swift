import BPTT
import MGU
import XCTest

final class MGUTests: XCTestCase {
    /// Every parameter, every x_t and h0 in Float64 against central differences, and every per-step adjoint.
    func testBackwardAgreesWithCentralDifferences() {
        let report = CellCheck.run { MGU<Double>(inputSize: $0, hiddenSize: 5) }
        XCTAssertTrue(report.passed, report.message)
    }
}
