import Foundation

/// The seeds' palindrome experiments: the length sweep (seed 001), the curriculum (seed 003)
/// and the gradient-flow comparison. Each returns its numbers and writes CSV and SVG files.
public enum Experiments {
    /// "5-10" → 5…10, "10-150:10" → 10, 20, …, 150, "5,8,10" → those.
    public static func parseLengths(_ s: String) throws -> [Int] {
        let bad = BPTTError.usage("--lengths: '\(s)' is not a list (5,8,10) or range (5-10 or 10-150:10)")
        if s.contains("-") {
            let parts = s.split(separator: ":")
            let ends = parts[0].split(separator: "-").compactMap { Int($0) }
            let step = parts.count > 1 ? Int(parts[1]) : 1
            guard ends.count == 2, let step, step > 0, ends[0] >= 1, ends[1] >= ends[0], parts.count <= 2 else { throw bad }
            return Array(stride(from: ends[0], through: ends[1], by: step))
        }
        let v = s.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !v.isEmpty, v.allSatisfy({ ($0 ?? 0) >= 1 }) else { throw bad }
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
    /// replaced), logging the training accuracy every `logEvery` steps.
    public static func sweep(models: [String], lengths: [Int], base: TrainConfig, logEvery: Int, outDir: String,
                             progress: (String) -> Void) throws -> [SweepResult] {
        try FileManager.default.createDirectory(atPath: outDir, withIntermediateDirectories: true)
        let curves = try CSVWriter(path: outDir + "/sweep_curves.csv", header: ["model", "length", "step", "loss", "accuracy"])
        var results: [SweepResult] = []
        for length in lengths {
            for model in models {
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
                    guard last.loss.isFinite else { throw BPTTError.nonFinite("\(model) T=\(length) diverged at step \(last.step)") }
                    window.loss += last.loss; window.acc += last.accuracy; window.n += 1
                    if last.step % logEvery == 0 || last.step == c.steps {
                        // mean over the window: the curve is smooth without hiding the trend
                        let point = (last.step, window.loss / Double(window.n), window.acc / Double(window.n))
                        curve.append(point)
                        try curves.write([model, String(length), String(point.0), fmt6(point.1), fmt6(point.2)])
                        window = (0, 0, 0)
                    }
                }
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

    public struct CurriculumStage: Sendable {
        public var length: Int
        public var steps: Int
        public var evalAccuracy: Double
        public var reached: Bool
        public var seconds: Double
        public var peakMemoryMiB: Double
    }

    /// One model trained on each length in turn (weights carried over), until its eval accuracy
    /// reaches `target` or `maxSteps` steps at that length; then the next length.
    public static func curriculum(base: TrainConfig, lengths: [Int], maxSteps: Int, evalEvery: Int, evalSize: Int,
                                  target: Double, stopOnFailure: Bool, outDir: String,
                                  progress: (String) -> Void) throws -> [CurriculumStage] {
        try FileManager.default.createDirectory(atPath: outDir, withIntermediateDirectories: true)
        var c = base
        c.length = lengths[0]
        let trainer = try PalindromeTrainer(c)
        var stages: [CurriculumStage] = []
        for length in lengths {
            trainer.length = length
            let start = Date()
            var steps = 0, acc = 0.0
            while steps < maxSteps {
                for _ in 0..<min(evalEvery, maxSteps - steps) {
                    let s = trainer.trainStep()
                    guard s.loss.isFinite else { throw BPTTError.nonFinite("curriculum diverged at T=\(length)") }
                    steps += 1
                }
                acc = trainer.evaluate(count: evalSize, seed: 0xC0FFEE ^ UInt64(length)).accuracy
                if acc >= target { break }
            }
            let stage = CurriculumStage(length: length, steps: steps, evalAccuracy: acc, reached: acc >= target,
                                        seconds: Date().timeIntervalSince(start), peakMemoryMiB: peakMemoryMiB())
            stages.append(stage)
            progress(String(format: "T=%-4d %5d steps  eval accuracy %.4f  %@  %.1f s  peak memory %.0f MiB",
                            length, steps, acc, (stage.reached ? "reached" : "NOT reached") as NSString, stage.seconds, stage.peakMemoryMiB))
            if !stage.reached && stopOnFailure { break }
        }
        let csv = try CSVWriter(path: outDir + "/curriculum.csv", header: ["length", "steps", "eval_accuracy", "reached", "seconds", "peak_memory_mib"])
        for s in stages { try csv.write([String(s.length), String(s.steps), fmt6(s.evalAccuracy), String(s.reached), String(format: "%.2f", s.seconds), String(format: "%.1f", s.peakMemoryMiB)]) }
        try csv.close()
        var chart = SVGChart(title: "Curriculum (\(base.model)): eval accuracy per length", xLabel: "length T", yLabel: "eval accuracy")
        chart.yRange = 0...1
        chart.markers = true
        chart.series = [.init(name: base.model, points: stages.map { (Double($0.length), $0.evalAccuracy) })]
        try chart.write(to: outDir + "/curriculum_accuracy.svg")
        var stepsChart = SVGChart(title: "Curriculum (\(base.model)): steps spent per length", xLabel: "length T", yLabel: "steps")
        stepsChart.markers = true
        stepsChart.series = [.init(name: base.model, points: stages.map { (Double($0.length), Double($0.steps)) })]
        try stepsChart.write(to: outDir + "/curriculum_steps.svg")
        return stages
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
            for _ in 0..<trainSteps {
                let s = trainer.trainStep()
                guard s.loss.isFinite else { throw BPTTError.nonFinite("\(m) diverged during gradflow training") }
            }
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
