/// Per-step adjoints (`bptt gradcheck --locate`): besides every parameter and input, the gradient
/// of the loss with respect to every intermediate quantity at every time step — h_t, c_t, each
/// gate's pre-activation and activation, the logits — is checked.
///
/// - analytic: what the real backward pass computed, recorded by a `Tracer` at the line that
///   computes it (dh_t at (rnn.dh), df_t at (lstm.df), …);
/// - numeric: central differences of the loss when that one element is nudged inside the real
///   forward pass at step t (the tracer adds ±ε where the code computes it), everything after it
///   recomputed.
///
/// Walking the entries backward from the last step, in the order the backward pass computes
/// them, the first disagreement is where a bug enters: a wrong line corrupts its own quantity and
/// everything computed after it, never what was computed before.
public enum StepAdjointCheck {
    /// One quantity at one step: max relative error over its elements.
    public struct Entry: Sendable {
        public let t: Int
        public let quantity: Quantity
        public let result: GradientCheck.Result
        public var name: String { quantity.name }
        /// The tag of the backward equation that computes this adjoint.
        public var tag: String { quantity.adjointTag }
    }

    /// Where the first disagreement is: a step and the tag of the equation there, or (t = nil)
    /// the tag of a parameter-gradient equation when every per-step adjoint agrees.
    public struct Divergence: Sendable, Equatable {
        public let t: Int?
        public let tag: String
    }

    public struct Report: Sendable {
        /// Parameters, inputs and initial states, as the plain check.
        public var results: [GradientCheck.Result]
        /// Per-step entries in walking order (last step first, backward order within a step);
        /// empty when the per-step check was not asked for.
        public var steps: [Entry]
        /// nil when everything agrees.
        public var firstDivergence: Divergence?
        /// The mistake that was switched on, if any.
        public var broken: Break?
        public var passed: Bool {
            results.allSatisfy(\.passed) && steps.allSatisfy(\.result.passed)
        }
    }

    /// Checks every quantity that `tracer` recorded both forward (its value) and backward (its
    /// adjoint). `tracer` holds the records of one analytic pass; `loss` runs the real forward
    /// pass with the given tracer attached (its nudge set) and returns the loss.
    public static func check(_ tracer: Tracer, step: Double = GradientCheck.defaultStep,
                             stencil: GradientCheck.Stencil = .fivePoint,
                             loss: (Tracer) -> GradientCheck.Evaluation) -> [Entry] {
        // backward records in the order the backward pass wrote them, then stably by step, last first
        let adjoints = tracer.records.enumerated()
            .filter { $0.element.phase == .backward && tracer.record(.forward, $0.element.quantity, $0.element.t) != nil }
            .sorted { ($0.element.t, -$0.offset) > ($1.element.t, -$1.offset) }
            .map(\.element)
        let tensors = adjoints.map { r in
            GradientCheck.Tensor(name: "\(r.quantity.name)_\(r.t)", value: tracer.record(.forward, r.quantity, r.t)!.value,
                                 analytic: r.value)
        }
        let base = tensors.map(\.value)
        let wasRecording = tracer.recording
        tracer.recording = false
        defer { tracer.recording = wasRecording; tracer.nudge = nil }
        // (gradcheck.adjoint) n(q_t) = (L(q_t + h) − L(q_t − h)) / 2h (or the five-point stencil) vs dq_t
        let results = GradientCheck.run(tensors, step: step, stencil: stencil) { values in   // (gradcheck.adjoint)
            tracer.nudge = nil
            // the one element the checker moved becomes a nudge inside the forward pass
            search: for k in values.indices where values[k].data != base[k].data {
                for i in values[k].data.indices where values[k].data[i] != base[k].data[i] {
                    let cols = base[k].cols
                    tracer.nudge = .init(adjoints[k].quantity, t: adjoints[k].t, row: i / cols, col: i % cols,
                                         delta: values[k].data[i] - base[k].data[i])
                    break search
                }
            }
            return loss(tracer)
        }
        return zip(adjoints, results).map { Entry(t: $0.t, quantity: $0.quantity, result: $1) }
    }

    /// The first disagreement walking backward from the last step; else the first parameter
    /// (in the check's order) whose gradient disagrees, named by its gradient equation's tag.
    public static func firstDivergence(steps: [Entry], results: [GradientCheck.Result], model: String) -> Divergence? {
        if let e = steps.first(where: { !$0.result.passed }) { return Divergence(t: e.t, tag: e.tag) }
        if let r = results.first(where: { !$0.passed }) { return Divergence(t: nil, tag: parameterTag(r.name, model: model)) }
        return nil
    }

    /// The equation computing a parameter's (or input's) gradient, by the check's tensor name.
    public static func parameterTag(_ name: String, model: String) -> String {
        switch name {
        case "W_ph": return "linear.dW"
        case "b_p": return "linear.db"
        default: break
        }
        switch model {
        case "rnn", "rnn-relu":
            return ["W_hx": "rnn.dW_hx", "W_hh": "rnn.dW_hh", "b_h": "rnn.db_h", "x": "rnn.dx", "h0": "rnn.dhprev"][name] ?? "rnn"
        case "lstm":
            if name == "x" { return "lstm.dx" }
            if name == "h0" { return "lstm.dhprev" }
            if name == "c0" { return "lstm.dcprev" }
            if name.hasPrefix("b_") { return "lstm.db" }
            return name.hasSuffix("x") ? "lstm.dW_x" : "lstm.dW_h"
        default:  // gru, gru-cho
            if name == "x" { return "gru.dx" }
            if name == "h0" { return "gru.dhprev" }
            if name == "b_nh" { return "gru.db_nh" }
            if name.hasPrefix("b_") { return "gru.db" }
            if name == "W_nh" && model == "gru-cho" { return "gru.dW_nh_cho" }
            return name.hasSuffix("x") ? "gru.dW_x" : "gru.dW_h"
        }
    }
}

extension SequenceCheckCase {
    /// The plain check with `breaking` switched on in the backward pass and, with `steps`, the
    /// per-step adjoints of every quantity, for one unit of any cell.
    public func locate(breaking: Break? = nil, steps: Bool = true, step: Double = GradientCheck.defaultStep,
                       stencil: GradientCheck.Stencil = .fivePoint) -> StepAdjointCheck.Report {
        let tracer = Tracer(breaking: breaking)
        let results = check(step: step, stencil: stencil, tracer: tracer)
        guard steps else { return .init(results: results, steps: [], firstDivergence: nil, broken: breaking) }
        require(model.stack.cells.count == 1 && spec.lengths == nil, "per-step adjoints: one unit, full-length rows")
        let entries = StepAdjointCheck.check(tracer, step: step, stencil: stencil) { tracer in
            var ws = Model.Workspace()
            ws.stack.tracer = tracer
            let value = model.forward(xs, targets: targets, h0s: h0s, c0s: c0s, params, workspace: &ws).lossSum * lossScale
            guard hasReLU else { return .init(loss: value) }
            // which units are active, from h_t = ReLU(a_t); a nudged h_t element counts with its value before the nudge
            let n = tracer.nudge.flatMap { $0.quantity == .rnnH ? $0 : nil }
            var hasher = Hasher()
            for (t, state) in ws.stack.caches[0].states.enumerated().dropFirst() {
                for (i, v) in state.h.data.enumerated() {
                    let nudged = n.map { $0.t == t && $0.row * spec.hidden + $0.col == i } ?? false
                    hasher.combine((nudged ? v - n!.delta : v) > 0)
                }
            }
            return .init(loss: value, pattern: hasher.finalize())
        }
        let cell = model.stack.cells[0], name = spec.model.rawValue
        let divergence: StepAdjointCheck.Divergence?
        if let e = entries.first(where: { !$0.result.passed }) { divergence = .init(t: e.t, tag: e.tag) }
        else if let r = results.first(where: { !$0.passed }) {
            divergence = .init(t: nil, tag: cell.gradientTag(r.name) ?? StepAdjointCheck.parameterTag(r.name, model: name))
        } else { divergence = nil }
        return .init(results: results, steps: entries, firstDivergence: divergence, broken: breaking)
    }
}

extension SequenceGradientCheck {
    struct LocateVisitor: CellVisitor {
        typealias Real = Double
        let spec: SequenceCheckSpec, breaking: Break?, steps: Bool, step: Double, stencil: GradientCheck.Stencil
        func visit<C: RecurrentCell>(_ make: @escaping (Int) -> C) throws -> StepAdjointCheck.Report where C.Real == Double {
            SequenceCheckCase(spec, make: make).locate(breaking: breaking, steps: steps, step: step, stencil: stencil)
        }
    }

    /// `bptt gradcheck --locate` / `--break` for one unit of the cell a spec names.
    public static func locate(_ spec: SequenceCheckSpec, breaking: Break? = nil, steps: Bool = true,
                              step: Double = GradientCheck.defaultStep, stencil: GradientCheck.Stencil = .fivePoint) -> StepAdjointCheck.Report {
        try! spec.model.accept(LocateVisitor(spec: spec, breaking: breaking, steps: steps, step: step, stencil: stencil), hidden: spec.hidden)
    }
}
