import Foundation

/// Whole-buffer transcendental functions. The cells call these instead of a scalar loop, so
/// Float training runs an 8-wide SIMD approximation while Double (gradient checks) keeps the
/// correctly rounded libm functions — one call site, two precisions.
extension Scalar {
    /// x ← tanh(x) for every element.
    @inlinable public static func tanh(inPlace x: UnsafeMutableBufferPointer<Self>) {
        if Self.self == Float.self {
            x.withMemoryRebound(to: Float.self) { floatTanh($0) }
        } else {
            for i in x.indices { x[i] = tanh(x[i]) }
        }
    }

    /// x ← σ(x) = 1/(1+e^{−x}) = ½ tanh(x/2) + ½ for every element.
    @inlinable public static func sigmoid(inPlace x: UnsafeMutableBufferPointer<Self>) {
        if Self.self == Float.self {
            x.withMemoryRebound(to: Float.self) { floatSigmoid($0) }
        } else {
            for i in x.indices { x[i] = sigmoid(x[i]) }
        }
    }
}

/// tanh on 8 floats: Eigen's rational approximation (degree 13/6 in x, inputs clamped to
/// ±7.905, where tanh rounds to ±1 in Float). Max error a few ulp.
@inline(__always) @usableFromInline
func tanh8(_ v: SIMD8<Float>) -> SIMD8<Float> {
    let c: Float = 7.90531110763549805
    // clamp to ±c (written with masks: SIMD `clamped` is not inlined and costs a call)
    let hi = SIMD8<Float>(repeating: c), lo = SIMD8<Float>(repeating: -c)
    let x = v.replacing(with: hi, where: v .> hi).replacing(with: lo, where: v .< lo)
    let x2 = x * x
    var p = SIMD8<Float>(repeating: -2.76076847742355e-16)
    p = p * x2 + SIMD8(repeating: 2.00018790482477e-13)
    p = p * x2 + SIMD8(repeating: -8.60467152213735e-11)
    p = p * x2 + SIMD8(repeating: 5.12229709037114e-08)
    p = p * x2 + SIMD8(repeating: 1.48572235717979e-05)
    p = p * x2 + SIMD8(repeating: 6.37261928875436e-04)
    p = p * x2 + SIMD8(repeating: 4.89352455891786e-03)
    p = p * x
    var q = SIMD8<Float>(repeating: 1.19825839466702e-06)
    q = q * x2 + SIMD8(repeating: 1.18534705686654e-04)
    q = q * x2 + SIMD8(repeating: 2.26843463243900e-03)
    q = q * x2 + SIMD8(repeating: 4.89352518554385e-03)
    return p / q
}

@usableFromInline
func floatTanh(_ x: UnsafeMutableBufferPointer<Float>) {
    let n = x.count, base = x.baseAddress!
    var i = 0
    while i + 8 <= n {
        let raw = UnsafeMutableRawPointer(base + i)
        raw.storeBytes(of: tanh8(raw.loadUnaligned(as: SIMD8<Float>.self)), as: SIMD8<Float>.self)
        i += 8
    }
    while i < n { base[i] = tanh8(SIMD8(repeating: base[i]))[0]; i += 1 }
}

@usableFromInline
func floatSigmoid(_ x: UnsafeMutableBufferPointer<Float>) {
    let n = x.count, base = x.baseAddress!
    let half = SIMD8<Float>(repeating: 0.5)
    var i = 0
    while i + 8 <= n {
        let raw = UnsafeMutableRawPointer(base + i)
        let v = raw.loadUnaligned(as: SIMD8<Float>.self)
        raw.storeBytes(of: tanh8(v * half) * half + half, as: SIMD8<Float>.self)
        i += 8
    }
    while i < n { base[i] = (tanh8(SIMD8(repeating: base[i] * 0.5)) * half + half)[0]; i += 1 }
}

/// Eight lanes of a row starting at `p`, the last `8 − n` lanes zero when fewer than 8 remain:
/// the elementwise loops of the cells run 8 columns at a time with one body for full and tail
/// chunks (the scalar loops did not vectorise: the compiler could not rule out aliasing).
@inline(__always)
func lanes8<Real: Scalar>(_ p: UnsafePointer<Real>, _ n: Int) -> SIMD8<Real> {
    if n == 8 { return UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Real>.self) }
    var v = SIMD8<Real>()
    for l in 0..<n { v[l] = p[l] }
    return v
}

@inline(__always)
func lanes8<Real: Scalar>(_ p: UnsafeMutablePointer<Real>, _ n: Int) -> SIMD8<Real> { lanes8(UnsafePointer(p), n) }

/// Stores the first `n` lanes of `v` at `p`.
@inline(__always)
func store8<Real: Scalar>(_ v: SIMD8<Real>, _ p: UnsafeMutablePointer<Real>, _ n: Int) {
    if n == 8 { UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Real>.self); return }
    for l in 0..<n { p[l] = v[l] }
}
