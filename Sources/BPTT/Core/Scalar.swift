import Foundation

/// The element type of every tensor: `Float` for training, `Double` for gradient checks.
///
/// All model code is generic over `Scalar`, so the same forward and backward serve both
/// precisions. The few transcendental functions a network needs are requirements here,
/// because the standard library offers them only per concrete type.
public protocol Scalar: BinaryFloatingPoint, SIMDScalar, Sendable, Codable, CustomStringConvertible
where Self.RawSignificand: FixedWidthInteger {
    static func exp(_ x: Self) -> Self
    static func log(_ x: Self) -> Self
    static func tanh(_ x: Self) -> Self
    /// σ on 8 lanes, the same bits as `sigmoid` lane by lane (Float: one SIMD evaluation with
    /// `expf8`; Double: `sigmoid` per lane).
    static func sigmoid(_ x: SIMD8<Self>) -> SIMD8<Self>
    /// Name used in dumps and messages ("float32", "float64").
    static var typeName: String { get }
}

extension Float: Scalar {
    @inlinable public static func exp(_ x: Float) -> Float { Foundation.expf(x) }
    @inlinable public static func log(_ x: Float) -> Float { Foundation.logf(x) }
    @inlinable public static func tanh(_ x: Float) -> Float { Foundation.tanhf(x) }
    /// e = e^{−|x|} on every lane, then 1/(1 + e) where x ≥ 0 and e/(1 + e) elsewhere: the scalar
    /// σ's two branches as one select (and libm's expf as `expf8`), so the same bits.
    @inline(__always) public static func sigmoid(_ x: SIMD8<Float>) -> SIMD8<Float> {
        let nonNegative = x .>= 0
        let e = expf8(x.replacing(with: -x, where: nonNegative))
        let one = SIMD8<Float>(repeating: 1)
        return (e / (one + e)).replacing(with: one / (one + e), where: nonNegative)
    }
    public static var typeName: String { "float32" }
}

extension Double: Scalar {
    @inlinable public static func exp(_ x: Double) -> Double { Foundation.exp(x) }
    @inlinable public static func log(_ x: Double) -> Double { Foundation.log(x) }
    @inlinable public static func tanh(_ x: Double) -> Double { Foundation.tanh(x) }
    public static func sigmoid(_ x: SIMD8<Double>) -> SIMD8<Double> {
        var y = x
        for l in 0..<8 { y[l] = sigmoid(x[l]) }
        return y
    }
    public static var typeName: String { "float64" }
}

extension Scalar {
    /// σ(x) = 1 / (1 + e^{−x}), written so that large |x| neither overflows nor loses precision.
    @inlinable public static func sigmoid(_ x: Self) -> Self {
        if x >= 0 { return 1 / (1 + exp(-x)) }
        let e = exp(x)
        return e / (1 + e)
    }
}
