import BPTTKernels512
import Dispatch
import Foundation

/// Measures our GEMM, the ceiling that every cell's speed is compared with.
public enum GEMMBenchmark {
    public struct Result: Sendable {
        public var m: Int, n: Int, k: Int, threads: Int
        public var gflops: Double
    }

    /// GFLOP/s of C = A·Bᵀ (the forward form) on m×k · (n×k)ᵀ in Float32, with `threads`
    /// independent products running at once (one per core), best of a few timed rounds.
    public static func run(m: Int, n: Int, k: Int, threads: Int = 1, seconds: Double = 0.5) -> Result {
        run(m: m, n: n, k: k, transA: false, transB: false, threads: threads, shards: true, seconds: seconds)
    }

    /// GFLOP/s of one product C (m×n) = op(A)·op(B) with inner size k, split across `threads` as
    /// training runs it (`gemm(_:transA:_:transB:into:beta:threads:)`, columns of C per thread),
    /// best of 3 timed rounds. `beta` 1 is the gradient form (C += …).
    /// With `shards`, each of `threads` threads runs its own product of these sizes at once (single-threaded
    /// GEMMs: the data-parallel shards of the GAN and the recurrent cells), and the figure is their sum.
    public static func run(m: Int, n: Int, k: Int, transA: Bool, transB: Bool, beta: Float = 0, threads: Int,
                           shards: Bool = false, seconds: Double = 0.3) -> Result {
        var rng = RNG(seed: 1)
        let a = transA ? Matrix<Float>.uniform(k, m, bound: 1, rng: &rng) : Matrix<Float>.uniform(m, k, bound: 1, rng: &rng)
        let b = transB ? Matrix<Float>.uniform(n, k, bound: 1, rng: &rng) : Matrix<Float>.uniform(k, n, bound: 1, rng: &rng)
        let copies = shards ? threads : 1
        var cs = (0..<copies).map { _ in Matrix<Float>(rows: m, cols: n) }
        let flop = 2.0 * Double(m) * Double(n) * Double(k) * Double(copies)
        func once(_ reps: Int) {
            if shards {
                cs.withUnsafeMutableBufferPointer { buf in
                    let c = buf
                    DispatchQueue.concurrentPerform(iterations: copies) { i in
                        for _ in 0..<reps { gemm(a, transA: transA, b, transB: transB, into: &c[i], beta: beta) }
                    }
                }
            } else {
                for _ in 0..<reps { gemm(a, transA: transA, b, transB: transB, into: &cs[0], beta: beta, threads: threads) }
            }
        }
        let reps = calibrate(seconds) { once(1) }
        var best = 0.0
        for _ in 0..<3 {
            let t0 = Date()
            once(reps)
            best = max(best, flop * Double(reps) / Date().timeIntervalSince(t0) / 1e9)
        }
        return Result(m: m, n: n, k: k, threads: threads, gflops: best)
    }

    /// Repetitions that take about seconds/5, doubling from 1.
    static func calibrate(_ seconds: Double, _ body: () -> Void) -> Int {
        var reps = 1
        while true {
            let t0 = Date()
            for _ in 0..<reps { body() }
            if Date().timeIntervalSince(t0) > seconds / 5 || reps > 1 << 20 { return reps }
            reps *= 2
        }
    }
}

extension GEMMBenchmark {
    public struct Peak: Sendable {
        public var gflops: Double, ghz: Double, cores: Int, flopsPerCycle: Int, isa: String, nominalGHz: Double
    }

    /// The machine's Float32 peak: cores × clock × FLOP per cycle, where a cycle retires two 8-lane
    /// FMAs with AVX2 + FMA (32 FLOP), 16 with AVX, 8 with SSE. The clock is the one the cores
    /// really run at, measured: a loop of independent 8-lane FMAs (the instruction our GEMM kernel
    /// is made of) runs on every core at once, and its throughput ÷ FLOP per cycle gives the
    /// effective clock (with boost, above the nominal one /proc/cpuinfo names, which is kept as
    /// `nominalGHz`). With AVX-512 in use (`GEMMKernels.avx512`) a cycle retires two 16-lane FMAs
    /// (64 FLOP) and the loop uses them; AMD's Zen 4 splits each 16-lane FMA over its two 8-lane
    /// pipes, so there a cycle retires 32 FLOP with AVX-512 too.
    public static func theoreticalPeak() -> Peak {
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let info = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let flags = Set((info.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) ?? "").split(separator: " ").map(String.init))
        // AMD Zen 4 (family 25) runs AVX-512 on its two 256-bit FMA pipes: 16 lanes take two passes
        let zen4 = info.contains("AuthenticAMD") && (info.split(separator: "\n").first(where: { $0.hasPrefix("cpu family") })?
            .split(separator: ":").last?.trimmingCharacters(in: .whitespaces)) == "25"
        let (perCycle, isa) = GEMMKernels.avx512 ? (zen4 ? (32, "AVX-512 on AMD Zen 4: 2 FMA pipes of 8 lanes, a 16-lane FMA in two passes")
                                                        : (64, "AVX-512, 2 FMA units of 16 lanes"))
                            : flags.contains("avx2") && flags.contains("fma") ? (32, "AVX2+FMA, 2 FMA units")
                            : flags.contains("avx") ? (16, "AVX") : (8, "SSE")
        let measured = fmaThroughput(threads: cores)                 // GFLOP/s on all cores
        let ghz = measured / Double(cores * perCycle)
        return Peak(gflops: Double(cores) * ghz * Double(perCycle), ghz: ghz, cores: cores, flopsPerCycle: perCycle, isa: isa,
                    nominalGHz: nominalGHz(info))
    }

    static func nominalGHz(_ info: String) -> Double {
        if let name = info.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
           let at = name.range(of: "@ "), let g = Double(name[at.upperBound...].replacingOccurrences(of: "GHz", with: "").trimmingCharacters(in: .whitespaces)) {
            return g
        }
        if let mhz = info.split(separator: "\n").first(where: { $0.hasPrefix("cpu MHz") }),
           let v = Double(mhz.split(separator: ":").last?.trimmingCharacters(in: .whitespaces) ?? "") {
            return v / 1000
        }
        return 0
    }

    /// GFLOP/s of 12 independent chains of 8-lane (16 with AVX-512) FMAs per thread (enough in flight to
    /// cover the FMA latency of two units), `threads` threads at once, best of 3 rounds. Each thread
    /// times its own loop in its own CPU time and the rates are summed, so neither a worker thread that
    /// starts late (the first parallel call of a process wakes the pool) nor another process sharing
    /// the cores lowers the figure: it is what a core does while it runs.
    public static func fmaThroughput(threads: Int, iterations: Int = 4_000_000) -> Double {
        var best = 0.0
        let n = max(threads, 1)
        for _ in 0..<3 {
            let sink = UnsafeMutablePointer<Float>.allocate(capacity: n), seconds = UnsafeMutablePointer<Double>.allocate(capacity: n)
            defer { sink.deallocate(); seconds.deallocate() }
            DispatchQueue.concurrentPerform(iterations: n) { t in
                let t0 = threadCPUSeconds()
                sink[t] = fmaChains(iterations: iterations, seed: Float(t) * 1e-9)
                seconds[t] = threadCPUSeconds() - t0
            }
            var keep: Float = 0, rate = 0.0
            for t in 0..<n { keep += sink[t]; rate += Double(iterations) * 12 * Double(lanes) * 2 / seconds[t] / 1e9 }
            if keep.isNaN { return 0 }           // uses the results, so the loop cannot be removed
            best = max(best, rate)
        }
        return best
    }

    /// CPU time of the calling thread, in seconds.
    static func threadCPUSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    static func fmaChains(iterations: Int, seed: Float) -> Float {
        #if arch(x86_64)
        if GEMMKernels.avx512 { return Kernels512.fmaChains(iterations: iterations, seed: seed) }
        #endif
        return fmaChains8(iterations: iterations, seed: seed)
    }

    static var lanes: Int { GEMMKernels.avx512 ? 16 : 8 }

    @inline(never)
    static func fmaChains8(iterations: Int, seed: Float) -> Float {
        BPTTKernels512.fmaChains(SIMD8<Float>.self, iterations: iterations, seed: seed)
    }
}
