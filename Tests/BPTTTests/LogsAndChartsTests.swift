import BPTT
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest

/// Logs, charts and console say the same thing: the CSV rows name what they hold (the step's own
/// figures and their means since the previous row), curves.svg gives loss and accuracy their own
/// axes, epochs have whole-number ticks, classify prints a confusion matrix and draws its mistakes.
final class LogsAndChartsTests: XCTestCase, RunsBPTT {
    func rows(_ path: String) throws -> [[String]] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map { $0.split(separator: ",").map(String.init) }
    }

    func testPalindromeLogAndCurvesHoldTheStepAndTheMeanSinceThePreviousRow() throws {
        let dir = try scratchDirectory("curves", test: self)
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.path + "/run", log = dir.path + "/log.csv"
        let r = try bptt(["train", "--length", "3", "--steps", "40", "--batch", "16", "--hidden", "8", "--eval-size", "20",
                          "--log", log, "--log-every", "10", "--out", out, "--quiet"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("wrote \(out)/curves.csv and \(out)/curves.svg"), r.stdout)
        let logged = try rows(log), curves = try rows(out + "/curves.csv")
        XCTAssertEqual(logged.first, ["step", "step_loss", "mean_loss_since_previous_row", "step_accuracy", "mean_accuracy_since_previous_row",
                                      "grad_norm", "examples_per_s"])
        XCTAssertEqual(logged.count, 5)
        XCTAssertEqual(logged.map { Array($0.prefix(6)) }, curves.map { Array($0.prefix(6)) })   // the same rows (the rate aside)
        // a mean over 10 steps is not the last step's own loss
        XCTAssertTrue(logged.dropFirst().contains { $0[1] != $0[2] }, "\(logged)")
        // with a row every step, the mean since the previous row is that step's loss
        let every = dir.path + "/every.csv"
        let r1 = try bptt(["train", "--length", "3", "--steps", "5", "--batch", "16", "--hidden", "8", "--eval-size", "20",
                           "--log", every, "--log-every", "1", "--quiet"])
        XCTAssertEqual(r1.status, 0, r1.stderr)
        for row in try rows(every).dropFirst() { XCTAssertEqual(row[1], row[2]); XCTAssertEqual(row[3], row[4]) }
        // loss and accuracy: two charts, one above the other, each with its own axis
        let svg = try String(contentsOfFile: out + "/curves.svg", encoding: .utf8)
        XCTAssertTrue(XMLParser(data: Data(svg.utf8)).parse(), "curves.svg is not well-formed")
        XCTAssertEqual(svg.components(separatedBy: "<svg x=\"0\" y=").count - 1, 2, svg.prefix(400).description)
        XCTAssertTrue(svg.contains(": loss</text>") && svg.contains(": accuracy</text>"))
    }

    func testEpochTicksAreWholeNumbers() {
        var chart = SVGChart(title: "t", xLabel: "epoch", yLabel: "loss")
        chart.series = [.init(name: "loss", points: [(1, 0.9), (2, 0.5), (3, 0.4)])]
        XCTAssertTrue(chart.render().contains(">1.5</text>"), "the test needs a range whose plain ticks are fractional")
        chart.integerX = true
        let svg = chart.render()
        XCTAssertFalse(svg.contains(">1.5</text>") || svg.contains(">2.5</text>"), svg)
        for t in ["1", "2", "3"] { XCTAssertTrue(svg.contains(">\(t)</text>"), "no tick \(t)") }
    }

    func testClassifyPrintsTheConfusionMatrixAndDrawsItsMistakes() throws {
        let dir = try scratchDirectory("confusion", test: self)
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try bptt(["classify", "--epochs", "1", "--hidden", "8", "--out", dir.path, "--quiet", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("confusion matrix (rows: true class, columns: predicted class)"), r.stdout)
        let j = try lastJSON(r)
        let m = try XCTUnwrap(j["confusion_matrix"] as? [[Int]])
        let n = try XCTUnwrap(j["test_images"] as? Int), accuracy = try XCTUnwrap(j["test_accuracy"] as? Double)
        XCTAssertEqual(m.count, 10)
        XCTAssertEqual(m.joined().reduce(0, +), n)
        let correct = (0..<m.count).map { m[$0][$0] }.reduce(0, +)
        XCTAssertEqual(Double(correct) / Double(n), accuracy, accuracy: 1e-12)
        XCTAssertLessThan(correct, n, "one epoch of a tiny net should make mistakes to draw")
        XCTAssertEqual(j["misclassified_png"] as? String, dir.path + "/misclassified.png")
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.path + "/misclassified.png"))
        XCTAssertTrue(r.stdout.contains("of \(n - correct) misclassified test images, labelled true>predicted"), r.stdout)
    }
}
