// SOLUTION: Examples/Exercises/Sources/Exercises/ExerciseGRU.swift with every blank filled by the library's line.
// SOLUTION: ExerciseSolutionTests holds this file to the exercise line by line; edit both together.
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
            let dN = dh * (1 - z)  // (gru.dn)
            let dZ = dh * (hPrev - n)  // (gru.dz)
            dhPrev[k] = dh * z  // (gru.dhprev)
            // forward (gru.n): n_t = tanh(a^n_t)
            let da_n = dN * (1 - n * n)  // (gru.da_n)
            // forward (gru.z): z_t = σ(a^z_t)
            let da_z = dZ * z * (1 - z)  // (gru.da_z)
            // forward (gru.n): a^n_t = x_t W_nxᵀ + b_nx + r_t ⊙ m_t
            let dR = da_n * m[k]  // (gru.dr)
            let dM = da_n * r  // (gru.dm)
            // forward (gru.r): r_t = σ(a^r_t)
            let da_r = dR * r * (1 - r)  // (gru.da_r)
            dAr[k] = da_r; dAz[k] = da_z; dAn[k] = da_n; dMs[k] = dM
            probe.backward(t, k, (.gruN, dN), (.gruZ, dZ), (.gruAn, da_n), (.gruR, dR), (.gruM, dM))
            probe.backward(t, k, (.gruAr, da_r), (.gruAz, da_z))
        }
        // forward (gru.r, gru.z, gru.n): the x-side products x_t W_⋆xᵀ and the biases
        gemm(ws.da_r, transA: true, x, into: &grads.W_rx, beta: 1)  // (gru.dW_x)
        gemm(ws.da_z, transA: true, x, into: &grads.W_zx, beta: 1)  // (gru.dW_x)
        gemm(ws.da_n, transA: true, x, into: &grads.W_nx, beta: 1)  // (gru.dW_x)
        ws.da_r.accumulateColumnSums(into: &grads.b_r)   // (gru.db)
        ws.da_z.accumulateColumnSums(into: &grads.b_z)   // (gru.db)
        ws.da_n.accumulateColumnSums(into: &grads.b_nx)  // (gru.db)
        if inputGradient {                             // (gru.dx)
            gemm(ws.da_r, p.W_rx, into: &dx)           // (gru.dx)
            gemm(ws.da_z, p.W_zx, into: &dx, beta: 1)  // (gru.dx)
            gemm(ws.da_n, p.W_nx, into: &dx, beta: 1)  // (gru.dx)
        }                                              // (gru.dx)
        // forward (gru.r, gru.z, gru.m): the h-side products h_{t−1} W_⋆hᵀ and b_nh
        gemm(ws.da_r, transA: true, prev.h, into: &grads.W_rh, beta: 1)  // (gru.dW_h)
        gemm(ws.da_z, transA: true, prev.h, into: &grads.W_zh, beta: 1)  // (gru.dW_h)
        gemm(ws.dm, transA: true, prev.h, into: &grads.W_nh, beta: 1)    // (gru.dW_h)
        ws.dm.accumulateColumnSums(into: &grads.b_nh)  // (gru.db_nh)
        gemm(ws.da_r, p.W_rh, into: &dPrev.h, beta: 1)  // (gru.dhprev)
        gemm(ws.da_z, p.W_zh, into: &dPrev.h, beta: 1)  // (gru.dhprev)
        gemm(ws.dm, p.W_nh, into: &dPrev.h, beta: 1)    // (gru.dhprev)
    }
}
