import BPTT
import Foundation

let autoencoderCommand = Command(
    name: "autoencoder",
    summary: "Train a masked MLP autoencoder: reconstruct hidden pixels; report test MSE beside baselines.",
    usage: "autoencoder --mask left-half --hidden 256,64,256 --epochs 100 [--data DIR] --out DIR [options]",
    options: [
        Option("mask", "MODE", "left-half | right-half | random:P | patches:K (default left-half); a mask that hides no pixel of the images is refused"),
        Option("loss-on", "WHICH", "masked (hidden pixels only) | all (default masked)"),
        Option("hidden", "N,N,..", "hidden layer widths (default 256,64,256)"),
        Option("epochs", "N", "passes over the training set, in total when resuming (default 100)"),
        Option("batch", "B", "batch size (default 64)"),
        dataOption,
        logOption,
        reportOption,
        Option("out", "DIR", "write reconstructions.png (rows: original / masked input / reconstruction; with --loss-on masked the visible pixels are copied from the input) here").writes(.folder(default: nil), files: ["reconstructions.png"]),
    ] + imageRunOptions + optimizerOptions(default: "adam", lr: "1e-3") + checkpointOptions(unit: "epochs"),
    run: runAutoencoder
)

/// Flags that define an autoencoder run: given again on --resume, they must agree.
let autoencoderFields: [(flag: String, value: (AutoencoderConfig) -> String)] = [
    ("mask", { $0.mask.description }), ("loss-on", { $0.lossOn.rawValue }),
    ("hidden", { $0.hidden.map(String.init).joined(separator: ",") }), ("batch", { String($0.batch) }), ("seed", { String($0.seed) }),
] + lifted(\AutoencoderConfig.optimizer)

func runAutoencoder(_ a: inout Arguments) throws -> Int32 {
    var c = AutoencoderConfig()
    let maskText = a.string("mask", default: "left-half")
    guard let mask = MaskedAutoencoder<Float>.Mask(parsing: maskText) else {
        throw BPTTError.usage("--mask: unknown value '\(maskText)' (expected left-half, right-half, random:P with 0<P<1, patches:K with K≥1)")
    }
    c.mask = mask
    c.lossOn = MaskedAutoencoder<Float>.LossOn(rawValue: try a.choice("loss-on", ["masked", "all"], default: "masked"))!
    c.hidden = try sizeList(a, "hidden", default: [256, 64, 256])
    c.epochs = try a.int("epochs", default: 100, min: 1, max: 1_000_000)
    c.batch = try a.int("batch", default: 64, min: 1, max: 1_000_000)
    c.optimizer = try optimizerConfig(a, kind: "adam", lr: 1e-3)
    c.seed = try a.seed()
    c.threads = try a.int("threads", default: 2, min: 1, max: 64)
    let ck = try CheckpointFlags(a)
    let out = a.string("out")
    let json = a.flag("json"), quiet = a.flag("quiet")
    let trainer: AutoencoderTrainer = try imageTrainer(a, &c, ck, fields: autoencoderFields)
    let data = trainer.data
    try checkMaskHidesPixels(c.mask, data)
    if let out { try makeOutputFolder(out) }
    let log = try a.string("log").map { try CSVWriter(path: $0, header: ["epoch", "mean_loss_over_epoch", "test_masked_mse", "examples_per_s"]) }
    let progress = epochProgress(trainer, c.epochs, quiet: quiet, ["masked autoencoder on \(data.source): \(data.train.count) train / \(data.test.count) test images of \(data.height)×\(data.width), mask \(c.mask), loss on \(c.lossOn.rawValue) pixels, layers \(([data.pixels] + c.hidden + [data.pixels]).map(String.init).joined(separator: "→")), \(trainer.params.parameterCount) parameters"
                  + (ck.resume.map { ", " + resumedAt(trainer, $0) } ?? "")])
    var last: EpochStats? = nil
    var epochs: [EpochStats] = []   // for --report (the epochs of this run)
    guard let seconds = try trainEpochs(trainer, c.epochs, ck, log: log, progress: progress, stepLine: "epoch %d/%d  loss %.5f", epochDone: { e in
        last = e
        epochs.append(e)
        // the test masked-pixel MSE after each epoch (only with --log: it costs a pass over the test set)
        if let log { try log.write([String(e.epoch), String(e.loss), String(trainer.evaluate().0.maskedMSE), String(format: "%.0f", e.examplesPerSecond)]) }
        progress.line(String(format: "epoch %4d/%d  loss %.5f  %.0f examples/s", e.epoch, c.epochs, e.loss, e.examplesPerSecond),
                      throttle: true, force: e.epoch == c.epochs)
    }) else { return 130 }
    let (ev, kept) = trainer.evaluate(keep: 16)
    let gain = 1 - ev.maskedMSE / ev.baselineMeanMSE
    progress.result("test masked-pixel MSE \(figure(ev.maskedMSE, "%.5f")); baselines: zero fill \(figure(ev.baselineZeroMSE, "%.5f")), "
                  + "mean image \(figure(ev.baselineMeanMSE, "%.5f")) (\(figure(100 * gain, "%.1f%%")) below the mean-image baseline); \(figure(seconds, "%.1f")) s")
    var png: String? = nil
    var reconstructions: ImageGrid? = nil
    if out != nil || a.has("report") {
        var grid = ImageGrid(rows: 3, cols: kept.count, tileHeight: data.height, tileWidth: data.width,
                             scale: max(1, 32 / max(data.height, data.width)), gap: 2)
        for (i, k) in kept.enumerated() {
            grid.draw(k.x, row: 0, col: i)
            grid.draw(k.masked, row: 1, col: i)
            grid.draw(k.xhat, row: 2, col: i)
        }
        reconstructions = grid
        if let out {
            png = out + "/reconstructions.png"
            try grid.write(png!)
            progress.result("wrote \(png!)")
        }
    }
    try writeReport(a.string("report")) {
        .autoencoder(config: c, data: data.source, epochs: epochs, evaluation: ev, seconds: seconds, reconstructions: reconstructions)
    }
    if json {
        print(JSON.object([
            ("command", .string("autoencoder")), ("data", .string(data.source)), ("mask", .string(c.mask.description)),
            ("loss_on", .string(c.lossOn.rawValue)), ("hidden", .array(c.hidden.map { .int($0) })),
            ("epochs", .int(c.epochs)), ("seed", .int(Int(truncatingIfNeeded: c.seed))),
            ("final_loss", .number(last?.loss ?? trainer.history.last?.trainLoss ?? .nan)),
            ("masked_mse", .number(ev.maskedMSE)), ("baseline_zero_mse", .number(ev.baselineZeroMSE)),
            ("baseline_mean_mse", .number(ev.baselineMeanMSE)), ("improvement_over_mean", .number(gain)),
            ("examples_per_s", .number((Double(max(trainer.step - progress.offset, 0) * c.batch) / max(seconds, 1e-9)).rounded())),
            ("seconds", .number((seconds * 1000).rounded() / 1000)), ("png", png.map { .string($0) } ?? .null),
        ]).serialized())
    }
    return 0
}

/// A half mask of an image one pixel wide hides nothing (left-half): refuse it before training,
/// since every masked-pixel figure would be 0/0.
func checkMaskHidesPixels(_ mask: MaskedAutoencoder<Float>.Mask, _ data: ImageData) throws {
    var m = Matrix<Float>(rows: 0, cols: 0)
    var rng = RNG(seed: 0)
    switch mask {
    case .leftHalf, .rightHalf: mask.fill(&m, batch: 1, height: data.height, width: data.width, rng: &rng)
    default: return   // random:P and patches:K hide at least one pixel of some image (patches: of every image)
    }
    guard m.data.contains(0) else {
        throw BPTTError.input("--mask \(mask): hides no pixel of the \(data.height)×\(data.width) images of \(data.source) "
            + "(the left half of an image \(data.width) pixel\(data.width == 1 ? "" : "s") wide is empty); use right-half, random:P or patches:K")
    }
}
