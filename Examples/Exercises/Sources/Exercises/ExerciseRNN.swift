import BPTT

/// Exercise 1: the vanilla RNN's step backward (tanh), blanked. The library's `RNN` with its
/// backward lines taken out; every `TODO (tag)` names the line to write and restates the forward
/// line it undoes. `swift test --filter ExercisesTests.testRNN` names the first wrong one.
///
///     a_t = x_t W_hxᵀ + h_{t−1} W_hhᵀ + b_h        (rnn.a)
///     h_t = tanh(a_t)                               (rnn.h)
///
/// Shapes: x_t B×D, h_t B×H; W_hx H×D, W_hh H×H, b_h 1×H. Elementwise lines work on 8 lanes at
/// a time: `dh[k]` is a SIMD8 chunk of dh_t, and `*`, `+`, `-` act lane by lane.
public struct ExerciseRNN<Real: Scalar>: RecurrentCell {
    public struct Parameters: ParameterSet {
        public var W_hx: Matrix<Real>  // H × D
        public var W_hh: Matrix<Real>  // H × H
        public var b_h: Matrix<Real>   // 1 × H
        public mutating func forEachTensor(pairedWith other: Self?, _ body: (String, inout Matrix<Real>, Matrix<Real>?) -> Void) {
            body("W_hx", &W_hx, other?.W_hx); body("W_hh", &W_hh, other?.W_hh); body("b_h", &b_h, other?.b_h)
        }
    }
    public typealias State = HiddenState<Real>
    /// Step t keeps nothing of its own: tanh′(a_t) = 1 − h_t² is read from h_t.
    public struct StepCache {}
    public struct Workspace { var da = Matrix<Real>(rows: 0, cols: 0) }   // da_t, B×H

    public let inputSize: Int
    public let hiddenSize: Int
    public var hQuantity: Quantity { .rnnH }
    public init(inputSize: Int, hiddenSize: Int) { (self.inputSize, self.hiddenSize) = (inputSize, hiddenSize) }

    /// The line a wrong gradient is named by.
    public func gradientTag(_ name: String) -> String? {
        ["W_hx": "rnn.dW_hx", "W_hh": "rnn.dW_hh", "b_h": "rnn.db_h", "x": "rnn.dx", "h0": "rnn.dhprev"][name]
    }
    public func initialParameters(_ initializer: Initializer, rng: inout RNG) -> Parameters {
        let (D, H) = (inputSize, hiddenSize)
        func w(_ r: Int, _ c: Int, fanIn: Int) -> Matrix<Real> {
            .initialized(r, c, initializer, fanIn: fanIn, fanOut: r, pytorchFan: H, rng: &rng)
        }
        return Parameters(W_hx: w(H, D, fanIn: D), W_hh: w(H, H, fanIn: H), b_h: w(1, H, fanIn: H))
    }
    public func makeStepCache(batch B: Int) -> StepCache { StepCache() }
    public func makeWorkspace() -> Workspace { Workspace() }

    public func stepForward<P: CellProbe>(_ x: Matrix<Real>, _ prev: State, _ next: inout State, _ cache: inout StepCache,
                                          _ p: Parameters, _ ws: inout Workspace, t: Int, _ probe: P) {
        gemm(x, p.W_hx, transB: true, into: &next.h)                      // (rnn.a)
        gemm(prev.h, p.W_hh, transB: true, into: &next.h, beta: 1)        // (rnn.a)
        next.h.addRowVector(p.b_h)                                        // (rnn.a)
        probe.forward(.rnnA, t, &next.h)
        next.h.applyTanh()                                                // (rnn.h)
        probe.forward(.rnnH, t, &next.h)
    }

    public func beginBackward(_ p: Parameters, batch B: Int, steps: Int, _ ws: inout Workspace) {
        ws.da = .zeros(B, hiddenSize)
    }

    /// Step t back: d.h = dh_t (B×H) → dPrev.h = dh^next_{t−1} (B×H, overwrite), dx = dx_t
    /// (B×D, overwrite, when `inputGradient`); adds (+=) this step's terms into grads.
    public func stepBackward<P: CellProbe>(_ d: State, _ dPrev: inout State, _ dx: inout Matrix<Real>, inputGradient: Bool,
                                           _ x: Matrix<Real>, _ prev: State, _ next: State, _ cache: StepCache,
                                           _ p: Parameters, _ grads: inout Parameters, _ ws: inout Workspace, t: Int, _ probe: P) {
        let (dh, h, da) = (d.h.lanes, next.h.lanes, ws.da.writableLanes())
        forEachChunk(rows: x.rows, cols: hiddenSize) { k in
            da[k] = .zero  // TODO (rnn.da): da_t = dh_t ⊙ (1 − h_t²) — forward (rnn.h): h_t = tanh(a_t)
        }
        _ = (dh, h)
        probe.backward(.rnnA, t, ws.da)
        // TODO (rnn.dW_hx): dW_hx += da_tᵀ x_t — forward (rnn.a): a_t = x_t W_hxᵀ + h_{t−1} W_hhᵀ + b_h
        // TODO (rnn.dW_hh): dW_hh += da_tᵀ h_{t−1} — forward (rnn.a): a_t = x_t W_hxᵀ + h_{t−1} W_hhᵀ + b_h
        // TODO (rnn.db_h): db_h += Σ_b da_t (column sums) — forward (rnn.a): a_t = x_t W_hxᵀ + h_{t−1} W_hhᵀ + b_h
        if inputGradient { dx = .zeros(x.rows, inputSize) }  // TODO (rnn.dx): dx_t = da_t W_hx — forward (rnn.a): a_t = x_t W_hxᵀ + …
        dPrev.h = .zeros(x.rows, hiddenSize)  // TODO (rnn.dhprev): dh^next_{t−1} = da_t W_hh — forward (rnn.a): a_t = … + h_{t−1} W_hhᵀ + …
    }
}
