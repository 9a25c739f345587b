/// A character-level language model trained by stateful truncated BPTT, derived in
/// `derivations/charlm.md`:
///
///     x_t = onehot(c_t)  or  W_emb[c_t]                (charlm.x)
///     o_t = RecurrentStack(x; s_0)_t                   (stacked.out; s_0 the carried state)
///     p_t = o_t W_phᵀ + b_p                            (stacked.p, every step)
///     ℓ_t = −log softmax(p_t)[c_{t+1}]                 (charlm.loss)
///     L   = 1/(T·B) Σ_t Σ_b ℓ_{t,b}                    (charlm.loss)
///
/// The recurrent stack and the per-step readout are the library's `SequenceClassifier` in its
/// many-to-many form: its backward hands ∂L/∂o_t to the time loop at every step (charlm.dh).
/// A chunk starts from a carried state s_0 (`CarriedState`) and ends by handing its final
/// state to the next chunk as a constant (charlm.carry, charlm.stop).
public struct CharLM<Cell: RecurrentCell> {
    public typealias Real = Cell.Real
    public typealias Net = SequenceClassifier<Cell>
    public typealias Stack = RecurrentStack<Cell>

    public struct Parameters: ParameterSet {
        /// W_emb, V × E; 0×0 with one-hot inputs (then not a tensor of the set).
        public var W_emb: Matrix<Real>
        public var net: Net.Parameters
        /// W_emb (with an embedding), the stack's tensors, then W_ph (V × H) and b_p (1 × V).
        public mutating func forEachTensor(pairedWith other: Self?, _ body: (String, inout Matrix<Real>, Matrix<Real>?) -> Void) {
            if W_emb.rows > 0 { body("W_emb", &W_emb, other?.W_emb) }
            net.forEachTensor(pairedWith: other?.net, body)
        }
    }

    public struct Workspace {
        public var net = Net.Workspace()
        var xs: [Matrix<Real>] = []
        var du = Matrix<Real>(rows: 0, cols: 0)
        public init() {}
        /// softmax(p_t) of the last forward, B × V per step.
        public var probabilities: [Matrix<Real>] { net.probabilities }
    }

    public let net: Net
    public let vocabularySize: Int
    /// E > 0: an embedding of width E; 0: one-hot inputs of width V.
    public let embeddingDim: Int
    public var stack: Stack { net.stack }

    /// `stack` must read `embeddingDim` inputs (or V when `embeddingDim` is 0).
    public init(vocabularySize V: Int, embeddingDim E: Int, stack: Stack) {
        require(V >= 2, "CharLM: at least two symbols")
        require(stack.directions == 1, "CharLM: a language model reads forwards only")
        require(stack.inputSize == (E > 0 ? E : V), "CharLM: the stack must read \(E > 0 ? E : V) inputs")
        vocabularySize = V
        embeddingDim = E
        net = Net(stack: stack, classes: V, output: .everyStep)
    }

    public func initialParameters(_ initializer: Initializer, rng: inout RNG) -> Parameters {
        let W = embeddingDim > 0 ? Matrix<Real>.normal(vocabularySize, embeddingDim, std: 1, rng: &rng) : Matrix<Real>(rows: 0, cols: 0)
        return Parameters(W_emb: W, net: net.initialParameters(initializer, rng: &rng))
    }

    /// x_t for every step (charlm.x): one-hot rows, or rows of W_emb.
    func inputs(_ ids: [[Int]], _ p: Parameters, _ ws: inout Workspace) {
        let B = ids[0].count, width = embeddingDim > 0 ? embeddingDim : vocabularySize
        ws.net.stack.layerInputsRelease()
        resize(&ws.xs, count: ids.count, rows: B, cols: width)
        for t in ids.indices {
            require(ids[t].count == B, "CharLM: ragged batch")
            if embeddingDim > 0 {
                for b in 0..<B {
                    let id = ids[t][b]
                    require(id >= 0 && id < vocabularySize, "CharLM: symbol \(id) outside the vocabulary")
                    copyRow(p.W_emb, id, into: &ws.xs[t], b)                                 // (charlm.x)
                }
            } else {
                ws.xs[t].zero()
                for b in 0..<B {
                    require(ids[t][b] >= 0 && ids[t][b] < vocabularySize, "CharLM: symbol \(ids[t][b]) outside the vocabulary")
                    ws.xs[t][b, ids[t][b]] = 1                                               // (charlm.x)
                }
            }
        }
    }

    /// Forward over one chunk: `inputs[t]` and `targets[t]` are B symbols each (t = 0…T−1;
    /// targets[t] = inputs[t+1] inside a stream), `from` the carried state (nil: zeros).
    /// Returns Σ_t Σ_b ℓ_{t,b} in nats and the number of arg-max predictions equal to the target.
    @discardableResult
    public func forward(inputs: [[Int]], targets: [[Int]], from s0: CarriedState<Real>?, _ p: Parameters,
                        workspace ws: inout Workspace, dropoutRNG: inout RNG?) -> (lossSum: Double, correct: Int) {
        require(inputs.count == targets.count && !inputs.isEmpty, "CharLM: \(inputs.count) inputs, \(targets.count) targets")
        self.inputs(inputs, p, &ws)
        return net.forward(ws.xs, targets: targets, h0s: s0?.h, c0s: s0?.c, p.net, workspace: &ws.net, dropoutRNG: &dropoutRNG)
    }

    /// Forward without dropout (evaluation, sampling).
    @discardableResult
    public func forward(inputs: [[Int]], targets: [[Int]], from s0: CarriedState<Real>?, _ p: Parameters,
                        workspace ws: inout Workspace) -> (lossSum: Double, correct: Int) {
        var none: RNG? = nil
        return forward(inputs: inputs, targets: targets, from: s0, p, workspace: &ws, dropoutRNG: &none)
    }

    /// Forward and backward over one chunk for L = lossScale · Σ_t Σ_b ℓ_{t,b} (training:
    /// lossScale = 1/(T·B), charlm.loss), accumulating ∂L/∂θ into `grads`. The carried state is
    /// a constant (charlm.stop): its gradient, left in `ws.net.stack.dh0s`, goes nowhere.
    @discardableResult
    public func lossAndGradient(inputs: [[Int]], targets: [[Int]], from s0: CarriedState<Real>?, _ p: Parameters, lossScale: Double,
                                workspace ws: inout Workspace, grads: inout Parameters, dropoutRNG: inout RNG?) -> (lossSum: Double, correct: Int) {
        require(inputs.count == targets.count && !inputs.isEmpty, "CharLM: \(inputs.count) inputs, \(targets.count) targets")
        self.inputs(inputs, p, &ws)
        let embed = embeddingDim > 0
        // (charlm.dh): the many-to-many readout hands dh_t = dp_t W_ph to the time loop at every step
        let r = net.lossAndGradient(ws.xs, targets: targets, h0s: s0?.h, c0s: s0?.c, p.net, lossScale: lossScale,
                                    workspace: &ws.net, grads: &grads.net, dropoutRNG: &dropoutRNG, inputGradients: embed)
        if embed {
            // forward (charlm.x): x_t = W_emb[c_t]  ⇒  dW_emb[c_t] += dx_t
            let dxs = ws.net.stack.dxs
            for t in inputs.indices {
                let d = dxs[t]
                for b in 0..<d.rows { addRow(d, b, into: &grads.W_emb, inputs[t][b]) }          // (charlm.dW_emb)
            }
        }
        return r
    }

    /// The state after the last step of the last forward, per unit: what the next chunk starts
    /// from (charlm.carry). A copy: later forwards do not change it.
    public func finalState(_ ws: Workspace) -> CarriedState<Real> {
        let caches = ws.net.stack.caches
        let h = caches.map { $0.hT.copyOfStorage() }
        let c: [Matrix<Real>]? = stack.hasCellState ? caches.map { $0.states[$0.states.count - 1].memory!.copyOfStorage() } : nil
        return CarriedState(h: h, c: c)
    }
}

/// The recurrent state one chunk hands to the next: h (and c) of every unit, B × H each.
public struct CarriedState<Real: Scalar> {
    public var h: [Matrix<Real>]
    public var c: [Matrix<Real>]?
    public init(h: [Matrix<Real>], c: [Matrix<Real>]?) { self.h = h; self.c = c }

    /// Zeros for `units` units of B × H.
    public static func zeros(units: Int, batch B: Int, hidden H: Int, cell: Bool) -> CarriedState {
        CarriedState(h: Array(repeating: Matrix(rows: B, cols: H), count: units), c: cell ? Array(repeating: Matrix(rows: B, cols: H), count: units) : nil)
    }

    /// Rows lo..<hi of every part.
    public func rows(_ lo: Int, _ hi: Int) -> CarriedState {
        CarriedState(h: h.map { rowsSlice($0, lo, hi) }, c: c?.map { rowsSlice($0, lo, hi) })
    }

    /// Every part as named tensors ("h_u0", "c_u0", …), for checkpoints.
    public func named(prefix: String) -> [(String, Matrix<Real>)] {
        h.enumerated().map { (prefix + "h_u\($0.offset)", $0.element) } + (c ?? []).enumerated().map { (prefix + "c_u\($0.offset)", $0.element) }
    }

    /// The largest |difference| between two states of the same shape (∞ when the shapes differ).
    public func maxAbsDifference(_ o: CarriedState) -> Double {
        guard h.count == o.h.count, (c == nil) == (o.c == nil) else { return .infinity }
        var worst = 0.0
        for (a, b) in zip(h + (c ?? []), o.h + (o.c ?? [])) {
            guard a.rows == b.rows && a.cols == b.cols else { return .infinity }
            for (x, y) in zip(a.data, b.data) { worst = max(worst, abs(Double(x) - Double(y))) }
        }
        return worst
    }
}

extension Matrix {
    /// A copy with its own storage (not shared with `self`).
    func copyOfStorage() -> Matrix { Matrix(rows: rows, cols: cols, data: Array(data)) }
}

extension RecurrentStack.Workspace {
    /// Lets a model rewrite its input buffers in place: drops the stack's references to the
    /// previous forward's inputs.
    mutating func layerInputsRelease() {
        for u in caches.indices { caches[u].releaseInputs() }
        for u in layerInputs.indices { layerInputs[u] = [] }
    }
}
