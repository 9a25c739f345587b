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
/// A is read in place (either orientation costs the same: one scalar broadcast per row per k);
/// B must be row-major K×N, so a transposed B is first copied into scratch space.
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
public func gemm<T: Scalar>(
    m: Int, n: Int, k: Int,
    a: UnsafePointer<T>, lda: Int, transA: Bool,
    b: UnsafePointer<T>, ldb: Int, transB: Bool,
    c: UnsafeMutablePointer<T>, ldc: Int, beta: T
) {
    precondition(beta == 0 || beta == 1, "gemm: beta must be 0 or 1")
    if m == 0 || n == 0 { return }
    if k == 0 {
        if beta == 0 { for i in 0..<m { (c + i * ldc).update(repeating: 0, count: n) } }
        return
    }
    if transB {
        // B is stored N×K; the kernel wants K×N rows. Copy once (cheap next to the M·N·K work).
        withUnsafeTemporaryAllocation(of: T.self, capacity: k * n) { bt in
            let bt = bt.baseAddress!
            // Blocked 16×16 so that both the reads and the strided writes stay in cache.
            var j0 = 0
            while j0 < n {
                let j1 = min(j0 + 16, n)
                var p0 = 0
                while p0 < k {
                    let p1 = min(p0 + 16, k)
                    for j in j0..<j1 {
                        for p in p0..<p1 { bt[p * n + j] = b[j * ldb + p] }
                    }
                    p0 = p1
                }
                j0 = j1
            }
            gemmNN(m: m, n: n, k: k, a: a, lda: lda, transA: transA, b: bt, ldb: n, c: c, ldc: ldc, accumulate: beta == 1)
        }
    } else {
        gemmNN(m: m, n: n, k: k, a: a, lda: lda, transA: transA, b: b, ldb: ldb, c: c, ldc: ldc, accumulate: beta == 1)
    }
}

private let mr = 6   // rows of C per micro-kernel call
private let nr = 16  // columns of C per micro-kernel call (two SIMD8 vectors)

@inline(__always)
private func gemmNN<T: Scalar>(
    m: Int, n: Int, k: Int,
    a: UnsafePointer<T>, lda: Int, transA: Bool,
    b: UnsafePointer<T>, ldb: Int,
    c: UnsafeMutablePointer<T>, ldc: Int, accumulate: Bool
) {
    // A(i, p) = a[i·rowStride + p·kStride]
    let rowStride = transA ? 1 : lda
    let kStride = transA ? lda : 1
    let fullN = n - n % nr
    var j = 0
    while j < fullN {
        var i = 0
        while i + mr <= m {
            kernel6x16(k: k, a: a + i * rowStride, rowStride: rowStride, kStride: kStride,
                       b: b + j, ldb: ldb, c: c + i * ldc + j, ldc: ldc, accumulate: accumulate)
            i += mr
        }
        while i < m {
            kernel1x16(k: k, a: a + i * rowStride, kStride: kStride,
                       b: b + j, ldb: ldb, c: c + i * ldc + j, accumulate: accumulate)
            i += 1
        }
        j += nr
    }
    let rest = n - fullN
    if rest > 0 {
        // Column tail: copy the last `rest` columns of B into a zero-padded K×16 panel,
        // run the same kernels into a padded C tile, then write back the real columns.
        withUnsafeTemporaryAllocation(of: T.self, capacity: k * nr + mr * nr) { buf in
            let panel = buf.baseAddress!
            let tile = panel + k * nr
            for p in 0..<k {
                for q in 0..<nr { panel[p * nr + q] = q < rest ? b[p * ldb + fullN + q] : 0 }
            }
            var i = 0
            while i < m {
                let rowsHere = min(mr, m - i)
                for r in 0..<rowsHere {
                    for q in 0..<nr { tile[r * nr + q] = (accumulate && q < rest) ? c[(i + r) * ldc + fullN + q] : 0 }
                }
                if rowsHere == mr {
                    kernel6x16(k: k, a: a + i * rowStride, rowStride: rowStride, kStride: kStride,
                               b: panel, ldb: nr, c: tile, ldc: nr, accumulate: true)
                } else {
                    for r in 0..<rowsHere {
                        kernel1x16(k: k, a: a + (i + r) * rowStride, kStride: kStride,
                                   b: panel, ldb: nr, c: tile + r * nr, accumulate: true)
                    }
                }
                for r in 0..<rowsHere {
                    for q in 0..<rest { c[(i + r) * ldc + fullN + q] = tile[r * nr + q] }
                }
                i += rowsHere
            }
        }
    }
}

@inline(__always)
private func load8<T: Scalar>(_ p: UnsafePointer<T>) -> SIMD8<T> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD8<T>.self)
}

@inline(__always)
private func store8<T: Scalar>(_ v: SIMD8<T>, _ p: UnsafeMutablePointer<T>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<T>.self)
}

/// C[0..<6, 0..<16] (+)= Σ_p A(0..<6, p) · B[p, 0..<16]
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
