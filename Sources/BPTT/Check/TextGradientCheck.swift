/// Finite-difference check of the whole sentiment model (embedding → dropout → masked stack →
/// dropout → dense → BCE with logits) in Float64, on a batch of mixed lengths whose padded
/// positions hold random token ids (garbage that must not reach any gradient). Dropout masks
/// are fixed: every loss evaluation draws them from the same seed.
public struct SentimentCheckCase<Cell: RecurrentCell> where Cell.Real == Double {
    public typealias Model = SentimentClassifier<Cell>
    public let model: Model
    public let batch: TokenBatch
    public let params: Model.Parameters
    public let dropoutSeed: UInt64?

    public init(kind: CellKind, bidirectional: Bool, dropout: Double, seed: UInt64, make: @escaping (Int) -> Cell,
                vocabulary: Int = 7, dim: Int = 3, hidden: Int = 3, lengths: [Int] = [5, 2, 1, 4]) {
        var rng = RNG(seed: seed)
        let stack = RecurrentStack(layers: 1, bidirectional: bidirectional, inputSize: dim, hiddenSize: hidden, make: make)
        model = Model(vocabularySize: vocabulary, embeddingDim: dim, dropout: dropout, stack: stack)
        params = model.initialParameters(.xavier, rng: &rng)
        let steps = lengths.max()!
        // real tokens avoid pad; padded positions get any id (garbage), pad included
        let ids = (0..<steps).map { t in lengths.map { l in t < l ? [0, 2, 3, 4, 5, 6, 2][rng.int(below: 7)] % vocabulary : rng.int(below: vocabulary) } }
        batch = TokenBatch(ids: ids, lengths: lengths, labels: lengths.map { _ in rng.int(below: 2) })
        dropoutSeed = dropout > 0 ? rng.next() : nil
    }

    func loss(_ p: Model.Parameters, grads: inout Model.Parameters?) -> Double {
        var ws = Model.Workspace()
        var drop: RNG? = dropoutSeed.map { RNG(seed: $0) }
        let scale = 1 / Double(batch.size)
        if grads != nil {
            return model.lossAndGradient(batch, p, lossScale: scale, workspace: &ws, grads: &grads!, dropoutRNG: &drop).lossSum * scale
        }
        return model.forward(batch, p, workspace: &ws, dropoutRNG: &drop).lossSum * scale
    }

    public func check(step: Double = GradientCheck.defaultStep) -> [GradientCheck.Result] {
        var g: Model.Parameters? = params.zeros()
        _ = loss(params, grads: &g)
        let tensors = params.checkTensors(analytic: g!)
        return GradientCheck.run(tensors, step: step) { values in
            let p = params.with(values)
            var none: Model.Parameters? = nil
            return .init(loss: loss(p, grads: &none))
        }
    }
}

/// `bptt gradcheck --model embedding|dropout|masked-lstm|masked-bilstm`.
public enum TextGradientCheck {
    public static let models = ["embedding", "dropout", "masked-lstm", "masked-bilstm"]

    struct Visitor: CellVisitor {
        typealias Real = Double
        let kind: CellKind, bidirectional: Bool, dropout: Double, seed: UInt64, step: Double
        func visit<C: RecurrentCell>(_ make: @escaping (Int) -> C) throws -> [GradientCheck.Result] where C.Real == Double {
            SentimentCheckCase(kind: kind, bidirectional: bidirectional, dropout: dropout, seed: seed, make: make).check(step: step)
        }
    }

    /// Results per tensor, names prefixed by the case ("lstm/", "bilstm/", …).
    public static func run(_ model: String, seed: UInt64, step: Double = GradientCheck.defaultStep) -> [GradientCheck.Result] {
        func sentiment(_ kind: CellKind, bi: Bool, dropout: Double) -> [GradientCheck.Result] {
            let prefix = (bi ? "bi" : "") + kind.rawValue + "/"
            return try! kind.accept(Visitor(kind: kind, bidirectional: bi, dropout: dropout, seed: seed, step: step), hidden: 3)
                .map { prefixed($0, prefix) }
        }
        switch model {
        case "embedding":
            return [CellKind.rnn, .lstm, .gru].flatMap { sentiment($0, bi: false, dropout: 0) } + sentiment(.lstm, bi: true, dropout: 0)
        case "dropout":
            return sentiment(.lstm, bi: false, dropout: 0.5) + sentiment(.gru, bi: true, dropout: 0.5)
        default:
            var spec = SequenceCheckSpec(model: .lstm)
            spec.bidirectional = model == "masked-bilstm"
            spec.length = 5; spec.batch = 4; spec.hidden = 4; spec.classes = 3
            spec.lengths = [5, 2, 1, 4]
            spec.seed = seed
            return SequenceGradientCheck.run(spec, step: step).results
        }
    }

    static func prefixed(_ r: GradientCheck.Result, _ p: String) -> GradientCheck.Result {
        GradientCheck.Result(name: p + r.name, maxRelError: r.maxRelError, worstIndex: r.worstIndex,
                             analytic: r.analytic, numeric: r.numeric, count: r.count, kinkEntries: r.kinkEntries)
    }
}
