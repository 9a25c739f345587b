import Foundation

extension Experiments {
    /// One point of a training curve: the mean loss and accuracy over the window ending at `step`.
    public struct CurvePoint: Sendable, Codable, Equatable {
        public var step: Int
        public var loss: Double
        public var accuracy: Double
        public init(step: Int, loss: Double, accuracy: Double) { self.step = step; self.loss = loss; self.accuracy = accuracy }
    }

    public struct SweepResult: Sendable, Codable, Equatable {
        public var model: String
        public var length: Int
        public var evalAccuracy: Double
        public var finalLoss: Double
        public var seconds: Double = 0          // not saved in checkpoints (timings)
        public var curve: [CurvePoint]
        enum CodingKeys: String, CodingKey { case model, length, evalAccuracy, finalLoss, curve }
        public static func == (a: Self, b: Self) -> Bool {
            a.model == b.model && a.length == b.length && a.evalAccuracy.bitPattern == b.evalAccuracy.bitPattern
                && a.finalLoss.bitPattern == b.finalLoss.bitPattern && a.curve == b.curve
        }
    }

    /// Writes sweep_curves.csv, sweep_summary.csv, the eval-accuracy chart and one curve chart per
    /// length, for the runs in `results` (a stopped sweep: the finished ones).
    public static func writeSweep(_ results: [SweepResult], models: [String], lengths: [Int], steps: Int, logEvery: Int, outDir: String) throws {
        try createFolder(outDir)
        let curves = try CSVWriter(path: outDir + "/sweep_curves.csv", header: ["model", "length", "step", "mean_loss_since_previous_row", "mean_accuracy_since_previous_row"])
        for r in results {
            for p in r.curve { try curves.write([r.model, String(r.length), String(p.step), fmt6(p.loss), fmt6(p.accuracy)]) }
        }
        try curves.close()
        let summary = try CSVWriter(path: outDir + "/sweep_summary.csv", header: ["model", "length", "eval_accuracy", "final_loss", "seconds"])
        for r in results { try summary.write([r.model, String(r.length), fmt6(r.evalAccuracy), fmt6(r.finalLoss), String(format: "%.2f", r.seconds)]) }
        try summary.close()
        var evalChart = SVGChart(title: "Palindromes: eval accuracy after \(steps) steps", xLabel: "length T", yLabel: "eval accuracy")
        evalChart.yRange = 0...1
        evalChart.markers = true
        for m in models {
            evalChart.series.append(.init(name: m, points: results.filter { $0.model == m }.map { (Double($0.length), $0.evalAccuracy) }))
        }
        try evalChart.write(to: outDir + "/sweep_eval_accuracy.svg")
        for length in lengths {
            var chart = SVGChart(title: "Palindromes T=\(length): training accuracy", xLabel: "step", yLabel: "accuracy (mean over \(logEvery) steps)")
            chart.yRange = 0...1
            for r in results where r.length == length {
                chart.series.append(.init(name: r.model, points: r.curve.map { (Double($0.step), $0.accuracy) }))
            }
            try chart.write(to: outDir + "/sweep_T\(length).svg")
        }
    }
}

/// The length sweep, one step at a time: every model at every length (lengths outer, models
/// inner), each run from scratch for `base.steps` steps, its training curve logged as window
/// means every `logEvery` steps, then evaluated. Resumable between any two steps: a checkpoint
/// holds the finished runs' results and the run in progress (its trainer's state and curve).
public final class SweepRun {
    public struct Settings: Sendable, Codable, Equatable {
        public var models: [String]
        public var lengths: [Int]
        public var logEvery: Int
        public init(models: [String], lengths: [Int], logEvery: Int) {
            self.models = models
            self.lengths = lengths
            self.logEvery = logEvery
        }
    }

    /// Sums over the curve's current window.
    struct Window: Codable, Equatable {
        var loss = 0.0
        var accuracy = 0.0
        var count = 0
    }

    /// A checkpoint's configuration: settings, finished runs, and the run in progress's curve
    /// and window (its parameters, optimiser state and streams are the checkpoint's tensors).
    struct Saved: Codable, Equatable {
        var train: TrainConfig
        var settings: Settings
        var results: [Experiments.SweepResult]
        var inProgress: Bool
        var curve: [Experiments.CurvePoint]
        var window: Window
    }

    public static let model = "sweep"
    public let base: TrainConfig
    public let settings: Settings
    public private(set) var results: [Experiments.SweepResult] = []
    /// The run in progress; nil before its first step (a fresh trainer is its state then).
    private var trainer: PalindromeTrainer?
    private var curve: [Experiments.CurvePoint] = []
    private var window = Window()
    private var runStart = Date()

    public init(base: TrainConfig, settings: Settings) throws {
        guard !settings.models.isEmpty, !settings.lengths.isEmpty, base.steps >= 1, settings.logEvery >= 1 else {
            throw BPTTError.usage("sweep: needs at least one model and length and positive step counts")
        }
        for m in settings.models where !PalindromeTrainer.models.contains(m) {
            throw BPTTError.usage("sweep: unknown model '\(m)' (expected: \(PalindromeTrainer.models.joined(separator: ", ")))")
        }
        self.base = base
        self.settings = settings
    }

    public var runCount: Int { settings.models.count * settings.lengths.count }
    public var done: Bool { results.count == runCount }
    /// The run in progress (or the last one, when done).
    public var current: (model: String, length: Int) {
        let i = min(results.count, runCount - 1)
        return (settings.models[i % settings.models.count], settings.lengths[i / settings.models.count])
    }
    /// Steps of the run in progress.
    public var stepInRun: Int { trainer?.step ?? 0 }
    /// Steps over the whole sweep.
    public var step: Int { results.count * base.steps + stepInRun }
    public var totalSteps: Int { runCount * base.steps }

    /// One step of the run in progress (started if needed); the step that ends a run evaluates
    /// it and returns its result. A non-finite step changes nothing here (the caller stops).
    public func trainStep() throws -> (stats: StepStats, finished: Experiments.SweepResult?) {
        require(!done, "sweep: already done")
        let (model, length) = current
        let trainer = try self.trainer ?? startRun()
        let s = trainer.trainStep()
        if s.nonFinite != nil { return (s, nil) }
        window.loss += s.loss; window.accuracy += s.accuracy; window.count += 1
        if s.step % settings.logEvery == 0 || s.step == base.steps {
            // mean over the window: the curve is smooth without hiding the trend
            let n = Double(window.count)
            curve.append(.init(step: s.step, loss: window.loss / n, accuracy: window.accuracy / n))
            window = Window()
        }
        guard s.step == base.steps else { return (s, nil) }
        let r = Experiments.SweepResult(model: model, length: length, evalAccuracy: trainer.evaluate().accuracy, finalLoss: s.loss,
                                        seconds: Date().timeIntervalSince(runStart), curve: curve)
        results.append(r)
        self.trainer = nil
        curve = []
        return (s, r)
    }

    private func startRun() throws -> PalindromeTrainer {
        var c = base
        (c.model, c.length) = current
        let t = try PalindromeTrainer(c)
        trainer = t
        runStart = Date()
        return t
    }

    /// The run in progress's trainer checkpoint (empty between runs) with the sweep in its configuration.
    public func checkpoint() -> Checkpoint {
        experimentCheckpoint(trainer?.checkpoint(), model: Self.model,
                             config: experimentJSON(Saved(train: base.withoutThreads, settings: settings, results: results, inProgress: trainer != nil, curve: curve, window: window)))
    }

    /// The training configuration and settings saved in a sweep checkpoint (refuses other kinds).
    public static func saved(_ c: Checkpoint, source: String) throws -> (base: TrainConfig, settings: Settings) {
        let s = try decode(c, source: source)
        return (s.train, s.settings)
    }

    static func decode(_ c: Checkpoint, source: String) throws -> Saved {
        try decodeExperiment(c, model: model, source: source) { (s: Saved) in
            !s.settings.models.isEmpty && !s.settings.lengths.isEmpty && s.train.steps >= 1 && s.settings.logEvery >= 1
                && s.results.count <= s.settings.models.count * s.settings.lengths.count
                && s.inProgress == !c.tensors.isEmpty && c.step < s.train.steps && (s.inProgress || c.step == 0)
        }
    }

    /// Continues a saved sweep; the threads may differ (results do not depend on them).
    public convenience init(resuming c: Checkpoint, threads: Int, source: String) throws {
        let s = try Self.decode(c, source: source)
        try self.init(base: s.train.withThreads(threads), settings: s.settings)
        results = s.results
        guard s.inProgress else { return }
        guard !done else { throw BPTTError.input("\(source): the checkpoint's configuration is not a sweep configuration") }
        let t = try startRun()
        try t.restore(c.trainerCheckpoint(t.config), source: source)
        curve = s.curve
        window = s.window
    }
}
