/// A product with an operand that is exactly zero, and the other finite, is zero. A sequence's
/// default initial state is h_0 = 0, so a cell's first step multiplies zeros twice: h_0·W_hᵀ
/// forward, and dA_1ᵀ·h_0, step 1's term of dW_h, backward. `gemm` skips such products after
/// a scan that stops at the first nonzero element (the first one, for any other operand). A
/// weight gradient summed over all steps in one product (the LSTM's dW_h = Σ_t dA_tᵀ·h_{t−1})
/// has h_0's rows at the start of K: `gemmPanels` starts after them (`zeroLeadingRows`).
///
/// What it stores is what the micro-kernel stores: every element of C is C plus chains of FMAs
/// that start at +0, and with zero terms the chains stay +0. So β = 0 stores +0 and β = 1 stores
/// C + 0, which is C (a −0 becomes +0, as in the kernel). The other operand must be finite,
/// since 0·∞ and 0·NaN are NaN, and a product with them must show it: it is scanned in full,
/// which costs a small part of the product skipped.

/// True when `p` (rows×cols, row-major with leading dimension `ld`) holds only zeros (±0).
@inline(__always)
func isAllZero<Real: Scalar>(_ p: UnsafePointer<Real>, rows: Int, cols: Int, ld: Int) -> Bool {
    for r in 0..<rows {
        let row = p + r * ld
        for j in 0..<cols where row[j] != 0 { return false }
    }
    return true
}

/// True when no element of `p` (rows×cols, leading dimension `ld`) is ±∞ or NaN: Σ x·0 is ±0
/// then, and NaN otherwise (8 lanes at a time).
func isAllFinite<Real: Scalar>(_ p: UnsafePointer<Real>, rows: Int, cols: Int, ld: Int) -> Bool {
    var lanes = SIMD8<Real>(), tail: Real = 0
    for r in 0..<rows {
        let row = p + r * ld
        var j = 0
        while j + 8 <= cols {
            lanes += UnsafeRawPointer(row + j).loadUnaligned(as: SIMD8<Real>.self) * 0
            j += 8
        }
        while j < cols { tail += row[j] * 0; j += 1 }
    }
    return lanes.sum() + tail == 0
}

/// C = op(A)·op(B) (+ C) when one operand is all zeros and the other finite, stored as the
/// micro-kernel would store it; false (C untouched) otherwise. Stored shapes: A is m×k (k×m
/// when transposed), B is k×n (n×k when transposed).
func storeZeroProduct<Real: Scalar>(m: Int, n: Int, k: Int,
                                    a: UnsafePointer<Real>, lda: Int, transA: Bool,
                                    b: UnsafePointer<Real>, ldb: Int, transB: Bool,
                                    c: UnsafeMutablePointer<Real>, ldc: Int, accumulate: Bool) -> Bool {
    let (aRows, aCols) = transA ? (k, m) : (m, k)
    let (bRows, bCols) = transB ? (n, k) : (k, n)
    let zero = isAllZero(a, rows: aRows, cols: aCols, ld: lda) ? isAllFinite(b, rows: bRows, cols: bCols, ld: ldb)
             : isAllZero(b, rows: bRows, cols: bCols, ld: ldb) && isAllFinite(a, rows: aRows, cols: aCols, ld: lda)
    if zero { storeZeros(m: m, n: n, c: c, ldc: ldc, accumulate: accumulate) }
    return zero
}

/// C = +0 (β = 0) or C = C + 0 (β = 1): what the micro-kernel stores for a zero product.
func storeZeros<Real: Scalar>(m: Int, n: Int, c: UnsafeMutablePointer<Real>, ldc: Int, accumulate: Bool) {
    for i in 0..<m {
        let row = c + i * ldc
        if accumulate { for j in 0..<n { row[j] = row[j] + 0 } } else { row.update(repeating: 0, count: n) }
    }
}

/// The number of leading rows of B (k×n, not transposed) that are all zeros, when the same rows
/// of Aᵀ (A transposed: row p of the stored k×m A) are finite; 0 otherwise. A stacked h_{t−1}
/// whose first B rows are h_0 = 0 (the LSTM's dW_h = Σ_t dA_tᵀ·h_{t−1}, one product over all
/// steps) has that many zero terms at the start of every chain: a chain from +0 stays +0 over
/// them, so `gemmPanels` starts after them. The scan stops at the first nonzero element.
func zeroLeadingRows<Real: Scalar>(b: UnsafePointer<Real>, ldb: Int, k: Int, n: Int,
                                   a: UnsafePointer<Real>, lda: Int, m: Int) -> Int {
    var rows = 0
    while rows < k && isAllZero(b + rows * ldb, rows: 1, cols: n, ld: ldb) { rows += 1 }
    return rows > 0 && isAllFinite(a, rows: rows, cols: m, ld: lda) ? rows : 0
}
