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

/// e^x on 8 floats, bit for bit the `expf` of glibc (2.28 and later, as its FMA build runs on
/// x86-64), so a SIMD loop gives the numbers the scalar loop gave. The method is glibc's (from
/// Arm's optimized-routines): in binary64, x·32/ln 2 = k + r with k an integer and |r| ≤ ½;
/// e^x = 2^(k/32)·2^(r/32), 2^(k/32) from a 32-entry table with k's high bits added into the
/// exponent field, 2^(r/32) ≈ 1 + C₂r + C₁r² + C₀r³; one rounding to Float at the end. Lanes with
/// |x| ≥ 88, ±∞ or NaN (where glibc leaves this path for overflow, underflow and NaN) call `expf`.
/// Checked against `expf` over all 2³² inputs (glibc 2.36): no bit differs. `VectorizedTests`
/// checks a spread of a million of them on every run.
@inline(__always)
public func expf8(_ x: SIMD8<Float>) -> SIMD8<Float> {
    typealias D = SIMD8<Double>
    let invLn2N = D(repeating: 0x1.71547652b82fep+5)                       // 32/ln 2
    let shift = D(repeating: 0x1.8p+52)                                    // rounds to an integer, ties to even
    let c0 = D(repeating: 0x1.c6af84b912394p-20), c1 = D(repeating: 0x1.ebfce50fac4f3p-13)
    let c2 = D(repeating: 0x1.62e42ff0c52d6p-6)
    let xd = D(x)
    // k = round(x·32/ln 2), in the low bits of kd's significand; r = x·32/ln 2 − k (fused, as glibc's)
    var kd = shift.addingProduct(invLn2N, xd)
    let ki = unsafeBitCast(kd, to: SIMD8<UInt64>.self)
    kd -= shift
    let r = (-kd).addingProduct(invLn2N, xd)
    // s = 2^(k/32): table entry k mod 32, with k's bits shifted into the exponent
    var t = SIMD8<UInt64>()
    exp2Table32.withUnsafeBufferPointer { table in
        for l in 0..<8 { t[l] = table[Int(truncatingIfNeeded: ki[l] & 31)] }
    }
    t &+= ki &<< 47
    let s = unsafeBitCast(t, to: D.self)
    // 2^(r/32) ≈ (C₀r + C₁)·r² + (C₂r + 1)
    let z = c1.addingProduct(c0, r)
    let r2 = r * r
    var y = D(repeating: 1).addingProduct(c2, r)
    y = y.addingProduct(z, r2)
    var e = SIMD8<Float>(y * s)
    let ordinary = (x .< 88) .& (x .> -88)
    if !all(ordinary) {
        for l in 0..<8 where !ordinary[l] { e[l] = Foundation.expf(x[l]) }
    }
    return e
}

/// 2^(i/32), i = 0…31, as binary64 bit patterns (correctly rounded), each less i·2⁴⁷ so that
/// adding k·2⁴⁷ to entry k mod 32 gives 2^(k/32) (`expf8`). A literal: built at compile time.
let exp2Table32: [UInt64] = [
    0x3ff0000000000000, 0x3fefd9b0d3158574, 0x3fefb5586cf9890f, 0x3fef9301d0125b51,
    0x3fef72b83c7d517b, 0x3fef54873168b9aa, 0x3fef387a6e756238, 0x3fef1e9df51fdee1,
    0x3fef06fe0a31b715, 0x3feef1a7373aa9cb, 0x3feedea64c123422, 0x3feece086061892d,
    0x3feebfdad5362a27, 0x3feeb42b569d4f82, 0x3feeab07dd485429, 0x3feea47eb03a5585,
    0x3feea09e667f3bcd, 0x3fee9f75e8ec5f74, 0x3feea11473eb0187, 0x3feea589994cce13,
    0x3feeace5422aa0db, 0x3feeb737b0cdc5e5, 0x3feec49182a3f090, 0x3feed503b23e255d,
    0x3feee89f995ad3ad, 0x3feeff76f2fb5e47, 0x3fef199bdd85529c, 0x3fef3720dcef9069,
    0x3fef5818dcfba487, 0x3fef7c97337b9b5f, 0x3fefa4afa2a490da, 0x3fefd0765b6e4540,
]

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
