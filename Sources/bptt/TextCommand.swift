import BPTT
import Foundation

/// Flags only `train --task text` reads.
let textTaskOptions: [Option] = [
    Option("embedding", "E", "text: an embedding of width E before the recurrent levels; 0 = one-hot inputs (default 0)"),
    Option("validation", "F", "text: the last fraction F of the characters is the validation text (default 0.1)"),
    Option("lr-decay", "KIND", "text: none | step (× --lr-decay-factor every --lr-decay-every steps) | cosine (to 0 at step --lr-decay-every) (default none)"),
    Option("lr-decay-every", "N", "text: steps per decay (step; default one pass over the text) or the length of the cosine (default --steps)"),
    Option("lr-decay-factor", "G", "text: step decay's factor (default 0.5)"),
    Option("eval-every", "N", "text: score the validation text every N steps as well as after each pass and at the end (default 0: not in between)"),
    Option("sample-every", "N", "text: print a sample (200 characters, temperature 0.8) every N steps (default 0: never)"),
]

/// Flags that define a text run: given again on --resume, they must equal the saved value.
let textFields: [(flag: String, value: (TextConfig) -> String)] = [
    ("model", { $0.model }), ("layers", { String($0.layers) }), ("hidden", { String($0.hidden) }), ("length", { String($0.length) }),
    ("batch", { String($0.batch) }), ("dropout", { String($0.dropout) }), ("forget-bias-one", { String($0.forgetBiasOne) }),
    ("embedding", { String($0.embedding) }), ("clip", { String($0.clip ?? 0) }), ("init", { $0.initializer.rawValue }),
    ("seed", { String($0.seed) }), ("lr-decay", { $0.lrDecay }), ("lr-decay-every", { String($0.lrDecayEvery) }),
    ("lr-decay-factor", { String($0.lrDecayFactor) }), ("validation", { String($0.validationFraction) }),
] + lifted(\TextConfig.optimizer)

/// `bptt train --task text`: a character-level language model over a stream, stateful truncated BPTT.
func runTextTask(_ a: inout Arguments) throws -> Int32 {
    for flag in ["truncate", "eval-size", "log", "log-every", "bidirectional", "vectors", "embedding-dim", "vocab", "max-length", "out", "report", "init-from"]
    where a.has(flag) || a.flag(flag) {
        throw BPTTError.usage(flag == "truncate" ? "--truncate does not apply to --task text: --length T is the truncation window (the state carries on, the gradient stops)"
                                                 : "--\(flag) does not apply to --task text")
    }
    if a.has("steps") && a.has("epochs") { throw BPTTError.usage("--steps and --epochs: give one (the run's length in steps, or in passes over the text)") }
    var c = TextConfig()
    c.model = try a.choice("model", CellKind.names, default: "lstm")
    c.layers = try a.int("layers", default: 2, min: 1, max: 16)
    c.dropout = try a.double("dropout", default: 0, nonNegative: true)
    guard c.dropout < 1 else { throw BPTTError.usage("--dropout: \(c.dropout) must be below 1") }
    c.forgetBiasOne = a.flag("forget-bias-one")
    c.embedding = try a.int("embedding", default: 0, min: 0, max: 100_000)
    c.hidden = try a.int("hidden", default: 256, min: 1, max: 100_000)
    c.length = try a.int("length", default: 100, min: 1, max: 100_000)
    c.batch = try a.int("batch", default: 32, min: 1, max: 100_000)
    c.optimizer = try optimizerConfig(a, kind: "adam", lr: 2e-3)
    let clip = try a.double("clip", default: 5, nonNegative: true)
    c.clip = clip > 0 ? clip : nil
    if let v = a.string("init"), RecurrentInit(rawValue: v) != nil {
        throw BPTTError.usage("--init \(v): the long-memory initialisations are not wired into --task text; it takes \(Initializer.allCases.map(\.rawValue).joined(separator: ", "))")
    }
    if a.has("chrono-tmax") { throw BPTTError.usage("--chrono-tmax applies to --init chrono, which --task text does not take") }
    c.initializer = Initializer(rawValue: try a.choice("init", Initializer.allCases.map(\.rawValue), default: "pytorch"))!
    c.seed = try a.seed()
    c.threads = try a.int("threads", default: 2, min: 1, max: 64)
    c.validationFraction = try a.double("validation", default: 0.1, nonNegative: true)
    guard c.validationFraction < 1 else { throw BPTTError.usage("--validation: \(c.validationFraction) must be below 1") }
    c.lrDecay = try a.choice("lr-decay", TextConfig.decays, default: "none")
    c.lrDecayFactor = try a.double("lr-decay-factor", default: 0.5, positive: true)
    guard c.lrDecayFactor <= 1 else { throw BPTTError.usage("--lr-decay-factor: \(c.lrDecayFactor) must be at most 1") }
    if c.lrDecay == "none" { for f in ["lr-decay-every", "lr-decay-factor"] where a.has(f) { throw BPTTError.usage("--\(f) needs --lr-decay step|cosine") } }
    if c.lrDecay == "cosine" && a.has("lr-decay-factor") { throw BPTTError.usage("--lr-decay-factor applies to --lr-decay step") }
    let evalEvery = try a.int("eval-every", default: 0, min: 0)
    let sampleEvery = try a.int("sample-every", default: 0, min: 0)
    let ck = try CheckpointFlags(a)
    let json = a.flag("json"), quiet = a.flag("quiet")

    var saved: (Checkpoint, TextRun, String)? = nil
    if let ckpt = try ck.checkpoint(), let source = ck.resume {
        let run = try TextRun.decode(ckpt, source: source)
        try checkResumeFlags(a, given: c, saved: run.config, source: source, textFields)
        let threads = c.threads
        c = run.config
        c.threads = threads
        saved = (ckpt, run, source)
    }
    let spec = a.string("data") ?? saved?.1.data.spec ?? "builtin"
    let read = try CharText.read(spec)
    let corpus = try CharCorpus(text: read.text, source: read.source, validationFraction: c.validationFraction,
                                vocabulary: saved.map { CharVocabulary(stored: $0.1.config.vocabulary) })
    let perEpoch = try CharStreams(corpus.train, rows: c.batch, length: c.length, what: corpus.source + " (training part)").chunksPerEpoch
    let totalSteps = a.has("epochs") ? try a.int("epochs", default: 1, min: 1, max: 1_000_000) * perEpoch
                                     : try a.int("steps", default: 1000, min: 1)
    if saved == nil && c.lrDecay != "none" {
        // the default: a pass over the text (step), or the whole run (cosine)
        c.lrDecayEvery = try a.int("lr-decay-every", default: c.lrDecay == "step" ? perEpoch : totalSteps, min: 1)
    }
    let trainer = try TextTrainer(c, corpus: corpus, dataSpec: spec)
    c = trainer.config
    var header = ["text on \(corpus.source): \(corpus.train.count) training / \(corpus.validation.count) validation characters, vocabulary \(corpus.vocabulary.count)",
                  "model \(c.model) \(c.layers) level\(c.layers > 1 ? "s" : ""): \(c.embedding > 0 ? "embedding \(c.embedding)" : "one-hot input"), hidden \(c.hidden), dropout \(c.dropout), \(c.optimizer.kind.rawValue) lr \(c.optimizer.lr)\(c.lrDecay == "none" ? "" : " (\(c.lrDecay) decay over \(c.lrDecayEvery) steps)"), clip \(c.clip.map { String($0) } ?? "off"), \(trainer.parameterCount) parameters",
                  "stateful truncated BPTT: \(c.batch) streams of \(trainer.streams.rowLength) characters, chunks of T=\(c.length), \(trainer.chunksPerEpoch) steps per pass; \(totalSteps) steps"]
    if let (ckpt, _, source) = saved {
        try trainer.restore(ckpt, source: source)
        try checkTarget("steps", totalSteps, done: trainer.step, source: source)
        header.append("resumed from \(source) at step \(trainer.step) (pass \(trainer.run.epoch + 1), chunk \(trainer.run.chunk))")
    }
    warnDropoutWithoutLevels(c.dropout, layers: c.layers)
    Interrupt.install()
    let progress = Progress(total: totalSteps, label: "step", offset: trainer.step, quiet: quiet)
    for line in header { progress.line(line) }
    let primeSymbol = corpus.vocabulary.id("\n") ?? 0
    func evaluationLine(_ e: TextEvaluation) -> String {
        String(format: "step %d (pass %.2f): train %.4f nats/char; ", e.step, e.epoch, e.trainNats)
            + (e.validationNats.isFinite ? String(format: "validation %.4f nats/char = %.4f bits/char", e.validationNats, e.validationBits)
                                         : "no validation text (--validation 0)")
    }
    let start = Date()
    let firstStep = trainer.step
    var last: TextStepStats? = nil
    var asideSeconds = 0.0   // validation and samples: not training time
    func aside(_ body: () throws -> Void) rethrows {
        let t0 = Date()
        try body()
        asideSeconds += Date().timeIntervalSince(t0)
    }
    while trainer.step < totalSteps {
        let s = trainer.trainStep()
        last = s
        if let bad = s.nonFinite {
            progress.finish()
            throw ck.nonFinite(bad, at: "step \(s.step)")
        }
        if s.epochDone || (evalEvery > 0 && s.step % evalEvery == 0) { aside { let e = trainer.evaluate(); progress.line(evaluationLine(e)) } }
        if sampleEvery > 0 && s.step % sampleEvery == 0 && !quiet {
            aside {
                let ids = trainer.sample(prime: [primeSymbol], count: 200, temperature: 0.8, topK: nil, seed: c.seed ^ UInt64(s.step))
                progress.line("sample at step \(s.step) (temperature 0.8):\n" + corpus.vocabulary.decode(ids) + "\n---")
            }
        }
        if ck.every > 0 && s.step % ck.every == 0 { try aside { try ck.write(trainer.checkpoint(), at: "step \(s.step)") } }
        if try ck.interrupted(at: "step \(s.step)", progress: progress, trainer.checkpoint()) { return 130 }
        let rate = Double((s.step - firstStep) * c.batch * c.length) / max(Date().timeIntervalSince(start) - asideSeconds, 1e-9)
        progress.update(s.step, String(format: "loss %.4f  lr %.3g  grad-norm %.3g  %.0f chars/s", s.loss, s.lr, s.gradNorm, rate))
    }
    progress.finish()
    let seconds = Date().timeIntervalSince(start)
    let rate = Double((trainer.step - firstStep) * c.batch * c.length) / max(seconds - asideSeconds, 1e-9)
    // saved before the closing evaluation, which resets the running training loss: a run resumed from
    // this checkpoint then continues exactly as one that never stopped
    try ck.write(trainer.checkpoint())
    if trainer.history.last?.step != trainer.step { let e = trainer.evaluate(); progress.line(evaluationLine(e)) }
    let final = trainer.history.last!
    progress.result((final.validationNats.isFinite ? String(format: "validation %.4f nats/char = %.4f bits/char", final.validationNats, final.validationBits)
                                                   : "no validation text (--validation 0)")
                    + String(format: " after %d steps; %.0f characters/s trained (validation and samples aside); %.1f s", trainer.step, rate, seconds))
    if json {
        print(JSON.object([
            ("model", .string(c.model)), ("task", .string("text")), ("layers", .int(c.layers)), ("hidden", .int(c.hidden)),
            ("embedding", .int(c.embedding)), ("length", .int(c.length)), ("batch", .int(c.batch)), ("dropout", .number(c.dropout)),
            ("optimizer", .string(c.optimizer.kind.rawValue)), ("lr", .number(c.optimizer.lr)), ("lr_decay", .string(c.lrDecay)),
            ("seed", .int(Int(truncatingIfNeeded: c.seed))), ("vocabulary", .int(corpus.vocabulary.count)),
            ("parameters", .int(trainer.parameterCount)), ("steps", .int(trainer.step)), ("epochs", .number(final.epoch)),
            ("final_loss", .number(last?.loss ?? .nan)), ("train_nats", .number(final.trainNats)),
            ("validation_nats", .number(final.validationNats)), ("validation_bits", .number(final.validationBits)),
            ("history", .array(trainer.history.map { e in
                .object([("step", .int(e.step)), ("epoch", .number(e.epoch)), ("train_nats", .number(e.trainNats)),
                         ("validation_nats", .number(e.validationNats)), ("validation_bits", .number(e.validationBits))])
            })),
            ("characters_per_s", .number(rate.rounded())), ("seconds", .number((seconds * 1000).rounded() / 1000)),
        ]).serialized())
    }
    return 0
}

/// --data for text: "builtin" (default), "shakespeare" (after make data-shakespeare) or a file.
enum CharText {
    static func read(_ spec: String) throws -> (text: String, source: String) { try CharCorpus.read(spec) }
}
