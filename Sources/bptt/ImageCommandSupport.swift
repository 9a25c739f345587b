import BPTT
import Foundation

/// Flags shared by the image commands (autoencoder, classify, gan).
let dataOption = Option("data", "DIR", "a folder of IDX files (raw or .gz), 'digits' (built-in 8×8, default) or 'fashion-mnist'")

let logOption = Option("log", "FILE.csv", "write one CSV row per epoch").writes(.file)

/// The image commands' run flags (after their own, before the optimiser's).
let imageRunOptions = [
    Option("seed", "S", "random seed (default 0)"),
    Option("threads", "N", "worker threads (default 2); results do not depend on it"),
    quietOption,
    Option("json", nil, "end with one JSON line of results"),
]

func optimizerOptions(default kind: String, lr: String) -> [Option] {
    [Option("optim", "NAME", "sgd | momentum | nesterov | adagrad | rmsprop | adam (default \(kind))"),
     Option("lr", "RATE", "learning rate (default \(lr))"),
     Option("beta1", "B1", "Adam β1 (default 0.9)"),
     Option("momentum", "MU", "momentum for momentum/nesterov (default 0.9)"),
     Option("weight-decay", "L2", "L2 penalty added to the gradient (default 0)")]
}

func optimizerConfig(_ a: Arguments, kind: String, lr: Double, beta1: Double = 0.9) throws -> OptimizerConfig {
    let k = OptimizerKind(rawValue: try a.choice("optim", OptimizerKind.allCases.map(\.rawValue), default: kind))!
    var c = OptimizerConfig(kind: k, lr: try a.double("lr", default: lr, positive: true))
    c.beta1 = try a.double("beta1", default: beta1, nonNegative: true)
    guard c.beta1 < 1 else { throw BPTTError.usage("--beta1: must be below 1") }
    c.momentum = try a.double("momentum", default: 0.9, nonNegative: true)
    c.weightDecay = try a.double("weight-decay", default: 0, nonNegative: true)
    try checkOptimizerFlags(a, k)
    return c
}

/// "256,64,256" → [256, 64, 256].
func sizeList(_ a: Arguments, _ name: String, default d: [Int], allowEmpty: Bool = false) throws -> [Int] {
    guard let s = a.string(name) else { return d }
    if allowEmpty && s == "none" { return [] }
    if s.isEmpty { throw BPTTError.usage("--\(name): empty; give comma-separated widths (e.g. 256,64)\(allowEmpty ? " or none for no hidden layer" : "")") }
    let parts = s.split(separator: ",", omittingEmptySubsequences: false).map { Int($0.trimmingCharacters(in: .whitespaces)) }
    guard !parts.isEmpty, parts.allSatisfy({ $0 != nil && $0! >= 1 && $0! <= 100_000 }) else {
        throw BPTTError.usage("--\(name): '\(s)' is not a comma-separated list of positive widths (e.g. 256,64,256)")
    }
    return parts.map { $0! }
}

func makeOutputFolder(_ path: String) throws {
    do { try createFolder(path) } catch { throw BPTTError.input("--out: \(fileErrorCause(error))") }
}

/// The run's trainer: the one saved at --resume (flags given again must agree with it, --epochs
/// counts in total, `c` becomes its configuration) or a new one on --data.
func imageTrainer<Real: ImageTrainer>(_ a: Arguments, _ c: inout Real.Config, _ ck: CheckpointFlags,
                                      fields: [(flag: String, value: (Real.Config) -> String)]) throws -> Real {
    guard let saved = try ck.checkpoint(), let source = ck.resume else {
        let spec = a.string("data") ?? "digits"
        return Real(c, data: try ImageData.load(spec), dataSpec: spec)
    }
    let run = try Real.savedRun(saved, source: source)
    try checkResumeFlags(a, given: c, saved: run.config, source: source, fields)
    let data = try ImageData.load(a.string("data") ?? run.data.spec)
    let trainer = try Real(resuming: saved, data: data, threads: c.threads, source: source)
    try checkTarget("epochs", c.epochs, done: trainer.epoch, source: source)
    let epochs = c.epochs
    c = trainer.config
    c.epochs = epochs
    return trainer
}

/// `--beta1` is Adam's and `--momentum` is momentum's and Nesterov's: given with another optimiser
/// they would change nothing, so they are refused (a resumed run's optimiser is the saved one, and
/// `--resume` compares the flags given with it instead).
func checkOptimizerFlags(_ a: Arguments, _ k: OptimizerKind) throws {
    guard !a.has("resume") else { return }
    if a.has("beta1") && k != .adam { throw BPTTError.usage("--beta1 is Adam's; --optim \(k.rawValue) does not use it") }
    if a.has("momentum") && k != .momentum && k != .nesterov {
        throw BPTTError.usage("--momentum is for --optim momentum or nesterov; --optim \(k.rawValue) does not use it")
    }
}
