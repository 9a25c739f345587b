import Foundation

/// The one guard against a matrix larger than the machine: every `Matrix` allocation asks it
/// first, so that sizes too large for memory (a hidden size of 100,000 is a 40 GB W_hh) end in one
/// line naming the shape, not in the runtime's "failed to allocate" trap or the kernel's OOM kill.
///
/// The limit is the machine's physical memory (`ProcessInfo.physicalMemory`). What happens
/// when a matrix exceeds it is `MemoryLimit.exceeded`: by default a precondition failure with
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
    nonisolated(unsafe) public static var exceeded: (String) -> Never = { preconditionFailure($0) }

    /// Refuses `rows × cols` scalars of `stride` bytes (one matrix, or `what` when given) that
    /// exceed `bytes`.
    @inline(__always)
    static func check(_ rows: Int, _ cols: Int, _ stride: Int, what: @autoclosure () -> String? = nil) {
        let (n, o1) = rows.multipliedReportingOverflow(by: cols)
        let (b, o2) = n.multipliedReportingOverflow(by: stride)
        if o1 || o2 || b > bytes { refuse(rows, cols, stride, what: what()) }
    }

    static func refuse(_ rows: Int, _ cols: Int, _ stride: Int, what: String?) -> Never {
        let gb = Double(rows) * Double(cols) * Double(stride) / 1e9
        exceeded(String(format: "%@ (%.1f GB) is larger than this machine's memory (%.1f GB): choose smaller sizes (--hidden, --batch, --length, the widths)",
                        (what ?? "a \(rows)×\(cols) matrix") as NSString, gb, Double(bytes) / 1e9))
    }
}
