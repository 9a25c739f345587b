/// Inverted dropout, derived in `derivations/dropout.md`.
///
///     r = m / (1 − p), m ~ Bernoulli(1 − p)     drawn once per forward, saved
///     h = a ⊙ r                                  (dropout.h)
///     da = dh ⊙ r                                (dropout.da)
///
/// Scaling by 1/(1 − p) while training keeps E[h] = a, so evaluation uses h = a unchanged.
public enum Dropout {
    /// Draws the scaled keep mask `r` from `rng` and writes h = a ⊙ r.
    public static func forward<T: Scalar>(_ a: Matrix<T>, rate p: Double, rng: inout RNG,
                                          mask r: inout Matrix<T>, into h: inout Matrix<T>) {
        precondition(p >= 0 && p < 1, "dropout rate must be in [0, 1)")
        ensure(&r, a.rows, a.cols)
        ensure(&h, a.rows, a.cols)
        let keep = T(1 / (1 - p))
        for i in 0..<r.count { r.data[i] = rng.uniform() < p ? 0 : keep }
        a.data.withUnsafeBufferPointer { a in
            r.data.withUnsafeBufferPointer { r in
                h.data.withUnsafeMutableBufferPointer { h in
                    for i in 0..<a.count { h[i] = a[i] * r[i] }                      // (dropout.h)
                }
            }
        }
    }

    /// da = dh ⊙ r, in place on `d` (which holds dh on entry).
    public static func backward<T: Scalar>(_ d: inout Matrix<T>, mask r: Matrix<T>) {
        precondition(d.count == r.count, "dropout backward: shape mismatch")
        r.data.withUnsafeBufferPointer { r in
            d.data.withUnsafeMutableBufferPointer { d in
                // forward (dropout.h): h = a ⊙ r
                for i in 0..<d.count { d[i] *= r[i] }                                 // (dropout.da)
            }
        }
    }
}
