import BPTT

/// Exercise 3: the GRU's step backward (PyTorch's form), blanked. The library's `GRU` with one
/// product per gate instead of fused buffers, and its backward lines taken out; every
/// `TODO (tag)` names the line to write and restates the forward line it undoes.
/// `swift test --filter ExercisesTests.testGRU` names the first wrong one.
///
///     r_t = σ(x_t W_rxᵀ + h_{t−1} W_rhᵀ + b_r)                      (gru.r)
///     z_t = σ(x_t W_zxᵀ + h_{t−1} W_zhᵀ + b_z)                      (gru.z)
///     m_t = h_{t−1} W_nhᵀ + b_nh                                    (gru.m)
///     n_t = tanh(x_t W_nxᵀ + b_nx + r_t ⊙ m_t)                       (gru.n)
///     h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t−1}                          (gru.h)
///
/// Shapes: x_t B×D; h_t and every gate B×H; W_⋆x H×D, W_⋆h H×H, biases 1×H.
public struct ExerciseGRU<Real: Scalar>: RecurrentCell {
    public struct Parameters: ParameterSet {
        public var W_rx: Matrix<Real>, W_rh: Matrix<Real>, b_r: Matrix<Real>      // H×D, H×H, 1×H
        public var W_zx: Matrix<Real>, W_zh: Matrix<Real>, b_z: Matrix<Real>
        public var W_nx: Matrix<Real>, W_nh: Matrix<Real>, b_nx: Matrix<Real>, b_nh: Matrix<Real>
        public mutating func forEachTensor(pairedWith other: Self?, _ body: (String, inout Matrix<Real>, Matrix<Real>?) -> Void) {
            body("W_rx", &W_rx, other?.W_rx); body("W_rh", &W_rh, other?.W_rh); body("b_r", &b_r, other?.b_r)
            body("W_zx", &W_zx, other?.W_zx); body("W_zh", &W_zh, other?.W_zh); body("b_z", &b_z, other?.b_z)
            body("W_nx", &W_nx, other?.W_nx); body("W_nh", &W_nh, other?.W_nh)
            body("b_nx", &b_nx, other?.b_nx); body("b_nh", &b_nh, other?.b_nh)
        }
    }
    public typealias State = HiddenState<Real>
    /// What step t's backward reads from its forward: r_t, z_t, n_t, m_t (B×H each).
    public struct StepCache { var r, z, n, m: Matrix<Real> }
    /// Per sequence: da^r_t, da^z_t, da^n_t, dm_t (B×H each).
    public struct Workspace { var da_r, da_z, da_n, dm: Matrix<Real> }

    public let inputSize: Int
    public let hiddenSize: Int
    public var hQuantity: Quantity { .gruH }
    public init(inputSize: Int, hiddenSize: Int) { (self.inputSize, self.hiddenSize) = (inputSize, hiddenSize) }

    /// The line a wrong gradient is named by.
    public func gradientTag(_ name: String) -> String? {
        ["W_rx": "gru.dW_x", "W_zx": "gru.dW_x", "W_nx": "gru.dW_x", "W_rh": "gru.dW_h", "W_zh": "gru.dW_h", "W_nh": "gru.dW_h",
         "b_r": "gru.db", "b_z": "gru.db", "b_nx": "gru.db", "b_nh": "gru.db_nh", "x": "gru.dx", "h0": "gru.dhprev"][name]
    }
    public func initialParameters(_ initializer: Initializer, rng: inout RNG) -> Parameters {
        let (D, H) = (inputSize, hiddenSize)
        func w(_ r: Int, _ c: Int) -> Matrix<Real> {
            .initialized(r, c, initializer, fanIn: r == 1 ? H : c, fanOut: r == 1 ? H : r, pytorchFan: H, rng: &rng)
        }
        return Parameters(W_rx: w(H, D), W_rh: w(H, H), b_r: w(1, H), W_zx: w(H, D), W_zh: w(H, H), b_z: w(1, H),
                          W_nx: w(H, D), W_nh: w(H, H), b_nx: w(1, H), b_nh: w(1, H))
    }
    public func makeStepCache(batch B: Int) -> StepCache {
        let z = Matrix<Real>.zeros(B, hiddenSize)
        return StepCache(r: z, z: z, n: z, m: z)
    }
    public func makeWorkspace() -> Workspace {
        let z = Matrix<Real>.zeros(0, 0)
        return Workspace(da_r: z, da_z: z, da_n: z, dm: z)
    }

    public func stepForward<P: CellProbe>(_ x: Matrix<Real>, _ prev: State, _ next: inout State, _ cache: inout StepCache,
                                          _ p: Parameters, _ ws: inout Workspace, t: Int, _ probe: P) {
        gemm(x, p.W_rx, transB: true, into: &cache.r); gemm(prev.h, p.W_rh, transB: true, into: &cache.r, beta: 1)   // (gru.r)
        cache.r.addRowVector(p.b_r); probe.forward(.gruAr, t, &cache.r)                                           // (gru.r)
        gemm(x, p.W_zx, transB: true, into: &cache.z); gemm(prev.h, p.W_zh, transB: true, into: &cache.z, beta: 1)   // (gru.z)
        cache.z.addRowVector(p.b_z); probe.forward(.gruAz, t, &cache.z)                                           // (gru.z)
        cache.r.applySigmoid(); probe.forward(.gruR, t, &cache.r)                                                 // (gru.r)
        cache.z.applySigmoid(); probe.forward(.gruZ, t, &cache.z)                                                 // (gru.z)
        gemm(prev.h, p.W_nh, transB: true, into: &cache.m); cache.m.addRowVector(p.b_nh)                         // (gru.m)
        probe.forward(.gruM, t, &cache.m)
        gemm(x, p.W_nx, transB: true, into: &cache.n); cache.n.addRowVector(p.b_nx)                              // (gru.n)
        let (r, m, n) = (cache.r.lanes, cache.m.lanes, cache.n.writableLanes())
        forEachChunk(rows: x.rows, cols: hiddenSize) { k in
            n[k] = n[k] + r[k] * m[k]                                                                              // (gru.n)
        }
        probe.forward(.gruAn, t, &cache.n)
        cache.n.applyTanh(); probe.forward(.gruN, t, &cache.n)                                                   // (gru.n)
        let (z, nn, hPrev, h) = (cache.z.lanes, cache.n.lanes, prev.h.lanes, next.h.writableLanes())
        forEachChunk(rows: x.rows, cols: hiddenSize) { k in
            h[k] = (1 - z[k]) * nn[k] + z[k] * hPrev[k]                                                            // (gru.h)
        }
        probe.forward(.gruH, t, &next.h)
    }

    public func beginBackward(_ p: Parameters, batch B: Int, steps: Int, _ ws: inout Workspace) {
        let z = Matrix<Real>.zeros(B, hiddenSize)
        (ws.da_r, ws.da_z, ws.da_n, ws.dm) = (z, z, z, z)
    }

    /// Step t back: d.h = dh_t → dPrev.h = dh^next_{t−1} (overwrite), dx = dx_t (overwrite, when
    /// `inputGradient`); adds (+=) this step's terms into grads.
    public func stepBackward<P: CellProbe>(_ d: State, _ dPrev: inout State, _ dx: inout Matrix<Real>, inputGradient: Bool,
                                           _ x: Matrix<Real>, _ prev: State, _ next: State, _ cache: StepCache,
                                           _ p: Parameters, _ grads: inout Parameters, _ ws: inout Workspace, t: Int, _ probe: P) {
        let (R, Z, N, m, dhs, hPrevs) = (cache.r.lanes, cache.z.lanes, cache.n.lanes, cache.m.lanes, d.h.lanes, prev.h.lanes)
        let (dhPrev, dAr, dAz, dAn, dMs) = (dPrev.h.writableLanes(), ws.da_r.writableLanes(), ws.da_z.writableLanes(),
                                            ws.da_n.writableLanes(), ws.dm.writableLanes())
        forEachChunk(rows: x.rows, cols: hiddenSize) { k in
            let (r, z, n) = (R[k], Z[k], N[k])
            let (dh, hPrev) = (dhs[k], hPrevs[k])
            _ = (r, z, n, dh, hPrev, m)
            // forward (gru.h): h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t−1}
            let dN = SIMD8<Real>()  // TODO (gru.dn): dn_t = dh_t ⊙ (1 − z_t) — forward (gru.h): h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t−1}
            let dZ = SIMD8<Real>()  // TODO (gru.dz): dz_t = dh_t ⊙ (h_{t−1} − n_t) — forward (gru.h): h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t−1}
            dhPrev[k] = .zero  // TODO (gru.dhprev): dh^next_{t−1} = dh_t ⊙ z_t (the direct path) — forward (gru.h): h_t = … + z_t ⊙ h_{t−1}
            // forward (gru.n): n_t = tanh(a^n_t)
            let da_n = SIMD8<Real>()  // TODO (gru.da_n): da^n_t = dn_t ⊙ (1 − n_t²) — forward (gru.n): n_t = tanh(a^n_t)
            // forward (gru.z): z_t = σ(a^z_t)
            let da_z = SIMD8<Real>()  // TODO (gru.da_z): da^z_t = dz_t ⊙ z_t ⊙ (1 − z_t) — forward (gru.z): z_t = σ(a^z_t)
            // forward (gru.n): a^n_t = x_t W_nxᵀ + b_nx + r_t ⊙ m_t
            let dR = SIMD8<Real>()  // TODO (gru.dr): dr_t = da^n_t ⊙ m_t — forward (gru.n): a^n_t = x_t W_nxᵀ + b_nx + r_t ⊙ m_t
            let dM = SIMD8<Real>()  // TODO (gru.dm): dm_t = da^n_t ⊙ r_t — forward (gru.n): a^n_t = x_t W_nxᵀ + b_nx + r_t ⊙ m_t
            // forward (gru.r): r_t = σ(a^r_t)
            let da_r = SIMD8<Real>()  // TODO (gru.da_r): da^r_t = dr_t ⊙ r_t ⊙ (1 − r_t) — forward (gru.r): r_t = σ(a^r_t)
            dAr[k] = da_r; dAz[k] = da_z; dAn[k] = da_n; dMs[k] = dM
            probe.backward(t, k, (.gruN, dN), (.gruZ, dZ), (.gruAn, da_n), (.gruR, dR), (.gruM, dM))
            probe.backward(t, k, (.gruAr, da_r), (.gruAz, da_z))
        }
        // forward (gru.r, gru.z, gru.n): the x-side products x_t W_⋆xᵀ and the biases
        // TODO (gru.dW_x): dW_rx += (da^r_t)ᵀ x_t, dW_zx += (da^z_t)ᵀ x_t, dW_nx += (da^n_t)ᵀ x_t — forward (gru.r, gru.z, gru.n): … x_t W_⋆xᵀ …
        // TODO (gru.db): db_r += Σ_b da^r_t, db_z += Σ_b da^z_t, db_nx += Σ_b da^n_t — forward (gru.r, gru.z, gru.n): … + b_r, b_z, b_nx
        if inputGradient { dx = .zeros(x.rows, inputSize) }  // TODO (gru.dx): dx_t = da^r_t W_rx + da^z_t W_zx + da^n_t W_nx — forward (gru.r, gru.z, gru.n)
        // forward (gru.r, gru.z, gru.m): the h-side products h_{t−1} W_⋆hᵀ and b_nh
        // TODO (gru.dW_h): dW_rh += (da^r_t)ᵀ h_{t−1}, dW_zh += (da^z_t)ᵀ h_{t−1}, dW_nh += dm_tᵀ h_{t−1} — forward (gru.r, gru.z, gru.m): … h_{t−1} W_⋆hᵀ …
        // TODO (gru.db_nh): db_nh += Σ_b dm_t — forward (gru.m): m_t = h_{t−1} W_nhᵀ + b_nh
        // TODO (gru.dhprev): dh^next_{t−1} += da^r_t W_rh + da^z_t W_zh + dm_t W_nh — forward (gru.r, gru.z, gru.m): … h_{t−1} W_⋆hᵀ …
    }
}
