import Foundation

/// Checks the backward pass of any cell on the step protocol — one of yours included — in
/// Float64, from your own tests:
///
///     let report = CellCheck.run { MyCell<Double>(inputSize: $0, hiddenSize: 5) }
///     XCTAssertTrue(report.passed, report.message)
///
/// The cell runs through the library's time loop under a softmax readout of h_T
/// (`SequenceClassifier`, as `bptt gradcheck`), on a random case drawn from `seed`: B×D inputs
/// x_1…x_T, initial states h0 (and c0 for a cell with a memory cell), B targets. Checked
/// against five-point central differences (pass mark `GradientCheck.threshold`):
///
/// - every parameter tensor (the names of your `forEachTensor`), the readout's W_ph and b_p,
///   every input x_t ("x", (T·B)×D, t-major), h0 and c0 (B×H);
/// - with `perStep` (the default), every quantity the cell reports both forward (its value, which
///   the check nudges by ±ε where the code computes it) and backward (its adjoint) to the probe,
///   at every step: h_t through the time loop, and whatever else the cell reports under
///   quantities named with `Quantity.define`. The first disagreement walking backward from the
///   last step is where a wrong backward line enters (`bptt gradcheck --locate`).
public enum CellCheck {
    /// What the check found.
    public struct Report: Sendable, CustomStringConvertible {
        /// Parameters, then "x", "h0" (and "c0"): max relative error each.
        public let results: [GradientCheck.Result]
        /// Per-step adjoints in walking order (last step first).
        public let steps: [StepAdjointCheck.Entry]
        /// The first per-step adjoint that disagrees (nil: none does).
        public let firstStep: StepAdjointCheck.Entry?
        /// The tag to look at: the first disagreeing adjoint's backward equation, else the
        /// gradient equation (`RecurrentCell.gradientTag`) of the first disagreeing tensor.
        public let tag: String?
        public let cellName: String
        /// The cell's h_t quantity, and the tag of its dh_{t−1} line (`gradientTag("h0")`).
        public let hQuantity: Quantity
        public let previousStateTag: String?
        /// The tag of the cell's dc_{t−1} line (`gradientTag("c0")`), for a cell with a memory cell.
        public let previousMemoryTag: String?
        /// T, the steps of the case.
        public let length: Int
        public var passed: Bool { results.allSatisfy(\.passed) && steps.allSatisfy(\.result.passed) }
        /// The line of the cell's own step backward to look at: `tag`, except that a wrong dh_t —
        /// which the time loop adds up from the loss and from what step t+1 passed back — names
        /// the cell's dh_{t−1} line (`previousStateTag`) when the cell gives one; and that, for a
        /// cell with a memory cell, a first divergence at t < T after every adjoint of step T
        /// agreed came in with what step t+1 passed back, and names the dc_{t−1} line
        /// (`previousMemoryTag`; the other suspect is how step t adds dc^next_t in, at `tag`).
        public var line: String? {
            if let e = firstStep, e.quantity == hQuantity, let from = previousStateTag { return from }
            if let from = previousMemoryTag, memoryPathSuspect { return from }
            return tag
        }
        var memoryPathSuspect: Bool {
            guard let e = firstStep, e.t < length, e.quantity != hQuantity else { return false }
            return steps.filter { $0.t == length }.allSatisfy(\.result.passed)
        }

        /// One line when everything agrees; otherwise where the first disagreement is, with the
        /// tag to look at, then every tensor's error.
        public var message: String {
            let n = results.count + steps.count
            if passed {
                return "\(cellName): backward agrees with central differences (\(n) checks, worst relative error "
                    + String(format: "%.1e", GradientCheck.worst(results.map(\.maxRelError) + steps.map(\.result.maxRelError))) + ")"
            }
            var lines: [String] = []
            if let e = firstStep {
                lines.append("\(cellName): first divergence at step \(e.t), quantity \(e.name): d\(e.name)_\(e.t) is wrong at (\(e.tag))"
                             + String(format: " — analytic %.6e, numeric %.6e, relative error %.1e",
                                      e.result.analytic, e.result.numeric, e.result.maxRelError))
                if let eq = e.quantity.info.backward { lines.append("  \(eq.tag): \(eq.text)") }
                if e.quantity == hQuantity, let from = previousStateTag {
                    lines.append("  dh_\(e.t) is what step \(e.t + 1) passed back: look at (\(from)) first")
                } else if let from = previousMemoryTag, memoryPathSuspect {
                    lines.append("  every adjoint of step \(length) agrees: the error came in with dc^next_\(e.t), what step \(e.t + 1) "
                                 + "passed back: look at (\(from)) first, then at how (\(e.tag)) adds it in")
                }
            } else if let r = results.first(where: { !$0.passed }) {
                lines.append("\(cellName): every per-step adjoint agrees; first divergence in the gradient of \(r.name) at (\(tag ?? r.name))")
            }
            for r in results {
                lines.append(String(format: "  %-8@ max rel error %.2e  %@", r.name as NSString, r.maxRelError, r.passed ? "ok" : "FAIL"))
            }
            let failing = steps.filter { !$0.result.passed }
            if !failing.isEmpty {
                lines.append("  per-step adjoints that disagree (last step first): "
                             + failing.prefix(8).map { "d\($0.name)_\($0.t) (\($0.tag))" }.joined(separator: ", ")
                             + (failing.count > 8 ? ", …" : ""))
            }
            return lines.joined(separator: "\n")
        }
        public var description: String { message }
    }

    /// Runs the check.
    ///
    /// - make: builds one cell of Float64 from its input width D (the check passes `input`).
    /// - batch B, length T, input D, classes K: the sizes of the case; seed: its draw.
    /// - perStep: also check every per-step adjoint the cell reports (slower: 4 forward passes
    ///   per element of every quantity at every step; about a second for the defaults).
    ///
    /// Errors: none thrown; a cell whose shapes disagree with its own sizes stops at the library's
    /// fatal errors (gemm and the time loop name the shapes). A ReLU-like kink is not handled here.
    public static func run<C: RecurrentCell>(batch: Int = 3, length: Int = 4, input: Int = 2, classes: Int = 4, seed: UInt64 = 0,
                                             perStep: Bool = true, _ make: @escaping (_ inputSize: Int) -> C) -> Report where C.Real == Double {
        var spec = SequenceCheckSpec(model: .rnn)
        (spec.batch, spec.length, spec.input, spec.classes, spec.seed) = (batch, length, input, classes, seed)
        spec.hidden = make(input).hiddenSize
        let c = SequenceCheckCase(spec, make: make)
        let r = c.locate(steps: perStep)
        let cell = c.model.stack.cells[0]
        let first = r.steps.first { !$0.result.passed }
        var tag = first?.tag
        if tag == nil, let bad = r.results.first(where: { !$0.passed }) {
            tag = cell.gradientTag(bad.name) ?? ["W_ph": "linear.dW", "b_p": "linear.db"][bad.name] ?? bad.name
        }
        return Report(results: r.results, steps: r.steps, firstStep: first, tag: tag, cellName: "\(C.self)",
                      hQuantity: cell.hQuantity, previousStateTag: cell.gradientTag("h0"),
                      previousMemoryTag: cell.hasCellState ? cell.gradientTag("c0") : nil, length: length)
    }
}
