import Foundation
import BPTT
import XCTest

/// `bptt gradcheck --locate`, `--break`, `--list-breaks`: per-step adjoints find where a backward
/// pass goes wrong, and every catalogued mistake is found at the equation it breaks.
final class LocateTests: XCTestCase, RunsBPTT {
    func testEveryCatalogueEntryFailsAndIsLocatedAtItsEquation() throws {
        XCTAssertGreaterThanOrEqual(Break.allCases.count, 8)
        for b in Break.allCases {
            for model in Set([b.models[0], b.models.last!]).sorted() {
                let r = try bptt(["gradcheck", "--model", model, "--break", b.name, "--locate", "--json"])
                XCTAssertEqual(r.status, 1, "\(b.name) on \(model) did not fail the check: \(r.stdout)")
                let j = try lastJSON(r)
                XCTAssertEqual(j["passed"] as? Bool, false, b.name)
                XCTAssertEqual(j["break"] as? String, b.name)
                let d = try XCTUnwrap(j["first_divergence"] as? [String: Any], "\(b.name): no first_divergence")
                XCTAssertEqual(d["tag"] as? String, b.tag, "\(b.name) on \(model): located at \(d)")
                // a mistake in a per-step equation is found at a step; one in a sum over steps is not
                let steps = try XCTUnwrap(j["steps"] as? [[String: Any]])
                if steps.contains(where: { $0["tag"] as? String == b.tag }) {
                    XCTAssertNotNil(d["t"] as? Int, "\(b.name): per-step equation without a step")
                } else {
                    XCTAssertTrue(d["t"] is NSNull, "\(b.name): parameter-gradient equation with a step")
                }
            }
        }
    }

    func testWithoutBreaksEveryStepAndTensorAgrees() throws {
        let expected: [String: Set<String>] = [
            "rnn": ["p", "h", "a"], "rnn-relu": ["p", "h", "a"],
            "lstm": ["p", "h", "o", "c", "i", "f", "g", "a_i", "a_f", "a_g", "a_o"],
            "gru": ["p", "h", "n", "z", "a_n", "r", "m", "a_r", "a_z"],
            "gru-cho": ["p", "h", "n", "z", "a_n", "q", "r", "a_r", "a_z"],
        ]
        for (model, quantities) in expected.sorted(by: { $0.key < $1.key }) {
            let r = try bptt(["gradcheck", "--model", model, "--locate", "--json", "--length", "3"])
            XCTAssertEqual(r.status, 0, "\(model): \(r.stdout)")
            let j = try lastJSON(r)
            XCTAssertTrue(j["first_divergence"] is NSNull, "\(model): \(j["first_divergence"] ?? "")")
            for (name, e) in try XCTUnwrap(j["tensors"] as? [String: Double]) { XCTAssertLessThan(e, 1e-7, "\(model) \(name)") }
            let steps = try XCTUnwrap(j["steps"] as? [[String: Any]])
            XCTAssertEqual(Set(steps.compactMap { $0["quantity"] as? String }), quantities, model)
            for s in steps {
                XCTAssertLessThan(try XCTUnwrap(s["rel_error"] as? Double), 1e-7, "\(model) \(s)")
                XCTAssertTrue((s["tag"] as? String ?? "").contains("."), "\(s)")
            }
            // h at every step, walked from the last step back
            let hSteps = steps.filter { $0["quantity"] as? String == "h" }.compactMap { $0["t"] as? Int }
            XCTAssertEqual(hSteps, [3, 2, 1], model)
        }
    }

    func testBreakFlagsAreCheckedAndTrainingRefusesThem() throws {
        let cases: [([String], String)] = [
            (["train", "--break", "rnn.dh:no-dhnext", "--steps", "1"], "--break"),
            (["gradcheck", "--model", "rnn", "--break", "rnn.dh:nonsense"], "--break"),
            (["gradcheck", "--model", "lstm", "--break", "rnn.dh:no-dhnext"], "--break"),
            (["gradcheck", "--model", "mlp", "--locate"], "--locate"),
            (["gradcheck", "--model", "lstm", "--layers", "2", "--locate"], "--locate"),
        ]
        for (args, name) in cases {
            let r = try bptt(args)
            XCTAssertEqual(r.status, 2, "\(args): \(r.stdout)")
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, "\(args): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(name), "\(args): \(r.stderr)")
        }
        let list = try bptt(["gradcheck", "--list-breaks", "--json"])
        XCTAssertEqual(list.status, 0)
        let entries = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(list.stdout.split(separator: "\n").last!.utf8)) as? [[String: Any]])
        XCTAssertEqual(entries.count, Break.allCases.count)
        let models = Set(entries.flatMap { $0["models"] as? [String] ?? [] })
        XCTAssertTrue(models.isSuperset(of: ["rnn", "lstm", "gru"]), "\(models)")
        for e in entries {
            let name = try XCTUnwrap(e["name"] as? String)
            XCTAssertEqual(name.split(separator: ":").first.map(String.init), e["tag"] as? String)
            XCTAssertTrue(list.stdout.contains(name))
        }
    }

    /// The break names and the equations the probe quotes use the derivations' own tags.
    func testCatalogueAndQuantityTagsAreDerived() {
        let defined = TraceabilityTests.definedTags()
        for b in Break.allCases { XCTAssertNotNil(defined[b.tag], "\(b.name): no \\tag{\(b.tag)} in derivations/") }
        XCTAssertEqual(Set(Break.allCases.map { $0.tag.split(separator: ".")[0] }), ["rnn", "lstm", "gru", "losses"])
        for q in Quantity.allCases {
            for eq in [q.info.forward, q.info.backward].compactMap({ $0 }) where !eq.tag.contains("*") {
                XCTAssertNotNil(defined[eq.tag], "\(q): no \\tag{\(eq.tag)} in derivations/")
            }
        }
    }

    /// A tracer only watches: gradients with and without it are bit-identical, and what it
    /// records is what the cell wrote into its cache.
    func testTracerChangesNothingAndRecordsTheCache() {
        var spec = SequenceCheckSpec(model: .lstm)
        spec.length = 3
        for kind in CellKind.allCases {
            spec.model = kind
            let plain = SequenceGradientCheck.locate(spec, steps: false)
            let traced = SequenceGradientCheck.locate(spec, steps: true)
            XCTAssertEqual(plain.results.map(\.analytic), traced.results.map(\.analytic), "\(kind)")
            XCTAssertEqual(plain.results.map(\.maxRelError), traced.results.map(\.maxRelError), "\(kind)")
        }
        let c = rnnCase(.tanh, batch: 2, length: 3, input: 2, hidden: 3, classes: 4, withH0: true, seed: 5)
        let tracer = Tracer()
        let traced = c.analytic(tracer: tracer)
        let plain = c.analytic()
        XCTAssertEqual(traced.grads.stack.units[0].W_hh, plain.grads.stack.units[0].W_hh)
        XCTAssertEqual(traced.dh0s, plain.dh0s)
        var ws = SequenceCheckCase<RNN<Double>>.Model.Workspace()
        c.model.forward(c.xs, targets: c.targets, h0s: c.h0s, c.params, workspace: &ws)
        for t in 1...3 {
            XCTAssertEqual(tracer.record(.forward, .rnnH, t)?.value, ws.stack.caches[0].states[t].h, "h_\(t)")
            XCTAssertNotNil(tracer.record(.backward, .rnnH, t), "dh_\(t)")
        }
        XCTAssertEqual(tracer.record(.backward, .rnnDW_hh, 1)?.value, plain.grads.stack.units[0].W_hh, "the running sum ends at the gradient")
    }
}

/// The mistakes learners make most, as catalogue entries: each located, a scale error reported as one.
final class LearnerMistakeTests: XCTestCase, RunsBPTT {
    func testLossSummedOverTIsLocatedAndReportedAsAFactor() throws {
        for (model, output) in [("rnn", "last"), ("gru", "every-step")] {
            let r = try bptt(["gradcheck", "--model", model, "--output", output, "--length", "5", "--break", "losses.dp:sum-over-T", "--locate", "--json"])
            XCTAssertEqual(r.status, 1, r.stdout)
            let j = try lastJSON(r)
            XCTAssertEqual((j["first_divergence"] as? [String: Any])?["tag"] as? String, "losses.dp")
            let f = try XCTUnwrap(j["scale_factor"] as? [String: Any], r.stdout)
            XCTAssertEqual(f["name"] as? String, "T")
            XCTAssertEqual(try XCTUnwrap(f["value"] as? Double), 5, accuracy: 1e-9)
            XCTAssertTrue(r.stdout.contains("(= T): a constant factor"), r.stdout)
        }
        // a mistake that is not a scale is not reported as one
        let r = try bptt(["gradcheck", "--model", "rnn", "--break", "rnn.db_h:one-row", "--locate", "--json"])
        XCTAssertNil(try lastJSON(r)["scale_factor"], r.stdout)
    }

    func testNewMistakesAreLocatedWhereTheyEnter() throws {
        let expected: [(String, String, Int?)] = [
            ("rnn.da:dhnext-after-derivative", "rnn", 3),   // dh_4 has no dh^next: step 3 is the first it changes
            ("rnn.da:dhnext-after-derivative", "rnn-relu", 3),
            ("rnn.db_h:one-row", "rnn", nil),              // a sum over steps and rows: no step to name
            ("gru.dh:z-swapped-in-dhprev", "gru", 3),       // dh_3 is the first adjoint the direct path feeds
            ("gru.dh:z-swapped-in-dhprev", "gru-cho", 3),
        ]
        for (name, model, t) in expected {
            let r = try bptt(["gradcheck", "--model", model, "--break", name, "--locate", "--json"])
            XCTAssertEqual(r.status, 1, "\(name) \(model)")
            let d = try XCTUnwrap(try lastJSON(r)["first_divergence"] as? [String: Any])
            XCTAssertEqual(d["t"] as? Int, t, "\(name) \(model): \(d)")
            XCTAssertEqual(d["tag"] as? String, Break(name: name)?.tag)
        }
    }
}
