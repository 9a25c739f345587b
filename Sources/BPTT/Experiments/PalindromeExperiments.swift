import Foundation

/// The seeds' palindrome experiments: the length sweep (seed 001), the curriculum (seed 003)
/// and the gradient-flow comparison. Each returns its numbers and writes CSV and SVG files.
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
        return v.map { $0! }
    }

    /// Peak resident memory of this process so far, in MiB (getrusage: kilobytes on Linux).
    public static func peakMemoryMiB() -> Double {
        var u = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &u)
        return Double(u.ru_maxrss) / 1024
    }

    // MARK: sweep

    public struct SweepResult: Sendable {
        public var model: String
        public var length: Int
        public var evalAccuracy: Double
        public var finalLoss: Double
        public var seconds: Double
        public var curve: [(step: Int, loss: Double, accuracy: Double)]
    }

    /// Trains every model at every length with the same configuration (`base`; model and length
    /// replaced), logging the training accuracy every `logEvery` steps. `shouldStop` is asked after
    /// every step (Ctrl-C): the sweep then ends early with the runs finished so far (and the files
    /// for them). `onStep(model, length, stats)` reports every step (a progress display).
    public static func sweep(models: [String], lengths: [Int], base: TrainConfig, logEvery: Int, outDir: String,
                             shouldStop: () -> Bool = { false }, onStep: (String, Int, StepStats) -> Void = { _, _, _ in },
                             progress: (String) -> Void) throws -> [SweepResult] {
        try FileManager.default.createDirectory(atPath: outDir, withIntermediateDirectories: true)
        let curves = try CSVWriter(path: outDir + "/sweep_curves.csv", header: ["model", "length", "step", "loss", "accuracy"])
        var results: [SweepResult] = []
        for length in lengths {
            for model in models where !shouldStop() {
                var c = base
                c.model = model
                c.length = length
                let trainer = try PalindromeTrainer(c)
                let start = Date()
                var curve: [(Int, Double, Double)] = []
                var window = (loss: 0.0, acc: 0.0, n: 0)
                var last = StepStats(step: 0, loss: .nan, accuracy: .nan, gradNorm: .nan)
                for _ in 0..<c.steps {
                    last = trainer.trainStep()
                    if let bad = last.nonFinite {
                        throw BPTTError.nonFinite("\(model) T=\(length), step \(last.step): \(bad) became NaN or infinite; stopped")
                    }
                    onStep(model, length, last)
                    if shouldStop() { break }
                    window.loss += last.loss; window.acc += last.accuracy; window.n += 1
                    if last.step % logEvery == 0 || last.step == c.steps {
                        // mean over the window: the curve is smooth without hiding the trend
                        let point = (last.step, window.loss / Double(window.n), window.acc / Double(window.n))
                        curve.append(point)
                        try curves.write([model, String(length), String(point.0), fmt6(point.1), fmt6(point.2)])
                        window = (0, 0, 0)
                    }
                }
                if shouldStop() { break }
                let eval = trainer.evaluate()
                let r = SweepResult(model: model, length: length, evalAccuracy: eval.accuracy, finalLoss: last.loss,
                                    seconds: Date().timeIntervalSince(start), curve: curve)
                results.append(r)
                progress(String(format: "%-8@ T=%-3d eval accuracy %.4f  final loss %.4f  %.1f s",
                                model as NSString, length, r.evalAccuracy, r.finalLoss, r.seconds))
            }
        }
        try curves.close()
        let summary = try CSVWriter(path: outDir + "/sweep_summary.csv", header: ["model", "length", "eval_accuracy", "final_loss", "seconds"])
        for r in results { try summary.write([r.model, String(r.length), fmt6(r.evalAccuracy), fmt6(r.finalLoss), String(format: "%.2f", r.seconds)]) }
        try summary.close()
        var evalChart = SVGChart(title: "Palindromes: eval accuracy after \(base.steps) steps", xLabel: "length T", yLabel: "eval accuracy")
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
        return results
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
        try FileManager.default.createDirectory(atPath: outDir, withIntermediateDirectories: true)
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

    // MARK: gradient flow

    public struct GradientFlow: Sendable {
        public var model: String
        public var atInit: [Double]      // ‖∂L/∂h_t‖, t = 1…T
        public var trained: [Double]
        public var evalAccuracy: Double
    }

    /// ‖∂L/∂h_t‖ for every t on one fixed batch, at initialisation and after `trainSteps` steps.
    public static func gradientFlow(models: [String], base: TrainConfig, trainSteps: Int, outDir: String,
                                    progress: (String) -> Void) throws -> [GradientFlow] {
        try FileManager.default.createDirectory(atPath: outDir, withIntermediateDirectories: true)
        var out: [GradientFlow] = []
        for m in models {
            var c = base
            c.model = m
            let trainer = try PalindromeTrainer(c)
            let initial = trainer.gradientNorms(batch: c.batch)
            let bar = Progress(total: trainSteps, label: "gradflow \(m) T=\(c.length)", quiet: trainSteps == 0)
            for _ in 0..<trainSteps {
                let s = trainer.trainStep()
                if let bad = s.nonFinite { bar.finish(); throw BPTTError.nonFinite("\(m) step \(s.step): \(bad) became NaN or infinite during gradflow training") }
                bar.update(s.step, String(format: "loss %.4f  accuracy %.3f", s.loss, s.accuracy))
            }
            bar.finish()
            let eval = trainSteps > 0 ? trainer.evaluate().accuracy : .nan
            out.append(GradientFlow(model: m, atInit: initial, trained: trainer.gradientNorms(batch: c.batch), evalAccuracy: eval))
            progress(String(format: "%@: ‖∂L/∂h_1‖/‖∂L/∂h_T‖ = %.3g at init, %.3g after %d steps (eval accuracy %.3f)",
                            m as NSString, initial[0] / initial[initial.count - 1],
                            out.last!.trained[0] / out.last!.trained[initial.count - 1], trainSteps, eval))
        }
        let csv = try CSVWriter(path: outDir + "/gradflow.csv", header: ["model", "phase", "t", "grad_norm"])
        for g in out {
            for (t, v) in g.atInit.enumerated() { try csv.write([g.model, "init", String(t + 1), fmt6(v)]) }
            for (t, v) in g.trained.enumerated() { try csv.write([g.model, "trained", String(t + 1), fmt6(v)]) }
        }
        try csv.close()
        for (phase, pick) in [("init", \GradientFlow.atInit), ("trained", \GradientFlow.trained)] {
            var chart = SVGChart(title: "‖∂L/∂h_t‖, T=\(base.length), \(phase == "init" ? "at initialisation" : "after \(trainSteps) steps")",
                                 xLabel: "time step t", yLabel: "‖∂L/∂h_t‖")
            chart.logY = true
            chart.series = out.map { g in .init(name: g.model, points: g[keyPath: pick].enumerated().map { (Double($0.offset + 1), $0.element) }) }
            try chart.write(to: outDir + "/gradflow_\(phase).svg")
        }
        return out
    }

    static func fmt6(_ x: Double) -> String { String(format: "%.6g", x) }
}

/// Seed 003's curriculum, one step at a time: one model trained on each length in turn (weights
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
        precondition(!done, "curriculum: already done")
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
        var c = trainer.checkpoint()
        c.model = Self.model
        let saved = Saved(train: trainer.config, settings: settings, stage: stage, stepsInStage: stepsInStage, accuracy: accuracy, done: done, stages: stages)
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        c.config = String(decoding: try! e.encode(saved), as: UTF8.self)
        return c
    }

    /// The settings and training configuration saved in a curriculum checkpoint (refuses other kinds).
    public static func saved(_ c: Checkpoint, source: String) throws -> (base: TrainConfig, settings: Settings) {
        let s = try decode(c, source: source)
        return (s.train, s.settings)
    }

    static func decode(_ c: Checkpoint, source: String) throws -> Saved {
        guard c.model == model else { throw BPTTError.input("\(source): holds a '\(c.model)' run; this command resumes '\(model)' checkpoints") }
        guard let s = try? JSONDecoder().decode(Saved.self, from: Data(c.config.utf8)),
              !s.settings.lengths.isEmpty, s.stage >= 0, s.stage <= s.settings.lengths.count,
              s.stepsInStage >= 0, s.stepsInStage < s.settings.maxSteps else {
            throw BPTTError.input("\(source): the checkpoint's configuration is not a curriculum configuration")
        }
        return s
    }

    /// Continues a saved curriculum; the threads may differ (results do not depend on them).
    public convenience init(resuming c: Checkpoint, threads: Int, source: String) throws {
        let s = try Self.decode(c, source: source)
        var train = s.train
        train.threads = threads
        try self.init(base: train, settings: s.settings)
        var inner = c
        inner.model = s.train.model
        inner.config = s.train.json
        try trainer.restore(inner, source: source)
        stage = s.stage
        stepsInStage = s.stepsInStage
        accuracy = s.accuracy
        done = s.done
        stages = s.stages
    }
}
