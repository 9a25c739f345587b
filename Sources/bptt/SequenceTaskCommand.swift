import BPTT
import Foundation

/// Flags only `train --task image-rows|sentiment` reads.
let sequenceTaskOptions: [Option] = [
    Option("data", "PATH", "image-rows, pixels: IDX folder, 'digits' (default) or 'fashion-mnist'; sentiment: Large Movie Review folder or CSV/TSV (default: built-in synthetic corpus); text: a UTF-8 file, 'builtin' (default: seven Shakespeare tragedies) or 'shakespeare' (the complete works, after make data-shakespeare)"),
    Option("epochs", "N", "image-rows, sentiment, pixels, text: passes over the training set, in total when resuming (default 30 / 5 / 10; text: --steps 1000 unless --epochs is given)"),
    Option("vectors", "FILE", "sentiment: pretrained word vectors, GloVe text (word2vec's COUNT DIM first line is skipped), or 'glove-50d' after make data-glove; sets the embedding width"),
    Option("embedding-dim", "E", "sentiment: embedding width (default 100)"),
    Option("vocab", "K", "sentiment: the K most frequent training words (default 25000)"),
    Option("max-length", "N", "sentiment: tokens kept per review (default 400)"),
    Option("out", "DIR", "write curves.csv and curves.svg (loss above, accuracy below, each on its own axis) here").writes(.folder(default: nil), files: ["curves.csv", "curves.svg"]),
]

/// Flags that define a sequence-task run: given again on --resume, they must agree.
let sequenceTaskFields: [(flag: String, value: (SequenceTaskConfig) -> String)] = [
    ("model", { $0.model }), ("layers", { String($0.layers) }), ("bidirectional", { String($0.bidirectional) }),
    ("hidden", { String($0.hidden) }), ("batch", { String($0.batch) }), ("clip", { String($0.clip ?? 0) }),
    ("init", { initName($0.initializer, $0.recurrentInit) }), ("chrono-tmax", { String($0.chronoTMax ?? 0) }),
    ("permute", { $0.permute.map { String($0) } ?? "none" }), ("seed", { String($0.seed) }), ("dropout", { String($0.dropout) }),
    ("embedding-dim", { String($0.embeddingDim) }), ("vocab", { String($0.vocabularySize) }), ("max-length", { String($0.maxLength) }),
] + lifted(\SequenceTaskConfig.optimizer)

/// The built-in corpus's name for --data (and in checkpoints).
let builtinSentiment = "builtin"

/// `bptt train --task image-rows|sentiment`: epochs over real data, test accuracy each epoch.
func runSequenceTask(_ a: inout Arguments, task: String) throws -> Int32 {
    let sentiment = task == "sentiment", pixels = task == "pixels"
    if !pixels && a.has("permute") { throw BPTTError.usage("--permute applies to --task pixels, not \(task)") }
    // where each of these applies instead (image and review tasks count epochs and score the test set)
    let elsewhere = ["length": "palindrome, text, adding and copy", "steps": "palindrome, text, adding and copy",
                     "truncate": "palindrome", "eval-size": "palindrome, adding and copy", "log": "palindrome, adding and copy",
                     "log-every": "palindrome, adding and copy", "forget-bias-one": "palindrome, text, adding and copy"]
    for flag in ["length", "steps", "truncate", "eval-size", "log", "log-every", "forget-bias-one"] where a.has(flag) || a.flag(flag) {
        throw BPTTError.usage("--\(flag) applies to --task \(elsewhere[flag]!), not \(task)")
    }
    if !sentiment {
        for flag in ["vectors", "embedding-dim", "vocab", "max-length"] where a.has(flag) {
            throw BPTTError.usage("--\(flag) applies to --task sentiment, not \(task)")
        }
    }
    var c = SequenceTaskConfig()
    c.task = task
    c.model = try a.choice("model", CellKind.names, default: "lstm")
    c.layers = try a.int("layers", default: 1, min: 1, max: 16)
    c.bidirectional = a.flag("bidirectional")
    c.hidden = try a.int("hidden", default: sentiment ? 10 : pixels ? 128 : 64, min: 1, max: 100_000)
    c.epochs = try a.int("epochs", default: sentiment ? 5 : pixels ? 10 : 30, min: 1, max: 100_000)
    c.batch = try a.int("batch", default: sentiment ? 64 : pixels ? 64 : 32, min: 1, max: 1_000_000)
    c.optimizer = try optimizerConfig(a, kind: "adam", lr: sentiment ? 1e-2 : pixels ? 1e-3 : 2e-3)
    let clip = try a.double("clip", default: sentiment ? 0 : pixels ? 1 : 10, nonNegative: true)
    c.clip = clip > 0 ? clip : nil
    (c.initializer, c.recurrentInit, c.chronoTMax) = try initChoice(a)
    if let r = c.recurrentInit, !r.cells.contains(c.model) {
        throw BPTTError.usage("--init \(r.rawValue) applies to \(r.cells.joined(separator: ", ")), not \(c.model)")
    }
    if pixels { c.permute = a.has("permute") ? try a.seed("permute") : nil }
    c.seed = try a.seed()
    c.threads = try a.int("threads", default: 2, min: 1, max: 64)
    c.dropout = try a.double("dropout", default: sentiment ? 0.5 : 0, nonNegative: true)
    guard c.dropout < 1 else { throw BPTTError.usage("--dropout: \(c.dropout) must be below 1") }
    if !sentiment && c.dropout > 0 { throw BPTTError.usage("--dropout applies to --task sentiment (and palindrome), not \(task)") }
    c.embeddingDim = try a.int("embedding-dim", default: 100, min: 1, max: 10_000)
    c.vocabularySize = try a.int("vocab", default: 25_000, min: 1, max: 10_000_000)
    c.maxLength = try a.int("max-length", default: 400, min: 1, max: 1_000_000)
    let ck = try CheckpointFlags(a)
    let json = a.flag("json"), quiet = a.flag("quiet")
    let out = a.string("out")
    let epochs = c.epochs

    // On --resume the checkpoint's configuration and data are used; flags given again must agree.
    var saved: (Checkpoint, SavedRun<SequenceTaskConfig>, String)? = nil
    if let ckpt = try ck.checkpoint(), let source = ck.resume {
        let run = try SequenceTaskTrainer.savedRun(ckpt, task: task, source: source)
        try checkResumeFlags(a, given: c, saved: run.config, source: source, sequenceTaskFields)
        if a.has("vectors") { throw BPTTError.usage("--vectors applies to a new run; the checkpoint \(source) holds the trained embedding") }
        let threads = c.threads
        c = run.config
        c.threads = threads
        c.epochs = epochs
        saved = (ckpt, run, source)
    }
    let name = c.model + (c.bidirectional ? " (bidirectional)" : "") + (c.layers > 1 ? " \(c.layers) layers" : "")
    var header: [String] = []
    let trainer: SequenceTaskTrainer
    var images: ImageData? = nil   // image rows: for the misclassified grid
    if sentiment {
        let spec = a.string("data") ?? saved?.1.data.spec ?? builtinSentiment
        let corpus: (train: [LabelledText], test: [LabelledText])
        let source: String
        if spec != builtinSentiment {
            corpus = try TextCorpus.load(spec, seed: c.seed)
            source = spec
        } else {
            corpus = (SyntheticSentiment.generate(count: 20000, seed: 1), SyntheticSentiment.generate(count: 2000, seed: 2))
            source = "built-in SYNTHETIC corpus (generated, not real reviews: 20,000 train / 2,000 test, negations far from the sentiment word)"
        }
        guard !corpus.train.isEmpty, !corpus.test.isEmpty else { throw BPTTError.input("\(source): no training or no test reviews") }
        let text = EncodedText(train: corpus.train, test: corpus.test, maxWords: c.vocabularySize, maxLength: c.maxLength)
        var vectors: Matrix<Float>? = nil
        var coverage: String? = nil
        if let spec = a.string("vectors") {
            let v = try vectorsPath(spec)
            var rng = RNG(seed: c.seed ^ 0x7EC7)
            let read = try WordVectors.read(v, vocabulary: text.vocabulary, rng: &rng)
            vectors = read.matrix
            let words = text.vocabulary.count - 2   // unk and pad are not looked up
            coverage = "vectors \(v): \(read.found) of \(words) vocabulary words found (\(figure(100 * Double(read.found) / Double(words), "%.1f"))%), the rest random"
        }
        let identity = DataIdentity(spec: spec, source: spec == builtinSentiment ? "built-in synthetic corpus" : spec,
                                    train: text.train.count, test: text.test.count, shape: [text.vocabulary.count])
        trainer = try SequenceTaskTrainer(sentiment: c, text: text, vectors: vectors, identity: identity)
        header = ["sentiment on \(source): \(text.train.count) train / \(text.test.count) test reviews, vocabulary \(text.vocabulary.count)",
                 ] + (coverage.map { [$0] } ?? []) + [
                  "model \(name): embedding \(trainer.config.embeddingDim)\(vectors != nil ? " (pretrained)" : ""), hidden \(c.hidden), dropout \(c.dropout), \(c.optimizer.kind.rawValue) lr \(c.optimizer.lr), batch \(c.batch) (length buckets), \(trainer.parameterCount) parameters"]
    } else {
        let spec = a.string("data") ?? saved?.1.data.spec ?? "digits"
        let data = try ImageData.load(spec)
        images = data
        if pixels {
            trainer = try SequenceTaskTrainer(pixels: c, data: data, dataSpec: spec)
            header = ["pixels on \(data.source): \(data.train.count) train / \(data.test.count) test images, \(data.height * data.width) steps of one pixel"
                      + (c.permute.map { ", permuted (seed \($0))" } ?? ", in reading order") + ", \(data.classes) classes",
                      "model \(name): hidden \(c.hidden), \(c.optimizer.kind.rawValue) lr \(c.optimizer.lr), batch \(c.batch), init \(initName(c.initializer, c.recurrentInit)), \(trainer.parameterCount) parameters"]
        } else {
        trainer = try SequenceTaskTrainer(imageRows: c, data: data, dataSpec: spec)
        header = ["image rows on \(data.source): \(data.train.count) train / \(data.test.count) test images, \(data.height) steps of \(data.width) pixels, \(data.classes) classes",
                  "model \(name): hidden \(c.hidden), \(c.optimizer.kind.rawValue) lr \(c.optimizer.lr), batch \(c.batch), \(trainer.parameterCount) parameters"]
        }
    }
    if let (ckpt, _, source) = saved {
        try trainer.restore(ckpt, source: source)
        try checkTarget("epochs", epochs, done: trainer.epoch, source: source)
        header.append(resumedAt(trainer, source))
    }
    if let out { try makeOutputFolder(out) }

    let progress = epochProgress(trainer, epochs, quiet: quiet, header)
    var rates: [Double] = []
    guard let seconds = try trainEpochs(trainer, epochs, ck, progress: progress, stepLine: "epoch %d/%d  loss %.4f", epochDone: { e in
        rates.append(e.examplesPerSecond)
        progress.line(String(format: "epoch %3d/%d  train loss ", e.epoch, epochs) + figure(e.loss, "%.4f")
                      + "  train accuracy \(figure(e.accuracy, "%.4f"))  test accuracy \(figure(e.testAccuracy, "%.4f"))  \(figure(e.examplesPerSecond, "%.0f")) examples/s")
    }) else { return 130 }
    let history = trainer.history
    if let out, !history.isEmpty {
        let csv = try CSVWriter(path: out + "/curves.csv", header: ["epoch", "train_loss", "train_accuracy", "test_accuracy"])
        for s in history {
            try csv.write([String(s.epoch), fmt(s.trainLoss), fmt(s.trainAccuracy ?? .nan), fmt(s.testAccuracy ?? .nan)])
        }
        try csv.close()
        try writeCurves(out + "/curves.svg", title: "\(task): \(name)", x: "epoch", integerX: true,
                        loss: [("train loss (mean over the epoch)", history.map { (Double($0.epoch), $0.trainLoss) })],
                        accuracy: [("train accuracy", history.map { (Double($0.epoch), $0.trainAccuracy ?? .nan) }),
                                   ("test accuracy", history.map { (Double($0.epoch), $0.testAccuracy ?? .nan) })])
        progress.result("wrote \(out)/curves.csv and \(out)/curves.svg")
    }
    let last = history.last
    let rate = rates.isEmpty ? 0 : rates.reduce(0, +) / Double(rates.count)
    progress.result("final test accuracy \(figure(last?.testAccuracy, "%.4f")) after \(trainer.epoch) epoch\(trainer.epoch == 1 ? "" : "s"); \(figure(rate, "%.0f")) examples/s; \(figure(seconds, "%.1f")) s")
    // the confusion matrix (rows: true class, columns: predicted) and, for images, the misclassified ones
    let predicted = trainer.testPredictions()
    let classes = images?.classes ?? 2
    let confusion = confusionMatrix(predicted: predicted, labels: trainer.testLabels, classes: classes)
    for line in confusionLines(confusion) { progress.result(line) }
    if sentiment { progress.result("(class 0: negative, 1: positive)") }
    var png: String? = nil
    if let out, let images { png = try writeMisclassified(images, predicted: predicted, into: out, progress: progress) }
    if json {
        print(JSON.object([
            ("model", .string(c.model)), ("task", .string(task)), ("layers", .int(c.layers)), ("bidirectional", .bool(c.bidirectional)),
            ("hidden", .int(c.hidden)), ("epochs", .int(trainer.epoch)), ("batch", .int(c.batch)),
            ("seed", .int(Int(truncatingIfNeeded: c.seed))),
            ("train_loss", .number(last?.trainLoss ?? .nan)), ("test_accuracy", .number(last?.testAccuracy ?? .nan)),
            ("confusion_matrix", .array(confusion.map { .array($0.map { .int($0) }) })), ("misclassified_png", png.map { .string($0) } ?? .null),
            ("init", .string(initName(c.initializer, c.recurrentInit))), ("permute", c.permute.map { .int(Int(truncatingIfNeeded: $0)) } ?? .null),
            ("examples_per_s", .number(rate.rounded())), ("seconds", .number((seconds * 1000).rounded() / 1000)),
        ]).serialized())
    }
    return 0
}

/// Where `make data-glove` writes the GloVe 6B 50-dimensional vectors (GloVe text).
let glove50dFile = NSHomeDirectory() + "/.local/share/bptt/glove-6b-50d/glove.6B.50d.txt"

/// --vectors: a file, or `glove-50d` (the file `make data-glove` writes).
func vectorsPath(_ spec: String) throws -> String {
    guard spec == "glove-50d" else { return spec }
    guard FileManager.default.fileExists(atPath: glove50dFile) else {
        throw BPTTError.input("--vectors glove-50d: \(glove50dFile) not found (install it with: make data-glove)")
    }
    return glove50dFile
}

/// curves.svg: the losses in one chart and the accuracies in another below it, each with its own y axis.
func writeCurves(_ path: String, title: String, x: String, integerX: Bool,
                 loss: [(String, [(x: Double, y: Double)])], accuracy: [(String, [(x: Double, y: Double)])]) throws {
    var top = SVGChart(title: title + ": loss", xLabel: x, yLabel: "loss")
    top.series = loss.map { .init(name: $0.0, points: $0.1) }
    var bottom = SVGChart(title: title + ": accuracy", xLabel: x, yLabel: "accuracy")
    bottom.series = accuracy.map { .init(name: $0.0, points: $0.1) }
    bottom.yRange = 0...1
    for i in [0, 1] {
        var c = i == 0 ? top : bottom
        c.integerX = integerX
        c.markers = integerX
        c.height = 320
        if i == 0 { top = c } else { bottom = c }
    }
    try writeFileAtomically(path, SVGChart.stacked([top, bottom]))
}
