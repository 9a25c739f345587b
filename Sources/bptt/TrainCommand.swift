import BPTT
import Foundation

let trainCommand = Command(
    name: "train",
    summary: "Train a model on a task with hand-derived backpropagation (Float32, both cores).",
    usage: "train --model rnn --task palindrome --length 10 --steps 10000 [options]",
    options: [
        Option("model", "NAME", "rnn | rnn-relu | lstm | gru | gru-cho (default: palindrome rnn; image-rows, sentiment lstm; other tasks: the defaults by task, below)"),
        Option("layers", "N", "stacked recurrent levels (default 1)"),
        Option("bidirectional", nil, "two directions per level; final states concatenated"),
        Option("dropout", "P", "dropout while training: palindrome between levels (default 0; with one level there is none: a warning says so); sentiment: default 0.5"),
        Option("forget-bias-one", nil, "LSTM: initialise the forget-gate bias b_f to 1"),
        Option("task", "NAME", "palindrome (default) | image-rows (an image read one pixel row per step) | sentiment (review text, positive or negative) | text (a character-level language model, stateful truncated BPTT) | adding | copy | pixels (long memory: the adding and copy-memory problems, an image read one pixel per step)"),
        Option("length", "T", "steps per sequence: palindrome digits (default 10); text: characters per chunk, the truncated-BPTT window (100); adding, copy: T (100)"),
        Option("steps", "N", "optimisation steps (default: palindrome 10000; text 1000; adding, copy 2000)"),
        Option("batch", "B", "batch size (default: palindrome 128, image-rows 32, sentiment 64; other tasks: the defaults by task, below)"),
        Option("hidden", "H", "hidden units (default: palindrome 128, image-rows 64, sentiment 10; other tasks: the defaults by task, below)"),
        Option("optim", "NAME", "sgd | momentum | nesterov | adagrad | rmsprop | adam (default: palindrome rmsprop; image-rows, sentiment adam; other tasks: the defaults by task, below)"),
        Option("lr", "RATE", "learning rate (default: palindrome 1e-3, image-rows 2e-3, sentiment 1e-2; other tasks: the defaults by task, below)"),
        Option("momentum", "MU", "momentum for momentum/nesterov (default 0.9)"),
        Option("weight-decay", "L2", "L2 penalty added to the gradient (default 0)"),
        Option("clip", "NORM", "clip the global gradient norm to NORM; 0 = off (default: palindrome, image-rows 10; sentiment 0; other tasks: the defaults by task, below)"),
        Option("truncate", "K", "truncated BPTT: backpropagate through at most K steps; 0 = full (default 0)"),
        Option("init", "NAME", initHelp),
        Option("seed", "S", "random seed (default 0)"),
        Option("threads", "N", "worker threads, 1 or 2 (default 2); results do not depend on it"),
        Option("eval-size", "N", "fresh examples for the final evaluation: palindrome, adding, copy (default 1000)"),
        Option("save", "PATH", "write a checkpoint here at the end (and every --save-every steps, and on Ctrl-C)").writes(.checkpoint),
        Option("save-every", "N", "steps (image-rows, sentiment, pixels: epochs) between checkpoints (default: only at the end)"),
        initFromOption,
        Option("resume", "PATH", "continue the run saved in PATH up to --steps (image-rows, sentiment, pixels: --epochs) in total (its configuration and task are used, so --task may be left out; a flag that shapes the run, given again, must equal the saved value, else exit 2; --threads, --eval-size apply)"),
        Option("log", "FILE.csv", "every --log-every steps a row: step, the step's loss, the mean loss since the previous row, the same for accuracy, grad norm, examples/s").writes(.file),
        Option("log-every", "N", "steps between log rows (default 10)"),
        quietOption,
        Option("json", nil, "end with one JSON line of results"),
        reportOption,
    ] + sequenceTaskOptions + textTaskOptions + longMemoryOptions + optimizerOptions(default: "rmsprop", lr: "1e-3").filter { $0.name == "beta1" },
    run: runTrain,
    notes: """
    defaults by task (a flag given overrides its default):
      palindrome  rnn, rmsprop lr 1e-3, hidden 128, batch 128, clip 10, 10000 steps, dropout 0, length 10
      image-rows  lstm, adam lr 2e-3, hidden 64, batch 32, clip 10, 30 epochs, data digits
      sentiment   lstm, adam lr 1e-2, hidden 10, batch 64, clip off, 5 epochs, dropout 0.5, embedding 100,
                  vocab 25000, max-length 400, data: the built-in synthetic corpus
      text        lstm, 2 layers, adam lr 2e-3, hidden 256, batch 32, length 100, clip 5, 1000 steps, one-hot input,
                  validation 0.1, data: the built-in Shakespeare tragedies
      adding      lstm, adam lr 1e-3, hidden 128, batch 64, clip 1, 2000 steps, length 100 (baseline MSE 1/6)
      copy        lstm, adam lr 1e-3, hidden 128, batch 64, clip 1, 2000 steps, length (delay) 100 (baseline 10 log 8/(T+20))
      pixels      lstm, adam lr 1e-3, hidden 128, batch 64, clip 1, 10 epochs, data digits (T = 64; 784 for 28×28)
    """
)

func trainConfig(from a: Arguments) throws -> TrainConfig {
    var c = TrainConfig()
    c.model = try a.choice("model", PalindromeTrainer.models, default: "rnn")
    c.layers = try a.int("layers", default: 1, min: 1, max: 64)
    c.bidirectional = a.flag("bidirectional")
    c.dropout = try a.double("dropout", default: 0, nonNegative: true)
    guard c.dropout < 1 else { throw BPTTError.usage("--dropout: \(c.dropout) must be below 1") }
    c.forgetBiasOne = a.flag("forget-bias-one")
    c.task = "palindrome"
    c.length = try a.int("length", default: 10, min: 1, max: 100_000)
    c.steps = try a.int("steps", default: 10_000, min: 1)
    c.batch = try a.int("batch", default: 128, min: 1, max: 1_000_000)
    c.hidden = try a.int("hidden", default: 128, min: 1, max: 100_000)
    let kind = OptimizerKind(rawValue: try a.choice("optim", OptimizerKind.allCases.map(\.rawValue), default: "rmsprop"))!
    c.optimizer = OptimizerConfig(kind: kind, lr: try a.double("lr", default: 1e-3, positive: true))
    if c.forgetBiasOne && c.model != "lstm" && !a.has("resume") { throw BPTTError.usage("--forget-bias-one sets the LSTM's b_f; --model \(c.model) has none") }
    c.optimizer.beta1 = try a.double("beta1", default: 0.9, nonNegative: true)
    guard c.optimizer.beta1 < 1 else { throw BPTTError.usage("--beta1: must be below 1") }
    c.optimizer.momentum = try a.double("momentum", default: 0.9, nonNegative: true)
    c.optimizer.weightDecay = try a.double("weight-decay", default: 0, nonNegative: true)
    try checkOptimizerFlags(a, kind)
    let clip = try a.double("clip", default: 10, nonNegative: true)
    c.clip = clip > 0 ? clip : nil
    c.truncation = try a.int("truncate", default: 0, min: 0)
    (c.initializer, c.recurrentInit, c.chronoTMax) = try initChoice(a)
    c.seed = try a.seed()
    c.threads = try a.int("threads", default: 2, min: 1, max: 64)
    c.evalSize = try a.int("eval-size", default: 1000, min: 1, max: 1_000_000)
    return c
}

/// Flags that define a palindrome run: given again on --resume, they must equal the checkpoint's
/// value (else exit 2 naming both). --steps, --threads, --eval-size, --log*, --save* and --json apply.
let modelDefiningFlags: [(flag: String, value: (TrainConfig) -> String)] = [
    ("model", { $0.model }), ("layers", { String($0.layers) }), ("bidirectional", { String($0.bidirectional) }),
    ("hidden", { String($0.hidden) }), ("length", { String($0.length) }), ("batch", { String($0.batch) }),
    ("dropout", { String($0.dropout) }), ("forget-bias-one", { String($0.forgetBiasOne) }),
    ("clip", { String($0.clip ?? 0) }), ("truncate", { String($0.truncation) }), ("init", { initName($0.initializer, $0.recurrentInit) }),
    ("chrono-tmax", { String($0.chronoTMax ?? 0) }),
    ("seed", { String($0.seed) }),
] + lifted(\TrainConfig.optimizer)

func runTrain(_ a: inout Arguments) throws -> Int32 {
    let tasks = ["palindrome", "image-rows", "sentiment", "text"] + LongMemoryTrainer.tasks + ["pixels"]
    // --resume without --task: the task the checkpoint was trained on
    var savedTask = "palindrome"
    if !a.has("task"), let path = a.string("resume") {
        let c = try Checkpoint.read(from: path)
        if tasks.contains(c.model) { savedTask = c.model }
    }
    let task = try a.choice("task", tasks, default: savedTask)
    if task == "text" { return try runTextTask(&a) }
    for flag in textTaskOptions.map(\.name) where a.has(flag) { throw BPTTError.usage("--\(flag) applies to --task text, not \(task)") }
    if LongMemoryTrainer.tasks.contains(task) { return try runLongMemoryTask(&a, task: task) }
    if task != "palindrome" && a.has("report") { throw BPTTError.usage("--report applies to --task palindrome, adding and copy") }
    if task != "palindrome" && a.has("init-from") { throw BPTTError.usage("--init-from applies to --task palindrome") }
    if task != "palindrome" { return try runSequenceTask(&a, task: task) }
    if a.has("permute") { throw BPTTError.usage("--permute applies to --task pixels, not palindrome") }
    for flag in sequenceTaskOptions.map(\.name) where a.has(flag) && flag != "out" {
        throw BPTTError.usage("--\(flag) applies to --task image-rows|sentiment|pixels, not palindrome")
    }
    var config = try trainConfig(from: a)
    let logEvery = try a.int("log-every", default: 10, min: 1)
    if a.has("log-every") && !a.has("log") && !a.has("out") { throw BPTTError.usage("--log-every: sets how often --log and --out write a row, and neither is given") }
    let ck = try CheckpointFlags(a)
    let json = a.flag("json"), quiet = a.flag("quiet")
    let trainer: PalindromeTrainer
    if ck.resume != nil && a.has("init-from") { throw BPTTError.usage("--init-from starts a new run; --resume continues one with its own weights") }
    if let c = try ck.checkpoint(), let path = ck.resume {
        let given = config
        trainer = try PalindromeTrainer(resuming: c, steps: config.steps, source: path) { saved in
            saved.threads = given.threads
            if a.has("eval-size") { saved.evalSize = given.evalSize }
        }
        try checkResumeFlags(a, given: config, saved: trainer.config, source: path, modelDefiningFlags)
        guard trainer.step <= config.steps else {
            throw BPTTError.usage("--steps \(config.steps) is below the checkpoint's step \(trainer.step) (\(path))")
        }
        config = trainer.config
    } else {
        trainer = try PalindromeTrainer(config)
        if let path = a.string("init-from") { try initFrom(path, trainer) }
    }
    warnDropoutWithoutLevels(config.dropout, layers: config.layers)
    Interrupt.install()
    // --log and --out's curves.csv hold the same rows: each the step's own loss and accuracy and
    // their means over the steps since the previous row
    let header = ["step", "step_loss", "mean_loss_since_previous_row", "step_accuracy", "mean_accuracy_since_previous_row", "grad_norm", "examples_per_s"]
    var log: CSVWriter? = nil
    if let path = a.string("log") { log = try CSVWriter(path: path, header: header) }
    let out = a.string("out")
    if let out { try makeOutputFolder(out) }
    var rows: [[String]] = []
    var rowPoints: [(step: Double, loss: Double, meanLoss: Double, accuracy: Double, meanAccuracy: Double)] = []
    var (lossSum, accuracySum, stepsSinceRow) = (0.0, 0.0, 0)
    if !quiet {
        print("training \(config.model) on \(config.task) T=\(config.length): \(config.steps) steps, batch \(config.batch), hidden \(config.hidden), \(config.optimizer.kind.rawValue) lr \(config.optimizer.lr), \(trainer.parameterCount) parameters")
        if let path = ck.resume {
            print("resumed from \(path) at step \(trainer.step), its configuration; threads \(config.threads), eval size \(config.evalSize)")
        }
    }
    let start = Date()
    var last = StepStats(step: 0, loss: .nan, accuracy: .nan, gradNorm: .nan)
    let firstStep = trainer.step
    var curve: [StepStats] = []   // for --report
    // a live bar on a terminal, plain lines (at most one a second) otherwise
    let progress = Progress(total: config.steps, label: "step", offset: firstStep, quiet: quiet)
    while trainer.step < config.steps {
        last = trainer.trainStep()
        if a.has("report") { curve.append(last) }
        if let bad = last.nonFinite {
            progress.finish()
            try log?.close()
            throw BPTTError.nonFinite("step \(last.step): \(bad) became NaN or infinite; stopped without applying it" + ck.checkpointNote)
        }
        if ck.every > 0 && last.step % ck.every == 0 { try ck.write(trainer.checkpoint(), at: "step \(last.step)") }
        if try ck.interrupted(at: "step \(last.step)", progress: progress, trainer.checkpoint()) {
            try log?.close()
            return 130
        }
        let elapsed = Date().timeIntervalSince(start)
        let rate = Double((last.step - firstStep) * config.batch) / max(elapsed, 1e-9)
        lossSum += last.loss
        accuracySum += last.accuracy
        stepsSinceRow += 1
        if (log != nil || out != nil) && (last.step % logEvery == 0 || last.step == config.steps) {
            let meanLoss = lossSum / Double(stepsSinceRow), meanAccuracy = accuracySum / Double(stepsSinceRow)
            let row = [String(last.step), fmt(last.loss), fmt(meanLoss), fmt(last.accuracy), fmt(meanAccuracy), fmt(last.gradNorm), String(format: "%.0f", rate)]
            try log?.write(row)
            if out != nil {
                rows.append(row)
                rowPoints.append((Double(last.step), last.loss, meanLoss, last.accuracy, meanAccuracy))
            }
            (lossSum, accuracySum, stepsSinceRow) = (0, 0, 0)
        }
        progress.update(last.step, String(format: "loss %.4f  accuracy %.3f  grad-norm %.3g  %.0f examples/s",
                                          last.loss, last.accuracy, last.gradNorm, rate))
    }
    let seconds = Date().timeIntervalSince(start)
    try log?.close()
    try ck.write(trainer.checkpoint())
    let eval = trainer.evaluate()
    let rate = Double((trainer.step - firstStep) * config.batch) / max(seconds, 1e-9)
    print(String(format: "eval accuracy %.4f on %d fresh palindromes (loss %.4f); %.1f s, %.0f examples/s",
                 eval.accuracy, config.evalSize, eval.loss, seconds, rate))
    if let out {
        let csv = try CSVWriter(path: out + "/curves.csv", header: header)
        for row in rows { try csv.write(row) }
        try csv.close()
        try writeCurves(out + "/curves.svg", title: "\(config.model) on palindromes T=\(config.length)", x: "step", integerX: false,
                        loss: [("mean loss since the previous point", rowPoints.map { ($0.step, $0.meanLoss) }),
                               ("the step's own loss", rowPoints.map { ($0.step, $0.loss) })],
                        accuracy: [("mean accuracy since the previous point", rowPoints.map { ($0.step, $0.meanAccuracy) }),
                                   ("the step's own accuracy", rowPoints.map { ($0.step, $0.accuracy) })])
        print("wrote \(out)/curves.csv and \(out)/curves.svg")
    }
    try writeReport(a.string("report")) {
        .train(config: config, curve: curve, eval: eval, seconds: seconds, examplesPerSecond: rate,
               parameters: trainer.parameterCount, gradientNormsPerTimeStep: trainer.gradientNorms(batch: config.batch))
    }
    if json {
        print(JSON.object([
            ("model", .string(config.model)), ("layers", .int(config.layers)), ("bidirectional", .bool(config.bidirectional)), ("task", .string(config.task)), ("length", .int(config.length)),
            ("steps", .int(config.steps)), ("batch", .int(config.batch)), ("hidden", .int(config.hidden)),
            ("optimizer", .string(config.optimizer.kind.rawValue)), ("lr", .number(config.optimizer.lr)),
            ("seed", .int(Int(truncatingIfNeeded: config.seed))),
            ("final_loss", .number(last.loss)), ("final_accuracy", .number(last.accuracy)),
            ("eval_accuracy", .number(eval.accuracy)), ("eval_loss", .number(eval.loss)),
            ("examples_per_s", .number(rate.rounded())), ("seconds", .number((seconds * 1000).rounded() / 1000)),
        ]).serialized())
    }
    return 0
}

func fmt(_ x: Double) -> String { String(format: "%.6g", x) }
