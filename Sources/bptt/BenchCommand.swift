import BPTT
import Foundation

let benchCommand = Command(
    name: "bench",
    summary: "Measure training throughput (examples/s) on the palindrome task after a warm-up; --all, --gemm, --scaling for the whole table.",
    usage: "bench --model rnn|rnn-relu|lstm|gru|gru-cho [--json] [options]  |  bench --all [--save FILE] [--compare BASELINE]  |  bench --mlp  |  bench --gemm  |  bench --scaling",
    options: [
        Option("model", "NAME", "rnn | rnn-relu | lstm | gru | gru-cho (default rnn)"),
        Option("layers", "N", "stacked levels (default 1)"),
        Option("bidirectional", nil, "two directions per level"),
        Option("length", "T", "sequence length (default 10)"),
        Option("batch", "B", "batch size (default 128)"),
        Option("hidden", "H", "hidden units (default 128)"),
        Option("steps", "N", "timed steps (default 300; --all: per cell)"),
        Option("warmup", "N", "untimed steps first (default 30)"),
        Option("threads", "N", "worker threads (default 2)"),
        Option("gemm", nil, "measure our GEMM instead: GFLOP/s on the shapes the cells use and on 1024², beside the machine's peak"),
        Option("all", nil, "every cell, the GAN step (batch 64), the masked-autoencoder step, and the --mlp workloads: examples/s, GFLOP/s, % of the GEMM ceiling"),
        Option("mlp", nil, "only the MLP workloads at 28×28 on random images (no download): autoencoder 784-256-64-256-784, classifier 784-256-128-10, GAN step; batch 64, Adam"),
        Option("load", "DATA", "time loading an image data set (digits, fashion-mnist, a folder): inflating, parsing, splitting; wall and CPU seconds, best of 3"),
        Option("scaling", nil, "LSTM (batch 128) examples/s, per-step throughput (examples × T per second) and peak memory vs T (10, 100, 300, 784) and hidden size (32, 128, 512)"),
        Option("save", "FILE", "with --all: also write the JSON results to FILE (make bench: bench/results.json)").writes(.file),
        Option("compare", "BASELINE", "with --all, or with --results FILE: flag every figure more than 20% below BASELINE's; exit 1 if any"),
        Option("results", "FILE", "with --compare: results to compare (no measuring)"),
        Option("json", nil, "end with one JSON line of results"),
    ],
    run: runBench
)

func runBench(_ a: inout Arguments) throws -> Int32 {
    // one mode per run: the modes are different benchmarks, and a second one would be dropped
    let modes = ["gemm", "scaling", "mlp", "load", "all"].filter { a.given($0) }
    if modes.count > 1 { throw BPTTError.usage("--\(modes[0]) and --\(modes[1]) are different benchmarks; give one per run") }
    if a.has("save") && !a.given("all") { throw BPTTError.usage("--save: bench writes its results file only with --all") }
    if a.flag("gemm") { return try runGEMMBench(a) }
    if a.flag("scaling") { return try runScalingBench(a) }
    if a.flag("mlp") { return try runMLPBenchOnly(a) }
    if let spec = a.string("load") {
        var best = (wall: Double.infinity, cpu: Double.infinity)
        var shown = ""
        for _ in 0..<3 {
            let t0 = Date(), c0 = processCPUSeconds()
            let d: ImageData
            do { d = try ImageData.load(spec) }
            catch let e as BPTTError { throw BPTTError.input(e.description.replacingOccurrences(of: "--data", with: "--load")) }
            best = (min(best.wall, Date().timeIntervalSince(t0)), min(best.cpu, processCPUSeconds() - c0))
            shown = "\(d.source): \(d.train.count) + \(d.test.count) images of \(d.height)×\(d.width)"
        }
        print(String(format: "load %@: %.3f s wall, %.3f s CPU (best of 3; load average %.1f)", shown as NSString, best.wall, best.cpu, loadAverage()))
        return 0
    }
    if a.flag("all") || a.string("results") != nil { return try runAllBench(a) }
    var c = TrainConfig()
    c.model = try a.choice("model", PalindromeTrainer.models, default: "rnn")
    c.layers = try a.int("layers", default: 1, min: 1, max: 64)
    c.bidirectional = a.flag("bidirectional")
    c.length = try a.int("length", default: 10, min: 1, max: 100_000)
    c.batch = try a.int("batch", default: 128, min: 1, max: 1_000_000)
    c.hidden = try a.int("hidden", default: 128, min: 1, max: 100_000)
    c.threads = try a.int("threads", default: 2, min: 1, max: 64)
    let steps = try a.int("steps", default: 300, min: 1)
    let warmup = try a.int("warmup", default: 30, min: 0)
    let r = try cellBench(c, steps: steps, warmup: warmup)
    print(String(format: "%@ T=%d B=%d H=%d, %d threads: %.0f examples/s (%d steps in %.2f s; %.1f GFLOP/s; %.0f examples per CPU-second; load %.1f)",
                 c.model as NSString, c.length, c.batch, c.hidden, c.threads, r.rate, steps, r.seconds, r.gflops, r.cpuRate, loadAverage()))
    if a.flag("json") {
        print(JSON.object([
            ("model", .string(c.model)), ("examples_per_s", .number(r.rate.rounded())),
            ("length", .int(c.length)), ("batch", .int(c.batch)), ("hidden", .int(c.hidden)),
            ("threads", .int(c.threads)), ("steps", .int(steps)), ("seconds", .number(r.seconds)),
            ("gflops", .number(r.gflops)), ("examples_per_cpu_s", .number(r.cpuRate.rounded())),
            ("max_rss_bytes", .int(maxResidentBytes())), ("load", .number(loadAverage())),
        ]).serialized())
    }
    return 0
}

struct CellBenchResult { var rate: Double, seconds: Double, gflops: Double, cpuRate: Double }

/// Trains `steps` palindrome steps (RMSprop lr 1e-3, clip 10, the bench's fixed settings) after `warmup`.
func cellBench(_ config: TrainConfig, steps: Int, warmup: Int) throws -> CellBenchResult {
    var c = config
    c.optimizer = OptimizerConfig(kind: .rmsprop, lr: 1e-3)
    c.clip = 10
    let trainer = try PalindromeTrainer(c)
    for _ in 0..<warmup { trainer.trainStep() }
    let start = Date(), cpu0 = processCPUSeconds()
    for _ in 0..<steps { trainer.trainStep() }
    let seconds = Date().timeIntervalSince(start), cpu = processCPUSeconds() - cpu0
    let rate = Double(steps * c.batch) / seconds
    let flops = c.layers == 1 && !c.bidirectional
        ? gemmFlopsPerExample(model: c.model, length: c.length, input: Palindrome.inputSize, hidden: c.hidden, classes: Palindrome.classes) : 0
    return CellBenchResult(rate: rate, seconds: seconds, gflops: rate * flops / 1e9, cpuRate: Double(steps * c.batch) / max(cpu, 1e-9))
}

/// Matrix-product FLOPs of one training example of a one-level cell (forward, BPTT, readout):
/// per step 2·gH(D+H) forward, 2·gH·H for dh_{t−1}, 2·gH(D+H) for the weight gradients
/// (g = 4 LSTM, 3 GRU, 1 RNN); the input gradient is not needed at the first level. These are
/// the model's FLOPs: they include the first step's products with h_0 = 0, which `gemm` skips.
func gemmFlopsPerExample(model: String, length T: Int, input D: Int, hidden H: Int, classes C: Int) -> Double {
    let g = model == "lstm" ? 4.0 : model.hasPrefix("gru") ? 3.0 : 1.0
    let (d, h) = (Double(D), Double(H))
    let perStep = 2 * g * h * (d + h) + 2 * g * h * h + 2 * g * h * (d + h)
    return Double(T) * perStep + 3 * 2 * h * Double(C)
}

/// FLOPs of one MLP pass over one example: Σ 2·in·out (forward), ×3 with both gradients.
func mlpProducts(_ sizes: [Int]) -> (all: Double, first: Double) {
    let all = zip(sizes, sizes.dropFirst()).reduce(0.0) { $0 + Double($1.0 * $1.1) }
    return (all, sizes.count > 1 ? Double(sizes[0] * sizes[1]) : 0)
}

func runAllBench(_ a: Arguments) throws -> Int32 {
    if let resultsFile = a.string("results") {
        guard let baseline = a.string("compare") else { throw BPTTError.usage("--results: give --compare BASELINE too") }
        return try compareBench(results: readJSONFile(resultsFile, flag: "results"), baseline: readJSONFile(baseline, flag: "compare"))
    }
    let threads = try a.int("threads", default: 2, min: 1, max: 64)
    let steps = try a.int("steps", default: 300, min: 1)
    let warmup = try a.int("warmup", default: 30, min: 0)
    let peak = GEMMBenchmark.theoreticalPeak()
    let ceiling = GEMMBenchmark.run(m: 128, n: 512, k: 129, threads: threads)
    let square = GEMMBenchmark.run(m: 1024, n: 1024, k: 1024, threads: threads)
    print("GEMM micro-kernel: \(GEMMKernels.description)")
    let threadPeak = peak.gflops / Double(peak.cores) * Double(min(threads, peak.cores))
    print(String(format: "GEMM (Float32, %d threads): gate shape 128×129·129×512 %.1f GFLOP/s (%.0f%% of peak), 1024² %.1f GFLOP/s (%.0f%%); peak of this machine %.1f GFLOP/s (%d cores × %.2f GHz measured, nominal %.2f, × %d FLOP/cycle)",
                 threads, ceiling.gflops, 100 * ceiling.gflops / threadPeak, square.gflops, 100 * square.gflops / threadPeak, peak.gflops, peak.cores, peak.ghz, peak.nominalGHz, peak.flopsPerCycle))
    print("palindrome T=10, batch 128, hidden 128, RMSprop, clip 10:")
    print("  model      examples/s   GFLOP/s   % of GEMM ceiling   examples/CPU-s")
    var cells: [JSON] = []
    for model in ["rnn", "lstm", "gru"] {
        var c = TrainConfig()
        c.model = model
        c.threads = threads
        let r = try cellBench(c, steps: steps, warmup: warmup)
        print(String(format: "  %-8@ %12.0f %9.1f %12.0f%% %18.0f", model as NSString, r.rate, r.gflops, 100 * r.gflops / ceiling.gflops, r.cpuRate))
        cells.append(.object([("model", .string(model)), ("examples_per_s", .number(r.rate.rounded())), ("gflops", .number(r.gflops)),
                              ("percent_of_gemm_ceiling", .number(100 * r.gflops / ceiling.gflops)),
                              ("examples_per_cpu_s", .number(r.cpuRate.rounded()))]))
    }
    let data = try ImageData.load(nil)
    // GAN step at the default sizes (G 100→256→512→1024→pixels, D mirrored), batch 64 (D every step).
    var g = GANConfig()
    g.threads = threads
    let gan = GANTrainer(g, data: data.train)
    let ganSteps = max(10, steps / 3)
    for _ in 0..<max(1, warmup / 3) { _ = gan.trainStep() }
    let ganStart = Date()
    for _ in 0..<ganSteps { _ = gan.trainStep() }
    let ganSeconds = Date().timeIntervalSince(ganStart)
    let gSizes = [g.latent] + g.generatorHidden + [data.pixels], dSizes = [data.pixels] + g.discriminatorHidden + [1]
    let (gAll, gFirst) = mlpProducts(gSizes), (dAll, dFirst) = mlpProducts(dSizes)
    // G forward; D forward on real, fake, and fake again for G's step; D backward (dW and dx but the first
    // layer's) on real and fake; D's input gradient for G; G backward (dW, dx but the first layer's).
    let ganFlops = 2 * Double(g.batch) * (3 * gAll - gFirst + 6 * dAll - 2 * dFirst)
    let stepsPerSecond = Double(ganSteps) / ganSeconds
    print(String(format: "GAN step (G %@, D %@, batch %d): %.1f steps/s, %.0f examples/s, %.1f GFLOP/s (%.0f%% of ceiling); 6000 steps ≈ %.0f s",
                 gSizes.map(String.init).joined(separator: "→") as NSString, dSizes.map(String.init).joined(separator: "→") as NSString,
                 g.batch, stepsPerSecond, stepsPerSecond * Double(g.batch), stepsPerSecond * ganFlops / 1e9,
                 100 * stepsPerSecond * ganFlops / 1e9 / ceiling.gflops, 6000 / stepsPerSecond))
    // Masked-autoencoder step: one epoch of the built-in digits.
    var ae = AutoencoderConfig()
    ae.threads = threads
    let aeTrainer = AutoencoderTrainer(ae, data: data)
    _ = try aeTrainer.trainEpoch()
    let aeStats = try aeTrainer.trainEpoch()
    let (aeAll, aeFirst) = mlpProducts([data.pixels] + ae.hidden + [data.pixels])
    let aeGflops = aeStats.examplesPerSecond * 2 * (3 * aeAll - aeFirst) / 1e9
    print(String(format: "masked autoencoder step (%@, batch %d): %.0f examples/s, %.1f GFLOP/s",
                 ([data.pixels] + ae.hidden + [data.pixels]).map(String.init).joined(separator: "→") as NSString, ae.batch,
                 aeStats.examplesPerSecond, aeGflops))
    let mlp = try mlpBench(threads: threads, steps: steps, warmup: warmup, ceiling: ceiling.gflops)
    let load = loadAverage()
    print(String(format: "load average %.2f (figures from a shared machine are noisy)", load))
    let results = JSON.object([
        ("cells", .array(cells)),
        ("mlp_28x28", mlp),
        ("gemm", .object([("threads", .int(threads)), ("gate_shape_gflops", .number(ceiling.gflops)),
                          ("square_1024_gflops", .number(square.gflops)), ("peak_gflops", .number(peak.gflops)), ("kernel", .string(GEMMKernels.description))])),
        ("gan", .object([("batch", .int(g.batch)), ("steps_per_s", .number(stepsPerSecond)),
                         ("examples_per_s", .number((stepsPerSecond * Double(g.batch)).rounded())),
                         ("gflops", .number(stepsPerSecond * ganFlops / 1e9)), ("seconds_per_6000_steps", .number(6000 / stepsPerSecond))])),
        ("autoencoder", .object([("batch", .int(ae.batch)), ("examples_per_s", .number(aeStats.examplesPerSecond.rounded())),
                                 ("gflops", .number(aeGflops))])),
        ("load", .number(load)),
    ]).serialized()
    if let save = a.string("save") {
        do { try writeFileAtomically(save, results + "\n") }
        catch { throw BPTTError.input("--save: cannot write \(save): \(fileErrorCause(error))") }
    }
    if a.flag("json") { print(results) }
    if let baseline = a.string("compare") {
        let parsed = (try? JSONSerialization.jsonObject(with: Data(results.utf8))) as? [String: Any] ?? [:]
        return try compareBench(results: parsed, baseline: readJSONFile(baseline, flag: "compare"))
    }
    return 0
}

func runMLPBenchOnly(_ a: Arguments) throws -> Int32 {
    let threads = try a.int("threads", default: 2, min: 1, max: 64)
    let steps = try a.int("steps", default: 300, min: 1)
    let warmup = try a.int("warmup", default: 30, min: 0)
    let ceiling = GEMMBenchmark.run(m: 128, n: 512, k: 129, threads: threads)
    print("GEMM micro-kernel: \(GEMMKernels.description)")
    print(String(format: "GEMM ceiling (Float32, %d threads, gate shape 128×129·129×512): %.1f GFLOP/s", threads, ceiling.gflops))
    let mlp = try mlpBench(threads: threads, steps: steps, warmup: warmup, ceiling: ceiling.gflops)
    let load = loadAverage()
    print(String(format: "load average %.2f (figures from a shared machine are noisy)", load))
    if a.flag("json") {
        print(JSON.object([("mlp_28x28", mlp), ("gemm_ceiling_gflops", .number(ceiling.gflops)), ("threads", .int(threads)),
                           ("load", .number(load))]).serialized())
    }
    return 0
}

/// The MLP workloads at 28×28 (Fashion-MNIST's size) on random images, so no download is needed:
/// the masked autoencoder 784-256-64-256-784 and the classifier 784-256-128-10 (dropout 0.2),
/// batch 64, Adam, `steps` training steps each after `warmup`; the GAN step (G 100→256→512→1024→784,
/// D 784→1024→512→256→1, batch 64, D every step), max(10, steps/5) steps after max(1, warmup/5).
/// Wall time of `trainStep()` calls only (the data is made beforehand). One line per workload:
/// examples/s (GAN: steps/s too), GFLOP/s of the matrix products, % of `ceiling`.
func mlpBench(threads: Int, steps: Int, warmup: Int, ceiling: Double) throws -> JSON {
    let data = ImageData.random(count: 8192, height: 28, width: 28)
    let P = data.pixels
    print("MLP workloads, 28×28 random images, batch 64, Adam, \(threads) threads:")
    print("  " + "workload".padding(toLength: 58, withPad: " ", startingAt: 0) + "  steps/s  examples/s   GFLOP/s   % of GEMM ceiling")
    var rows: [(String, JSON)] = []
    func report(_ key: String, _ label: String, stepsPerSecond: Double, batch: Int, flopsPerStep: Double) {
        let gflops = stepsPerSecond * flopsPerStep / 1e9
        print("  " + label.padding(toLength: max(label.count, 58), withPad: " ", startingAt: 0)
              + String(format: " %8.1f %11.0f %9.1f %12.0f%%", stepsPerSecond, stepsPerSecond * Double(batch), gflops, 100 * gflops / ceiling))
        rows.append((key, .object([("steps_per_s", .number(stepsPerSecond)), ("examples_per_s", .number((stepsPerSecond * Double(batch)).rounded())),
                                   ("gflops", .number(gflops)), ("percent_of_gemm_ceiling", .number(100 * gflops / ceiling)),
                                   ("gflop_per_step", .number(flopsPerStep / 1e9))])))
    }
    func timed(_ n: Int, _ warm: Int, _ body: () -> Void) -> Double {
        for _ in 0..<warm { body() }
        let t0 = Date()
        for _ in 0..<n { body() }
        return Double(n) / Date().timeIntervalSince(t0)
    }
    // Masked autoencoder: forward, backward (no input gradient at the first layer), Adam.
    var ae = AutoencoderConfig()
    ae.threads = threads
    let aeTrainer = AutoencoderTrainer(ae, data: data, dataSpec: "random")
    var broken: String? = nil
    let aeRate = timed(steps, warmup) { if let bad = aeTrainer.trainStep().nonFinite { broken = bad } }
    let (aeAll, aeFirst) = mlpProducts([P] + ae.hidden + [P])
    report("autoencoder", "autoencoder " + ([P] + ae.hidden + [P]).map(String.init).joined(separator: "-"),
           stepsPerSecond: aeRate, batch: ae.batch, flopsPerStep: 2 * Double(ae.batch) * (3 * aeAll - aeFirst))
    // Classifier.
    var cl = ClassifierConfig()
    cl.threads = threads
    let clTrainer = ClassifierTrainer(cl, data: data, dataSpec: "random")
    let clRate = timed(steps, warmup) { if let bad = clTrainer.trainStep().nonFinite { broken = bad } }
    let clSizes = [P] + cl.hidden + [data.classes]
    let (clAll, clFirst) = mlpProducts(clSizes)
    report("classifier", "classifier " + clSizes.map(String.init).joined(separator: "-"),
           stepsPerSecond: clRate, batch: cl.batch, flopsPerStep: 2 * Double(cl.batch) * (3 * clAll - clFirst))
    // GAN step (see runAllBench for the FLOP count).
    var g = GANConfig()
    g.threads = threads
    let gan = GANTrainer(g, data: data.train)
    let ganRate = timed(max(10, steps / 5), max(1, warmup / 5)) { if let bad = gan.trainStep().nonFinite { broken = bad } }
    let gSizes = [g.latent] + g.generatorHidden + [P], dSizes = [P] + g.discriminatorHidden + [1]
    let (gAll, gFirst) = mlpProducts(gSizes), (dAll, dFirst) = mlpProducts(dSizes)
    report("gan", "GAN step (G " + gSizes.map(String.init).joined(separator: "-") + ", D " + dSizes.map(String.init).joined(separator: "-") + ")",
           stepsPerSecond: ganRate, batch: g.batch, flopsPerStep: 2 * Double(g.batch) * (3 * gAll - gFirst + 6 * dAll - 2 * dFirst))
    if let bad = broken { throw BPTTError.nonFinite("bench --mlp: \(bad) became NaN or infinite") }
    return .object(rows)
}

/// The figures a regression check compares (higher is better), by name.
func benchFigures(_ r: [String: Any]) -> [(String, Double)] {
    var out: [(String, Double)] = []
    for case let cell as [String: Any] in r["cells"] as? [Any] ?? [] {
        if let m = cell["model"] as? String, let v = (cell["examples_per_s"] as? NSNumber)?.doubleValue { out.append(("\(m) examples/s", v)) }
    }
    if let v = ((r["gemm"] as? [String: Any])?["gate_shape_gflops"] as? NSNumber)?.doubleValue { out.append(("GEMM gate-shape GFLOP/s", v)) }
    if let v = ((r["gan"] as? [String: Any])?["steps_per_s"] as? NSNumber)?.doubleValue { out.append(("GAN steps/s", v)) }
    if let v = ((r["autoencoder"] as? [String: Any])?["examples_per_s"] as? NSNumber)?.doubleValue { out.append(("autoencoder examples/s", v)) }
    let mlp = r["mlp_28x28"] as? [String: Any] ?? [:]
    for (key, name) in [("autoencoder", "autoencoder 28×28 examples/s"), ("classifier", "classifier 28×28 examples/s"), ("gan", "GAN 28×28 examples/s")] {
        if let v = ((mlp[key] as? [String: Any])?["examples_per_s"] as? NSNumber)?.doubleValue { out.append((name, v)) }
    }
    return out
}

/// Flags every figure more than 20% below the baseline's; 1 if any, else 0.
func compareBench(results: [String: Any], baseline: [String: Any]) throws -> Int32 {
    let base = Dictionary(benchFigures(baseline), uniquingKeysWith: { a, _ in a })
    var drops = 0
    print("against the baseline (a drop of more than 20% is flagged):")
    for (name, value) in benchFigures(results) {
        guard let b = base[name], b > 0 else { continue }
        let ratio = value / b
        let flag = ratio < 0.8
        if flag { drops += 1 }
        print(String(format: "  %-26@ %10.1f  baseline %10.1f  ×%.2f%@", name as NSString, value, b, ratio, flag ? "  DROP" : ""))
    }
    print(drops == 0 ? "no regression" : "\(drops) figure(s) dropped by more than 20%")
    return drops == 0 ? 0 : 1
}

func readJSONFile(_ path: String, flag: String) throws -> [String: Any] {
    guard let data = FileManager.default.contents(atPath: path) else { throw BPTTError.input("--\(flag): cannot read \(path)") }
    let text = String(decoding: data, as: UTF8.self)
    // the last JSON line of the file (a saved `bench --all --json` output, or just the JSON)
    for line in text.split(separator: "\n").reversed() where line.hasPrefix("{") {
        if let obj = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] { return obj }
    }
    throw BPTTError.input("--\(flag): \(path) holds no bench results JSON")
}

func runScalingBench(_ a: Arguments) throws -> Int32 {
    let threads = try a.int("threads", default: 2, min: 1, max: 64)
    // (T, H, timed steps, warm-up steps): each runs in its own process so its peak memory is its own
    let configs = [(10, 128, 60, 5), (100, 128, 8, 1), (300, 128, 3, 1), (784, 128, 2, 1), (10, 32, 200, 10), (10, 512, 10, 2)]
    print("LSTM, batch 128, \(threads) threads: examples/s, per-step throughput (examples × T per second) and peak memory (resident set of a separate process)")
    print("      T      H   examples/s   examples×T/s   examples×T per CPU-s   peak MB   bytes per step per example")
    var rows: [JSON] = []
    var byT: [Int: Double] = [:]
    for (T, H, steps, warmup) in configs {
        let out = try runSelf(["bench", "--model", "lstm", "--length", String(T), "--hidden", String(H), "--steps", String(steps),
                               "--warmup", String(warmup), "--threads", String(threads), "--json"])
        guard let line = out.split(separator: "\n").last(where: { $0.hasPrefix("{") }),
              let obj = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any],
              let rate = (obj["examples_per_s"] as? NSNumber)?.doubleValue, let rss = (obj["max_rss_bytes"] as? NSNumber)?.doubleValue,
              let cpuRate = (obj["examples_per_cpu_s"] as? NSNumber)?.doubleValue
        else { throw BPTTError.input("bench --scaling: a child run printed no results") }
        if H == 128 { byT[T] = rss }
        let perStep = rss / Double(T * 128)
        print(String(format: "  %5d  %5d  %11.0f  %13.0f  %21.0f  %8.1f  %10.0f (whole process / (T·B))", T, H, rate, rate * Double(T), cpuRate * Double(T), rss / 1e6, perStep))
        rows.append(.object([("length", .int(T)), ("hidden", .int(H)), ("examples_per_s", .number(rate.rounded())),
                             ("step_examples_per_s", .number((rate * Double(T)).rounded())),
                             ("step_examples_per_cpu_s", .number((cpuRate * Double(T)).rounded())), ("max_rss_bytes", .int(Int(rss)))]))
    }
    var slope: Double? = nil
    if let r100 = byT[100], let r784 = byT[784] {
        slope = (r784 - r100) / Double(684 * 128)
        print(String(format: "memory grows linearly in T: (peak(T=784) − peak(T=100)) / (684 · 128) = %.0f bytes per step per example at H=128", slope!))
    }
    if a.flag("json") {
        print(JSON.object([("scaling", .array(rows)), ("bytes_per_step_per_example", slope.map { .number($0.rounded()) } ?? .null)]).serialized())
    }
    return 0
}

/// Runs this executable with `args`; its standard output.
func runSelf(_ args: [String]) throws -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/proc/self/exe")
    p.arguments = args
    let pipe = Pipe()
    p.standardOutput = pipe
    try p.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    guard p.terminationStatus == 0 else { throw BPTTError.input("bench: child run \(args.joined(separator: " ")) failed (\(p.terminationStatus))") }
    return String(decoding: data, as: UTF8.self)
}

/// Peak resident memory of this process, in bytes.
func maxResidentBytes() -> Int {
    var u = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &u)
    return u.ru_maxrss * 1024
}

func loadAverage() -> Double {
    var l = [Double](repeating: 0, count: 3)
    return getloadavg(&l, 3) > 0 ? l[0] : 0
}

func runGEMMBench(_ a: Arguments) throws -> Int32 {
    let threads = try a.int("threads", default: 2, min: 1, max: 64)
    let shapes = [(64, 128, 128, "RNN step, one shard (64×128·128×128)"),
                  (128, 512, 129, "LSTM gates, batch 128 (128×129·129×512)"),
                  (1024, 1024, 1024, "square 1024²")]
    let peak = GEMMBenchmark.theoreticalPeak()
    var rows: [JSON] = []
    print("GEMM C = A·B (Float32), GFLOP/s; micro-kernel: \(GEMMKernels.description)")
    for (m, n, k, label) in shapes {
        let one = GEMMBenchmark.run(m: m, n: n, k: k, threads: 1)
        let all = GEMMBenchmark.run(m: m, n: n, k: k, threads: threads)
        let perCore = peak.gflops / Double(peak.cores), allPeak = perCore * Double(min(threads, peak.cores))
        print("  " + label.padding(toLength: 42, withPad: " ", startingAt: 0)
              + String(format: " 1 thread %6.1f (%3.0f%%)   %d threads %6.1f (%3.0f%% of peak)", one.gflops, 100 * one.gflops / perCore, threads, all.gflops, 100 * all.gflops / allPeak))
        rows.append(.object([("m", .int(m)), ("n", .int(n)), ("k", .int(k)),
                             ("gflops_1_thread", .number(one.gflops)), ("gflops_all_threads", .number(all.gflops)),
                             ("percent_of_peak_1_thread", .number(100 * one.gflops / perCore)), ("percent_of_peak_all_threads", .number(100 * all.gflops / allPeak))]))
    }
    // The products of training at batch 64 (the MLP workloads) and the text model's batch 32, one
    // product split across the threads as training runs it: forward y = x·Wᵀ, dx = dy·W, dW += dyᵀ·x.
    // The three products of training for one layer (forward y = x·Wᵀ, dx = dy·W, dW += dyᵀ·x), each
    // against the peak of the threads in use: one product split across the threads, as the MLP
    // workloads run them, or one product per thread at once, as the GAN's data-parallel shards do.
    let splitPeak = peak.gflops / Double(peak.cores) * Double(min(threads, peak.cores))
    var split: [JSON] = []
    func layerRow(_ inSize: Int, _ outSize: Int, batch: Int, shards: Bool) {
        let label = "\(inSize)→\(outSize)"
        let forms = [("y = x·Wᵀ", batch, outSize, inSize, false, true, Float(0)), ("dx = dy·W", batch, inSize, outSize, false, false, Float(0)),
                     ("dW += dyᵀ·x", outSize, inSize, batch, true, false, Float(1))]
        var line = "  " + label.padding(toLength: 12, withPad: " ", startingAt: 0)
        for (form, m, n, k, tA, tB, beta) in forms {
            let r = GEMMBenchmark.run(m: m, n: n, k: k, transA: tA, transB: tB, beta: beta, threads: threads, shards: shards)
            line += String(format: "  %@ %6.1f (%3.0f%%)", form as NSString, r.gflops, 100 * r.gflops / splitPeak)
            split.append(.object([("layer", .string(label)), ("batch", .int(batch)), ("per_thread", .bool(shards)), ("form", .string(form)),
                                  ("m", .int(m)), ("n", .int(n)), ("k", .int(k)),
                                  ("gflops", .number(r.gflops)), ("percent_of_peak", .number(100 * r.gflops / splitPeak))]))
        }
        print(line)
    }
    print("every layer of the autoencoder (784-256-64-256-784) and the GAN (G 100-256-512-1024-784, D 784-1024-512-256-1), batch 64, one product split across \(threads) threads:")
    for (i, o) in [(784, 256), (256, 64), (64, 256), (256, 784), (100, 256), (256, 512), (512, 1024), (1024, 784),
                   (784, 1024), (1024, 512), (512, 256), (256, 1)] {
        layerRow(i, o, batch: 64, shards: false)
    }
    print("the GAN's layers, batch 32 per thread, one product per thread at once (its data-parallel shards):")
    for (i, o) in [(100, 256), (256, 512), (512, 1024), (1024, 784), (784, 1024), (1024, 512), (512, 256)] {
        layerRow(i, o, batch: 32, shards: true)
    }
    print(String(format: "  peak of this machine: %.1f GFLOP/s per core, %.1f on %d cores (%.2f GHz measured by an FMA loop, nominal %.2f; × %d FLOP/cycle: %@)",
                 peak.gflops / Double(peak.cores), peak.gflops, peak.cores, peak.ghz, peak.nominalGHz, peak.flopsPerCycle, peak.isa as NSString))
    if a.flag("json") {
        print(JSON.object([("gemm", .array(rows)), ("split", .array(split)), ("threads", .int(threads)), ("peak_gflops", .number(peak.gflops)), ("kernel", .string(GEMMKernels.description)),
                           ("peak_gflops_per_core", .number(peak.gflops / Double(peak.cores)))]).serialized())
    }
    return 0
}
