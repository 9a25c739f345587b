import BPTT

/// Minimal gated unit (Zhou et al. 2016), derived in derivations/mgu.md. x_t B×D; h_t, f_t, q_t, n_t B×H.
public struct MGU<Real: Scalar>: RecurrentCell {
    public struct Parameters: NamedTensors {                  // W_⋆x H×D, W_⋆h H×H, b_⋆ 1×H
        public var W_fx, W_fh, b_f, W_nx, W_nh, b_n: Matrix<Real>
        public static var tensors: [(String, TensorPath)] {
            [("W_fx", \.W_fx), ("W_fh", \.W_fh), ("b_f", \.b_f), ("W_nx", \.W_nx), ("W_nh", \.W_nh), ("b_n", \.b_n)]
        }
    }
    public typealias State = HiddenState<Real>
    public struct StepCache { var f, q, n: Matrix<Real> }     // f_t, q_t, n_t: what step t's backward reads
    public let inputSize: Int, hiddenSize: Int                // D, H
    public var hQuantity: Quantity { Q.h }
    public init(inputSize: Int, hiddenSize: Int) { (self.inputSize, self.hiddenSize) = (inputSize, hiddenSize) }

    public func initialParameters(_ i: Initializer, rng r: inout RNG) -> Parameters {
        let (D, H) = (inputSize, hiddenSize)
        return Parameters(W_fx: draw(H, D, i, rng: &r), W_fh: draw(H, H, i, rng: &r), b_f: draw(1, H, i, rng: &r),
                          W_nx: draw(H, D, i, rng: &r), W_nh: draw(H, H, i, rng: &r), b_n: draw(1, H, i, rng: &r))
    }
    public func makeStepCache(batch B: Int) -> StepCache { StepCache(f: .zeros(B, hiddenSize), q: .zeros(B, hiddenSize), n: .zeros(B, hiddenSize)) }
    public func gradientTag(_ name: String) -> String? {      // the line that computes each gradient
        ["W_fx": "mgu.dW_f", "W_fh": "mgu.dW_f", "b_f": "mgu.dW_f", "W_nx": "mgu.dW_n", "W_nh": "mgu.dW_n", "b_n": "mgu.dW_n",
         "x": "mgu.dx", "h0": "mgu.dhprev"][name]
    }

    public func stepForward<P: CellProbe>(_ x: Matrix<Real>, _ prev: State, _ next: inout State, _ c: inout StepCache,
                                          _ p: Parameters, _ ws: inout Void, t: Int, _ probe: P) {
        affine(x, p.W_fx, prev.h, p.W_fh, p.b_f, into: &c.f); probe.forward(Q.af, t, &c.f)                  // (mgu.af)
        c.f.applySigmoid(); probe.forward(Q.f, t, &c.f)                                                       // (mgu.f)
        c.q.setElementwise(c.f, prev.h) { f, h0 in f * h0 }; probe.forward(Q.q, t, &c.q)                      // (mgu.q)
        affine(x, p.W_nx, c.q, p.W_nh, p.b_n, into: &c.n); probe.forward(Q.an, t, &c.n)                      // (mgu.an)
        c.n.applyTanh(); probe.forward(Q.n, t, &c.n)                                                          // (mgu.n)
        next.h.setElementwise(c.f, prev.h, c.n) { f, h0, n in (1 - f) * h0 + f * n }; probe.forward(Q.h, t, &next.h) // (mgu.h)
    }

    public func stepBackward<P: CellProbe>(_ d: State, _ dPrev: inout State, _ dx: inout Matrix<Real>, inputGradient: Bool,
                                           _ x: Matrix<Real>, _ prev: State, _ next: State, _ c: StepCache,
                                           _ p: Parameters, _ g: inout Parameters, _ ws: inout Void, t: Int, _ probe: P) {
        let zero = Matrix<Real>.zeros(x.rows, hiddenSize); var (dn, da_n, dq, df, da_f) = (zero, zero, zero, zero, zero)
        dn.setElementwise(d.h, c.f) { dh, f in dh * f }; probe.backward(Q.n, t, dn)                          // (mgu.dn)
        da_n.setElementwise(dn, c.n) { dn, n in dn * (1 - n * n) }; probe.backward(Q.an, t, da_n)            // (mgu.da_n)
        gemm(da_n, p.W_nh, into: &dq); probe.backward(Q.q, t, dq)                                            // (mgu.dq)
        df.setElementwise(d.h, c.n, prev.h, dq) { dh, n, h0, dq in dh * (n - h0) + dq * h0 }; probe.backward(Q.f, t, df) // (mgu.df)
        da_f.setElementwise(df, c.f) { df, f in df * f * (1 - f) }; probe.backward(Q.af, t, da_f)            // (mgu.da_f)
        accumulateAffineGradients(da_n, x, c.q, &g.W_nx, &g.W_nh, &g.b_n)                                    // (mgu.dW_n)
        accumulateAffineGradients(da_f, x, prev.h, &g.W_fx, &g.W_fh, &g.b_f)                                 // (mgu.dW_f)
        if inputGradient { gemm(da_f, p.W_fx, into: &dx); gemm(da_n, p.W_nx, into: &dx, beta: 1) }           // (mgu.dx)
        gemm(da_f, p.W_fh, into: &dPrev.h)                                                                   // (mgu.dhprev)
        dPrev.h.setElementwise(dPrev.h, d.h, c.f, dq) { dhPrev, dh, f, dq in dhPrev + dh * (1 - f) + dq * f } // (mgu.dhprev)
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
