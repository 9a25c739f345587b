/// Inverted dropout, derived in `derivations/dropout.md`.
///
///     r = ξ / (1 − p), ξ ~ Bernoulli(1 − p)     drawn once per forward, saved
///     h̃ = h ⊙ r                                  (dropout.h)
///     dh = dh̃ ⊙ r                                (dropout.dh)
///
/// Scaling by 1/(1 − p) while training keeps E[h̃] = h, so evaluation uses h̃ = h unchanged.
public enum Dropout {
    /// How one uniform draw u ∈ [0, 1) per element decides ξ. Both keep an element with
    /// probability 1 − p; for the same draws they give different masks, and each model keeps
    /// the rule it was trained with so that saved runs replay bit for bit.
    public enum Draw: Sendable {
        /// ξ = 0 when u < p (the MLPs and the sentiment model).
        case dropBelowRate
        /// ξ = 1 when u < 1 − p (between the levels of a `RecurrentStack`).
        case keepBelowKeepRate
    }

    /// Draws the scaled keep mask `r` (one uniform per element, row-major) from `rng` and
    /// writes h̃ = h ⊙ r (dropout.h): the argument `a` holds h, the result `h` receives h̃. Same shapes.
    public static func forward<Real: Scalar>(_ a: Matrix<Real>, rate p: Double, rng: inout RNG,
                                             mask r: inout Matrix<Real>, into h: inout Matrix<Real>, draw: Draw = .dropBelowRate) {
        require(p >= 0 && p < 1, "dropout rate must be in [0, 1)")
        ensure(&r, a.rows, a.cols)
        ensure(&h, a.rows, a.cols)
        let keep = Real(1 / (1 - p))
        switch draw {
        case .dropBelowRate: for i in 0..<r.count { r.data[i] = rng.uniform() < p ? 0 : keep }
        case .keepBelowKeepRate: for i in 0..<r.count { r.data[i] = rng.uniform() < 1 - p ? keep : 0 }
        }
        a.data.withUnsafeBufferPointer { a in
            r.data.withUnsafeBufferPointer { r in
                h.data.withUnsafeMutableBufferPointer { h in
                    for i in 0..<a.count { h[i] = a[i] * r[i] }                      // (dropout.h)
                }
            }
        }
    }

    /// dh = dh̃ ⊙ r (dropout.dh), in place on `d` (which holds dh̃ on entry, dh on return).
    public static func backward<Real: Scalar>(_ d: inout Matrix<Real>, mask r: Matrix<Real>) {
        require(d.count == r.count, "dropout backward: shape mismatch")
        r.data.withUnsafeBufferPointer { r in
            d.data.withUnsafeMutableBufferPointer { d in
                // forward (dropout.h): h̃ = h ⊙ r
                for i in 0..<d.count { d[i] *= r[i] }                                 // (dropout.dh)
            }
        }
    }
}
