import Foundation
#if arch(x86_64)
import BPTTKernels512
#endif

/// Which GEMM micro-kernel Float products use: the 6×32 one on 16-lane AVX-512 vectors
/// (module BPTTKernels512, the only code built for AVX-512) when this CPU has AVX-512, else two
/// 6×16 AVX2 kernels. Both compute every element of C as the same FMA chain, so the numbers are
/// identical; only the speed differs. `BPTT_AVX512=0` in the environment turns it off.
public enum GEMMKernels {
    /// True when Float GEMMs use the AVX-512 kernel. Tests switch it to compare the two paths.
    /// Read at every strip of every product, so without the run-time exclusivity check (a tracked
    /// access cost 2–3.5% of a training step); it is only written while no product runs.
    @exclusivity(unchecked) nonisolated(unsafe) public static var avx512: Bool = cpuHasAVX512 && ProcessInfo.processInfo.environment["BPTT_AVX512"] != "0"

    /// The CPU (as the kernel reports it) has every AVX-512 subset that `-target-cpu skylake-avx512`
    /// may use: F, CD, BW, DQ, VL. Always false off x86_64.
    public static let cpuHasAVX512: Bool = {
        #if arch(x86_64)
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return false }
        let flags = Set(line.split(separator: " "))
        return ["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"].allSatisfy { flags.contains(Substring($0)) }
        #else
        return false
        #endif
    }()

    /// "AVX-512 (6×32, 16 lanes)" or "AVX2 (2 × 6×16, 8 lanes)" etc., for bench tables.
    public static var description: String {
        #if arch(x86_64)
        return avx512 ? "AVX-512 kernel (6×32, 16 lanes)" : "AVX2+FMA kernel (2 × 6×16, 8 lanes)"
        #else
        return "portable kernel (2 × 6×16, 8 lanes)"
        #endif
    }
}
