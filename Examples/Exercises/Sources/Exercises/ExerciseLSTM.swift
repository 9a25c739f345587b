import BPTT

/// Exercise 2: the LSTM's step backward, blanked. The library's `LSTM` with one product per gate
/// instead of fused buffers, and its backward lines taken out; every `TODO (tag)` names the line
/// to write and restates the forward line it undoes. `swift test --filter ExercisesTests.testLSTM`
/// names the first wrong one.
///
///     i_t = σ(x_t W_ixᵀ + h_{t−1} W_ihᵀ + b_i)        input gate         (lstm.i)
///     f_t = σ(x_t W_fxᵀ + h_{t−1} W_fhᵀ + b_f)        forget gate        (lstm.f)
///     g_t = tanh(x_t W_gxᵀ + h_{t−1} W_ghᵀ + b_g)     input modulation   (lstm.g)
///     o_t = σ(x_t W_oxᵀ + h_{t−1} W_ohᵀ + b_o)        output gate        (lstm.o)
///     c_t = g_t ⊙ i_t + c_{t−1} ⊙ f_t                                    (lstm.c)
///     h_t = o_t ⊙ tanh(c_t)                                              (lstm.h)
///
/// Shapes: x_t B×D; h_t, c_t and every gate B×H; W_⋆x H×D, W_⋆h H×H, b_⋆ 1×H.
/// σ′ = s(1 − s) and tanh′ = 1 − y² are read from the activated values s, y.
public struct ExerciseLSTM<Real: Scalar>: RecurrentCell {
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
    public typealias State = HiddenCellState<Real>
    /// What step t's backward reads from its forward: the four gates and tanh(c_t), B×H each.
    public struct StepCache { var i, f, g, o, tanhC: Matrix<Real> }
    /// Per sequence: da^i_t, da^f_t, da^g_t, da^o_t (B×H each).
    public struct Workspace { var da_i, da_f, da_g, da_o: Matrix<Real> }

    public let inputSize: Int
    public let hiddenSize: Int
    public var hQuantity: Quantity { .lstmH }
    public init(inputSize: Int, hiddenSize: Int) { (self.inputSize, self.hiddenSize) = (inputSize, hiddenSize) }

    /// The line a wrong gradient is named by.
    public func gradientTag(_ name: String) -> String? {
        switch name {
        case "x": return "lstm.dx"
        case "h0": return "lstm.dhprev"
        case "c0": return "lstm.dcprev"
        case _ where name.hasPrefix("b_"): return "lstm.db"
        default: return name.hasSuffix("x") ? "lstm.dW_x" : "lstm.dW_h"
        }
    }
    public func initialParameters(_ initializer: Initializer, rng: inout RNG) -> Parameters {
        let (D, H) = (inputSize, hiddenSize)
        func w(_ r: Int, _ c: Int) -> Matrix<Real> {
            .initialized(r, c, initializer, fanIn: r == 1 ? H : c, fanOut: r == 1 ? H : r, pytorchFan: H, rng: &rng)
        }
        return Parameters(W_ix: w(H, D), W_ih: w(H, H), b_i: w(1, H), W_fx: w(H, D), W_fh: w(H, H), b_f: w(1, H),
                          W_gx: w(H, D), W_gh: w(H, H), b_g: w(1, H), W_ox: w(H, D), W_oh: w(H, H), b_o: w(1, H))
    }
    public func makeStepCache(batch B: Int) -> StepCache {
        let z = Matrix<Real>.zeros(B, hiddenSize)
        return StepCache(i: z, f: z, g: z, o: z, tanhC: z)
    }
    public func makeWorkspace() -> Workspace {
        let z = Matrix<Real>.zeros(0, 0)
        return Workspace(da_i: z, da_f: z, da_g: z, da_o: z)
    }

    public func stepForward<P: CellProbe>(_ x: Matrix<Real>, _ prev: State, _ next: inout State, _ cache: inout StepCache,
                                          _ p: Parameters, _ ws: inout Workspace, t: Int, _ probe: P) {
        // a^⋆_t = x_t W_⋆xᵀ + h_{t−1} W_⋆hᵀ + b_⋆, one gate at a time
        func preActivation(_ W_x: Matrix<Real>, _ W_h: Matrix<Real>, _ b: Matrix<Real>, into a: inout Matrix<Real>) {
            gemm(x, W_x, transB: true, into: &a)                              // (lstm.a)
            gemm(prev.h, W_h, transB: true, into: &a, beta: 1)                // (lstm.a)
            a.addRowVector(b)                                                 // (lstm.a)
        }
        preActivation(p.W_ix, p.W_ih, p.b_i, into: &cache.i); probe.forward(.lstmAi, t, &cache.i)
        preActivation(p.W_fx, p.W_fh, p.b_f, into: &cache.f); probe.forward(.lstmAf, t, &cache.f)
        preActivation(p.W_gx, p.W_gh, p.b_g, into: &cache.g); probe.forward(.lstmAg, t, &cache.g)
        preActivation(p.W_ox, p.W_oh, p.b_o, into: &cache.o); probe.forward(.lstmAo, t, &cache.o)
        cache.i.applySigmoid(); probe.forward(.lstmI, t, &cache.i)           // (lstm.i)
        cache.f.applySigmoid(); probe.forward(.lstmF, t, &cache.f)           // (lstm.f)
        cache.g.applyTanh(); probe.forward(.lstmG, t, &cache.g)              // (lstm.g)
        cache.o.applySigmoid(); probe.forward(.lstmO, t, &cache.o)           // (lstm.o)
        let (i, f, g, cPrev, c) = (cache.i.lanes, cache.f.lanes, cache.g.lanes, prev.c.lanes, next.c.writableLanes())
        forEachChunk(rows: x.rows, cols: hiddenSize) { k in
            c[k] = g[k] * i[k] + cPrev[k] * f[k]                              // (lstm.c)
        }
        probe.forward(.lstmC, t, &next.c)
        cache.tanhC = next.c
        cache.tanhC.applyTanh()                                               // (lstm.h)
        let (o, tanhC, h) = (cache.o.lanes, cache.tanhC.lanes, next.h.writableLanes())
        forEachChunk(rows: x.rows, cols: hiddenSize) { k in
            h[k] = o[k] * tanhC[k]                                            // (lstm.h)
        }
        probe.forward(.lstmH, t, &next.h)
    }

    public func beginBackward(_ p: Parameters, batch B: Int, steps: Int, _ ws: inout Workspace) {
        let z = Matrix<Real>.zeros(B, hiddenSize)
        (ws.da_i, ws.da_f, ws.da_g, ws.da_o) = (z, z, z, z)
    }

    /// Step t back: d = (dh_t, dc^next_t) → dPrev = (dh^next_{t−1}, dc^next_{t−1}) (overwrite),
    /// dx = dx_t (overwrite, when `inputGradient`); adds (+=) this step's terms into grads.
    public func stepBackward<P: CellProbe>(_ d: State, _ dPrev: inout State, _ dx: inout Matrix<Real>, inputGradient: Bool,
                                           _ x: Matrix<Real>, _ prev: State, _ next: State, _ cache: StepCache,
                                           _ p: Parameters, _ grads: inout Parameters, _ ws: inout Workspace, t: Int, _ probe: P) {
        let (I, F, G, O, cPrev) = (cache.i.lanes, cache.f.lanes, cache.g.lanes, cache.o.lanes, prev.c.lanes)
        let (tanhCs, dhs, dcNext, dcPrev) = (cache.tanhC.lanes, d.h.lanes, d.c.lanes, dPrev.c.writableLanes())
        let (da_i, da_f, da_g, da_o) = (ws.da_i.writableLanes(), ws.da_f.writableLanes(), ws.da_g.writableLanes(), ws.da_o.writableLanes())
        forEachChunk(rows: x.rows, cols: hiddenSize) { k in
            let (i, f, g, o) = (I[k], F[k], G[k], O[k])
            let (dh, tanhC) = (dhs[k], tanhCs[k])
            _ = (i, f, g, o, dh, tanhC, cPrev, dcNext)
            // forward (lstm.h): h_t = o_t ⊙ tanh(c_t)
            let dO = SIMD8<Real>()  // TODO (lstm.do): do_t = dh_t ⊙ tanh(c_t) — forward (lstm.h): h_t = o_t ⊙ tanh(c_t)
            let dC = SIMD8<Real>()  // TODO (lstm.dc): dc_t = dc^next_t + dh_t ⊙ o_t ⊙ (1 − tanh²(c_t)) — forward (lstm.h): h_t = o_t ⊙ tanh(c_t)
            // forward (lstm.c): c_t = g_t ⊙ i_t + c_{t−1} ⊙ f_t
            let dI = SIMD8<Real>()  // TODO (lstm.di): di_t = dc_t ⊙ g_t — forward (lstm.c): c_t = g_t ⊙ i_t + c_{t−1} ⊙ f_t
            let dF = SIMD8<Real>()  // TODO (lstm.df): df_t = dc_t ⊙ c_{t−1} — forward (lstm.c): c_t = g_t ⊙ i_t + c_{t−1} ⊙ f_t
            let dG = SIMD8<Real>()  // TODO (lstm.dg): dg_t = dc_t ⊙ i_t — forward (lstm.c): c_t = g_t ⊙ i_t + c_{t−1} ⊙ f_t
            dcPrev[k] = .zero  // TODO (lstm.dcprev): dc^next_{t−1} = dc_t ⊙ f_t — forward (lstm.c): c_t = g_t ⊙ i_t + c_{t−1} ⊙ f_t
            // forward (lstm.i, lstm.f, lstm.g, lstm.o): σ′ = s(1 − s), tanh′ = 1 − g²
            da_i[k] = .zero  // TODO (lstm.da_i): da^i_t = di_t ⊙ i_t ⊙ (1 − i_t) — forward (lstm.i): i_t = σ(a^i_t)
            da_f[k] = .zero  // TODO (lstm.da_f): da^f_t = df_t ⊙ f_t ⊙ (1 − f_t) — forward (lstm.f): f_t = σ(a^f_t)
            da_g[k] = .zero  // TODO (lstm.da_g): da^g_t = dg_t ⊙ (1 − g_t²) — forward (lstm.g): g_t = tanh(a^g_t)
            da_o[k] = .zero  // TODO (lstm.da_o): da^o_t = do_t ⊙ o_t ⊙ (1 − o_t) — forward (lstm.o): o_t = σ(a^o_t)
            probe.backward(t, k, (.lstmO, dO), (.lstmC, dC), (.lstmI, dI), (.lstmF, dF), (.lstmG, dG))
        }
        probe.backward(.lstmAi, t, ws.da_i); probe.backward(.lstmAf, t, ws.da_f)
        probe.backward(.lstmAg, t, ws.da_g); probe.backward(.lstmAo, t, ws.da_o)
        // forward (lstm.a): a^⋆_t = x_t W_⋆xᵀ + h_{t−1} W_⋆hᵀ + b_⋆ for ⋆ = i, f, g, o
        // TODO (lstm.dW_x): dW_⋆x += (da^⋆_t)ᵀ x_t for ⋆ = i, f, g, o — forward (lstm.a): a^⋆_t = x_t W_⋆xᵀ + …
        // TODO (lstm.dW_h): dW_⋆h += (da^⋆_t)ᵀ h_{t−1} for ⋆ = i, f, g, o — forward (lstm.a): a^⋆_t = … + h_{t−1} W_⋆hᵀ + …
        // TODO (lstm.db): db_⋆ += Σ_b da^⋆_t (column sums) for ⋆ = i, f, g, o — forward (lstm.a): a^⋆_t = … + b_⋆
        if inputGradient { dx = .zeros(x.rows, inputSize) }  // TODO (lstm.dx): dx_t = Σ_⋆ da^⋆_t W_⋆x — forward (lstm.a): a^⋆_t = x_t W_⋆xᵀ + …
        dPrev.h = .zeros(x.rows, hiddenSize)  // TODO (lstm.dhprev): dh^next_{t−1} = Σ_⋆ da^⋆_t W_⋆h — forward (lstm.a): a^⋆_t = … + h_{t−1} W_⋆hᵀ + …
    }
}
