import Foundation
import BPTT
import XCTest

/// `bptt explain --html`: the page embeds exactly `explain --json`, cites real derivation and
/// Swift lines, names the steps and tags `gradcheck --locate` names, and, in headless Chromium,
/// its self-test steps through every equation and shows `explain --json`'s numbers.
final class ExplainPageTests: XCTestCase, RunsBPTT {
    func tempFile(_ name: String) -> URL {
        testTemporaryDirectory.appendingPathComponent("bptt-page-\(getpid())-\(name)")
    }

    /// The JSON object embedded in a page.
    func embedded(_ html: String) throws -> [String: Any] {
        let open = #"<script type="application/json" id="bptt-data">"#
        let start = try XCTUnwrap(html.range(of: open)).upperBound
        let end = try XCTUnwrap(html.range(of: "</script>", range: start..<html.endIndex)).lowerBound
        let text = html[start..<end].replacingOccurrences(of: "<\\/", with: "</")
        return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    /// Writes a page with `explain ARGS --html F --json`; returns the page's data, the JSON line and the HTML.
    func page(_ args: [String], name: String) throws -> (data: [String: Any], json: [String: Any], html: String, url: URL) {
        let url = tempFile(name)
        let r = try bptt(["explain"] + args + ["--html", url.path, "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("wrote \(url.path)"))
        let line = try XCTUnwrap(r.stdout.split(separator: "\n").last)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        let html = try String(contentsOf: url, encoding: .utf8)
        return (try embedded(html), json, html, url)
    }

    /// The page committed as docs/explain-lstm.html is what `make explain-page` writes from the
    /// sources as they are: it quotes the Swift lines and their line numbers, so it must be
    /// regenerated whenever they move (its screenshot, docs/explain-lstm.png, with it).
    func testCommittedPageIsCurrent() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let committed = try String(contentsOf: root.appendingPathComponent("docs/explain-lstm.html"), encoding: .utf8)
        let p = try page(["--model", "lstm"], name: "committed-lstm.html")
        XCTAssertTrue(p.html == committed, "docs/explain-lstm.html differs from what bptt explain --model lstm --html writes now: run make explain-page")
    }

    func testEmbeddedDataIsExplainJSONAndThePageIsOffline() throws {
        for (model, args) in [("rnn", ["--length", "4", "--hidden", "3"]), ("rnn-relu", []), ("lstm", []), ("gru", ["--batch", "2"]),
                              ("gru-cho", ["--no-h0"]), ("mlp", ["--hidden", "3,2"])] {
            let p = try page(["--model", model] + args, name: "\(model).html")
            defer { try? FileManager.default.removeItem(at: p.url) }
            // the embedded explain object is the --json line, number for number
            let explain = try XCTUnwrap(p.data["explain"] as? [String: Any])
            XCTAssertEqual(NSDictionary(dictionary: explain), NSDictionary(dictionary: p.json), model)
            let equations = try XCTUnwrap(p.json["equations"] as? [[String: Any]])
            let steps = try XCTUnwrap(p.data["steps"] as? [[String: Any]])
            XCTAssertEqual(steps.count, equations.count, model)
            XCTAssertGreaterThan(equations.count, 5, model)
            // every step shows its equation's tag and symbol; operands point at earlier equations or setup values
            for (k, (s, e)) in zip(steps, equations).enumerated() {
                XCTAssertEqual(s["tag"] as? String, e["tag"] as? String, "\(model) step \(k)")
                XCTAssertEqual(s["symbol"] as? String, e["symbol"] as? String, "\(model) step \(k)")
                for op in try XCTUnwrap(s["operands"] as? [[Any]]) {
                    let ref = try XCTUnwrap(op[1] as? Int)
                    XCTAssertLessThan(ref, k, "\(model) step \(k): an operand computed later")
                }
            }
            // the checks table is the final table of explain's text output
            let checks = try XCTUnwrap(p.json["checks"] as? [[String: Any]])
            XCTAssertEqual(checks.count, (p.json["gradients"] as! [String: [Double]]).values.reduce(0) { $0 + $1.count }, model)
            // offline: the page's markup, CSS and script (the data aside) load nothing
            let dataStart = try XCTUnwrap(p.html.range(of: #"<script type="application/json""#)).lowerBound
            let dataEnd = try XCTUnwrap(p.html.range(of: "</script>", range: dataStart..<p.html.endIndex)).upperBound
            let shell = String(p.html[..<dataStart] + p.html[dataEnd...])
            for needle in ["src=", "href=", "<link", "@import", "url(", "https://", "fetch(", "XMLHttpRequest", "@font-face"] {
                XCTAssertFalse(shell.contains(needle), "\(model): the page contains \(needle)")
            }
            XCTAssertFalse(shell.replacingOccurrences(of: "http://www.w3.org/2000/svg", with: "").contains("http://"), model)
            if model != "mlp" {
                // the strip: one ‖dh_t‖ per step, the graph one column per step (plus t = 0 and the loss)
                let T = try XCTUnwrap(p.data["length"] as? Int)
                XCTAssertEqual((p.data["strip"] as? [Any])?.count, T, model)
                let graph = try XCTUnwrap(p.data["graph"] as? [String: Any])
                XCTAssertEqual((graph["columns"] as? [String])?.count, T + 2, model)
                XCTAssertFalse((p.data["panels"] as? [Any] ?? []).isEmpty, model)
            }
        }
    }

    /// The text model's page draws the carried state in column t = 0 and the one-hot input of every step.
    func testTextPageDrawsTheCarriedStateAndTheInputs() throws {
        let p = try page(["--task", "text", "--model", "lstm", "--length", "3"], name: "text.html")
        defer { try? FileManager.default.removeItem(at: p.url) }
        let graph = try XCTUnwrap(p.data["graph"] as? [String: Any])
        let nodes = try XCTUnwrap(graph["nodes"] as? [[String: Any]])
        let ids = Set(nodes.compactMap { $0["id"] as? String })
        for id in ["h0", "c0", "x_1", "x_2", "x_3"] { XCTAssertTrue(ids.contains(id), "no node \(id) among \(ids.sorted())") }
        for n in nodes where ["h0", "c0"].contains(n["id"] as? String) { XCTAssertEqual(n["t"] as? Int, 0) }
    }

    func testLSTMDefaultPageIsUnderOneMegabyte() throws {
        let p = try page(["--model", "lstm"], name: "size.html")
        defer { try? FileManager.default.removeItem(at: p.url) }
        XCTAssertLessThan(p.html.utf8.count, 1_000_000)
    }

    /// Each tag's derivation text holds its `\tag{…}` and each cited Swift line is the repository's line.
    func testDerivationsAndCodeAreTheRepositorysLines() throws {
        let p = try page(["--model", "lstm"], name: "tags.html")
        defer { try? FileManager.default.removeItem(at: p.url) }
        let root = try ExplainPage.sourceRoot()
        let tags = try XCTUnwrap(p.data["tags"] as? [String: [String: Any]])
        for tag in ["lstm.dc", "lstm.a", "lstm.h", "lstm.da_g", "losses.dp"] {
            let t = try XCTUnwrap(tags[tag], tag)
            let d = try XCTUnwrap(t["derivation"] as? [String: Any], tag)
            XCTAssertTrue((d["text"] as? String ?? "").contains("\\tag{\(tag)}"), tag)
            let file = try String(contentsOf: root.appendingPathComponent(d["file"] as! String), encoding: .utf8).components(separatedBy: "\n")
            XCTAssertTrue(file[(d["line"] as! Int) - 1].contains("\\tag{\(tag)}"), tag)
            let code = try XCTUnwrap(t["code"] as? [[String: Any]])
            XCTAssertFalse(code.isEmpty, tag)
            for c in code {
                let lines = try String(contentsOf: root.appendingPathComponent(c["file"] as! String), encoding: .utf8).components(separatedBy: "\n")
                let line = lines[(c["line"] as! Int) - 1]
                XCTAssertTrue(line.contains("(\(tag))"), "\(tag): \(c)")
                XCTAssertTrue(line.trimmingCharacters(in: .whitespaces).hasPrefix((c["text"] as! String).replacingOccurrences(of: " …", with: "")), "\(tag): \(c)")
            }
        }
        // every equation's tag is there
        for s in try XCTUnwrap(p.data["steps"] as? [[String: Any]]) { XCTAssertNotNil(tags[s["tag"] as! String]) }
    }

    /// A mistake panel names the step and tag `bptt gradcheck --break NAME --locate` names.
    func testMistakePanelsAgreeWithGradcheckLocate() throws {
        for model in ["lstm", "rnn"] {
            let p = try page(["--model", model], name: "locate-\(model).html")
            defer { try? FileManager.default.removeItem(at: p.url) }
            let mistakes = (p.data["panels"] as! [[String: Any]]).filter { $0["group"] as? String == "mistake" }
            XCTAssertEqual(mistakes.count, Break.allCases.filter { $0.models.contains(model) }.count, model)
            for m in mistakes {
                let command = (m["command"] as! String).split(separator: " ").map(String.init)
                XCTAssertEqual(command.first, "bptt")
                let g = try bptt(Array(command.dropFirst()) + ["--json"])
                let line = try XCTUnwrap(g.stdout.split(separator: "\n").last)
                let gj = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                let want = gj["first_divergence"] as? [String: Any]
                let got = m["divergence"] as? [String: Any]
                XCTAssertEqual(got?["tag"] as? String, want?["tag"] as? String, "\(model) \(m["id"]!)")
                XCTAssertEqual(got?["t"] as? Int, want?["t"] as? Int, "\(model) \(m["id"]!)")
                // with one row in the batch a row-sum mistake changes nothing: both find no divergence
                if !(m["id"] as! String).contains("one-row") { XCTAssertNotNil(got, "\(model) \(m["id"]!): the mistake is found") }
            }
        }
    }

    func testSpectralRadius() {
        // [[a, −b], [b, a]]: eigenvalues a ± ib, ρ = √(a² + b²); a Jordan block: ρ = its diagonal
        XCTAssertEqual(ExplainPage.spectralRadius(Matrix(rows: 2, cols: 2, data: [0.6, -0.8, 0.8, 0.6])), 1.0, accuracy: 1e-3)
        XCTAssertEqual(ExplainPage.spectralRadius(Matrix(rows: 2, cols: 2, data: [0.5, 3, 0, 0.5])), 0.5, accuracy: 0.005)
        XCTAssertEqual(ExplainPage.spectralRadius(Matrix(rows: 3, cols: 3, data: [2, 0, 0, 0, -3, 0, 0, 0, 1])), 3.0, accuracy: 1e-3)
        XCTAssertEqual(ExplainPage.spectralRadius(Matrix(rows: 2, cols: 2, data: [0, 1, 0, 0])), 0)
    }

    func testMissingRepositoryIsOneLineExitTwo() throws {
        XCTAssertThrowsError(try ExplainPage.sourceRoot(environment: ["BPTT_SOURCE_ROOT": "/nonexistent-bptt"])) { e in
            XCTAssertTrue("\(e)".contains("/nonexistent-bptt/derivations"), "\(e)")
        }
        let p = Process()
        p.executableURL = bpttBinary
        let out = tempFile("never.html")
        p.arguments = ["explain", "--html", out.path]
        var env = ProcessInfo.processInfo.environment
        env["BPTT_SOURCE_ROOT"] = "/nonexistent-bptt"
        p.environment = env
        let err = Pipe()
        p.standardError = err
        p.standardOutput = Pipe()
        try p.run()
        let e = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 2)
        XCTAssertEqual(e.split(separator: "\n").count, 1, e)
        XCTAssertTrue(e.contains("BPTT_SOURCE_ROOT"), e)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.path))
    }

    func testTooLargeForThePageIsOneLineExitTwo() throws {
        for (flag, value) in [("--length", "7"), ("--hidden", "5")] {
            let out = tempFile("large.html")
            let r = try bptt(["explain", "--model", "lstm", flag, value, "--html", out.path])
            XCTAssertEqual(r.status, 2, r.stdout)
            XCTAssertTrue(r.stderr.contains(flag), r.stderr)
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
            XCTAssertFalse(FileManager.default.fileExists(atPath: out.path))
        }
    }

    /// Chromium on PATH (or nil).
    func chromium() -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin"
        for dir in path.split(separator: ":") {
            for name in ["chromium", "chromium-browser"] {
                let f = "\(dir)/\(name)"
                if FileManager.default.isExecutableFile(atPath: f) { return f }
            }
        }
        return nil
    }

    /// The page's self-test in headless Chromium: every equation stepped through, each result the
    /// `explain --json` value, the final table `explain --json`'s checks.
    func testSelfTestInHeadlessChromium() throws {
        guard let browser = chromium() else {
            print("testSelfTestInHeadlessChromium: skipped, no chromium on PATH (Debian: apt-get install chromium)")
            throw XCTSkip("chromium is not installed")
        }
        for args in [["--model", "lstm"], ["--model", "gru", "--length", "4", "--hidden", "3", "--seed", "5"]] {
            let p = try page(args, name: "selftest-\(args[1]).html")
            let profile = tempFile("chromium-profile-\(args[1])")
            defer { try? FileManager.default.removeItem(at: p.url); try? FileManager.default.removeItem(at: profile) }
            let proc = Process()
            proc.executableURL = URL(fileURLWithPath: browser)
            proc.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=\(profile.path)",
                              "--virtual-time-budget=5000", "--dump-dom", p.url.absoluteString + "#selftest"]
            let out = Pipe()
            proc.standardOutput = out
            proc.standardError = FileHandle.nullDevice
            try proc.run()
            let dom = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            proc.waitUntilExit()
            let open = try XCTUnwrap(dom.range(of: #"<pre id="selftest-result" hidden="">"#), "no self-test result in the DOM")
            let close = try XCTUnwrap(dom.range(of: "</pre>", range: open.upperBound..<dom.endIndex))
            let text = dom[open.upperBound..<close.lowerBound]
                .replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">").replacingOccurrences(of: "&amp;", with: "&")
            let r = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
            // the walk-through in this process, for exact numbers (the page's are strings, parsed by Double(_:));
            // beside it the CLI's --json line, as Foundation parses it (its decimal parser may be a few ulps off)
            var spec = Walkthrough.Spec()
            spec.model = args[1]
            if args.count > 2 { (spec.length, spec.hidden, spec.seed) = (4, 3, 5) }
            let w = Walkthrough.make(spec)
            func near(_ a: Double, _ b: Double) -> Bool { a == b || abs(a - b) <= 1e-15 * max(abs(a), abs(b)) }
            let equations = try XCTUnwrap(p.json["equations"] as? [[String: Any]])
            XCTAssertEqual(r["steps"] as? Int, equations.count, "\(args)")
            XCTAssertEqual(w.equations.count, equations.count)
            let shown = try XCTUnwrap(r["equations"] as? [[Any]])
            XCTAssertEqual(shown.count, equations.count)
            for ((s, e), mine) in zip(zip(shown, equations), w.equations) {
                XCTAssertEqual(s[0] as? String, e["symbol"] as? String)
                let values = try XCTUnwrap(s[1] as? [String]).map { Double($0)! }
                XCTAssertEqual(values, mine.item.values[0].matrix.data, "\(args) \(s[0])")
                let json = try XCTUnwrap(e["value"] as? [Double])
                XCTAssertEqual(values.count, json.count)
                for (a, b) in zip(values, json) { XCTAssertTrue(near(a, b), "\(args) \(s[0]): \(a) vs --json \(b)") }
            }
            let table = try XCTUnwrap(r["table"] as? [[Any]])
            let checks = try XCTUnwrap(p.json["checks"] as? [[String: Any]])
            XCTAssertEqual(table.count, checks.count)
            XCTAssertEqual(table.count, w.checks.count)
            for ((row, c), mine) in zip(zip(table, checks), w.checks) {
                XCTAssertEqual(row[0] as? String, c["element"] as? String)
                let got = try (1...3).map { try XCTUnwrap(Double(XCTUnwrap(row[$0] as? String))) }
                XCTAssertEqual(got, [mine.analytic, mine.numeric, mine.relError], "\(row[0])")
                for (a, key) in zip(got, ["analytic", "numeric", "rel_error"]) {
                    XCTAssertTrue(near(a, try XCTUnwrap(c[key] as? Double)), "\(row[0]) \(key)")
                }
            }
            XCTAssertEqual(r["strip_filled"] as? Int, p.data["length"] as? Int)
        }
    }
}
