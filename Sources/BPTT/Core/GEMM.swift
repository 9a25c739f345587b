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
/// Loop order: 16-column panels of B outside, 6-row strips of A inside, so one panel of B
/// (K×16) is read from cache by every strip. A panel is used in place when B is row-major and
/// the panel is whole; a transposed B, or the last narrow panel, is first packed into a K×16
/// scratch panel (zero-padded). Edge tiles of C go through a 6×16 scratch tile. The scratch
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
    let scratch = threadScratch(T.self, count: k * nr + mr * nr)
    let panel = scratch            // K×16, packed columns of op(B)
    let tile = scratch + k * nr    // 6×16, an edge tile of C
    var j0 = 0
    while j0 < n {
        let cols = min(nr, n - j0)
        let bp: UnsafePointer<T>
        let ldbp: Int
        if !transB && cols == nr {
            bp = b + j0
            ldbp = ldb
        } else {
            if transB {
                // op(B)[p, j0 + q] = B[j0 + q, p]: row j0+q of B, read contiguously
                for q in 0..<nr {
                    if q < cols {
                        let src = b + (j0 + q) * ldb
                        for p in 0..<k { panel[p * nr + q] = src[p] }
                    } else {
                        for p in 0..<k { panel[p * nr + q] = 0 }
                    }
                }
            } else {
                for p in 0..<k {
                    let src = b + p * ldb + j0
                    for q in 0..<nr { panel[p * nr + q] = q < cols ? src[q] : 0 }
                }
            }
            bp = UnsafePointer(panel)
            ldbp = nr
        }
        var i0 = 0
        while i0 < m {
            let rows = min(mr, m - i0)
            let ai = a + i0 * rowStride
            if rows == mr && cols == nr {
                kernel6x16(k: k, a: ai, rowStride: rowStride, kStride: kStride,
                           b: bp, ldb: ldbp, c: c + i0 * ldc + j0, ldc: ldc, accumulate: accumulate)
            } else if cols == nr {
                // last rows of a whole panel: one row at a time, straight into C
                for r in 0..<rows {
                    kernel1x16(k: k, a: ai + r * rowStride, kStride: kStride,
                               b: bp, ldb: ldbp, c: c + (i0 + r) * ldc + j0, accumulate: accumulate)
                }
            } else {
                for r in 0..<mr {
                    for q in 0..<nr { tile[r * nr + q] = (accumulate && r < rows && q < cols) ? c[(i0 + r) * ldc + j0 + q] : 0 }
                }
                if rows == mr {
                    kernel6x16(k: k, a: ai, rowStride: rowStride, kStride: kStride,
                               b: bp, ldb: ldbp, c: tile, ldc: nr, accumulate: true)
                } else {
                    for r in 0..<rows {
                        kernel1x16(k: k, a: ai + r * rowStride, kStride: kStride,
                                   b: bp, ldb: ldbp, c: tile + r * nr, accumulate: true)
                    }
                }
                for r in 0..<rows {
                    for q in 0..<cols { c[(i0 + r) * ldc + j0 + q] = tile[r * nr + q] }
                }
            }
            i0 += rows
        }
        j0 += cols
    }
}

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
    let a0 = a, a1 = a + rowStride, a2 = a + 2 * rowStride
    let a3 = a + 3 * rowStride, a4 = a + 4 * rowStride, a5 = a + 5 * rowStride
    var pb = b
    var off = 0
    for _ in 0..<k {
        let b0 = load8(pb), b1 = load8(pb + 8)
        var s = SIMD8<T>(repeating: a0[off]); c00.addProduct(s, b0); c01.addProduct(s, b1)
        s = SIMD8<T>(repeating: a1[off]); c10.addProduct(s, b0); c11.addProduct(s, b1)
        s = SIMD8<T>(repeating: a2[off]); c20.addProduct(s, b0); c21.addProduct(s, b1)
        s = SIMD8<T>(repeating: a3[off]); c30.addProduct(s, b0); c31.addProduct(s, b1)
        s = SIMD8<T>(repeating: a4[off]); c40.addProduct(s, b0); c41.addProduct(s, b1)
        s = SIMD8<T>(repeating: a5[off]); c50.addProduct(s, b0); c51.addProduct(s, b1)
        pb += ldb
        off += kStride
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
