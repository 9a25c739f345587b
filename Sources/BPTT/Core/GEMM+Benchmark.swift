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
        var rng = RNG(seed: 1)
        let a = Matrix<Float>.uniform(m, k, bound: 1, rng: &rng)
        let bT = Matrix<Float>.uniform(k, n, bound: 1, rng: &rng)   // B stored K×N: the kernel's native form
        var cs = (0..<threads).map { _ in Matrix<Float>(rows: m, cols: n) }
        let flop = 2.0 * Double(m) * Double(n) * Double(k)
        // calibrate repetitions to ~seconds/5 per round
        var reps = 1
        while true {
            let t0 = Date()
            for _ in 0..<reps { gemm(a, bT, into: &cs[0]) }
            let dt = Date().timeIntervalSince(t0)
            if dt > seconds / 5 || reps > 1 << 20 { break }
            reps *= 2
        }
        var best = 0.0
        for _ in 0..<3 {
            let t0 = Date()
            cs.withUnsafeMutableBufferPointer { buf in
                let c = buf
                DispatchQueue.concurrentPerform(iterations: threads) { i in
                    for _ in 0..<reps { gemm(a, bT, into: &c[i]) }
                }
            }
            let dt = Date().timeIntervalSince(t0)
            best = max(best, flop * Double(reps * threads) / dt / 1e9)
        }
        return Result(m: m, n: n, k: k, threads: threads, gflops: best)
    }
}

extension GEMMBenchmark {
    public struct Peak: Sendable {
        public var gflops: Double, ghz: Double, cores: Int, flopsPerCycle: Int, isa: String
    }

    /// The machine's theoretical Float32 peak: cores × clock × FLOP per cycle, where a cycle
    /// retires two 8-lane FMAs with AVX2 + FMA (32 FLOP), 16 with AVX, 8 with SSE. The clock is
    /// the nominal one from the CPU's name ("@ 2.80GHz"), else /proc/cpuinfo's current MHz.
    /// AVX-512 is not counted: the build targets Haswell at most.
    public static func theoreticalPeak() -> Peak {
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let info = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        var ghz = 0.0
        if let name = info.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
           let at = name.range(of: "@ "), let g = Double(name[at.upperBound...].replacingOccurrences(of: "GHz", with: "").trimmingCharacters(in: .whitespaces)) {
            ghz = g
        } else if let mhz = info.split(separator: "\n").first(where: { $0.hasPrefix("cpu MHz") }),
                  let v = Double(mhz.split(separator: ":").last?.trimmingCharacters(in: .whitespaces) ?? "") {
            ghz = v / 1000
        }
        let flags = Set((info.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) ?? "").split(separator: " ").map(String.init))
        let (perCycle, isa) = flags.contains("avx2") && flags.contains("fma") ? (32, "AVX2+FMA, 2 FMA units")
                            : flags.contains("avx") ? (16, "AVX") : (8, "SSE")
        return Peak(gflops: Double(cores) * ghz * Double(perCycle), ghz: ghz, cores: cores, flopsPerCycle: perCycle, isa: isa)
    }
}
