// The GEMM micro-kernel on 16-lane vectors, for machines with AVX-512 (x86_64 only).
//
// This module alone is compiled for AVX-512 (`-target-cpu skylake-avx512`, see Package.swift);
// the engine calls it only after checking at run time that the CPU has AVX-512 (`GEMMKernels`),
// so the same binary still runs on an AVX2 machine. Entry points are never inlined into the
// engine: their instructions must stay inside this module.
//
// C[0..<rows, 0..<32] (+)= Σ_p A(r, p) · B[p, 0..<32], A(r, p) = a[r·rowStride + p·kStride],
// B one packed panel (row p at b + 32p). Each element of C is one FMA chain over p in order —
// the same chain as the engine's two 16-column AVX2 kernels, so both give identical numbers.
#if arch(x86_64)
import BPTTShims

public enum Kernels512 {
    @inline(never)
    public static func strip(rows: Int, k: Int, a: UnsafePointer<Float>, rowStride: Int, kStride: Int,
                             b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool) {
        // The tile of C is written at the end: its lines are requested now, while the K loop runs
        for r in 0..<rows { bptt_prefetch_for_write(c + r * ldc); bptt_prefetch_for_write(c + r * ldc + 16) }
        switch rows {
        case 6: kernel6x32(k: k, a: a, rowStride: rowStride, kStride: kStride, b: b, c: c, ldc: ldc, accumulate: accumulate)
        case 4: kernel4x32(k: k, a: a, rowStride: rowStride, kStride: kStride, b: b, c: c, ldc: ldc, accumulate: accumulate)
        case 2: kernel2x32(k: k, a: a, rowStride: rowStride, kStride: kStride, b: b, c: c, ldc: ldc, accumulate: accumulate)
        default: kernel1x32(k: k, a: a, kStride: kStride, b: b, c: c, accumulate: accumulate)
        }
    }
}

private let ldb = 32

@inline(__always)
private func load16(_ p: UnsafePointer<Float>) -> SIMD16<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
}

@inline(__always)
private func store16(_ v: SIMD16<Float>, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD16<Float>.self)
}

@inline(__always)
private func put(_ v0: SIMD16<Float>, _ v1: SIMD16<Float>, _ pc: UnsafeMutablePointer<Float>, _ accumulate: Bool) {
    if accumulate {
        store16(load16(pc) + v0, pc); store16(load16(pc + 16) + v1, pc + 16)
    } else {
        store16(v0, pc); store16(v1, pc + 16)
    }
}

/// C[0..<6, 0..<32] (+)= Σ_p A(0..<6, p) · B[p, 0..<32]: 12 accumulators in registers.
@inline(__always)
private func kernel6x32(k: Int, a: UnsafePointer<Float>, rowStride: Int, kStride: Int,
                        b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool) {
    var c00 = SIMD16<Float>(), c01 = SIMD16<Float>()
    var c10 = SIMD16<Float>(), c11 = SIMD16<Float>()
    var c20 = SIMD16<Float>(), c21 = SIMD16<Float>()
    var c30 = SIMD16<Float>(), c31 = SIMD16<Float>()
    var c40 = SIMD16<Float>(), c41 = SIMD16<Float>()
    var c50 = SIMD16<Float>(), c51 = SIMD16<Float>()
    var pb = b
    if kStride == 1 {
        // A row-major: 6 rows, each read left to right
        let a0 = a, a1 = a + 1 * rowStride, a2 = a + 2 * rowStride, a3 = a + 3 * rowStride, a4 = a + 4 * rowStride, a5 = a + 5 * rowStride
        for p in 0..<k {
            let b0 = load16(pb), b1 = load16(pb + 16)
            var s: SIMD16<Float>
            s = SIMD16<Float>(repeating: a0[p]); c00.addProduct(s, b0); c01.addProduct(s, b1)
            s = SIMD16<Float>(repeating: a1[p]); c10.addProduct(s, b0); c11.addProduct(s, b1)
            s = SIMD16<Float>(repeating: a2[p]); c20.addProduct(s, b0); c21.addProduct(s, b1)
            s = SIMD16<Float>(repeating: a3[p]); c30.addProduct(s, b0); c31.addProduct(s, b1)
            s = SIMD16<Float>(repeating: a4[p]); c40.addProduct(s, b0); c41.addProduct(s, b1)
            s = SIMD16<Float>(repeating: a5[p]); c50.addProduct(s, b0); c51.addProduct(s, b1)
            pb += ldb
        }
    } else {
        // A transposed or packed: the 6 values of step p are rowStride apart, steps kStride apart
        var pa = a
        for _ in 0..<k {
            let b0 = load16(pb), b1 = load16(pb + 16)
            var s: SIMD16<Float>
            s = SIMD16<Float>(repeating: pa[0 * rowStride]); c00.addProduct(s, b0); c01.addProduct(s, b1)
            s = SIMD16<Float>(repeating: pa[1 * rowStride]); c10.addProduct(s, b0); c11.addProduct(s, b1)
            s = SIMD16<Float>(repeating: pa[2 * rowStride]); c20.addProduct(s, b0); c21.addProduct(s, b1)
            s = SIMD16<Float>(repeating: pa[3 * rowStride]); c30.addProduct(s, b0); c31.addProduct(s, b1)
            s = SIMD16<Float>(repeating: pa[4 * rowStride]); c40.addProduct(s, b0); c41.addProduct(s, b1)
            s = SIMD16<Float>(repeating: pa[5 * rowStride]); c50.addProduct(s, b0); c51.addProduct(s, b1)
            pb += ldb
            pa += kStride
        }
    }
    put(c00, c01, c + 0 * ldc, accumulate)
    put(c10, c11, c + 1 * ldc, accumulate)
    put(c20, c21, c + 2 * ldc, accumulate)
    put(c30, c31, c + 3 * ldc, accumulate)
    put(c40, c41, c + 4 * ldc, accumulate)
    put(c50, c51, c + 5 * ldc, accumulate)
}

/// C[0..<4, 0..<32] (+)= Σ_p A(0..<4, p) · B[p, 0..<32]: 8 accumulators in registers.
@inline(__always)
private func kernel4x32(k: Int, a: UnsafePointer<Float>, rowStride: Int, kStride: Int,
                        b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool) {
    var c00 = SIMD16<Float>(), c01 = SIMD16<Float>()
    var c10 = SIMD16<Float>(), c11 = SIMD16<Float>()
    var c20 = SIMD16<Float>(), c21 = SIMD16<Float>()
    var c30 = SIMD16<Float>(), c31 = SIMD16<Float>()
    var pb = b
    if kStride == 1 {
        // A row-major: 4 rows, each read left to right
        let a0 = a, a1 = a + 1 * rowStride, a2 = a + 2 * rowStride, a3 = a + 3 * rowStride
        for p in 0..<k {
            let b0 = load16(pb), b1 = load16(pb + 16)
            var s: SIMD16<Float>
            s = SIMD16<Float>(repeating: a0[p]); c00.addProduct(s, b0); c01.addProduct(s, b1)
            s = SIMD16<Float>(repeating: a1[p]); c10.addProduct(s, b0); c11.addProduct(s, b1)
            s = SIMD16<Float>(repeating: a2[p]); c20.addProduct(s, b0); c21.addProduct(s, b1)
            s = SIMD16<Float>(repeating: a3[p]); c30.addProduct(s, b0); c31.addProduct(s, b1)
            pb += ldb
        }
    } else {
        // A transposed or packed: the 4 values of step p are rowStride apart, steps kStride apart
        var pa = a
        for _ in 0..<k {
            let b0 = load16(pb), b1 = load16(pb + 16)
            var s: SIMD16<Float>
            s = SIMD16<Float>(repeating: pa[0 * rowStride]); c00.addProduct(s, b0); c01.addProduct(s, b1)
            s = SIMD16<Float>(repeating: pa[1 * rowStride]); c10.addProduct(s, b0); c11.addProduct(s, b1)
            s = SIMD16<Float>(repeating: pa[2 * rowStride]); c20.addProduct(s, b0); c21.addProduct(s, b1)
            s = SIMD16<Float>(repeating: pa[3 * rowStride]); c30.addProduct(s, b0); c31.addProduct(s, b1)
            pb += ldb
            pa += kStride
        }
    }
    put(c00, c01, c + 0 * ldc, accumulate)
    put(c10, c11, c + 1 * ldc, accumulate)
    put(c20, c21, c + 2 * ldc, accumulate)
    put(c30, c31, c + 3 * ldc, accumulate)
}

/// C[0..<2, 0..<32] (+)= Σ_p A(0..<2, p) · B[p, 0..<32]: 4 accumulators in registers.
@inline(__always)
private func kernel2x32(k: Int, a: UnsafePointer<Float>, rowStride: Int, kStride: Int,
                        b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool) {
    var c00 = SIMD16<Float>(), c01 = SIMD16<Float>()
    var c10 = SIMD16<Float>(), c11 = SIMD16<Float>()
    var pb = b
    if kStride == 1 {
        // A row-major: 2 rows, each read left to right
        let a0 = a, a1 = a + 1 * rowStride
        for p in 0..<k {
            let b0 = load16(pb), b1 = load16(pb + 16)
            var s: SIMD16<Float>
            s = SIMD16<Float>(repeating: a0[p]); c00.addProduct(s, b0); c01.addProduct(s, b1)
            s = SIMD16<Float>(repeating: a1[p]); c10.addProduct(s, b0); c11.addProduct(s, b1)
            pb += ldb
        }
    } else {
        // A transposed or packed: the 2 values of step p are rowStride apart, steps kStride apart
        var pa = a
        for _ in 0..<k {
            let b0 = load16(pb), b1 = load16(pb + 16)
            var s: SIMD16<Float>
            s = SIMD16<Float>(repeating: pa[0 * rowStride]); c00.addProduct(s, b0); c01.addProduct(s, b1)
            s = SIMD16<Float>(repeating: pa[1 * rowStride]); c10.addProduct(s, b0); c11.addProduct(s, b1)
            pb += ldb
            pa += kStride
        }
    }
    put(c00, c01, c + 0 * ldc, accumulate)
    put(c10, c11, c + 1 * ldc, accumulate)
}

/// C[0, 0..<32] (+)= Σ_p A(0, p) · B[p, 0..<32]
@inline(__always)
private func kernel1x32(k: Int, a: UnsafePointer<Float>, kStride: Int,
                        b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, accumulate: Bool) {
    var c0 = SIMD16<Float>(), c1 = SIMD16<Float>()
    var pb = b
    var off = 0
    for _ in 0..<k {
        let s = SIMD16<Float>(repeating: a[off])
        c0.addProduct(s, load16(pb)); c1.addProduct(s, load16(pb + 16))
        pb += ldb
        off += kStride
    }
    put(c0, c1, c, accumulate)
}

#endif

/// 12 independent chains of FMAs on `V` (enough in flight to cover the latency of two FMA
/// units): `bptt bench`'s peak measurement. Written once; the engine runs it on 8 lanes, this
/// module on 16.
@inlinable @inline(__always)
public func fmaChains<V: SIMD>(_: V.Type, iterations: Int, seed: Float) -> Float where V.Scalar == Float {
    let a = V(repeating: 0.999_999 + seed), b = V(repeating: 1e-7)
    var c0 = V(repeating: 0), c1 = V(repeating: 1), c2 = V(repeating: 2), c3 = V(repeating: 3)
    var c4 = V(repeating: 4), c5 = V(repeating: 5), c6 = V(repeating: 6), c7 = V(repeating: 7)
    var c8 = V(repeating: 8), c9 = V(repeating: 9), c10 = V(repeating: 10), c11 = V(repeating: 11)
    for _ in 0..<iterations {
        c0 = c0.addingProduct(a, b); c1 = c1.addingProduct(a, b); c2 = c2.addingProduct(a, b)
        c3 = c3.addingProduct(a, b); c4 = c4.addingProduct(a, b); c5 = c5.addingProduct(a, b)
        c6 = c6.addingProduct(a, b); c7 = c7.addingProduct(a, b); c8 = c8.addingProduct(a, b)
        c9 = c9.addingProduct(a, b); c10 = c10.addingProduct(a, b); c11 = c11.addingProduct(a, b)
    }
    let s = (c0 + c1 + c2 + c3) + (c4 + c5 + c6 + c7) + (c8 + c9 + c10 + c11)
    return s.sum()
}

#if arch(x86_64)
extension Kernels512 {
    /// `fmaChains` on 16 lanes, built for AVX-512.
    @inline(never)
    public static func fmaChains(iterations: Int, seed: Float) -> Float {
        BPTTKernels512.fmaChains(SIMD16<Float>.self, iterations: iterations, seed: seed)
    }
}
#endif
