/// One recurrent cell: **one time step** forward and **one time step** backward, as in the
/// one-step `LSTM` of Saito, *Deep Learning from Scratch 2* (`common/time_layers.py`). The time
/// loop is written once, in `TimeLoop.swift`: it owns the initial states, the forward loop over
/// t = 1…T, dh_t = (from above) + (from step t+1), the masking of finished rows, truncated BPTT,
/// the ‖dh_t‖ record and the choice of probe. A cell file holds only its equations.
///
/// Shapes, named once: B rows (the batch), D inputs, H hidden units; x_t is B×D and every part
/// of the state (h_t, and c_t for a cell with a memory cell) is B×H.
///
/// To write a cell of your own, give
/// - `Parameters`: its named tensors (`ParameterSet`);
/// - `State`: `HiddenState` (h) or `HiddenCellState` (h, c);
/// - `StepCache`: what step t's backward reads from step t's forward, as named fields;
/// - `stepForward`: x_t and the previous state → the new state, writing the step cache;
/// - `stepBackward`: the new state's gradient and the step cache → the previous state's
///   gradient and dx_t, adding (`+=`) into the parameter gradients.
/// The per-sequence hooks (`beginForward`, `beginBackward`, `endBackward`) are optional: they do
/// the work done once per sequence (packing weights, one weight-gradient product over all steps).
public protocol RecurrentCell {
    associatedtype Real: Scalar
    associatedtype Parameters: ParameterSet where Parameters.Real == Real
    /// The state carried from step to step, and (same type) its gradient.
    associatedtype State: RecurrentState where State.Real == Real
    /// Step t's cache: what its backward reads from its forward (named fields).
    associatedtype StepCache
    /// Buffers shared by the steps of one sequence (packed weights, scratch); reused across calls.
    associatedtype Workspace = Void

    var inputSize: Int { get }
    var hiddenSize: Int { get }
    func initialParameters(_ initializer: Initializer, rng: inout RNG) -> Parameters

    /// The quantity h_t is reported as (`bptt explain`, `gradcheck --locate`): the time loop
    /// reports dh_t under it. A cell of your own names it with `Quantity.define` and reports h_t
    /// forward under it too (`probe.forward(hQuantity, t, &next.h)`), so dh_t is checked per step.
    var hQuantity: Quantity { get }

    /// The tag of the equation that computes the gradient of parameter `name` (as its
    /// `forEachTensor` names it), or of "x" (dx_t), "h0" (dh_{t−1}) and "c0": what a check names
    /// when that gradient disagrees and no per-step adjoint does. nil (the default): the library's
    /// tables for its own cells, or the bare name.
    func gradientTag(_ name: String) -> String?

    /// An empty step cache for batches of B rows (allocated once; reused while B stays).
    func makeStepCache(batch B: Int) -> StepCache
    /// An empty workspace.
    func makeWorkspace() -> Workspace

    /// Once per forward pass, before step 1.
    func beginForward(_ p: Parameters, batch B: Int, _ ws: inout Workspace)
    /// Step t forward: x_t (B×D) and the state after step t−1 → the state after step t.
    func stepForward<P: CellProbe>(_ x: Matrix<Real>, _ prev: State, _ next: inout State, _ cache: inout StepCache,
                                   _ p: Parameters, _ ws: inout Workspace, t: Int, _ probe: P)

    /// Once per backward pass, before step T: `steps` steps of B rows.
    func beginBackward(_ p: Parameters, batch B: Int, steps: Int, _ ws: inout Workspace)
    /// Step t backward. `d`: ∂L/∂(state after step t): dh_t whole, dc^next_t carried from step
    /// t+1 (a cell with a memory cell adds its own term). Writes ∂L/∂(state after step t−1) as
    /// far as step t sees it into `dPrev` (every part overwritten), dx_t into `dx` when
    /// `inputGradient`, and adds (`+=`) into `grads` (or into the workspace, for `endBackward`).
    func stepBackward<P: CellProbe>(_ d: State, _ dPrev: inout State, _ dx: inout Matrix<Real>, inputGradient: Bool,
                                    _ x: Matrix<Real>, _ prev: State, _ next: State, _ cache: StepCache,
                                    _ p: Parameters, _ grads: inout Parameters, _ ws: inout Workspace, t: Int, _ probe: P)
    /// Once per backward pass, after step 1: xs and states are the forward's (states[0] = initial).
    func endBackward<P: CellProbe>(_ xs: [Matrix<Real>], _ states: [State], _ grads: inout Parameters, _ ws: inout Workspace, _ probe: P)
}

/// A workspace that starts empty (its buffers are sized by the first `beginForward`).
public protocol EmptyWorkspace { init() }

extension RecurrentCell where Workspace: EmptyWorkspace {
    public func makeWorkspace() -> Workspace { Workspace() }
}

extension RecurrentCell where Workspace == Void {
    public func makeWorkspace() {}
}

extension RecurrentCell {
    public func beginForward(_ p: Parameters, batch B: Int, _ ws: inout Workspace) {}
    public func beginBackward(_ p: Parameters, batch B: Int, steps: Int, _ ws: inout Workspace) {}
    public func endBackward<P: CellProbe>(_ xs: [Matrix<Real>], _ states: [State], _ grads: inout Parameters, _ ws: inout Workspace, _ probe: P) {}
    public func gradientTag(_ name: String) -> String? { nil }
    /// True when a memory cell c travels beside h (LSTM).
    public var hasCellState: Bool { State.hasMemory }

    /// One r×c tensor of this cell drawn by `initializer`: W_⋆x (H×D), W_⋆h (H×H) or a bias
    /// b_⋆ (1×H). PyTorch's rule draws every tensor of a recurrent cell from U(±1/√H); Xavier's
    /// takes fan-in c and fan-out r for a weight, and fan-in H and fan-out `biasFanOut` for a bias.
    public func draw(_ r: Int, _ c: Int, _ initializer: Initializer, biasFanOut: Int? = nil, rng: inout RNG) -> Matrix<Real> {
        let (H, bias) = (hiddenSize, r == 1)
        return .initialized(r, c, initializer, fanIn: bias ? H : c, fanOut: bias ? (biasFanOut ?? H) : r, pytorchFan: H, rng: &rng)
    }
}

/// The state a cell carries from step to step, and the shape of its gradient: h_t, or (h_t, c_t).
public protocol RecurrentState {
    associatedtype Real: Scalar
    /// B×H zeros in every part.
    init(batch B: Int, hidden H: Int)
    /// h_t (B×H): what the layers above read.
    var h: Matrix<Real> { get set }
    /// c_t for a cell with a memory cell; nil otherwise.
    var memory: Matrix<Real>? { get }
    static var hasMemory: Bool { get }
    /// Calls `body` on every part (h, then c).
    mutating func forEachPart(_ body: (inout Matrix<Real>) -> Void)
    /// Calls `body` on every part of self with the same part of `other`.
    mutating func forEachPart(with other: Self, _ body: (inout Matrix<Real>, Matrix<Real>) -> Void)
    /// Calls `body` on every part of self with the same part of `other`, both writable.
    mutating func forEachPart(alongside other: inout Self, _ body: (inout Matrix<Real>, inout Matrix<Real>) -> Void)
}

/// h_t alone (RNN, GRU).
public struct HiddenState<Real: Scalar>: RecurrentState {
    public var h: Matrix<Real>
    public init(batch B: Int, hidden H: Int) { h = Matrix(rows: B, cols: H) }
    public var memory: Matrix<Real>? { nil }
    public static var hasMemory: Bool { false }
    @inline(__always) public mutating func forEachPart(_ body: (inout Matrix<Real>) -> Void) { body(&h) }
    @inline(__always) public mutating func forEachPart(with other: Self, _ body: (inout Matrix<Real>, Matrix<Real>) -> Void) {
        body(&h, other.h)
    }
    @inline(__always) public mutating func forEachPart(alongside other: inout Self, _ body: (inout Matrix<Real>, inout Matrix<Real>) -> Void) {
        body(&h, &other.h)
    }
}

/// h_t and the memory cell c_t (LSTM).
public struct HiddenCellState<Real: Scalar>: RecurrentState {
    public var h: Matrix<Real>
    public var c: Matrix<Real>
    public init(batch B: Int, hidden H: Int) { h = Matrix(rows: B, cols: H); c = Matrix(rows: B, cols: H) }
    public var memory: Matrix<Real>? { c }
    public static var hasMemory: Bool { true }
    @inline(__always) public mutating func forEachPart(_ body: (inout Matrix<Real>) -> Void) { body(&h); body(&c) }
    @inline(__always) public mutating func forEachPart(with other: Self, _ body: (inout Matrix<Real>, Matrix<Real>) -> Void) {
        body(&h, other.h); body(&c, other.c)
    }
    @inline(__always) public mutating func forEachPart(alongside other: inout Self, _ body: (inout Matrix<Real>, inout Matrix<Real>) -> Void) {
        body(&h, &other.h); body(&c, &other.c)
    }
}
