/// Vanilla recurrent layer, derived in `derivations/rnn.md`.
///
///     a_t = x_t W_hxᵀ + h_{t−1} W_hhᵀ + b_h        (rnn.a)
///     h_t = φ(a_t),  φ = tanh or ReLU               (rnn.h)
///
/// Shapes: x_t B×D, h_t B×H, W_hx H×D, W_hh H×H, b_h 1×H.
/// `forward` runs all T steps and keeps what `backward` needs in a named cache;
/// `backward` walks the steps in reverse (BPTT), optionally truncated to k steps.
public struct RNN<T: Scalar> {
    public enum Activation: String, Sendable { case tanh, relu }

    public struct Parameters: ParameterSet {
        public var W_hx: Matrix<T>  // H × D
        public var W_hh: Matrix<T>  // H × H
        public var b_h: Matrix<T>   // 1 × H
        public mutating func forEachTensor(pairedWith other: Self?, _ body: (String, inout Matrix<T>, Matrix<T>?) -> Void) {
            body("W_hx", &W_hx, other?.W_hx); body("W_hh", &W_hh, other?.W_hh); body("b_h", &b_h, other?.b_h)
        }
    }

    /// What backward needs from forward, per step. `h[0]` is h0; `h[t]` is h_t for t = 1…T.
    /// The buffers are reused from call to call: no allocation while shapes stay the same.
    public struct Cache {
        public internal(set) var xs: [Matrix<T>] = []     // x_t, B×D (t = 1…T at index t−1)
        public internal(set) var h: [Matrix<T>] = []      // h_t, B×H, index 0…T
        var W_hhTPacked = PackedB<T>()                    // W_hhᵀ in GEMM panels: forward, every step
        var W_hhPacked = PackedB<T>()                     // W_hh in GEMM panels: backward, every step
        var W_hxT = Matrix<T>(rows: 0, cols: 0)           // W_hxᵀ
        // backward workspace
        var dh = Matrix<T>(rows: 0, cols: 0)
        var da = Matrix<T>(rows: 0, cols: 0)
        var dhNext = Matrix<T>(rows: 0, cols: 0)
        var dhCarry = Matrix<T>(rows: 0, cols: 0)         // masking: finished rows of dh_t
        /// Sequence lengths of the last forward (nil: every row runs all T steps).
        public internal(set) var lengths: [Int]? = nil
        /// ∂L/∂x_t after a backward call with `inputGradients: true` (B×D each).
        public internal(set) var dxs: [Matrix<T>] = []
        /// ‖∂L/∂h_t‖ per step, recorded by backward when `recordGradientNorms` is set.
        public var recordGradientNorms = false
        public internal(set) var dhNorms: [Double] = []
        /// A probe for `bptt explain` and `gradcheck --locate` (nil: none, the training path).
        public var tracer: Tracer? = nil
        public init() {}
        /// ∂L/∂h0 after a backward call (B×H).
        public var dh0: Matrix<T> { dhNext }
        public var length: Int { xs.count }
        public var hT: Matrix<T> { h[h.count - 1] }
    }

    public let inputSize: Int
    public let hiddenSize: Int
    public let activation: Activation

    public init(inputSize: Int, hiddenSize: Int, activation: Activation = .tanh) {
        self.inputSize = inputSize
        self.hiddenSize = hiddenSize
        self.activation = activation
    }

    public func initialParameters(_ initializer: Initializer, rng: inout RNG) -> Parameters {
        let (D, H) = (inputSize, hiddenSize)
        func w(_ r: Int, _ c: Int, fanIn: Int) -> Matrix<T> {
            .initialized(r, c, initializer, fanIn: fanIn, fanOut: r, pytorchFan: H, rng: &rng)
        }
        return Parameters(W_hx: w(H, D, fanIn: D), W_hh: w(H, H, fanIn: H), b_h: w(1, H, fanIn: H))
    }

    /// Runs h_t = φ(x_t W_hxᵀ + h_{t−1} W_hhᵀ + b_h) for t = 1…T.
    /// - xs: T inputs, each B×D.  h0: B×H initial state (nil: zeros).
    /// lengths: per-row sequence lengths (masking.h); nil: all rows run T steps.
    public func forward(_ xs: [Matrix<T>], h0: Matrix<T>?, _ p: Parameters, lengths: [Int]? = nil, cache: inout Cache) {
        if let tracer = cache.tracer { forward(xs, h0: h0, p, lengths: lengths, cache: &cache, probe: tracer) }
        else { forward(xs, h0: h0, p, lengths: lengths, cache: &cache, probe: NoProbe()) }
    }

    private func forward<P: CellProbe>(_ xs: [Matrix<T>], h0: Matrix<T>?, _ p: Parameters, lengths: [Int]?, cache: inout Cache, probe: P) {
        precondition(!xs.isEmpty, "RNN.forward: empty sequence")
        let (B, H) = (xs[0].rows, hiddenSize)
        precondition(xs[0].cols == inputSize, "RNN.forward: input width \(xs[0].cols), expected \(inputSize)")
        checkLengths(lengths, rows: B, steps: xs.count, "RNN.forward")
        cache.xs = xs
        cache.lengths = lengths
        resize(&cache.h, count: xs.count + 1, rows: B, cols: H)
        if let h0 {
            precondition(h0.rows == B && h0.cols == H, "RNN.forward: h0 must be \(B)x\(H)")
            cache.h[0].copy(from: h0)
        } else {
            cache.h[0].zero()
        }
        if cache.W_hxT.cols != H || cache.W_hxT.rows != inputSize { cache.W_hxT = Matrix(rows: inputSize, cols: H) }
        cache.W_hhTPacked.pack(p.W_hh, k: H, n: H, transB: true)
        transpose(p.W_hx, into: &cache.W_hxT)
        for t in 1...xs.count {
            // (rnn.a)  a_t = x_t W_hxᵀ + h_{t−1} W_hhᵀ + b_h   — computed in place in h[t]
            gemm(xs[t - 1], cache.W_hxT, into: &cache.h[t])                 // (rnn.a)
            gemm(cache.h[t - 1], packed: cache.W_hhTPacked, into: &cache.h[t], beta: 1)   // (rnn.a)
            cache.h[t].addRowVector(p.b_h)                                  // (rnn.a)
            probe.forward(.rnnA, t, &cache.h[t])                            // (rnn.a)
            applyActivation(&cache.h[t])                                    // (rnn.h)
            probe.forward(.rnnH, t, &cache.h[t])                            // (rnn.h)
            if let lengths { holdFinishedRows(lengths, step: t, previous: cache.h[t - 1], into: &cache.h[t]) }  // (masking.h)
        }
    }

    /// h = φ(a), in place.
    @inline(__always)
    private func applyActivation(_ m: inout Matrix<T>) {
        m.data.withUnsafeMutableBufferPointer { a in
            switch activation {
            case .tanh: T.tanh(inPlace: a)                                // (rnn.h)
            case .relu: for i in 0..<a.count { a[i] = max(a[i], 0) }     // (rnn.h)
            }
        }
    }

    /// Backpropagation through time.
    ///
    /// - dhs: ∂L/∂h_t from the layers above, one B×H matrix per step; `nil` for a step whose h_t
    ///   feeds no loss directly (many-to-one: only the last step is non-nil).
    /// - truncation: k > 0 stops the gradient from flowing through h_{t−1} at every step t with
    ///   (T − t + 1) a multiple of k (chunks of k steps aligned to the end of the sequence);
    ///   0 means full BPTT.
    /// - grads: accumulated into (`+=`), never overwritten.
    /// - inputGradients: also compute ∂L/∂x_t into `cache.dxs`.
    /// Afterwards `cache.dh0` holds ∂L/∂h0 (B×H).
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
        precondition(dhs.count == T_, "RNN.backward: \(dhs.count) upstream gradients for \(T_) steps")
        let (B, H) = (cache.h[0].rows, hiddenSize)
        ensure(&cache.dh, B, H); ensure(&cache.da, B, H); ensure(&cache.dhNext, B, H)
        cache.dhNext.zero()
        cache.W_hhPacked.pack(p.W_hh, k: H, n: H)
        let lengths = cache.lengths
        if lengths != nil { ensure(&cache.dhCarry, B, H) }
        if inputGradients { resize(&cache.dxs, count: T_, rows: B, cols: inputSize) }
        if cache.recordGradientNorms { cache.dhNorms = [Double](repeating: 0, count: T_) }
        for t in stride(from: T_, through: 1, by: -1) {
            // (rnn.dh)  dh_t = ∂L/∂h_t (from above) + dhNext (from step t+1)
            cache.dh.copy(from: cache.dhNext)                                  // (rnn.dh)
            if probe.breaks(.rnnDhNoDhNext) { cache.dh.zero() }                // break rnn.dh:no-dhnext
            if let up = dhs[t - 1] { cache.dh.add(up) }                        // (rnn.dh)
            probe.backward(.rnnH, t, cache.dh)                                 // (rnn.dh)
            if cache.recordGradientNorms { cache.dhNorms[t - 1] = cache.dh.sumOfSquares.squareRoot() }
            // forward (masking.h): h_t = m_t ⊙ φ(a_t) + (1 − m_t) ⊙ h_{t−1}
            if let lengths { divertFinishedRows(lengths, step: t, from: &cache.dh, into: &cache.dhCarry) }  // (masking.dcell)
            // forward (rnn.h): h_t = φ(a_t)
            activationBackward(dh: cache.dh, h: cache.h[t], into: &cache.da, probe)  // (rnn.da)
            probe.backward(.rnnA, t, cache.da)                                 // (rnn.da)
            // forward (rnn.a): a_t = x_t W_hxᵀ + h_{t−1} W_hhᵀ + b_h
            gemm(cache.da, transA: true, cache.xs[t - 1], into: &grads.W_hx, beta: 1)      // (rnn.dW_hx)
            if !probe.breaks(.rnnDW_hhLastStepOnly) || t == T_ {                           // break rnn.dW_hh:last-step-only
                let beta: T = probe.breaks(.rnnDW_hhOverwrite) ? 0 : 1                      // break rnn.dW_hh:overwrite
                gemm(cache.da, transA: true, cache.h[t - 1], into: &grads.W_hh, beta: beta) // (rnn.dW_hh)
            }
            cache.da.accumulateColumnSums(into: &grads.b_h)                                 // (rnn.db_h)
            probe.backward(.rnnDW_hx, t, grads.W_hx); probe.backward(.rnnDW_hh, t, grads.W_hh); probe.backward(.rnnDb_h, t, grads.b_h)
            if inputGradients { gemm(cache.da, p.W_hx, into: &cache.dxs[t - 1]) }          // (rnn.dx)
            gemm(cache.da, packed: cache.W_hhPacked, into: &cache.dhNext)                   // (rnn.dhprev)
            if let lengths { addFinishedRows(lengths, step: t, from: cache.dhCarry, into: &cache.dhNext) }  // (masking.dhold)
            if k > 0 && (T_ - t + 1) % k == 0 && t > 1 { cache.dhNext.zero() }             // (rnn.truncate)
        }
    }

    /// da = dh ⊙ φ′(a), with φ′ read from the saved output h:
    /// tanh′ = 1 − h², ReLU′ = 1[h > 0].
    @inline(__always)
    private func activationBackward<P: CellProbe>(dh: Matrix<T>, h: Matrix<T>, into da: inout Matrix<T>, _ probe: P) {
        dh.data.withUnsafeBufferPointer { dh in
            h.data.withUnsafeBufferPointer { h in
                da.data.withUnsafeMutableBufferPointer { da in
                    switch activation {
                    case .tanh: for i in 0..<da.count { da[i] = dh[i] * (1 - h[i] * h[i]) }   // (rnn.da)
                    case .relu: for i in 0..<da.count { da[i] = h[i] > 0 ? dh[i] : 0 }      // (rnn.da)
                    }
                    if probe.breaks(.rnnDaTanhOfActivated) { for i in 0..<da.count { let y = T.tanh(h[i]); da[i] = dh[i] * (1 - y * y) } }  // break
                }
            }
        }
    }
}

/// Makes `list` hold `count` matrices of the given shape, reallocating only on a shape change.
func resize<T>(_ list: inout [Matrix<T>], count: Int, rows: Int, cols: Int) {
    if list.count != count || list.first.map({ $0.rows != rows || $0.cols != cols }) == true {
        list = (0..<count).map { _ in Matrix(rows: rows, cols: cols) }
    }
}

func ensure<T>(_ m: inout Matrix<T>, _ rows: Int, _ cols: Int) {
    if m.rows != rows || m.cols != cols { m = Matrix(rows: rows, cols: cols) }
}
