import BPTT
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest

/// `--report DIR`: one self-contained, well-formed (XHTML) file with inline SVG and PNG.
final class ReportTests: XCTestCase, RunsBPTT {
    /// Parses `text` as XML; returns the parse error, or nil, and counts elements by name.
    final class Counter: NSObject, XMLParserDelegate {
        var counts: [String: Int] = [:]
        var attributes: [[String: String]] = []
        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                    attributes attributeDict: [String: String] = [:]) {
            counts[name, default: 0] += 1
            attributes.append(attributeDict)
        }
    }

    func parse(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> Counter {
        let parser = XMLParser(data: Data(text.utf8))
        let counter = Counter()
        parser.delegate = counter
        let ok = parser.parse()
        XCTAssertTrue(ok, "not well-formed XML: \(parser.parserError.map { "\($0)" } ?? "?") at line \(parser.lineNumber)", file: file, line: line)
        return counter
    }

    func tempDir() throws -> String {
        let dir = testTemporaryDirectory.appendingPathComponent("bptt-report-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        return dir
    }

    /// Every image is an inline base64 PNG; nothing is loaded from elsewhere.
    func assertSelfContained(_ html: String, _ c: Counter, file: StaticString = #filePath, line: UInt = #line) {
        for a in c.attributes {
            for key in ["src", "href"] {
                if let v = a[key] { XCTAssertTrue(v.hasPrefix("data:image/png;base64,"), "external resource \(v.prefix(60))", file: file, line: line) }
            }
            if let v = a["src"], let data = Data(base64Encoded: String(v.dropFirst("data:image/png;base64,".count))) {
                XCTAssertEqual(Array(data.prefix(8)), [137, 80, 78, 71, 13, 10, 26, 10], "not a PNG", file: file, line: line)
            }
        }
        XCTAssertFalse(html.contains("<script"), file: file, line: line)
    }

    func testReportIsWellFormedXHTMLWithInlineSVGAndPNG() {
        var r = Report(title: "a <test> & more", commandLine: ["bptt", "train", "--model", "rnn"])
        r.headline = [("accuracy", "0.99"), ("odd & <chars>", "\"x\"")]
        var chart = SVGChart(title: "loss", xLabel: "step", yLabel: "loss")
        chart.series = [.init(name: "a&b", points: [(1, 2), (2, 1), (3, 0.5)])]
        var grid = ImageGrid(rows: 1, cols: 2, tileHeight: 3, tileWidth: 3)
        grid.draw([Float](repeating: 0.5, count: 9), row: 0, col: 0)
        r.sections = [Report.Section("charts", [.chart(chart), .text("1 < 2 & 3 > 2")]),
                      Report.Section("table", [.table(header: ["k", "v"], rows: [["a", "0.1"], ["b", "0.9"]], heat: [[nil, 0.1], [nil, 0.9]]),
                                               Report.image("grid", grid)])]
        r.configuration = [("model", "rnn")]
        let html = r.html()
        let c = parse(html)
        XCTAssertEqual(c.counts["html"], 1)
        XCTAssertEqual(c.counts["svg"], 1)
        XCTAssertEqual(c.counts["img"], 1)
        XCTAssertEqual(c.counts["table"], 2)   // the table and the configuration
        XCTAssertGreaterThanOrEqual(c.counts["polyline"] ?? 0, 1)
        assertSelfContained(html, c)
        XCTAssertTrue(html.contains("a &lt;test&gt; &amp; more"))
        XCTAssertTrue(html.contains("background: #"), "heat colours missing")
    }

    func testLogLogChartWithMarkersIsWellFormed() {
        var chart = SVGChart(title: "error vs step", xLabel: "h", yLabel: "error")
        chart.logX = true
        chart.logY = true
        chart.series = [.init(name: "v", points: [(1e-1, 1e-3), (1e-4, 1e-9), (1e-8, 1e-5), (0, 1), (1e-3, 0)])]
        chart.verticalMarkers = [(1e-3, "checker")]
        chart.horizontalMarkers = [(1e-7, "pass mark")]
        let svg = chart.render()
        let c = parse(svg)
        XCTAssertEqual(c.counts["svg"], 1)
        XCTAssertTrue(svg.contains(">1e-8<") && svg.contains(">1e-1<"), "decade ticks on x")
        XCTAssertTrue(svg.contains("checker") && svg.contains("pass mark"))
        XCTAssertEqual(c.counts["circle"], 3, "points with x ≤ 0 or y ≤ 0 are left out on log axes")
    }

    func testSweepReportShowsTheModelComparisonAtAGlance() throws {
        let dir = try tempDir()
        let r = try bptt(["sweep", "--models", "rnn,lstm", "--lengths", "3,5", "--steps", "20", "--batch", "16", "--hidden", "8",
                          "--log-every", "5", "--out", dir + "/out", "--report", dir + "/report", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let json = try lastJSON(r)
        let html = try String(contentsOfFile: dir + "/report/report.html", encoding: .utf8)
        let c = parse(html)
        assertSelfContained(html, c)
        XCTAssertGreaterThanOrEqual(c.counts["svg"] ?? 0, 3)   // the accuracy-vs-length chart, one per length
        // the comparison table comes first, with every run's accuracy
        let comparison = try XCTUnwrap(html.range(of: "Comparison of the models"))
        let firstChart = try XCTUnwrap(html.range(of: "<svg"))
        XCTAssertLessThan(comparison.lowerBound, firstChart.lowerBound)
        for run in try XCTUnwrap(json["results"] as? [[String: Any]]) {
            let acc = try XCTUnwrap(run["eval_accuracy"] as? Double)
            XCTAssertTrue(html.contains(">\(String(format: "%.4f", acc))<"), "accuracy \(acc) of \(run["model"]!) T=\(run["length"]!) missing")
        }
        XCTAssertTrue(html.contains("T = 3") && html.contains("T = 5"))
    }

    func testTrainAndGradflowAndCurriculumReports() throws {
        let dir = try tempDir()
        let runs: [(String, [String])] = [
            ("train", ["train", "--model", "gru", "--length", "4", "--steps", "30", "--batch", "16", "--hidden", "8", "--quiet"]),
            ("gradflow", ["gradflow", "--model", "rnn,lstm", "--length", "6", "--steps", "5", "--batch", "8", "--hidden", "8", "--out", dir + "/gf"]),
            ("curriculum", ["curriculum", "--model", "rnn", "--lengths", "3,4", "--max-steps", "20", "--eval-every", "10", "--eval-size", "50",
                            "--batch", "16", "--hidden", "8", "--keep-going", "--out", dir + "/cu"]),
        ]
        for (name, args) in runs {
            let r = try bptt(args + ["--report", dir + "/" + name])
            XCTAssertEqual(r.status, 0, "\(name): \(r.stderr)")
            let html = try String(contentsOfFile: dir + "/\(name)/report.html", encoding: .utf8)
            let c = parse(html)
            assertSelfContained(html, c)
            XCTAssertGreaterThanOrEqual(c.counts["svg"] ?? 0, 2, name)
            XCTAssertTrue(html.contains("Configuration"), name)
            if name == "gradflow" {
                // the norms at init and trained, then the Jacobian product, ρ and σ_max, gate saturation
                XCTAssertEqual(c.counts["svg"], 5, name)
                XCTAssertTrue(html.contains("Why they vanish"), name)
            }
        }
        let r = try bptt(["train", "--task", "sentiment", "--report", dir])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("--report"))
    }

    func testAutoencoderAndGANReportsCarryTheirImages() throws {
        let dir = try tempDir()
        let ae = try bptt(["autoencoder", "--epochs", "2", "--hidden", "16", "--quiet", "--report", dir + "/ae"])
        XCTAssertEqual(ae.status, 0, ae.stderr)
        let gan = try bptt(["gan", "--steps", "6", "--batch", "8", "--latent", "4", "--g-hidden", "16", "--d-hidden", "16",
                            "--samples", "20", "--judge-epochs", "1", "--quiet", "--report", dir + "/gan"])
        XCTAssertEqual(gan.status, 0, gan.stderr)
        for (name, images) in [("ae", 1), ("gan", 4)] {
            let html = try String(contentsOfFile: dir + "/\(name)/report.html", encoding: .utf8)
            let c = parse(html)
            assertSelfContained(html, c)
            XCTAssertEqual(c.counts["img"], images, name)
            XCTAssertGreaterThanOrEqual(c.counts["svg"] ?? 0, 1, name)
        }
    }
}
