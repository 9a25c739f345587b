/// Long short-term memory layer, derived in `derivations/lstm.md` (seed 001/003's formulation).
///
///     g_t = tanh(x_t W_gxᵀ + h_{t−1} W_ghᵀ + b_g)     input modulation   (lstm.g)
///     i_t = σ(x_t W_ixᵀ + h_{t−1} W_ihᵀ + b_i)        input gate         (lstm.i)
///     f_t = σ(x_t W_fxᵀ + h_{t−1} W_fhᵀ + b_f)        forget gate        (lstm.f)
///     o_t = σ(x_t W_oxᵀ + h_{t−1} W_ohᵀ + b_o)        output gate        (lstm.o)
///     c_t = g_t ⊙ i_t + c_{t−1} ⊙ f_t                                    (lstm.c)
///     h_t = o_t ⊙ tanh(c_t)                                              (lstm.h)
///
/// Shapes: x_t B×D; h_t, c_t and every gate B×H; W_⋆x H×D, W_⋆h H×H, b_⋆ 1×H.
///
/// For speed the four gates are computed by one fused product (lstm.a): the weights are packed
/// once per call into W_x (4H×D) and W_h (4H×H), the gate rows stacked in the order of
/// `Gates` (i, f, g, o), and the pre-activations of step t land side by side in one B×4H
/// buffer. `Gates` names the column block of each gate; the math never uses a bare offset.
public struct LSTM<T: Scalar>: RecurrentCell {
    public struct Parameters: ParameterSet {
        public var W_gx: Matrix<T>, W_gh: Matrix<T>, b_g: Matrix<T>   // H×D, H×H, 1×H
        public var W_ix: Matrix<T>, W_ih: Matrix<T>, b_i: Matrix<T>
        public var W_fx: Matrix<T>, W_fh: Matrix<T>, b_f: Matrix<T>
        public var W_ox: Matrix<T>, W_oh: Matrix<T>, b_o: Matrix<T>
        public mutating func forEachTensor(pairedWith other: Self?, _ body: (String, inout Matrix<T>, Matrix<T>?) -> Void) {
            body("W_gx", &W_gx, other?.W_gx); body("W_gh", &W_gh, other?.W_gh); body("b_g", &b_g, other?.b_g)
            body("W_ix", &W_ix, other?.W_ix); body("W_ih", &W_ih, other?.W_ih); body("b_i", &b_i, other?.b_i)
            body("W_fx", &W_fx, other?.W_fx); body("W_fh", &W_fh, other?.W_fh); body("b_f", &b_f, other?.b_f)
            body("W_ox", &W_ox, other?.W_ox); body("W_oh", &W_oh, other?.W_oh); body("b_o", &b_o, other?.b_o)
        }
    }

    /// Where each gate lives in the fused buffers: its first column in a B×4H gate buffer, and
    /// its first row in the packed 4H×D / 4H×H weights. The three sigmoid gates are adjacent
    /// (i, f, o, then g), so one vectorised call per row activates all three.
    public struct Gates: Sendable {
        public let i: Int, f: Int, o: Int, g: Int
        public let width: Int
        /// The columns of the sigmoid gates i, f, o within a row.
        public var sigmoids: Range<Int> { i..<(o + (f - i)) }
        init(hidden H: Int) { (i, f, o, g, width) = (0, H, 2 * H, 3 * H, 4 * H) }
    }

    /// What backward needs from forward, per step, plus reusable workspaces.
    public struct Cache: RecurrentCache {
        public internal(set) var xs: [Matrix<T>] = []      // x_t, B×D (t = 1…T at index t−1)
        public internal(set) var h: [Matrix<T>] = []       // h_t, B×H, index 0…T
        public internal(set) var c: [Matrix<T>] = []       // c_t, B×H, index 0…T
        /// Gate activations i_t, f_t, g_t, o_t side by side (B×4H, columns per `Gates`), index t−1.
        public internal(set) var gates: [Matrix<T>] = []
        var tanhC: [Matrix<T>] = []                         // tanh(c_t), B×H, index t−1
        // packed weights (built once per forward)
        var W_x = Matrix<T>(rows: 0, cols: 0)               // 4H×D: W_ix; W_fx; W_ox; W_gx
        var W_h = Matrix<T>(rows: 0, cols: 0)               // 4H×H
        var W_xT = Matrix<T>(rows: 0, cols: 0)              // D×4H
        var W_hTPacked = PackedB<T>()                       // W_hᵀ (H×4H) in GEMM panels: forward, every step
        var W_hPacked = PackedB<T>()                        // W_h (4H×H) in GEMM panels: backward, every step
        var b = Matrix<T>(rows: 0, cols: 0)                 // 1×4H
        // backward workspace
        var dh = Matrix<T>(rows: 0, cols: 0)                // B×H
        var dhNext = Matrix<T>(rows: 0, cols: 0)            // B×H: ∂L/∂h_{t−1} through step t
        var dcNext = Matrix<T>(rows: 0, cols: 0)            // B×H: ∂L/∂c_{t−1} through step t
        var dhCarry = Matrix<T>(rows: 0, cols: 0)           // masking: finished rows of dh_t
        var dcCarry = Matrix<T>(rows: 0, cols: 0)           // masking: finished rows of dc_t
        /// Sequence lengths of the last forward (nil: every row runs all T steps).
        public internal(set) var lengths: [Int]? = nil
        /// dA_t for every step, stacked (T·B × 4H, step t at rows (t−1)·B…): the weight gradients
        /// Σ_t dA_tᵀ x_t and Σ_t dA_tᵀ h_{t−1} then take one GEMM each, with K = T·B.
        var dAs = Matrix<T>(rows: 0, cols: 0)
        var xAll = Matrix<T>(rows: 0, cols: 0)              // T·B × D: x_1 … x_T stacked
        var hPrevAll = Matrix<T>(rows: 0, cols: 0)          // T·B × H: h_0 … h_{T−1} stacked
        var dW_x = Matrix<T>(rows: 0, cols: 0)              // 4H×D, summed over steps
        var dW_h = Matrix<T>(rows: 0, cols: 0)              // 4H×H
        var db = Matrix<T>(rows: 0, cols: 0)                // 1×4H
        public internal(set) var dxs: [Matrix<T>] = []
        public var recordGradientNorms = false
        public internal(set) var dhNorms: [Double] = []
        /// A probe for `bptt explain` and `gradcheck --locate` (nil: none, the training path).
        public var tracer: Tracer? = nil
        public init() {}
        public var dh0: Matrix<T> { dhNext }
        public var dc0: Matrix<T>? { dcNext }
        public var length: Int { xs.count }
        public mutating func releaseInputs() { xs = [] }
    }

    public let inputSize: Int
    public let hiddenSize: Int
    /// Initialise b_f to 1 (Gers et al. 2000; Jozefowicz et al. 2015) instead of drawing it.
    public let forgetBiasOne: Bool
    public var hasCellState: Bool { true }
    public var gateLayout: Gates { Gates(hidden: hiddenSize) }

    public init(inputSize: Int, hiddenSize: Int, forgetBiasOne: Bool = false) {
        self.inputSize = inputSize
        self.hiddenSize = hiddenSize
        self.forgetBiasOne = forgetBiasOne
    }

    public func initialParameters(_ initializer: Initializer, rng: inout RNG) -> Parameters {
        let (D, H) = (inputSize, hiddenSize)
        // fan-in of a bias is taken as H (PyTorch draws every LSTM tensor from U(±1/√H)).
        func w(_ r: Int, _ c: Int) -> Matrix<T> {
            .initialized(r, c, initializer, fanIn: r == 1 ? H : c, fanOut: r == 1 ? H : r, pytorchFan: H, rng: &rng)
        }
        var p = Parameters(W_gx: w(H, D), W_gh: w(H, H), b_g: w(1, H),
                           W_ix: w(H, D), W_ih: w(H, H), b_i: w(1, H),
                           W_fx: w(H, D), W_fh: w(H, H), b_f: w(1, H),
                           W_ox: w(H, D), W_oh: w(H, H), b_o: w(1, H))
        if forgetBiasOne { p.b_f = Matrix(rows: 1, cols: H, repeating: 1) }
        return p
    }

    /// Packs the twelve named tensors into the fused W_x, W_h, b (rows/columns per `Gates`).
    private func pack(_ p: Parameters, into cache: inout Cache) {
        let (D, H, G) = (inputSize, hiddenSize, gateLayout)
        if cache.W_h.rows != G.width || cache.W_x.cols != D {
            cache.W_x = Matrix(rows: G.width, cols: D); cache.W_h = Matrix(rows: G.width, cols: H)
            cache.W_xT = Matrix(rows: D, cols: G.width)
            cache.b = Matrix(rows: 1, cols: G.width)
        }
        for (gate, wx, wh, b) in [(G.i, p.W_ix, p.W_ih, p.b_i), (G.f, p.W_fx, p.W_fh, p.b_f),
                                  (G.g, p.W_gx, p.W_gh, p.b_g), (G.o, p.W_ox, p.W_oh, p.b_o)] {
            copyBlock(wx, into: &cache.W_x, at: (gate, 0))
            copyBlock(wh, into: &cache.W_h, at: (gate, 0))
            copyBlock(b, into: &cache.b, at: (0, gate))
        }
        transpose(cache.W_x, into: &cache.W_xT)
        cache.W_hTPacked.pack(cache.W_h, k: H, n: G.width, transB: true)
    }

    public func forward(_ xs: [Matrix<T>], h0: Matrix<T>?, c0: Matrix<T>?, _ p: Parameters, lengths: [Int]?, cache: inout Cache) {
        if let tracer = cache.tracer { forward(xs, h0: h0, c0: c0, p, lengths: lengths, cache: &cache, probe: tracer) }
        else { forward(xs, h0: h0, c0: c0, p, lengths: lengths, cache: &cache, probe: NoProbe()) }
    }

    private func forward<P: CellProbe>(_ xs: [Matrix<T>], h0: Matrix<T>?, c0: Matrix<T>?, _ p: Parameters, lengths: [Int]?,
                                       cache: inout Cache, probe: P) {
        precondition(!xs.isEmpty, "LSTM.forward: empty sequence")
        let (B, H, G) = (xs[0].rows, hiddenSize, gateLayout)
        precondition(xs[0].cols == inputSize, "LSTM.forward: input width \(xs[0].cols), expected \(inputSize)")
        checkLengths(lengths, rows: B, steps: xs.count, "LSTM.forward")
        cache.xs = xs
        cache.lengths = lengths
        resize(&cache.h, count: xs.count + 1, rows: B, cols: H)
        resize(&cache.c, count: xs.count + 1, rows: B, cols: H)
        resize(&cache.gates, count: xs.count, rows: B, cols: G.width)
        resize(&cache.tanhC, count: xs.count, rows: B, cols: H)
        for (state, given) in [(0, h0), (1, c0)] {
            if let given { precondition(given.rows == B && given.cols == H, "LSTM.forward: initial state must be \(B)x\(H)") }
            if state == 0 { if let given { cache.h[0].copy(from: given) } else { cache.h[0].zero() } }
            else { if let given { cache.c[0].copy(from: given) } else { cache.c[0].zero() } }
        }
        pack(p, into: &cache)
        for t in 1...xs.count {
            // (lstm.a)  A_t = x_t W_xᵀ + h_{t−1} W_hᵀ (+ b, added in step): all four gates at once
            gemm(xs[t - 1], cache.W_xT, into: &cache.gates[t - 1])                   // (lstm.a)
            gemm(cache.h[t - 1], packed: cache.W_hTPacked, into: &cache.gates[t - 1], beta: 1)   // (lstm.a)
            let cPrev = cache.c[t - 1]
            step(gates: &cache.gates[t - 1], bias: cache.b, cPrev: cPrev,
                 c: &cache.c[t], tanhC: &cache.tanhC[t - 1], h: &cache.h[t], t: t, probe)
            if let lengths {
                holdFinishedRows(lengths, step: t, previous: cache.h[t - 1], into: &cache.h[t])   // (masking.h)
                holdFinishedRows(lengths, step: t, previous: cache.c[t - 1], into: &cache.c[t])   // (masking.c)
            }
        }
    }

    /// One step's elementwise part: gate activations in place, then c_t and h_t.
    @inline(__always)
    private func step<P: CellProbe>(gates: inout Matrix<T>, bias: Matrix<T>, cPrev: Matrix<T>,
                                    c: inout Matrix<T>, tanhC: inout Matrix<T>, h: inout Matrix<T>, t: Int, _ probe: P) {
        let (B, H, G) = (gates.rows, hiddenSize, gateLayout)
        gates.data.withUnsafeMutableBufferPointer { A in
        bias.data.withUnsafeBufferPointer { bias in
        cPrev.data.withUnsafeBufferPointer { cPrev in
        c.data.withUnsafeMutableBufferPointer { c in
        tanhC.data.withUnsafeMutableBufferPointer { tanhC in
        h.data.withUnsafeMutableBufferPointer { h in
            let width = G.width
            for row in 0..<B {
                let a = A.baseAddress! + row * width
                // bias, then the gate nonlinearities on whole row slices (8-wide SIMD for Float)
                for k in 0..<width { a[k] += bias[k] }                                                  // (lstm.a)
                probe.forward(t, row: row, count: H, (.lstmAi, a + G.i), (.lstmAf, a + G.f), (.lstmAg, a + G.g), (.lstmAo, a + G.o))  // (lstm.a)
                T.sigmoid(inPlace: UnsafeMutableBufferPointer(rebasing: A[(row * width + G.sigmoids.lowerBound)..<(row * width + G.sigmoids.upperBound)]))  // (lstm.i) (lstm.f) (lstm.o)
                T.tanh(inPlace: UnsafeMutableBufferPointer(rebasing: A[(row * width + G.g)..<(row * width + G.g + H)]))  // (lstm.g)
                let (i, f, g) = (a + G.i, a + G.f, a + G.g)
                probe.forward(t, row: row, count: H, (.lstmI, i), (.lstmF, f), (.lstmG, g), (.lstmO, a + G.o))  // (lstm.i) (lstm.f) (lstm.g) (lstm.o)
                let cp = cPrev.baseAddress! + row * H, cr = c.baseAddress! + row * H, th = tanhC.baseAddress! + row * H
                // 8 columns at a time; the last chunk of a row may be shorter (n lanes)
                @inline(__always) func columns(_ j: Int, _ n: Int) {
                    var cv = lanes8(g + j, n) * lanes8(i + j, n) + lanes8(cp + j, n) * lanes8(f + j, n)   // (lstm.c)
                    for l in 0..<n { cv[l] = probe.forward(.lstmC, t, row: row, col: j + l, cv[l]) }     // (lstm.c)
                    store8(cv, cr + j, n); store8(cv, th + j, n)
                }
                var j = 0
                while j + 8 <= H { columns(j, 8); j += 8 }
                if j < H { columns(j, H - j) }
            }
            T.tanh(inPlace: tanhC)                          // (lstm.h)
            for row in 0..<B {
                let o = A.baseAddress! + row * width + G.o
                let th = tanhC.baseAddress! + row * H, hr = h.baseAddress! + row * H
                for j in 0..<H { hr[j] = o[j] * th[j] }    // (lstm.h)
                probe.forward(.lstmH, t, row: row, hr, count: H)   // (lstm.h)
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
        precondition(dhs.count == T_, "LSTM.backward: \(dhs.count) upstream gradients for \(T_) steps")
        let (B, D, H, G) = (cache.h[0].rows, inputSize, hiddenSize, gateLayout)
        ensure(&cache.dh, B, H); ensure(&cache.dhNext, B, H); ensure(&cache.dcNext, B, H)
        ensure(&cache.dAs, T_ * B, G.width); ensure(&cache.xAll, T_ * B, D); ensure(&cache.hPrevAll, T_ * B, H)
        for t in 1...T_ {
            copyBlock(cache.xs[t - 1], into: &cache.xAll, at: ((t - 1) * B, 0))
            copyBlock(cache.h[t - 1], into: &cache.hPrevAll, at: ((t - 1) * B, 0))
        }
        ensure(&cache.dW_x, G.width, D); ensure(&cache.dW_h, G.width, H); ensure(&cache.db, 1, G.width)
        cache.dhNext.zero(); cache.dcNext.zero()
        cache.W_hPacked.pack(cache.W_h, k: G.width, n: H)
        let lengths = cache.lengths
        if lengths != nil { ensure(&cache.dhCarry, B, H); ensure(&cache.dcCarry, B, H) }
        cache.dW_x.zero(); cache.dW_h.zero(); cache.db.zero()
        if inputGradients { resize(&cache.dxs, count: T_, rows: B, cols: D) }
        if cache.recordGradientNorms { cache.dhNorms = [Double](repeating: 0, count: T_) }
        for t in stride(from: T_, through: 1, by: -1) {
            // (lstm.dh)  dh_t = ∂L/∂h_t (from above) + dhNext (from step t+1)
            cache.dh.copy(from: cache.dhNext)                                   // (lstm.dh)
            if let up = dhs[t - 1] { cache.dh.add(up) }                         // (lstm.dh)
            probe.backward(.lstmH, t, cache.dh)                                 // (lstm.dh)
            if cache.recordGradientNorms { cache.dhNorms[t - 1] = frobeniusNorm(cache.dh) }
            // forward (masking.h, masking.c): finished rows keep h_{t−1}, c_{t−1}
            if let lengths {
                divertFinishedRows(lengths, step: t, from: &cache.dh, into: &cache.dhCarry)       // (masking.dcell)
                divertFinishedRows(lengths, step: t, from: &cache.dcNext, into: &cache.dcCarry)   // (masking.dc)
            }
            let cPrev = probe.breaks(.lstmDfOffByOne) ? cache.c[t] : cache.c[t - 1]   // break lstm.df:off-by-one: c_t for c_{t−1}
            stepBackward(dh: cache.dh, gates: cache.gates[t - 1], tanhC: cache.tanhC[t - 1], cPrev: cPrev,
                         dcNext: &cache.dcNext, dAs: &cache.dAs, row0: (t - 1) * B, t: t, probe)
            // forward (lstm.a): A_t = x_t W_xᵀ + h_{t−1} W_hᵀ + b  (weight gradients after the loop)
            if inputGradients {
                gemmBlock(m: B, n: D, k: G.width, cache.dAs, at: ((t - 1) * B, 0), cache.W_x, at: (0, 0),
                          into: &cache.dxs[t - 1])                                                    // (lstm.dx)
            }
            gemmBlock(m: B, cache.dAs, at: ((t - 1) * B, 0), packed: cache.W_hPacked, into: &cache.dhNext)  // (lstm.dhprev)
            if let lengths {
                addFinishedRows(lengths, step: t, from: cache.dhCarry, into: &cache.dhNext)       // (masking.dhold)
                addFinishedRows(lengths, step: t, from: cache.dcCarry, into: &cache.dcNext)       // (masking.dc)
            }
            if k > 0 && (T_ - t + 1) % k == 0 && t > 1 { cache.dhNext.zero(); cache.dcNext.zero() }  // (lstm.truncate)
        }
        // Σ over t of the shared weights' gradients, as one product over the stacked steps
        gemm(cache.dAs, transA: true, cache.xAll, into: &cache.dW_x, beta: 1)             // (lstm.dW_x)
        gemm(cache.dAs, transA: true, cache.hPrevAll, into: &cache.dW_h, beta: 1)         // (lstm.dW_h)
        cache.dAs.accumulateColumnSums(into: &cache.db)                                    // (lstm.db)
        probe.backward(.lstmDW_x, 0, cache.dW_x); probe.backward(.lstmDW_h, 0, cache.dW_h); probe.backward(.lstmDb, 0, cache.db)
        // Unpack the fused gradients into the named tensors: dW_⋆x, dW_⋆h, db_⋆ are the gate's block.
        // (Direct stored properties, not key paths: a generic key path is built at run time on every call.)
        func unpack(_ gate: Int, _ dW_x: inout Matrix<T>, _ dW_h: inout Matrix<T>, _ db: inout Matrix<T>) {
            addBlock(from: cache.dW_x, at: (gate, 0), into: &dW_x)
            addBlock(from: cache.dW_h, at: (gate, 0), into: &dW_h)
            addBlock(from: cache.db, at: (0, gate), into: &db)
        }
        unpack(G.i, &grads.W_ix, &grads.W_ih, &grads.b_i)
        unpack(G.f, &grads.W_fx, &grads.W_fh, &grads.b_f)
        unpack(G.g, &grads.W_gx, &grads.W_gh, &grads.b_g)
        unpack(G.o, &grads.W_ox, &grads.W_oh, &grads.b_o)
    }

    /// One step's elementwise backward: from dh_t (and dc_t carried in `dcNext`) to the
    /// pre-activation gradients dA_t (rows row0… of the stacked dAs); leaves ∂L/∂c_{t−1} in `dcNext`.
    @inline(__always)
    private func stepBackward<P: CellProbe>(dh: Matrix<T>, gates: Matrix<T>, tanhC: Matrix<T>, cPrev: Matrix<T>,
                                            dcNext: inout Matrix<T>, dAs: inout Matrix<T>, row0: Int, t: Int, _ probe: P) {
        let (B, H, G) = (gates.rows, hiddenSize, gateLayout)
        dh.data.withUnsafeBufferPointer { dh in
        gates.data.withUnsafeBufferPointer { A in
        tanhC.data.withUnsafeBufferPointer { tanhC in
        cPrev.data.withUnsafeBufferPointer { cPrev in
        dcNext.data.withUnsafeMutableBufferPointer { dcNext in
        dAs.data.withUnsafeMutableBufferPointer { dA in
            for row in 0..<B {
                let a = A.baseAddress! + row * G.width, da = dA.baseAddress! + (row0 + row) * G.width
                let (i, f, g, o) = (a + G.i, a + G.f, a + G.g, a + G.o)
                let (da_i, da_f, da_g, da_o) = (da + G.i, da + G.f, da + G.g, da + G.o)
                let dhr = dh.baseAddress! + row * H, th = tanhC.baseAddress! + row * H
                let cp = cPrev.baseAddress! + row * H, dc = dcNext.baseAddress! + row * H
                // 8 columns at a time; the last chunk of a row may be shorter (n lanes)
                @inline(__always) func columns(_ j: Int, _ n: Int) {
                    let dh = lanes8(dhr + j, n), tc = lanes8(th + j, n), cPrev = lanes8(cp + j, n), dcNext = lanes8(dc + j, n)
                    let (iv, fv, gv, ov) = (lanes8(i + j, n), lanes8(f + j, n), lanes8(g + j, n), lanes8(o + j, n))
                    // forward (lstm.h): h = o ⊙ tanh(c)
                    let dO = dh * tc                                          // (lstm.do)
                    var dC = dcNext + dh * ov * (1 - tc * tc)                 // (lstm.dc)
                    if probe.breaks(.lstmDcNoCarry) { dC = dh * ov * (1 - tc * tc) }                                           // break
                    if probe.breaks(.lstmDcTanhOfActivated) {                                                                  // break
                        var y = tc
                        for l in 0..<8 { y[l] = T.tanh(tc[l]) }
                        dC = dcNext + dh * ov * (1 - y * y)
                    }
                    // forward (lstm.c): c = g ⊙ i + c_prev ⊙ f
                    let dI = dC * gv                                          // (lstm.di)
                    let dF = dC * cPrev                                       // (lstm.df)
                    let dG = dC * iv                                          // (lstm.dg)
                    store8(dC * fv, dc + j, n)                                // (lstm.dcprev)
                    // forward (lstm.i, lstm.f, lstm.g, lstm.o): σ′ = s(1 − s), tanh′ = 1 − g²
                    store8(dI * iv * (1 - iv), da_i + j, n)                   // (lstm.da_i)
                    store8(probe.breaks(.lstmDa_fNoSigmoidDerivative) ? dF : dF * fv * (1 - fv), da_f + j, n)  // (lstm.da_f) break: no σ′
                    store8(dG * (1 - gv * gv), da_g + j, n)                   // (lstm.da_g)
                    store8(dO * ov * (1 - ov), da_o + j, n)                   // (lstm.da_o)
                    for l in 0..<n {
                        probe.backward(t, row: row, col: j + l, (.lstmO, dO[l]), (.lstmC, dC[l]), (.lstmI, dI[l]), (.lstmF, dF[l]), (.lstmG, dG[l]))  // (lstm.do) … (lstm.dg)
                    }
                }
                var j = 0
                while j + 8 <= H { columns(j, 8); j += 8 }
                if j < H { columns(j, H - j) }
                probe.backward(t, row: row, count: H, (.lstmAi, da_i), (.lstmAf, da_f), (.lstmAg, da_g), (.lstmAo, da_o))  // (lstm.da_i) … (lstm.da_o)
            }
        }}}}}}
    }
}
