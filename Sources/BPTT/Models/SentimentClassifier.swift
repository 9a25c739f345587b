/// A batch of token sequences padded to a common length (what PyTorch's packed sequences hold).
public struct TokenBatch: Sendable {
    /// ids[t][b]: the token of row b at step t+1; `Vocabulary.pad` (or anything) after the row's end.
    public var ids: [[Int]]
    /// lengths[b] ≥ 1: real tokens in row b.
    public var lengths: [Int]
    /// labels[b] ∈ {0, 1}.
    public var labels: [Int]
    public var size: Int { lengths.count }
    public var steps: Int { ids.count }
    public init(ids: [[Int]], lengths: [Int], labels: [Int]) { self.ids = ids; self.lengths = lengths; self.labels = labels }

    /// Rows lo..<hi, trimmed to their longest length.
    public func rows(_ lo: Int, _ hi: Int) -> TokenBatch {
        let steps = lengths[lo..<hi].max() ?? 1
        return TokenBatch(ids: ids[0..<steps].map { Array($0[lo..<hi]) }, lengths: Array(lengths[lo..<hi]), labels: Array(labels[lo..<hi]))
    }

    /// Pads encoded sequences (each non-empty) into one batch.
    public static func padded(_ seqs: [[Int]], labels: [Int]) -> TokenBatch {
        let steps = seqs.map(\.count).max() ?? 1
        let ids = (0..<steps).map { t in seqs.map { t < $0.count ? $0[t] : Vocabulary.pad } }
        return TokenBatch(ids: ids, lengths: seqs.map(\.count), labels: labels)
    }
}

/// The sentiment classifier: embedding, dropout, a recurrent stack over variable-length rows,
/// dropout, one logit, BCE with logits.
///
///     e_t = W_emb[id_t]                              (embedding.e)
///     u_t = r_t ⊙ e_t                                (dropout.h)  dropout on the embeddings
///     s   = RecurrentStack(u; lengths) final states  (masking.final; [→h_ℓ, ←h_1] for two directions)
///     v   = q ⊙ s                                    (dropout.h)  dropout before the dense layer
///     z   = v W_outᵀ + b_out                         (linear.y)   one logit per row
///     L   = mean BCE-with-logits(z, y)               (losses.bcelogits)
public struct SentimentClassifier<Cell: RecurrentCell> {
    public typealias Real = Cell.Real
    public typealias Stack = RecurrentStack<Cell>

    public struct Parameters: ParameterSet {
        public var embedding: Embedding<Real>.Parameters
        public var stack: Stack.Parameters
        public var dense: Linear<Real>.Parameters
        /// W_emb (V × E), the stack's tensors, then W_out (1 × H·directions) and b_out (1 × 1).
        public mutating func forEachTensor(pairedWith other: Self?, _ body: (String, inout Matrix<Real>, Matrix<Real>?) -> Void) {
            body("W_emb", &embedding.W, other?.embedding.W)
            stack.forEachTensor(pairedWith: other?.stack, body)
            body("W_out", &dense.W, other?.dense.W); body("b_out", &dense.b, other?.dense.b)
        }
    }

    public struct Workspace {
        public var stack = Stack.Workspace()
        var e: [Matrix<Real>] = []           // e_t, B×E
        var embMasks: [Matrix<Real>] = []    // r_t, B×E
        var u: [Matrix<Real>] = []           // u_t = r_t ⊙ e_t, B×E
        var featMask = Matrix<Real>(rows: 0, cols: 0)   // q, B×H·dirs
        var v = Matrix<Real>(rows: 0, cols: 0)          // v = q ⊙ s
        var z = Matrix<Real>(rows: 0, cols: 0)          // logits, B×1
        var y = Matrix<Real>(rows: 0, cols: 0)          // targets, B×1
        var dz = Matrix<Real>(rows: 0, cols: 0)
        var dv = Matrix<Real>(rows: 0, cols: 0)
        var du = Matrix<Real>(rows: 0, cols: 0)
        var dropped = false
        public init() {}
        /// The logits of the last forward (B×1).
        public var logits: Matrix<Real> { z }
    }

    public let embedding: Embedding<Real>
    public let stack: Stack
    public let dense: Linear<Real>
    public let dropout: Double

    public init(vocabularySize: Int, embeddingDim: Int, dropout: Double, stack: Stack) {
        require(stack.inputSize == embeddingDim, "SentimentClassifier: stack input must be the embedding width")
        embedding = Embedding(vocabularySize: vocabularySize, dimension: embeddingDim)
        self.stack = stack
        dense = Linear(inputSize: stack.outputSize, outputSize: 1)
        self.dropout = dropout
    }

    public func initialParameters(_ initializer: Initializer, rng: inout RNG, vectors: Matrix<Real>? = nil) -> Parameters {
        var e = embedding.initialParameters(rng: &rng)
        if let vectors { e.W = vectors }
        return Parameters(embedding: e, stack: stack.initialParameters(initializer, rng: &rng),
                          dense: dense.initialParameters(initializer, rng: &rng))
    }

    /// Forward: the summed loss over the batch and the number of rows classified right
    /// (z > 0 ⇔ positive). dropoutRNG non-nil: training (masks drawn from it).
    @discardableResult
    public func forward(_ batch: TokenBatch, _ p: Parameters, workspace ws: inout Workspace,
                        dropoutRNG: inout RNG?) -> (lossSum: Double, correct: Int) {
        let (steps, B, E) = (batch.steps, batch.size, embedding.dimension)
        resize(&ws.e, count: steps, rows: B, cols: E)
        let drop = dropout > 0 && dropoutRNG != nil
        ws.dropped = drop
        if drop { resize(&ws.embMasks, count: steps, rows: B, cols: E); resize(&ws.u, count: steps, rows: B, cols: E) }
        for t in 0..<steps {
            embedding.forward(batch.ids[t][...], p.embedding, into: &ws.e[t])                        // (embedding.e)
            if drop { Dropout.forward(ws.e[t], rate: dropout, rng: &dropoutRNG!, mask: &ws.embMasks[t], into: &ws.u[t]) }  // (dropout.h)
        }
        stack.forward(drop ? ws.u : ws.e, p.stack, lengths: batch.lengths, workspace: &ws.stack, dropoutRNG: &dropoutRNG)
        let s = stack.finalState(ws.stack)                                                           // (masking.final)
        if drop { Dropout.forward(s, rate: dropout, rng: &dropoutRNG!, mask: &ws.featMask, into: &ws.v) }  // (dropout.h)
        else { ensure(&ws.v, s.rows, s.cols); ws.v.copy(from: s) }
        dense.forward(ws.v, p.dense, into: &ws.z)                                                     // (linear.y)
        ensure(&ws.y, B, 1)
        var correct = 0
        for b in 0..<B {
            ws.y[b, 0] = Real(batch.labels[b])
            if (ws.z[b, 0] > 0 ? 1 : 0) == batch.labels[b] { correct += 1 }
        }
        let loss = BCEWithLogitsLoss.forward(ws.z, target: ws.y, scale: 1)                          // (losses.bcelogits)
        return (loss, correct)
    }

    /// Forward and backward for L = lossScale · Σ_b ℓ_b, accumulating into `grads`.
    @discardableResult
    public func lossAndGradient(_ batch: TokenBatch, _ p: Parameters, lossScale: Double, workspace ws: inout Workspace,
                                grads: inout Parameters, dropoutRNG: inout RNG?) -> (lossSum: Double, correct: Int) {
        let r = forward(batch, p, workspace: &ws, dropoutRNG: &dropoutRNG)
        // forward (losses.bcelogits): ℓ = max(z, 0) − z y + log(1 + e^{−|z|})
        BCEWithLogitsLoss.backward(ws.z, target: ws.y, scale: lossScale, into: &ws.dz)               // (losses.dbcelogits)
        // forward (linear.y): z = v W_outᵀ + b_out
        dense.backward(ws.dz, x: ws.v, p.dense, grads: &grads.dense, dx: &ws.dv)                    // (linear.dx)
        // forward (dropout.h): v = q ⊙ s
        if ws.dropped { Dropout.backward(&ws.dv, mask: ws.featMask) }                                // (dropout.dh)
        ws.stack.dFinal.copy(from: ws.dv)
        ws.stack.dFinalUsed = true
        stack.backward(p.stack, workspace: &ws.stack, grads: &grads.stack, inputGradients: true)
        for t in 0..<batch.steps {
            ensure(&ws.du, batch.size, embedding.dimension)
            ws.du.copy(from: ws.stack.dxs[t])
            // forward (dropout.h): u_t = r_t ⊙ e_t
            if ws.dropped { Dropout.backward(&ws.du, mask: ws.embMasks[t]) }                         // (dropout.dh)
            // forward (embedding.e): e_t = W_emb[id_t]
            embedding.backward(ws.du, ids: batch.ids[t][...], grads: &grads.embedding)               // (embedding.dW)
        }
        return r
    }
}
