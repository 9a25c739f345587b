import BPTT
import Foundation

let benchCommand = Command(
    name: "bench",
    summary: "Measure training throughput (examples/s) on the palindrome task after a warm-up.",
    usage: "bench --model rnn|rnn-relu|lstm|gru|gru-cho [--json] [options]",
    options: [
        Option("model", "NAME", "rnn | rnn-relu | lstm | gru | gru-cho (default rnn)"),
        Option("layers", "N", "stacked levels (default 1)"),
        Option("bidirectional", nil, "two directions per level"),
        Option("length", "T", "sequence length (default 10)"),
        Option("batch", "B", "batch size (default 128)"),
        Option("hidden", "H", "hidden units (default 128)"),
        Option("steps", "N", "timed steps (default 300)"),
        Option("warmup", "N", "untimed steps first (default 30)"),
        Option("threads", "N", "worker threads (default 2)"),
        Option("gemm", nil, "measure our GEMM instead: GFLOP/s on the shapes the cells use and on 1024²"),
        Option("json", nil, "end with one JSON line of results"),
    ],
    run: runBench
)

func runBench(_ a: inout Arguments) throws -> Int32 {
    if a.flag("gemm") { return try runGEMMBench(a) }
    var c = TrainConfig()
    c.model = try a.choice("model", PalindromeTrainer.models, default: "rnn")
    c.layers = try a.int("layers", default: 1, min: 1, max: 64)
    c.bidirectional = a.flag("bidirectional")
    c.length = try a.int("length", default: 10, min: 1, max: 100_000)
    c.batch = try a.int("batch", default: 128, min: 1, max: 1_000_000)
    c.hidden = try a.int("hidden", default: 128, min: 1, max: 100_000)
    c.threads = try a.int("threads", default: 2, min: 1, max: 64)
    c.optimizer = OptimizerConfig(kind: .rmsprop, lr: 1e-3)
    c.clip = 10
    let steps = try a.int("steps", default: 300, min: 1)
    let warmup = try a.int("warmup", default: 30, min: 0)
    let trainer = try PalindromeTrainer(c)
    for _ in 0..<warmup { trainer.trainStep() }
    let start = Date()
    for _ in 0..<steps { trainer.trainStep() }
    let seconds = Date().timeIntervalSince(start)
    let rate = Double(steps * c.batch) / seconds
    print(String(format: "%@ T=%d B=%d H=%d, %d threads: %.0f examples/s (%d steps in %.2f s)",
                 c.model as NSString, c.length, c.batch, c.hidden, c.threads, rate, steps, seconds))
    if a.flag("json") {
        print(JSON.object([
            ("model", .string(c.model)), ("examples_per_s", .number(rate.rounded())),
            ("length", .int(c.length)), ("batch", .int(c.batch)), ("hidden", .int(c.hidden)),
            ("threads", .int(c.threads)), ("steps", .int(steps)), ("seconds", .number(seconds)),
        ]).serialized())
    }
    return 0
}

func runGEMMBench(_ a: Arguments) throws -> Int32 {
    let threads = try a.int("threads", default: 2, min: 1, max: 64)
    let shapes = [(64, 128, 128, "RNN step, one shard (64×128·128×128)"),
                  (128, 512, 129, "LSTM gates, batch 128 (128×129·129×512)"),
                  (1024, 1024, 1024, "square 1024²")]
    var rows: [JSON] = []
    print("GEMM C = A·B (Float32), GFLOP/s")
    for (m, n, k, label) in shapes {
        let one = GEMMBenchmark.run(m: m, n: n, k: k, threads: 1)
        let all = GEMMBenchmark.run(m: m, n: n, k: k, threads: threads)
        print(String(format: "  %-42@ 1 thread %6.1f   %d threads %6.1f", label as NSString, one.gflops, threads, all.gflops))
        rows.append(.object([("m", .int(m)), ("n", .int(n)), ("k", .int(k)),
                             ("gflops_1_thread", .number(one.gflops)), ("gflops_all_threads", .number(all.gflops))]))
    }
    if a.flag("json") { print(JSON.object([("gemm", .array(rows)), ("threads", .int(threads))]).serialized()) }
    return 0
}
