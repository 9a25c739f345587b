/// What the cells report to `bptt explain` and `bptt gradcheck --locate`, and how those tools
/// reach into the real forward and backward passes.
///
/// The cells' forward and backward are generic over a `CellProbe`. Training runs them with
/// `NoProbe`, whose hooks are empty and inlined: the specialised code is the code without hooks.
/// The checks run them with a `Tracer`, which
///
/// - records every quantity of the derivation as the real code computes it (forward values
///   a_t, h_t, c_t, every gate; backward adjoints dh_t, dc_t, …; parameter-gradient sums),
/// - nudges one element of one quantity at one step by ±ε inside the forward pass (everything
///   computed after it sees the nudge): the numeric side of the per-step adjoint check,
/// - switches on one deliberate mistake of the catalogue (`Break`) in the real backward code.
///
/// The time loop (`Cells/TimeLoop.swift`) picks the probe once per pass (`if let tracer =
/// cache.tracer`), so the training path pays one branch per forward and per backward.
public protocol CellProbe {
    /// Forward: the whole matrix `m` holds quantity `q` at step t (a nudge may change it).
    func forward<Real: Scalar>(_ q: Quantity, _ t: Int, _ m: inout Matrix<Real>)
    /// Forward: `count` values of row `row` of quantity `q` at step t, from `v`.
    func forward<Real: Scalar>(_ q: Quantity, _ t: Int, row: Int, _ v: UnsafeMutablePointer<Real>, count: Int)
    /// Forward: one element; returns the value to use (nudged or not).
    func forward<Real: Scalar>(_ q: Quantity, _ t: Int, row: Int, col: Int, _ v: Real) -> Real
    /// Backward: ∂L/∂q at step t, the whole matrix (or a parameter-gradient sum so far).
    func backward<Real: Scalar>(_ q: Quantity, _ t: Int, _ m: Matrix<Real>)
    /// Backward: `count` values of row `row` of ∂L/∂q at step t.
    func backward<Real: Scalar>(_ q: Quantity, _ t: Int, row: Int, _ v: UnsafePointer<Real>, count: Int)
    /// Backward: one element of ∂L/∂q at step t.
    func backward<Real: Scalar>(_ q: Quantity, _ t: Int, row: Int, col: Int, _ v: Real)
    /// Whether the catalogued mistake `b` is switched on.
    func breaks(_ b: Break) -> Bool
    /// False for `NoProbe`: lets the block and chunk helpers below vanish from training code.
    static var isActive: Bool { get }
}

/// The probe of training and of the ordinary checks: every hook is empty.
public struct NoProbe: CellProbe {
    @inline(__always) public init() {}
    @inline(__always) public func forward<Real: Scalar>(_ q: Quantity, _ t: Int, _ m: inout Matrix<Real>) {}
    @inline(__always) public func forward<Real: Scalar>(_ q: Quantity, _ t: Int, row: Int, _ v: UnsafeMutablePointer<Real>, count: Int) {}
    @inline(__always) public func forward<Real: Scalar>(_ q: Quantity, _ t: Int, row: Int, col: Int, _ v: Real) -> Real { v }
    @inline(__always) public func backward<Real: Scalar>(_ q: Quantity, _ t: Int, _ m: Matrix<Real>) {}
    @inline(__always) public func backward<Real: Scalar>(_ q: Quantity, _ t: Int, row: Int, _ v: UnsafePointer<Real>, count: Int) {}
    @inline(__always) public func backward<Real: Scalar>(_ q: Quantity, _ t: Int, row: Int, col: Int, _ v: Real) {}
    @inline(__always) public func breaks(_ b: Break) -> Bool { false }
    @inline(__always) public static var isActive: Bool { false }
}

extension CellProbe {
    public static var isActive: Bool { true }

    /// Forward: quantity `q` at step t is the column block `block..<block+width` of every row of
    /// `m` (one gate of a fused B×nH buffer; a nudge may change it).
    @inline(__always)
    public func forward<Real: Scalar>(_ q: Quantity, _ t: Int, _ m: inout Matrix<Real>, block: Int, width: Int) {
        guard Self.isActive else { return }
        let (rows, cols) = (m.rows, m.cols)
        m.data.withUnsafeMutableBufferPointer { p in
            for r in 0..<rows { forward(q, t, row: r, p.baseAddress! + r * cols + block, count: width) }
        }
    }

    /// Backward: ∂L/∂q at step t is the column block `block..<block+width` of `m`.
    @inline(__always)
    public func backward<Real: Scalar>(_ q: Quantity, _ t: Int, _ m: Matrix<Real>, block: Int, width: Int) {
        guard Self.isActive else { return }
        let (rows, cols) = (m.rows, m.cols)
        m.data.withUnsafeBufferPointer { p in
            for r in 0..<rows { backward(q, t, row: r, p.baseAddress! + r * cols + block, count: width) }
        }
    }

    /// Forward: several column blocks of `m` at once, each (quantity, first column), `width` wide.
    @inline(__always)
    public func forward<Real: Scalar>(_ t: Int, _ m: inout Matrix<Real>, width: Int, _ a: (Quantity, Int), _ b: (Quantity, Int),
                                      _ c: (Quantity, Int)? = nil, _ d: (Quantity, Int)? = nil) {
        guard Self.isActive else { return }
        for (q, block) in [a, b] + [c, d].compactMap({ $0 }) { forward(q, t, &m, block: block, width: width) }
    }

    /// Backward: several column blocks of `m` at once, each (quantity, first column), `width` wide.
    @inline(__always)
    public func backward<Real: Scalar>(_ t: Int, _ m: Matrix<Real>, width: Int, _ a: (Quantity, Int), _ b: (Quantity, Int),
                                       _ c: (Quantity, Int)? = nil, _ d: (Quantity, Int)? = nil) {
        guard Self.isActive else { return }
        for (q, block) in [a, b] + [c, d].compactMap({ $0 }) { backward(q, t, m, block: block, width: width) }
    }

    /// Forward: the lanes of chunk `k` of quantity `q` at step t; returns them, nudged or not.
    @inline(__always)
    public func forward<Real: Scalar>(_ q: Quantity, _ t: Int, _ k: Chunk, _ v: SIMD8<Real>) -> SIMD8<Real> {
        guard Self.isActive else { return v }
        var out = v
        for l in 0..<k.n { out[l] = forward(q, t, row: k.row, col: k.col + l, v[l]) }
        return out
    }

    /// Backward: the lanes of chunk `k` of several adjoints at step t, in the order given.
    @inline(__always)
    public func backward<Real: Scalar>(_ t: Int, _ k: Chunk, _ a: (Quantity, SIMD8<Real>), _ b: (Quantity, SIMD8<Real>),
                                       _ c: (Quantity, SIMD8<Real>)? = nil, _ d: (Quantity, SIMD8<Real>)? = nil, _ e: (Quantity, SIMD8<Real>)? = nil) {
        guard Self.isActive else { return }
        for l in 0..<k.n {
            backward(t, row: k.row, col: k.col + l, (a.0, a.1[l]), (b.0, b.1[l]),
                     c.map { ($0.0, $0.1[l]) }, d.map { ($0.0, $0.1[l]) }, e.map { ($0.0, $0.1[l]) })
        }
    }

    /// Several adjoints of one element at once (one hook line in an inner loop).
    @inline(__always)
    public func backward<Real: Scalar>(_ t: Int, row: Int, col: Int, _ a: (Quantity, Real), _ b: (Quantity, Real),
                                       _ c: (Quantity, Real)? = nil, _ d: (Quantity, Real)? = nil, _ e: (Quantity, Real)? = nil) {
        backward(a.0, t, row: row, col: col, a.1)
        backward(b.0, t, row: row, col: col, b.1)
        if let c { backward(c.0, t, row: row, col: col, c.1) }
        if let d { backward(d.0, t, row: row, col: col, d.1) }
        if let e { backward(e.0, t, row: row, col: col, e.1) }
    }
}

/// Records, nudges and breaks (see `CellProbe`). Values are kept in Float64 whatever the cell's
/// precision. One tracer serves one model evaluation at a time.
public final class Tracer: CellProbe {
    public enum Phase: Sendable { case forward, backward }

    /// One quantity at one step (t = 0 for whole-sequence quantities such as fused weight
    /// gradients), as the code last wrote it.
    public struct Record: Sendable {
        public let phase: Phase
        public let quantity: Quantity
        public let t: Int
        public var value: Matrix<Double>
    }

    /// One element of one quantity at one step, moved by `delta` in the forward pass.
    public struct Nudge: Sendable {
        public var quantity: Quantity, t: Int, row: Int, col: Int, delta: Double
        public init(_ quantity: Quantity, t: Int, row: Int, col: Int, delta: Double) {
            (self.quantity, self.t, self.row, self.col, self.delta) = (quantity, t, row, col, delta)
        }
    }

    /// Records in the order the code first wrote them (forward order, then backward order).
    public private(set) var records: [Record] = []
    private var index: [Key: Int] = [:]
    private struct Key: Hashable { let backward: Bool; let q: Quantity; let t: Int }

    /// Record values (off while the locate check evaluates nudged losses).
    public var recording = true
    public var nudge: Nudge? = nil
    /// The mistake switched on, if any.
    public let broken: Break?

    public init(breaking broken: Break? = nil) { self.broken = broken }

    public func clear() { records = []; index = [:] }

    public func record(_ phase: Phase, _ q: Quantity, _ t: Int) -> Record? {
        index[Key(backward: phase == .backward, q: q, t: t)].map { records[$0] }
    }

    private func slot(_ phase: Phase, _ q: Quantity, _ t: Int, rows: Int, cols: Int) -> Int {
        let key = Key(backward: phase == .backward, q: q, t: t)
        if let i = index[key] {
            if records[i].value.rows < rows || records[i].value.cols < cols {
                // grown element by element: keep what is there
                let old = records[i].value
                var m = Matrix<Double>(rows: max(rows, old.rows), cols: max(cols, old.cols))
                for r in 0..<old.rows { for c in 0..<old.cols { m[r, c] = old[r, c] } }
                records[i].value = m
            }
            return i
        }
        records.append(Record(phase: phase, quantity: q, t: t, value: Matrix(rows: rows, cols: cols)))
        index[key] = records.count - 1
        return records.count - 1
    }

    private func store<Real: Scalar>(_ phase: Phase, _ q: Quantity, _ t: Int, row: Int, _ v: UnsafePointer<Real>, count: Int) {
        let i = slot(phase, q, t, rows: row + 1, cols: count)
        for c in 0..<count { records[i].value[row, c] = Double(v[c]) }
    }

    private func delta(_ q: Quantity, _ t: Int, row: Int, col: Int) -> Double? {
        guard let n = nudge, n.quantity == q, n.t == t, n.row == row, n.col == col else { return nil }
        return n.delta
    }

    public func forward<Real: Scalar>(_ q: Quantity, _ t: Int, _ m: inout Matrix<Real>) {
        let cols = m.cols
        m.data.withUnsafeMutableBufferPointer { p in
            for r in 0..<(cols == 0 ? 0 : p.count / cols) { forward(q, t, row: r, p.baseAddress! + r * cols, count: cols) }
        }
    }

    public func forward<Real: Scalar>(_ q: Quantity, _ t: Int, row: Int, _ v: UnsafeMutablePointer<Real>, count: Int) {
        if let n = nudge, n.quantity == q, n.t == t, n.row == row, n.col < count { v[n.col] += Real(n.delta) }
        if recording { store(.forward, q, t, row: row, UnsafePointer(v), count: count) }
    }

    public func forward<Real: Scalar>(_ q: Quantity, _ t: Int, row: Int, col: Int, _ v: Real) -> Real {
        let out = delta(q, t, row: row, col: col).map { v + Real($0) } ?? v
        if recording { let i = slot(.forward, q, t, rows: row + 1, cols: col + 1); records[i].value[row, col] = Double(out) }
        return out
    }

    public func backward<Real: Scalar>(_ q: Quantity, _ t: Int, _ m: Matrix<Real>) {
        guard recording else { return }
        let i = slot(.backward, q, t, rows: m.rows, cols: m.cols)
        records[i].value = m.converted(to: Double.self)
    }

    public func backward<Real: Scalar>(_ q: Quantity, _ t: Int, row: Int, _ v: UnsafePointer<Real>, count: Int) {
        if recording { store(.backward, q, t, row: row, v, count: count) }
    }

    public func backward<Real: Scalar>(_ q: Quantity, _ t: Int, row: Int, col: Int, _ v: Real) {
        guard recording else { return }
        let i = slot(.backward, q, t, rows: row + 1, cols: col + 1)
        records[i].value[row, col] = Double(v)
    }

    public func breaks(_ b: Break) -> Bool { broken == b }
}
