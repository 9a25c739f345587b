/// A part's learnable tensors, as named stored properties (`W_hh`, `b_h`, …).
///
/// A conforming struct writes one walk, `forEachTensor(pairedWith:_:)`, that hands over its
/// tensors in a fixed order with their names. Everything that must visit all parameters —
/// zeroing gradients, the optimisers, gradient clipping, gradient checks, checkpoints and dumps —
/// goes through that one walk. Gradients have the same type as the parameters, so the walk can
/// pair `params.W_hh` with `grads.W_hh`.
public protocol ParameterSet {
    associatedtype Real: Scalar
    /// Calls `body` once per tensor, in the set's fixed order, with the tensor's public name,
    /// the tensor itself (read or updated in place) and, when `other` is given (a set of the
    /// same shapes, e.g. the gradients), the same tensor of `other`.
    ///
    /// A struct of tensors writes one line per tensor, `body("W_hh", &W_hh, other?.W_hh)`;
    /// a struct of parts walks each part in turn.
    mutating func forEachTensor(pairedWith other: Self?,
                                _ body: (_ name: String, _ tensor: inout Matrix<Real>, _ other: Matrix<Real>?) -> Void)
}

/// A `ParameterSet` that lists its tensors once, as (public name, key path) pairs in a fixed
/// order, and gets `forEachTensor` from that list. For a cell of your own:
///
///     public struct Parameters: NamedTensors {
///         public var W_fx, W_fh, b_f: Matrix<Real>
///         public static var tensors: [(String, TensorPath)] { [("W_fx", \.W_fx), ("W_fh", \.W_fh), ("b_f", \.b_f)] }
///     }
///
/// The names are what checks, checkpoints and `--dump` print (use PyTorch's where it has them).
/// Errors: none; a name listed twice is walked twice, so list each tensor once.
public protocol NamedTensors: ParameterSet {
    /// A stored tensor of the set.
    typealias TensorPath = WritableKeyPath<Self, Matrix<Real>>
    /// Every tensor, in the walk's order: its public name and its key path.
    static var tensors: [(String, TensorPath)] { get }
}

extension NamedTensors {
    public mutating func forEachTensor(pairedWith other: Self?, _ body: (String, inout Matrix<Real>, Matrix<Real>?) -> Void) {
        for (name, path) in Self.tensors { body(name, &self[keyPath: path], other?[keyPath: path]) }
    }
}

extension ParameterSet {
    /// Every tensor with its name, to update in place.
    public mutating func forEachTensor(_ body: (_ name: String, _ tensor: inout Matrix<Real>) -> Void) {
        forEachTensor(pairedWith: nil) { name, m, _ in body(name, &m) }
    }

    /// Every tensor with its name, read only. (Walks a copy of the set: the tensors' storage is
    /// shared, not copied, since nothing writes to it.)
    public func forEachTensorValue(_ body: (_ name: String, _ tensor: Matrix<Real>) -> Void) {
        var view = self
        view.forEachTensor(pairedWith: nil) { name, m, _ in body(name, m) }
    }

    /// The tensors' names, in order.
    public var tensorNames: [String] {
        var out: [String] = []
        forEachTensorValue { name, _ in out.append(name) }
        return out
    }

    /// The tensors with their names, in order.
    public var namedTensorValues: [(name: String, value: Matrix<Real>)] {
        var out: [(name: String, value: Matrix<Real>)] = []
        forEachTensorValue { name, m in out.append((name, m)) }
        return out
    }

    /// The tensors in order; setting replaces every tensor (the count must match).
    public var tensors: [Matrix<Real>] {
        get {
            var out: [Matrix<Real>] = []
            forEachTensorValue { _, m in out.append(m) }
            return out
        }
        set {
            require(newValue.count == tensorCount, "\(Self.self) has \(tensorCount) tensors, given \(newValue.count)")
            var i = 0
            forEachTensor { _, m in m = newValue[i]; i += 1 }
        }
    }

    /// Number of tensors.
    public var tensorCount: Int {
        var n = 0
        forEachTensorValue { _, _ in n += 1 }
        return n
    }

    /// A set of the same shapes, all zero: the gradient accumulator.
    public func zeros() -> Self {
        var z = self
        z.forEachTensor { _, m in m = Matrix(zerosLike: m) }
        return z
    }

    /// Zeroes every tensor in place (no reallocation).
    public mutating func zero() {
        forEachTensor { _, m in m.zero() }
    }

    /// self += other, tensor by tensor (summing shard gradients, in a fixed order).
    public mutating func add(_ other: Self) {
        forEachTensor(pairedWith: other) { _, m, o in m.add(o!) }
    }

    /// Number of scalars.
    public var parameterCount: Int {
        var n = 0
        forEachTensorValue { _, m in n += m.count }
        return n
    }

    /// Σ over all tensors, in order, of Σ x².
    public var sumOfSquares: Double {
        var s = 0.0
        forEachTensorValue { _, m in s += m.sumOfSquares }
        return s
    }

    /// √(Σ over all tensors of Σ x²): the global norm used for clipping.
    public var globalNorm: Double { sumOfSquares.squareRoot() }

    /// self = (0 + a) + b, element by element: what `zero()`, `add(a)`, `add(b)` store. Returns Σ x²
    /// of the result, summed as `sumOfSquares` sums it (tensor by tensor in the walk's order, each
    /// element by element from 0), in the same pass: two shards' gradients summed and measured for
    /// clipping without three more passes over them. `a` and `b` have self's shapes.
    ///
    /// `parallel`: the tensors are shared out between two threads (`parallelFor`), about half the
    /// elements each. Each tensor's Σ x² is one chain from 0, and the chains are added in the
    /// walk's order at the end, so the numbers are the same on one thread or two. Each thread
    /// reads half of both shards' gradients, so the lines the other core wrote are shared out too.
    public mutating func setToSum(_ a: Self, _ b: Self, parallel: Bool = false) -> Double {
        let (aTensors, bTensors) = (a.tensors, b.tensors)
        var chains: [SquareChain<Real>] = []
        var i = 0
        forEachTensor { _, m in
            let (aTensor, bTensor) = (aTensors[i], bTensors[i])
            require(aTensor.count == m.count && bTensor.count == m.count, "setToSum: shapes differ")
            if m.count > 0 {
                // The three buffers outlive the chains: self's, a's and b's tensors are neither
                // resized nor replaced before this function returns.
                let out = m.data.withUnsafeMutableBufferPointer { $0.baseAddress! }
                let pa = aTensor.data.withUnsafeBufferPointer { $0.baseAddress! }
                let pb = bTensor.data.withUnsafeBufferPointer { $0.baseAddress! }
                chains.append(SquareChain(a: pa, b: pb, out: out, count: m.count, tensor: i))
            }
            i += 1
        }
        var sums = [Double](repeating: 0, count: i)
        withExtendedLifetime((aTensors, bTensors)) {
            sums.withUnsafeMutableBufferPointer { sumsBuffer in
                let out = sumsBuffer
                if parallel, chains.count > 1 {
                    let part = SquareChain.halves(chains)
                    parallelFor(2) { h in for c in part[h] { out[c.tensor] = c.run() } }
                } else {
                    for c in chains { out[c.tensor] = c.run() }
                }
            }
        }
        return sums.reduce(0, +)   // ((0 + s₀) + s₁) + …: the walk's order
    }

    /// Name of the first tensor holding a NaN or ±∞, if any.
    public var firstNonFiniteTensor: String? {
        var found: String? = nil
        forEachTensorValue { name, m in if found == nil && !m.isFinite { found = name } }
        return found
    }

    /// The same parameters in another precision, written into a set of the same layout.
    public func converted<Other: ParameterSet>(to other: Other) -> Other {
        var out = other
        out.tensors = tensors.map { $0.converted(to: Other.Real.self) }
        return out
    }
}

/// One tensor's share of `setToSum`: out[j] = (0 + a[j]) + b[j] and Σ out[j]², j ascending.
struct SquareChain<Real: Scalar> {
    let a: UnsafePointer<Real>, b: UnsafePointer<Real>, out: UnsafeMutablePointer<Real>
    let count: Int
    let tensor: Int

    /// Writes out and returns its Σ x² (one chain from 0).
    func run() -> Double {
        var s = 0.0
        for j in 0..<count {
            let x = (0 + a[j]) + b[j]
            out[j] = x
            s += Double(x) * Double(x)
        }
        return s
    }

    /// Two groups of about equal element counts: largest first, each to the lighter group.
    static func halves(_ chains: [SquareChain]) -> [[SquareChain]] {
        var groups: [[SquareChain]] = [[], []], load = [0, 0]
        for c in chains.sorted(by: { $0.count > $1.count }) {
            let g = load[0] <= load[1] ? 0 : 1
            groups[g].append(c); load[g] += c.count
        }
        return groups
    }
}
