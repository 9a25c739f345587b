import Dispatch

/// `gemm` with the columns of C split across up to `threads` threads.
///
/// Every element of C is computed by exactly the same instructions as in the one-thread call
/// (each thread owns a contiguous block of columns, whole K loop), so the result does not
/// depend on the thread count. Small products stay on one thread: a dispatch costs a few µs.
public func gemm<Real: Scalar>(
    _ a: Matrix<Real>, transA: Bool = false,
    _ b: Matrix<Real>, transB: Bool = false,
    into c: inout Matrix<Real>, beta: Real = 0, threads: Int
) {
    let (m, k) = transA ? (a.cols, a.rows) : (a.rows, a.cols)
    let n = transB ? b.rows : b.cols
    let work = m * n * k
    // Column blocks are multiples of the micro-kernel's 16 columns.
    let parts = min(threads, n / 64)
    if parts < 2 || work < 1 << 18 {
        gemm(a, transA: transA, b, transB: transB, into: &c, beta: beta)
        return
    }
    require(c.rows == m && c.cols == n, "gemm: output is \(c.rows)x\(c.cols), expected \(m)x\(n)")
    require((transB ? b.cols : b.rows) == k, "gemm: inner dimensions differ")
    let lda = a.cols, ldb = b.cols, ldc = n
    a.data.withUnsafeBufferPointer { pa in
        b.data.withUnsafeBufferPointer { pb in
            c.data.withUnsafeMutableBufferPointer { pc in
                let pa = pa.baseAddress!, pb = pb.baseAddress!, pc = pc.baseAddress!
                parallelFor(parts) { s in
                    let lo = (s * (n / 16) / parts) * 16
                    let hi = s == parts - 1 ? n : ((s + 1) * (n / 16) / parts) * 16
                    // columns lo..<hi of op(B): rows lo..<hi of B when B is transposed
                    let bStart = transB ? pb + lo * ldb : pb + lo
                    gemm(m: m, n: hi - lo, k: k, a: pa, lda: lda, transA: transA,
                         b: bStart, ldb: ldb, transB: transB, c: pc + lo, ldc: ldc, beta: beta)
                }
            }
        }
    }
}
