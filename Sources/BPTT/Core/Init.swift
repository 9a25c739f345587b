/// Weight initialisers. Each fills a matrix from the run's RNG.
public enum Initializer: String, CaseIterable, Sendable, Codable {
    /// PyTorch's default for RNN/LSTM/GRU and Linear: U(−1/√fanIn', 1/√fanIn') where fanIn' is
    /// the hidden size for recurrent cells and the input width for linear layers.
    case pytorch
    /// Glorot/Xavier uniform: U(−a, a), a = √(6 / (fanIn + fanOut)).
    case xavier
    /// Small normal N(0, 0.01²).
    case normal
    /// N(0, 1), as hand-written PyTorch cells initialised with `torch.randn` are: large, slow to train.
    case randn
}

extension Matrix {
    /// U(−bound, bound).
    public static func uniform(_ rows: Int, _ cols: Int, bound: Double, rng: inout RNG) -> Matrix {
        var m = Matrix(rows: rows, cols: cols)
        for i in 0..<m.count { m.data[i] = Real(rng.uniform(-bound, bound)) }
        return m
    }

    /// N(0, std²).
    public static func normal(_ rows: Int, _ cols: Int, std: Double, rng: inout RNG) -> Matrix {
        var m = Matrix(rows: rows, cols: cols)
        for i in 0..<m.count { m.data[i] = Real(std * rng.gaussian()) }
        return m
    }

    /// A tensor drawn with `initializer`. `pytorchFan` is the fan PyTorch uses for the bound
    /// (hidden size for recurrent weights and biases, input width for linear layers).
    public static func initialized(_ rows: Int, _ cols: Int, _ initializer: Initializer,
                                   fanIn: Int, fanOut: Int, pytorchFan: Int, rng: inout RNG) -> Matrix {
        switch initializer {
        case .pytorch: return uniform(rows, cols, bound: 1 / Double(max(pytorchFan, 1)).squareRoot(), rng: &rng)
        case .xavier: return uniform(rows, cols, bound: (6 / Double(max(fanIn + fanOut, 1))).squareRoot(), rng: &rng)
        case .normal: return normal(rows, cols, std: 0.01, rng: &rng)
        case .randn: return normal(rows, cols, std: 1, rng: &rng)
        }
    }
}
