/// The masked MLP autoencoder (reconstruct the hidden pixels of an image), derived in `derivations/masked-autoencoder.md`.
///
///     x̃ = M ⊙ x                        (masked-autoencoder.xin)   M (`m` in code): 1 = pixel shown, 0 = hidden
///     x̂ = MLP(x̃)                       ReLU hidden layers, sigmoid output
///     L = (1/N) Σ w ⊙ (x̂ − x)²          (losses.mse)   w = 1 − M (loss on masked pixels) or 1 (all)
public struct MaskedAutoencoder<Real: Scalar> {
    public enum Mask: Equatable, Sendable, CustomStringConvertible {
        case leftHalf, rightHalf
        /// Each pixel hidden independently with probability p.
        case random(Double)
        /// The image cut into k×k-pixel squares; each square hidden with probability 1/2.
        case patches(Int)

        public init?(parsing s: String) {
            switch s {
            case "left-half": self = .leftHalf
            case "right-half": self = .rightHalf
            default:
                if s.hasPrefix("random:"), let p = Double(s.dropFirst(7)), p > 0, p < 1 { self = .random(p) }
                else if s.hasPrefix("patches:"), let k = Int(s.dropFirst(8)), k >= 1 { self = .patches(k) }
                else { return nil }
            }
        }

        public var description: String {
            switch self {
            case .leftHalf: return "left-half"
            case .rightHalf: return "right-half"
            case .random(let p): return "random:\(p)"
            case .patches(let k): return "patches:\(k)"
            }
        }

        /// Writes a fresh mask for a batch of B images of height×width into `m` (B × h·w).
        public func fill(_ m: inout Matrix<Real>, batch: Int, height: Int, width: Int, rng: inout RNG) {
            ensure(&m, batch, height * width)
            let P = height * width
            switch self {
            case .leftHalf, .rightHalf:
                // the same mask for every image: the first image's, then copied into the other rows
                guard batch > 0, P > 0 else { return }
                for r in 0..<height {
                    for c in 0..<width {
                        let left = c < width / 2
                        m[0, r * width + c] = (left == (self == .leftHalf)) ? 0 : 1
                    }
                }
                m.data.withUnsafeMutableBufferPointer { d in
                    for b in 1..<batch { (d.baseAddress! + b * P).update(from: d.baseAddress!, count: P) }
                }
            case .random(let p):
                for b in 0..<batch {
                    for i in 0..<P { m[b, i] = rng.uniform() < p ? 0 : 1 }
                }
            case .patches(let k):
                let pr = (height + k - 1) / k, pc = (width + k - 1) / k
                for b in 0..<batch {
                    var hidden = (0..<(pr * pc)).map { _ in rng.uniform() < 0.5 }
                    if !hidden.contains(true) { hidden[rng.int(below: hidden.count)] = true }   // always something to fill in
                    for r in 0..<height {
                        for c in 0..<width { m[b, r * width + c] = hidden[(r / k) * pc + c / k] ? 0 : 1 }
                    }
                }
            }
        }
    }

    public enum LossOn: String, Sendable { case masked, all }

    public let mlp: MLP<Real>
    public let lossOn: LossOn

    /// hidden: the widths between input and output (seed-like default 256, 64, 256).
    public init(pixels: Int, hidden: [Int], lossOn: LossOn = .masked, threads: Int = 1) {
        var m = MLP<Real>(sizes: [pixels] + hidden + [pixels], hidden: .relu, output: .sigmoid)
        m.threads = threads
        mlp = m
        self.lossOn = lossOn
    }

    public struct Workspace {
        public var cache = MLP<Real>.Cache()
        public var xIn = Matrix<Real>(rows: 0, cols: 0)   // x̃ = m ⊙ x
        var w = Matrix<Real>(rows: 0, cols: 0)            // loss weights
        var dOut = Matrix<Real>(rows: 0, cols: 0)
        /// ∂L/∂x after `lossAndGradient(…, inputGradient: true)`.
        public var dx = Matrix<Real>(rows: 0, cols: 0)
        public init() {}
        public var reconstruction: Matrix<Real> { cache.output }
    }

    /// Forward: x̃, x̂ and the loss. Returns the weighted squared-error sum and N = Σ w.
    @discardableResult
    public func forward(_ x: Matrix<Real>, mask m: Matrix<Real>, _ p: MLP<Real>.Parameters, workspace ws: inout Workspace) -> (sum: Double, count: Double) {
        require(x.rows == m.rows && x.cols == m.cols, "autoencoder: mask shape")
        ensure(&ws.xIn, x.rows, x.cols)
        ensure(&ws.w, x.rows, x.cols)
        var count = 0.0
        let masked = lossOn == .masked
        // Through the buffers (an element subscript checks the array each time): the same numbers.
        ws.xIn.data.withUnsafeMutableBufferPointer { xIn in
            ws.w.data.withUnsafeMutableBufferPointer { w in
                m.data.withUnsafeBufferPointer { mv in
                    x.data.withUnsafeBufferPointer { xv in
                        for i in 0..<xv.count {
                            xIn[i] = mv[i] * xv[i]                                   // (masked-autoencoder.xin)
                            w[i] = Self.lossWeight(mv[i], masked: masked)            // (masked-autoencoder.w)
                            count += Double(w[i])
                        }
                    }
                }
            }
        }
        let xhat = mlp.forward(ws.xIn, p, cache: &ws.cache)
        return (MSELoss.forward(xhat, target: x, weights: ws.w, scale: 1), count)   // (losses.mse)
    }

    /// A pixel's weight in the loss (masked-autoencoder.w): 1 − m on the hidden pixels when the
    /// loss is on the masked ones, else 1.
    @inline(__always)
    static func lossWeight(_ m: Real, masked: Bool) -> Real { masked ? 1 - m : 1 }

    /// N = Σ w over a batch's mask (B × pixels): what `forward` returns as its count, without the
    /// forward pass. A batch split into shards scales every shard's loss by the whole batch's N.
    public func lossWeightSum(_ m: Matrix<Real>) -> Double {
        let masked = lossOn == .masked
        // A mask of 0s and 1s (every mask `Mask.fill` makes): Σ w counts the weights of 1, which
        // the sum in order gives exactly too (integers far below 2^53), so they are counted.
        let (zeros, onlyZerosAndOnes) = m.data.withUnsafeBufferPointer { d in
            var zeros = 0, other = false
            for x in d {
                zeros += x == 0 ? 1 : 0
                other = other || (x != 0 && x != 1)
            }
            return (zeros, !other)
        }
        if onlyZerosAndOnes { return Double(masked ? zeros : m.count) }
        return m.data.reduce(0.0) { $0 + Double(Self.lossWeight($1, masked: masked)) }
    }

    /// Forward and backward of L = (1/N) Σ w (x̂ − x)² with N = `normalizer` (default Σ w of
    /// this batch). Accumulates parameter gradients (`write: .overwrite`: writes them, `GradientWrite`);
    /// with `inputGradient`, ∂L/∂x into `ws.dx`.
    @discardableResult
    public func lossAndGradient(_ x: Matrix<Real>, mask m: Matrix<Real>, _ p: MLP<Real>.Parameters, workspace ws: inout Workspace,
                                grads: inout MLP<Real>.Parameters, normalizer: Double? = nil, inputGradient: Bool = false,
                                write: GradientWrite = .accumulate) -> Double {
        let (sum, count) = forward(x, mask: m, p, workspace: &ws)
        let scale = 1 / max(normalizer ?? count, 1)
        // forward (losses.mse): L = (1/N) Σ w (x̂ − x)²
        MSELoss.backward(ws.cache.output, target: x, weights: ws.w, scale: scale, into: &ws.dOut)   // (losses.dmse)
        ws.cache.dOutput = ws.dOut
        mlp.backward(ws.xIn, p, cache: &ws.cache, grads: &grads, inputGradient: inputGradient, write: write)
        if inputGradient {
            // x is used twice: as the masked input (x̃ = m ⊙ x) and as the target.
            ensure(&ws.dx, x.rows, x.cols)
            for i in 0..<x.count {
                ws.dx.data[i] = m.data[i] * ws.cache.dx.data[i] - ws.dOut.data[i]          // (masked-autoencoder.dx)
            }
        }
        return sum * scale
    }
}
