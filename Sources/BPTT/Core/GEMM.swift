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
            for j in 0..<n {
                for p in 0..<k { bt[p * n + j] = b[j * ldb + p] }
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
    let rest = n - fullN
    // Scratch: one packed strip of A (K×6, contiguous per k) and, for a column tail,
    // a zero-padded K×16 copy of B's last columns plus a 6×16 tile of C.
    withUnsafeTemporaryAllocation(of: T.self, capacity: k * mr + mr * nr + (rest > 0 ? k * nr : 0)) { buf in
        let strip = buf.baseAddress!
        let tile = strip + k * mr     // 6×16: rows or columns beyond C's edge
        let panel = tile + mr * nr    // K×16, only when there is a column tail
        if rest > 0 {
            for p in 0..<k {
                for q in 0..<nr { panel[p * nr + q] = q < rest ? b[p * ldb + fullN + q] : 0 }
            }
        }
        var i = 0
        while i < m {
            let rowsHere = min(mr, m - i)
            // pack A(i..<i+rowsHere, 0..<k) as strip[p·6 + r], zero rows beyond m
            let ai = a + i * rowStride
            for p in 0..<k {
                let src = ai + p * kStride
                let dst = strip + p * mr
                for r in 0..<rowsHere { dst[r] = src[r * rowStride] }
                for r in rowsHere..<mr { dst[r] = 0 }
            }
            if rowsHere == mr {
                var j = 0
                while j < fullN {
                    kernel6x16(k: k, a: strip, b: b + j, ldb: ldb, c: c + i * ldc + j, ldc: ldc, accumulate: accumulate)
                    j += nr
                }
            } else {
                var j = 0
                while j < fullN {
                    for r in 0..<rowsHere { for q in 0..<nr { tile[r * nr + q] = accumulate ? c[(i + r) * ldc + j + q] : 0 } }
                    kernel6x16(k: k, a: strip, b: b + j, ldb: ldb, c: tile, ldc: nr, accumulate: true)
                    for r in 0..<rowsHere { for q in 0..<nr { c[(i + r) * ldc + j + q] = tile[r * nr + q] } }
                    j += nr
                }
            }
            if rest > 0 {
                for r in 0..<rowsHere {
                    for q in 0..<nr { tile[r * nr + q] = (accumulate && q < rest) ? c[(i + r) * ldc + fullN + q] : 0 }
                }
                kernel6x16(k: k, a: strip, b: panel, ldb: nr, c: tile, ldc: nr, accumulate: true)
                for r in 0..<rowsHere {
                    for q in 0..<rest { c[(i + r) * ldc + fullN + q] = tile[r * nr + q] }
                }
            }
            i += rowsHere
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

/// C[0..<6, 0..<16] (+)= Σ_p A(0..<6, p) · B[p, 0..<16], A packed as a[p·6 + r].
@inline(__always)
private func kernel6x16<T: Scalar>(
    k: Int, a: UnsafePointer<T>,
    b: UnsafePointer<T>, ldb: Int, c: UnsafeMutablePointer<T>, ldc: Int, accumulate: Bool
) {
    var c00 = SIMD8<T>(), c01 = SIMD8<T>()
    var c10 = SIMD8<T>(), c11 = SIMD8<T>()
    var c20 = SIMD8<T>(), c21 = SIMD8<T>()
    var c30 = SIMD8<T>(), c31 = SIMD8<T>()
    var c40 = SIMD8<T>(), c41 = SIMD8<T>()
    var c50 = SIMD8<T>(), c51 = SIMD8<T>()
    var pa = a
    var pb = b
    for _ in 0..<k {
        let b0 = load8(pb), b1 = load8(pb + 8)
        var s = SIMD8<T>(repeating: pa[0]); c00.addProduct(s, b0); c01.addProduct(s, b1)
        s = SIMD8<T>(repeating: pa[1]); c10.addProduct(s, b0); c11.addProduct(s, b1)
        s = SIMD8<T>(repeating: pa[2]); c20.addProduct(s, b0); c21.addProduct(s, b1)
        s = SIMD8<T>(repeating: pa[3]); c30.addProduct(s, b0); c31.addProduct(s, b1)
        s = SIMD8<T>(repeating: pa[4]); c40.addProduct(s, b0); c41.addProduct(s, b1)
        s = SIMD8<T>(repeating: pa[5]); c50.addProduct(s, b0); c51.addProduct(s, b1)
        pb += ldb
        pa += 6
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

