import Foundation
import BPTT
import XCTest

/// `bptt explain`: the walk-through prints the real passes' numbers, agrees with `bptt gradcheck`
/// on the same case, writes Markdown, and stops on `q`.
final class ExplainTests: XCTestCase, RunsBPTT {
    func testExplainMatchesGradcheckForTheSameSeedAndSizes() throws {
        let dump = testTemporaryDirectory.appendingPathComponent("bptt-explain-dump-\(getpid()).json")
        defer { try? FileManager.default.removeItem(at: dump) }
        let sizes = ["--length", "3", "--batch", "2", "--input", "2", "--hidden", "3", "--classes", "4", "--seed", "7"]
        for model in ["rnn", "rnn-relu", "lstm", "gru", "gru-cho"] {
            let e = try bptt(["explain", "--model", model, "--json"] + sizes)
            XCTAssertEqual(e.status, 0, "\(model): \(e.stderr)")
            let ej = try lastJSON(e)
            let g = try bptt(["gradcheck", "--model", model, "--json", "--dump", dump.path] + sizes)
            XCTAssertEqual(g.status, 0, g.stdout)
            let gj = try lastJSON(g)
            let d = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: dump)) as? [String: Any])
            XCTAssertEqual(try XCTUnwrap(ej["loss"] as? Double), try XCTUnwrap(d["loss_value"] as? Double), accuracy: 1e-14, model)
            let grads = try XCTUnwrap(ej["gradients"] as? [String: [Double]])
            let dumped = try XCTUnwrap(d["gradients"] as? [String: [String: Any]])
            XCTAssertFalse(dumped.isEmpty)
            for (name, tensor) in dumped {
                let want = (tensor["data"] as! [NSNumber]).map(\.doubleValue)
                let got = try XCTUnwrap(grads[name], "\(model): explain lacks \(name)")
                XCTAssertEqual(got.count, want.count, "\(model) \(name)")
                for (a, b) in zip(got, want) { XCTAssertEqual(a, b, accuracy: 1e-14 * max(1, abs(b)), "\(model) \(name)") }
            }
            // same relative errors, tensor by tensor (the same checker on the same case), all < 1e-7
            let et = try XCTUnwrap(ej["tensors"] as? [String: Double]), gt = try XCTUnwrap(gj["tensors"] as? [String: Double])
            XCTAssertEqual(Set(et.keys), Set(gt.keys), model)
            for (name, err) in gt {
                XCTAssertEqual(et[name]!, err, accuracy: 1e-9 * max(err, 1e-12) + 1e-16, "\(model) \(name)")
                XCTAssertLessThan(err, 1e-7)
            }
        }
        // the MLP: the same case as gradcheck's softmax-ce/tanh entries
        let e = try lastJSON(try bptt(["explain", "--model", "mlp", "--input", "4", "--hidden", "6,5", "--classes", "3", "--batch", "3", "--json"]))
        let g = try lastJSON(try bptt(["gradcheck", "--model", "mlp", "--json"]))
        let et = try XCTUnwrap(e["tensors"] as? [String: Double]), gt = try XCTUnwrap(g["tensors"] as? [String: Double])
        XCTAssertEqual(et.count, 7)
        for (name, err) in et {
            let other = try XCTUnwrap(gt["softmax-ce/tanh/" + name], name)
            XCTAssertEqual(err, other, accuracy: 1e-9 * max(other, 1e-12) + 1e-16, name)
        }
    }

    func testWalkthroughFollowsTheCodeForEveryModel() throws {
        for model in Walkthrough.Spec.models {
            var spec = Walkthrough.Spec()
            spec.model = model
            let w = Walkthrough.make(spec)
            XCTAssertLessThan(w.maxRelError, 1e-7, model)
            let tags = w.sections.flatMap(\.items).map(\.tag).filter { !$0.isEmpty }
            let defined = TraceabilityTests.definedTags()
            for t in tags { XCTAssertNotNil(defined[t], "\(model): quotes (\(t)), which no derivation defines") }
            guard model != "mlp" else { continue }
            // forward steps in order, then backward steps in reverse order
            let titles = w.sections.map(\.title)
            let fwd = titles.filter { $0.hasPrefix("forward") }, bwd = titles.filter { $0.hasPrefix("backward, t") }
            XCTAssertEqual(fwd, ["forward, t = 1", "forward, t = 2", "forward, t = 3"], model)
            XCTAssertEqual(bwd, ["backward, t = 3", "backward, t = 2", "backward, t = 1"], model)
            XCTAssertLessThan(titles.firstIndex(of: "readout and loss")!, titles.firstIndex(of: "backward, t = 3")!)
            // each step computes h_t forward and dh_t backward
            let stem = model.hasPrefix("rnn") ? "rnn" : String(model.prefix(while: { $0 != "-" }))
            XCTAssertEqual(tags.filter { $0 == "\(stem).h" }.count, 3, model)
            XCTAssertEqual(tags.filter { $0 == "\(stem).dh" }.count, 3, model)
        }
        // the LSTM's cell state flows back through (lstm.dc) at every step
        var spec = Walkthrough.Spec()
        spec.model = "lstm"
        XCTAssertEqual(Walkthrough.make(spec).sections.flatMap(\.items).filter { $0.tag == "lstm.dc" }.count, 3)
    }

    func testMarkdownAndInteractiveStop() throws {
        let md = testTemporaryDirectory.appendingPathComponent("bptt-explain-\(getpid()).md")
        defer { try? FileManager.default.removeItem(at: md) }
        let r = try bptt(["explain", "--model", "gru", "--markdown", md.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("(gru.dz)"))
        let text = try String(contentsOf: md, encoding: .utf8)
        XCTAssertEqual(text.components(separatedBy: "```").count % 2, 1, "unbalanced code fences")
        XCTAssertTrue(text.contains("```math\n"))
        XCTAssertTrue(text.contains(#"\tag{gru.h}"#))
        XCTAssertTrue(text.contains(#"\begin{bmatrix}"#))
        XCTAssertEqual(text.components(separatedBy: #"\begin{bmatrix}"#).count, text.components(separatedBy: #"\end{bmatrix}"#).count)
        XCTAssertTrue(text.contains("| element | analytic | numeric | relative error |"))

        // --interactive: `q` after the first step stops the walk-through there
        let p = Process()
        p.executableURL = bpttBinary
        p.arguments = ["explain", "--model", "rnn", "--interactive"]
        let input = Pipe(), output = Pipe()
        p.standardInput = input
        p.standardOutput = output
        try p.run()
        input.fileHandleForWriting.write("\nq\n".data(using: .utf8)!)
        try input.fileHandleForWriting.close()
        let out = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
        XCTAssertTrue(out.contains("forward, t = 1"), out)
        XCTAssertFalse(out.contains("forward, t = 2"), out)
        XCTAssertFalse(out.contains("analytic gradient"), out)
    }
}
