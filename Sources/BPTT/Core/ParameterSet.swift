import Foundation

/// A part's learnable tensors, as named stored properties (`W_hh`, `b_h`, …).
///
/// A conforming struct lists its tensors once, in a fixed order, with their names. Everything
/// that must walk all parameters — zeroing gradients, the optimisers, gradient clipping,
/// gradient checks, checkpoints and dumps — uses that one list. Gradients have the same type
/// as the parameters, so `grads.W_hh` sits beside `params.W_hh`.
public protocol ParameterSet {
    associatedtype T: Scalar
    /// The tensors, in order, with their public names.
    static var tensorPaths: [(name: String, path: WritableKeyPath<Self, Matrix<T>>)] { get }
    /// The tensors of this value, in order. Defaults to `tensorPaths`; a set whose tensors are
    /// known only at run time (a stack of N layers) lists them here instead.
    var parameterPaths: [(name: String, path: WritableKeyPath<Self, Matrix<T>>)] { get }
}

extension ParameterSet {
    public var parameterPaths: [(name: String, path: WritableKeyPath<Self, Matrix<T>>)] {
        KeyPathCache.paths(Self.self) { Self.tensorPaths }
    }
}

/// The key-path lists, built once per type (and shape) and reused. A key path into a generic
/// struct is instantiated by the runtime each time its literal runs — demangling, metadata
/// lookups, allocation — and every optimiser step, clip and norm walks the list: that cost 16%
/// of an LSTM training step before this cache.
public enum KeyPathCache {
    private struct Key: Hashable { let type: ObjectIdentifier; let shape: [Int] }
    private static let lock = NSLock()
    nonisolated(unsafe) private static var store: [Key: Any] = [:]

    /// The list for `type` (and `shape`, e.g. layers and directions of a stack), built by `build`
    /// the first time.
    public static func paths<S: ParameterSet>(_ type: S.Type, shape: [Int] = [],
                                              build: () -> [(name: String, path: WritableKeyPath<S, Matrix<S.T>>)])
        -> [(name: String, path: WritableKeyPath<S, Matrix<S.T>>)] {
        let key = Key(type: ObjectIdentifier(type), shape: shape)
        lock.lock()
        let found = store[key]
        lock.unlock()
        if let found { return found as! [(name: String, path: WritableKeyPath<S, Matrix<S.T>>)] }
        let built = build()
        lock.lock()
        store[key] = built
        lock.unlock()
        return built
    }
}

extension ParameterSet {
    public var tensorNames: [String] { parameterPaths.map(\.name) }

    /// The tensors in order.
    public var tensors: [Matrix<T>] { parameterPaths.map { self[keyPath: $0.path] } }

    /// A set of the same shapes, all zero: the gradient accumulator.
    public func zeros() -> Self {
        var z = self
        for (_, p) in parameterPaths { z[keyPath: p] = Matrix(zerosLike: self[keyPath: p]) }
        return z
    }

    /// Zeroes every tensor in place (no reallocation).
    public mutating func zero() {
        for (_, p) in parameterPaths { self[keyPath: p].zero() }
    }

    /// self += other, tensor by tensor (summing shard gradients, in a fixed order).
    public mutating func add(_ other: Self) {
        for (_, p) in parameterPaths { self[keyPath: p].add(other[keyPath: p]) }
    }

    /// Number of scalars.
    public var parameterCount: Int { parameterPaths.reduce(0) { $0 + self[keyPath: $1.path].count } }

    /// √(Σ over all tensors of Σ x²): the global norm used for clipping.
    public var globalNorm: Double { parameterPaths.reduce(0.0) { $0 + self[keyPath: $1.path].sumOfSquares }.squareRoot() }

    /// Name of the first tensor holding a NaN or ±∞, if any.
    public var firstNonFiniteTensor: String? {
        parameterPaths.first { !self[keyPath: $0.path].isFinite }?.name
    }

    /// The same parameters in another precision.
    public func converted<Other: ParameterSet>(to other: Other) -> Other {
        var out = other
        for ((_, p), (_, q)) in zip(parameterPaths, other.parameterPaths) {
            out[keyPath: q] = self[keyPath: p].converted(to: Other.T.self)
        }
        return out
    }
}
