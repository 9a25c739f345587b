/// The check that stateful truncated BPTT is what `derivations/charlm.md` defines (charlm.carry,
/// charlm.stop), in Float64 (`bptt gradcheck --task text`).
///
/// On a small random `CharLM` and B streams of 2T+1 characters, the training code path runs
/// chunk 1 from the zero state and chunk 2 from the state chunk 1 handed on. Chunk 2's analytic
/// gradient is compared with the central finite differences of the definition,
/// L⁽²⁾(θ; s₀) with s₀ = the state chunk 1 ended in, held fixed. `--locate` also checks, in the
/// order the code computes them: the carried state's value (charlm.carry), ∂L/∂(every quantity
/// at every step of chunk 2) (one unit), and the gradient handed back across the boundary, which
/// must be zero (charlm.stop).

/// The catalogued mistakes of stateful truncated BPTT (names `TAG:what`, TAG the equation broken).
public enum CarryMistake: String, CaseIterable, Sendable {
    case reset = "charlm.carry:reset"
    case withGradient = "charlm.stop:with-gradient"

    public var name: String { rawValue }
    public var tag: String { String(rawValue.split(separator: ":")[0]) }
    public var summary: String {
        switch self {
        case .reset: return "s₀ = 0 at every chunk: the state is reset instead of carried (the forward pass changes)"
        case .withGradient: return "the state is carried with its gradient: chunk k+1's backward continues into chunk k (no detach)"
        }
    }
}

/// The sizes of a text-model check case.
public struct CharLMCheckSpec: Sendable {
    public var model: CellKind = .lstm
    public var layers = 1
    public var embedding = 0
    public var vocabulary = 4
    public var hidden = 3
    public var batch = 2
    public var length = 3
    public var seed: UInt64 = 0
    public init(model: CellKind = .lstm) { self.model = model }
}

/// The report of a text-model check.
public struct CharLMCheckReport: Sendable {
    /// Chunk 2's parameter gradients against the definition's finite differences.
    public var results: [GradientCheck.Result]
    /// |s₀ used by chunk 2 − s_T of chunk 1| (charlm.carry); 0 when the state is carried.
    public var carryError: Double
    /// ‖gradient handed back into chunk 1‖ (charlm.stop); 0 when the gradient stops at the boundary.
    public var boundaryGradient: Double
    /// Per-step adjoints of chunk 2 (one unit, with `--locate`, the carry path unbroken); else empty.
    public var steps: [StepAdjointCheck.Entry]
    public var firstDivergence: StepAdjointCheck.Divergence?
    public var mistake: CarryMistake?
    public var broken: Break?
    public var passed: Bool {
        results.allSatisfy(\.passed) && steps.allSatisfy(\.result.passed) && carryError == 0 && boundaryGradient == 0
    }
}

public struct CharLMCheckCase<Cell: RecurrentCell> where Cell.Real == Double {
    public typealias Model = CharLM<Cell>
    public let spec: CharLMCheckSpec
    public let model: Model
    public let params: Model.Parameters
    public let streams: CharStreams

    public init(_ spec: CharLMCheckSpec, make: @escaping (Int) -> Cell) {
        self.spec = spec
        var rng = RNG(seed: spec.seed)
        let V = spec.vocabulary
        model = CharLM(vocabularySize: V, embeddingDim: spec.embedding,
                       stack: RecurrentStack(layers: spec.layers, bidirectional: false, inputSize: spec.embedding > 0 ? spec.embedding : V,
                                             hiddenSize: spec.hidden, make: make))
        params = model.initialParameters(.xavier, rng: &rng)
        let ids = (0..<(spec.batch * (2 * spec.length + 1))).map { _ in rng.int(below: V) }
        streams = try! CharStreams(ids, rows: spec.batch, length: spec.length, what: "check")
    }

    var lossScale: Double { 1 / Double(spec.length * spec.batch) }

    /// The definition: chunk 1 from zeros gives s₀; L⁽²⁾(θ; s₀) with s₀ fixed.
    public func carriedState() -> CarriedState<Double> {
        var ws = Model.Workspace()
        let (x, y) = streams.chunk(0)
        model.forward(inputs: x, targets: y, from: nil, params, workspace: &ws)
        return model.finalState(ws)
    }

    public func definitionLoss(_ p: Model.Parameters, from s0: CarriedState<Double>, tracer: Tracer? = nil) -> Double {
        var ws = Model.Workspace()
        ws.net.stack.tracer = tracer
        let (x, y) = streams.chunk(1)
        return model.forward(inputs: x, targets: y, from: s0, p, workspace: &ws).lossSum * lossScale
    }

    /// The training code path over chunks 1 and 2 (what `TextTrainer` does per shard), with a
    /// mistake switched on or not; returns chunk 2's gradient, the state chunk 2 started from,
    /// and the gradient it handed back into chunk 1.
    func stateful(_ mistake: CarryMistake?, tracer: Tracer?) -> (grads: Model.Parameters, s0: CarriedState<Double>, boundary: Double) {
        var ws = Model.Workspace()
        var g = params.zeros()
        var none: RNG? = nil
        let (x1, y1) = streams.chunk(0), (x2, y2) = streams.chunk(1)
        model.lossAndGradient(inputs: x1, targets: y1, from: nil, params, lossScale: lossScale, workspace: &ws, grads: &g, dropoutRNG: &none)
        let carried = model.finalState(ws)                                         // (charlm.carry)
        let s0 = mistake == .reset ? CarriedState<Double>.zeros(units: carried.h.count, batch: spec.batch, hidden: spec.hidden, cell: carried.c != nil) : carried
        g.zero()                                                                   // a new update
        if mistake == .withGradient {
            let boundary = withGradientAcrossBoundary(x1 + x2, y2, &g)
            return (g, s0, boundary)
        }
        ws.net.stack.tracer = tracer
        model.lossAndGradient(inputs: x2, targets: y2, from: s0, params, lossScale: lossScale, workspace: &ws, grads: &g, dropoutRNG: &none)
        // (charlm.stop): ws.net.stack.dh0s / dc0s, the gradient at the boundary, go nowhere
        return (g, s0, 0)
    }

    /// The mistake `charlm.stop:with-gradient`: the graph of chunk 1 is kept, so chunk 2's loss is
    /// backpropagated through both chunks (2T steps from the zero state, the loss on the last T).
    /// Returns ‖∂L⁽²⁾/∂h_T‖ of chunk 1's top unit: the gradient that crossed the boundary.
    private func withGradientAcrossBoundary(_ xs: [[Int]], _ targets: [[Int]], _ g: inout Model.Parameters) -> Double {
        var ws = Model.Workspace()
        var none: RNG? = nil
        let T = spec.length, net = model.net
        model.inputs(xs, params, &ws)
        net.stack.forward(ws.xs, params.net.stack, workspace: &ws.net.stack, dropoutRNG: &none)
        var logits = Matrix<Double>(rows: 0, cols: 0), probs = logits, dlogits = logits
        for t in (T + 1)...(2 * T) {
            net.readout.forward(net.stack.output(t, ws.net.stack), params.net.readout, into: &logits)
            _ = SoftmaxCrossEntropy.forward(logits: logits, targets: targets[t - T - 1][...], probs: &probs)
            SoftmaxCrossEntropy.backward(probs: probs, targets: targets[t - T - 1][...], scale: lossScale, into: &dlogits)
            net.readout.backward(dlogits, x: net.stack.output(t, ws.net.stack), params.net.readout, grads: &g.net.readout,
                                 dx: &ws.net.stack.dOutputs[t - 1])
            ws.net.stack.dOutputUsed[t - 1] = true
        }
        let top = net.stack.cells.count - 1
        ws.net.stack.caches[top].recordGradientNorms = true
        net.stack.backward(params.net.stack, workspace: &ws.net.stack, grads: &g.net.stack, inputGradients: model.embeddingDim > 0)
        if model.embeddingDim > 0 {
            for t in xs.indices { for b in 0..<spec.batch { addRow(ws.net.stack.dxs[t], b, into: &g.W_emb, xs[t][b]) } }
        }
        return ws.net.stack.caches[top].dhNorms[T - 1]
    }

    /// The check; `mistake` / `breaking` switch on a catalogued mistake, `steps` adds per-step adjoints.
    public func check(mistake: CarryMistake? = nil, breaking: Break? = nil, steps: Bool = false,
                      step: Double = GradientCheck.defaultStep) -> CharLMCheckReport {
        let perStep = steps && spec.layers == 1 && mistake == nil
        let tracer: Tracer? = perStep || breaking != nil ? Tracer(breaking: breaking) : nil
        let path = stateful(mistake, tracer: tracer)
        let s0 = carriedState()
        // (charlm.stop): numeric = the derivative of L⁽²⁾(θ; s₀) with s₀ held fixed
        let results = GradientCheck.run(params.checkTensors(analytic: path.grads), step: step) { values in
            .init(loss: definitionLoss(params.with(values), from: s0))
        }
        var entries: [StepAdjointCheck.Entry] = []
        if perStep, let tracer {
            entries = StepAdjointCheck.check(tracer, step: step) { tr in .init(loss: definitionLoss(params, from: s0, tracer: tr)) }
        }
        let carryError = path.s0.maxAbsDifference(s0)
        let divergence: StepAdjointCheck.Divergence?
        if carryError > 0 { divergence = .init(t: 0, tag: "charlm.carry") }
        else if let e = entries.first(where: { !$0.result.passed }) { divergence = .init(t: e.t, tag: e.tag) }
        else if path.boundary > 0 { divergence = .init(t: 0, tag: "charlm.stop") }
        else if let r = results.first(where: { !$0.passed }) {
            let name = spec.model.rawValue
            let tag = r.name == "W_emb" ? "charlm.dW_emb" : (model.stack.cells[0].gradientTag(r.name) ?? StepAdjointCheck.parameterTag(r.name, model: name))
            divergence = .init(t: nil, tag: tag)
        } else { divergence = nil }
        return CharLMCheckReport(results: results, carryError: carryError, boundaryGradient: path.boundary, steps: entries,
                                 firstDivergence: divergence, mistake: mistake, broken: breaking)
    }
}

/// `bptt gradcheck --task text` for the cell a spec names.
public enum CharLMCheck {
    struct Visitor: CellVisitor {
        typealias Real = Double
        let spec: CharLMCheckSpec, mistake: CarryMistake?, breaking: Break?, steps: Bool, step: Double
        func visit<C: RecurrentCell>(_ make: @escaping (Int) -> C) throws -> CharLMCheckReport where C.Real == Double {
            CharLMCheckCase(spec, make: make).check(mistake: mistake, breaking: breaking, steps: steps, step: step)
        }
    }

    public static func run(_ spec: CharLMCheckSpec, mistake: CarryMistake? = nil, breaking: Break? = nil, steps: Bool = false,
                           step: Double = GradientCheck.defaultStep) -> CharLMCheckReport {
        try! spec.model.accept(Visitor(spec: spec, mistake: mistake, breaking: breaking, steps: steps, step: step), hidden: spec.hidden)
    }
}
