import XCTest
import BPTT

final class ExperimentTests: XCTestCase {
    func testLengthLists() throws {
        XCTAssertEqual(try Experiments.parseLengths("5-10"), [5, 6, 7, 8, 9, 10])
        XCTAssertEqual(try Experiments.parseLengths("10-150:10").count, 15)
        XCTAssertEqual(try Experiments.parseLengths("5,8,10"), [5, 8, 10])
        XCTAssertThrowsError(try Experiments.parseLengths("10-5"))
        XCTAssertThrowsError(try Experiments.parseLengths("a,b"))
    }

    func testChartHasAxesTicksLegendAndOneColourPerSeries() {
        var c = SVGChart(title: "t", xLabel: "step", yLabel: "accuracy")
        c.series = [.init(name: "rnn", points: [(0, 0.1), (100, 0.5)]), .init(name: "lstm", points: [(0, 0.2), (100, 0.9)])]
        let svg = c.render()
        XCTAssertTrue(svg.hasPrefix("<svg"))
        XCTAssertTrue(svg.contains(">rnn<") && svg.contains(">lstm<"))
        XCTAssertTrue(svg.contains(SVGChart.palette[0]) && svg.contains(SVGChart.palette[1]))
        XCTAssertEqual(SVGChart.niceTicks(0, 100), [0, 20, 40, 60, 80, 100])
    }

    /// Stacked training runs end to end, with dropout, and the LSTM learns a short palindrome.
    func testLSTMLearnsShortPalindromes() throws {
        var c = TrainConfig()
        c.model = "lstm"; c.length = 3; c.steps = 300; c.batch = 64; c.hidden = 32
        c.optimizer = OptimizerConfig(kind: .adam, lr: 1e-2)
        c.layers = 2; c.dropout = 0.1
        let t = try PalindromeTrainer(c)
        for _ in 0..<c.steps { t.trainStep() }
        XCTAssertGreaterThan(t.evaluate(count: 500).accuracy, 0.9)
        XCTAssertTrue(t.parameterNames.contains("W_gx_l1"))
    }

    /// Thread count does not change the numbers (fixed shard order), for every cell.
    func testSameNumbersForOneOrTwoThreads() throws {
        for m in ["lstm", "gru", "gru-cho"] {
            var c = TrainConfig()
            c.model = m; c.length = 4; c.batch = 16; c.hidden = 8; c.bidirectional = true
            var losses: [[Double]] = []
            for threads in [1, 2] {
                c.threads = threads
                let t = try PalindromeTrainer(c)
                losses.append((0..<5).map { _ in t.trainStep().loss })
            }
            XCTAssertEqual(losses[0], losses[1], m)
        }
    }
}
