/// Stacked and bidirectional recurrent layers over any cell, derived in `derivations/stacked.md`.
///
/// A stack has `layers` levels and one or two directions. Unit (l, d) is one cell; it reads
///
///     u⁽⁰⁾_t = x_t,   u⁽ˡ⁾_t = r⁽ˡ⁾_t ⊙ o⁽ˡ⁻¹⁾_t   (dropout mask r, or 1)       (stacked.input)
///
/// forwards (d = 0) or in reverse time order (d = 1, stacked.rev), and the level's output is
/// its hidden state, or both directions' states side by side:
///
///     o⁽ˡ⁾_t = [→h⁽ˡ⁾_t , ←h⁽ˡ⁾_t]   (B × H·directions)                         (stacked.out)
///
/// Many-to-one readouts take the final state of each direction, [→h_T , ←h_1] (stacked.final).
/// Each unit runs its cell through the one time loop (`Cells/TimeLoop.swift`); the stack only
/// wires inputs, outputs and their gradients between units.
public struct RecurrentStack<Cell: RecurrentCell> {
    public typealias Real = Cell.Real

    public struct Parameters: ParameterSet {
        /// One cell's parameters per unit, level-major: unit (l, d) is `units[l · directions + d]`.
        public var units: [Cell.Parameters]
        public let directions: Int
        /// Unit by unit. A single unit keeps the cell's own names (`W_hx`, `W_gx`, …); otherwise
        /// PyTorch's suffixes: `W_gx_l0`, `W_gx_l1`, and `_reverse` for the backward direction.
        public mutating func forEachTensor(pairedWith other: Self?, _ body: (String, inout Matrix<Real>, Matrix<Real>?) -> Void) {
            for u in units.indices {
                let suffix = RecurrentStack.unitSuffix(u, units: units.count, directions: directions)
                units[u].forEachTensor(pairedWith: other?.units[u]) { name, m, o in body(suffix.isEmpty ? name : name + suffix, &m, o) }
            }
        }
    }

    /// "" for a lone unit; "_l<level>" plus "_reverse" for the backward direction otherwise.
    public static func unitSuffix(_ u: Int, units: Int, directions: Int) -> String {
        units == 1 ? "" : "_l\(u / directions)" + (u % directions == 1 ? "_reverse" : "")
    }

    public struct Workspace {
        public var caches: [SequenceCache<Cell>] = []
        var inputs: [[Matrix<Real>]] = []          // per level ≥ 1: u⁽ˡ⁾_t when it needs its own buffer
        var masks: [[Matrix<Real>]] = []           // per level ≥ 1: dropout masks r⁽ˡ⁾_t
        var outputs: [Matrix<Real>] = []           // bidirectional top level: o_t = [→h_t, ←h_t]
        var concat: [[Matrix<Real>]] = []          // bidirectional lower levels: o⁽ˡ⁾_t
        var final = Matrix<Real>(rows: 0, cols: 0) // bidirectional: [→h_T, ←h_1]
        var layerInputs: [[Matrix<Real>]] = []     // the sequence each unit read (reversed for d = 1)
        var droppedOut = false                  // masks were applied in the last forward
        var reversed: [[Matrix<Real>]] = []        // per unit: the input reversed row by row within its length
        /// Sequence lengths of the last forward (nil: every row runs all T steps).
        public internal(set) var lengths: [Int]? = nil
        // backward
        /// ∂L/∂o_t of the top level (B × H·directions), written by the model above.
        public var dOutputs: [Matrix<Real>] = []
        public var dOutputUsed: [Bool] = []
        /// ∂L/∂(final states) (B × H·directions), written by a many-to-one model above.
        public var dFinal = Matrix<Real>(rows: 0, cols: 0)
        public var dFinalUsed = false
        /// A check's probe, handed to every unit's cache (`bptt explain`, `gradcheck --locate`).
        public var tracer: Tracer? = nil
        /// Handed to every unit's cache: fill what each step backward must write with NaN first (the checks).
        public var poisonStepOutputs = false
        var up: [[Matrix<Real>]] = []              // per unit, per step: split upstream gradients
        var dhs: [[Matrix<Real>?]] = []            // per unit: what the cell's backward reads
        var dLower: [Matrix<Real>] = []            // ∂L/∂o⁽ˡ⁻¹⁾_t while walking down
        public init() {}
        /// ∂L/∂h0 and ∂L/∂c0 of each unit after backward.
        public var dh0s: [Matrix<Real>] { caches.map(\.dh0) }
        public var dc0s: [Matrix<Real>?] { caches.map(\.dc0) }
        /// ∂L/∂x_t after backward with input gradients.
        public var dxs: [Matrix<Real>] { dLower }
    }

    public let cells: [Cell]
    public let layers: Int
    public let directions: Int
    public let dropout: Double
    public var inputSize: Int { cells[0].inputSize }
    public var hiddenSize: Int { cells[0].hiddenSize }
    public var outputSize: Int { hiddenSize * directions }
    public var hasCellState: Bool { cells[0].hasCellState }

    /// `make(inputWidth)` builds one cell; level 0 reads `inputSize`, the others H·directions.
    public init(layers: Int, bidirectional: Bool, dropout: Double = 0, inputSize: Int, hiddenSize: Int,
                make: (Int) -> Cell) {
        require(layers >= 1, "RecurrentStack: at least one layer")
        require(dropout >= 0 && dropout < 1, "RecurrentStack: dropout must be in [0, 1)")
        self.layers = layers
        self.directions = bidirectional ? 2 : 1
        self.dropout = dropout
        var cells: [Cell] = []
        for l in 0..<layers {
            for _ in 0..<directions { cells.append(make(l == 0 ? inputSize : hiddenSize * directions)) }
        }
        self.cells = cells
    }

    public func initialParameters(_ initializer: Initializer, rng: inout RNG) -> Parameters {
        Parameters(units: cells.map { $0.initialParameters(initializer, rng: &rng) }, directions: directions)
    }

    /// The top level's output at step t (1-based): →h_t, or [→h_t, ←h_t].
    public func output(_ t: Int, _ ws: Workspace) -> Matrix<Real> {
        directions == 1 ? ws.caches[cells.count - 1].states[t].h : ws.outputs[t - 1]
    }

    /// The final states: →h_T, or [→h_T, ←h_1] (each direction's last state).
    public func finalState(_ ws: Workspace) -> Matrix<Real> {
        directions == 1 ? ws.caches[cells.count - 1].hT : ws.final
    }

    /// Runs every unit. h0s, c0s: one initial state per unit (nil: zeros). `dropoutRNG`: draw
    /// dropout masks between levels (training); nil: no dropout (evaluation, checks).
    /// lengths: row b holds a sequence of lengths[b] ≤ T steps (`derivations/masking.md`): every
    /// unit holds its state after the row's end, and the reverse direction starts at the row's own end.
    public func forward(_ xs: [Matrix<Real>], h0s: [Matrix<Real>]? = nil, c0s: [Matrix<Real>]? = nil, _ p: Parameters,
                        lengths: [Int]? = nil, workspace ws: inout Workspace, dropoutRNG: inout RNG?) {
        let (steps, B, H) = (xs.count, xs[0].rows, hiddenSize)
        checkLengths(lengths, rows: B, steps: steps, "RecurrentStack.forward")
        ws.lengths = lengths
        if ws.caches.count != cells.count { ws.caches = Array(repeating: SequenceCache<Cell>(), count: cells.count) }
        if let tracer = ws.tracer { for u in ws.caches.indices { ws.caches[u].tracer = tracer } }
        for u in ws.caches.indices { ws.caches[u].poisonStepOutputs = ws.poisonStepOutputs }
        if ws.reversed.count != cells.count { ws.reversed = Array(repeating: [], count: cells.count) }
        if ws.layerInputs.count != cells.count { ws.layerInputs = Array(repeating: [], count: cells.count) }
        if ws.inputs.count != layers { ws.inputs = Array(repeating: [], count: layers); ws.masks = ws.inputs; ws.concat = ws.inputs }
        let useDropout = dropout > 0 && dropoutRNG != nil && layers > 1
        ws.droppedOut = useDropout
        var input = xs
        for l in 0..<layers {
            if l > 0 {
                // (stacked.input)  u⁽ˡ⁾_t = r⁽ˡ⁾_t ⊙ o⁽ˡ⁻¹⁾_t
                let below = directions == 1 ? ws.caches[(l - 1) * directions].states[1...].map(\.h) : ws.concat[l - 1]
                if useDropout {
                    resize(&ws.masks[l], count: steps, rows: B, cols: outputSize)
                    resize(&ws.inputs[l], count: steps, rows: B, cols: outputSize)
                    for t in 0..<steps {
                        Dropout.forward(below[t], rate: dropout, rng: &dropoutRNG!, mask: &ws.masks[l][t],
                                        into: &ws.inputs[l][t], draw: .keepBelowKeepRate)   // (stacked.input)
                    }
                    input = ws.inputs[l]
                } else {
                    input = below                                                           // (stacked.input)
                }
            }
            for d in 0..<directions {
                let u = l * directions + d
                // (stacked.rev) the backward direction reads the sequence last step first
                if d == 1, let lengths {
                    // (masking.rev) row b reversed within its own length, padding left in place
                    ws.layerInputs[u] = []   // release the alias so the buffers are written in place
                    ws.caches[u].releaseInputs()
                    resize(&ws.reversed[u], count: steps, rows: B, cols: input[0].cols)
                    for t in 1...steps {
                        for b in 0..<B { copyRow(input[reversedStep(t, length: lengths[b]) - 1], b, into: &ws.reversed[u][t - 1], b) }  // (masking.rev)
                    }
                    ws.layerInputs[u] = ws.reversed[u]
                } else {
                    ws.layerInputs[u] = d == 0 ? input : input.reversed()                   // (stacked.rev)
                }
                cells[u].forward(ws.layerInputs[u], h0: h0s?[u], c0: c0s?[u], p.units[u], lengths: lengths, cache: &ws.caches[u])
            }
            if directions == 2 {
                // (stacked.out)  o_t = [→h_t , ←h_t];  ←h_t is the reverse unit's state after T−t+1 steps
                let (fw, bw) = (l * 2, l * 2 + 1)
                let top = l == layers - 1
                if top { resize(&ws.outputs, count: steps, rows: B, cols: 2 * H) } else { resize(&ws.concat[l], count: steps, rows: B, cols: 2 * H) }
                for t in 1...steps {
                    if let lengths {
                        // (masking.out)  o_{t,b} = [→h_{t,b}, ←h_{t,b}], ←h_{t,b} the ← unit's state after its step r(t,b)
                        for b in 0..<B {
                            let r = reversedStep(t, length: lengths[b])
                            if top {
                                copyRow(ws.caches[fw].states[t].h, b, into: &ws.outputs[t - 1], b)                  // (masking.out)
                                copyRow(ws.caches[bw].states[r].h, b, into: &ws.outputs[t - 1], b, col: H)          // (masking.out)
                            } else {
                                copyRow(ws.caches[fw].states[t].h, b, into: &ws.concat[l][t - 1], b)                // (masking.out)
                                copyRow(ws.caches[bw].states[r].h, b, into: &ws.concat[l][t - 1], b, col: H)        // (masking.out)
                            }
                        }
                    } else if top {
                        copyBlock(ws.caches[fw].states[t].h, into: &ws.outputs[t - 1], at: (0, 0))               // (stacked.out)
                        copyBlock(ws.caches[bw].states[steps - t + 1].h, into: &ws.outputs[t - 1], at: (0, H))      // (stacked.out)
                    } else {
                        copyBlock(ws.caches[fw].states[t].h, into: &ws.concat[l][t - 1], at: (0, 0))             // (stacked.out)
                        copyBlock(ws.caches[bw].states[steps - t + 1].h, into: &ws.concat[l][t - 1], at: (0, H))    // (stacked.out)
                    }
                }
                if top {
                    // (stacked.final)  s = [→h_T , ←h_1]: each direction's state after the whole sequence
                    ensure(&ws.final, B, 2 * H)
                    copyBlock(ws.caches[fw].hT, into: &ws.final, at: (0, 0))                              // (stacked.final)
                    copyBlock(ws.caches[bw].hT, into: &ws.final, at: (0, H))                              // (stacked.final)
                }
            }
        }
        // Upstream gradient buffers for the model above, all unused until it writes them.
        resize(&ws.dOutputs, count: steps, rows: B, cols: outputSize)
        ws.dOutputUsed = Array(repeating: false, count: steps)
        ensure(&ws.dFinal, B, outputSize)
        ws.dFinalUsed = false
    }

    /// Backpropagation through the stack: reads `ws.dOutputs` (where `dOutputUsed`) and
    /// `ws.dFinal` (when `dFinalUsed`), walks the levels top-down, each unit through time.
    /// Accumulates into `grads`; afterwards `ws.dh0s`, `ws.dc0s` and (with `inputGradients`)
    /// `ws.dxs` hold the gradients of the initial states and inputs.
    public func backward(_ p: Parameters, workspace ws: inout Workspace, grads: inout Parameters,
                         inputGradients: Bool = false, truncation: Int = 0) {
        let steps = ws.dOutputs.count
        let (B, H) = (ws.dOutputs[0].rows, hiddenSize)
        if ws.dhs.count != cells.count { ws.dhs = Array(repeating: [], count: cells.count); ws.up = Array(repeating: [], count: cells.count) }
        for u in 0..<cells.count where ws.dhs[u].count != steps { ws.dhs[u] = Array(repeating: nil, count: steps) }
        for l in stride(from: layers - 1, through: 0, by: -1) {
            let top = l == layers - 1
            if directions == 1 {
                let u = l
                if top {
                    for t in 0..<steps where ws.dOutputUsed[t] { ws.dhs[u][t] = ws.dOutputs[t] }
                    if ws.dFinalUsed {
                        if ws.dOutputUsed[steps - 1] { ws.dOutputs[steps - 1].add(ws.dFinal); ws.dhs[u][steps - 1] = ws.dOutputs[steps - 1] }
                        else { ws.dhs[u][steps - 1] = ws.dFinal }
                    }
                } else {
                    for t in 0..<steps { ws.dhs[u][t] = ws.dLower[t] }
                }
            } else {
                // (stacked.dsplit)  d→h_t = do_t[:, :H],  d←h_t = do_t[:, H:]  (← unit's step T−t+1)
                let (fw, bw) = (l * 2, l * 2 + 1)
                resize(&ws.up[fw], count: steps, rows: B, cols: H)
                resize(&ws.up[bw], count: steps, rows: B, cols: H)
                if let lengths = ws.lengths {
                    // (masking.drev)  d←h_{t,b} += do_{t,b}[H:2H], at the ← unit's step r(t,b)
                    for t in 0..<steps { ws.up[fw][t].zero(); ws.up[bw][t].zero() }
                    var any = false
                    for t in 1...steps where top ? ws.dOutputUsed[t - 1] : true {
                        any = true
                        let src = top ? ws.dOutputs[t - 1] : ws.dLower[t - 1]
                        addBlock(from: src, at: (0, 0), into: &ws.up[fw][t - 1])                       // (stacked.dsplit)
                        for b in 0..<B {
                            addRow(src, b, col: H, into: &ws.up[bw][reversedStep(t, length: lengths[b]) - 1], b)  // (masking.drev)
                        }
                        ws.dhs[fw][t - 1] = ws.up[fw][t - 1]
                    }
                    if any { for t in 0..<steps { ws.dhs[bw][t] = ws.up[bw][t] } }
                }
                for t in 1...steps where ws.lengths == nil {
                    let used = top ? ws.dOutputUsed[t - 1] : true
                    let src = top ? ws.dOutputs[t - 1] : ws.dLower[t - 1]
                    if used {
                        ws.up[fw][t - 1].zero(); ws.up[bw][steps - t].zero()
                        addBlock(from: src, at: (0, 0), into: &ws.up[fw][t - 1])         // (stacked.dsplit)
                        addBlock(from: src, at: (0, H), into: &ws.up[bw][steps - t])        // (stacked.dsplit)
                        ws.dhs[fw][t - 1] = ws.up[fw][t - 1]
                        ws.dhs[bw][steps - t] = ws.up[bw][steps - t]
                    }
                }
                if top && ws.dFinalUsed {
                    // (stacked.dfinal)  d→h_T += ds[:, :H],  d←h_1 += ds[:, H:] (the reverse unit's last step)
                    for (u, col) in [(fw, 0), (bw, H)] {
                        if ws.dhs[u][steps - 1] == nil { ws.up[u][steps - 1].zero() }
                        ws.dhs[u][steps - 1] = nil   // release the alias before writing in place
                        addBlock(from: ws.dFinal, at: (0, col), into: &ws.up[u][steps - 1])   // (stacked.dfinal)
                        ws.dhs[u][steps - 1] = ws.up[u][steps - 1]
                    }
                }
            }
            let needInput = l > 0 || inputGradients
            for d in 0..<directions {
                let u = l * directions + d
                cells[u].backward(ws.dhs[u], p.units[u], cache: &ws.caches[u], grads: &grads.units[u],
                                  inputGradients: needInput, truncation: truncation)
                for t in 0..<steps { ws.dhs[u][t] = nil }   // drop aliases so buffers are written in place next time
            }
            if needInput {
                // (stacked.dinput)  ∂L/∂o⁽ˡ⁻¹⁾_t = r⁽ˡ⁾_t ⊙ (→dx_t + ←dx_t), ←dx_t = the ← unit's input gradient at its own step T−t+1 (dxs index T−t)
                let width = cells[l * directions].inputSize
                resize(&ws.dLower, count: steps, rows: B, cols: width)
                for t in 0..<steps {
                    ws.dLower[t].copy(from: ws.caches[l * directions].dxs[t])                        // (stacked.dinput)
                    if directions == 2, let lengths = ws.lengths {
                        for b in 0..<B {
                            addRow(ws.caches[l * directions + 1].dxs[reversedStep(t + 1, length: lengths[b]) - 1], b,
                                   into: &ws.dLower[t], b)                                                    // (masking.drev)
                        }
                    } else if directions == 2 { ws.dLower[t].add(ws.caches[l * directions + 1].dxs[steps - 1 - t]) }  // (stacked.dinput)
                    if l > 0 && ws.droppedOut {
                        Dropout.backward(&ws.dLower[t], mask: ws.masks[l][t])                        // (stacked.ddrop)
                    }
                }
            }
        }
        for t in 0..<steps { ws.dOutputUsed[t] = false }
        ws.dFinalUsed = false
    }
}
