#if arch(x86_64)
import BPTTKernels512
#endif

/// General matrix multiply in the three forms backpropagation needs, row-major:
///
///     C = op(A) · op(B) + β·C        op(X) = X or Xᵀ
///
/// forward of a linear map   y  = x·Wᵀ      gemm(x, W, transB: true)
/// gradient to its input     dx = dy·W      gemm(dy, W)
/// gradient to its weight    dW = dyᵀ·x     gemm(dy, transA: true, x)
///
/// The work is done by a 6×16 register-blocked micro-kernel on `SIMD8<Real>`: six rows of C,
/// two SIMD8 vectors of columns, twelve accumulators kept in registers across the whole K loop.
/// A is read in place (either orientation costs the same: one scalar broadcast per row per k).
/// B is read in 32-column panels; a transposed B is packed panel by panel (see below). With
/// AVX-512 (checked at run time) Float products use a 6×32 kernel on `SIMD16<Float>` instead.
public func gemm<Real: Scalar>(
    _ a: Matrix<Real>, transA: Bool = false,
    _ b: Matrix<Real>, transB: Bool = false,
    into c: inout Matrix<Real>, beta: Real = 0
) {
    let (m, ka) = transA ? (a.cols, a.rows) : (a.rows, a.cols)
    let (kb, n) = transB ? (b.cols, b.rows) : (b.rows, b.cols)
    require(ka == kb, "gemm: inner dimensions differ (\(m)x\(ka) · \(kb)x\(n))")
    require(c.rows == m && c.cols == n, "gemm: output is \(c.rows)x\(c.cols), expected \(m)x\(n)")
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
/// Four loop orders, chosen by the shape — never by the thread count's column split, so every
/// element of C is computed by the same instructions however the columns are divided:
///
/// - m ≤ 64 and B transposed, a batch-sized product such as `x·Wᵀ`, or m ≤ 32 either way, such
///   as a 32-row shard's `dx = dy·W` (`gemmSmallM`): the roles swap, Cᵀ = op(B)ᵀ·op(A)ᵀ, so the
///   weight is read in place by the micro-kernel's broadcasts and only the batch is packed.
///   Packing a 1024×512 weight for a 32-row batch cost as much as the product itself (1.2–1.3×
///   faster for x·Wᵀ; dy·W of the GAN's 32-row shards 75–82% → 88–90% of peak on its large layers).
/// - N ≤ 4 with A transposed (`gemmTinyN`): dW_x = dAᵀ·x of a one-number input, sums of
///   rows of A instead of a 32-column panel for one column.
/// - K ≤ 4 (`gemmTinyK`): rows of B scaled and added, 8 columns at a time (a one-number input).
/// - A transposed with rows ≥ 256 apart, the weight gradient dYᵀ·X (`gemmPanels`, BLIS's order):
///   A packed too; read in place its rows alias in L1 (1.3–1.5× faster).
/// - otherwise (`gemmInPlaceA`): 32-column panels of op(B) packed, A read in place.
///
/// Before any of them, a product with an all-zero operand (h_0 = 0 at a cell's first step) is
/// stored without being computed, with the same bits (`GEMM+Zero.swift`).
public func gemm<Real: Scalar>(
    m: Int, n: Int, k: Int,
    a: UnsafePointer<Real>, lda: Int, transA: Bool,
    b: UnsafePointer<Real>, ldb: Int, transB: Bool,
    c: UnsafeMutablePointer<Real>, ldc: Int, beta: Real
) {
    require(beta == 0 || beta == 1, "gemm: beta must be 0 or 1")
    if m == 0 || n == 0 { return }
    let accumulate = beta == 1
    if k == 0 {
        if !accumulate { for i in 0..<m { (c + i * ldc).update(repeating: 0, count: n) } }
        return
    }
    // (K ≤ 4 goes to `gemmTinyK`, whose chains start at C itself: too small to be worth a scan.)
    if k > 4 && storeZeroProduct(m: m, n: n, k: k, a: a, lda: lda, transA: transA, b: b, ldb: ldb, transB: transB,
                                 c: c, ldc: ldc, accumulate: accumulate) { return }
    if m <= smallM && (transB || m <= 32) && k > 1 {
        gemmSmallM(m: m, n: n, k: k, a: a, lda: lda, transA: transA, b: b, ldb: ldb, transB: transB,
                   c: c, ldc: ldc, accumulate: accumulate)
    } else if n <= 4 && transA && !transB && k > 4 {
        gemmTinyN(m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, accumulate: accumulate)
    } else if k <= 4 && !transB {
        gemmTinyK(m: m, n: n, k: k, a: a, lda: lda, transA: transA, b: b, ldb: ldb,
                  c: c, ldc: ldc, accumulate: accumulate)
    } else if !transA || lda < 256 || n <= nr {
        gemmInPlaceA(m: m, n: n, k: k, a: a, lda: lda, transA: transA, b: b, ldb: ldb, transB: transB,
                     c: c, ldc: ldc, accumulate: accumulate)
    } else {
        gemmPanels(m: m, n: n, k: k, a: a, lda: lda, transA: transA, b: b, ldb: ldb, transB: transB,
                   c: c, ldc: ldc, accumulate: accumulate,
                   skip: !transA || transB ? 0 : zeroLeadingRows(b: b, ldb: ldb, k: k, n: n, a: a, lda: lda, m: m))
    }
}

/// Rows in the next strip of C when `left` rows remain: 6 (the full micro-kernel) while
/// possible, else 4, 2, 1 — 8 left go as 4 + 4, not 6 + 1 + 1.
@inline(__always)
private func stripRows(_ left: Int) -> Int {
    left >= 6 && left != 8 ? 6 : left >= 4 ? 4 : left >= 2 ? 2 : 1
}

/// C[0..<rows, 0..<32] (+)= Σ_p A(r, p) · B[p, 0..<32] for one packed 32-column panel: with
/// AVX-512 (Float), one 6×32 kernel on 16-lane vectors (`Kernels512`); otherwise the 16-column
/// kernel for that many rows on each half. Every element of C is the same chain of FMAs over p
/// either way, so the two paths give identical numbers.
@inline(__always)
private func strip<Real: Scalar>(rows: Int, k: Int, a: UnsafePointer<Real>, rowStride: Int, kStride: Int,
                                 b: UnsafePointer<Real>, c: UnsafeMutablePointer<Real>, ldc: Int, accumulate: Bool) {
    #if arch(x86_64)
    if Real.self == Float.self && GEMMKernels.avx512 {
        Kernels512.strip(rows: rows, k: k, a: UnsafeRawPointer(a).assumingMemoryBound(to: Float.self),
                         rowStride: rowStride, kStride: kStride, b: UnsafeRawPointer(b).assumingMemoryBound(to: Float.self),
                         c: UnsafeMutableRawPointer(c).assumingMemoryBound(to: Float.self), ldc: ldc, accumulate: accumulate)
        return
    }
    #endif
    for half in 0..<2 {
        let bh = b + half * 16, ch = c + half * 16
        switch rows {
        case 6: kernel6x16(k: k, a: a, rowStride: rowStride, kStride: kStride, b: bh, ldb: nr, c: ch, ldc: ldc, accumulate: accumulate)
        case 4: kernel4x16(k: k, a: a, rowStride: rowStride, kStride: kStride, b: bh, ldb: nr, c: ch, ldc: ldc, accumulate: accumulate)
        case 2: kernel2x16(k: k, a: a, rowStride: rowStride, kStride: kStride, b: bh, ldb: nr, c: ch, ldc: ldc, accumulate: accumulate)
        default: kernel1x16(k: k, a: a, kStride: kStride, b: bh, ldb: nr, c: ch, accumulate: accumulate)
        }
    }
}

/// One strip of C against one panel: C[0..<rows, 0..<cols] (+)= A(0..<rows, 0..<k) · panel, with
/// `cols` ≤ 32. A whole panel writes C directly; an edge panel (cols < 32) goes through `tile`
/// (6×32 scratch), so the kernel never touches C beyond its last column.
@inline(__always)
private func stripTile<Real: Scalar>(rows: Int, k: Int, a: UnsafePointer<Real>, rowStride: Int, kStride: Int, b: UnsafePointer<Real>,
                                     c: UnsafeMutablePointer<Real>, ldc: Int, cols: Int, accumulate: Bool, tile: UnsafeMutablePointer<Real>) {
    if cols == nr {
        strip(rows: rows, k: k, a: a, rowStride: rowStride, kStride: kStride, b: b, c: c, ldc: ldc, accumulate: accumulate)
        return
    }
    for r in 0..<rows {
        for q in 0..<nr { tile[r * nr + q] = (accumulate && q < cols) ? c[r * ldc + q] : 0 }
    }
    strip(rows: rows, k: k, a: a, rowStride: rowStride, kStride: kStride, b: b, c: tile, ldc: nr, accumulate: true)
    for r in 0..<rows {
        for q in 0..<cols { c[r * ldc + q] = tile[r * nr + q] }
    }
}

/// Every strip of op(A) (6 rows, the last ones 4/2/1) against one panel: columns j0..<j0+cols
/// of C (+)= op(A)(·, p0..<p0+k) · panel, `a` and `c` already offset to column p0 and j0.
@inline(__always)
private func allStrips<Real: Scalar>(m: Int, k: Int, a: UnsafePointer<Real>, rowStride: Int, kStride: Int, b: UnsafePointer<Real>,
                                     c: UnsafeMutablePointer<Real>, ldc: Int, cols: Int, accumulate: Bool, tile: UnsafeMutablePointer<Real>) {
    var i0 = 0
    while i0 < m {
        let rows = stripRows(m - i0)
        stripTile(rows: rows, k: k, a: a + i0 * rowStride, rowStride: rowStride, kStride: kStride, b: b,
                  c: c + i0 * ldc, ldc: ldc, cols: cols, accumulate: accumulate, tile: tile)
        i0 += rows
    }
}

/// Packs rows p0..<p0+kb of op(X) (K×N), columns j0..<j0+cols, into a kb×32 panel (zero-padded):
/// op(X)[p, j] = x[p·ldx + j], or x[j·ldx + p] when transposed.
@inline(__always)
private func packPanel<Real: Scalar>(_ x: UnsafePointer<Real>, ldx: Int, trans: Bool, p0: Int, kb: Int, j0: Int, cols: Int,
                                     into panel: UnsafeMutablePointer<Real>) {
    if trans {
        // op(X)[p, j0 + q] = X[j0 + q, p]: row j0+q of X, read contiguously
        for q in 0..<nr {
            if q < cols {
                let src = x + (j0 + q) * ldx + p0
                for p in 0..<kb { panel[p * nr + q] = src[p] }
            } else {
                for p in 0..<kb { panel[p * nr + q] = 0 }
            }
        }
    } else if cols == nr {
        // Packed even when whole: rows of X a page apart alias in L1, a contiguous panel does not.
        for p in 0..<kb {
            let src = x + (p0 + p) * ldx + j0
            let dst = panel + p * nr
            store8(load8(src), dst); store8(load8(src + 8), dst + 8)
            store8(load8(src + 16), dst + 16); store8(load8(src + 24), dst + 24)
        }
    } else {
        for p in 0..<kb {
            let src = x + (p0 + p) * ldx + j0
            for q in 0..<nr { panel[p * nr + q] = q < cols ? src[q] : 0 }
        }
    }
}

/// Loop order with A read in place: 32-column panels of op(B) outside, then blocks of at most
/// 256 rows of K, then strips of A (6 rows, the last ones 4/2/1), so one packed panel of B
/// (≤ 256×32, zero-padded) is read from L1 by every strip. Edge columns of C go through a 6×32
/// scratch tile. (Packing A as well cost 8–16% on the batch-sized products here.)
private func gemmInPlaceA<Real: Scalar>(
    m: Int, n: Int, k: Int,
    a: UnsafePointer<Real>, lda: Int, transA: Bool,
    b: UnsafePointer<Real>, ldb: Int, transB: Bool,
    c: UnsafeMutablePointer<Real>, ldc: Int, accumulate: Bool
) {
    // A(i, p) = a[i·rowStride + p·kStride]
    let rowStride = transA ? 1 : lda
    let kStride = transA ? lda : 1
    let kc = min(k, kcMax)
    let scratch = threadScratch(Real.self, count: kc * nr + mr * nr)
    let panel = scratch            // kc×32, packed columns of op(B) for rows p0..<p0+kc
    let tile = scratch + kc * nr   // 6×32, an edge tile of C
    var j0 = 0
    while j0 < n {
        let cols = min(nr, n - j0)
        var p0 = 0
        while p0 < k {
            let kb = min(kc, k - p0)
            // Every K-block after the first adds to what the earlier ones wrote.
            let acc = accumulate || p0 > 0
            packPanel(b, ldx: ldb, trans: transB, p0: p0, kb: kb, j0: j0, cols: cols, into: panel)
            allStrips(m: m, k: kb, a: a + p0 * kStride, rowStride: rowStride, kStride: kStride, b: UnsafePointer(panel),
                      c: c + j0, ldc: ldc, cols: cols, accumulate: acc, tile: tile)
            p0 += kb
        }
        j0 += cols
    }
}

/// op(B) packed once into the 32-column panels the micro-kernel reads, for a weight that meets
/// many products before it changes: a recurrent cell multiplies by W_h at every step, forward
/// and backward, and `gemmInPlaceA` would otherwise pack the same panels T times. Panel s holds
/// columns 32s…32s+31 of op(B) (zero-padded) for all k rows, row-major: K-block p0 of panel s
/// starts at (s·k + p0)·32. A product with a packed B runs the same loop as `gemmInPlaceA`
/// over the same panels, so its numbers are identical to the unpacked call's.
public struct PackedB<Real: Scalar> {
    public private(set) var k = 0
    public private(set) var n = 0
    var panels: [Real] = []
    public init() {}

    /// Packs op(B) for the k×n block of `b` whose op-form starts at row `at.0`, column `at.1` of
    /// `b` (a block of the stored matrix: rows at.0…, columns at.1… of b, transposed when
    /// `transB`). Reuses the storage when the shape is unchanged.
    public mutating func pack(_ b: Matrix<Real>, at o: (Int, Int) = (0, 0), k: Int, n: Int, transB: Bool = false) {
        require(k > 0 && n > 0, "PackedB.pack: empty block")
        require(o.0 + (transB ? n : k) <= b.rows && o.1 + (transB ? k : n) <= b.cols, "PackedB.pack: block out of range")
        let count = (n + nr - 1) / nr * k * nr
        if panels.count != count { panels = [Real](repeating: 0, count: count) }
        (self.k, self.n) = (k, n)
        let ldb = b.cols
        b.data.withUnsafeBufferPointer { pb in
            panels.withUnsafeMutableBufferPointer { out in
                let base = pb.baseAddress! + o.0 * ldb + o.1
                for s in 0..<(n + nr - 1) / nr {
                    var p0 = 0
                    while p0 < k {
                        let kb = min(kcMax, k - p0)
                        packPanel(base, ldx: ldb, trans: transB, p0: p0, kb: kb, j0: s * nr, cols: min(nr, n - s * nr),
                                  into: out.baseAddress! + (s * k + p0) * nr)
                        p0 += kb
                    }
                }
            }
        }
    }
}

/// C (+)= op(A)·B with B packed beforehand (`PackedB`); `beta` 0 or 1. Same loop order and
/// the same sums as `gemmInPlaceA`.
public func gemm<Real: Scalar>(m: Int, a: UnsafePointer<Real>, lda: Int, transA: Bool, packed b: PackedB<Real>,
                               c: UnsafeMutablePointer<Real>, ldc: Int, beta: Real) {
    require(beta == 0 || beta == 1, "gemm: beta must be 0 or 1")
    let (n, k) = (b.n, b.k)
    if m == 0 || n == 0 { return }
    let rowStride = transA ? 1 : lda
    let kStride = transA ? lda : 1
    let tile = threadScratch(Real.self, count: mr * nr)   // 6×32, an edge tile of C
    b.panels.withUnsafeBufferPointer { panels in
        // A zero A (h_0 at a cell's first step) and finite panels: a zero product (`storeZeroProduct`)
        if isAllZero(a, rows: transA ? k : m, cols: transA ? m : k, ld: lda),
           isAllFinite(panels.baseAddress!, rows: 1, cols: panels.count, ld: panels.count) {
            storeZeros(m: m, n: n, c: c, ldc: ldc, accumulate: beta == 1)
            return
        }
        for s in 0..<(n + nr - 1) / nr {
            let j0 = s * nr, cols = min(nr, n - j0)
            var p0 = 0
            while p0 < k {
                let kb = min(kcMax, k - p0)
                let acc = beta == 1 || p0 > 0
                allStrips(m: m, k: kb, a: a + p0 * kStride, rowStride: rowStride, kStride: kStride,
                          b: panels.baseAddress! + (s * k + p0) * nr, c: c + j0, ldc: ldc, cols: cols, accumulate: acc, tile: tile)
                p0 += kb
            }
        }
    }
}

/// C = A[lo..<lo+m, ·]·B, B packed: one step's block of rows of a stacked buffer (m × k) times a
/// packed weight, without copying the block out. Same loop and sums as the whole-matrix form.
public func gemm<Real: Scalar>(_ a: Matrix<Real>, rows lo: Int, _ m: Int, packed b: PackedB<Real>, into c: inout Matrix<Real>) {
    require(lo >= 0 && lo + m <= a.rows && a.cols == b.k, "gemm: rows \(lo)..<\(lo + m) of \(a.rows)x\(a.cols) · \(b.k)x\(b.n)")
    require(c.rows == m && c.cols == b.n, "gemm: output is \(c.rows)x\(c.cols), expected \(m)x\(b.n)")
    a.data.withUnsafeBufferPointer { pa in
        c.data.withUnsafeMutableBufferPointer { pc in
            gemm(m: m, a: pa.baseAddress! + lo * a.cols, lda: a.cols, transA: false, packed: b, c: pc.baseAddress!, ldc: c.cols, beta: 0)
        }
    }
}

/// C (+)= A·B for whole matrices, B packed (`PackedB`): the form the cells use at every step.
public func gemm<Real: Scalar>(_ a: Matrix<Real>, packed b: PackedB<Real>, into c: inout Matrix<Real>, beta: Real = 0) {
    require(a.cols == b.k, "gemm: inner dimensions differ (\(a.rows)x\(a.cols) · \(b.k)x\(b.n))")
    require(c.rows == a.rows && c.cols == b.n, "gemm: output is \(c.rows)x\(c.cols), expected \(a.rows)x\(b.n)")
    a.data.withUnsafeBufferPointer { pa in
        c.data.withUnsafeMutableBufferPointer { pc in
            gemm(m: a.rows, a: pa.baseAddress!, lda: a.cols, transA: false, packed: b, c: pc.baseAddress!, ldc: c.cols, beta: beta)
        }
    }
}

/// Loop order for a transposed A with rows ≥ 256 apart, the weight gradient dW = dYᵀ·X (BLIS's): blocks of ≤ 1024
/// columns and ≤ 256 rows of K; each block of op(B) is packed once into 32-column panels
/// (zero-padded); then up to `mcMax` rows of op(A) are packed, strip by strip (6 rows, the last
/// ones 4/2/1, each step-major), and every panel meets every strip of that block: the panel is
/// read from L1, the packed strips from L2. Read in place, Aᵀ's six values per step lie a row of
/// A apart (2–4 KB), and those rows alias in L1: packing made these products 1.1–1.6× faster;
/// panels outside the strips (a panel stays in L1 while the strips pass) made the batch-sized
/// ones (K = 32, 64) 1.5–2× faster again. Edge columns of C go through a 6×32 scratch tile.
private func gemmPanels<Real: Scalar>(
    m: Int, n: Int, k: Int,
    a: UnsafePointer<Real>, lda: Int, transA: Bool,
    b: UnsafePointer<Real>, ldb: Int, transB: Bool,
    c: UnsafeMutablePointer<Real>, ldc: Int, accumulate: Bool, skip: Int
) {
    // A(i, p) = a[i·rowStride + p·kStride]
    let rowStride = transA ? 1 : lda
    let kStride = transA ? lda : 1
    let kc = min(k, kcMax)
    // The first `skip` steps of K give zero terms (`zeroLeadingRows`) and are left out. The
    // K-blocks keep their bounds (multiples of kc), so every chain is the one without the skip.
    var accumulate = accumulate
    if skip >= kc {
        storeZeros(m: m, n: n, c: c, ldc: ldc, accumulate: accumulate)   // what the skipped whole blocks store
        accumulate = true
    }
    let nc = min(n, ncMax)
    let mc = min(m, mcMax)
    let panelsMax = (nc + nr - 1) / nr
    let scratch = threadScratch(Real.self, count: panelsMax * kc * nr + mc * kc + mr * nr)
    let packedA = scratch + panelsMax * kc * nr   // strips of op(A), each A(r, p) at [p·rows + r]
    let tile = packedA + mc * kc                  // 6×32, an edge tile of C
    var jb = 0
    while jb < n {
        let ncb = min(nc, n - jb)
        let panels = (ncb + nr - 1) / nr
        var p0 = skip
        while p0 < k {
            let kb = min(kc - p0 % kc, k - p0)
            // Every K-block after the first adds to what the earlier ones wrote.
            let acc = accumulate || p0 >= kc
            for s in 0..<panels {
                packPanel(b, ldx: ldb, trans: transB, p0: p0, kb: kb, j0: jb + s * nr, cols: min(nr, ncb - s * nr),
                          into: scratch + s * kc * nr)
            }
            var ib = 0
            while ib < m {
                let mcb = min(mc, m - ib)
                packStrips(a + ib * rowStride + p0 * kStride, rows: mcb, kb: kb, rowStride: rowStride, kStride: kStride, into: packedA)
                for s in 0..<panels {
                    let j0 = jb + s * nr, cols = min(nr, ncb - s * nr)
                    var i0 = 0
                    while i0 < mcb {
                        let rows = stripRows(mcb - i0)
                        stripTile(rows: rows, k: kb, a: UnsafePointer(packedA + i0 * kb), rowStride: 1, kStride: rows,
                                  b: UnsafePointer(scratch + s * kc * nr), c: c + (ib + i0) * ldc + j0, ldc: ldc, cols: cols,
                                  accumulate: acc, tile: tile)
                        i0 += rows
                    }
                }
                ib += mcb
            }
            p0 += kb
        }
        jb += ncb
    }
}

/// Packs `rows` rows of op(A) (A(i, p) = a[i·rowStride + p·kStride]), steps 0..<kb, strip by
/// strip (6 rows, the last ones 4/2/1, as `stripRows` cuts them): strip i0 starts at i0·kb and
/// holds A(i0 + r, p) at [p·stripRows + r].
@inline(__always)
private func packStrips<Real: Scalar>(_ a: UnsafePointer<Real>, rows m: Int, kb: Int, rowStride: Int, kStride: Int,
                                      into packed: UnsafeMutablePointer<Real>) {
    var i0 = 0
    while i0 < m {
        let rows = stripRows(m - i0)
        let ai = a + i0 * rowStride, dst = packed + i0 * kb
        if rows == mr && rowStride == 1 {
            // Aᵀ's six values of step p are adjacent: two vector moves (4 + 2 lanes)
            for p in 0..<kb {
                let src = UnsafeRawPointer(ai + p * kStride), d = UnsafeMutableRawPointer(dst + p * mr)
                d.storeBytes(of: src.loadUnaligned(as: SIMD4<Real>.self), as: SIMD4<Real>.self)
                (d + 4 * MemoryLayout<Real>.stride).storeBytes(of: (src + 4 * MemoryLayout<Real>.stride).loadUnaligned(as: SIMD2<Real>.self), as: SIMD2<Real>.self)
            }
        } else {
            for p in 0..<kb {
                for r in 0..<rows { dst[p * rows + r] = ai[r * rowStride + p * kStride] }
            }
        }
        i0 += rows
    }
}

/// Loop order for m ≤ 64: computes Cᵀ = op(B)ᵀ · op(A)ᵀ. For each block of K, op(A)ᵀ (K×m, the
/// batch) is packed into ⌈m/32⌉ panels; then every strip of 6 columns of C (6 rows of op(B)ᵀ,
/// read in place: a row of Wᵀ-form weights is contiguous, a W-form one is 6 adjacent values per
/// step) meets every panel. Cᵀ is kept whole in scratch (n × 32⌈m/32⌉) across the K blocks, the
/// kernel adding each block into it, and is written to C transposed once at the end (a tile
/// transposed after every block cost a quarter of the time). With β = 1, Cᵀ starts as C's
/// transpose, so every element of C is the same sum in the same order as before and whatever n is.
private func gemmSmallM<Real: Scalar>(
    m: Int, n: Int, k: Int,
    a: UnsafePointer<Real>, lda: Int, transA: Bool,
    b: UnsafePointer<Real>, ldb: Int, transB: Bool,
    c: UnsafeMutablePointer<Real>, ldc: Int, accumulate: Bool
) {
    // op(B)ᵀ(j, p) = op(B)(p, j) = b[j·rowStride + p·kStride]
    let rowStride = transB ? ldb : 1
    let kStride = transB ? 1 : ldb
    let panels = (m + nr - 1) / nr
    let ldt = panels * nr                         // Cᵀ in scratch: row j, column i at [j·ldt + i]
    // ≤ 32 KB of packed batch per K block, so it stays in L1 while the weight streams past
    let kc = min(k, m <= 32 ? 256 : 128)
    let scratch = threadScratch(Real.self, count: panels * kc * nr + n * ldt)
    let ct = scratch + panels * kc * nr
    if accumulate {
        for j in 0..<n { for i in 0..<m { ct[j * ldt + i] = c[i * ldc + j] } }
    }
    var p0 = 0
    while p0 < k {
        let kb = min(kc, k - p0)
        let acc = accumulate || p0 > 0
        // op(A)ᵀ[p, i] = op(A)[i, p]: panel s holds columns i = 32s…32s+31 (A's rows), zero-padded
        for s in 0..<panels {
            packPanel(a, ldx: lda, trans: !transA, p0: p0, kb: kb, j0: s * nr, cols: min(nr, m - s * nr),
                      into: scratch + s * kc * nr)
        }
        var j0 = 0
        while j0 < n {
            let rows = stripRows(n - j0)
            let bj = b + j0 * rowStride + p0 * kStride
            for s in 0..<panels {
                strip(rows: rows, k: kb, a: bj, rowStride: rowStride, kStride: kStride,
                      b: UnsafePointer(scratch + s * kc * nr), c: ct + j0 * ldt + s * nr, ldc: ldt, accumulate: acc)
            }
            j0 += rows
        }
        p0 += kb
    }
    // C = (Cᵀ)ᵀ, 8 rows of Cᵀ at a time so each row of C is written 8 contiguous values at once
    var j0 = 0
    while j0 < n {
        let rows = min(8, n - j0)
        for i in 0..<m {
            let ci = c + i * ldc + j0, ti = ct + j0 * ldt + i
            for r in 0..<rows { ci[r] = ti[r * ldt] }
        }
        j0 += rows
    }
}

/// C (+)= op(A)·B for a tiny K (≤ 4, e.g. the x-side of a cell whose input is one number), B
/// row-major: each row of C gets k scaled rows of B added, 8 columns at a time. The micro-kernel
/// path spent most of its time on per-tile overhead there (10 µs for 64×512×1).
private func gemmTinyK<Real: Scalar>(
    m: Int, n: Int, k: Int,
    a: UnsafePointer<Real>, lda: Int, transA: Bool,
    b: UnsafePointer<Real>, ldb: Int,
    c: UnsafeMutablePointer<Real>, ldc: Int, accumulate: Bool
) {
    let rowStride = transA ? 1 : lda
    let kStride = transA ? lda : 1
    for i in 0..<m {
        let ci = c + i * ldc, ai = a + i * rowStride
        var j = 0
        while j + 8 <= n {
            var s = accumulate ? load8(UnsafePointer(ci + j)) : SIMD8<Real>()
            for p in 0..<k { s.addProduct(SIMD8<Real>(repeating: ai[p * kStride]), load8(b + p * ldb + j)) }
            store8(s, ci + j)
            j += 8
        }
        while j < n {
            var s: Real = accumulate ? ci[j] : 0
            for p in 0..<k { s.addProduct(ai[p * kStride], b[p * ldb + j]) }
            ci[j] = s
            j += 1
        }
    }
}

/// C (+)= Aᵀ·B for a tiny N (≤ 4): the weight gradient of a cell whose input is one number,
/// dW_x = dAᵀ·x. The micro-kernel would compute a whole 32-column panel for one column; here
/// each column of C is a sum of rows of A (contiguous: A is transposed) scaled by B(p, j). Per
/// K-block of 256 the sum starts at zero and is added to C, one FMA per p, exactly as the
/// kernel does it, so the numbers are the same as the panel path's.
private func gemmTinyN<Real: Scalar>(
    m: Int, n: Int, k: Int,
    a: UnsafePointer<Real>, lda: Int,
    b: UnsafePointer<Real>, ldb: Int,
    c: UnsafeMutablePointer<Real>, ldc: Int, accumulate: Bool
) {
    // op(A)(i, p) = a[p·lda + i]: row p of A holds column p of op(A)
    let partial = threadScratch(Real.self, count: m)
    for j in 0..<n {
        var p0 = 0
        while p0 < k {
            let kb = min(kcMax, k - p0)
            let acc = accumulate || p0 > 0
            partial.update(repeating: 0, count: m)
            for p in p0..<(p0 + kb) {
                let s = b[p * ldb + j], ap = a + p * lda
                var i = 0
                while i + 8 <= m {
                    var v = load8(UnsafePointer(partial + i))
                    v.addProduct(load8(ap + i), SIMD8(repeating: s))
                    store8(v, partial + i)
                    i += 8
                }
                while i < m { partial[i].addProduct(ap[i], s); i += 1 }
            }
            for i in 0..<m { c[i * ldc + j] = acc ? c[i * ldc + j] + partial[i] : partial[i] }
            p0 += kb
        }
    }
}

/// Products with at most this many rows of C take the swapped loop order (`gemmSmallM`).
private let smallM = 64

/// Rows of op(B) per packed panel: 256 × 32 floats = 32 KB, which stays in L1 while every
/// 6-row strip of A streams past it.
private let kcMax = 256
/// Rows of op(A) packed at once by `gemmPanels` (≤ 96 KB with kcMax steps, in L2; 48, 96 and 192
/// measured alike within the noise of this machine).
private let mcMax = 96
/// Columns of op(B) packed at once (≤ 1 MB of panels with kcMax rows).
private let ncMax = 1024
private let mr = 6   // rows of C per micro-kernel call
private let nr = 32  // columns of a packed panel of B: one 6×32 AVX-512 kernel, or two 6×16 AVX2 ones

@inline(__always)
private func load8<Real: Scalar>(_ p: UnsafePointer<Real>) -> SIMD8<Real> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Real>.self)
}

@inline(__always)
private func store8<Real: Scalar>(_ v: SIMD8<Real>, _ p: UnsafeMutablePointer<Real>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Real>.self)
}

/// C[0..<6, 0..<16] (+)= Σ_p A(0..<6, p) · B[p, 0..<16], A(r, p) = a[r·rowStride + p·kStride]
@inline(__always)
private func kernel6x16<Real: Scalar>(
    k: Int, a: UnsafePointer<Real>, rowStride: Int, kStride: Int,
    b: UnsafePointer<Real>, ldb: Int, c: UnsafeMutablePointer<Real>, ldc: Int, accumulate: Bool
) {
    var c00 = SIMD8<Real>(), c01 = SIMD8<Real>()
    var c10 = SIMD8<Real>(), c11 = SIMD8<Real>()
    var c20 = SIMD8<Real>(), c21 = SIMD8<Real>()
    var c30 = SIMD8<Real>(), c31 = SIMD8<Real>()
    var c40 = SIMD8<Real>(), c41 = SIMD8<Real>()
    var c50 = SIMD8<Real>(), c51 = SIMD8<Real>()
    var pb = b
    if kStride == 1 {
        // A row-major: six rows, each read left to right
        let a0 = a, a1 = a + rowStride, a2 = a + 2 * rowStride
        let a3 = a + 3 * rowStride, a4 = a + 4 * rowStride, a5 = a + 5 * rowStride
        for p in 0..<k {
            let b0 = load8(pb), b1 = load8(pb + 8)
            var s = SIMD8<Real>(repeating: a0[p]); c00.addProduct(s, b0); c01.addProduct(s, b1)
            s = SIMD8<Real>(repeating: a1[p]); c10.addProduct(s, b0); c11.addProduct(s, b1)
            s = SIMD8<Real>(repeating: a2[p]); c20.addProduct(s, b0); c21.addProduct(s, b1)
            s = SIMD8<Real>(repeating: a3[p]); c30.addProduct(s, b0); c31.addProduct(s, b1)
            s = SIMD8<Real>(repeating: a4[p]); c40.addProduct(s, b0); c41.addProduct(s, b1)
            s = SIMD8<Real>(repeating: a5[p]); c50.addProduct(s, b0); c51.addProduct(s, b1)
            pb += ldb
        }
    } else {
        // A transposed (rowStride 1): the six values of step p are adjacent, steps kStride apart.
        // A separate loop keeps the addressing to one pointer (the shared form spilled registers).
        var pa = a
        for _ in 0..<k {
            let b0 = load8(pb), b1 = load8(pb + 8)
            var s = SIMD8<Real>(repeating: pa[0]); c00.addProduct(s, b0); c01.addProduct(s, b1)
            s = SIMD8<Real>(repeating: pa[1]); c10.addProduct(s, b0); c11.addProduct(s, b1)
            s = SIMD8<Real>(repeating: pa[2]); c20.addProduct(s, b0); c21.addProduct(s, b1)
            s = SIMD8<Real>(repeating: pa[3]); c30.addProduct(s, b0); c31.addProduct(s, b1)
            s = SIMD8<Real>(repeating: pa[4]); c40.addProduct(s, b0); c41.addProduct(s, b1)
            s = SIMD8<Real>(repeating: pa[5]); c50.addProduct(s, b0); c51.addProduct(s, b1)
            pb += ldb
            pa += kStride
        }
    }
    @inline(__always) func put(_ v0: SIMD8<Real>, _ v1: SIMD8<Real>, _ row: Int) {
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

/// C[0..<4, 0..<16] (+)= Σ_p A(0..<4, p) · B[p, 0..<16]: eight accumulators, enough to keep
/// both FMA units busy (the last strips of a 64- or 32-row product).
@inline(__always)
private func kernel4x16<Real: Scalar>(
    k: Int, a: UnsafePointer<Real>, rowStride: Int, kStride: Int,
    b: UnsafePointer<Real>, ldb: Int, c: UnsafeMutablePointer<Real>, ldc: Int, accumulate: Bool
) {
    var c00 = SIMD8<Real>(), c01 = SIMD8<Real>()
    var c10 = SIMD8<Real>(), c11 = SIMD8<Real>()
    var c20 = SIMD8<Real>(), c21 = SIMD8<Real>()
    var c30 = SIMD8<Real>(), c31 = SIMD8<Real>()
    var pb = b
    if kStride == 1 {
        let a0 = a, a1 = a + rowStride, a2 = a + 2 * rowStride, a3 = a + 3 * rowStride
        for p in 0..<k {
            let b0 = load8(pb), b1 = load8(pb + 8)
            var s = SIMD8<Real>(repeating: a0[p]); c00.addProduct(s, b0); c01.addProduct(s, b1)
            s = SIMD8<Real>(repeating: a1[p]); c10.addProduct(s, b0); c11.addProduct(s, b1)
            s = SIMD8<Real>(repeating: a2[p]); c20.addProduct(s, b0); c21.addProduct(s, b1)
            s = SIMD8<Real>(repeating: a3[p]); c30.addProduct(s, b0); c31.addProduct(s, b1)
            pb += ldb
        }
    } else {
        var pa = a
        for _ in 0..<k {
            let b0 = load8(pb), b1 = load8(pb + 8)
            var s = SIMD8<Real>(repeating: pa[0]); c00.addProduct(s, b0); c01.addProduct(s, b1)
            s = SIMD8<Real>(repeating: pa[rowStride]); c10.addProduct(s, b0); c11.addProduct(s, b1)
            s = SIMD8<Real>(repeating: pa[2 * rowStride]); c20.addProduct(s, b0); c21.addProduct(s, b1)
            s = SIMD8<Real>(repeating: pa[3 * rowStride]); c30.addProduct(s, b0); c31.addProduct(s, b1)
            pb += ldb
            pa += kStride
        }
    }
    @inline(__always) func put(_ v0: SIMD8<Real>, _ v1: SIMD8<Real>, _ row: Int) {
        let pc = c + row * ldc
        if accumulate {
            store8(load8(pc) + v0, pc); store8(load8(pc + 8) + v1, pc + 8)
        } else {
            store8(v0, pc); store8(v1, pc + 8)
        }
    }
    put(c00, c01, 0); put(c10, c11, 1); put(c20, c21, 2); put(c30, c31, 3)
}

/// C[0..<2, 0..<16] (+)= Σ_p A(0..<2, p) · B[p, 0..<16]
@inline(__always)
private func kernel2x16<Real: Scalar>(
    k: Int, a: UnsafePointer<Real>, rowStride: Int, kStride: Int,
    b: UnsafePointer<Real>, ldb: Int, c: UnsafeMutablePointer<Real>, ldc: Int, accumulate: Bool
) {
    var c00 = SIMD8<Real>(), c01 = SIMD8<Real>()
    var c10 = SIMD8<Real>(), c11 = SIMD8<Real>()
    var pb = b, pa = a
    for _ in 0..<k {
        let b0 = load8(pb), b1 = load8(pb + 8)
        var s = SIMD8<Real>(repeating: pa[0]); c00.addProduct(s, b0); c01.addProduct(s, b1)
        s = SIMD8<Real>(repeating: pa[rowStride]); c10.addProduct(s, b0); c11.addProduct(s, b1)
        pb += ldb
        pa += kStride
    }
    let pc0 = c, pc1 = c + ldc
    if accumulate {
        store8(load8(pc0) + c00, pc0); store8(load8(pc0 + 8) + c01, pc0 + 8)
        store8(load8(pc1) + c10, pc1); store8(load8(pc1 + 8) + c11, pc1 + 8)
    } else {
        store8(c00, pc0); store8(c01, pc0 + 8); store8(c10, pc1); store8(c11, pc1 + 8)
    }
}

/// C[0, 0..<16] (+)= Σ_p A(0, p) · B[p, 0..<16]
@inline(__always)
private func kernel1x16<Real: Scalar>(
    k: Int, a: UnsafePointer<Real>, kStride: Int,
    b: UnsafePointer<Real>, ldb: Int, c: UnsafeMutablePointer<Real>, accumulate: Bool
) {
    var c0 = SIMD8<Real>(), c1 = SIMD8<Real>()
    var pb = b
    var off = 0
    for _ in 0..<k {
        let s = SIMD8<Real>(repeating: a[off])
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
