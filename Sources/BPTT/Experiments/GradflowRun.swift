import Foundation

extension Experiments {
    public struct GradientFlow: Sendable, Codable, Equatable {
        public var model: String
        public var atInit: [Double]      // ‖∂L/∂h_t‖, t = 1…T
        public var trained: [Double]
        public var evalAccuracy: Double  // NaN without training
        /// ∂h_T/∂h_k, its singular values and the gates' saturation, at initialisation and after training.
        public var anatomyInit: JacobianSummary? = nil
        public var anatomyTrained: JacobianSummary? = nil
        /// ρ and σ_max of the recurrent matrices over training.
        public var spectral: [SpectralPoint]? = nil
        /// ‖∂L/∂h_t‖ for t = 1…T at initialisation and after training; `evalAccuracy` NaN where there is none.
        public init(model: String, atInit: [Double], trained: [Double], evalAccuracy: Double) {
            (self.model, self.atInit, self.trained, self.evalAccuracy) = (model, atInit, trained, evalAccuracy)
        }
        public static func == (a: Self, b: Self) -> Bool {
            a.model == b.model && a.atInit.map(\.bitPattern) == b.atInit.map(\.bitPattern)
                && a.trained.map(\.bitPattern) == b.trained.map(\.bitPattern) && a.evalAccuracy.bitPattern == b.evalAccuracy.bitPattern
                && a.anatomyInit == b.anatomyInit && a.anatomyTrained == b.anatomyTrained && a.spectral == b.spectral
        }
    }

    /// Writes gradflow.csv and the two charts (at initialisation, after `trainSteps` steps).
    public static func writeGradientFlow(_ flows: [GradientFlow], length: Int, trainSteps: Int, outDir: String) throws {
        try createFolder(outDir)
        let csv = try CSVWriter(path: outDir + "/gradflow.csv", header: ["model", "phase", "t", "grad_norm"])
        for g in flows {
            for (t, v) in g.atInit.enumerated() { try csv.write([g.model, "init", String(t + 1), fmt6(v)]) }
            for (t, v) in g.trained.enumerated() { try csv.write([g.model, "trained", String(t + 1), fmt6(v)]) }
        }
        try csv.close()
        for (phase, pick) in [("init", \GradientFlow.atInit), ("trained", \GradientFlow.trained)] {
            var chart = SVGChart(title: "‖∂L/∂h_t‖, T=\(length), \(phase == "init" ? "at initialisation" : "after \(trainSteps) steps")",
                                 xLabel: "time step t", yLabel: "‖∂L/∂h_t‖")
            chart.logY = true
            chart.series = flows.map { g in .init(name: g.model, points: g[keyPath: pick].enumerated().map { (Double($0.offset + 1), $0.element) }) }
            try chart.write(to: outDir + "/gradflow_\(phase).svg")
        }
    }
}

/// The gradient-flow comparison, one step at a time: for each model, ‖∂L/∂h_t‖ for every t on
/// one fixed batch at initialisation, `trainSteps` training steps, then the norms again and the
/// eval accuracy. Resumable between any two steps: a checkpoint holds the finished models'
/// norms and the model in progress (its trainer's state and its norms at initialisation).
public final class GradflowRun {
    public struct Settings: Sendable, Codable, Equatable {
        public var models: [String]
        public var trainSteps: Int
        public init(models: [String], trainSteps: Int) { self.models = models; self.trainSteps = trainSteps }
    }

    /// A checkpoint's configuration; `atInit` is the model in progress's (nil between models).
    struct Saved: Codable, Equatable {
        var train: TrainConfig
        var settings: Settings
        var flows: [Experiments.GradientFlow]
        var atInit: [Double]?
        var anatomyInit: JacobianSummary? = nil
        var spectral: [SpectralPoint]? = nil
    }

    public static let model = "gradflow"
    public let base: TrainConfig
    public let settings: Settings
    public private(set) var flows: [Experiments.GradientFlow] = []
    /// The model in progress and its norms at initialisation; nil before it is started.
    private var trainer: PalindromeTrainer?
    private var atInit: [Double] = []
    private var anatomyInit: JacobianSummary? = nil
    private var spectral: [SpectralPoint] = []
    /// Training steps between two measurements of ρ and σ_max (about 20 over a run).
    public var spectralEvery: Int { max(1, settings.trainSteps / 20) }

    public init(base: TrainConfig, settings: Settings) throws {
        guard !settings.models.isEmpty, settings.trainSteps >= 0, base.length >= 1 else {
            throw BPTTError.usage("gradflow: needs at least one model, a length ≥ 1 and a step count ≥ 0")
        }
        for m in settings.models where !PalindromeTrainer.models.contains(m) {
            throw BPTTError.usage("gradflow: unknown model '\(m)' (expected: \(PalindromeTrainer.models.joined(separator: ", ")))")
        }
        self.base = base
        self.settings = settings
    }

    public var done: Bool { flows.count == settings.models.count }
    /// The model in progress (or the last one, when done).
    public var current: String { settings.models[min(flows.count, settings.models.count - 1)] }
    public var stepInRun: Int { trainer?.step ?? 0 }
    /// Training steps over all models.
    public var step: Int { flows.count * settings.trainSteps + stepInRun }

    /// Starts the model in progress if needed (measuring its norms at initialisation), then one
    /// training step, or, when its steps are done, the final measurement: `finished` is its
    /// result. A non-finite step changes nothing here (the caller stops).
    public func advance() throws -> (stats: StepStats?, finished: Experiments.GradientFlow?) {
        require(!done, "gradflow: already done")
        let trainer = try self.trainer ?? startRun()
        if trainer.step < settings.trainSteps {
            let s = trainer.trainStep()
            if s.nonFinite != nil { return (s, nil) }
            if trainer.step % spectralEvery == 0 { measureSpectrum(trainer) }
            if trainer.step < settings.trainSteps { return (s, nil) }
            return (s, try finish(trainer))
        }
        return (nil, try finish(trainer))
    }

    private func measureSpectrum(_ t: PalindromeTrainer) {
        spectral.append(GradientAnatomy.spectral(t.checkpoint().tensors, hidden: base.hidden, step: t.step))
    }

    private func startRun() throws -> PalindromeTrainer {
        var c = base
        c.model = current
        let t = try PalindromeTrainer(c)
        trainer = t
        atInit = t.gradientNorms(batch: c.batch)
        anatomyInit = try GradientAnatomy.measure(c, tensors: t.checkpoint().tensors, length: c.length)
        spectral = []
        measureSpectrum(t)
        return t
    }

    private func finish(_ t: PalindromeTrainer) throws -> Experiments.GradientFlow {
        let eval = settings.trainSteps > 0 ? t.evaluate().accuracy : .nan
        var c = base
        c.model = current
        var g = Experiments.GradientFlow(model: current, atInit: atInit, trained: t.gradientNorms(batch: base.batch), evalAccuracy: eval)
        g.anatomyInit = anatomyInit
        g.anatomyTrained = try GradientAnatomy.measure(c, tensors: t.checkpoint().tensors, length: c.length)
        g.spectral = spectral
        flows.append(g)
        trainer = nil
        atInit = []
        anatomyInit = nil
        spectral = []
        return g
    }

    /// The model in progress's trainer checkpoint (empty between models) with the experiment in its configuration.
    public func checkpoint() -> Checkpoint {
        experimentCheckpoint(trainer?.checkpoint(), model: Self.model,
                             config: experimentJSON(Saved(train: base.withoutThreads, settings: settings, flows: flows, atInit: trainer == nil ? nil : atInit,
                                                           anatomyInit: trainer == nil ? nil : anatomyInit, spectral: trainer == nil ? nil : spectral)))
    }

    /// The training configuration and settings saved in a gradflow checkpoint (refuses other kinds).
    public static func saved(_ c: Checkpoint, source: String) throws -> (base: TrainConfig, settings: Settings) {
        let s = try decode(c, source: source)
        return (s.train, s.settings)
    }

    static func decode(_ c: Checkpoint, source: String) throws -> Saved {
        try decodeExperiment(c, model: model, source: source) { (s: Saved) in
            !s.settings.models.isEmpty && s.settings.trainSteps >= 0 && s.flows.count <= s.settings.models.count
                && (s.atInit != nil) == !c.tensors.isEmpty && (s.atInit.map({ $0.count == s.train.length && s.flows.count < s.settings.models.count }) ?? true)
                && c.step <= s.settings.trainSteps && (s.atInit != nil || c.step == 0)
        }
    }

    /// Continues a saved experiment; the threads may differ (results do not depend on them).
    public convenience init(resuming c: Checkpoint, threads: Int, source: String) throws {
        let s = try Self.decode(c, source: source)
        try self.init(base: s.train.withThreads(threads), settings: s.settings)
        flows = s.flows
        guard let saved = s.atInit else { return }
        var config = base
        config.model = current
        let t = try PalindromeTrainer(config)
        try t.restore(c.trainerCheckpoint(config), source: source)
        trainer = t
        atInit = saved
        anatomyInit = s.anatomyInit
        spectral = s.spectral ?? []
    }
}
