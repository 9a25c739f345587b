/// Gradient checks for every cell, stacked and bidirectional: a reproducible random case
/// (parameters, inputs, targets, h0 and c0 per unit) from one seed, checked in Float64 and
/// dumped as JSON (`dump`) so another framework can recompute the same loss and gradients.
/// `bptt gradcheck --model M` runs it for every cell, on the model `train --model M` trains.
public struct SequenceCheckSpec: Sendable {
    public var model: CellKind
    public var layers = 1
    public var bidirectional = false
    public var output: SequenceOutput = .last
    public var batch = 3, length = 4, input = 2, hidden = 5, classes = 4
    public var withH0 = true
    /// Per-row sequence lengths (masking); padded positions are filled with garbage. nil: all T.
    public var lengths: [Int]? = nil
    public var seed: UInt64 = 0
    public init(model: CellKind) { self.model = model }
}

public struct SequenceCheckCase<Cell: RecurrentCell> where Cell.Real == Double {
    public typealias Model = SequenceClassifier<Cell>
    public let spec: SequenceCheckSpec
    public let model: Model
    public var xs: [Matrix<Double>]
    public var targets: [[Int]]
    public var h0s: [Matrix<Double>]?
    public var c0s: [Matrix<Double>]?
    public var params: Model.Parameters
    /// Truncated BPTT window k for `analytic` (0: full BPTT, which finite differences define).
    public var truncation = 0

    /// Builds the case. For ReLU cells, cases where any pre-activation of any level or direction comes within `kinkMargin` of 0
    /// are redrawn from the same stream, so that the finite differences rarely straddle a kink.
    /// Other cells keep the first draw.
    public init(_ spec: SequenceCheckSpec, make: @escaping (Int) -> Cell, kinkMargin: Double = 1e-3) {
        self.spec = spec
        var rng = RNG(seed: spec.seed)
        model = Model(stack: RecurrentStack(layers: spec.layers, bidirectional: spec.bidirectional,
                                            inputSize: spec.input, hiddenSize: spec.hidden, make: make),
                      classes: spec.classes, output: spec.output)
        (params, xs, targets, h0s, c0s) = Self.draw(spec, model, &rng)
        guard hasReLU else { return }
        for _ in 0..<1000 {
            if minPreActivationMagnitude() > kinkMargin { return }
            (params, xs, targets, h0s, c0s) = Self.draw(spec, model, &rng)
        }
        fatalError("could not draw a ReLU case away from the kink")
    }

    static func draw(_ spec: SequenceCheckSpec, _ model: Model, _ rng: inout RNG)
        -> (Model.Parameters, [Matrix<Double>], [[Int]], [Matrix<Double>]?, [Matrix<Double>]?)
    {
        // Xavier: larger than PyTorch's init, so every path carries a sizeable gradient.
        let params = model.initialParameters(.xavier, rng: &rng)
        var xs = (0..<spec.length).map { _ in Matrix<Double>.normal(spec.batch, spec.input, std: 1, rng: &rng) }
        if let lengths = spec.lengths {
            // garbage in padded positions: large, finite, different from the real inputs
            for t in 0..<spec.length { for b in 0..<spec.batch where t >= lengths[b] {
                for d in 0..<spec.input { xs[t][b, d] = 50 * (rng.uniform() - 0.5) }
            } }
        }
        let steps = spec.output == .last ? 1 : spec.length
        let targets = (0..<steps).map { _ in (0..<spec.batch).map { _ in rng.int(below: spec.classes) } }
        let units = model.stack.cells.count
        let h0s = spec.withH0 ? (0..<units).map { _ in Matrix<Double>.uniform(spec.batch, spec.hidden, bound: 0.5, rng: &rng) } : nil
        let c0s = spec.withH0 && model.stack.hasCellState
            ? (0..<units).map { _ in Matrix<Double>.uniform(spec.batch, spec.hidden, bound: 0.5, rng: &rng) } : nil
        return (params, xs, targets, h0s, c0s)
    }

    /// True for a stack of ReLU RNN cells (piecewise linear: kinks at every zero pre-activation).
    public var hasReLU: Bool { (model.stack.cells.first as? RNN<Double>)?.activation == .relu }

    /// min |a_t| over every unit (level and direction), step, row and hidden unit of a ReLU stack,
    /// each a_t rebuilt from the input and h_{t−1} the unit's cache saved. ∞ for other cells.
    public func minPreActivationMagnitude() -> Double {
        guard hasReLU else { return .infinity }
        var ws = Model.Workspace()
        _ = model.forward(xs, targets: targets, h0s: h0s, c0s: c0s, params, lengths: spec.lengths, workspace: &ws)
        var minA = Double.infinity
        for u in model.stack.cells.indices {
            guard let cache = ws.stack.caches[u] as? RNN<Double>.Cache,
                  let p = params.stack.units[u] as? RNN<Double>.Parameters else { continue }
            for t in 1..<cache.states.count {
                var a = Matrix<Double>(rows: spec.batch, cols: spec.hidden)
                gemm(cache.xs[t - 1], p.W_hx, transB: true, into: &a)
                gemm(cache.states[t - 1].h, p.W_hh, transB: true, into: &a, beta: 1)
                a.addRowVector(p.b_h)
                minA = min(minA, a.data.map { abs($0) }.min() ?? .infinity)
            }
        }
        return minA
    }

    public var lossScale: Double { 1 / Double(spec.batch * (spec.output == .last ? 1 : spec.length)) }

    func suffix(_ u: Int) -> String {
        RecurrentStack<Cell>.unitSuffix(u, units: model.stack.cells.count, directions: model.stack.directions)
    }

    public func loss(params p: Model.Parameters, xs: [Matrix<Double>], h0s: [Matrix<Double>]?, c0s: [Matrix<Double>]?) -> Double {
        evaluate(params: p, xs: xs, h0s: h0s, c0s: c0s).loss
    }

    /// The loss with, for a ReLU stack, the activation pattern of every level and direction (which
    /// units were active at which step) as a hash, so the checker sees a nudge cross any kink.
    public func evaluate(params p: Model.Parameters, xs: [Matrix<Double>], h0s: [Matrix<Double>]?, c0s: [Matrix<Double>]?) -> GradientCheck.Evaluation {
        var ws = Model.Workspace()
        let value = model.forward(xs, targets: targets, h0s: h0s, c0s: c0s, p, lengths: spec.lengths, workspace: &ws).lossSum * lossScale
        guard hasReLU else { return .init(loss: value) }
        var hasher = Hasher()
        for cache in ws.stack.caches { for h in cache.states.dropFirst().map(\.h) { for v in h.data { hasher.combine(v > 0) } } }
        return .init(loss: value, pattern: hasher.finalize())
    }

    /// `tracer`: records the pass (and may switch on a catalogued mistake), for `bptt explain`
    /// and `gradcheck --locate`.
    public func analytic(tracer: Tracer? = nil) -> (loss: Double, grads: Model.Parameters, dxs: [Matrix<Double>], dh0s: [Matrix<Double>], dc0s: [Matrix<Double>?]) {
        var ws = Model.Workspace()
        ws.stack.tracer = tracer
        ws.stack.poisonStepOutputs = true   // a step that adds into dPrev or dx instead of writing them fails here
        var grads = params.zeros()
        var none: RNG? = nil
        let r = model.lossAndGradient(xs, targets: targets, h0s: h0s, c0s: c0s, params, lengths: spec.lengths, lossScale: lossScale,
                                      workspace: &ws, grads: &grads, dropoutRNG: &none, inputGradients: true, truncation: truncation)
        return (r.lossSum * lossScale, grads, ws.stack.dxs, ws.stack.dh0s, ws.stack.dc0s)
    }

    /// Every parameter, the inputs ("x", rows t-major), and each unit's h0 and c0.
    public func check(step: Double = GradientCheck.defaultStep, stencil: GradientCheck.Stencil = .fivePoint,
                      tracer: Tracer? = nil) -> [GradientCheck.Result] {
        require(truncation == 0, "finite differences define full BPTT; truncation is checked against its definition")
        let a = analytic(tracer: tracer)
        var tensors = params.checkTensors(analytic: a.grads)
        tensors.append(GradientCheck.Tensor(name: "x", value: GradientCheck.stack(xs), analytic: GradientCheck.stack(a.dxs)))
        let units = model.stack.cells.count
        if let h0s { for u in 0..<units { tensors.append(.init(name: "h0" + suffix(u), value: h0s[u], analytic: a.dh0s[u])) } }
        if let c0s { for u in 0..<units { tensors.append(.init(name: "c0" + suffix(u), value: c0s[u], analytic: a.dc0s[u]!)) } }
        let np = params.tensorCount, steps = spec.length
        let hasH0 = h0s != nil, hasC0 = c0s != nil
        return GradientCheck.run(tensors, step: step, stencil: stencil) { values in
            let p = params.with(values)
            let x = GradientCheck.unstack(values[np], steps: steps)
            let h = hasH0 ? Array(values[(np + 1)..<(np + 1 + units)]) : nil
            let c = hasC0 ? Array(values[(np + 1 + units)..<(np + 1 + 2 * units)]) : nil
            return evaluate(params: p, xs: x, h0s: h, c0s: c)
        }
    }

    /// The `--dump` contract: sizes, inputs x[b][t][d], targets, `h0` and `c0` as b×H arrays for a
    /// single unit (or objects `{"h0_l0": …, "h0_l0_reverse": …}` for stacks), parameters and
    /// gradients `{name: {shape, data}}` (biases shape [n]), the loss, and for one unit every
    /// per-step adjoint `{quantity: [t][b][j]}` under "steps" (the shape `--answers` reads).
    /// `breaking`: the gradients and adjoints of the backward pass with that mistake switched on.
    public func dump(breaking: Break? = nil) -> JSON {
        let tracer = Tracer(breaking: breaking)
        let a = analytic(tracer: model.stack.cells.count == 1 && spec.lengths == nil ? tracer : nil)
        let (B, steps, D, H) = (spec.batch, spec.length, spec.input, spec.hidden)
        let inputs: JSON = .array((0..<B).map { b in .array((0..<steps).map { t in .array((0..<D).map { d in .number(xs[t][b, d]) }) }) })
        let targetsJSON: JSON = spec.output == .last
            ? .array(targets[0].map { .int($0) })
            : .array((0..<B).map { b in .array((0..<steps).map { t in .int(targets[t][b]) }) })
        func state(_ m: Matrix<Double>) -> JSON { .array((0..<B).map { b in .array((0..<H).map { .number(m[b, $0]) }) }) }
        func states(_ ms: [Matrix<Double>]?, _ name: String) -> JSON {
            guard let ms else { return .null }
            if ms.count == 1 { return state(ms[0]) }
            return .object(ms.indices.map { (name + suffix($0), state(ms[$0])) })
        }
        func tensor(_ name: String, _ m: Matrix<Double>) -> JSON { JSON.tensor(m, vector: name.hasPrefix("b_")) }
        return .object([
            ("model", .string(spec.model.rawValue)),
            ("output", .string(spec.output == .last ? "last" : "every-step")),
            ("layers", .int(spec.layers)), ("bidirectional", .bool(spec.bidirectional)),
            ("batch", .int(B)), ("length", .int(steps)), ("input", .int(D)), ("hidden", .int(H)), ("classes", .int(spec.classes)),
            ("inputs", inputs), ("targets", targetsJSON), ("h0", states(h0s, "h0")),
            ("c0", model.stack.hasCellState ? states(c0s, "c0") : .null),
            ("parameters", .object(params.namedTensorValues.map { ($0.name, tensor($0.name, $0.value)) })),
            ("gradients", .object(a.grads.namedTensorValues.map { ($0.name, tensor($0.name, $0.value)) })),
            ("loss_value", .number(a.loss)),
        ] + (model.stack.cells.count == 1 && spec.lengths == nil ? [("steps", AnswerCheck.stepsJSON(AnswerCheck.walk(tracer)))] : [])
          + (breaking.map { [("break", JSON.string($0.name))] } ?? []))
    }
}

/// Runs the check for the cell a spec names (the entry point of `bptt gradcheck`).
public enum SequenceGradientCheck {
    struct Visitor: CellVisitor {
        typealias Real = Double
        let spec: SequenceCheckSpec, step: Double, stencil: GradientCheck.Stencil, wantDump: Bool
        func visit<C: RecurrentCell>(_ make: @escaping (Int) -> C) throws -> ([GradientCheck.Result], JSON?) where C.Real == Double {
            let c = SequenceCheckCase(spec, make: make)
            return (c.check(step: step, stencil: stencil), wantDump ? c.dump() : nil)
        }
    }

    public static func run(_ spec: SequenceCheckSpec, step: Double = GradientCheck.defaultStep,
                           stencil: GradientCheck.Stencil = .fivePoint, dump: Bool = false) -> (results: [GradientCheck.Result], dump: JSON?) {
        try! spec.model.accept(Visitor(spec: spec, step: step, stencil: stencil, wantDump: dump), hidden: spec.hidden)
    }
}

extension SequenceGradientCheck {
    struct DumpVisitor: CellVisitor {
        typealias Real = Double
        let spec: SequenceCheckSpec, breaking: Break?
        func visit<C: RecurrentCell>(_ make: @escaping (Int) -> C) throws -> JSON where C.Real == Double {
            SequenceCheckCase(spec, make: make).dump(breaking: breaking)
        }
    }

    /// The `--dump` JSON of the case a spec names, with `breaking` switched on in its backward pass.
    public static func dump(_ spec: SequenceCheckSpec, breaking: Break? = nil) -> JSON {
        try! spec.model.accept(DumpVisitor(spec: spec, breaking: breaking), hidden: spec.hidden)
    }
}
