/// Long short-term memory cell, derived in `derivations/lstm.md`: one step forward, one step back.
///
///     i_t = σ(x_t W_ixᵀ + h_{t−1} W_ihᵀ + b_i)        input gate         (lstm.i)
///     f_t = σ(x_t W_fxᵀ + h_{t−1} W_fhᵀ + b_f)        forget gate        (lstm.f)
///     g_t = tanh(x_t W_gxᵀ + h_{t−1} W_ghᵀ + b_g)     input modulation   (lstm.g)
///     o_t = σ(x_t W_oxᵀ + h_{t−1} W_ohᵀ + b_o)        output gate        (lstm.o)
///     c_t = g_t ⊙ i_t + c_{t−1} ⊙ f_t                                    (lstm.c)
///     h_t = o_t ⊙ tanh(c_t)                                              (lstm.h)
///
/// Shapes: x_t B×D; h_t, c_t and every gate B×H; W_⋆x H×D, W_⋆h H×H, b_⋆ 1×H.
///
/// One gate order everywhere, **i, f, g, o** (PyTorch's `nn.LSTM`): the parameters, the fused
/// buffers, `gradcheck`'s and `explain`'s listings and `derivations/lstm.md`. The fused products
/// (lstm.a) compute all four gates at once with W_x = [W_ix; W_fx; W_gx; W_ox] (4H×D) and
/// W_h (4H×H), so step t's pre-activations land side by side in one B×4H buffer whose column
/// blocks `Gates` names. The math never uses a bare offset.
public struct LSTM<Real: Scalar>: RecurrentCell {
    public struct Parameters: ParameterSet {
        public var W_ix: Matrix<Real>, W_ih: Matrix<Real>, b_i: Matrix<Real>   // H×D, H×H, 1×H
        public var W_fx: Matrix<Real>, W_fh: Matrix<Real>, b_f: Matrix<Real>
        public var W_gx: Matrix<Real>, W_gh: Matrix<Real>, b_g: Matrix<Real>
        public var W_ox: Matrix<Real>, W_oh: Matrix<Real>, b_o: Matrix<Real>
        public mutating func forEachTensor(pairedWith other: Self?, _ body: (String, inout Matrix<Real>, Matrix<Real>?) -> Void) {
            body("W_ix", &W_ix, other?.W_ix); body("W_ih", &W_ih, other?.W_ih); body("b_i", &b_i, other?.b_i)
            body("W_fx", &W_fx, other?.W_fx); body("W_fh", &W_fh, other?.W_fh); body("b_f", &b_f, other?.b_f)
            body("W_gx", &W_gx, other?.W_gx); body("W_gh", &W_gh, other?.W_gh); body("b_g", &b_g, other?.b_g)
            body("W_ox", &W_ox, other?.W_ox); body("W_oh", &W_oh, other?.W_oh); body("b_o", &b_o, other?.b_o)
        }
    }

    /// Draws g, i, f, o in that order, so a seed gives the weights it gave before the gate order
    /// was settled as i, f, g, o.
    public func initialParameters(_ initializer: Initializer, rng: inout RNG) -> Parameters {
        let (D, H) = (inputSize, hiddenSize)
        func w(_ r: Int, _ c: Int) -> Matrix<Real> { draw(r, c, initializer, rng: &rng) }
        let (W_gx, W_gh, b_g) = (w(H, D), w(H, H), w(1, H))
        let (W_ix, W_ih, b_i) = (w(H, D), w(H, H), w(1, H))
        let (W_fx, W_fh, b_f) = (w(H, D), w(H, H), w(1, H))
        let (W_ox, W_oh, b_o) = (w(H, D), w(H, H), w(1, H))
        var p = Parameters(W_ix: W_ix, W_ih: W_ih, b_i: b_i, W_fx: W_fx, W_fh: W_fh, b_f: b_f,
                           W_gx: W_gx, W_gh: W_gh, b_g: b_g, W_ox: W_ox, W_oh: W_oh, b_o: b_o)
        if forgetBiasOne { p.b_f = Matrix(rows: 1, cols: H, repeating: 1) }
        return p
    }

    /// The first column of each gate in a fused B×4H buffer (its first row in W_x, W_h):
    /// i, f, g, o, the order of PyTorch's `nn.LSTM`.
    public struct Gates: Sendable {
        public let i: Int, f: Int, g: Int, o: Int
        public let width: Int
        /// The gates in the order of the fused buffers, the parameters and every listing.
        public static var order: [String] { ["i", "f", "g", "o"] }
        init(hidden H: Int) { (i, f, g, o, width) = (0, H, 2 * H, 3 * H, 4 * H) }
    }

    public typealias State = HiddenCellState<Real>

    /// What step t's backward reads from its forward.
    public struct StepCache {
        /// i_t, f_t, g_t, o_t side by side (B×4H, columns per `Gates`).
        public internal(set) var gates: Matrix<Real>
        /// tanh(c_t), B×H.
        public internal(set) var tanhC: Matrix<Real>
    }

    /// Per sequence: the fused weights, and the buffers of the one weight-gradient product.
    public struct Workspace: EmptyWorkspace {
        public init() {}
        var W_x = Matrix<Real>(), W_h = Matrix<Real>()                          // fused: 4H×D (W_ix; W_fx; W_gx; W_ox), 4H×H
        var xSide = InputWeight<Real>()                                        // W_x packed for x_t W_xᵀ and dA_t W_x
        var b = Matrix<Real>()                                                   // 1×4H: b_i, b_f, b_g, b_o
        var W_hTPacked = PackedB<Real>(), W_hPacked = PackedB<Real>()            // W_hᵀ (H×4H) forward, W_h (4H×H) backward, in GEMM panels
        var dA = Matrix<Real>()                                                  // dA_t, B×4H, for a probe (training writes dAs)
        /// dA_t of every step, stacked (T·B × 4H, step t at rows (t−1)·B…), beside x_1 … x_T (T·B × D) and
        /// h_0 … h_{T−1} (T·B × H): the weight gradients Σ_t dA_tᵀ x_t and Σ_t dA_tᵀ h_{t−1} then take one product each, with K = T·B.
        var dAs = Matrix<Real>(), xAll = Matrix<Real>(), hPrevAll = Matrix<Real>()
        var dW_x = Matrix<Real>(), dW_h = Matrix<Real>(), db = Matrix<Real>()    // 4H×D, 4H×H, 1×4H
        var dW_xT = Matrix<Real>()                                               // D×4H: dW_x's additions for one-hot inputs
    }
    public func makeStepCache(batch B: Int) -> StepCache {
        StepCache(gates: Matrix(rows: B, cols: 4 * hiddenSize), tanhC: Matrix(rows: B, cols: hiddenSize))
    }

    public let inputSize: Int, hiddenSize: Int       // D, H
    /// Initialise b_f to 1 (Gers et al. 2000; Jozefowicz et al. 2015) instead of drawing it.
    public let forgetBiasOne: Bool
    public var gateLayout: Gates { Gates(hidden: hiddenSize) }
    public var hQuantity: Quantity { .lstmH }

    public init(inputSize: Int, hiddenSize: Int, forgetBiasOne: Bool = false) {
        (self.inputSize, self.hiddenSize, self.forgetBiasOne) = (inputSize, hiddenSize, forgetBiasOne)
    }

    /// Packs the twelve named tensors into the fused W_x, W_h, b (rows/columns per `Gates`).
    public func beginForward(_ p: Parameters, batch B: Int, _ ws: inout Workspace) {
        let (D, H, G) = (inputSize, hiddenSize, gateLayout)
        ensure(&ws.W_x, G.width, D); ensure(&ws.W_h, G.width, H); ensure(&ws.b, 1, G.width)
        for (gate, W_x, W_h, b) in [(G.i, p.W_ix, p.W_ih, p.b_i), (G.f, p.W_fx, p.W_fh, p.b_f),
                                    (G.g, p.W_gx, p.W_gh, p.b_g), (G.o, p.W_ox, p.W_oh, p.b_o)] {
            copyBlock(W_x, into: &ws.W_x, at: (gate, 0))
            copyBlock(W_h, into: &ws.W_h, at: (gate, 0))
            copyBlock(b, into: &ws.b, at: (0, gate))
        }
        ws.xSide.packForward(ws.W_x)
        ws.W_hTPacked.pack(ws.W_h, k: H, n: G.width, transB: true)
    }

    /// Step t: (h_{t−1}, c_{t−1}) and x_t → (h_t, c_t). x B×D; states B×H; cache.gates B×4H.
    public func stepForward<P: CellProbe>(_ x: Matrix<Real>, _ prev: State, _ next: inout State, _ cache: inout StepCache,
                                          _ p: Parameters, _ ws: inout Workspace, t: Int, _ probe: P) {
        let (B, H, G) = (x.rows, hiddenSize, gateLayout)
        // A_t = x_t W_xᵀ + h_{t−1} W_hᵀ + b: the pre-activations of all four gates at once
        ws.xSide.forward(x, into: &cache.gates)                               // (lstm.a)
        gemm(prev.h, packed: ws.W_hTPacked, into: &cache.gates, beta: 1)      // (lstm.a)
        cache.gates.addRowVector(ws.b)                                        // (lstm.a)
        probe.forward(t, &cache.gates, width: H, (.lstmAi, G.i), (.lstmAf, G.f), (.lstmAg, G.g), (.lstmAo, G.o))
        cache.gates.applySigmoid(block: G.i, width: 2 * H)                    // (lstm.i) (lstm.f): i and f side by side
        cache.gates.applyTanh(block: G.g, width: H)                           // (lstm.g)
        cache.gates.applySigmoid(block: G.o, width: H)                        // (lstm.o)
        probe.forward(t, &cache.gates, width: H, (.lstmI, G.i), (.lstmF, G.f), (.lstmG, G.g), (.lstmO, G.o))
        let (gates, cPrev, c) = (cache.gates.lanes, prev.c.lanes, next.c.writableLanes())
        forEachChunk(rows: B, cols: H) { k in
            let (i, f, g) = (gates[k, G.i], gates[k, G.f], gates[k, G.g])
            c[k] = probe.forward(.lstmC, t, k, g * i + cPrev[k] * f)          // (lstm.c)
        }
        cache.tanhC.copy(from: next.c)
        cache.tanhC.applyTanh()                                               // (lstm.h)
        let (tanhC, h) = (cache.tanhC.lanes, next.h.writableLanes())
        forEachChunk(rows: B, cols: H) { k in
            h[k] = gates[k, G.o] * tanhC[k]                                   // (lstm.h)
        }
        probe.forward(.lstmH, t, &next.h)
    }

    public func beginBackward(_ p: Parameters, batch B: Int, steps: Int, _ ws: inout Workspace) {
        let G = gateLayout
        ensure(&ws.dA, B, G.width); ensure(&ws.dAs, steps * B, G.width)
        ws.W_hPacked.pack(ws.W_h, k: G.width, n: hiddenSize)
        ws.xSide.packBackward(ws.W_x)
    }

    /// Step t back: d = (dh_t, dc^next_t) → dPrev = (dh^next_{t−1}, dc^next_{t−1}), dx = dx_t.
    /// dA_t is kept for the weight gradients, which `endBackward` sums over all steps at once.
    public func stepBackward<P: CellProbe>(_ d: State, _ dPrev: inout State, _ dx: inout Matrix<Real>, inputGradient: Bool,
                                           _ x: Matrix<Real>, _ prev: State, _ next: State, _ cache: StepCache,
                                           _ p: Parameters, _ grads: inout Parameters, _ ws: inout Workspace, t: Int, _ probe: P) {
        let (B, H, G) = (x.rows, hiddenSize, gateLayout)
        let cPrev = (probe.breaks(.lstmDfOffByOne) ? next.c : prev.c).lanes   // break: c_t for c_{t−1}
        let (gates, tanhC, dh, dcNext) = (cache.gates.lanes, cache.tanhC.lanes, d.h.lanes, d.c.lanes)
        // dA_t goes straight into its rows of the stacked dAs, where endBackward reads it
        let (dcPrev, dA) = (dPrev.c.writableLanes(), ws.dAs.writableLanes(fromRow: (t - 1) * B))
        forEachChunk(rows: B, cols: H) { k in
            let (i, f, g, o) = (gates[k, G.i], gates[k, G.f], gates[k, G.g], gates[k, G.o])
            let (dh, tanhC) = (dh[k], tanhC[k])
            // forward (lstm.h): h_t = o_t ⊙ tanh(c_t)
            let dO = dh * tanhC                                               // (lstm.do)
            var dC = dcNext[k] + dh * o * (1 - tanhC * tanhC)                 // (lstm.dc)
            if probe.breaks(.lstmDcNoCarry) { dC = dh * o * (1 - tanhC * tanhC) }                             // break: no dc^next
            if probe.breaks(.lstmDcTanhOfActivated) { let y = tanh(tanhC); dC = dcNext[k] + dh * o * (1 - y * y) }  // break
            // forward (lstm.c): c_t = g_t ⊙ i_t + c_{t−1} ⊙ f_t
            let dI = dC * g                                                   // (lstm.di)
            let dF = dC * cPrev[k]                                            // (lstm.df)
            let dG = dC * i                                                   // (lstm.dg)
            dcPrev[k] = dC * f                                                // (lstm.dcprev)
            // forward (lstm.i, lstm.f, lstm.g, lstm.o): σ′ = s(1 − s), tanh′ = 1 − g²
            dA[k, G.i] = dI * i * (1 - i)                                     // (lstm.da_i)
            dA[k, G.f] = probe.breaks(.lstmDa_fNoSigmoidDerivative) ? dF : dF * f * (1 - f)   // (lstm.da_f) break: no σ′
            dA[k, G.g] = dG * (1 - g * g)                                     // (lstm.da_g)
            dA[k, G.o] = dO * o * (1 - o)                                     // (lstm.da_o)
            probe.backward(t, k, (.lstmO, dO), (.lstmC, dC), (.lstmI, dI), (.lstmF, dF), (.lstmG, dG))
        }
        if P.isActive {   // a probe reads dA_t as a matrix of its own
            copyRows(ws.dAs, (t - 1) * B, t * B, into: &ws.dA)
            probe.backward(t, ws.dA, width: H, (.lstmAi, G.i), (.lstmAf, G.f), (.lstmAg, G.g), (.lstmAo, G.o))
        }
        // forward (lstm.a): A_t = x_t W_xᵀ + h_{t−1} W_hᵀ + b
        if inputGradient { ws.xSide.backward(ws.dAs, rows: (t - 1) * B, B, into: &dx) }        // (lstm.dx)
        gemm(ws.dAs, rows: (t - 1) * B, B, packed: ws.W_hPacked, into: &dPrev.h)              // (lstm.dhprev)
    }

    /// Σ over t of the shared weights' gradients, as one product over the stacked steps; then
    /// the fused gradients are added into the named tensors (each gate's block).
    public func endBackward<P: CellProbe>(_ xs: [Matrix<Real>], _ states: [State], _ grads: inout Parameters,
                                          _ ws: inout Workspace, _ probe: P) {
        let (B, D, H, G) = (xs[0].rows, inputSize, hiddenSize, gateLayout)
        ensure(&ws.xAll, xs.count * B, D); ensure(&ws.hPrevAll, xs.count * B, H)
        for t in 1...xs.count {
            copyBlock(xs[t - 1], into: &ws.xAll, at: ((t - 1) * B, 0))
            copyBlock(states[t - 1].h, into: &ws.hPrevAll, at: ((t - 1) * B, 0))
        }
        ensure(&ws.dW_x, G.width, D); ensure(&ws.dW_h, G.width, H); ensure(&ws.db, 1, G.width)
        ws.dW_x.zero(); ws.dW_h.zero(); ws.db.zero()
        ws.xSide.accumulateGradient(ws.dAs, ws.xAll, into: &ws.dW_x, scratch: &ws.dW_xT) // (lstm.dW_x)
        gemm(ws.dAs, transA: true, ws.hPrevAll, into: &ws.dW_h, beta: 1)       // (lstm.dW_h)
        ws.dAs.accumulateColumnSums(into: &ws.db)                               // (lstm.db)
        probe.backward(.lstmDW_x, 0, ws.dW_x); probe.backward(.lstmDW_h, 0, ws.dW_h); probe.backward(.lstmDb, 0, ws.db)
        // dW_⋆x, dW_⋆h, db_⋆ are the gate's block (stored properties, not key paths: a generic key
        // path is built at run time on every call)
        func add(_ gate: Int, _ dW_x: inout Matrix<Real>, _ dW_h: inout Matrix<Real>, _ db: inout Matrix<Real>) {
            addBlock(from: ws.dW_x, at: (gate, 0), into: &dW_x)
            addBlock(from: ws.dW_h, at: (gate, 0), into: &dW_h)
            addBlock(from: ws.db, at: (0, gate), into: &db)
        }
        add(G.i, &grads.W_ix, &grads.W_ih, &grads.b_i)
        add(G.f, &grads.W_fx, &grads.W_fh, &grads.b_f)
        add(G.g, &grads.W_gx, &grads.W_gh, &grads.b_g)
        add(G.o, &grads.W_ox, &grads.W_oh, &grads.b_o)
    }
}
