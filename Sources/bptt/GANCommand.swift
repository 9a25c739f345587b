import BPTT
import Foundation

let ganCommand = Command(
    name: "gan",
    summary: "Train an MLP GAN; sample grids at start, middle and end; judge 1,000 samples with a classifier.",
    usage: "gan --steps 6000 [--data DIR] --out DIR [options]        (and: bptt gan interpolate --checkpoint FILE --out DIR)",
    options: [
        Option("steps", "N", "training steps, in total when resuming (default 6000)"),
        Option("batch", "B", "batch size (default 64)"),
        Option("latent", "N", "latent size (default 100)"),
        Option("g-hidden", "N,N,..", "generator hidden widths (default 256,512,1024; none: no hidden layer)"),
        Option("d-hidden", "N,N,..", "discriminator hidden widths (default 1024,512,256; none: no hidden layer)"),
        Option("d-schedule", "WHICH", "always (D every step, default) | seed (D trained with probability e^L_D/(e^L_D+e^L_G); also spelled probabilistic)"),
        dataOption,
        Option("log", "FILE.csv", "write a CSV row every --log-every steps").writes(.file),
        reportOption,
        Option("log-every", "N", "steps between log rows (default 10); a row: step, the step's L_D, their mean since the previous row, the same for L_G, D steps, examples/s"),
        Option("out", "DIR", "write samples_{start,middle,end,judged}.png and generator.ckpt here")
            .writes(.folder(default: nil), files: ["samples_start.png", "samples_middle.png", "samples_end.png", "samples_judged.png", "generator.ckpt"]),
        Option("samples", "N", "samples judged by the classifier (default 1000)"),
        Option("judge-epochs", "N", "epochs of the judging classifier (default: bptt classify's 40, fewer on large data: at most 600,000 images seen, 10 epochs of Fashion-MNIST)"),
        Option("judge-cache", "DIR", "keep trained judges here, keyed by the data's digest, the classifier's settings and this binary (default $BPTT_CACHE/gan-judges, else $XDG_CACHE_HOME/bptt/gan-judges, else ~/.cache/bptt/gan-judges)").writes(.folder(default: nil)),
        Option("no-judge-cache", nil, "train the judge afresh and keep nothing"),
    ] + imageRunOptions + optimizerOptions(default: "adam", lr: "2e-4").map { $0.name == "beta1" ? Option("beta1", "B1", "Adam β1 (default 0.5)") : $0 }
      + checkpointOptions(unit: "steps"),
    run: runGAN
)

func sampleGrid(_ images: Matrix<Float>, height: Int, width: Int, labels: [String]? = nil) -> ImageGrid {
    let n = images.rows, cols = Int(Double(n).squareRoot().rounded(.up))
    var grid = ImageGrid(rows: (n + cols - 1) / cols, cols: cols, tileHeight: height, tileWidth: width,
                         scale: max(1, 32 / max(height, width)), gap: 2, labelled: labels != nil)
    for i in 0..<n { grid.draw(images.row(i), row: i / cols, col: i % cols, label: labels?[i]) }
    return grid
}

/// Flags that define a GAN run: given again on --resume, they must agree.
let ganFields: [(flag: String, value: (GANConfig) -> String)] = [
    ("batch", { String($0.batch) }), ("latent", { String($0.latent) }),
    ("g-hidden", { $0.generatorHidden.map(String.init).joined(separator: ",") }),
    ("d-hidden", { $0.discriminatorHidden.map(String.init).joined(separator: ",") }),
    ("d-schedule", { $0.seedSchedule ? "seed" : "always" }), ("seed", { String($0.seed) }),
] + lifted(\GANConfig.optimizer)

func runGAN(_ a: inout Arguments) throws -> Int32 {
    var c = GANConfig()
    c.steps = try a.int("steps", default: 6000, min: 1, max: 100_000_000)
    c.batch = try a.int("batch", default: 64, min: 1, max: 100_000)
    c.latent = try a.int("latent", default: 100, min: 1, max: 100_000)
    c.generatorHidden = try sizeList(a, "g-hidden", default: c.generatorHidden, allowEmpty: true)
    c.discriminatorHidden = try sizeList(a, "d-hidden", default: c.discriminatorHidden, allowEmpty: true)
    c.seedSchedule = try a.choice("d-schedule", ["always", "seed", "probabilistic"], default: "always") != "always"
    c.optimizer = try optimizerConfig(a, kind: "adam", lr: 2e-4, beta1: 0.5)
    c.seed = try a.seed()
    c.threads = try a.int("threads", default: 2, min: 1, max: 64)
    let nSamples = try a.int("samples", default: 1000, min: 1, max: 1_000_000)
    let judgeEpochsGiven = a.has("judge-epochs") ? try a.int("judge-epochs", default: GANJudge.maxEpochs, min: 1, max: 100_000) : nil
    if a.given("no-judge-cache") && a.has("judge-cache") { throw BPTTError.usage("--no-judge-cache and --judge-cache: give one (keep nothing, or keep judges in DIR)") }
    let judgeCache = a.flag("no-judge-cache") ? nil : (a.string("judge-cache") ?? GANJudge.defaultFolder())
    // --judge-cache is checked before any work with every output; a cache named by $BPTT_CACHE here
    if !a.has("judge-cache"), let dir = judgeCache, let env = ProcessInfo.processInfo.environment["BPTT_CACHE"], !env.isEmpty {
        try checkWritableFolder(dir, flag: "$BPTT_CACHE/gan-judges")
    }
    let logEvery = try a.int("log-every", default: 10, min: 1)
    if a.has("log-every") && !a.has("log") { throw BPTTError.usage("--log-every: sets how often --log writes a row, and no --log is given") }
    let ck = try CheckpointFlags(a)
    let out = a.string("out")
    let json = a.flag("json"), quiet = a.flag("quiet")
    let data: ImageData
    let trainer: GANTrainer
    if let saved = try ck.checkpoint(), let source = ck.resume {
        let run = try GANTrainer.savedRun(saved, source: source)
        try checkResumeFlags(a, given: c, saved: run.config, source: source, ganFields)
        let spec = a.string("data") ?? run.data.spec
        data = try ImageData.load(spec)
        trainer = try GANTrainer(resuming: saved, data: data.train, identity: DataIdentity(data, spec: spec), threads: c.threads, source: source)
        try checkTarget("steps", c.steps, done: trainer.step, source: source)
        let steps = c.steps
        c = trainer.config
        c.steps = steps
    } else {
        let spec = a.string("data") ?? "digits"
        data = try ImageData.load(spec)
        trainer = GANTrainer(c, data: data.train)
        trainer.dataIdentity = DataIdentity(data, spec: spec)
    }
    if let out { try makeOutputFolder(out) }
    // each row: the step's own losses (as on the progress line) and their means since the previous row
    let log = try a.string("log").map { try CSVWriter(path: $0, header: ["step", "step_loss_d", "mean_loss_d_since_previous_row", "step_loss_g",
                                                                          "mean_loss_g_since_previous_row", "d_steps", "examples_per_s"]) }
    var (sumD, sumG, sinceRow) = (0.0, 0.0, 0)
    let (h, w) = (data.height, data.width)
    let progress = Progress(total: c.steps, label: "step", offset: trainer.step, quiet: quiet)
    progress.line("GAN on \(data.source) (\(data.train.count) training images of \(h)×\(w)): G \(([c.latent] + c.generatorHidden + [data.pixels]).map(String.init).joined(separator: "→")), D \(([data.pixels] + c.discriminatorHidden + [1]).map(String.init).joined(separator: "→")), \(c.optimizer.kind.rawValue) lr \(c.optimizer.lr), D schedule \(c.seedSchedule ? "seed" : "always"), \(c.steps) steps of batch \(c.batch)"
                  + (ck.resume.map { ", resumed from \($0) at step \(trainer.step)" } ?? ""))
    let gridSeed = c.seed ^ 0x6A1D
    var grids: [(caption: String, grid: ImageGrid)] = []   // for --report
    func writeGrid(_ name: String) throws {
        guard out != nil || a.has("report") else { return }
        let grid = sampleGrid(trainer.samples(64, seed: gridSeed), height: h, width: w)
        grids.append(("\(name) (after \(trainer.step) steps)", grid))
        if let out { try grid.write(out + "/" + name) }
    }
    if trainer.step == 0 { try writeGrid("samples_start.png") }
    Interrupt.install()
    let start = Date(), cpuStart = processCPUSeconds()
    let firstStep = trainer.step
    var last: GANStepStats? = nil
    var curve: [GANStepStats] = []   // for --report (the steps of this run)
    while trainer.step < c.steps {
        let s = trainer.trainStep()
        if let bad = s.nonFinite {
            progress.finish()
            try log?.close()
            throw ck.nonFinite(bad, at: "step \(s.step)")
        }
        last = s
        if a.has("report") { curve.append(s) }
        if s.step == c.steps / 2 { try writeGrid("samples_middle.png") }
        let elapsed = Date().timeIntervalSince(start)
        let rate = Double((s.step - firstStep) * c.batch) / max(elapsed, 1e-9)
        (sumD, sumG, sinceRow) = (sumD + s.lossD, sumG + s.lossG, sinceRow + 1)
        if let log, s.step % logEvery == 0 || s.step == c.steps {
            try log.write([String(s.step), String(s.lossD), String(sumD / Double(sinceRow)), String(s.lossG), String(sumG / Double(sinceRow)),
                           String(trainer.dSteps), String(format: "%.0f", rate)])
            (sumD, sumG, sinceRow) = (0, 0, 0)
        }
        if ck.every > 0 && s.step % ck.every == 0 { try ck.write(trainer.checkpoint(), at: "step \(s.step)") }
        if try ck.interrupted(at: "step \(s.step)", progress: progress, trainer.checkpoint()) {
            try log?.close()
            return 130
        }
        progress.update(s.step, String(format: "L_D %.4f  L_G %.4f  D trained %d/%d  %.1f steps/s  %.0f examples/s", s.lossD, s.lossG,
                                       trainer.dSteps, s.step, Double(s.step - firstStep) / max(elapsed, 1e-9), rate))
    }
    progress.finish()
    let seconds = Date().timeIntervalSince(start), cpuSeconds = processCPUSeconds() - cpuStart
    let stepsRun = trainer.step - firstStep
    try log?.close()
    try ck.write(trainer.checkpoint())
    try writeGrid("samples_end.png")

    // Judge samples with a classifier trained on the same data (`bptt classify` settings; 40 epochs, fewer on large data),
    // trained once per data set and settings and kept in the judge cache (GANJudge).
    var cc = ClassifierConfig()
    cc.seed = c.seed
    cc.threads = c.threads
    cc.epochs = judgeEpochsGiven ?? GANJudge.defaultEpochs(trainingImages: data.train.count)
    let judged = try GANJudge.judge(data, spec: trainer.dataIdentity.spec, config: cc, folder: judgeCache)
    let judge = judged.judge
    let judgeAccuracy = judge.testAccuracy()
    progress.result(String(format: "judge: %@ in %.1f s", judged.note as NSString, judged.seconds))
    let samples = trainer.samples(nSamples, seed: c.seed ^ 0x5A3B1E)
    let probs = judge.probabilities(samples)
    var histogram = [Int](repeating: 0, count: probs.cols)
    var confident = 0
    var labels: [String] = []
    for r in 0..<probs.rows {
        let row = Array(probs.row(r))
        let k = row.firstIndex(of: row.max()!)!
        histogram[k] += 1
        if row[k] >= 0.9 { confident += 1 }
        if r < 64 { labels.append(row[k] >= 0.9 ? String(k) : "?") }
    }
    let confidentFraction = Double(confident) / Double(nSamples)
    let present = histogram.filter { Double($0) >= 0.01 * Double(nSamples) }.count
    progress.result(String(format: "classifier (test accuracy %.4f) on %d samples: %.1f%% confident (p ≥ 0.9), %d classes present (≥ 1%% of samples); histogram %@",
                         judgeAccuracy, nSamples, 100 * confidentFraction, present, histogram.map(String.init).joined(separator: " ") as NSString))
    progress.result(String(format: "training: %.1f s for %d steps (%.1f steps/s, %.0f examples/s; %.1f s of CPU time on %d thread(s))", seconds, stepsRun,
                         Double(stepsRun) / max(seconds, 1e-9), Double(stepsRun * c.batch) / max(seconds, 1e-9), cpuSeconds, c.threads))
    try writeReport(a.string("report")) {
        .gan(config: c, data: data.source, curve: curve, dSteps: trainer.dSteps, confidentFraction: confidentFraction, classesPresent: present,
             histogram: histogram, judgeAccuracy: judgeAccuracy, seconds: seconds,
             grids: grids + [("samples_judged.png: the classifier's label above each sample (? below confidence 0.9)",
                              sampleGrid(rowsOf(samples, 64), height: h, width: w, labels: labels))])
    }
    var checkpoint: String? = nil
    if let out {
        try sampleGrid(rowsOf(samples, 64), height: h, width: w, labels: labels).write(out + "/samples_judged.png")
        checkpoint = out + "/generator.ckpt"
        try GeneratorCheckpoint.save(checkpoint!, latent: c.latent, sizes: [c.latent] + c.generatorHidden + [data.pixels],
                                     height: h, width: w, slope: 0.2, params: trainer.params.g, step: trainer.step)
        progress.result("wrote \(out)/samples_{start,middle,end,judged}.png and \(checkpoint!)")
    }
    if json {
        print(JSON.object([
            ("command", .string("gan")), ("data", .string(data.source)), ("steps", .int(c.steps)), ("batch", .int(c.batch)),
            ("optimizer", .string(c.optimizer.kind.rawValue)), ("lr", .number(c.optimizer.lr)),
            ("d_schedule", .string(c.seedSchedule ? "seed" : "always")), ("d_steps", .int(trainer.dSteps)),
            ("seed", .int(Int(truncatingIfNeeded: c.seed))),
            ("final_loss_d", .number(last?.lossD ?? .nan)), ("final_loss_g", .number(last?.lossG ?? .nan)),
            ("confident_fraction", .number(confidentFraction)), ("classes_present", .int(present)),
            ("class_histogram", .array(histogram.map { .int($0) })), ("classifier_test_accuracy", .number(judgeAccuracy)),
            ("seconds", .number((seconds * 1000).rounded() / 1000)), ("cpu_seconds", .number((cpuSeconds * 1000).rounded() / 1000)),
            ("steps_per_s", .number((Double(stepsRun) / max(seconds, 1e-9) * 10).rounded() / 10)),
            ("examples_per_s", .number((Double(stepsRun * c.batch) / max(seconds, 1e-9)).rounded())),
            ("checkpoint", checkpoint.map { .string($0) } ?? .null),
            ("judge_seconds", .number((judged.seconds * 1000).rounded() / 1000)), ("judge_cached", .bool(judged.cached)),
        ]).serialized())
    }
    return 0
}

func rowsOf(_ m: Matrix<Float>, _ n: Int) -> Matrix<Float> {
    let k = min(n, m.rows)
    return Matrix(rows: k, cols: m.cols, data: Array(m.data[0..<(k * m.cols)]))
}

let ganInterpolateCommand = Command(
    name: "gan interpolate",
    summary: "Walk between two latent points of a trained generator: a linear and a spherical path, one row each.",
    usage: "gan interpolate --checkpoint DIR/generator.ckpt --out DIR [--steps 10] [--seed S]",
    options: [
        Option("checkpoint", "FILE", "generator.ckpt written by gan --out, or a gan run's --save checkpoint"),
        Option("out", "DIR", "write interpolation.png here (row 1 linear, row 2 spherical)").writes(.folder(default: nil), files: ["interpolation.png"]),
        Option("steps", "N", "images per path, ends included (default 10)"),
        .alias("count", of: "steps", "N"),
        Option("seed", "S", "picks the two latent points (default 0)"),
        Option("json", nil, "end with one JSON line"),
    ],
    run: runGANInterpolate
)

func runGANInterpolate(_ a: inout Arguments) throws -> Int32 {
    guard let ckpt = a.string("checkpoint") else { throw BPTTError.usage("--checkpoint is required") }
    guard let out = a.string("out") else { throw BPTTError.usage("--out DIR is required (interpolation.png is written there)") }
    let n = try a.int("steps", default: 10, min: 2, max: 1000)
    let seed = try a.seed()
    let (gan, p, h, w) = try MLPPredictor.generator(Checkpoint.read(from: ckpt), source: ckpt)
    var rng = RNG(seed: seed)
    let z0 = (0..<gan.latent).map { _ in rng.gaussian() }, z1 = (0..<gan.latent).map { _ in rng.gaussian() }
    let norm = { (v: [Double]) in v.reduce(0) { $0 + $1 * $1 }.squareRoot() }
    let omega = Foundation.acos(max(-1, min(1, zip(z0, z1).reduce(0) { $0 + $1.0 * $1.1 } / (norm(z0) * norm(z1)))))
    var z = Matrix<Float>(rows: 2 * n, cols: gan.latent)
    for i in 0..<n {
        let t = Double(i) / Double(n - 1)
        for j in 0..<gan.latent {
            z[i, j] = Float((1 - t) * z0[j] + t * z1[j])                                   // linear
            let slerp = omega < 1e-6 ? (1 - t) * z0[j] + t * z1[j]
                : (Foundation.sin((1 - t) * omega) * z0[j] + Foundation.sin(t * omega) * z1[j]) / Foundation.sin(omega)
            z[n + i, j] = Float(slerp)                                                     // spherical
        }
    }
    var ws = GAN<Float>.Workspace()
    let images = gan.generate(z, p, workspace: &ws)
    var grid = ImageGrid(rows: 2, cols: n, tileHeight: h, tileWidth: w, scale: max(1, 32 / max(h, w)), gap: 2)
    for i in 0..<(2 * n) { grid.draw(images.row(i), row: i / n, col: i % n) }
    try makeOutputFolder(out)
    let png = out + "/interpolation.png"
    try grid.write(png)
    print("wrote \(png): row 1 linear, row 2 spherical interpolation, \(n) steps (angle between the end points \(String(format: "%.1f", omega * 180 / .pi))°)")
    if a.flag("json") { print(JSON.object([("command", .string("gan interpolate")), ("png", .string(png)), ("steps", .int(n))]).serialized()) }
    return 0
}

/// CPU time used by this process so far (all threads), in seconds: on a shared machine a
/// fairer measure of work than the wall clock.
func processCPUSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}
