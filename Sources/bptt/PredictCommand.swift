import BPTT
import Foundation

// `bptt predict` and `bptt gan sample`: using a trained model. Everything given is checked
// (checkpoint, input, output path) before the model runs.

let predictCommand = Command(
    name: "predict",
    summary: "Use a trained model: a palindrome's last digit, an image's class, a sentence's sentiment, or an autoencoder's reconstruction.",
    usage: "predict --checkpoint FILE [--input DIGITS|SENTENCE|FILE.png | --index N [--data D]] [--out FILE.png] [--json]   (without --input and --index the input is read from stdin)",
    options: [
        Option("checkpoint", "FILE", "a checkpoint written by --save: train (palindrome, image-rows, sentiment), classify, autoencoder"),
        Option("input", "TEXT", "palindrome: the digits seen, e.g. \"3 1 4 1 5\"; sentiment: the sentence; image models: a PNG file of the model's size (default: stdin)"),
        Option("index", "N", "image models: the N-th test image (0-based) of --data instead of a PNG"),
        Option("data", "DIR", "with --index: 'digits', 'fashion-mnist' or an IDX folder (default: the data the model trained on)"),
        Option("seed", "S", "autoencoder with a random or patches mask: the mask's seed (default 0)"),
        Option("out", "FILE.png", "autoencoder: write the image, its masked input and the reconstruction side by side").writes(.png),
        Option("json", nil, "end with one JSON line: prediction, and probabilities (class order) for classifiers"),
    ],
    run: runPredict
)

/// The checkpoint named by --checkpoint (required), read and validated.
func checkpointFlag(_ a: Arguments) throws -> (Checkpoint, String) {
    guard let path = a.string("checkpoint") else { throw BPTTError.usage("--checkpoint FILE is required") }
    guard !path.isEmpty else { throw BPTTError.usage("--checkpoint: empty path") }
    return (try Checkpoint.read(from: path), path)
}

/// Everything on standard input.
func standardInputBytes() -> [UInt8] { [UInt8](FileHandle.standardInput.readDataToEndOfFile()) }

/// "3 1 4 1 5", "3,1,4,1,5" or "31415" → [3, 1, 4, 1, 5].
func parseDigits(_ text: String) throws -> [Int] {
    let parts = text.split(whereSeparator: { $0 == " " || $0 == "," || $0 == "\n" || $0 == "\t" || $0 == "\r" }).map(String.init)
    let tokens = parts.count == 1 ? parts[0].map(String.init) : parts
    guard !tokens.isEmpty else { throw BPTTError.usage("--input: no digits given (e.g. --input \"3 1 4 1 5\")") }
    return try tokens.map { t in
        guard let d = Int(t), (0...9).contains(d), t.count == 1 else { throw BPTTError.usage("--input: '\(t)' is not a digit 0–9 (e.g. --input \"3 1 4 1 5\")") }
        return d
    }
}

func probabilityLine(_ p: [Float], names: [String]? = nil) -> String {
    p.enumerated().map { "\(names?[$0.offset] ?? String($0.offset)): " + String(format: "%.3f", $0.element) }.joined(separator: "  ")
}

func argmax(_ p: [Float]) -> Int { p.indices.max { p[$0] < p[$1] || (p[$0] == p[$1] && $0 > $1) } ?? 0 }

func runPredict(_ a: inout Arguments) throws -> Int32 {
    let json = a.flag("json")
    let (c, source) = try checkpointFlag(a)
    let kind = try CheckpointKind.identify(c, source: source)
    let index = a.has("index") ? try a.int("index", default: 0, min: 0) : nil
    let seed = try a.seed()
    let out = a.string("out")
    if case .autoencoder = kind {} else if out != nil { throw BPTTError.usage("--out applies to autoencoder checkpoints (this is a \(kind.name) checkpoint)") }
    let imageKind: Bool
    switch kind {
    case .imageRows, .classifier, .autoencoder: imageKind = true
    default: imageKind = false
    }
    if !imageKind && (index != nil || a.has("data")) { throw BPTTError.usage("--index and --data apply to image models (this is a \(kind.name) checkpoint)") }
    if index != nil && a.has("input") { throw BPTTError.usage("give --input or --index, not both") }
    if a.has("data") && index == nil { throw BPTTError.usage("--data needs --index N") }
    if a.has("seed") { if case .autoencoder = kind {} else { throw BPTTError.usage("--seed applies to autoencoder checkpoints") } }

    /// The input image: a PNG (--input, or stdin) or the N-th test image of --data; its label when known.
    func image(_ data: DataIdentity) throws -> (pixels: [Float], label: Int?, what: String) {
        guard data.shape.count == 2 else { throw BPTTError.input("\(source): no image shape in the checkpoint") }
        let (h, w) = (data.shape[0], data.shape[1])
        if let index {
            let spec = a.string("data") ?? data.spec
            let set = try ImageData.load(spec).test
            guard set.height == h, set.width == w else { throw BPTTError.input("--data \(spec): \(set.height)×\(set.width) images, the model reads \(h)×\(w)") }
            guard index < set.count else { throw BPTTError.usage("--index \(index): the test set of \(spec) has \(set.count) images (0–\(set.count - 1))") }
            return (Array(set.images.row(index)), set.labels[index], "test image \(index) of \(spec)")
        }
        let png: (pixels: [Float], height: Int, width: Int)
        let what: String
        if let path = a.string("input") { png = try PNG.readGrey(path); what = path }
        else { png = try PNG.decodeGrey(standardInputBytes(), source: "stdin"); what = "stdin" }
        guard png.height == h, png.width == w else { throw BPTTError.input("\(what): a \(png.height)×\(png.width) image; the model reads \(h)×\(w) images") }
        return (png.pixels, nil, what)
    }
    func text() throws -> String {
        guard let s = a.string("input") ?? String(bytes: standardInputBytes(), encoding: .utf8) else {
            throw BPTTError.input("stdin: not valid UTF-8 text")
        }
        return s
    }

    var fields: [(String, JSON)] = [("command", .string("predict")), ("kind", .string(kind.name)), ("checkpoint", .string(source))]
    switch kind {
    case .palindrome(let t):
        let digits = try parseDigits(try text())
        if digits.count != t.length { warn("the model was trained on \(t.length) digits; given \(digits.count)") }
        let model = try SequencePredictor(c, source: source)
        let p = Array(model.probabilities(SequencePredictor.digits(digits)).data)
        let k = argmax(p)
        print("\(t.model) palindrome model (T=\(t.length), step \(c.step)): digits \(digits.map(String.init).joined(separator: " ")) → last digit \(k) (p = \(String(format: "%.3f", p[k]))); a palindrome's last digit is its first, \(digits[0])")
        print("probabilities  " + probabilityLine(p))
        fields += [("input", .array(digits.map { .int($0) })), ("prediction", .int(k)), ("probabilities", .array(p.map { .number(Double($0)) })),
                   ("expected", .int(digits[0]))]
    case .imageRows(let s, let data):
        let img = try image(data)
        let model = try SequencePredictor(c, source: source)
        let p = Array(model.probabilities(SequencePredictor.imageRows(img.pixels, height: data.shape[0], width: data.shape[1])).data)
        let k = argmax(p)
        print("\(s.model) image-rows model (step \(c.step)): \(img.what) → class \(k) (p = \(String(format: "%.3f", p[k])))" + (img.label.map { ", label \($0)" } ?? ""))
        print("probabilities  " + probabilityLine(p))
        fields += [("input", .string(img.what)), ("prediction", .int(k)), ("probabilities", .array(p.map { .number(Double($0)) })),
                   ("label", img.label.map { .int($0) } ?? .null)]
    case .classifier(_, let data):
        let img = try image(data)
        let p = Array(try MLPPredictor.classify(c, Matrix(rows: 1, cols: img.pixels.count, data: img.pixels), source: source).data)
        let k = argmax(p)
        print("MLP classifier (step \(c.step)): \(img.what) → class \(k) (p = \(String(format: "%.3f", p[k])))" + (img.label.map { ", label \($0)" } ?? ""))
        print("probabilities  " + probabilityLine(p))
        fields += [("input", .string(img.what)), ("prediction", .int(k)), ("probabilities", .array(p.map { .number(Double($0)) })),
                   ("label", img.label.map { .int($0) } ?? .null)]
    case .autoencoder(let config, let data):
        let img = try image(data)
        let r = try MLPPredictor.reconstruct(c, img.pixels, maskSeed: seed, source: source)
        var sum = 0.0, n = 0
        for i in r.mask.indices where r.mask[i] == 0 { sum += Double((r.reconstruction[i] - img.pixels[i]) * (r.reconstruction[i] - img.pixels[i])); n += 1 }
        let mse = n > 0 ? sum / Double(n) : 0
        if let out {
            var grid = ImageGrid(rows: 1, cols: 3, tileHeight: r.height, tileWidth: r.width, scale: max(1, 32 / max(r.height, r.width)), gap: 2)
            grid.draw(img.pixels, row: 0, col: 0)
            grid.draw(r.masked, row: 0, col: 1)
            grid.draw(r.shown, row: 0, col: 2)
            try grid.write(out)
        }
        print("autoencoder (mask \(config.mask), step \(c.step)): \(img.what): \(n) hidden pixels, their MSE \(String(format: "%.5f", mse))"
              + (out.map { "; wrote \($0) (image, masked input, reconstruction)" } ?? " (--out FILE.png writes the images)"))
        fields += [("input", .string(img.what)), ("prediction", .array(r.shown.map { .number(Double($0)) })),
                   ("masked_input", .array(r.masked.map { .number(Double($0)) })), ("reconstruction", .array(r.reconstruction.map { .number(Double($0)) })),
                   ("hidden_pixels", .int(n)), ("mse_hidden", .number(mse)), ("png", out.map { .string($0) } ?? .null)]
    case .sentiment(let s, let data):
        let sentence = try text()
        guard sentence.contains(where: { !$0.isWhitespace }) else {
            throw BPTTError.usage("\(a.has("input") ? "--input" : "stdin"): an empty sentence; give the text to classify")
        }
        let model = try SentimentPredictor(c, source: source)
        let vocabulary = try sentimentVocabulary(s, data, source: source)
        guard vocabulary.count == model.vocabularySize else {
            throw BPTTError.input("\(source): the vocabulary rebuilt from \(data.spec) has \(vocabulary.count) words, the model \(model.vocabularySize)")
        }
        let tokens = Tokenizer.tokenize(sentence)
        var ids = Array(vocabulary.encode(tokens).prefix(s.maxLength))
        if ids.isEmpty { ids = [Vocabulary.unk] }
        let unknown = ids.filter { $0 == Vocabulary.unk }.count
        let p = model.probability(ids)
        print("\(s.model) sentiment model (step \(c.step)): \(ids.count) tokens (\(unknown) not in its vocabulary) → \(p > 0.5 ? "positive" : "negative"), P(positive) = \(String(format: "%.3f", p))")
        fields += [("input", .string(sentence)), ("prediction", .string(p > 0.5 ? "positive" : "negative")), ("probability_positive", .number(Double(p))),
                   ("probabilities", .array([.number(Double(1 - p)), .number(Double(p))])), ("classes", .array([.string("negative"), .string("positive")])),
                   ("tokens", .int(ids.count)), ("unknown_tokens", .int(unknown))]
    case .gan, .generator:
        throw BPTTError.usage("\(source): a \(kind.name) checkpoint generates images rather than predicting: use bptt gan sample --checkpoint \(source) --count N --out DIR")
    }
    if json { print(JSON.object(fields).serialized()) }
    return 0
}

/// The vocabulary a sentiment run trained with, rebuilt from its data as `train --task sentiment` builds it.
func sentimentVocabulary(_ s: SequenceTaskConfig, _ data: DataIdentity, source: String) throws -> Vocabulary {
    let corpus: (train: [LabelledText], test: [LabelledText])
    if data.spec == builtinSentiment {
        corpus = (SyntheticSentiment.generate(count: 20000, seed: 1), SyntheticSentiment.generate(count: 2000, seed: 2))
    } else {
        corpus = try TextCorpus.load(data.spec, seed: s.seed)
    }
    let text = EncodedText(train: corpus.train, test: corpus.test, maxWords: s.vocabularySize, maxLength: s.maxLength)
    guard text.train.count == data.train, text.test.count == data.test else {
        throw BPTTError.input("\(source): trained on \(data.description); \(data.spec) now holds \(text.train.count) train / \(text.test.count) test reviews")
    }
    return text.vocabulary
}

let ganSampleCommand = Command(
    name: "gan sample",
    summary: "Draw images from a trained GAN generator: one PNG per sample and a grid of them.",
    usage: "gan sample --checkpoint DIR/generator.ckpt --count N --out DIR [--seed S] [--json]",
    options: [
        Option("checkpoint", "FILE", "generator.ckpt written by gan --out, or a gan run's --save checkpoint"),
        Option("count", "N", "images to draw (default 16)"),
        Option("out", "DIR", "write sample_000.png … (the model's size) and samples.png (a grid) here; created if missing"),
        Option("seed", "S", "picks the latent points (default 0; the same seed gives the same images)"),
        Option("json", nil, "end with one JSON line"),
    ],
    run: runGANSample
)

func runGANSample(_ a: inout Arguments) throws -> Int32 {
    let (c, source) = try checkpointFlag(a)
    let n = try a.int("count", default: 16, min: 1, max: 100_000)
    let seed = try a.seed()
    guard let out = a.string("out") else { throw BPTTError.usage("--out DIR is required") }
    switch try CheckpointKind.identify(c, source: source) {
    case .gan, .generator: break
    case let other: throw BPTTError.usage("\(source): a \(other.name) checkpoint; gan sample takes generator.ckpt (gan --out) or a gan run's --save checkpoint")
    }
    try checkWritableFolder(out, flag: "--out")
    let (images, h, w) = try MLPPredictor.sample(c, count: n, seed: seed, source: source)
    try makeOutputFolder(out)
    var files: [String] = []
    let digits = max(3, String(n - 1).count)
    for i in 0..<n {
        let name = "sample_" + String(repeating: "0", count: max(0, digits - String(i).count)) + String(i) + ".png"
        try PNG.write(out + "/" + name, width: w, height: h, pixels: images.row(i).map { UInt8(max(0, min(255, ($0 * 255).rounded()))) })
        files.append(name)
    }
    try sampleGrid(images, height: h, width: w).write(out + "/samples.png")
    print("wrote \(n) samples of \(h)×\(w) to \(out)/\(files[0])…\(files[n - 1]) and the grid \(out)/samples.png (seed \(seed))")
    if a.flag("json") {
        print(JSON.object([("command", .string("gan sample")), ("checkpoint", .string(source)), ("count", .int(n)), ("seed", .int(Int(truncatingIfNeeded: seed))),
                           ("out", .string(out)), ("files", .array(files.map { .string($0) })), ("grid", .string("samples.png"))]).serialized())
    }
    return 0
}
