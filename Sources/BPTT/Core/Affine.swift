/// The affine map every gate of a recurrent cell computes, and its backward, each in one call:
/// Saito's one-step layer in Deep Learning from Scratch 2 writes it `A = np.dot(x, Wx) + np.dot(h_prev, Wh) + b`; here it is in the layout of PyTorch's weights.

/// a = x·W_xᵀ + h·W_hᵀ + b. Shapes: x B×D, W_x H×D, h B×H′, W_h H×H′, b 1×H; a B×H (overwritten).
/// Errors: a shape mismatch stops with a fatal error from gemm that names both shapes.
public func affine<Real: Scalar>(_ x: Matrix<Real>, _ W_x: Matrix<Real>, _ h: Matrix<Real>, _ W_h: Matrix<Real>,
                                 _ b: Matrix<Real>, into a: inout Matrix<Real>) {
    gemm(x, W_x, transB: true, into: &a)
    gemm(h, W_h, transB: true, into: &a, beta: 1)
    a.addRowVector(b)
}

/// The parameter gradients of `affine`, added over the steps (`+=`):
/// dW_x += daᵀ·x, dW_h += daᵀ·h, db += Σ_rows da. Shapes as `affine`, da B×H.
/// Errors: a shape mismatch stops with a fatal error from gemm that names both shapes.
public func accumulateAffineGradients<Real: Scalar>(_ da: Matrix<Real>, _ x: Matrix<Real>, _ h: Matrix<Real>,
                                                    _ dW_x: inout Matrix<Real>, _ dW_h: inout Matrix<Real>, _ db: inout Matrix<Real>) {
    gemm(da, transA: true, x, into: &dW_x, beta: 1)
    gemm(da, transA: true, h, into: &dW_h, beta: 1)
    da.accumulateColumnSums(into: &db)
}
