import Foundation

/// The one guard against a matrix larger than the machine: every `Matrix` allocation asks it
/// first, so that sizes too large for memory (a hidden size of 100,000 is a 40 GB W_hh) end in one
/// line naming the shape, not in the runtime's "failed to allocate" trap or the kernel's OOM kill.
///
/// The limit is the machine's physical memory (`ProcessInfo.physicalMemory`). What happens
/// when a matrix exceeds it is `MemoryLimit.exceeded`: by default a fatal error with
/// that line (a library caller asked for an impossible size); the `bptt` tool replaces it with
/// the line on standard error and exit status 2.
public enum MemoryLimit {
    /// Bytes a single matrix may take: the physical memory, or `BPTT_MEMORY_LIMIT` (bytes) when
    /// that is smaller (the tests use it to reach the refusal without a machine-sized matrix).
    public static let bytes: Int = {
        let physical = Int(clamping: ProcessInfo.processInfo.physicalMemory)
        guard let s = ProcessInfo.processInfo.environment["BPTT_MEMORY_LIMIT"], let v = Int(s), v > 0 else { return physical }
        return min(v, physical)
    }()

    /// Called with the refusal's text when a matrix would not fit; must not return.
    nonisolated(unsafe) public static var exceeded: (String) -> Never = { fatalError($0) }

    /// Refuses `rows × cols` scalars of `stride` bytes (one matrix, or `what` when given) that
    /// exceed `bytes`.
    @inline(__always)
    static func check(_ rows: Int, _ cols: Int, _ stride: Int, what: @autoclosure () -> String? = nil) {
        let (n, o1) = rows.multipliedReportingOverflow(by: cols)
        let (b, o2) = n.multipliedReportingOverflow(by: stride)
        if o1 || o2 || b > bytes { refuse(rows, cols, stride, what: what()) }
    }

    static func refuse(_ rows: Int, _ cols: Int, _ stride: Int, what: String?) -> Never {
        let size = Double(rows) * Double(cols) * Double(stride)
        exceeded("\(what ?? "a \(rows)×\(cols) matrix") (\(text(size))) is larger than this machine's memory (\(text(Double(bytes)))): choose smaller sizes")
    }

    /// Bytes in words: "40.0 GB", "16.0 MB", "512 kB".
    static func text(_ bytes: Double) -> String {
        bytes >= 1e9 ? String(format: "%.1f GB", bytes / 1e9) : bytes >= 1e6 ? String(format: "%.1f MB", bytes / 1e6) : String(format: "%.0f kB", bytes / 1e3)
    }

    /// Refuses, before anything is allocated, a recurrent run whose parameters (with their
    /// gradients, the shards' gradients and the optimiser's state: 8 copies) and T steps of caches
    /// (8·H per level and direction, and x_t, per row) would not fit in memory. Each matrix alone
    /// may fit while all of them do not: an LSTM of 50,000 units has four 10 GB gate matrices.
    /// Errors: `BPTTError.usage` naming the sizes.
    public static func checkRecurrentRun(model: String, layers: Int, bidirectional: Bool, input D: Int, hidden H: Int,
                                         batch B: Int, length T: Int) throws {
        let gates = model.hasPrefix("lstm") ? 4.0 : model.hasPrefix("gru") ? 3.0 : 1.0
        let dirs = bidirectional ? 2.0 : 1.0, h = Double(H)
        var parameters = 0.0
        for level in 0..<max(layers, 1) {
            let input = level == 0 ? Double(D) : h * dirs
            parameters += dirs * gates * h * (input + h + 1)
        }
        let parameterBytes = parameters * 4 * 8
        let cacheBytes = Double(T) * Double(B) * (Double(D) + 8 * h * dirs * Double(max(layers, 1))) * 4
        let total = parameterBytes + cacheBytes
        guard total > Double(bytes) else { return }
        throw BPTTError.usage("--hidden \(H), --batch \(B), --length \(T): the run needs about \(text(total)) (parameters \(text(parameterBytes)), \(T) steps of caches \(text(cacheBytes))), more than this machine's memory (\(text(Double(bytes))))")
    }
}
