/// Gated recurrent unit, derived in `derivations/gru.md`, in two formulations.
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
/// Shapes: x_t B×D; h_t and every gate B×H; W_⋆x H×D, W_⋆h H×H, biases 1×H.
/// The gates are fused as in the LSTM: packed W_x (3H×D), W_h (3H×H), rows and columns in the
/// order of `Gates` (r, z, n). `m_t` (PyTorch) or `q_t` (Cho) is saved per step in `Cache.m`.
public struct GRU<T: Scalar>: RecurrentCell {
    public enum Formulation: String, Sendable { case pytorch, cho }

    public struct Parameters: ParameterSet {
        public var W_rx: Matrix<T>, W_rh: Matrix<T>, b_r: Matrix<T>    // H×D, H×H, 1×H
        public var W_zx: Matrix<T>, W_zh: Matrix<T>, b_z: Matrix<T>
        public var W_nx: Matrix<T>, W_nh: Matrix<T>, b_nx: Matrix<T>, b_nh: Matrix<T>
        public mutating func forEachTensor(pairedWith other: Self?, _ body: (String, inout Matrix<T>, Matrix<T>?) -> Void) {
            body("W_rx", &W_rx, other?.W_rx); body("W_rh", &W_rh, other?.W_rh); body("b_r", &b_r, other?.b_r)
            body("W_zx", &W_zx, other?.W_zx); body("W_zh", &W_zh, other?.W_zh); body("b_z", &b_z, other?.b_z)
            body("W_nx", &W_nx, other?.W_nx); body("W_nh", &W_nh, other?.W_nh); body("b_nx", &b_nx, other?.b_nx); body("b_nh", &b_nh, other?.b_nh)
        }
    }

    /// Column block of each gate in the fused B×3H buffers (row block in the packed weights).
    public struct Gates: Sendable {
        public let r: Int, z: Int, n: Int
        public let width: Int
        init(hidden H: Int) { (r, z, n, width) = (0, H, 2 * H, 3 * H) }
    }

    public struct Cache: RecurrentCache {
        public internal(set) var xs: [Matrix<T>] = []      // x_t, B×D, index t−1
        public internal(set) var h: [Matrix<T>] = []       // h_t, B×H, index 0…T
        /// r_t, z_t, n_t side by side (B×3H, columns per `Gates`), index t−1.
        public internal(set) var gates: [Matrix<T>] = []
        /// m_t = h_{t−1} W_nhᵀ + b_nh (PyTorch) or q_t = r_t ⊙ h_{t−1} (Cho), B×H, index t−1.
        var m: [Matrix<T>] = []
        var Ah = Matrix<T>(rows: 0, cols: 0)                // B×3H: h-side pre-activations of one step
        var W_x = Matrix<T>(rows: 0, cols: 0)               // 3H×D
        var W_h = Matrix<T>(rows: 0, cols: 0)               // 3H×H
        var W_xT = Matrix<T>(rows: 0, cols: 0)              // D×3H
        // W_h in GEMM panels, packed once per call instead of at every step:
        var W_hTPacked = PackedB<T>()                       // forward: W_hᵀ (H×3H); Cho: its r, z columns (H×2H)
        var W_nhTPacked = PackedB<T>()                      // forward, Cho: W_nhᵀ (H×H)
        var W_hPacked = PackedB<T>()                        // backward: W_h (3H×H); Cho: its r, z rows (2H×H)
        var W_nhPacked = PackedB<T>()                       // backward, Cho: W_nh (H×H)
        var bx = Matrix<T>(rows: 0, cols: 0)                // 1×3H: b_r, b_z, b_nx
        var bh = Matrix<T>(rows: 0, cols: 0)                // 1×H: b_nh
        // backward workspace
        var dh = Matrix<T>(rows: 0, cols: 0)                // B×H
        var dhNext = Matrix<T>(rows: 0, cols: 0)            // B×H
        var dhCarry = Matrix<T>(rows: 0, cols: 0)           // masking: finished rows of dh_t
        /// Sequence lengths of the last forward (nil: every row runs all T steps).
        public internal(set) var lengths: [Int]? = nil
        var dq = Matrix<T>(rows: 0, cols: 0)                // B×H (Cho: ∂L/∂q_t)
        var dAx = Matrix<T>(rows: 0, cols: 0)               // B×3H: ∂L/∂(x-side pre-activations)
        var dAh = Matrix<T>(rows: 0, cols: 0)               // B×3H: ∂L/∂(h-side pre-activations)
        var dW_x = Matrix<T>(rows: 0, cols: 0)              // 3H×D
        var dW_h = Matrix<T>(rows: 0, cols: 0)              // 3H×H
        var dbx = Matrix<T>(rows: 0, cols: 0)               // 1×3H
        var dbh = Matrix<T>(rows: 0, cols: 0)               // 1×3H (only the n block is b_nh's)
        public internal(set) var dxs: [Matrix<T>] = []
        public var recordGradientNorms = false
        public internal(set) var dhNorms: [Double] = []
        /// A probe for `bptt explain` and `gradcheck --locate` (nil: none, the training path).
        public var tracer: Tracer? = nil
        public init() {}
        public var dh0: Matrix<T> { dhNext }
        public var dc0: Matrix<T>? { nil }
        public var length: Int { xs.count }
        public mutating func releaseInputs() { xs = [] }
    }

    public let inputSize: Int
    public let hiddenSize: Int
    public let formulation: Formulation
    public var hasCellState: Bool { false }
    public var gateLayout: Gates { Gates(hidden: hiddenSize) }

    public init(inputSize: Int, hiddenSize: Int, formulation: Formulation = .pytorch) {
        self.inputSize = inputSize
        self.hiddenSize = hiddenSize
        self.formulation = formulation
    }

    public func initialParameters(_ initializer: Initializer, rng: inout RNG) -> Parameters {
        let (D, H) = (inputSize, hiddenSize)
        func w(_ r: Int, _ c: Int) -> Matrix<T> {
            .initialized(r, c, initializer, fanIn: r == 1 ? H : c, fanOut: r == 1 ? H : r, pytorchFan: H, rng: &rng)
        }
        return Parameters(W_rx: w(H, D), W_rh: w(H, H), b_r: w(1, H),
                          W_zx: w(H, D), W_zh: w(H, H), b_z: w(1, H),
                          W_nx: w(H, D), W_nh: w(H, H), b_nx: w(1, H), b_nh: w(1, H))
    }

    private func pack(_ p: Parameters, into cache: inout Cache) {
        let (D, H, G) = (inputSize, hiddenSize, gateLayout)
        if cache.W_h.rows != G.width || cache.W_x.cols != D {
            cache.W_x = Matrix(rows: G.width, cols: D); cache.W_h = Matrix(rows: G.width, cols: H)
            cache.W_xT = Matrix(rows: D, cols: G.width)
            cache.bx = Matrix(rows: 1, cols: G.width); cache.bh = Matrix(rows: 1, cols: H)
        }
        for (gate, wx, wh, b) in [(G.r, p.W_rx, p.W_rh, p.b_r), (G.z, p.W_zx, p.W_zh, p.b_z), (G.n, p.W_nx, p.W_nh, p.b_nx)] {
            copyBlock(wx, into: &cache.W_x, at: (gate, 0))
            copyBlock(wh, into: &cache.W_h, at: (gate, 0))
            copyBlock(b, into: &cache.bx, at: (0, gate))
        }
        cache.bh.copy(from: p.b_nh)
        transpose(cache.W_x, into: &cache.W_xT)
        switch formulation {
        case .pytorch:
            cache.W_hTPacked.pack(cache.W_h, k: H, n: G.width, transB: true)
        case .cho:
            cache.W_hTPacked.pack(cache.W_h, at: (G.r, 0), k: H, n: 2 * H, transB: true)
            cache.W_nhTPacked.pack(cache.W_h, at: (G.n, 0), k: H, n: H, transB: true)
        }
    }

    public func forward(_ xs: [Matrix<T>], h0: Matrix<T>?, c0: Matrix<T>? = nil, _ p: Parameters, lengths: [Int]?, cache: inout Cache) {
        if let tracer = cache.tracer { forward(xs, h0: h0, p, lengths: lengths, cache: &cache, probe: tracer) }
        else { forward(xs, h0: h0, p, lengths: lengths, cache: &cache, probe: NoProbe()) }
    }

    private func forward<P: CellProbe>(_ xs: [Matrix<T>], h0: Matrix<T>?, _ p: Parameters, lengths: [Int]?, cache: inout Cache, probe: P) {
        precondition(!xs.isEmpty, "GRU.forward: empty sequence")
        let (B, H, G) = (xs[0].rows, hiddenSize, gateLayout)
        precondition(xs[0].cols == inputSize, "GRU.forward: input width \(xs[0].cols), expected \(inputSize)")
        checkLengths(lengths, rows: B, steps: xs.count, "GRU.forward")
        cache.xs = xs
        cache.lengths = lengths
        resize(&cache.h, count: xs.count + 1, rows: B, cols: H)
        resize(&cache.gates, count: xs.count, rows: B, cols: G.width)
        resize(&cache.m, count: xs.count, rows: B, cols: H)
        ensure(&cache.Ah, B, G.width)
        if let h0 {
            precondition(h0.rows == B && h0.cols == H, "GRU.forward: h0 must be \(B)x\(H)")
            cache.h[0].copy(from: h0)
        } else {
            cache.h[0].zero()
        }
        pack(p, into: &cache)
        for t in 1...xs.count {
            // x-side pre-activations of r, z, n at once, into the gate buffer
            gemm(xs[t - 1], cache.W_xT, into: &cache.gates[t - 1])                        // (gru.a)
            let hPrev = cache.h[t - 1]
            switch formulation {
            case .pytorch:
                // h-side pre-activations of r, z and the candidate's h W_nhᵀ, at once
                gemm(hPrev, packed: cache.W_hTPacked, into: &cache.Ah)                    // (gru.a)
                stepPyTorch(gates: &cache.gates[t - 1], Ah: cache.Ah, bx: cache.bx, bh: cache.bh,
                            hPrev: hPrev, m: &cache.m[t - 1], h: &cache.h[t], t: t, probe)
            case .cho:
                // h-side pre-activations of r and z only: the candidate needs r first
                gemmBlock(m: B, hPrev, at: (0, 0), packed: cache.W_hTPacked, into: &cache.Ah, at: (0, G.r))   // (gru.a)
                resetCho(gates: &cache.gates[t - 1], Ah: cache.Ah, bx: cache.bx, hPrev: hPrev, q: &cache.m[t - 1], t: t, probe)
                // (gru.n_cho): q_t W_nhᵀ into the n block of Ah
                gemmBlock(m: B, cache.m[t - 1], at: (0, 0), packed: cache.W_nhTPacked, into: &cache.Ah, at: (0, G.n))   // (gru.n_cho)
                candidateCho(gates: &cache.gates[t - 1], Ah: cache.Ah, bx: cache.bx, bh: cache.bh, hPrev: hPrev, h: &cache.h[t], t: t, probe)
            }
            if let lengths { holdFinishedRows(lengths, step: t, previous: cache.h[t - 1], into: &cache.h[t]) }  // (masking.h)
        }
    }

    @inline(__always)
    private func stepPyTorch<P: CellProbe>(gates: inout Matrix<T>, Ah: Matrix<T>, bx: Matrix<T>, bh: Matrix<T>,
                                           hPrev: Matrix<T>, m: inout Matrix<T>, h: inout Matrix<T>, t: Int, _ probe: P) {
        let (B, H, G) = (gates.rows, hiddenSize, gateLayout)
        gates.data.withUnsafeMutableBufferPointer { A in
        Ah.data.withUnsafeBufferPointer { Ah in
        bx.data.withUnsafeBufferPointer { bx in
        bh.data.withUnsafeBufferPointer { bh in
        hPrev.data.withUnsafeBufferPointer { hPrev in
        m.data.withUnsafeMutableBufferPointer { m in
        h.data.withUnsafeMutableBufferPointer { h in
            let b = bx.baseAddress!, b_nh = bh.baseAddress!
            let (b_r, b_z, b_nx) = (b + G.r, b + G.z, b + G.n)
            for row in 0..<B {
                let base = row * G.width
                let a = A.baseAddress! + base, ah = Ah.baseAddress! + base
                let (r, z, n) = (a + G.r, a + G.z, a + G.n)
                let (ah_r, ah_z, ah_n) = (ah + G.r, ah + G.z, ah + G.n)
                let hp = hPrev.baseAddress! + row * H, mr = m.baseAddress! + row * H, hr = h.baseAddress! + row * H
                for j in 0..<H {
                    r[j] += ah_r[j] + b_r[j]                                // (gru.r)
                    z[j] += ah_z[j] + b_z[j]                                // (gru.z)
                }
                probe.forward(t, row: row, count: H, (.gruAr, r), (.gruAz, z))                                 // (gru.r) (gru.z)
                // r and z are adjacent: one vectorised sigmoid over both
                T.sigmoid(inPlace: UnsafeMutableBufferPointer(rebasing: A[(base + G.r)..<(base + G.z + H)]))  // (gru.r) (gru.z)
                probe.forward(t, row: row, count: H, (.gruR, r), (.gruZ, z))                                   // (gru.r) (gru.z)
                for j in 0..<H {
                    mr[j] = ah_n[j] + b_nh[j]                               // (gru.m)
                    mr[j] = probe.forward(.gruM, t, row: row, col: j, mr[j])   // (gru.m)
                    n[j] += b_nx[j] + r[j] * mr[j]                          // (gru.n)
                }
                probe.forward(.gruAn, t, row: row, n, count: H)                                                // (gru.n)
                T.tanh(inPlace: UnsafeMutableBufferPointer(rebasing: A[(base + G.n)..<(base + G.n + H)]))     // (gru.n)
                probe.forward(.gruN, t, row: row, n, count: H)                                                 // (gru.n)
                for j in 0..<H {
                    hr[j] = (1 - z[j]) * n[j] + z[j] * hp[j]                // (gru.h)
                }
                probe.forward(.gruH, t, row: row, hr, count: H)                                                // (gru.h)
            }
        }}}}}}}
    }

    /// Cho: r_t, z_t, then q_t = r_t ⊙ h_{t−1}.
    @inline(__always)
    private func resetCho<P: CellProbe>(gates: inout Matrix<T>, Ah: Matrix<T>, bx: Matrix<T>, hPrev: Matrix<T>, q: inout Matrix<T>,
                                        t: Int, _ probe: P) {
        let (B, H, G) = (gates.rows, hiddenSize, gateLayout)
        gates.data.withUnsafeMutableBufferPointer { A in
        Ah.data.withUnsafeBufferPointer { Ah in
        bx.data.withUnsafeBufferPointer { bx in
        hPrev.data.withUnsafeBufferPointer { hPrev in
        q.data.withUnsafeMutableBufferPointer { q in
            let b = bx.baseAddress!
            let (b_r, b_z) = (b + G.r, b + G.z)
            for row in 0..<B {
                let a = A.baseAddress! + row * G.width, ah = Ah.baseAddress! + row * G.width
                let (r, z) = (a + G.r, a + G.z)
                let (ah_r, ah_z) = (ah + G.r, ah + G.z)
                let hp = hPrev.baseAddress! + row * H, qr = q.baseAddress! + row * H
                for j in 0..<H {
                    r[j] += ah_r[j] + b_r[j]                                // (gru.r)
                    z[j] += ah_z[j] + b_z[j]                                // (gru.z)
                }
                let base = row * G.width
                probe.forward(t, row: row, count: H, (.gruAr, r), (.gruAz, z))                                 // (gru.r) (gru.z)
                T.sigmoid(inPlace: UnsafeMutableBufferPointer(rebasing: A[(base + G.r)..<(base + G.z + H)]))  // (gru.r) (gru.z)
                probe.forward(t, row: row, count: H, (.gruRCho, r), (.gruZ, z))                                // (gru.r) (gru.z)
                for j in 0..<H {
                    qr[j] = r[j] * hp[j]                                    // (gru.q)
                }
                probe.forward(.gruQ, t, row: row, qr, count: H)                                                // (gru.q)
            }
        }}}}}
    }

    /// Cho: n_t and h_t, once q_t W_nhᵀ is in the n block of Ah.
    @inline(__always)
    private func candidateCho<P: CellProbe>(gates: inout Matrix<T>, Ah: Matrix<T>, bx: Matrix<T>, bh: Matrix<T>,
                                            hPrev: Matrix<T>, h: inout Matrix<T>, t: Int, _ probe: P) {
        let (B, H, G) = (gates.rows, hiddenSize, gateLayout)
        gates.data.withUnsafeMutableBufferPointer { A in
        Ah.data.withUnsafeBufferPointer { Ah in
        bx.data.withUnsafeBufferPointer { bx in
        bh.data.withUnsafeBufferPointer { bh in
        hPrev.data.withUnsafeBufferPointer { hPrev in
        h.data.withUnsafeMutableBufferPointer { h in
            let b_nx = bx.baseAddress! + G.n, b_nh = bh.baseAddress!
            for row in 0..<B {
                let a = A.baseAddress! + row * G.width, ah_n = Ah.baseAddress! + row * G.width + G.n
                let (z, n) = (a + G.z, a + G.n)
                let hp = hPrev.baseAddress! + row * H, hr = h.baseAddress! + row * H
                for j in 0..<H {
                    n[j] += b_nx[j] + ah_n[j] + b_nh[j]                      // (gru.n_cho)
                }
                let base = row * G.width
                probe.forward(.gruAnCho, t, row: row, n, count: H)                                             // (gru.n_cho)
                T.tanh(inPlace: UnsafeMutableBufferPointer(rebasing: A[(base + G.n)..<(base + G.n + H)]))     // (gru.n_cho)
                probe.forward(.gruNCho, t, row: row, n, count: H)                                              // (gru.n_cho)
                for j in 0..<H {
                    hr[j] = (1 - z[j]) * n[j] + z[j] * hp[j]                // (gru.h)
                }
                probe.forward(.gruH, t, row: row, hr, count: H)                                                // (gru.h)
            }
        }}}}}}
    }

    public func backward(_ dhs: [Matrix<T>?], _ p: Parameters, cache: inout Cache, grads: inout Parameters,
                         inputGradients: Bool = false, truncation k: Int = 0) {
        if let tracer = cache.tracer {
            backward(dhs, p, cache: &cache, grads: &grads, inputGradients: inputGradients, truncation: k, probe: tracer)
        } else {
            backward(dhs, p, cache: &cache, grads: &grads, inputGradients: inputGradients, truncation: k, probe: NoProbe())
        }
    }

    private func backward<P: CellProbe>(_ dhs: [Matrix<T>?], _ p: Parameters, cache: inout Cache, grads: inout Parameters,
                                        inputGradients: Bool, truncation k: Int, probe: P) {
        let T_ = cache.length
        precondition(dhs.count == T_, "GRU.backward: \(dhs.count) upstream gradients for \(T_) steps")
        let (B, D, H, G) = (cache.h[0].rows, inputSize, hiddenSize, gateLayout)
        ensure(&cache.dh, B, H); ensure(&cache.dhNext, B, H); ensure(&cache.dq, B, H)
        ensure(&cache.dAx, B, G.width); ensure(&cache.dAh, B, G.width)
        ensure(&cache.dW_x, G.width, D); ensure(&cache.dW_h, G.width, H)
        ensure(&cache.dbx, 1, G.width); ensure(&cache.dbh, 1, G.width)
        cache.dhNext.zero(); cache.dW_x.zero(); cache.dW_h.zero(); cache.dbx.zero(); cache.dbh.zero()
        switch formulation {
        case .pytorch:
            cache.W_hPacked.pack(cache.W_h, k: G.width, n: H)
        case .cho:
            cache.W_hPacked.pack(cache.W_h, at: (G.r, 0), k: 2 * H, n: H)
            cache.W_nhPacked.pack(cache.W_h, at: (G.n, 0), k: H, n: H)
        }
        let lengths = cache.lengths
        if lengths != nil { ensure(&cache.dhCarry, B, H) }
        if inputGradients { resize(&cache.dxs, count: T_, rows: B, cols: D) }
        if cache.recordGradientNorms { cache.dhNorms = [Double](repeating: 0, count: T_) }
        for t in stride(from: T_, through: 1, by: -1) {
            // (gru.dh)  dh_t = ∂L/∂h_t (from above) + dhNext (from step t+1)
            cache.dh.copy(from: cache.dhNext)                                   // (gru.dh)
            if let up = dhs[t - 1] { cache.dh.add(up) }                         // (gru.dh)
            probe.backward(.gruH, t, cache.dh)                                  // (gru.dh)
            if cache.recordGradientNorms { cache.dhNorms[t - 1] = frobeniusNorm(cache.dh) }
            // forward (masking.h): h_t = m_t ⊙ h̃_t + (1 − m_t) ⊙ h_{t−1}
            if let lengths { divertFinishedRows(lengths, step: t, from: &cache.dh, into: &cache.dhCarry) }  // (masking.dcell)
            let hPrev = cache.h[t - 1], gates = cache.gates[t - 1], m = cache.m[t - 1]
            switch formulation {
            case .pytorch:
                stepBackwardPyTorch(dh: cache.dh, gates: gates, m: m, hPrev: hPrev,
                                    dhPrev: &cache.dhNext, dAx: &cache.dAx, dAh: &cache.dAh, t: t, probe)
                // forward (gru.a): Ah = h_{t−1} W_hᵀ, all three blocks
                gemm(cache.dAh, transA: true, hPrev, into: &cache.dW_h, beta: 1)               // (gru.dW_h)
                gemm(cache.dAh, packed: cache.W_hPacked, into: &cache.dhNext, beta: 1)          // (gru.dhprev)
            case .cho:
                candidateBackwardCho(dh: cache.dh, gates: gates, hPrev: hPrev,
                                     dhPrev: &cache.dhNext, dAx: &cache.dAx, dAh: &cache.dAh, t: t, probe)
                // forward (gru.n_cho): q_t W_nhᵀ  ⇒  dq = da_n W_nh, dW_nh += da_nᵀ q_t
                gemmBlock(m: B, cache.dAh, at: (0, G.n), packed: cache.W_nhPacked, into: &cache.dq)    // (gru.dq)
                probe.backward(.gruQ, t, cache.dq)                                                                // (gru.dq)
                gemmBlock(m: H, n: H, k: B, cache.dAh, at: (0, G.n), transA: true, m, at: (0, 0),
                          into: &cache.dW_h, at: (G.n, 0), beta: 1)                                   // (gru.dW_nh_cho)
                resetBackwardCho(dq: cache.dq, gates: gates, hPrev: hPrev, dhPrev: &cache.dhNext,
                                 dAx: &cache.dAx, dAh: &cache.dAh, t: t, probe)
                // forward (gru.a): the r and z blocks of Ah = h_{t−1} W_hᵀ
                gemmBlock(m: 2 * H, n: H, k: B, cache.dAh, at: (0, G.r), transA: true, hPrev, at: (0, 0),
                          into: &cache.dW_h, at: (G.r, 0), beta: 1)                                   // (gru.dW_h)
                gemmBlock(m: B, cache.dAh, at: (0, G.r), packed: cache.W_hPacked,
                          into: &cache.dhNext, beta: 1)                                               // (gru.dhprev)
            }
            // forward (gru.a): Ax = x_t W_xᵀ, all three blocks; biases
            gemm(cache.dAx, transA: true, cache.xs[t - 1], into: &cache.dW_x, beta: 1)       // (gru.dW_x)
            cache.dAx.accumulateColumnSums(into: &cache.dbx)                                  // (gru.db)
            cache.dAh.accumulateColumnSums(into: &cache.dbh)                                  // (gru.db_nh)
            probe.backward(.gruDW_x, t, cache.dW_x); probe.backward(.gruDW_h, t, cache.dW_h)
            probe.backward(.gruDb, t, cache.dbx); probe.backward(.gruDb_nh, t, cache.dbh)
            if inputGradients { gemm(cache.dAx, cache.W_x, into: &cache.dxs[t - 1]) }        // (gru.dx)
            if let lengths { addFinishedRows(lengths, step: t, from: cache.dhCarry, into: &cache.dhNext) }  // (masking.dhold)
            if k > 0 && (T_ - t + 1) % k == 0 && t > 1 { cache.dhNext.zero() }              // (gru.truncate)
        }
        // Unpack the fused gradients into the named tensors (direct stored properties: a generic
        // key path would be built at run time on every call).
        func unpack(_ gate: Int, _ dW_x: inout Matrix<T>, _ dW_h: inout Matrix<T>, _ db: inout Matrix<T>) {
            addBlock(from: cache.dW_x, at: (gate, 0), into: &dW_x)
            addBlock(from: cache.dW_h, at: (gate, 0), into: &dW_h)
            addBlock(from: cache.dbx, at: (0, gate), into: &db)
        }
        unpack(G.r, &grads.W_rx, &grads.W_rh, &grads.b_r)
        unpack(G.z, &grads.W_zx, &grads.W_zh, &grads.b_z)
        unpack(G.n, &grads.W_nx, &grads.W_nh, &grads.b_nx)
        addBlock(from: cache.dbh, at: (0, G.n), into: &grads.b_nh)
    }

    /// PyTorch: from dh_t to the pre-activation gradients; writes dh_t ⊙ z_t into dhPrev
    /// (the direct path; the GEMM through W_h adds the rest).
    @inline(__always)
    private func stepBackwardPyTorch<P: CellProbe>(dh: Matrix<T>, gates: Matrix<T>, m: Matrix<T>, hPrev: Matrix<T>,
                                                   dhPrev: inout Matrix<T>, dAx: inout Matrix<T>, dAh: inout Matrix<T>, t: Int, _ probe: P) {
        let (B, H, G) = (gates.rows, hiddenSize, gateLayout)
        dh.data.withUnsafeBufferPointer { dh in
        gates.data.withUnsafeBufferPointer { A in
        m.data.withUnsafeBufferPointer { m in
        hPrev.data.withUnsafeBufferPointer { hPrev in
        dhPrev.data.withUnsafeMutableBufferPointer { dhPrev in
        dAx.data.withUnsafeMutableBufferPointer { dAx in
        dAh.data.withUnsafeMutableBufferPointer { dAh in
            for row in 0..<B {
                let a = A.baseAddress! + row * G.width
                let (r, z, n) = (a + G.r, a + G.z, a + G.n)
                let dx = dAx.baseAddress! + row * G.width, dhh = dAh.baseAddress! + row * G.width
                let (dax_r, dax_z, dax_n) = (dx + G.r, dx + G.z, dx + G.n)
                let (dah_r, dah_z, dah_n) = (dhh + G.r, dhh + G.z, dhh + G.n)
                let dhr = dh.baseAddress! + row * H, mr = m.baseAddress! + row * H
                let hp = hPrev.baseAddress! + row * H, dhp = dhPrev.baseAddress! + row * H
                for j in 0..<H {
                    // forward (gru.h): h = (1 − z) ⊙ n + z ⊙ h_prev
                    let dN = dhr[j] * (1 - z[j])                             // (gru.dn)
                    var dZ = dhr[j] * (hp[j] - n[j])                         // (gru.dz)
                    if probe.breaks(.gruDzSignFlip) { dZ = dhr[j] * (n[j] - hp[j]) }                 // break
                    dhp[j] = dhr[j] * z[j]                                   // (gru.dhprev)
                    // forward (gru.n): n = tanh(a_n),  a_n = x W_nxᵀ + b_nx + r ⊙ m
                    var da_n = dN * (1 - n[j] * n[j])                        // (gru.da_n)
                    if probe.breaks(.gruDa_nNoTanhDerivative) { da_n = dN }                          // break
                    var dR = da_n * mr[j]                                    // (gru.dr)
                    if probe.breaks(.gruDrChoForPyTorch) { dR = da_n * hp[j] }                       // break
                    let dM = da_n * r[j]                                     // (gru.dm)
                    // forward (gru.r), (gru.z): σ′ = s(1 − s)
                    let da_r = dR * r[j] * (1 - r[j])                        // (gru.da_r)
                    let da_z = dZ * z[j] * (1 - z[j])                        // (gru.da_z)
                    probe.backward(t, row: row, col: j, (.gruN, dN), (.gruZ, dZ), (.gruAn, da_n), (.gruR, dR), (.gruM, dM))  // (gru.dn) … (gru.dm)
                    probe.backward(t, row: row, col: j, (.gruAr, da_r), (.gruAz, da_z))                                      // (gru.da_r) (gru.da_z)
                    dax_r[j] = da_r; dax_z[j] = da_z; dax_n[j] = da_n
                    dah_r[j] = da_r; dah_z[j] = da_z; dah_n[j] = dM          // (gru.dm)
                }
            }
        }}}}}}}
    }

    /// Cho, first half: from dh_t to da_n and da_z; writes dh_t ⊙ z_t into dhPrev.
    @inline(__always)
    private func candidateBackwardCho<P: CellProbe>(dh: Matrix<T>, gates: Matrix<T>, hPrev: Matrix<T>,
                                                    dhPrev: inout Matrix<T>, dAx: inout Matrix<T>, dAh: inout Matrix<T>, t: Int, _ probe: P) {
        let (B, H, G) = (gates.rows, hiddenSize, gateLayout)
        dh.data.withUnsafeBufferPointer { dh in
        gates.data.withUnsafeBufferPointer { A in
        hPrev.data.withUnsafeBufferPointer { hPrev in
        dhPrev.data.withUnsafeMutableBufferPointer { dhPrev in
        dAx.data.withUnsafeMutableBufferPointer { dAx in
        dAh.data.withUnsafeMutableBufferPointer { dAh in
            for row in 0..<B {
                let a = A.baseAddress! + row * G.width
                let (z, n) = (a + G.z, a + G.n)
                let dx = dAx.baseAddress! + row * G.width, dhh = dAh.baseAddress! + row * G.width
                let (dax_z, dax_n) = (dx + G.z, dx + G.n)
                let (dah_z, dah_n) = (dhh + G.z, dhh + G.n)
                let dhr = dh.baseAddress! + row * H
                let hp = hPrev.baseAddress! + row * H, dhp = dhPrev.baseAddress! + row * H
                for j in 0..<H {
                    // forward (gru.h): h = (1 − z) ⊙ n + z ⊙ h_prev
                    let dN = dhr[j] * (1 - z[j])                             // (gru.dn)
                    var dZ = dhr[j] * (hp[j] - n[j])                         // (gru.dz)
                    if probe.breaks(.gruDzSignFlip) { dZ = dhr[j] * (n[j] - hp[j]) }                 // break
                    dhp[j] = dhr[j] * z[j]                                   // (gru.dhprev)
                    // forward (gru.n_cho): n = tanh(a_n), a_n = x W_nxᵀ + b_nx + q W_nhᵀ + b_nh
                    var da_n = dN * (1 - n[j] * n[j])                        // (gru.da_n)
                    if probe.breaks(.gruDa_nNoTanhDerivative) { da_n = dN }                          // break
                    let da_z = dZ * z[j] * (1 - z[j])                        // (gru.da_z)
                    probe.backward(t, row: row, col: j, (.gruNCho, dN), (.gruZ, dZ), (.gruAnCho, da_n), (.gruAz, da_z))  // (gru.dn) … (gru.da_z)
                    dax_z[j] = da_z; dax_n[j] = da_n
                    dah_z[j] = da_z; dah_n[j] = da_n
                }
            }
        }}}}}}
    }

    /// Cho, second half: from dq_t to da_r, and dq ⊙ r into dhPrev.
    @inline(__always)
    private func resetBackwardCho<P: CellProbe>(dq: Matrix<T>, gates: Matrix<T>, hPrev: Matrix<T>,
                                                dhPrev: inout Matrix<T>, dAx: inout Matrix<T>, dAh: inout Matrix<T>, t: Int, _ probe: P) {
        let (B, H, G) = (gates.rows, hiddenSize, gateLayout)
        dq.data.withUnsafeBufferPointer { dq in
        gates.data.withUnsafeBufferPointer { A in
        hPrev.data.withUnsafeBufferPointer { hPrev in
        dhPrev.data.withUnsafeMutableBufferPointer { dhPrev in
        dAx.data.withUnsafeMutableBufferPointer { dAx in
        dAh.data.withUnsafeMutableBufferPointer { dAh in
            for row in 0..<B {
                let r = A.baseAddress! + row * G.width + G.r
                let dax_r = dAx.baseAddress! + row * G.width + G.r, dah_r = dAh.baseAddress! + row * G.width + G.r
                let dqr = dq.baseAddress! + row * H
                let hp = hPrev.baseAddress! + row * H, dhp = dhPrev.baseAddress! + row * H
                for j in 0..<H {
                    // forward (gru.q): q = r ⊙ h_prev
                    var dR = dqr[j] * hp[j]                                  // (gru.dr_cho)
                    if probe.breaks(.gruDrChoNoHPrev) { dR = dqr[j] }                                // break
                    dhp[j] += dqr[j] * r[j]                                  // (gru.dhprev_cho)
                    let da_r = dR * r[j] * (1 - r[j])                        // (gru.da_r)
                    probe.backward(t, row: row, col: j, (.gruRCho, dR), (.gruAr, da_r))              // (gru.dr_cho) (gru.da_r)
                    dax_r[j] = da_r; dah_r[j] = da_r
                }
            }
        }}}}}}
    }
}
