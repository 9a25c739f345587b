import Foundation

/// Why gradients vanish, in numbers (`derivations/long-memory.md`, Pascanu, Mikolov & Bengio 2013):
/// the Jacobian product ∂h_T/∂h_k for every k, the spectral radius and largest singular value of
/// the recurrent matrices, and the saturation of the gates.
public enum GradientAnatomy {
    /// The Jacobian products of one example: J_k = ∂h_T/∂h_k (H×H; row j is ∂(h_T)_j/∂h_k) for
    /// k = 0…T (index k; J_T = I), computed by backpropagation: the example is repeated in H rows
    /// and row j's gradient from above at step T is e_j, so the time loop's dh_k is J_k row by row
    /// (long-memory.jacobian). `xs`: T steps of 1×D. The cell's other state parts (c) are held fixed.
    public static func jacobians<C: RecurrentCell>(_ cell: C, _ p: C.Parameters, xs: [Matrix<Double>]) -> [Matrix<Double>] where C.Real == Double {
        let H = cell.hiddenSize, steps = xs.count
        let repeated = xs.map { x in Matrix<Double>(rows: H, cols: x.cols, data: (0..<H).flatMap { _ in x.data }) }
        var cache = SequenceCache<C>()
        let tracer = Tracer()
        cache.tracer = tracer
        cell.forward(repeated, p, cache: &cache)
        var seed = Matrix<Double>(rows: H, cols: H)
        for j in 0..<H { seed[j, j] = 1 }                                                   // dh_T = e_j in row j
        var dhs = [Matrix<Double>?](repeating: nil, count: steps)
        dhs[steps - 1] = seed
        var g = p.zeros()
        cell.backward(dhs, p, cache: &cache, grads: &g)
        var out = [cache.dh0]                                                               // J_0 = ∂h_T/∂h_0
        for t in 1...steps {
            out.append(tracer.record(.backward, cell.hQuantity, t)!.value)                  // J_t: dh_t, row j from e_j
        }
        return out
    }

    /// The same Jacobians by central differences of h_T in h_k (k ≥ 1 perturbs the state after
    /// step k and runs the remaining steps), for checks. Slow: 2·H forward runs per k.
    public static func finiteDifferenceJacobian<C: RecurrentCell>(_ cell: C, _ p: C.Parameters, xs: [Matrix<Double>], k: Int, h: Double = 1e-6) -> Matrix<Double> where C.Real == Double {
        let H = cell.hiddenSize
        var cache = SequenceCache<C>()
        cell.forward(xs, p, cache: &cache)
        let start = cache.states[k]
        let rest = Array(xs[k...])
        var J = Matrix<Double>(rows: H, cols: H)
        for i in 0..<H {
            var plus = start, minus = start
            plus.h[0, i] += h
            minus.h[0, i] -= h
            func hT(_ s: C.State) -> Matrix<Double> {
                if rest.isEmpty { return s.h }
                var c = SequenceCache<C>()
                cell.forward(rest, h0: s.h, c0: s.memory, p, cache: &c)
                return c.hT
            }
            let a = hT(plus), b = hT(minus)
            for j in 0..<H { J[j, i] = (a[0, j] - b[0, j]) / (2 * h) }
        }
        return J
    }

    /// The `count` largest singular values of A (descending), by orthogonal iteration on AᵀA
    /// with modified Gram–Schmidt (deterministic start), `iterations` rounds.
    public static func topSingularValues(_ A: Matrix<Double>, count: Int = 3, iterations: Int = 300) -> [Double] {
        let n = A.cols, k = min(count, n)
        var V = (0..<k).map { j in (0..<n).map { i in i == j ? 1.0 : 0.1 * sin(Double(i * (j + 1)) + 1) } }
        func apply(_ v: [Double]) -> [Double] {              // AᵀA v
            var av = [Double](repeating: 0, count: A.rows)
            for r in 0..<A.rows { var s = 0.0; for c in 0..<n { s += A[r, c] * v[c] }; av[r] = s }
            var out = [Double](repeating: 0, count: n)
            for r in 0..<A.rows { let s = av[r]; if s != 0 { for c in 0..<n { out[c] += A[r, c] * s } } }
            return out
        }
        var values = [Double](repeating: 0, count: k)
        for _ in 0..<iterations {
            V = V.map(apply)
            for j in 0..<k {                                                      // modified Gram–Schmidt
                for i in 0..<j {
                    let d = zip(V[j], V[i]).reduce(0) { $0 + $1.0 * $1.1 }
                    for c in 0..<n { V[j][c] -= d * V[i][c] }
                }
                let norm = V[j].reduce(0) { $0 + $1 * $1 }.squareRoot()
                values[j] = norm.squareRoot()                                     // ‖AᵀA v‖ → σ², σ = √
                if norm > 0 { for c in 0..<n { V[j][c] /= norm } }
            }
        }
        return values
    }

    /// ρ(W), the spectral radius, by Gelfand's formula ρ = lim ‖W^m‖^{1/m}: W is squared 16
    /// times (m = 65536), rescaled each time, the scales summed in logarithms (long-memory.spectral).
    public static func spectralRadius(_ W: Matrix<Double>, squarings: Int = 16) -> Double {
        var A = W
        var logScale = 0.0          // log ‖W^m‖ = logScale + log ‖A‖ with A = W^m / e^{logScale}
        var m = 1.0
        for _ in 0..<squarings {
            let norm = A.sumOfSquares.squareRoot()
            if norm == 0 { return 0 }
            for i in 0..<A.count { A.data[i] /= norm }
            logScale += Foundation.log(norm)
            var B = Matrix<Double>(rows: A.rows, cols: A.cols)
            gemm(A, A, into: &B)
            A = B
            logScale *= 2
            m *= 2
        }
        let norm = A.sumOfSquares.squareRoot()
        if norm == 0 { return 0 }
        return Foundation.exp((logScale + Foundation.log(norm)) / m)                         // (long-memory.spectral)
    }

    /// Gate saturation: for each σ gate of the cell (LSTM i, f, o; GRU r, z), the fraction of its
    /// outputs below 0.05 or above 0.95 at each step t = 1…T (long-memory.saturation). Empty for the RNN.
    public static func saturation<C: RecurrentCell>(_ cell: C, _ p: C.Parameters, xs: [Matrix<Double>]) -> [(gate: String, perStep: [Double])] where C.Real == Double {
        var cache = SequenceCache<C>()
        let tracer = Tracer()
        cache.tracer = tracer
        cell.forward(xs, p, cache: &cache)
        let gates: [(String, [Quantity])] = [("i", [.lstmI]), ("f", [.lstmF]), ("o", [.lstmO]), ("r", [.gruR, .gruRCho]), ("z", [.gruZ])]
        var out: [(String, [Double])] = []
        for (name, qs) in gates {
            guard let q = qs.first(where: { tracer.record(.forward, $0, 1) != nil }) else { continue }
            out.append((name, (1...xs.count).map { t in
                let v = tracer.record(.forward, q, t)!.value.data
                return Double(v.filter { $0 < 0.05 || $0 > 0.95 }.count) / Double(max(v.count, 1))   // (long-memory.saturation)
            }))
        }
        return out
    }
}

/// What `gradflow` measures beside ‖∂L/∂h_t‖, for one model at one moment.
public struct JacobianSummary: Sendable, Codable, Equatable {
    /// ‖∂h_T/∂h_k‖_F for k = 0…T (one example of the fixed batch; k = T is ‖I‖ = √H).
    public var norms: [Double]
    /// The three largest singular values of ∂h_T/∂h_k, k = 0…T.
    public var topSingularValues: [[Double]]
    /// Per σ gate, the fraction of saturated outputs (< 0.05 or > 0.95) at each step, over the batch.
    public var saturation: [String: [Double]]
}

/// The recurrent matrices' ρ and σ_max at one training step.
public struct SpectralPoint: Sendable, Codable, Equatable {
    public var step: Int
    /// By matrix name (W_hh; W_ih, W_fh, W_gh, W_oh; W_rh, W_zh, W_nh).
    public var spectralRadius: [String: Double]
    public var largestSingularValue: [String: Double]
}

extension GradientAnatomy {
    /// Measures a palindrome model given by its configuration and (Float32) tensors: the Jacobian
    /// products of the first example of the fixed batch (`gradientNorms`' batch) through the first
    /// level's cell, and the gates' saturation over the whole batch, in Float64.
    public static func measure(_ c: TrainConfig, tensors: [Checkpoint.NamedTensor], length: Int, batchSeed: UInt64 = 0x6F10) throws -> JacobianSummary {
        guard let kind = CellKind(rawValue: c.model) else { throw BPTTError.usage("unknown model '\(c.model)'") }
        return try kind.accept(AnatomyVisitor(config: c, tensors: tensors, length: length, seed: batchSeed), hidden: c.hidden, forgetBiasOne: c.forgetBiasOne)
    }

    /// ρ and σ_max of every recurrent H×H matrix of the first level, named as the cell names them.
    public static func spectral(_ tensors: [Checkpoint.NamedTensor], hidden H: Int, step: Int) -> SpectralPoint {
        var rho: [String: Double] = [:], sigma: [String: Double] = [:]
        for t in tensors {
            let base = t.name.hasSuffix("_l0") ? String(t.name.dropLast(3)) : t.name
            guard RecurrentStack<RNN<Double>>.recurrentMatrixNames.contains(base), t.value.rows == H, t.value.cols == H else { continue }
            let W = t.value.converted(to: Double.self)
            rho[base] = spectralRadius(W)
            sigma[base] = topSingularValues(W, count: 1, iterations: 500)[0]
        }
        return SpectralPoint(step: step, spectralRadius: rho, largestSingularValue: sigma)
    }
}

struct AnatomyVisitor: CellVisitor {
    typealias Real = Double
    let config: TrainConfig, tensors: [Checkpoint.NamedTensor], length: Int, seed: UInt64
    func visit<C: RecurrentCell>(_ make: @escaping (Int) -> C) throws -> JacobianSummary where C.Real == Double {
        let model = SequenceClassifier(stack: RecurrentStack(layers: config.layers, bidirectional: config.bidirectional,
                                                             inputSize: Palindrome.inputSize, hiddenSize: config.hidden, make: make),
                                       classes: Palindrome.classes)
        var rng = RNG(seed: 0)
        var p = model.initialParameters(.pytorch, rng: &rng)
        try p.load(tensors, source: "the model in training")
        var data = RNG(seed: seed)
        let (xs, _) = Palindrome.batch(length: length, batchSize: config.batch, rng: &data, as: Double.self)
        let cell = model.stack.cells[0], cp = p.stack.units[0]
        let first = xs.map { Matrix<Double>(rows: 1, cols: $0.cols, data: Array($0.data[0..<$0.cols])) }
        let J = GradientAnatomy.jacobians(cell, cp, xs: first)
        let sat = GradientAnatomy.saturation(cell, cp, xs: xs)
        return JacobianSummary(norms: J.map { $0.sumOfSquares.squareRoot() },
                               topSingularValues: J.map { GradientAnatomy.topSingularValues($0) },
                               saturation: Dictionary(uniqueKeysWithValues: sat.map { ($0.gate, $0.perStep) }))
    }
}

extension Experiments {
    /// Writes gradflow_jacobian.csv and three charts: ‖∂h_T/∂h_k‖ against k (gradflow_jacobian.svg,
    /// at initialisation dashed, after training solid), ρ and σ_max of the recurrent matrices over
    /// training (gradflow_spectral.svg, with the line 1 where Pascanu et al.'s conditions turn),
    /// and the gates' saturation per step after training (gradflow_saturation.svg).
    public static func writeGradientAnatomy(_ flows: [GradientFlow], length: Int, outDir: String) throws {
        try createFolder(outDir)
        let csv = try CSVWriter(path: outDir + "/gradflow_jacobian.csv", header: ["model", "phase", "k", "jacobian_norm", "sigma_1", "sigma_2", "sigma_3"])
        for g in flows {
            for (phase, a) in [("init", g.anatomyInit), ("trained", g.anatomyTrained)] {
                guard let a else { continue }
                for (k, n) in a.norms.enumerated() {
                    let s = a.topSingularValues[k]
                    try csv.write([g.model, phase, String(k), fmt6(n)] + (0..<3).map { $0 < s.count ? fmt6(s[$0]) : "" })
                }
            }
        }
        try csv.close()
        let charts = gradientAnatomyCharts(flows, length: length)
        try charts.jacobian.write(to: outDir + "/gradflow_jacobian.svg")
        try charts.spectral.write(to: outDir + "/gradflow_spectral.svg")
        try charts.saturation.write(to: outDir + "/gradflow_saturation.svg")
    }

    /// The three charts of the gradient's anatomy (the files `gradflow_jacobian.svg`,
    /// `gradflow_spectral.svg`, `gradflow_saturation.svg`, and the sections of `--report`).
    public static func gradientAnatomyCharts(_ flows: [GradientFlow], length: Int) -> (jacobian: SVGChart, spectral: SVGChart, saturation: SVGChart) {
        var jac = SVGChart(title: "‖∂h_T/∂h_k‖ (Frobenius), T=\(length): dashed at initialisation, solid after training", xLabel: "k", yLabel: "‖∂h_T/∂h_k‖")
        jac.logY = true
        for g in flows {
            for (phase, a) in [("init", g.anatomyInit), ("trained", g.anatomyTrained)] {
                guard let a else { continue }
                var s = SVGChart.Series(name: "\(g.model) \(phase)", points: a.norms.enumerated().map { (Double($0.offset), max($0.element, 1e-300)) })
                s.dashed = phase == "init"
                jac.series.append(s)
            }
        }
        var spec = SVGChart(title: "recurrent matrices over training: spectral radius ρ (solid) and largest singular value σ_max (dashed)", xLabel: "training step", yLabel: "ρ, σ_max")
        spec.horizontalMarkers = [(1, "1")]
        for g in flows {
            guard let points = g.spectral, let names = points.first?.spectralRadius.keys.sorted() else { continue }
            for name in names {
                spec.series.append(.init(name: "\(g.model) \(name) ρ", points: points.map { (Double($0.step), $0.spectralRadius[name] ?? .nan) }))
                var s = SVGChart.Series(name: "\(g.model) \(name) σ_max", points: points.map { (Double($0.step), $0.largestSingularValue[name] ?? .nan) })
                s.dashed = true
                spec.series.append(s)
            }
        }
        var sat = SVGChart(title: "gate saturation after training: fraction of σ outputs < 0.05 or > 0.95 (dashed: at initialisation)", xLabel: "time step t", yLabel: "fraction saturated")
        sat.yRange = 0...1
        for g in flows {
            for (phase, a) in [("init", g.anatomyInit), ("trained", g.anatomyTrained)] {
                guard let a else { continue }
                for gate in a.saturation.keys.sorted() {
                    var s = SVGChart.Series(name: "\(g.model) \(gate) \(phase)", points: a.saturation[gate]!.enumerated().map { (Double($0.offset + 1), $0.element) })
                    s.dashed = phase == "init"
                    sat.series.append(s)
                }
            }
        }
        return (jac, spec, sat)
    }
}
