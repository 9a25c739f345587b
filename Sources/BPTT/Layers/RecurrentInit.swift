import Foundation

/// Initialisations for long memory, derived in `derivations/long-memory.md`. Each replaces a
/// few tensors of every unit after the ordinary initialiser has drawn them all:
///
/// - `identity` (IRNN, Le, Jaitly & Hinton 2015): W_hh = I and b_h = 0, so a ReLU RNN starts by
///   copying its state forward: ∂h_t/∂h_{t−1} = I on the active units (long-memory.identity).
/// - `orthogonal` (Saxe, McClelland & Ganguli 2014): every recurrent H×H matrix (W_hh; the LSTM's
///   W_ih, W_fh, W_gh, W_oh; the GRU's W_rh, W_zh, W_nh) is the Q of a QR decomposition of a
///   Gaussian matrix, all singular values 1 (long-memory.orthogonal).
/// - `chrono` (Tallec & Ollivier 2018): the LSTM's b_f = log u, u ~ U[1, T_max − 1], and
///   b_i = −b_f; the GRU's update gate (which keeps h_{t−1}) b_z = log u (long-memory.chrono).
public enum RecurrentInit: String, CaseIterable, Sendable, Codable {
    case identity, orthogonal, chrono

    /// Which cells the initialisation applies to (names as `CellKind`).
    public var cells: [String] {
        switch self {
        case .identity: return ["rnn", "rnn-relu"]
        case .orthogonal: return CellKind.names
        case .chrono: return ["lstm", "gru", "gru-cho"]
        }
    }

    /// The seed of the stream the replacement tensors are drawn from: the run's seed mixed with a
    /// constant, so the ordinary draws and the data streams stay those of the same seed without it.
    public static func seed(_ runSeed: UInt64) -> UInt64 { runSeed ^ 0x0127_1A17_C0DE_5EED }
}

/// Householder QR of a square Float64 matrix, written out: A = Q R with Q orthogonal and R upper
/// triangular, diag(R) ≥ 0 (the sign convention that makes Q of a Gaussian A Haar-distributed).
public enum HouseholderQR {
    /// Q and R of the n×n matrix A.
    public static func decompose(_ A: Matrix<Double>) -> (Q: Matrix<Double>, R: Matrix<Double>) {
        require(A.rows == A.cols, "HouseholderQR: square matrices only")
        let n = A.rows
        var R = A
        var Q = Matrix<Double>(rows: n, cols: n)
        for i in 0..<n { Q[i, i] = 1 }
        // column k: reflect R[k..<n, k] onto ∓‖·‖ e_1 with H = I − 2 v vᵀ / (vᵀ v)
        for k in 0..<max(n - 1, 0) {
            var v = (k..<n).map { R[$0, k] }
            let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
            if norm == 0 { continue }
            v[0] += v[0] >= 0 ? norm : -norm            // no cancellation: add the sign of v₀
            let vv = v.reduce(0) { $0 + $1 * $1 }
            if vv == 0 { continue }
            // R ← H R (rows k…n−1), Q ← Q H (columns k…n−1); Q accumulates H_0 H_1 … so A = Q R
            for j in 0..<n {
                var s = 0.0
                for i in k..<n { s += v[i - k] * R[i, j] }
                let f = 2 * s / vv
                for i in k..<n { R[i, j] -= f * v[i - k] }
            }
            for i in 0..<n {
                var s = 0.0
                for j in k..<n { s += Q[i, j] * v[j - k] }
                let f = 2 * s / vv
                for j in k..<n { Q[i, j] -= f * v[j - k] }
            }
        }
        // make diag(R) ≥ 0: flip row i of R and column i of Q together (Q R unchanged)
        for i in 0..<n where R[i, i] < 0 {
            for j in 0..<n { R[i, j] = -R[i, j]; Q[j, i] = -Q[j, i] }
        }
        for i in 0..<n { for j in 0..<min(i, n) { R[i, j] = 0 } }   // exact zeros below the diagonal
        return (Q, R)
    }

    /// An n×n orthogonal matrix: Q of the QR decomposition of a standard Gaussian matrix (long-memory.orthogonal).
    public static func randomOrthogonal(_ n: Int, rng: inout RNG) -> Matrix<Double> {
        decompose(.normal(n, n, std: 1, rng: &rng)).Q                                     // (long-memory.orthogonal)
    }
}

extension RecurrentStack {
    /// The names of a unit's recurrent H×H matrices, for every cell of the library.
    public static var recurrentMatrixNames: Set<String> { ["W_hh", "W_ih", "W_fh", "W_gh", "W_oh", "W_rh", "W_zh", "W_nh"] }

    /// Applies `kind` to every unit of `p` (drawn already by an ordinary initialiser), drawing
    /// from `rng`. `chronoTMax`: the longest dependency the chrono initialisation plans for (≥ 2).
    /// Returns the number of tensors replaced (0 when the cell has none of the tensors `kind` sets).
    @discardableResult
    public func applyRecurrentInit(_ kind: RecurrentInit, chronoTMax: Int, to p: inout Parameters, rng: inout RNG) -> Int {
        var replaced = 0
        let H = hiddenSize
        for u in p.units.indices {
            var forget: [Double]? = nil   // chrono: b_f, then b_i = −b_f of the same unit
            p.units[u].forEachTensor(pairedWith: nil) { name, m, _ in
                switch kind {
                case .identity:
                    if name == "W_hh" {
                        m = Matrix(rows: H, cols: H)
                        for i in 0..<H { m[i, i] = 1 }                                    // (long-memory.identity)
                        replaced += 1
                    } else if name == "b_h" {
                        m = Matrix(rows: 1, cols: H)                                      // (long-memory.identity)
                        replaced += 1
                    }
                case .orthogonal:
                    if Self.recurrentMatrixNames.contains(name) && m.rows == H && m.cols == H {
                        m = HouseholderQR.randomOrthogonal(H, rng: &rng).converted(to: Real.self)   // (long-memory.orthogonal)
                        replaced += 1
                    }
                case .chrono:
                    if name == "b_f" || name == "b_z" || name == "b_i" {
                        if forget == nil {
                            let top = Double(max(chronoTMax, 2)) - 1
                            forget = (0..<H).map { _ in Foundation.log(rng.uniform(1, top)) }   // (long-memory.chrono)
                        }
                        let sign: Double = name == "b_i" ? -1 : 1                         // (long-memory.chrono)
                        m = Matrix(rows: 1, cols: H, data: forget!.map { Real(sign * $0) })
                        replaced += 1
                    }
                }
            }
        }
        return replaced
    }
}
