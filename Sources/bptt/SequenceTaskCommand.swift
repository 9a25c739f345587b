import BPTT
import Foundation

/// Flags only `train --task image-rows|sentiment` reads.
let sequenceTaskOptions: [Option] = [
    Option("data", "PATH", "image-rows: IDX folder, 'digits' (default) or 'fashion-mnist'; sentiment: Large Movie Review folder or CSV/TSV (default: built-in synthetic corpus)"),
    Option("epochs", "N", "image-rows/sentiment: passes over the training set (default 30 / 5)"),
    Option("vectors", "FILE", "sentiment: pretrained GloVe-style word vectors (sets the embedding width)"),
    Option("embedding-dim", "E", "sentiment: embedding width (default 100)"),
    Option("vocab", "K", "sentiment: the K most frequent training words (default 25000)"),
    Option("max-length", "N", "sentiment: tokens kept per review (default 400)"),
    Option("out", "DIR", "image-rows/sentiment: write curves.csv and curves.svg here"),
]

/// `bptt train --task image-rows|sentiment`: epochs over real data, test accuracy each epoch.
func runSequenceTask(_ a: inout Arguments, task: String) throws -> Int32 {
    let sentiment = task == "sentiment"
    var c = SequenceTaskConfig()
    c.task = task
    c.model = try a.choice("model", CellKind.names, default: sentiment ? "lstm" : "lstm")
    c.layers = try a.int("layers", default: 1, min: 1, max: 16)
    c.bidirectional = a.flag("bidirectional")
    c.hidden = try a.int("hidden", default: sentiment ? 10 : 64, min: 1, max: 100_000)
    c.epochs = try a.int("epochs", default: sentiment ? 5 : 30, min: 1, max: 100_000)
    c.batch = try a.int("batch", default: sentiment ? 64 : 32, min: 1, max: 1_000_000)
    c.optimizer = try optimizerConfig(a, kind: "adam", lr: sentiment ? 1e-2 : 2e-3)
    let clip = try a.double("clip", default: sentiment ? 0 : 10, nonNegative: true)
    c.clip = clip > 0 ? clip : nil
    c.initializer = Initializer(rawValue: try a.choice("init", Initializer.allCases.map(\.rawValue), default: "pytorch"))!
    c.seed = try a.seed()
    c.threads = try a.int("threads", default: 2, min: 1, max: 64)
    c.dropout = try a.double("dropout", default: sentiment ? 0.5 : 0, nonNegative: true)
    guard c.dropout < 1 else { throw BPTTError.usage("--dropout: \(c.dropout) must be below 1") }
    c.embeddingDim = try a.int("embedding-dim", default: 100, min: 1, max: 10_000)
    c.vocabularySize = try a.int("vocab", default: 25_000, min: 3, max: 10_000_000)
    c.maxLength = try a.int("max-length", default: 400, min: 1, max: 1_000_000)
    let json = a.flag("json"), quiet = a.flag("quiet")
    let out = a.string("out")
    if let out { try makeOutputFolder(out) }
    func say(_ s: String) { if !quiet { print(s); fflush(stdout) } }

    var history: [SequenceEpochStats] = []
    var failure: String? = nil
    let onEpoch: (SequenceEpochStats) -> Bool = { s in
        if let bad = s.nonFinite { failure = "epoch \(s.epoch): \(bad) became NaN or infinite; stopped"; return false }
        history.append(s)
        say(String(format: "epoch %3d/%d  train loss %.4f  train accuracy %.4f  test accuracy %.4f  %.0f examples/s  %.1f s",
                   s.epoch, c.epochs, s.trainLoss, s.trainAccuracy, s.testAccuracy, s.examplesPerSecond, s.seconds))
        return true
    }
    let name = c.model + (c.bidirectional ? " (bidirectional)" : "") + (c.layers > 1 ? " \(c.layers) layers" : "")
    let start = Date()
    if sentiment {
        let corpus: (train: [LabelledText], test: [LabelledText])
        let source: String
        if let path = a.string("data") {
            corpus = try TextCorpus.load(path, seed: c.seed)
            source = path
        } else {
            corpus = (SyntheticSentiment.generate(count: 20000, seed: 1), SyntheticSentiment.generate(count: 2000, seed: 2))
            source = "built-in SYNTHETIC corpus (generated, not real reviews: 4,000 train / 1,000 test, negations far from the sentiment word)"
        }
        guard !corpus.train.isEmpty, !corpus.test.isEmpty else { throw BPTTError.input("\(source): no training or no test reviews") }
        let text = EncodedText(train: corpus.train, test: corpus.test, maxWords: c.vocabularySize, maxLength: c.maxLength)
        var vectors: Matrix<Float>? = nil
        if let v = a.string("vectors") {
            var rng = RNG(seed: c.seed ^ 0x7EC7)
            vectors = try WordVectors.load(v, vocabulary: text.vocabulary, rng: &rng)
        }
        say("sentiment on \(source): \(text.train.count) train / \(text.test.count) test reviews, vocabulary \(text.vocabulary.count)")
        say("model \(name): embedding \(vectors?.cols ?? c.embeddingDim)\(vectors != nil ? " (pretrained)" : ""), hidden \(c.hidden), dropout \(c.dropout), \(c.optimizer.kind.rawValue) lr \(c.optimizer.lr), batch \(c.batch) (length buckets)")
        _ = try SequenceTaskRunner.sentiment(c, text: text, vectors: vectors, onEpoch: onEpoch)
    } else {
        let data = try ImageData.load(a.string("data"))
        say("image rows on \(data.source): \(data.train.count) train / \(data.test.count) test images, \(data.height) steps of \(data.width) pixels, \(data.classes) classes")
        say("model \(name): hidden \(c.hidden), \(c.optimizer.kind.rawValue) lr \(c.optimizer.lr), batch \(c.batch)")
        _ = try SequenceTaskRunner.imageRows(c, data: data, onEpoch: onEpoch)
    }
    let seconds = Date().timeIntervalSince(start)
    if let out, !history.isEmpty {
        let csv = try CSVWriter(path: out + "/curves.csv", header: ["epoch", "train_loss", "train_accuracy", "test_accuracy", "examples_per_s", "seconds"])
        for s in history {
            try csv.write([String(s.epoch), fmt(s.trainLoss), fmt(s.trainAccuracy), fmt(s.testAccuracy), String(format: "%.0f", s.examplesPerSecond), fmt(s.seconds)])
        }
        try csv.close()
        var chart = SVGChart(title: "\(task): \(name)", xLabel: "epoch", yLabel: "train loss / test accuracy")
        chart.series = [.init(name: "train loss", points: history.map { (Double($0.epoch), $0.trainLoss) }),
                        .init(name: "test accuracy", points: history.map { (Double($0.epoch), $0.testAccuracy) })]
        chart.markers = true
        try chart.write(to: out + "/curves.svg")
        say("wrote \(out)/curves.csv and \(out)/curves.svg")
    }
    if let failure { throw BPTTError.nonFinite(failure) }
    let last = history.last!
    let rate = history.map(\.examplesPerSecond).reduce(0, +) / Double(history.count)
    say(String(format: "final test accuracy %.4f after %d epochs; %.0f examples/s; %.1f s", last.testAccuracy, history.count, rate, seconds))
    if json {
        print(JSON.object([
            ("model", .string(c.model)), ("task", .string(task)), ("layers", .int(c.layers)), ("bidirectional", .bool(c.bidirectional)),
            ("hidden", .int(c.hidden)), ("epochs", .int(history.count)), ("batch", .int(c.batch)),
            ("seed", .int(Int(truncatingIfNeeded: c.seed))),
            ("train_loss", .number(last.trainLoss)), ("test_accuracy", .number(last.testAccuracy)),
            ("examples_per_s", .number(rate.rounded())), ("seconds", .number((seconds * 1000).rounded() / 1000)),
        ]).serialized())
    }
    return 0
}
