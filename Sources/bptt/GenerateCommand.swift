import BPTT
import Foundation

let generateCommand = Command(
    name: "generate",
    summary: "Sample text from a character-level model saved by train --task text (temperature 0: greedy).",
    usage: "generate --checkpoint FILE [--prime \"ROMEO:\"] [--count 500] [--temperature 0.8] [--top-k K] [--seed S] [--json]",
    options: [
        Option("checkpoint", "FILE", "a checkpoint written by bptt train --task text --save FILE (required)"),
        Option("prime", "TEXT", "read first, from the zero state; printed before the sample; every character must be in the model's vocabulary (default: a line break)"),
        Option("count", "N", "characters to generate (default 500)"),
        Option("temperature", "TAU", "sample from softmax(logits / TAU); 0 = always the most likely character (default 0.8)"),
        Option("top-k", "K", "sample only among the K most likely characters (default: all)"),
        Option("seed", "S", "random seed of the draws (default 0)"),
        Option("json", nil, "print one JSON line (prime, text, settings) instead of the plain text"),
    ],
    run: runGenerate
)

func runGenerate(_ a: inout Arguments) throws -> Int32 {
    guard let path = a.string("checkpoint") else { throw BPTTError.usage("--checkpoint FILE is required (a checkpoint of bptt train --task text)") }
    let count = try a.int("count", default: 500, min: 0, max: 10_000_000)
    let temperature = try a.double("temperature", default: 0.8, nonNegative: true)
    guard temperature.isFinite, temperature <= 100 else { throw BPTTError.usage("--temperature: \(temperature) must be between 0 and 100") }
    let topK = a.has("top-k") ? try a.int("top-k", default: 0, min: 1, max: 1_000_000) : nil
    let seed = try a.seed()
    let json = a.flag("json")
    let generator = try TextGenerator(try Checkpoint.read(from: path), source: path)
    let v = generator.vocabulary
    if let k = topK, k > v.symbols.count {
        throw BPTTError.usage("--top-k \(k): the model's vocabulary has \(v.symbols.count) characters (give 1…\(v.symbols.count), or leave --top-k out for all)")
    }
    let prime = a.string("prime") ?? (v.id("\n") != nil ? "\n" : String(v.symbols[0]))
    guard !prime.isEmpty else { throw BPTTError.usage("--prime: empty (give at least one character, or leave --prime out)") }
    let ids = try v.encode(prime, what: "--prime")
    let text = v.decode(generator.sample(prime: ids, count: count, temperature: temperature, topK: topK, seed: seed))
    if json {
        print(JSON.object([
            ("checkpoint", .string(path)), ("model", .string(generator.run.config.model)), ("prime", .string(prime)),
            ("count", .int(count)), ("temperature", .number(temperature)), ("top_k", topK.map { .int($0) } ?? .null),
            ("seed", .int(Int(truncatingIfNeeded: seed))), ("text", .string(text)),
        ]).serialized())
    } else {
        print(prime + text)
    }
    return 0
}
