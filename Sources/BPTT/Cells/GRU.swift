/// Gated recurrent unit, derived in `derivations/gru.md`, in two forms: one step forward, one
/// step back.
///
/// PyTorch's (`.pytorch`, the default; also cuDNN's):
///
///     r_t = σ(x_t W_rxᵀ + h_{t−1} W_rhᵀ + b_r)                      (gru.r)
///     z_t = σ(x_t W_zxᵀ + h_{t−1} W_zhᵀ + b_z)                      (gru.z)
///     m_t = h_{t−1} W_nhᵀ + b_nh                                    (gru.m)
///     n_t = tanh(x_t W_nxᵀ + b_nx + r_t ⊙ m_t)                       (gru.n)
///     h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t−1}                          (gru.h)
///
/// Cho et al. 2014's (`.cho`): the reset gate acts on h_{t−1} *before* the product,
///
///     q_t = r_t ⊙ h_{t−1}                                           (gru.q)
///     n_t = tanh(x_t W_nxᵀ + b_nx + q_t W_nhᵀ + b_nh)                (gru.n_cho)
///
/// The two forms share r_t, z_t, h_t and every line of the backward pass but the candidate's.
/// Shapes: x_t B×D; h_t and every gate B×H; W_⋆x H×D, W_⋆h H×H, biases 1×H. The gates are fused
/// as in the LSTM: W_x (3H×D) and W_h (3H×H) stack r, z, n (the order of `Gates`, PyTorch's).
public struct GRU<Real: Scalar>: RecurrentCell {
    public enum Formulation: String, Sendable { case pytorch, cho }

    public struct Parameters: ParameterSet {
        public var W_rx: Matrix<Real>, W_rh: Matrix<Real>, b_r: Matrix<Real>    // H×D, H×H, 1×H
        public var W_zx: Matrix<Real>, W_zh: Matrix<Real>, b_z: Matrix<Real>
        public var W_nx: Matrix<Real>, W_nh: Matrix<Real>, b_nx: Matrix<Real>, b_nh: Matrix<Real>
        public mutating func forEachTensor(pairedWith other: Self?, _ body: (String, inout Matrix<Real>, Matrix<Real>?) -> Void) {
            body("W_rx", &W_rx, other?.W_rx); body("W_rh", &W_rh, other?.W_rh); body("b_r", &b_r, other?.b_r)
            body("W_zx", &W_zx, other?.W_zx); body("W_zh", &W_zh, other?.W_zh); body("b_z", &b_z, other?.b_z)
            body("W_nx", &W_nx, other?.W_nx); body("W_nh", &W_nh, other?.W_nh); body("b_nx", &b_nx, other?.b_nx); body("b_nh", &b_nh, other?.b_nh)
        }
    }

    public func initialParameters(_ initializer: Initializer, rng: inout RNG) -> Parameters {
        let (D, H) = (inputSize, hiddenSize)
        func w(_ r: Int, _ c: Int) -> Matrix<Real> { draw(r, c, initializer, rng: &rng) }
        return Parameters(W_rx: w(H, D), W_rh: w(H, H), b_r: w(1, H),
                          W_zx: w(H, D), W_zh: w(H, H), b_z: w(1, H),
                          W_nx: w(H, D), W_nh: w(H, H), b_nx: w(1, H), b_nh: w(1, H))
    }

    /// The first column of each gate in a fused B×3H buffer (its first row in W_x, W_h): r, z, n.
    public struct Gates: Sendable {
        public let r: Int, z: Int, n: Int
        public let width: Int
        init(hidden H: Int) { (r, z, n, width) = (0, H, 2 * H, 3 * H) }
    }

    public typealias State = HiddenState<Real>

    /// What step t's backward reads from its forward.
    public struct StepCache {
        /// r_t, z_t, n_t side by side (B×3H, columns per `Gates`).
        public internal(set) var gates: Matrix<Real>
        /// m_t = h_{t−1} W_nhᵀ + b_nh (PyTorch) or q_t = r_t ⊙ h_{t−1} (Cho), B×H.
        public internal(set) var m: Matrix<Real>
    }

    /// Per sequence: the fused weights, one step's h-side products, and the gradient sums.
    public struct Workspace: EmptyWorkspace {
        public init() {}
        var W_x = Matrix<Real>(), W_h = Matrix<Real>()                          // fused: 3H×D, 3H×H
        var xSide = InputWeight<Real>()                                        // W_x packed for x_t W_xᵀ and dA_t W_x
        var bx = Matrix<Real>(), bh = Matrix<Real>()                             // 1×3H: b_r, b_z, b_nx; 1×H: b_nh
        // W_h in GEMM panels, packed once per sequence instead of at every step. Forward: W_hᵀ (H×3H),
        // Cho: its r, z columns (H×2H), and Cho's W_nhᵀ (H×H); backward: W_h (3H×H), Cho: its r, z rows, and W_nh.
        var W_hTPacked = PackedB<Real>(), W_nhTPacked = PackedB<Real>(), W_hPacked = PackedB<Real>(), W_nhPacked = PackedB<Real>()
        var Ah = Matrix<Real>()                                                  // B×3H: one step's h-side pre-activations
        var dq = Matrix<Real>()                                                  // B×H (Cho: dq_t)
        var dAx = Matrix<Real>(), dAh = Matrix<Real>()                           // B×3H: ∂L/∂(x-side, h-side pre-activations)
        var dW_x = Matrix<Real>(), dW_h = Matrix<Real>()                         // 3H×D, 3H×H, summed over steps
        var dbx = Matrix<Real>(), dbh = Matrix<Real>()                           // 1×3H each (only dbh's n block is b_nh's)
    }
    public func makeStepCache(batch B: Int) -> StepCache {
        StepCache(gates: Matrix(rows: B, cols: 3 * hiddenSize), m: Matrix(rows: B, cols: hiddenSize))
    }

    public let inputSize: Int, hiddenSize: Int       // D, H
    public let formulation: Formulation
    public var gateLayout: Gates { Gates(hidden: hiddenSize) }
    public var hQuantity: Quantity { .gruH }

    public init(inputSize: Int, hiddenSize: Int, formulation: Formulation = .pytorch) {
        (self.inputSize, self.hiddenSize, self.formulation) = (inputSize, hiddenSize, formulation)
    }

    /// Packs the named tensors into the fused W_x, W_h, bx (rows/columns per `Gates`) and b_nh.
    public func beginForward(_ p: Parameters, batch B: Int, _ ws: inout Workspace) {
        let (D, H, G) = (inputSize, hiddenSize, gateLayout)
        ensure(&ws.W_x, G.width, D); ensure(&ws.W_h, G.width, H)
        ensure(&ws.bx, 1, G.width); ensure(&ws.bh, 1, H); ensure(&ws.Ah, B, G.width)
        for (gate, W_x, W_h, b) in [(G.r, p.W_rx, p.W_rh, p.b_r), (G.z, p.W_zx, p.W_zh, p.b_z), (G.n, p.W_nx, p.W_nh, p.b_nx)] {
            copyBlock(W_x, into: &ws.W_x, at: (gate, 0))
            copyBlock(W_h, into: &ws.W_h, at: (gate, 0))
            copyBlock(b, into: &ws.bx, at: (0, gate))
        }
        ws.bh.copy(from: p.b_nh)
        ws.xSide.packForward(ws.W_x)
        switch formulation {
        case .pytorch:
            ws.W_hTPacked.pack(ws.W_h, k: H, n: G.width, transB: true)
        case .cho:
            ws.W_hTPacked.pack(ws.W_h, at: (G.r, 0), k: H, n: 2 * H, transB: true)
            ws.W_nhTPacked.pack(ws.W_h, at: (G.n, 0), k: H, n: H, transB: true)
        }
    }

    /// Step t: h_{t−1} and x_t → h_t. x B×D; states B×H; cache.gates B×3H, cache.m B×H.
    public func stepForward<P: CellProbe>(_ x: Matrix<Real>, _ prev: State, _ next: inout State, _ cache: inout StepCache,
                                          _ p: Parameters, _ ws: inout Workspace, t: Int, _ probe: P) {
        let (B, H, G) = (x.rows, hiddenSize, gateLayout)
        let (rQ, aNQ, nQ) = formulation == .pytorch ? (Quantity.gruR, Quantity.gruAn, Quantity.gruN) : (.gruRCho, .gruAnCho, .gruNCho)
        // the x-side pre-activations of r, z, n at once; the h-side ones of r, z (and PyTorch's h W_nhᵀ)
        ws.xSide.forward(x, into: &cache.gates)                                               // (gru.a)
        switch formulation {
        case .pytorch: gemm(prev.h, packed: ws.W_hTPacked, into: &ws.Ah)                      // (gru.a)
        case .cho: gemmBlock(m: B, prev.h, at: (0, 0), packed: ws.W_hTPacked, into: &ws.Ah, at: (0, G.r))  // (gru.a)
        }
        let (gates, Ah, bx, bh, hPrev) = (cache.gates.writableLanes(), ws.Ah.lanes, ws.bx.lanes, ws.bh.lanes, prev.h.lanes)
        forEachChunk(rows: B, cols: H) { k in
            gates[k, G.r] = gates[k, G.r] + (Ah[k, G.r] + bx[k.bias, G.r])                   // (gru.r)
            gates[k, G.z] = gates[k, G.z] + (Ah[k, G.z] + bx[k.bias, G.z])                   // (gru.z)
        }
        probe.forward(t, &cache.gates, width: H, (.gruAr, G.r), (.gruAz, G.z))
        cache.gates.applySigmoid(block: G.r, width: 2 * H)                                   // (gru.r) (gru.z): r and z are adjacent
        probe.forward(t, &cache.gates, width: H, (rQ, G.r), (.gruZ, G.z))
        let m = cache.m.writableLanes()
        switch formulation {
        case .pytorch:
            forEachChunk(rows: B, cols: H) { k in
                m[k] = probe.forward(.gruM, t, k, Ah[k, G.n] + bh[k.bias])                  // (gru.m)
                gates[k, G.n] = gates[k, G.n] + (bx[k.bias, G.n] + gates[k, G.r] * m[k])     // (gru.n)
            }
        case .cho:
            forEachChunk(rows: B, cols: H) { k in
                m[k] = gates[k, G.r] * hPrev[k]                                              // (gru.q)
            }
            probe.forward(.gruQ, t, &cache.m)
            gemmBlock(m: B, cache.m, at: (0, 0), packed: ws.W_nhTPacked, into: &ws.Ah, at: (0, G.n))   // (gru.n_cho)
            forEachChunk(rows: B, cols: H) { k in
                gates[k, G.n] = gates[k, G.n] + (bx[k.bias, G.n] + Ah[k, G.n] + bh[k.bias])  // (gru.n_cho)
            }
        }
        probe.forward(aNQ, t, &cache.gates, block: G.n, width: H)
        cache.gates.applyTanh(block: G.n, width: H)                                          // (gru.n) (gru.n_cho)
        probe.forward(nQ, t, &cache.gates, block: G.n, width: H)
        let h = next.h.writableLanes()
        forEachChunk(rows: B, cols: H) { k in
            let (z, n) = (gates[k, G.z], gates[k, G.n])
            h[k] = (1 - z) * n + z * hPrev[k]                                                // (gru.h)
        }
        probe.forward(.gruH, t, &next.h)
    }

    public func beginBackward(_ p: Parameters, batch B: Int, steps: Int, _ ws: inout Workspace) {
        let (D, H, G) = (inputSize, hiddenSize, gateLayout)
        ensure(&ws.dq, B, H); ensure(&ws.dAx, B, G.width); ensure(&ws.dAh, B, G.width)
        ensure(&ws.dW_x, G.width, D); ensure(&ws.dW_h, G.width, H); ensure(&ws.dbx, 1, G.width); ensure(&ws.dbh, 1, G.width)
        ws.dW_x.zero(); ws.dW_h.zero(); ws.dbx.zero(); ws.dbh.zero()
        switch formulation {
        case .pytorch:
            ws.W_hPacked.pack(ws.W_h, k: G.width, n: H)
        case .cho:
            ws.W_hPacked.pack(ws.W_h, at: (G.r, 0), k: 2 * H, n: H)
            ws.W_nhPacked.pack(ws.W_h, at: (G.n, 0), k: H, n: H)
        }
        ws.xSide.packBackward(ws.W_x)
    }

    /// Step t back: d.h = dh_t → dPrev.h = dh^next_{t−1}, dx = dx_t (B×D); the weight gradients
    /// are summed over steps in the workspace and added into `grads` by `endBackward`.
    public func stepBackward<P: CellProbe>(_ d: State, _ dPrev: inout State, _ dx: inout Matrix<Real>, inputGradient: Bool,
                                           _ x: Matrix<Real>, _ prev: State, _ next: State, _ cache: StepCache,
                                           _ p: Parameters, _ grads: inout Parameters, _ ws: inout Workspace, t: Int, _ probe: P) {
        let (B, H, G) = (x.rows, hiddenSize, gateLayout)
        let pytorch = formulation == .pytorch
        let (gates, m, dh, hPrev) = (cache.gates.lanes, cache.m.lanes, d.h.lanes, prev.h.lanes)
        let (dhPrev, dAx, dAh) = (dPrev.h.writableLanes(), ws.dAx.writableLanes(), ws.dAh.writableLanes())
        forEachChunk(rows: B, cols: H) { k in
            let (r, z, n) = (gates[k, G.r], gates[k, G.z], gates[k, G.n])
            let (dh, hPrev) = (dh[k], hPrev[k])
            // forward (gru.h): h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t−1}
            let dN = dh * (1 - z)                                                             // (gru.dn)
            var dZ = dh * (hPrev - n)                                                         // (gru.dz)
            if probe.breaks(.gruDzSignFlip) { dZ = dh * (n - hPrev) }                         // break: sides swapped
            dhPrev[k] = dh * z                                                                // (gru.dhprev) the direct path
            if probe.breaks(.gruDhZSwapped) { dhPrev[k] = dh * (1 - z) }                      // break: (1 − z) for z
            // forward (gru.n, gru.n_cho): n_t = tanh(a^n_t)
            var da_n = dN * (1 - n * n)                                                       // (gru.da_n)
            if probe.breaks(.gruDa_nNoTanhDerivative) { da_n = dN }                           // break: no tanh′
            // forward (gru.z): z_t = σ(a^z_t)
            let da_z = dZ * z * (1 - z)                                                       // (gru.da_z)
            dAx[k, G.z] = da_z; dAh[k, G.z] = da_z; dAx[k, G.n] = da_n
            if pytorch {
                // forward (gru.n): a^n_t = x_t W_nxᵀ + b_nx + r_t ⊙ m_t
                var dR = da_n * m[k]                                                          // (gru.dr)
                if probe.breaks(.gruDrChoForPyTorch) { dR = da_n * hPrev }                    // break: Cho's dr
                let dM = da_n * r                                                             // (gru.dm)
                // forward (gru.r): r_t = σ(a^r_t)
                let da_r = dR * r * (1 - r)                                                   // (gru.da_r)
                dAx[k, G.r] = da_r; dAh[k, G.r] = da_r; dAh[k, G.n] = dM
                probe.backward(t, k, (.gruN, dN), (.gruZ, dZ), (.gruAn, da_n), (.gruR, dR), (.gruM, dM))
                probe.backward(t, k, (.gruAr, da_r), (.gruAz, da_z))
            } else {
                dAh[k, G.n] = da_n
                probe.backward(t, k, (.gruNCho, dN), (.gruZ, dZ), (.gruAnCho, da_n), (.gruAz, da_z))
            }
        }
        switch formulation {
        case .pytorch:
            // forward (gru.r, gru.z, gru.m): the h-side products h_{t−1} W_hᵀ, all three blocks
            gemm(ws.dAh, transA: true, prev.h, into: &ws.dW_h, beta: 1)                       // (gru.dW_h)
            gemm(ws.dAh, packed: ws.W_hPacked, into: &dPrev.h, beta: 1)                       // (gru.dhprev)
        case .cho:
            resetBackwardCho(prev, &dPrev, cache, &ws, t: t, probe)
        }
        // forward (gru.r, gru.z, gru.n): the x-side products x_t W_xᵀ and the biases
        gemm(ws.dAx, transA: true, x, into: &ws.dW_x, beta: 1)                                // (gru.dW_x)
        ws.dAx.accumulateColumnSums(into: &ws.dbx)                                            // (gru.db)
        ws.dAh.accumulateColumnSums(into: &ws.dbh)                                            // (gru.db_nh)
        probe.backward(.gruDW_x, t, ws.dW_x); probe.backward(.gruDW_h, t, ws.dW_h)
        probe.backward(.gruDb, t, ws.dbx); probe.backward(.gruDb_nh, t, ws.dbh)
        if inputGradient { ws.xSide.backward(ws.dAx, into: &dx) }                             // (gru.dx)
    }

    /// Cho's form, from da^n_t (in the n block of dA^h) back through q_t = r_t ⊙ h_{t−1} to the
    /// reset gate: dq_t, dr_t, da^r_t, the rest of dh^next_{t−1}, and dW_nh, dW_rh, dW_zh.
    private func resetBackwardCho<P: CellProbe>(_ prev: State, _ dPrev: inout State, _ cache: StepCache,
                                                _ ws: inout Workspace, t: Int, _ probe: P) {
        let (B, H, G) = (prev.h.rows, hiddenSize, gateLayout)
        // forward (gru.n_cho): a^n_t = x_t W_nxᵀ + b_nx + q_t W_nhᵀ + b_nh
        gemmBlock(m: B, ws.dAh, at: (0, G.n), packed: ws.W_nhPacked, into: &ws.dq)            // (gru.dq)
        probe.backward(.gruQ, t, ws.dq)
        gemmBlock(m: H, n: H, k: B, ws.dAh, at: (0, G.n), transA: true, cache.m, at: (0, 0),
                  into: &ws.dW_h, at: (G.n, 0), beta: 1)                                      // (gru.dW_nh_cho)
        let (gates, dq, hPrev) = (cache.gates.lanes, ws.dq.lanes, prev.h.lanes)
        let (dhPrev, dAx, dAh) = (dPrev.h.writableLanes(), ws.dAx.writableLanes(), ws.dAh.writableLanes())
        forEachChunk(rows: B, cols: H) { k in
            let (r, dq) = (gates[k, G.r], dq[k])
            // forward (gru.q): q_t = r_t ⊙ h_{t−1}
            var dR = dq * hPrev[k]                                                            // (gru.dr_cho)
            if probe.breaks(.gruDrChoNoHPrev) { dR = dq }                                     // break: as if q = r
            dhPrev[k] = dhPrev[k] + dq * r                                                    // (gru.dhprev_cho)
            // forward (gru.r): r_t = σ(a^r_t)
            let da_r = dR * r * (1 - r)                                                       // (gru.da_r)
            dAx[k, G.r] = da_r; dAh[k, G.r] = da_r
            probe.backward(t, k, (.gruRCho, dR), (.gruAr, da_r))
        }
        // forward (gru.r, gru.z): the r and z blocks of h_{t−1} W_hᵀ
        gemmBlock(m: 2 * H, n: H, k: B, ws.dAh, at: (0, G.r), transA: true, prev.h, at: (0, 0),
                  into: &ws.dW_h, at: (G.r, 0), beta: 1)                                      // (gru.dW_h)
        gemmBlock(m: B, ws.dAh, at: (0, G.r), packed: ws.W_hPacked, into: &dPrev.h, beta: 1)  // (gru.dhprev)
    }

    /// Adds the fused gradient sums into the named tensors (each gate's block).
    public func endBackward<P: CellProbe>(_ xs: [Matrix<Real>], _ states: [State], _ grads: inout Parameters,
                                          _ ws: inout Workspace, _ probe: P) {
        let G = gateLayout
        func add(_ gate: Int, _ dW_x: inout Matrix<Real>, _ dW_h: inout Matrix<Real>, _ db: inout Matrix<Real>) {
            addBlock(from: ws.dW_x, at: (gate, 0), into: &dW_x)
            addBlock(from: ws.dW_h, at: (gate, 0), into: &dW_h)
            addBlock(from: ws.dbx, at: (0, gate), into: &db)
        }
        add(G.r, &grads.W_rx, &grads.W_rh, &grads.b_r)
        add(G.z, &grads.W_zx, &grads.W_zh, &grads.b_z)
        add(G.n, &grads.W_nx, &grads.W_nh, &grads.b_nx)
        addBlock(from: ws.dbh, at: (0, G.n), into: &grads.b_nh)
    }
}
