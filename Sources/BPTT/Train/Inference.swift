import Foundation

/// Using a trained model: what kind of run a checkpoint holds, and the model rebuilt from it,
/// ready to predict (no dropout, no optimiser, nothing trained).

/// The kinds of checkpoint that `--save` (and `gan --out`) write, with their configurations.
public enum CheckpointKind {
    case palindrome(TrainConfig)
    case imageRows(SequenceTaskConfig, DataIdentity)
    case sentiment(SequenceTaskConfig, DataIdentity)
    case classifier(ClassifierConfig, DataIdentity)
    case autoencoder(AutoencoderConfig, DataIdentity)
    case gan(GANConfig, DataIdentity)
    case generator

    public var name: String {
        switch self {
        case .palindrome: return "palindrome"
        case .imageRows: return "image-rows"
        case .sentiment: return "sentiment"
        case .classifier: return "classifier"
        case .autoencoder: return "autoencoder"
        case .gan: return "gan"
        case .generator: return "gan-generator"
        }
    }

    /// The kind of `c`; an experiment's checkpoint or an unknown model is refused in one line.
    public static func identify(_ c: Checkpoint, source: String) throws -> CheckpointKind {
        if CellKind(rawValue: c.model) != nil {
            guard let t = try? JSONDecoder().decode(TrainConfig.self, from: Data(c.config.utf8)), t.model == c.model else {
                throw BPTTError.input("\(source): the checkpoint's configuration is not a palindrome training configuration")
            }
            return .palindrome(t)
        }
        switch c.model {
        case "image-rows", "sentiment":
            let r = try SavedRun<SequenceTaskConfig>.decode(c, model: c.model, source: source)
            guard CellKind(rawValue: r.config.model) != nil else { throw BPTTError.input("\(source): unknown cell '\(r.config.model)'") }
            return c.model == "sentiment" ? .sentiment(r.config, r.data) : .imageRows(r.config, r.data)
        case ClassifierTrainer.model:
            let r = try ClassifierTrainer.savedRun(c, source: source)
            return .classifier(r.config, r.data)
        case AutoencoderTrainer.model:
            let r = try AutoencoderTrainer.savedRun(c, source: source)
            return .autoencoder(r.config, r.data)
        case GANTrainer.model:
            let r = try GANTrainer.savedRun(c, source: source)
            return .gan(r.config, r.data)
        case GeneratorCheckpoint.model:
            return .generator
        case "sweep", "curriculum", "gradflow":
            throw BPTTError.input("\(source): a '\(c.model)' experiment checkpoint (for bptt \(c.model) --resume); use the checkpoint of one training run instead (train/classify/autoencoder --save, or generator.ckpt of gan --out)")
        case TextRun.model:
            throw BPTTError.input("\(source): a character-level language model (train --task text); it is used by bptt generate --checkpoint \(source), not here")
        case "pixels":
            throw BPTTError.input("\(source): a pixel-by-pixel image classifier (train --task pixels); predict and export take image-rows and classify checkpoints, not this kind yet; its test accuracy and confusion matrix come from train --resume")
        case "adding", "copy":
            throw BPTTError.input("\(source): a '\(c.model)' run (train --task \(c.model)); it trains on fresh random sequences and has no inputs to predict from or weights to export here yet; continue it with train --resume")
        default:
            throw BPTTError.input("\(source): a '\(c.model)' checkpoint, a kind this bptt does not know")
        }
    }
}

/// A trained recurrent classifier (palindrome or image rows): T steps of 1 × D inputs → class probabilities.
public struct SequencePredictor {
    public let inputSize: Int
    public let classes: Int
    let run: ([Matrix<Float>]) -> Matrix<Float>

    /// Class probabilities (B × classes) for xs: T matrices of B × inputSize.
    public func probabilities(_ xs: [Matrix<Float>]) -> Matrix<Float> {
        require(!xs.isEmpty && xs.allSatisfy { $0.cols == inputSize && $0.rows == xs[0].rows }, "SequencePredictor: input shape")
        return run(xs)
    }

    /// The model of a palindrome or image-rows checkpoint (names and shapes checked).
    public init(_ c: Checkpoint, source: String) throws {
        let cell: CellKind, layers: Int, bidirectional: Bool, hidden: Int, input: Int
        switch try CheckpointKind.identify(c, source: source) {
        case .palindrome(let t):
            (cell, layers, bidirectional, hidden, input) = (CellKind(rawValue: t.model)!, t.layers, t.bidirectional, t.hidden, Palindrome.inputSize)
        case .imageRows(let s, let d):
            guard d.shape.count == 2, d.shape.allSatisfy({ $0 > 0 }) else { throw BPTTError.input("\(source): no image shape in the checkpoint") }
            (cell, layers, bidirectional, hidden, input) = (CellKind(rawValue: s.model)!, s.layers, s.bidirectional, s.hidden, d.shape[1])
        case let other:
            throw BPTTError.input("\(source): a \(other.name) checkpoint, not a recurrent classifier")
        }
        guard let readout = c.tensors.first(where: { $0.name == "b_p" }) else { throw BPTTError.input("\(source): no readout tensor b_p") }
        let maker = Maker(layers: layers, bidirectional: bidirectional, inputSize: input, hidden: hidden, classes: readout.value.cols,
                          tensors: c.tensors, source: source)
        self = try cell.accept(maker, hidden: hidden)
    }

    init(inputSize: Int, classes: Int, run: @escaping ([Matrix<Float>]) -> Matrix<Float>) {
        (self.inputSize, self.classes, self.run) = (inputSize, classes, run)
    }

    struct Maker: CellVisitor {
        typealias Real = Float
        let layers: Int, bidirectional: Bool, inputSize: Int, hidden: Int, classes: Int
        let tensors: [Checkpoint.NamedTensor], source: String
        func visit<C: RecurrentCell>(_ make: @escaping (Int) -> C) throws -> SequencePredictor where C.Real == Float {
            let model = SequenceClassifier<C>(stack: RecurrentStack(layers: layers, bidirectional: bidirectional, inputSize: inputSize,
                                                                    hiddenSize: hidden, make: make), classes: classes)
            var rng = RNG(seed: 0)
            var p = model.initialParameters(.pytorch, rng: &rng)   // shapes only; replaced below
            try p.load(tensors, source: source)
            let params = p
            return SequencePredictor(inputSize: inputSize, classes: classes) { xs in
                var ws = SequenceClassifier<C>.Workspace()
                model.forward(xs, targets: [[Int](repeating: 0, count: xs[0].rows)], params, workspace: &ws)
                return ws.probabilities[0]
            }
        }
    }

    /// A palindrome's digits as the model reads them: one 1 × 1 input per digit.
    public static func digits(_ d: [Int]) -> [Matrix<Float>] { d.map { Matrix(rows: 1, cols: 1, data: [Float($0)]) } }

    /// An image (height·width values, row-major) as the image-rows model reads it: row t at step t.
    public static func imageRows(_ pixels: [Float], height: Int, width: Int) -> [Matrix<Float>] {
        (0..<height).map { Matrix(rows: 1, cols: width, data: Array(pixels[($0 * width)..<(($0 + 1) * width)])) }
    }
}

/// A trained sentiment model: token ids → P(positive).
public struct SentimentPredictor {
    let run: ([Int]) -> Float
    public let vocabularySize: Int
    public let maxLength: Int

    public init(_ c: Checkpoint, source: String) throws {
        guard case .sentiment(let s, _) = try CheckpointKind.identify(c, source: source) else {
            throw BPTTError.input("\(source): not a sentiment checkpoint")
        }
        guard let emb = c.tensors.first(where: { $0.name == "W_emb" }) else { throw BPTTError.input("\(source): no embedding tensor W_emb") }
        vocabularySize = emb.value.rows
        maxLength = s.maxLength
        run = try CellKind(rawValue: s.model)!.accept(Maker(config: s, vocabulary: emb.value.rows, embedding: emb.value.cols,
                                                            tensors: c.tensors, source: source), hidden: s.hidden)
    }

    /// The logit's sigmoid for one review given as token ids (each below `vocabularySize`).
    public func probability(_ ids: [Int]) -> Float {
        require(!ids.isEmpty && ids.allSatisfy { $0 >= 0 && $0 < vocabularySize }, "SentimentPredictor: token ids")
        return run(ids)
    }

    struct Maker: CellVisitor {
        typealias Real = Float
        let config: SequenceTaskConfig, vocabulary: Int, embedding: Int
        let tensors: [Checkpoint.NamedTensor], source: String
        func visit<C: RecurrentCell>(_ make: @escaping (Int) -> C) throws -> ([Int]) -> Float where C.Real == Float {
            let model = SentimentClassifier<C>(vocabularySize: vocabulary, embeddingDim: embedding, dropout: config.dropout,
                                               stack: RecurrentStack(layers: config.layers, bidirectional: config.bidirectional,
                                                                     inputSize: embedding, hiddenSize: config.hidden, make: make))
            var rng = RNG(seed: 0)
            var p = model.initialParameters(.pytorch, rng: &rng)
            try p.load(tensors, source: source)
            let params = p
            return { ids in
                var ws = SentimentClassifier<C>.Workspace(), none: RNG? = nil
                model.forward(TokenBatch.padded([ids], labels: [0]), params, workspace: &ws, dropoutRNG: &none)
                let z = ws.logits[0, 0]
                return 1 / (1 + Float.exp(-z))   // σ(z) = P(positive)
            }
        }
    }
}

/// An MLP of an image checkpoint (classifier, autoencoder, GAN generator), rebuilt from its tensors.
public enum MLPPredictor {
    /// The layer sizes [n_0, …, n_L] the tensors W1, b1, … (with `prefix`) describe.
    static func sizes(_ c: Checkpoint, prefix: String = "", source: String) throws -> [Int] {
        var sizes: [Int] = []
        var l = 1
        while let w = c.tensors.first(where: { $0.name == prefix + "W\(l)" }) {
            if sizes.isEmpty { sizes.append(w.value.cols) }
            guard w.value.cols == sizes.last! else { throw BPTTError.input("\(source): \(prefix)W\(l) does not follow the layer before") }
            sizes.append(w.value.rows)
            l += 1
        }
        guard sizes.count >= 2 else { throw BPTTError.input("\(source): no layers \(prefix)W1, \(prefix)W2, … in the checkpoint") }
        return sizes
    }

    /// Class probabilities of a classifier checkpoint for each row of `images`.
    public static func classify(_ c: Checkpoint, _ images: Matrix<Float>, source: String) throws -> Matrix<Float> {
        guard case .classifier(let config, _) = try CheckpointKind.identify(c, source: source) else {
            throw BPTTError.input("\(source): not a classifier checkpoint")
        }
        let sizes = try sizes(c, source: source)
        guard Array(sizes.dropFirst().dropLast()) == config.hidden else { throw BPTTError.input("\(source): the tensors do not match the hidden sizes \(config.hidden)") }
        let mlp = MLP<Float>(sizes: sizes, hidden: .relu, output: .identity, dropout: config.dropout)
        var rng = RNG(seed: 0)
        var p = mlp.initialParameters(.pytorch, rng: &rng)
        try p.load(c.tensors, source: source)
        var cache = MLP<Float>.Cache(), probs = Matrix<Float>(rows: 0, cols: 0)
        mlp.forward(images, p, cache: &cache)
        _ = SoftmaxCrossEntropy.forward(logits: cache.output, targets: [Int](repeating: 0, count: images.rows)[...], probs: &probs)
        return probs
    }

    /// The autoencoder's masked input x̃ = m ⊙ x and reconstruction x̂ for one image (the mask
    /// drawn as in training from `RNG(seed:)` for the random kinds), and the image the evaluation
    /// shows: the input where visible, x̂ where hidden (for a loss on the hidden pixels only).
    public static func reconstruct(_ c: Checkpoint, _ image: [Float], maskSeed: UInt64, source: String)
        throws -> (masked: [Float], reconstruction: [Float], shown: [Float], mask: [Float], height: Int, width: Int) {
        guard case .autoencoder(let config, let data) = try CheckpointKind.identify(c, source: source) else {
            throw BPTTError.input("\(source): not an autoencoder checkpoint")
        }
        guard data.shape.count == 2 else { throw BPTTError.input("\(source): no image shape in the checkpoint") }
        let (h, w) = (data.shape[0], data.shape[1])
        let sizes = try sizes(c, source: source)
        guard sizes.first == h * w, image.count == h * w, Array(sizes.dropFirst().dropLast()) == config.hidden else {
            throw BPTTError.input("\(source): the tensors do not match \(h)×\(w) images and hidden sizes \(config.hidden)")
        }
        let model = MaskedAutoencoder<Float>(pixels: h * w, hidden: config.hidden, lossOn: config.lossOn)
        var rng = RNG(seed: 0)
        var p = model.mlp.initialParameters(.pytorch, rng: &rng)
        try p.load(c.tensors, source: source)
        var mask = Matrix<Float>(rows: 0, cols: 0), maskRNG = RNG(seed: maskSeed)
        config.mask.fill(&mask, batch: 1, height: h, width: w, rng: &maskRNG)
        var ws = MaskedAutoencoder<Float>.Workspace()
        model.forward(Matrix(rows: 1, cols: h * w, data: image), mask: mask, p, workspace: &ws)
        let xhat = Array(ws.reconstruction.data)
        let shown = config.lossOn == .masked ? (0..<(h * w)).map { mask.data[$0] == 0 ? xhat[$0] : image[$0] } : xhat
        return (Array(ws.xIn.data), xhat, shown, mask.data, h, w)
    }

    /// n images G(z) of a `gan` or `gan-generator` checkpoint, z ~ N(0, I) drawn from `RNG(seed:)`
    /// (the same seed gives the same images); returns them (n × pixels) and their height and width.
    public static func sample(_ c: Checkpoint, count n: Int, seed: UInt64, source: String) throws -> (images: Matrix<Float>, height: Int, width: Int) {
        let (gan, params, h, w) = try generator(c, source: source)
        var rng = RNG(seed: seed)
        var z = Matrix<Float>(rows: n, cols: gan.latent)
        for i in 0..<z.count { z.data[i] = Float(rng.gaussian()) }
        var ws = GAN<Float>.Workspace()
        return (gan.generate(z, params, workspace: &ws), h, w)
    }

    /// The generator in `c`: a `generator.ckpt` (bptt gan --out) or a gan run's own checkpoint
    /// (--save), with the images' height and width. Errors: another kind of checkpoint, no image shape.
    public static func generator(_ c: Checkpoint, source: String) throws -> (gan: GAN<Float>, params: MLP<Float>.Parameters, height: Int, width: Int) {
        let gan: GAN<Float>, params: MLP<Float>.Parameters, h: Int, w: Int
        switch try CheckpointKind.identify(c, source: source) {
        case .generator:
            (gan, params, h, w) = try GeneratorCheckpoint.load(c, source: source)
        case .gan(let config, let data):
            guard data.shape.count == 2 else { throw BPTTError.input("\(source): no image shape in the checkpoint") }
            (h, w) = (data.shape[0], data.shape[1])
            gan = GAN<Float>(latent: config.latent, pixels: h * w, generatorHidden: config.generatorHidden, discriminatorHidden: config.discriminatorHidden)
            var rng = RNG(seed: 0)
            var p = gan.initialParameters(.pytorch, rng: &rng).g
            try p.load(c.tensors, prefix: "G.", source: source)
            params = p
        case let other:
            throw BPTTError.input("\(source): a \(other.name) checkpoint, not a GAN: give a gan run's checkpoint or its generator.ckpt")
        }
        return (gan, params, h, w)
    }
}
