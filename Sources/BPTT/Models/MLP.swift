/// A sequential multi-layer perceptron: Linear → φ → (dropout) → Linear → φ → … → Linear → φ_out.
///
/// Layer l (1-based in the derivations, 0-based here) computes, for the batch X = h_0 (B×n_0):
///
///     z_l = h_{l−1} W_lᵀ + b_l          (linear.y)         W_l n_l×n_{l−1}, z_l B×n_l
///     a_l = φ_l(z_l)                    (activations.*)
///     h_l = a_l ⊙ r_l                   (dropout.h)        hidden layers, training only
///
/// and the backward pass walks the same lines in reverse (see `backward`). The network's output
/// is a_L; a loss turns it into dh_L = ∂L/∂a_L.
public struct MLP<Real: Scalar> {
    public struct Layer {
        public var linear: Linear<Real>
        public var activation: Activation
        /// Dropout rate on this layer's output while training (0 = none).
        public var dropout: Double
    }

    /// Weights and biases of every layer, named W1, b1, W2, b2, … in the order of the layers
    /// (W_l n_l × n_{l−1}, b_l 1 × n_l).
    public struct Parameters: ParameterSet {
        public var layers: [Linear<Real>.Parameters]

        public mutating func forEachTensor(pairedWith other: Self?, _ body: (String, inout Matrix<Real>, Matrix<Real>?) -> Void) {
            for l in layers.indices {
                body("W\(l + 1)", &layers[l].W, other?.layers[l].W); body("b\(l + 1)", &layers[l].b, other?.layers[l].b)
            }
        }
    }

    /// Everything the forward pass saves for the backward pass, plus reused gradient buffers.
    public struct Cache {
        public var z: [Matrix<Real>] = []      // pre-activations z_l, B×n_l
        public var a: [Matrix<Real>] = []      // activations a_l = φ(z_l)
        var h: [Matrix<Real>] = []             // a_l ⊙ r_l (only where dropout was applied)
        var r: [Matrix<Real>] = []             // scaled dropout masks r_l
        var dropped: [Bool] = []            // whether layer l applied dropout in this forward
        var da: [Matrix<Real>] = []            // ∂L/∂a_l (then ∂L/∂h_l ⊙ r_l)
        var dz: [Matrix<Real>] = []            // ∂L/∂z_l
        /// ∂L/∂x after `backward(…, inputGradient: true)`.
        public var dx = Matrix<Real>(rows: 0, cols: 0)
        /// A probe for `bptt explain` (nil while training: one check per layer).
        public var tracer: Tracer? = nil
        public init() {}

        /// h_l: the input of layer l + 1.
        func output(_ l: Int) -> Matrix<Real> { dropped[l] ? h[l] : a[l] }
        /// The network's output a_L.
        public var output: Matrix<Real> { a[a.count - 1] }
        /// Buffer for dh_L = ∂L/∂a_L: a loss writes it, `backward` reads it.
        public var dOutput: Matrix<Real> {
            get { da[da.count - 1] }
            set { da[da.count - 1] = newValue }
        }
    }

    public let layers: [Layer]
    /// Threads for each large GEMM (results do not depend on it).
    public var threads: Int = 1

    public var inputSize: Int { layers[0].linear.inputSize }
    public var outputSize: Int { layers[layers.count - 1].linear.outputSize }

    /// sizes = [n_0, n_1, …, n_L]; `hidden` after every layer but the last, `output` after the last.
    public init(sizes: [Int], hidden: Activation, output: Activation, dropout: Double = 0) {
        require(sizes.count >= 2 && sizes.allSatisfy { $0 > 0 }, "an MLP needs at least an input and an output size")
        let L = sizes.count - 1
        layers = (0..<L).map { l in
            Layer(linear: Linear(inputSize: sizes[l], outputSize: sizes[l + 1]),
                  activation: l == L - 1 ? output : hidden, dropout: l == L - 1 ? 0 : dropout)
        }
    }

    public func initialParameters(_ initializer: Initializer, rng: inout RNG) -> Parameters {
        Parameters(layers: layers.map { $0.linear.initialParameters(initializer, rng: &rng) })
    }

    /// Forward pass of a batch x (B×n_0). With `dropoutRNG`, hidden layers apply dropout (training);
    /// without, none do (evaluation). Returns a_L (also `cache.output`).
    @discardableResult
    public func forward(_ x: Matrix<Real>, _ p: Parameters, cache c: inout Cache, dropoutRNG: UnsafeMutablePointer<RNG>? = nil) -> Matrix<Real> {
        require(x.cols == inputSize, "MLP input has \(x.cols) columns, expected \(inputSize)")
        let L = layers.count
        if c.z.count != L {
            c.z = Array(repeating: Matrix(rows: 0, cols: 0), count: L)
            c.a = c.z; c.h = c.z; c.r = c.z; c.da = c.z; c.dz = c.z
            c.dropped = Array(repeating: false, count: L)
        }
        for l in 0..<L {
            let layer = layers[l]
            let input = l == 0 ? x : c.output(l - 1)
            layer.linear.forward(input, p.layers[l], into: &c.z[l], threads: threads)       // (linear.y)
            c.tracer?.forward(.mlpZ, l + 1, &c.z[l])                                          // (linear.y)
            layer.activation.forward(c.z[l], into: &c.a[l])                                   // φ: (activations.*)
            c.tracer?.forward(.mlpA, l + 1, &c.a[l])                                          // φ: (activations.*)
            c.dropped[l] = layer.dropout > 0 && dropoutRNG != nil
            if c.dropped[l] {
                Dropout.forward(c.a[l], rate: layer.dropout, rng: &dropoutRNG!.pointee, mask: &c.r[l], into: &c.h[l])   // (dropout.h)
            }
        }
        return c.a[L - 1]
    }

    /// Backward pass from dh_L = `cache.dOutput` (set it first, e.g. from a loss).
    /// - grads: accumulates ∂L/∂W_l and ∂L/∂b_l (`+=`); nil leaves the parameters out
    ///   (the discriminator while the generator trains).
    /// - inputGradient: also write ∂L/∂x into `cache.dx`.
    /// - write: `.overwrite` stores the gradients as though `grads` had been zeroed first (`GradientWrite`).
    public func backward(_ x: Matrix<Real>, _ p: Parameters, cache c: inout Cache, grads: inout Parameters?,
                         inputGradient: Bool = false, write: GradientWrite = .accumulate) {
        for l in stride(from: layers.count - 1, through: 0, by: -1) {
            let layer = layers[l]
            // forward (dropout.h): h_l = a_l ⊙ r_l
            if c.dropped[l] { Dropout.backward(&c.da[l], mask: c.r[l]) }                     // (dropout.dh)
            c.tracer?.backward(.mlpA, l + 1, c.da[l])                                         // (linear.dx)
            // forward: a_l = φ_l(z_l)
            layer.activation.backward(c.da[l], z: c.z[l], h: c.a[l], into: &c.dz[l])          // dφ: (activations.d*)
            c.tracer?.backward(.mlpZ, l + 1, c.dz[l])                                         // dφ: (activations.d*)
            // forward (linear.y): z_l = h_{l−1} W_lᵀ + b_l
            let input = l == 0 ? x : c.output(l - 1)
            let needInput = l > 0 || inputGradient
            if grads != nil {
                if needInput {
                    if l > 0 {
                        layer.linear.backward(c.dz[l], x: input, p.layers[l], grads: &grads!.layers[l],
                                              dx: &c.da[l - 1], threads: threads, write: write)   // (linear.dW) (linear.db) (linear.dx)
                    } else {
                        layer.linear.backward(c.dz[l], x: input, p.layers[l], grads: &grads!.layers[l],
                                              dx: &c.dx, threads: threads, write: write)          // (linear.dW) (linear.db) (linear.dx)
                    }
                } else {
                    layer.linear.backward(c.dz[l], x: input, grads: &grads!.layers[l], threads: threads, write: write)  // (linear.dW) (linear.db)
                }
                if let tracer = c.tracer { tracer.backward(.mlpDW, l + 1, grads!.layers[l].W); tracer.backward(.mlpDb, l + 1, grads!.layers[l].b) }
            } else if needInput {
                if l > 0 {
                    layer.linear.inputBackward(c.dz[l], p.layers[l], dx: &c.da[l - 1], threads: threads)  // (linear.dx)
                } else {
                    layer.linear.inputBackward(c.dz[l], p.layers[l], dx: &c.dx, threads: threads)          // (linear.dx)
                }
            }
        }
    }

    /// Backward with parameter gradients (the common case).
    public func backward(_ x: Matrix<Real>, _ p: Parameters, cache c: inout Cache, grads: inout Parameters,
                         inputGradient: Bool = false, write: GradientWrite = .accumulate) {
        var g: Parameters? = grads
        grads = Parameters(layers: [])   // hand the buffers over without copying
        backward(x, p, cache: &c, grads: &g, inputGradient: inputGradient, write: write)
        grads = g!
    }

    /// A hash of which side of 0 every pre-activation of a ReLU-family layer lies on
    /// (gradient checks detect a nudge that crosses a kink by a change of this hash).
    public func kinkPattern(_ c: Cache) -> Int {
        var hasher = Hasher()
        for (l, layer) in layers.enumerated() where layer.activation.hasKink {
            for v in c.z[l].data { hasher.combine(v > 0) }
        }
        return hasher.finalize()
    }

    /// min |z| over the ReLU-family layers (how close the batch comes to a kink).
    public func minKinkDistance(_ c: Cache) -> Double {
        var m = Double.infinity
        for (l, layer) in layers.enumerated() where layer.activation.hasKink {
            for v in c.z[l].data { m = Swift.min(m, Swift.abs(Double(v))) }
        }
        return m
    }
}
