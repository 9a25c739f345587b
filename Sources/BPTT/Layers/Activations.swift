/// Elementwise nonlinearities, derived in `derivations/activations.md`.
///
///     h = φ(z)              forward, elementwise, z and h of the same shape B×n
///     dz = dh ⊙ φ′(z)       backward, written with the saved z (ReLU family) or h (sigmoid, tanh)
public enum Activation: Equatable, Sendable, CustomStringConvertible {
    case identity
    case relu
    case leakyReLU(alpha: Double)
    case sigmoid
    case tanh

    public var description: String {
        switch self {
        case .identity: return "identity"
        case .relu: return "relu"
        case .leakyReLU(let a): return "leaky-relu(\(a))"
        case .sigmoid: return "sigmoid"
        case .tanh: return "tanh"
        }
    }

    /// True for the piecewise-linear ones, whose derivative jumps at z = 0 (gradient checks
    /// must notice a nudge crossing that kink).
    public var hasKink: Bool {
        switch self {
        case .relu, .leakyReLU: return true
        default: return false
        }
    }

    /// h = φ(z), into `h` (reshaped to z's shape when needed).
    public func forward<Real: Scalar>(_ z: Matrix<Real>, into h: inout Matrix<Real>) {
        ensure(&h, z.rows, z.cols)
        let kind = self
        z.data.withUnsafeBufferPointer { z in
            h.data.withUnsafeMutableBufferPointer { h in
                switch kind {
                case .identity:
                    for i in 0..<z.count { h[i] = z[i] }                                   // (activations.identity)
                case .relu:
                    for i in 0..<z.count { h[i] = z[i] > 0 ? z[i] : 0 }                    // (activations.relu)
                case .leakyReLU(let a):
                    let alpha = Real(a)
                    for i in 0..<z.count { h[i] = z[i] > 0 ? z[i] : alpha * z[i] }         // (activations.leaky)
                case .sigmoid:
                    // 8 lanes at a time, the same bits as the scalar σ (`Scalar.sigmoid(_: SIMD8)`)
                    guard let pz = z.baseAddress, let ph = h.baseAddress else { return }
                    for i in stride(from: 0, to: z.count, by: 8) {
                        let n = min(8, z.count - i)
                        store8(Real.sigmoid(lanes8(pz + i, n)), ph + i, n)                    // (activations.sigmoid)
                    }
                case .tanh:
                    for i in 0..<z.count { h[i] = Real.tanh(z[i]) }                            // (activations.tanh)
                }
            }
        }
    }

    /// dz = dh ⊙ φ′(z), into `dz`. `z` and `h` are the forward's saved input and output.
    public func backward<Real: Scalar>(_ dh: Matrix<Real>, z: Matrix<Real>, h: Matrix<Real>, into dz: inout Matrix<Real>) {
        require(dh.rows == z.rows && dh.cols == z.cols && h.count == z.count, "activation backward: shape mismatch")
        ensure(&dz, z.rows, z.cols)
        let kind = self
        dh.data.withUnsafeBufferPointer { dh in
            z.data.withUnsafeBufferPointer { z in
                h.data.withUnsafeBufferPointer { h in
                    dz.data.withUnsafeMutableBufferPointer { dz in
                        switch kind {
                        case .identity:
                            // forward (activations.identity): h = z
                            for i in 0..<dh.count { dz[i] = dh[i] }                                        // (activations.didentity)
                        case .relu:
                            // forward (activations.relu): h = max(z, 0)
                            for i in 0..<dh.count { dz[i] = z[i] > 0 ? dh[i] : 0 }                         // (activations.drelu)
                        case .leakyReLU(let a):
                            // forward (activations.leaky): h = z if z > 0, else αz
                            let alpha = Real(a)
                            for i in 0..<dh.count { dz[i] = z[i] > 0 ? dh[i] : alpha * dh[i] }             // (activations.dleaky)
                        case .sigmoid:
                            // forward (activations.sigmoid): h = σ(z), σ′ = h(1 − h)
                            for i in 0..<dh.count { dz[i] = dh[i] * h[i] * (1 - h[i]) }                    // (activations.dsigmoid)
                        case .tanh:
                            // forward (activations.tanh): h = tanh(z), tanh′ = 1 − h²
                            for i in 0..<dh.count { dz[i] = dh[i] * (1 - h[i] * h[i]) }                    // (activations.dtanh)
                        }
                    }
                }
            }
        }
    }

    /// Parses `relu`, `leaky-relu`, `leaky-relu:0.2`, `sigmoid`, `tanh`, `identity`.
    public init?(parsing s: String) {
        switch s {
        case "identity", "linear": self = .identity
        case "relu": self = .relu
        case "leaky-relu", "leakyrelu": self = .leakyReLU(alpha: 0.2)
        case "sigmoid": self = .sigmoid
        case "tanh": self = .tanh
        default:
            if s.hasPrefix("leaky-relu:"), let a = Double(s.dropFirst("leaky-relu:".count)), a.isFinite, a >= 0 {
                self = .leakyReLU(alpha: a)
            } else {
                return nil
            }
        }
    }
}
