/// The time loop, written once for every cell (Saito's `TimeLSTM`/`TimeRNN` around a one-step
/// cell): forward over t = 1…T, then backpropagation through time over t = T…1.
///
/// It owns what is the same for every cell: the initial states, dh_t = (from above) + (from
/// step t+1), masking of finished rows (`derivations/masking.md`), truncated BPTT, the ‖dh_t‖
/// record of the gradient-flow experiment, and the choice of probe (a check's `Tracer`, or the
/// empty `NoProbe` of training, specialised away).

/// What the time loop keeps between a forward and its backward, and reuses from call to call
/// (no allocation while the shapes stay the same).
public struct SequenceCache<Cell: RecurrentCell> {
    public typealias Real = Cell.Real
    /// x_t, B×D (t = 1…T at index t−1).
    public internal(set) var xs: [Matrix<Real>] = []
    /// The state after step t at index t; index 0 is the initial state (h0, c0).
    public internal(set) var states: [Cell.State] = []
    /// Step t's cache at index t−1.
    public internal(set) var steps: [Cell.StepCache] = []
    /// Sequence lengths of the last forward (nil: every row runs all T steps).
    public internal(set) var lengths: [Int]? = nil
    var workspace: Cell.Workspace? = nil
    var batch = -1                                    // rows of the step caches
    // backward
    var d = Cell.State(batch: 0, hidden: 0)           // ∂L/∂(state after step t) entering step t
    var dPrev = Cell.State(batch: 0, hidden: 0)       // ∂L/∂(state after step t−1) through step t
    var carry = Cell.State(batch: 0, hidden: 0)       // masking: the finished rows of d
    /// ∂L/∂x_t (B×D each) after a backward pass with input gradients.
    public internal(set) var dxs: [Matrix<Real>] = []
    /// When true, backward records ‖∂L/∂h_t‖ (Frobenius norm over the batch) for t = 1…T into
    /// `dhNorms` (the gradient-flow experiment).
    public var recordGradientNorms = false
    public internal(set) var dhNorms: [Double] = []
    /// A check's probe (`bptt explain`, `gradcheck --locate`); nil while training.
    public var tracer: Tracer? = nil
    /// Set by the gradient checks: before each step backward, `dPrev` and `dx` (which the step
    /// must write, not add into) are filled with NaN, so a cell that adds into them fails its check
    /// at that line instead of passing on buffers that happened to be zero.
    public var poisonStepOutputs = false
    public init() {}

    public var length: Int { xs.count }
    /// h_T, the state after the last step.
    public var hT: Matrix<Real> { states[states.count - 1].h }
    /// ∂L/∂h0 after a backward pass (B×H).
    public var dh0: Matrix<Real> { d.h }
    /// ∂L/∂c0 after a backward pass (a cell with a memory cell); nil otherwise.
    public var dc0: Matrix<Real>? { d.memory }
    /// Drops the references to the inputs of the last forward, so a driver can rewrite its
    /// input buffers in place (no copy-on-write) before the next forward.
    public mutating func releaseInputs() { xs = [] }
}

extension RecurrentCell {
    public typealias Cache = SequenceCache<Self>

    /// Runs all T steps. xs: T inputs, each B×D; h0, c0: B×H initial states (nil: zeros).
    /// lengths: row b is a sequence of lengths[b] ≤ T steps; its state stops changing after its
    /// last step (masking.h) and backward respects the same mask. nil: all rows run T steps.
    public func forward(_ xs: [Matrix<Real>], h0: Matrix<Real>? = nil, c0: Matrix<Real>? = nil, _ p: Parameters,
                        lengths: [Int]? = nil, cache: inout SequenceCache<Self>) {
        if let tracer = cache.tracer { forward(xs, h0: h0, c0: c0, p, lengths: lengths, cache: &cache, probe: tracer) }
        else { forward(xs, h0: h0, c0: c0, p, lengths: lengths, cache: &cache, probe: NoProbe()) }
    }

    private func forward<P: CellProbe>(_ xs: [Matrix<Real>], h0: Matrix<Real>?, c0: Matrix<Real>?, _ p: Parameters,
                                       lengths: [Int]?, cache: inout SequenceCache<Self>, probe: P) {
        let who = "\(Self.self).forward"
        require(!xs.isEmpty, "\(who): empty sequence")
        let (steps, B, H) = (xs.count, xs[0].rows, hiddenSize)
        require(xs[0].cols == inputSize, "\(who): input width \(xs[0].cols), expected \(inputSize)")
        checkLengths(lengths, rows: B, steps: steps, who)
        cache.xs = xs
        cache.lengths = lengths
        reserve(&cache, steps: steps, batch: B)
        // the initial state: h0 (and c0), or zeros
        var part = 0
        cache.states[0].forEachPart { s in
            if let given = part == 0 ? h0 : c0 {
                require(given.rows == B && given.cols == H, "\(who): initial state must be \(B)x\(H)")
                s.copy(from: given)
            } else {
                s.zero()
            }
            part += 1
        }
        beginForward(p, batch: B, &cache.workspace!)
        for t in 1...steps {
            stepForward(xs[t - 1], cache.states[t - 1], &cache.states[t], &cache.steps[t - 1], p, &cache.workspace!, t: t, probe)
            if let lengths {
                // finished rows keep the previous state: h (masking.h) and c (masking.c)
                cache.states[t].forEachPart(with: cache.states[t - 1]) { s, prev in
                    holdFinishedRows(lengths, step: t, previous: prev, into: &s)        // (masking.h) (masking.c)
                }
            }
        }
    }

    /// Sizes the states and step caches for `steps` steps of B rows, reallocating only on a change.
    private func reserve(_ cache: inout SequenceCache<Self>, steps: Int, batch B: Int) {
        if cache.workspace == nil { cache.workspace = makeWorkspace() }
        let H = hiddenSize
        // T states and T step caches, each a few B×H matrices (8 bounds every cell here: the
        // LSTM's four gates, c_t, tanh c_t, h_t and x_t's share), must fit before the first is made
        MemoryLimit.check(steps, B * H * 8, MemoryLayout<Real>.stride, what: "T = \(steps) steps of B = \(B) rows and H = \(H) units (the step caches)")
        if cache.batch != B || cache.states.first.map({ $0.h.cols != H }) == true { cache.states = []; cache.steps = [] }
        cache.batch = B
        while cache.states.count < steps + 1 { cache.states.append(State(batch: B, hidden: H)) }
        while cache.steps.count < steps { cache.steps.append(makeStepCache(batch: B)) }
        if cache.states.count > steps + 1 { cache.states.removeLast(cache.states.count - steps - 1) }
        if cache.steps.count > steps { cache.steps.removeLast(cache.steps.count - steps) }
    }

    /// Backpropagation through time.
    ///
    /// - dhs: ∂L/∂h_t from the layers above, one B×H matrix per step; nil for a step whose h_t
    ///   feeds no loss directly (many-to-one: only the last step is non-nil).
    /// - truncation: k > 0 stops the gradient at every step t with (T − t + 1) a multiple of k
    ///   (chunks of k steps aligned to the end of the sequence); 0 means full BPTT.
    /// - grads: accumulated into (`+=`), never overwritten.
    /// - inputGradients: also compute ∂L/∂x_t into `cache.dxs`.
    /// Afterwards `cache.dh0` (and `cache.dc0`) hold ∂L/∂h0 (and ∂L/∂c0), B×H.
    public func backward(_ dhs: [Matrix<Real>?], _ p: Parameters, cache: inout SequenceCache<Self>, grads: inout Parameters,
                         inputGradients: Bool = false, truncation k: Int = 0) {
        if let tracer = cache.tracer {
            backward(dhs, p, cache: &cache, grads: &grads, inputGradients: inputGradients, truncation: k, probe: tracer)
        } else {
            backward(dhs, p, cache: &cache, grads: &grads, inputGradients: inputGradients, truncation: k, probe: NoProbe())
        }
    }

    private func backward<P: CellProbe>(_ dhs: [Matrix<Real>?], _ p: Parameters, cache: inout SequenceCache<Self>, grads: inout Parameters,
                                        inputGradients: Bool, truncation k: Int, probe: P) {
        let steps = cache.length
        require(dhs.count == steps, "\(Self.self).backward: \(dhs.count) upstream gradients for \(steps) steps")
        let (B, H) = (cache.states[0].h.rows, hiddenSize)
        ensure(&cache.d, B, H); ensure(&cache.dPrev, B, H)
        if cache.lengths != nil { ensure(&cache.carry, B, H) }
        cache.d.forEachPart { $0.zero() }                 // nothing flows in from step T+1
        if inputGradients { resize(&cache.dxs, count: steps, rows: B, cols: inputSize) }
        if cache.recordGradientNorms { cache.dhNorms = [Double](repeating: 0, count: steps) }
        let lengths = cache.lengths
        beginBackward(p, batch: B, steps: steps, &cache.workspace!)
        for t in stride(from: steps, through: 1, by: -1) {
            // dh_t = ∂L/∂h_t (from above) + dh^next_t (from step t+1)
            if probe.breaks(.rnnDhNoDhNext) { cache.d.h.zero() }                  // break rnn.dh:no-dhnext
            if let up = dhs[t - 1] { cache.d.h.add(up) }                         // (rnn.dh) (lstm.dh) (gru.dh)
            probe.backward(hQuantity, t, cache.d.h)
            if cache.recordGradientNorms { cache.dhNorms[t - 1] = frobeniusNorm(cache.d.h) }
            // forward (masking.h, masking.c): finished rows keep the previous state, so the cell
            // sees κ_t ⊙ d (κ_t the step mask) and the finished rows pass straight to step t−1
            if let lengths {
                cache.d.forEachPart(alongside: &cache.carry) { d, carry in
                    divertFinishedRows(lengths, step: t, from: &d, into: &carry)          // (masking.dcell) (masking.dc)
                }
            }
            var dx = Matrix<Real>(rows: 0, cols: 0)
            if inputGradients { swap(&dx, &cache.dxs[t - 1]) }
            if cache.poisonStepOutputs {
                cache.dPrev.forEachPart { $0.data.withUnsafeMutableBufferPointer { p in p.update(repeating: .nan) } }
                dx.data.withUnsafeMutableBufferPointer { p in p.update(repeating: .nan) }
            }
            stepBackward(cache.d, &cache.dPrev, &dx, inputGradient: inputGradients,
                         cache.xs[t - 1], cache.states[t - 1], cache.states[t], cache.steps[t - 1],
                         p, &grads, &cache.workspace!, t: t, probe)
            if inputGradients { swap(&dx, &cache.dxs[t - 1]) }
            if let lengths {
                cache.dPrev.forEachPart(with: cache.carry) { dPrev, carry in
                    addFinishedRows(lengths, step: t, from: carry, into: &dPrev)          // (masking.dhold) (masking.dc)
                }
            }
            // truncated BPTT: the gradient stops at the chunk boundary
            if k > 0 && (steps - t + 1) % k == 0 && t > 1 { cache.dPrev.forEachPart { $0.zero() } }   // (rnn.truncate) (lstm.truncate) (gru.truncate)
            swap(&cache.d, &cache.dPrev)
        }
        endBackward(cache.xs, cache.states, &grads, &cache.workspace!, probe)
    }
}

/// Makes `s` a B×H state (zeros), reallocating only on a shape change.
private func ensure<S: RecurrentState>(_ s: inout S, _ B: Int, _ H: Int) {
    if s.h.rows != B || s.h.cols != H { s = S(batch: B, hidden: H) }
}
