/// General matrix multiply in the three forms backpropagation needs, row-major:
///
///     C = op(A) · op(B) + β·C        op(X) = X or Xᵀ
///
/// forward of a linear map   y  = x·Wᵀ      gemm(x, W, transB: true)
/// gradient to its input     dx = dy·W      gemm(dy, W)
/// gradient to its weight    dW = dyᵀ·x     gemm(dy, transA: true, x)
///
/// The work is done by a 6×16 register-blocked micro-kernel on `SIMD8<T>`: six rows of C,
/// two SIMD8 vectors of columns, twelve accumulators kept in registers across the whole K loop.
/// A is read in place (either orientation costs the same: one scalar broadcast per row per k).
/// B is read in 16-column panels; a transposed B is packed panel by panel (see below).
public func gemm<T: Scalar>(
    _ a: Matrix<T>, transA: Bool = false,
    _ b: Matrix<T>, transB: Bool = false,
    into c: inout Matrix<T>, beta: T = 0
) {
    let (m, ka) = transA ? (a.cols, a.rows) : (a.rows, a.cols)
    let (kb, n) = transB ? (b.cols, b.rows) : (b.rows, b.cols)
    precondition(ka == kb, "gemm: inner dimensions differ (\(m)x\(ka) · \(kb)x\(n))")
    precondition(c.rows == m && c.cols == n, "gemm: output is \(c.rows)x\(c.cols), expected \(m)x\(n)")
    a.data.withUnsafeBufferPointer { pa in
        b.data.withUnsafeBufferPointer { pb in
            c.data.withUnsafeMutableBufferPointer { pc in
                gemm(m: m, n: n, k: ka,
                     a: pa.baseAddress!, lda: a.cols, transA: transA,
                     b: pb.baseAddress!, ldb: b.cols, transB: transB,
                     c: pc.baseAddress!, ldc: n, beta: beta)
            }
        }
    }
}

/// Pointer-level GEMM (BLAS-style leading dimensions). `beta` must be 0 or 1.
///
/// Loop order: 16-column panels of B outside, then blocks of at most 256 rows of K, then 6-row
/// strips of A, so one packed panel of B (≤ 256×16, zero-padded) is read from L1 by every strip.
/// Every panel is packed (a transposed B column by column, a row-major B by SIMD copies): rows of
/// a row-major B lie ldb apart, and at ldb = 512 or 1024 they alias in L1 (measured: dx = dy·W
/// ran at 15 GFLOP/s unpacked, 40+ packed). Edge tiles of C go through a 6×16 scratch tile. The scratch
/// space belongs to the calling thread and is reused: no allocation per call.
public func gemm<T: Scalar>(
    m: Int, n: Int, k: Int,
    a: UnsafePointer<T>, lda: Int, transA: Bool,
    b: UnsafePointer<T>, ldb: Int, transB: Bool,
    c: UnsafeMutablePointer<T>, ldc: Int, beta: T
) {
    precondition(beta == 0 || beta == 1, "gemm: beta must be 0 or 1")
    if m == 0 || n == 0 { return }
    let accumulate = beta == 1
    if k == 0 {
        if !accumulate { for i in 0..<m { (c + i * ldc).update(repeating: 0, count: n) } }
        return
    }
    // A(i, p) = a[i·rowStride + p·kStride]
    let rowStride = transA ? 1 : lda
    let kStride = transA ? lda : 1
    let kc = min(k, kcMax)
    let scratch = threadScratch(T.self, count: kc * nr + mr * nr)
    let panel = scratch            // kc×16, packed columns of op(B) for rows p0..<p0+kc
    let tile = scratch + kc * nr   // 6×16, an edge tile of C
    var j0 = 0
    while j0 < n {
        let cols = min(nr, n - j0)
        var p0 = 0
        while p0 < k {
            let kb = min(kc, k - p0)
            // Every K-block after the first adds to what the earlier ones wrote.
            let acc = accumulate || p0 > 0
            if transB {
                // op(B)[p, j0 + q] = B[j0 + q, p]: row j0+q of B, read contiguously
                for q in 0..<nr {
                    if q < cols {
                        let src = b + (j0 + q) * ldb + p0
                        for p in 0..<kb { panel[p * nr + q] = src[p] }
                    } else {
                        for p in 0..<kb { panel[p * nr + q] = 0 }
                    }
                }
            } else if cols == nr {
                // Packed even when whole: rows of B a page apart alias in L1, a contiguous panel does not.
                for p in 0..<kb {
                    let src = b + (p0 + p) * ldb + j0
                    store8(load8(src), panel + p * nr); store8(load8(src + 8), panel + p * nr + 8)
                }
            } else {
                for p in 0..<kb {
                    let src = b + (p0 + p) * ldb + j0
                    for q in 0..<nr { panel[p * nr + q] = q < cols ? src[q] : 0 }
                }
            }
            let bp = UnsafePointer(panel)
            var i0 = 0
            while i0 < m {
                let rows = min(mr, m - i0)
                let ai = a + i0 * rowStride + p0 * kStride
                if rows == mr && cols == nr {
                    kernel6x16(k: kb, a: ai, rowStride: rowStride, kStride: kStride,
                               b: bp, ldb: nr, c: c + i0 * ldc + j0, ldc: ldc, accumulate: acc)
                } else if cols == nr {
                    // last rows of a whole panel: one row at a time, straight into C
                    for r in 0..<rows {
                        kernel1x16(k: kb, a: ai + r * rowStride, kStride: kStride,
                                   b: bp, ldb: nr, c: c + (i0 + r) * ldc + j0, accumulate: acc)
                    }
                } else {
                    for r in 0..<mr {
                        for q in 0..<nr { tile[r * nr + q] = (acc && r < rows && q < cols) ? c[(i0 + r) * ldc + j0 + q] : 0 }
                    }
                    if rows == mr {
                        kernel6x16(k: kb, a: ai, rowStride: rowStride, kStride: kStride,
                                   b: bp, ldb: nr, c: tile, ldc: nr, accumulate: true)
                    } else {
                        for r in 0..<rows {
                            kernel1x16(k: kb, a: ai + r * rowStride, kStride: kStride,
                                       b: bp, ldb: nr, c: tile + r * nr, accumulate: true)
                        }
                    }
                    for r in 0..<rows {
                        for q in 0..<cols { c[(i0 + r) * ldc + j0 + q] = tile[r * nr + q] }
                    }
                }
                i0 += rows
            }
            p0 += kb
        }
        j0 += cols
    }
}

/// Rows of op(B) per packed panel: 256 × 16 floats = 16 KB, which stays in L1 while every
/// 6-row strip of A streams past it.
private let kcMax = 256
private let mr = 6   // rows of C per micro-kernel call
private let nr = 16  // columns of C per micro-kernel call (two SIMD8 vectors)

@inline(__always)
private func load8<T: Scalar>(_ p: UnsafePointer<T>) -> SIMD8<T> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD8<T>.self)
}

@inline(__always)
private func store8<T: Scalar>(_ v: SIMD8<T>, _ p: UnsafeMutablePointer<T>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<T>.self)
}

/// C[0..<6, 0..<16] (+)= Σ_p A(0..<6, p) · B[p, 0..<16], A(r, p) = a[r·rowStride + p·kStride]
@inline(__always)
private func kernel6x16<T: Scalar>(
    k: Int, a: UnsafePointer<T>, rowStride: Int, kStride: Int,
    b: UnsafePointer<T>, ldb: Int, c: UnsafeMutablePointer<T>, ldc: Int, accumulate: Bool
) {
    var c00 = SIMD8<T>(), c01 = SIMD8<T>()
    var c10 = SIMD8<T>(), c11 = SIMD8<T>()
    var c20 = SIMD8<T>(), c21 = SIMD8<T>()
    var c30 = SIMD8<T>(), c31 = SIMD8<T>()
    var c40 = SIMD8<T>(), c41 = SIMD8<T>()
    var c50 = SIMD8<T>(), c51 = SIMD8<T>()
    var pb = b
    if kStride == 1 {
        // A row-major: six rows, each read left to right
        let a0 = a, a1 = a + rowStride, a2 = a + 2 * rowStride
        let a3 = a + 3 * rowStride, a4 = a + 4 * rowStride, a5 = a + 5 * rowStride
        for p in 0..<k {
            let b0 = load8(pb), b1 = load8(pb + 8)
            var s = SIMD8<T>(repeating: a0[p]); c00.addProduct(s, b0); c01.addProduct(s, b1)
            s = SIMD8<T>(repeating: a1[p]); c10.addProduct(s, b0); c11.addProduct(s, b1)
            s = SIMD8<T>(repeating: a2[p]); c20.addProduct(s, b0); c21.addProduct(s, b1)
            s = SIMD8<T>(repeating: a3[p]); c30.addProduct(s, b0); c31.addProduct(s, b1)
            s = SIMD8<T>(repeating: a4[p]); c40.addProduct(s, b0); c41.addProduct(s, b1)
            s = SIMD8<T>(repeating: a5[p]); c50.addProduct(s, b0); c51.addProduct(s, b1)
            pb += ldb
        }
    } else {
        // A transposed (rowStride 1): the six values of step p are adjacent, steps kStride apart.
        // A separate loop keeps the addressing to one pointer (the shared form spilled registers).
        var pa = a
        for _ in 0..<k {
            let b0 = load8(pb), b1 = load8(pb + 8)
            var s = SIMD8<T>(repeating: pa[0]); c00.addProduct(s, b0); c01.addProduct(s, b1)
            s = SIMD8<T>(repeating: pa[1]); c10.addProduct(s, b0); c11.addProduct(s, b1)
            s = SIMD8<T>(repeating: pa[2]); c20.addProduct(s, b0); c21.addProduct(s, b1)
            s = SIMD8<T>(repeating: pa[3]); c30.addProduct(s, b0); c31.addProduct(s, b1)
            s = SIMD8<T>(repeating: pa[4]); c40.addProduct(s, b0); c41.addProduct(s, b1)
            s = SIMD8<T>(repeating: pa[5]); c50.addProduct(s, b0); c51.addProduct(s, b1)
            pb += ldb
            pa += kStride
        }
    }
    @inline(__always) func put(_ v0: SIMD8<T>, _ v1: SIMD8<T>, _ row: Int) {
        let pc = c + row * ldc
        if accumulate {
            store8(load8(pc) + v0, pc); store8(load8(pc + 8) + v1, pc + 8)
        } else {
            store8(v0, pc); store8(v1, pc + 8)
        }
    }
    put(c00, c01, 0); put(c10, c11, 1); put(c20, c21, 2)
    put(c30, c31, 3); put(c40, c41, 4); put(c50, c51, 5)
}

/// C[0, 0..<16] (+)= Σ_p A(0, p) · B[p, 0..<16]
@inline(__always)
private func kernel1x16<T: Scalar>(
    k: Int, a: UnsafePointer<T>, kStride: Int,
    b: UnsafePointer<T>, ldb: Int, c: UnsafeMutablePointer<T>, accumulate: Bool
) {
    var c0 = SIMD8<T>(), c1 = SIMD8<T>()
    var pb = b
    var off = 0
    for _ in 0..<k {
        let s = SIMD8<T>(repeating: a[off])
        c0.addProduct(s, load8(pb)); c1.addProduct(s, load8(pb + 8))
        pb += ldb
        off += kStride
    }
    if accumulate {
        store8(load8(c) + c0, c); store8(load8(c + 8) + c1, c + 8)
    } else {
        store8(c0, c); store8(c1, c + 8)
    }
}
