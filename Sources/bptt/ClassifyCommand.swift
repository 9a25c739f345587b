import BPTT
import Foundation

let classifyCommand = Command(
    name: "classify",
    summary: "Train an MLP image classifier (ReLU, dropout, softmax cross-entropy) and report its test accuracy.",
    usage: "classify [--data DIR] [--hidden 256,128] [--epochs 40] [options]",
    options: [
        Option("hidden", "N,N,..", "hidden layer widths (default 256,128)"),
        Option("dropout", "P", "dropout rate on hidden layers (default 0.2)"),
        Option("epochs", "N", "passes over the training set (default 40)"),
        Option("batch", "B", "batch size (default 64)"),
        dataOption,
        logOption,
        Option("seed", "S", "random seed (default 0)"),
        Option("threads", "N", "threads per large GEMM (default 2); results do not depend on it"),
        Option("quiet", nil, "no progress lines"),
        Option("json", nil, "end with one JSON line of results"),
    ] + optimizerOptions(default: "adam", lr: "1e-3"),
    run: runClassify
)

func classifierConfig(_ a: Arguments) throws -> ClassifierConfig {
    var c = ClassifierConfig()
    c.hidden = try sizeList(a, "hidden", default: c.hidden, allowEmpty: true)
    c.dropout = try a.double("dropout", default: 0.2, nonNegative: true)
    guard c.dropout < 1 else { throw BPTTError.usage("--dropout: must be below 1") }
    c.epochs = try a.int("epochs", default: 40, min: 0, max: 1_000_000)
    c.batch = try a.int("batch", default: 64, min: 1, max: 1_000_000)
    c.optimizer = try optimizerConfig(a, kind: "adam", lr: 1e-3)
    c.seed = try a.seed()
    c.threads = try a.int("threads", default: 2, min: 1, max: 64)
    return c
}

func runClassify(_ a: inout Arguments) throws -> Int32 {
    let c = try classifierConfig(a)
    let json = a.flag("json")
    var progress = ProgressLines(quiet: a.flag("quiet"))
    let data = try ImageData.load(a.string("data"))
    let trainer = ClassifierTrainer(c, data: data)
    let log = try a.string("log").map { try CSVWriter(path: $0, header: ["epoch", "loss", "train_accuracy", "examples_per_s"]) }
    progress.line("classifier on \(data.source): \(data.train.count) train / \(data.test.count) test images of \(data.height)×\(data.width), \(data.classes) classes, layers \(([data.pixels] + c.hidden + [data.classes]).map(String.init).joined(separator: "→")), \(trainer.params.parameterCount) parameters", force: true)
    let start = Date()
    var last: EpochStats? = nil
    for e in 0..<c.epochs {
        let s = try trainer.trainEpoch()
        last = s
        try log?.write([String(s.epoch), String(s.loss), String(s.accuracy ?? .nan), String(format: "%.0f", s.examplesPerSecond)])
        progress.line(String(format: "epoch %4d/%d  loss %.4f  train accuracy %.4f  %.0f examples/s", s.epoch, c.epochs, s.loss, s.accuracy ?? 0, s.examplesPerSecond), force: e == c.epochs - 1)
    }
    let seconds = Date().timeIntervalSince(start)
    try log?.close()
    let acc = trainer.testAccuracy()
    progress.line(String(format: "test accuracy %.4f on %d images; %.1f s", acc, data.test.count, seconds), force: true)
    if json {
        print(JSON.object([
            ("command", .string("classify")), ("data", .string(data.source)), ("hidden", .array(c.hidden.map { .int($0) })),
            ("epochs", .int(c.epochs)), ("seed", .int(Int(truncatingIfNeeded: c.seed))),
            ("final_loss", .number(last?.loss ?? .nan)), ("train_accuracy", .number(last?.accuracy ?? .nan)),
            ("test_accuracy", .number(acc)), ("test_images", .int(data.test.count)),
            ("examples_per_s", .number((Double(c.epochs * data.train.count) / max(seconds, 1e-9)).rounded())),
            ("seconds", .number((seconds * 1000).rounded() / 1000)),
        ]).serialized())
    }
    return 0
}
