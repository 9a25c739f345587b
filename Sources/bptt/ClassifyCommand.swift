import BPTT
import Foundation

let classifyCommand = Command(
    name: "classify",
    summary: "Train an MLP image classifier (ReLU, dropout, softmax cross-entropy) and report its test accuracy.",
    usage: "classify [--data DIR] [--hidden 256,128] [--epochs 40] [options]",
    options: [
        Option("hidden", "N,N,..", "hidden layer widths (default 256,128; none: softmax regression)"),
        Option("dropout", "P", "dropout rate on hidden layers (default 0.2; with --hidden none there are none: a warning says so)"),
        Option("epochs", "N", "passes over the training set, in total when resuming (default 40)"),
        Option("batch", "B", "batch size (default 64)"),
        dataOption,
        logOption,
        Option("out", "DIR", "write misclassified.png here: up to 64 misclassified test images, each labelled true>predicted").writes(.folder(default: nil), files: ["misclassified.png"]),
    ] + imageRunOptions + optimizerOptions(default: "adam", lr: "1e-3") + checkpointOptions(unit: "epochs"),
    run: runClassify
)

func classifierConfig(_ a: Arguments) throws -> ClassifierConfig {
    var c = ClassifierConfig()
    c.hidden = try sizeList(a, "hidden", default: c.hidden, allowEmpty: true)
    c.dropout = try a.double("dropout", default: 0.2, nonNegative: true)
    guard c.dropout < 1 else { throw BPTTError.usage("--dropout: must be below 1") }
    c.epochs = try a.int("epochs", default: 40, min: 1, max: 1_000_000)
    c.batch = try a.int("batch", default: 64, min: 1, max: 1_000_000)
    c.optimizer = try optimizerConfig(a, kind: "adam", lr: 1e-3)
    c.seed = try a.seed()
    c.threads = try a.int("threads", default: 2, min: 1, max: 64)
    return c
}

/// Flags that define a classifier run: given again on --resume, they must agree.
let classifierFields: [(flag: String, value: (ClassifierConfig) -> String)] = [
    ("hidden", { $0.hidden.map(String.init).joined(separator: ",") }), ("dropout", { String($0.dropout) }),
    ("batch", { String($0.batch) }), ("seed", { String($0.seed) }),
] + lifted(\ClassifierConfig.optimizer)

func runClassify(_ a: inout Arguments) throws -> Int32 {
    var c = try classifierConfig(a)
    let ck = try CheckpointFlags(a)
    let json = a.flag("json"), quiet = a.flag("quiet")
    let logPath = a.string("log")
    let trainer: ClassifierTrainer = try imageTrainer(a, &c, ck, fields: classifierFields)
    if c.hidden.isEmpty && c.dropout > 0 && a.has("dropout") {
        warn("--dropout \(c.dropout) acts on hidden layers; with --hidden none there is none, so it changes nothing")
    }
    let data = trainer.data
    let log = try logPath.map { try CSVWriter(path: $0, header: ["epoch", "mean_loss_over_epoch", "train_accuracy", "test_accuracy", "examples_per_s"]) }
    let progress = epochProgress(trainer, c.epochs, quiet: quiet, ["classifier on \(data.source): \(data.train.count) train / \(data.test.count) test images of \(data.height)×\(data.width), \(data.classes) classes, layers \(([data.pixels] + c.hidden + [data.classes]).map(String.init).joined(separator: "→")), \(trainer.params.parameterCount) parameters"
                  + (ck.resume.map { ", " + resumedAt(trainer, $0) } ?? "")])
    var last: EpochStats? = nil
    guard let seconds = try trainEpochs(trainer, c.epochs, ck, log: log, progress: progress, stepLine: "epoch %d/%d  loss %.4f", epochDone: { e in
        last = e
        // the test accuracy after each epoch (only with --log: it costs a pass over the test set)
        try log?.write([String(e.epoch), String(e.loss), String(e.accuracy ?? .nan), String(trainer.testAccuracy()), String(format: "%.0f", e.examplesPerSecond)])
        progress.line(String(format: "epoch %4d/%d  loss %.4f  train accuracy %.4f  %.0f examples/s", e.epoch, c.epochs, e.loss, e.accuracy ?? 0, e.examplesPerSecond),
                      throttle: true, force: e.epoch == c.epochs)
    }) else { return 130 }
    let acc = trainer.testAccuracy()
    progress.result(String(format: "test accuracy %.4f on %d images; %.1f s", acc, data.test.count, seconds))
    // the confusion matrix (rows: true class, columns: predicted) and the misclassified images
    let predicted = trainer.probabilities(data.test.images).rowArgmax()
    let confusion = confusionMatrix(predicted: predicted, labels: data.test.labels, classes: data.classes)
    for line in confusionLines(confusion) { progress.result(line) }
    var png: String? = nil
    if let out = a.string("out") {
        try makeOutputFolder(out)
        png = try writeMisclassified(data, predicted: predicted, into: out, progress: progress)
    }
    if json {
        let done = trainer.history.last
        print(JSON.object([
            ("command", .string("classify")), ("data", .string(data.source)), ("hidden", .array(c.hidden.map { .int($0) })),
            ("epochs", .int(c.epochs)), ("seed", .int(Int(truncatingIfNeeded: c.seed))),
            ("final_loss", .number(last?.loss ?? done?.trainLoss ?? .nan)), ("train_accuracy", .number(last?.accuracy ?? done?.trainAccuracy ?? .nan)),
            ("test_accuracy", .number(acc)), ("test_images", .int(data.test.count)),
            ("confusion_matrix", .array(confusion.map { .array($0.map { .int($0) }) })), ("misclassified_png", png.map { .string($0) } ?? .null),
            ("examples_per_s", .number((Double(max(trainer.step - progress.offset, 0) * c.batch) / max(seconds, 1e-9)).rounded())),
            ("seconds", .number((seconds * 1000).rounded() / 1000)),
        ]).serialized())
    }
    return 0
}

/// Counts (rows: true class, columns: predicted class) over a test set.
func confusionMatrix(predicted: [Int], labels: [Int], classes: Int) -> [[Int]] {
    var m = [[Int]](repeating: [Int](repeating: 0, count: classes), count: classes)
    for (k, truth) in zip(predicted, labels) { m[truth][k] += 1 }
    return m
}

/// Writes the first 64 misclassified test images as one PNG grid labelled true>predicted,
/// `out/misclassified.png`; returns its path, or nil (and says so) when none was misclassified.
func writeMisclassified(_ data: ImageData, predicted: [Int], into out: String, progress: BPTT.Progress) throws -> String? {
    let wrong = predicted.indices.filter { predicted[$0] != data.test.labels[$0] }
    let png = out + "/misclassified.png"
    guard !wrong.isEmpty else {
        progress.result("no test image was misclassified: \(png) not written")
        return nil
    }
    let shown = Array(wrong.prefix(64))
    let images = Matrix<Float>(rows: shown.count, cols: data.pixels, data: shown.flatMap { Array(data.test.images.row($0)) })
    try sampleGrid(images, height: data.height, width: data.width,
                   labels: shown.map { "\(data.test.labels[$0])>\(predicted[$0])" }).write(png)
    progress.result("wrote \(png): \(shown.count) of \(wrong.count) misclassified test images, labelled true>predicted")
    return png
}

/// The confusion matrix as text: a header of predicted classes, one row per true class.
func confusionLines(_ m: [[Int]]) -> [String] {
    let width = max(5, String(m.flatMap { $0 }.max() ?? 0).count + 1)
    let cell = { (s: String) in String(repeating: " ", count: max(0, width - s.count)) + s }
    var lines = ["confusion matrix (rows: true class, columns: predicted class)",
                 "true " + (0..<m.count).map { cell(String($0)) }.joined()]
    for (k, row) in m.enumerated() { lines.append(String(k).padding(toLength: 5, withPad: " ", startingAt: 0) + row.map { cell(String($0)) }.joined()) }
    return lines
}
