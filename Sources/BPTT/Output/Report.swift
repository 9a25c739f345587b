import Foundation

/// A run report: one self-contained HTML file (`DIR/report.html`) that opens offline — the
/// configuration, the headline figures, SVG charts inline (our `SVGChart`), images inline as
/// base64 PNG, no scripts, no external resources. The markup is well-formed XML (XHTML), so
/// any XML parser can read it.
///
/// The builders below (`train`, `sweep`, `curriculum`, `gradflow`, `autoencoder`, `gan`) turn
/// each command's results into sections; `write(toDirectory:)` writes the file.
public struct Report {
    public enum Item {
        case chart(SVGChart)
        /// A table; `heat` (same shape as `rows`, values in 0…1 or nil) colours cells red → green.
        case table(header: [String], rows: [[String]], heat: [[Double?]]?)
        case image(caption: String, png: [UInt8])
        case text(String)
    }

    public struct Section {
        public var title: String
        public var items: [Item]
        public init(_ title: String, _ items: [Item]) { self.title = title; self.items = items }
    }

    public var title: String
    public var commandLine: String
    public var configuration: [(String, String)] = []
    public var headline: [(label: String, value: String)] = []
    public var sections: [Section] = []

    public init(title: String, commandLine: [String] = CommandLine.arguments) {
        self.title = title
        self.commandLine = (["bptt"] + commandLine.dropFirst()).joined(separator: " ")
    }

    /// An image grid as an inline PNG.
    public static func image(_ caption: String, _ grid: ImageGrid) -> Item {
        .image(caption: caption, png: PNG.encode(width: grid.width, height: grid.height, pixels: grid.pixels))
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    /// Red (0) → amber → green (1), light enough for black text.
    static func heatColour(_ v: Double) -> String {
        let t = min(max(v, 0), 1)
        let (r, g, b): (Double, Double, Double) = t < 0.5
            ? (248, 105 + 2 * t * (203 - 105), 107 + 2 * t * (128 - 107))
            : (248 - 2 * (t - 0.5) * (248 - 99), 203 - 2 * (t - 0.5) * (203 - 190), 128 - 2 * (t - 0.5) * (128 - 123))
        return String(format: "#%02X%02X%02X", Int(r.rounded()), Int(g.rounded()), Int(b.rounded()))
    }

    static let style = """
    body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #222; margin: 24px auto; max-width: 980px; padding: 0 16px; }
    h1 { font-size: 24px; margin: 0 0 4px 0; }
    h2 { font-size: 18px; margin: 28px 0 10px 0; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
    code.cmd { display: block; background: #f5f5f5; padding: 8px 10px; border-radius: 4px; font-size: 13px; overflow-wrap: anywhere; }
    .cards { display: flex; flex-wrap: wrap; gap: 10px; margin: 14px 0; }
    .card { border: 1px solid #ddd; border-radius: 6px; padding: 8px 14px; min-width: 130px; }
    .card .v { font-size: 22px; font-weight: 600; }
    .card .l { font-size: 12px; color: #666; }
    table { border-collapse: collapse; margin: 8px 0 14px 0; font-size: 14px; }
    th, td { border: 1px solid #ddd; padding: 4px 10px; text-align: right; }
    th { background: #f3f3f3; }
    td.k, th.k { text-align: left; }
    table.config td { text-align: left; }
    svg { max-width: 100%; height: auto; display: block; margin: 6px 0 14px 0; }
    figure { margin: 8px 0 16px 0; }
    .figs { display: flex; flex-wrap: wrap; gap: 18px; align-items: flex-start; }
    figure img { image-rendering: pixelated; max-width: 100%; border: 1px solid #ddd; }
    figcaption { font-size: 13px; color: #555; }
    p.note { font-size: 14px; color: #444; }
    footer { margin-top: 30px; font-size: 12px; color: #888; }
    """

    public func html() -> String {
        var s = """
        <?xml version="1.0" encoding="UTF-8"?>
        <!DOCTYPE html>
        <html xmlns="http://www.w3.org/1999/xhtml" lang="en">
        <head>
        <meta charset="utf-8"/>
        <meta name="viewport" content="width=device-width, initial-scale=1"/>
        <title>\(Self.escape(title))</title>
        <style>
        \(Self.style)
        </style>
        </head>
        <body>
        <h1>\(Self.escape(title))</h1>
        <code class="cmd">\(Self.escape(commandLine))</code>

        """
        if !headline.isEmpty {
            s += "<div class=\"cards\">\n"
            for h in headline {
                s += "<div class=\"card\"><div class=\"v\">\(Self.escape(h.value))</div><div class=\"l\">\(Self.escape(h.label))</div></div>\n"
            }
            s += "</div>\n"
        }
        for section in sections {
            s += "<h2>\(Self.escape(section.title))</h2>\n"
            // consecutive images side by side
            var inFigures = false
            for item in section.items {
                let isImage: Bool
                if case .image = item { isImage = true } else { isImage = false }
                if isImage != inFigures { s += isImage ? "<div class=\"figs\">\n" : "</div>\n"; inFigures = isImage }
                s += render(item)
            }
            if inFigures { s += "</div>\n" }
        }
        if !configuration.isEmpty {
            s += "<h2>Configuration</h2>\n<table class=\"config\">\n"
            for (k, v) in configuration { s += "<tr><td class=\"k\">\(Self.escape(k))</td><td>\(Self.escape(v))</td></tr>\n" }
            s += "</table>\n"
        }
        s += "<footer>Written by bptt: one self-contained file (inline SVG and PNG, no scripts, no external resources).</footer>\n"
        s += "</body>\n</html>\n"
        return s
    }

    func render(_ item: Item) -> String {
        switch item {
        case .chart(let c):
            // the chart's own XML prolog-free <svg> element, inline
            return c.render()
        case .table(let header, let rows, let heat):
            var s = "<table>\n<tr>" + header.enumerated().map { "<th\($0.offset == 0 ? " class=\"k\"" : "")>\(Self.escape($0.element))</th>" }.joined() + "</tr>\n"
            for (r, row) in rows.enumerated() {
                s += "<tr>"
                for (c, cell) in row.enumerated() {
                    var attrs = c == 0 ? " class=\"k\"" : ""
                    if let v = heat?[r][c] ?? nil, v.isFinite { attrs += " style=\"background: \(Self.heatColour(v))\"" }
                    s += "<td\(attrs)>\(Self.escape(cell))</td>"
                }
                s += "</tr>\n"
            }
            return s + "</table>\n"
        case .image(let caption, let png):
            return "<figure><img alt=\"\(Self.escape(caption))\" src=\"data:image/png;base64,\(Data(png).base64EncodedString())\"/>"
                + "<figcaption>\(Self.escape(caption))</figcaption></figure>\n"
        case .text(let t):
            return "<p class=\"note\">\(Self.escape(t))</p>\n"
        }
    }

    /// Writes `dir/report.html` (creating `dir`) and returns its path.
    @discardableResult
    public func write(toDirectory dir: String) throws -> String {
        try createFolder(dir)
        let path = (dir as NSString).appendingPathComponent("report.html")
        try writeFileAtomically(path, html())
        return path
    }
}

// MARK: builders, one per command

extension Report {
    static func f(_ x: Double, _ format: String = "%.4f") -> String { x.isFinite ? String(format: format, x) : "—" }
    static func seconds(_ s: Double) -> String { f(s, s < 10 ? "%.2f" : "%.1f") }

    /// At most `n` points: the mean of each run of consecutive points (a readable curve from 10,000 steps).
    static func thin(_ points: [(x: Double, y: Double)], to n: Int = 400) -> [(x: Double, y: Double)] {
        guard points.count > n else { return points }
        let k = (points.count + n - 1) / n
        return stride(from: 0, to: points.count, by: k).map { i in
            let chunk = points[i..<min(i + k, points.count)]
            return (chunk.last!.x, chunk.map(\.y).reduce(0, +) / Double(chunk.count))
        }
    }

    static func config(_ c: TrainConfig) -> [(String, String)] {
        [("model", c.model), ("layers", String(c.layers)), ("bidirectional", String(c.bidirectional)),
         ("task", c.task), ("length T", String(c.length)), ("steps", String(c.steps)), ("batch", String(c.batch)),
         ("hidden", String(c.hidden)), ("optimizer", c.optimizer.kind.rawValue), ("learning rate", String(c.optimizer.lr)),
         ("clip", c.clip.map { String($0) } ?? "off"), ("init", c.initializer.rawValue),
         ("truncation", c.truncation == 0 ? "full BPTT" : String(c.truncation)), ("seed", String(c.seed)), ("threads", String(c.threads))]
    }

    /// `bptt train` on the palindrome task: loss, accuracy and gradient norm per step, and ‖∂L/∂h_t‖ per time step at the end.
    public static func train(config c: TrainConfig, curve: [StepStats], eval: (accuracy: Double, loss: Double), seconds: Double,
                             examplesPerSecond: Double, parameters: Int, gradientNormsPerTimeStep: [Double]) -> Report {
        var r = Report(title: "bptt train: \(c.model) on palindromes, T = \(c.length)")
        r.headline = [("eval accuracy (\(c.evalSize) fresh palindromes)", f(eval.accuracy)), ("eval loss", f(eval.loss)),
                      ("final training loss", f(curve.last?.loss ?? .nan)), ("examples / s", f(examplesPerSecond, "%.0f")),
                      ("seconds", Report.seconds(seconds)), ("parameters", String(parameters))]
        func chart(_ title: String, _ y: String, _ value: (StepStats) -> Double, logY: Bool = false, range: ClosedRange<Double>? = nil) -> Item {
            var ch = SVGChart(title: title, xLabel: "step", yLabel: y)
            ch.logY = logY
            ch.yRange = range
            ch.series = [.init(name: c.model, points: thin(curve.map { (Double($0.step), value($0)) }))]
            return .chart(ch)
        }
        var flow = SVGChart(title: "‖∂L/∂h_t‖ per time step after training (one batch)", xLabel: "time step t", yLabel: "‖∂L/∂h_t‖")
        flow.logY = true
        flow.series = [.init(name: c.model, points: gradientNormsPerTimeStep.enumerated().map { (Double($0.offset + 1), $0.element) })]
        r.sections = [
            Section("Training curves", [chart("Training loss", "loss (batch mean)", \.loss),
                                        chart("Training accuracy", "accuracy (batch)", \.accuracy, range: 0...1),
                                        chart("Global gradient norm before clipping", "‖g‖", \.gradNorm, logY: true)]),
            Section("Gradient norms per time step", [.chart(flow),
                .text("How much of the loss gradient reaches each input step: a flat curve means early digits still get a training signal; a curve falling to the left means vanishing gradients.")]),
        ]
        r.configuration = config(c)
        return r
    }

    /// `bptt sweep`: the accuracy-vs-length comparison of the models first, as a coloured table and a chart.
    public static func sweep(results: [Experiments.SweepResult], models: [String], lengths: [Int], base: TrainConfig, seconds: Double) -> Report {
        var r = Report(title: "bptt sweep: eval accuracy vs palindrome length")
        func acc(_ m: String, _ t: Int) -> Double? { results.first { $0.model == m && $0.length == t }?.evalAccuracy }
        r.headline = models.map { m in
            let first = lengths.first.flatMap { acc(m, $0) }, last = lengths.last.flatMap { acc(m, $0) }
            return ("\(m): accuracy at T = \(lengths.first ?? 0) → T = \(lengths.last ?? 0)", "\(f(first ?? .nan, "%.2f")) → \(f(last ?? .nan, "%.2f"))")
        } + [("total seconds", Report.seconds(seconds))]
        var evalChart = SVGChart(title: "Eval accuracy after \(base.steps) steps (1,000 fresh palindromes)", xLabel: "length T", yLabel: "eval accuracy")
        evalChart.yRange = 0...1
        evalChart.markers = true
        evalChart.series = models.map { m in .init(name: m, points: lengths.compactMap { t in acc(m, t).map { (Double(t), $0) } }) }
        let rows = lengths.map { t in ["T = \(t)"] + models.map { m in acc(m, t).map { f($0) } ?? "—" } }
        let heat = lengths.map { t in [nil] + models.map { m in acc(m, t) } }
        var lossCurves: [Item] = []
        for t in lengths {
            var ch = SVGChart(title: "T = \(t): training accuracy", xLabel: "step", yLabel: "accuracy (window mean)")
            ch.yRange = 0...1
            ch.series = results.filter { $0.length == t }.map { s in .init(name: s.model, points: s.curve.map { (Double($0.step), $0.accuracy) }) }
            lossCurves.append(.chart(ch))
        }
        r.sections = [
            Section("Comparison of the models: eval accuracy by length and model", [
                .table(header: ["length"] + models, rows: rows, heat: heat), .chart(evalChart),
                .text("A PyTorch run of this experiment (cells initialised with torch.randn, RMSprop 1e-3, batch 128, hidden 128, clip 10): the vanilla RNN fell from ~100% at T = 5 to ~34% at T = 10 after 10,000 steps, and the LSTM stayed near 100%."),
            ]),
            Section("Training curves per length", lossCurves),
            Section("Runs", [.table(header: ["model", "T", "eval accuracy", "final loss", "seconds"],
                                    rows: results.map { [$0.model, String($0.length), f($0.evalAccuracy), f($0.finalLoss), f($0.seconds, "%.1f")] }, heat: nil)]),
        ]
        r.configuration = [("models", models.joined(separator: ", ")), ("lengths", lengths.map(String.init).joined(separator: ", "))]
            + config(base).filter { !["model", "length T"].contains($0.0) }
        return r
    }

    /// `bptt curriculum`: steps needed and accuracy reached at each length.
    public static func curriculum(stages: [Experiments.CurriculumStage], base: TrainConfig, target: Double, maxSteps: Int) -> Report {
        var r = Report(title: "bptt curriculum: \(base.model), lengths in turn until eval accuracy ≥ \(target)")
        let reached = stages.filter(\.reached).map(\.length).max()
        r.headline = [("longest length reached", reached.map(String.init) ?? "none"), ("lengths tried", String(stages.count)),
                      ("total steps", String(stages.reduce(0) { $0 + $1.steps })),
                      ("peak memory (MiB)", f(stages.map(\.peakMemoryMiB).max() ?? .nan, "%.0f")),
                      ("seconds", Report.seconds(stages.reduce(0) { $0 + $1.seconds }))]
        var steps = SVGChart(title: "Steps needed at each length (at most \(maxSteps))", xLabel: "length T", yLabel: "steps")
        steps.markers = true
        steps.yRange = 0...Double(max(maxSteps, 1))
        steps.series = [.init(name: base.model, points: stages.map { (Double($0.length), Double($0.steps)) })]
        var acc = SVGChart(title: "Eval accuracy at the end of each length", xLabel: "length T", yLabel: "eval accuracy")
        acc.yRange = 0...1
        acc.markers = true
        acc.series = [.init(name: base.model, points: stages.map { (Double($0.length), $0.evalAccuracy) })]
        r.sections = [
            Section("Progress through the lengths", [.chart(acc), .chart(steps)]),
            Section("Stages", [.table(header: ["length", "steps", "eval accuracy", "reached", "seconds", "peak MiB"],
                                      rows: stages.map { [String($0.length), String($0.steps), f($0.evalAccuracy), $0.reached ? "yes" : "no",
                                                          f($0.seconds, "%.1f"), f($0.peakMemoryMiB, "%.0f")] },
                                      heat: stages.map { [nil, nil, $0.evalAccuracy, nil, nil, nil] })]),
        ]
        r.configuration = [("target accuracy", String(target)), ("max steps per length", String(maxSteps))]
            + config(base).filter { !["length T", "steps"].contains($0.0) }
        return r
    }

    /// `bptt gradflow`: ‖∂L/∂h_t‖ per time step, at initialisation and after training.
    public static func gradflow(flows: [Experiments.GradientFlow], base: TrainConfig, steps: Int) -> Report {
        var r = Report(title: "bptt gradflow: ‖∂L/∂h_t‖ per time step, T = \(base.length)")
        r.headline = flows.map { g in
            ("\(g.model): ‖∂L/∂h_1‖ / ‖∂L/∂h_T‖ at init → trained",
             "\(f(g.atInit[0] / g.atInit[g.atInit.count - 1], "%.2g")) → \(f(g.trained[0] / g.trained[g.trained.count - 1], "%.2g"))")
        } + flows.map { ("\($0.model): eval accuracy after \(steps) steps", f($0.evalAccuracy)) }
        var items: [Item] = []
        for (phase, pick) in [("at initialisation", \Experiments.GradientFlow.atInit), ("after \(steps) steps", \Experiments.GradientFlow.trained)] {
            var ch = SVGChart(title: "‖∂L/∂h_t‖ \(phase)", xLabel: "time step t", yLabel: "‖∂L/∂h_t‖")
            ch.logY = true
            ch.series = flows.map { g in .init(name: g.model, points: g[keyPath: pick].enumerated().map { (Double($0.offset + 1), $0.element) }) }
            items.append(.chart(ch))
        }
        items.append(.text("The loss reads only the last step T; each curve shows how much gradient reaches earlier steps. Geometric decay to the left is the vanishing gradient of derivations/rnn.md."))
        r.sections = [Section("Gradient norms per time step", items)]
        let anatomy = Experiments.gradientAnatomyCharts(flows, length: base.length)
        r.sections.append(Section("Why they vanish: the Jacobian product, the recurrent matrices, saturated gates", [
            .chart(anatomy.jacobian),
            .text("‖∂h_T/∂h_k‖ is the product of the step Jacobians from k to T (derivations/long-memory.md): it shrinks geometrically when the recurrent matrix's spectral radius ρ and its largest singular value σ_max are below 1 and the activations' derivatives are small."),
            .chart(anatomy.spectral), .chart(anatomy.saturation),
        ]))
        r.configuration = [("models", flows.map(\.model).joined(separator: ", ")), ("training steps", String(steps))]
            + config(base).filter { !["model", "steps"].contains($0.0) }
        return r
    }

    /// `bptt autoencoder`: loss per epoch, test MSE beside the baselines, reconstructions.
    public static func autoencoder(config c: AutoencoderConfig, data: String, epochs: [EpochStats], evaluation e: AutoencoderEvaluation,
                                   seconds: Double, reconstructions: ImageGrid?) -> Report {
        var r = Report(title: "bptt autoencoder: masked reconstruction (\(c.mask), loss on \(c.lossOn.rawValue) pixels)")
        let gain = 1 - e.maskedMSE / e.baselineMeanMSE
        r.headline = [("test MSE on hidden pixels", f(e.maskedMSE, "%.5f")), ("baseline: mean image", f(e.baselineMeanMSE, "%.5f")),
                      ("baseline: zero fill", f(e.baselineZeroMSE, "%.5f")), ("improvement over the mean-image baseline", f(100 * gain, "%+.1f%%")),
                      ("final training loss", f(epochs.last?.loss ?? .nan, "%.5f")), ("seconds", Report.seconds(seconds))]
        var loss = SVGChart(title: "Training loss per epoch", xLabel: "epoch", yLabel: "masked MSE (training)")
        loss.markers = epochs.count < 60
        loss.series = [.init(name: "loss", points: epochs.map { (Double($0.epoch), $0.loss) })]
        var items: [Item] = [.table(header: ["fill for the hidden pixels", "test MSE"],
                                    rows: [["this autoencoder", f(e.maskedMSE, "%.5f")], ["mean training image", f(e.baselineMeanMSE, "%.5f")],
                                           ["zeros", f(e.baselineZeroMSE, "%.5f")]], heat: nil)]
        if let g = reconstructions { items.append(image("Rows: original, masked input, reconstruction (test images)", g)) }
        r.sections = [Section("Reconstructions", items), Section("Training", [.chart(loss)])]
        r.configuration = [("data", data), ("mask", c.mask.description), ("loss on", c.lossOn.rawValue),
                           ("hidden layers", c.hidden.map(String.init).joined(separator: ", ")), ("epochs", String(c.epochs)),
                           ("batch", String(c.batch)), ("optimizer", c.optimizer.kind.rawValue), ("learning rate", String(c.optimizer.lr)),
                           ("seed", String(c.seed)), ("threads", String(c.threads))]
        return r
    }

    /// `bptt gan`: both losses per step, the judged samples, sample grids over training.
    public static func gan(config c: GANConfig, data: String, curve: [GANStepStats], dSteps: Int, confidentFraction: Double,
                           classesPresent: Int, histogram: [Int], judgeAccuracy: Double, seconds: Double,
                           grids: [(caption: String, grid: ImageGrid)]) -> Report {
        var r = Report(title: "bptt gan: MLP GAN, \(c.steps) steps")
        r.headline = [("confident samples (p ≥ 0.9)", f(100 * confidentFraction, "%.1f%%")), ("classes present (≥ 1%)", String(classesPresent)),
                      ("final L_D", f(curve.last?.lossD ?? .nan)), ("final L_G", f(curve.last?.lossG ?? .nan)),
                      ("D trained on", "\(dSteps) / \(curve.last?.step ?? c.steps) steps"), ("judge's test accuracy", f(judgeAccuracy)), ("training seconds", Report.seconds(seconds))]
        var losses = SVGChart(title: "Losses per step", xLabel: "step", yLabel: "loss")
        losses.series = [.init(name: "L_D", points: thin(curve.map { (Double($0.step), $0.lossD) })),
                         .init(name: "L_G", points: thin(curve.map { (Double($0.step), $0.lossG) }))]
        let total = max(histogram.reduce(0, +), 1)
        r.sections = [
            Section("Samples", grids.map { image($0.caption, $0.grid) }),
            Section("What the classifier sees", [.table(header: ["class"] + histogram.indices.map(String.init),
                                                        rows: [["share of samples"] + histogram.map { f(100 * Double($0) / Double(total), "%.1f%%") }],
                                                        heat: nil)]),
            Section("Training", [.chart(losses)]),
        ]
        r.configuration = [("data", data), ("latent", String(c.latent)), ("G hidden", c.generatorHidden.map(String.init).joined(separator: ", ")),
                           ("D hidden", c.discriminatorHidden.map(String.init).joined(separator: ", ")), ("steps", String(c.steps)),
                           ("batch", String(c.batch)), ("optimizer", c.optimizer.kind.rawValue), ("learning rate", String(c.optimizer.lr)),
                           ("D schedule", c.seedSchedule ? "seed" : "always"), ("seed", String(c.seed)), ("threads", String(c.threads))]
        return r
    }
}
