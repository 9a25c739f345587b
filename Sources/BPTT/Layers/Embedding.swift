/// Word embedding: a lookup table, derived in `derivations/embedding.md`.
///
///     e_b = W[id_b, :]          (embedding.e)      W vocabulary×dim, e B×dim
///
/// The backward pass adds each row's gradient into the row it was read from, touching only the
/// rows used by the batch; the padding row (if any) never receives gradient, as in PyTorch.
public struct Embedding<Real: Scalar> {
    public struct Parameters: ParameterSet {
        public var W: Matrix<Real>   // vocabulary × dim
        public init(W: Matrix<Real>) { self.W = W }
        public mutating func forEachTensor(pairedWith other: Self?, _ body: (String, inout Matrix<Real>, Matrix<Real>?) -> Void) {
            body("W", &W, other?.W)
        }
    }

    public let vocabularySize: Int
    public let dimension: Int
    public let paddingIndex: Int?

    public init(vocabularySize: Int, dimension: Int, paddingIndex: Int? = Vocabulary.pad) {
        self.vocabularySize = vocabularySize
        self.dimension = dimension
        self.paddingIndex = paddingIndex
    }

    /// N(0, 1) rows as PyTorch's `nn.Embedding`, with the padding row zero.
    public func initialParameters(rng: inout RNG) -> Parameters {
        var W = Matrix<Real>.normal(vocabularySize, dimension, std: 1, rng: &rng)
        if let pad = paddingIndex { for c in 0..<dimension { W[pad, c] = 0 } }
        return Parameters(W: W)
    }

    /// e[b, :] = W[ids[b], :]
    public func forward(_ ids: ArraySlice<Int>, _ p: Parameters, into e: inout Matrix<Real>) {
        ensure(&e, ids.count, dimension)
        let d = dimension
        p.W.data.withUnsafeBufferPointer { W in
            e.data.withUnsafeMutableBufferPointer { e in
                for (b, id) in ids.enumerated() {
                    require(id >= 0 && id < vocabularySize, "embedding: id \(id) outside the vocabulary")
                    (e.baseAddress! + b * d).update(from: W.baseAddress! + id * d, count: d)   // (embedding.e)
                }
            }
        }
    }

    /// dW[ids[b], :] += de[b, :] for every b (skipping the padding row).
    public func backward(_ de: Matrix<Real>, ids: ArraySlice<Int>, grads: inout Parameters) {
        let d = dimension
        de.data.withUnsafeBufferPointer { de in
            grads.W.data.withUnsafeMutableBufferPointer { dW in
                for (b, id) in ids.enumerated() where id != paddingIndex {
                    let row = dW.baseAddress! + id * d, src = de.baseAddress! + b * d
                    for c in 0..<d { row[c] += src[c] }                                        // (embedding.dW)
                }
            }
        }
    }
}
