import BPTT

/// Minimal gated unit (Zhou et al. 2016), derived in derivations/mgu.md. x_t B×D; h_t, f_t, n_t B×H.
public struct MGU<Real: Scalar>: RecurrentCell {
    public struct Parameters: ParameterSet {
        public var W_fx, W_fh, b_f, W_nx, W_nh, b_n: Matrix<Real>                   // H×D, H×H, 1×H, twice
        public mutating func forEachTensor(pairedWith o: Self?, _ body: (String, inout Matrix<Real>, Matrix<Real>?) -> Void) {
            body("W_fx", &W_fx, o?.W_fx); body("W_fh", &W_fh, o?.W_fh); body("b_f", &b_f, o?.b_f)
            body("W_nx", &W_nx, o?.W_nx); body("W_nh", &W_nh, o?.W_nh); body("b_n", &b_n, o?.b_n)
        }
    }
    public typealias State = HiddenState<Real>; public struct StepCache { var f, q, n: Matrix<Real> }   // f_t, q_t, n_t
    public let inputSize: Int, hiddenSize: Int
    public init(inputSize: Int, hiddenSize: Int) { (self.inputSize, self.hiddenSize) = (inputSize, hiddenSize) }; public var hQuantity: Quantity { Q.h }
    public func gradientTag(_ name: String) -> String? {                       // the tag a wrong gradient is named by
        ["W_fx": "mgu.dW_f", "W_fh": "mgu.dW_f", "b_f": "mgu.dW_f", "W_nx": "mgu.dW_n", "W_nh": "mgu.dW_n", "b_n": "mgu.dW_n", "x": "mgu.dx", "h0": "mgu.dhprev"][name] }
    public func initialParameters(_ i: Initializer, rng: inout RNG) -> Parameters {
        func w(_ r: Int, _ c: Int) -> Matrix<Real> { .initialized(r, c, i, fanIn: c, fanOut: r, pytorchFan: hiddenSize, rng: &rng) }
        let (D, H) = (inputSize, hiddenSize); return Parameters(W_fx: w(H, D), W_fh: w(H, H), b_f: w(1, H), W_nx: w(H, D), W_nh: w(H, H), b_n: w(1, H))
    }
    public func makeStepCache(batch B: Int) -> StepCache { StepCache(f: .zeros(B, hiddenSize), q: .zeros(B, hiddenSize), n: .zeros(B, hiddenSize)) }

    public func stepForward<P: CellProbe>(_ x: Matrix<Real>, _ prev: State, _ next: inout State, _ c: inout StepCache,
                                          _ p: Parameters, _ ws: inout Void, t: Int, _ probe: P) {
        gemm(x, p.W_fx, transB: true, into: &c.f); gemm(prev.h, p.W_fh, transB: true, into: &c.f, beta: 1); c.f.addRowVector(p.b_f) // (mgu.af)
        probe.forward(Q.af, t, &c.f); c.f.applySigmoid(); probe.forward(Q.f, t, &c.f)                                            // (mgu.f)
        let (f, h0, q) = (c.f.lanes, prev.h.lanes, c.q.writableLanes())
        forEachChunk(rows: x.rows, cols: hiddenSize) { k in q[k] = f[k] * h0[k] }; probe.forward(Q.q, t, &c.q)                     // (mgu.q)
        gemm(x, p.W_nx, transB: true, into: &c.n); gemm(c.q, p.W_nh, transB: true, into: &c.n, beta: 1); c.n.addRowVector(p.b_n) // (mgu.an)
        probe.forward(Q.an, t, &c.n); c.n.applyTanh(); probe.forward(Q.n, t, &c.n)                                               // (mgu.n)
        let (n, h) = (c.n.lanes, next.h.writableLanes())
        forEachChunk(rows: x.rows, cols: hiddenSize) { k in h[k] = (1 - f[k]) * h0[k] + f[k] * n[k] }; probe.forward(Q.h, t, &next.h) // (mgu.h)
    }
    public func stepBackward<P: CellProbe>(_ d: State, _ dPrev: inout State, _ dx: inout Matrix<Real>, inputGradient: Bool,
                                           _ x: Matrix<Real>, _ prev: State, _ next: State, _ c: StepCache,
                                           _ p: Parameters, _ g: inout Parameters, _ ws: inout Void, t: Int, _ probe: P) {
        var (da_n, dq, da_f) = (Matrix<Real>.zeros(x.rows, hiddenSize), Matrix<Real>.zeros(x.rows, hiddenSize), Matrix<Real>.zeros(x.rows, hiddenSize))
        let (f, n, h0, dh, an) = (c.f.lanes, c.n.lanes, prev.h.lanes, d.h.lanes, da_n.writableLanes())
        forEachChunk(rows: x.rows, cols: hiddenSize) { k in
            let dn = dh[k] * f[k]                                                                                  // (mgu.dn)
            an[k] = dn * (1 - n[k] * n[k])                                                                         // (mgu.da_n)
            probe.backward(t, k, (Q.n, dn), (Q.an, an[k]))
        }
        gemm(da_n, p.W_nh, into: &dq); probe.backward(Q.q, t, dq); let (dql, af) = (dq.lanes, da_f.writableLanes()) // (mgu.dq)
        forEachChunk(rows: x.rows, cols: hiddenSize) { k in
            let df = dh[k] * (n[k] - h0[k]) + dql[k] * h0[k]                                                       // (mgu.df)
            af[k] = df * f[k] * (1 - f[k])                                                                         // (mgu.da_f)
            probe.backward(t, k, (Q.f, df), (Q.af, af[k]))
        }
        gemm(da_n, transA: true, x, into: &g.W_nx, beta: 1); gemm(da_n, transA: true, c.q, into: &g.W_nh, beta: 1); da_n.accumulateColumnSums(into: &g.b_n) // (mgu.dW_n)
        gemm(da_f, transA: true, x, into: &g.W_fx, beta: 1); gemm(da_f, transA: true, prev.h, into: &g.W_fh, beta: 1); da_f.accumulateColumnSums(into: &g.b_f) // (mgu.dW_f)
        if inputGradient { gemm(da_f, p.W_fx, into: &dx); gemm(da_n, p.W_nx, into: &dx, beta: 1) }                 // (mgu.dx)
        gemm(da_f, p.W_fh, into: &dPrev.h); let dhp = dPrev.h.writableLanes()                                      // (mgu.dhprev)
        forEachChunk(rows: x.rows, cols: hiddenSize) { k in dhp[k] = dhp[k] + dh[k] * (1 - f[k]) + dql[k] * f[k] } // (mgu.dhprev)
    }
}
/// The quantities MGU reports to the probe, with their tags: what the check names when one is wrong.
enum Q {
    static let af = Quantity.define("a_f", forward: ("mgu.af", "a^f_t = x_t W_fxᵀ + h_{t−1} W_fhᵀ + b_f"), backward: ("mgu.da_f", "da^f_t = df_t ⊙ f_t ⊙ (1 − f_t)"))
    static let f = Quantity.define("f", forward: ("mgu.f", "f_t = σ(a^f_t)"), backward: ("mgu.df", "df_t = dh_t ⊙ (n_t − h_{t−1}) + dq_t ⊙ h_{t−1}"))
    static let q = Quantity.define("q", forward: ("mgu.q", "q_t = f_t ⊙ h_{t−1}"), backward: ("mgu.dq", "dq_t = da^n_t W_nh"))
    static let an = Quantity.define("a_n", forward: ("mgu.an", "a^n_t = x_t W_nxᵀ + q_t W_nhᵀ + b_n"), backward: ("mgu.da_n", "da^n_t = dn_t ⊙ (1 − n_t²)"))
    static let n = Quantity.define("n", forward: ("mgu.n", "n_t = tanh(a^n_t)"), backward: ("mgu.dn", "dn_t = dh_t ⊙ f_t"))
    static let h = Quantity.define("h", forward: ("mgu.h", "h_t = (1 − f_t) ⊙ h_{t−1} + f_t ⊙ n_t"), backward: ("mgu.dh", "dh_t = ∂L/∂h_t (from above) + dh^next_t"))
}
