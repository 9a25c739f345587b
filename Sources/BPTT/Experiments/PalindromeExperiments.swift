import Foundation

/// The palindrome experiments: the length sweep (vanilla RNN against LSTM and GRU at each length,
/// SweepRun.swift), the curriculum (one LSTM trained on longer and longer palindromes, below) and
/// the gradient-flow comparison (GradflowRun.swift). Each is resumable
/// step by step, returns its numbers and writes CSV and SVG files.
public enum Experiments {
    /// "5-10" → 5…10, "10-150:10" → 10, 20, …, 150, "5,8,10" → those.
    public static func parseLengths(_ s: String) throws -> [Int] {
        let bad = BPTTError.usage("--lengths: '\(s)' is not a list (5,8,10) or range (5-10 or 10-150:10) of lengths ≥ 1")
        let (maxLength, maxLengths) = (100_000, 10_000)
        let tooMany = BPTTError.usage("--lengths: '\(s)' asks for lengths above \(maxLength) or more than \(maxLengths) of them")
        if s.contains("-") {
            let parts = s.split(separator: ":")
            let ends = parts[0].split(separator: "-", omittingEmptySubsequences: false).map { Int($0) }
            let step = parts.count > 1 ? Int(parts[1]) : 1
            guard ends.count == 2, let lo = ends[0], let hi = ends[1], let step, step > 0, lo >= 1, hi >= lo, parts.count <= 2 else { throw bad }
            guard hi <= maxLength, (hi - lo) / step < maxLengths else { throw tooMany }
            return Array(stride(from: lo, through: hi, by: step))
        }
        let v = s.split(separator: ",", omittingEmptySubsequences: false).map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !v.isEmpty, v.allSatisfy({ ($0 ?? 0) >= 1 }) else { throw bad }
        guard v.allSatisfy({ $0! <= maxLength }), v.count <= maxLengths else { throw tooMany }
        if let twice = v.enumerated().first(where: { v[..<$0.offset].contains($0.element) }) {
            throw BPTTError.usage("--lengths: \(twice.element!) is listed twice (each length runs once)")
        }
        return v.map { $0! }
    }

    /// Peak resident memory of this process so far, in MiB (getrusage: kilobytes on Linux).
    public static func peakMemoryMiB() -> Double {
        var u = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &u)
        return Double(u.ru_maxrss) / 1024
    }

    // MARK: curriculum

    public struct CurriculumStage: Sendable, Codable, Equatable {
        public var length: Int
        public var steps: Int
        public var evalAccuracy: Double
        public var reached: Bool
        public var seconds: Double = 0          // not saved in checkpoints (timings)
        public var peakMemoryMiB: Double = 0    // not saved in checkpoints
        enum CodingKeys: String, CodingKey { case length, steps, evalAccuracy, reached }
        public static func == (a: Self, b: Self) -> Bool {
            a.length == b.length && a.steps == b.steps && a.evalAccuracy == b.evalAccuracy && a.reached == b.reached
        }
    }

    /// Writes curriculum.csv and the two SVG charts.
    public static func writeCurriculum(_ stages: [CurriculumStage], model: String, outDir: String) throws {
        try createFolder(outDir)
        let csv = try CSVWriter(path: outDir + "/curriculum.csv", header: ["length", "steps", "eval_accuracy", "reached", "seconds", "peak_memory_mib"])
        for s in stages { try csv.write([String(s.length), String(s.steps), fmt6(s.evalAccuracy), String(s.reached), String(format: "%.2f", s.seconds), String(format: "%.1f", s.peakMemoryMiB)]) }
        try csv.close()
        var chart = SVGChart(title: "Curriculum (\(model)): eval accuracy per length", xLabel: "length T", yLabel: "eval accuracy")
        chart.yRange = 0...1
        chart.markers = true
        chart.series = [.init(name: model, points: stages.map { (Double($0.length), $0.evalAccuracy) })]
        try chart.write(to: outDir + "/curriculum_accuracy.svg")
        var stepsChart = SVGChart(title: "Curriculum (\(model)): steps spent per length", xLabel: "length T", yLabel: "steps")
        stepsChart.markers = true
        stepsChart.series = [.init(name: model, points: stages.map { (Double($0.length), Double($0.steps)) })]
        try stepsChart.write(to: outDir + "/curriculum_steps.svg")
    }

    static func fmt6(_ x: Double) -> String { String(format: "%.6g", x) }
}

/// The curriculum, one step at a time: one model trained on each length in turn (weights
/// carried over), until its eval accuracy reaches `target` or `maxSteps` steps at that length;
/// then the next length. Resumable between any two steps.
public final class CurriculumRun {
    public struct Settings: Sendable, Codable, Equatable {
        public var lengths: [Int]
        public var maxSteps: Int
        public var evalEvery: Int
        public var evalSize: Int
        public var target: Double
        public var stopOnFailure: Bool
        public init(lengths: [Int], maxSteps: Int, evalEvery: Int, evalSize: Int, target: Double, stopOnFailure: Bool) {
            self.lengths = lengths
            self.maxSteps = maxSteps
            self.evalEvery = evalEvery
            self.evalSize = evalSize
            self.target = target
            self.stopOnFailure = stopOnFailure
        }
    }

    /// What a checkpoint's configuration holds: the training configuration, the settings, where
    /// the curriculum stands and the stages finished so far.
    struct Saved: Codable, Equatable {
        var train: TrainConfig
        var settings: Settings
        var stage: Int
        var stepsInStage: Int
        var accuracy: Double
        var done: Bool
        var stages: [Experiments.CurriculumStage]
    }

    public static let model = "curriculum"
    public let base: TrainConfig
    public let settings: Settings
    public let trainer: PalindromeTrainer
    /// Index of the current length in `settings.lengths`, steps spent on it, its last eval accuracy.
    public private(set) var stage = 0
    public private(set) var stepsInStage = 0
    public private(set) var accuracy = 0.0
    /// True once every length is done (or one missed the target with `stopOnFailure`).
    public private(set) var done = false
    public private(set) var stages: [Experiments.CurriculumStage] = []
    private var stageStart = Date()

    public init(base: TrainConfig, settings: Settings) throws {
        guard !settings.lengths.isEmpty, settings.maxSteps >= 1, settings.evalEvery >= 1, settings.evalSize >= 1 else {
            throw BPTTError.usage("curriculum: needs at least one length and positive step counts")
        }
        var c = base
        c.length = settings.lengths[0]
        self.base = c
        self.settings = settings
        trainer = try PalindromeTrainer(c)
    }

    public var step: Int { trainer.step }
    public var length: Int { settings.lengths[min(stage, settings.lengths.count - 1)] }

    /// One step at the current length; evaluates every `evalEvery` steps (and at the budget's end).
    /// Returns the step's statistics and, when this step finished a length, its stage.
    public func trainStep() -> (stats: StepStats, finished: Experiments.CurriculumStage?) {
        require(!done, "curriculum: already done")
        if stepsInStage == 0 { stageStart = Date() }
        trainer.length = length
        let s = trainer.trainStep()
        if s.nonFinite != nil { return (s, nil) }
        stepsInStage += 1
        guard stepsInStage % settings.evalEvery == 0 || stepsInStage == settings.maxSteps else { return (s, nil) }
        accuracy = trainer.evaluate(count: settings.evalSize, seed: 0xC0FFEE ^ UInt64(length)).accuracy
        guard accuracy >= settings.target || stepsInStage == settings.maxSteps else { return (s, nil) }
        let st = Experiments.CurriculumStage(length: length, steps: stepsInStage, evalAccuracy: accuracy, reached: accuracy >= settings.target,
                                             seconds: Date().timeIntervalSince(stageStart), peakMemoryMiB: Experiments.peakMemoryMiB())
        stages.append(st)
        stage += 1
        stepsInStage = 0
        accuracy = 0
        if stage == settings.lengths.count || (!st.reached && settings.stopOnFailure) { done = true }
        return (s, st)
    }

    /// The trainer's checkpoint with the curriculum's position in its configuration.
    public func checkpoint() -> Checkpoint {
        let saved = Saved(train: trainer.config, settings: settings, stage: stage, stepsInStage: stepsInStage, accuracy: accuracy, done: done, stages: stages)
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return experimentCheckpoint(trainer.checkpoint(), model: Self.model, config: String(decoding: try! e.encode(saved), as: UTF8.self))
    }

    /// The settings and training configuration saved in a curriculum checkpoint (refuses other kinds).
    public static func saved(_ c: Checkpoint, source: String) throws -> (base: TrainConfig, settings: Settings) {
        let s = try decode(c, source: source)
        return (s.train, s.settings)
    }

    static func decode(_ c: Checkpoint, source: String) throws -> Saved {
        try decodeExperiment(c, model: model, decoder: JSONDecoder(), source: source) { (s: Saved) in
            !s.settings.lengths.isEmpty && s.stage >= 0 && s.stage <= s.settings.lengths.count
                && s.stepsInStage >= 0 && s.stepsInStage < s.settings.maxSteps
        }
    }

    /// Continues a saved curriculum; the threads may differ (results do not depend on them).
    public convenience init(resuming c: Checkpoint, threads: Int, source: String) throws {
        let s = try Self.decode(c, source: source)
        try self.init(base: s.train.withThreads(threads), settings: s.settings)
        try trainer.restore(c.trainerCheckpoint(s.train), source: source)
        stage = s.stage
        stepsInStage = s.stepsInStage
        accuracy = s.accuracy
        done = s.done
        stages = s.stages
    }
}
