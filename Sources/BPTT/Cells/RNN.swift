/// Vanilla recurrent cell, derived in `derivations/rnn.md`: one step forward, one step back.
///
///     a_t = x_t W_hxᵀ + h_{t−1} W_hhᵀ + b_h        (rnn.a)
///     h_t = φ(a_t),  φ = tanh or ReLU               (rnn.h)
///
/// Shapes: x_t B×D, h_t B×H; W_hx H×D, W_hh H×H, b_h 1×H.
/// The time loop (forward over all steps, BPTT, masking, truncation) is `TimeLoop.swift`.
public struct RNN<Real: Scalar>: RecurrentCell {
    public enum Activation: String, Sendable { case tanh, relu }

    public struct Parameters: ParameterSet {
        public var W_hx: Matrix<Real>  // H × D
        public var W_hh: Matrix<Real>  // H × H
        public var b_h: Matrix<Real>   // 1 × H
        public mutating func forEachTensor(pairedWith other: Self?, _ body: (String, inout Matrix<Real>, Matrix<Real>?) -> Void) {
            body("W_hx", &W_hx, other?.W_hx); body("W_hh", &W_hh, other?.W_hh); body("b_h", &b_h, other?.b_h)
        }
    }

    public func initialParameters(_ initializer: Initializer, rng: inout RNG) -> Parameters {
        let (D, H) = (inputSize, hiddenSize)
        return Parameters(W_hx: draw(H, D, initializer, rng: &rng), W_hh: draw(H, H, initializer, rng: &rng),
                          b_h: draw(1, H, initializer, biasFanOut: 1, rng: &rng))
    }

    public typealias State = HiddenState<Real>
    /// Step t keeps nothing of its own: φ′(a_t) is read from h_t, which the time loop keeps.
    public struct StepCache {}

    /// Per sequence: the weights in the layouts the step products want, and one scratch buffer.
    public struct Workspace: EmptyWorkspace {
        public init() {}
        var xSide = InputWeight<Real>()                      // W_hx packed for x_t W_hxᵀ and da_t W_hx
        var W_hhTPacked = PackedB<Real>()                    // W_hhᵀ in GEMM panels: forward, every step
        var W_hhPacked = PackedB<Real>()                     // W_hh in GEMM panels: backward, every step
        var da = Matrix<Real>(rows: 0, cols: 0)              // da_t, B×H
        var steps = 0                                     // T of the backward pass
        var dhNext = Matrix<Real>(rows: 0, cols: 0)          // break rnn.da:dhnext-after-derivative only
    }
    public func makeStepCache(batch B: Int) -> StepCache { StepCache() }

    public let inputSize: Int, hiddenSize: Int       // D, H
    public let activation: Activation
    public var hQuantity: Quantity { .rnnH }

    public init(inputSize: Int, hiddenSize: Int, activation: Activation = .tanh) {
        (self.inputSize, self.hiddenSize, self.activation) = (inputSize, hiddenSize, activation)
    }

    public func beginForward(_ p: Parameters, batch B: Int, _ ws: inout Workspace) {
        ws.xSide.packForward(p.W_hx)
        ws.W_hhTPacked.pack(p.W_hh, k: hiddenSize, n: hiddenSize, transB: true)
    }

    /// Step t: h_t = φ(x_t W_hxᵀ + h_{t−1} W_hhᵀ + b_h). x B×D; prev.h, next.h B×H.
    public func stepForward<P: CellProbe>(_ x: Matrix<Real>, _ prev: State, _ next: inout State, _ cache: inout StepCache,
                                          _ p: Parameters, _ ws: inout Workspace, t: Int, _ probe: P) {
        // a_t, computed in place in h_t
        ws.xSide.forward(x, into: &next.h)                                // (rnn.a)
        gemm(prev.h, packed: ws.W_hhTPacked, into: &next.h, beta: 1)      // (rnn.a)
        next.h.addRowVector(p.b_h)                                        // (rnn.a)
        probe.forward(.rnnA, t, &next.h)
        switch activation {
        case .tanh: next.h.applyTanh()                                    // (rnn.h)
        case .relu: next.h.applyReLU()                                    // (rnn.h)
        }
        probe.forward(.rnnH, t, &next.h)
    }

    public func beginBackward(_ p: Parameters, batch B: Int, steps: Int, _ ws: inout Workspace) {
        ensure(&ws.da, B, hiddenSize)
        ws.W_hhPacked.pack(p.W_hh, k: hiddenSize, n: hiddenSize)
        ws.xSide.packBackward(p.W_hx)
        ws.steps = steps
    }

    /// Step t back: d.h = dh_t (B×H) → dPrev.h = dh^next_{t−1} (B×H), dx = dx_t (B×D);
    /// adds this step's terms into dW_hx, dW_hh, db_h.
    public func stepBackward<P: CellProbe>(_ d: State, _ dPrev: inout State, _ dx: inout Matrix<Real>, inputGradient: Bool,
                                           _ x: Matrix<Real>, _ prev: State, _ next: State, _ cache: StepCache,
                                           _ p: Parameters, _ grads: inout Parameters, _ ws: inout Workspace, t: Int, _ probe: P) {
        // forward (rnn.h): h_t = φ(a_t); φ′ read from h_t: tanh′ = 1 − h_t², ReLU′ = 1[h_t > 0]
        let (dh, h, da) = (d.h.lanes, next.h.lanes, ws.da.writableLanes())
        forEachChunk(rows: x.rows, cols: hiddenSize) { k in
            switch activation {
            case .tanh: da[k] = dh[k] * (1 - h[k] * h[k])                                 // (rnn.da)
            case .relu: da[k] = whereGreaterThanZero(h[k], dh[k])                         // (rnn.da)
            }
            if probe.breaks(.rnnDaTanhOfActivated) { let y = tanh(h[k]); da[k] = dh[k] * (1 - y * y) }   // break: tanh′ of tanh(h)
        }
        if probe.breaks(.rnnDaDhNextAfterDerivative) {   // break: da_t = (dh_t − dh^next_t) ⊙ φ′ + dh^next_t
            if t == ws.steps { ws.dhNext = Matrix(rows: x.rows, cols: hiddenSize) }
            for i in ws.da.data.indices {
                let y = next.h.data[i]
                let derivative: Real = activation == .tanh ? 1 - y * y : (y > 0 ? 1 : 0)
                ws.da.data[i] = (d.h.data[i] - ws.dhNext.data[i]) * derivative + ws.dhNext.data[i]
            }
        }
        probe.backward(.rnnA, t, ws.da)
        // forward (rnn.a): a_t = x_t W_hxᵀ + h_{t−1} W_hhᵀ + b_h
        gemm(ws.da, transA: true, x, into: &grads.W_hx, beta: 1)                          // (rnn.dW_hx)
        if !probe.breaks(.rnnDW_hhLastStepOnly) || t == ws.steps {                        // break: only t = T's term
            let beta: Real = probe.breaks(.rnnDW_hhOverwrite) ? 0 : 1                         // break: = for +=
            gemm(ws.da, transA: true, prev.h, into: &grads.W_hh, beta: beta)              // (rnn.dW_hh)
        }
        if probe.breaks(.rnnDb_hOneRow) {                                                  // break: row 1 of the batch only
            for j in 0..<hiddenSize { grads.b_h[0, j] += ws.da[0, j] }
        } else {
            ws.da.accumulateColumnSums(into: &grads.b_h)                                   // (rnn.db_h)
        }
        probe.backward(.rnnDW_hx, t, grads.W_hx); probe.backward(.rnnDW_hh, t, grads.W_hh); probe.backward(.rnnDb_h, t, grads.b_h)
        if inputGradient && probe.breaks(.rnnDxAccumulate) { dx.add(ws.xSide.backwardCopy(ws.da)) }   // break rnn.dx:accumulate
        else if inputGradient { ws.xSide.backward(ws.da, into: &dx) }                      // (rnn.dx)
        gemm(ws.da, packed: ws.W_hhPacked, into: &dPrev.h)                                 // (rnn.dhprev)
        if probe.breaks(.rnnDaDhNextAfterDerivative) { ws.dhNext.copy(from: dPrev.h) }      // break: kept for step t−1
    }
}
