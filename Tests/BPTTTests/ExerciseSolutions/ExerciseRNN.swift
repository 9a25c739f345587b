// SOLUTION: Examples/Exercises/Sources/Exercises/ExerciseRNN.swift with every blank filled by the library's line.
// SOLUTION: ExerciseSolutionTests holds this file to the exercise line by line; edit both together.
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
            da[k] = dh[k] * (1 - h[k] * h[k])  // (rnn.da)
        }
        _ = (dh, h)
        probe.backward(.rnnA, t, ws.da)
        gemm(ws.da, transA: true, x, into: &grads.W_hx, beta: 1)  // (rnn.dW_hx)
        gemm(ws.da, transA: true, prev.h, into: &grads.W_hh, beta: 1)  // (rnn.dW_hh)
        ws.da.accumulateColumnSums(into: &grads.b_h)  // (rnn.db_h)
        if inputGradient { gemm(ws.da, p.W_hx, into: &dx) }  // (rnn.dx)
        gemm(ws.da, p.W_hh, into: &dPrev.h)  // (rnn.dhprev)
    }
}
