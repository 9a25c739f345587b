/// Errors that reach the user as one line and an exit code.
public enum BPTTError: Error, CustomStringConvertible, Equatable {
    /// Bad flags or values on the command line (exit 2).
    case usage(String)
    /// A bad input file or data (exit 2).
    case input(String)
    /// Training produced NaN or ±∞ (exit 3).
    case nonFinite(String)

    public var description: String {
        switch self {
        case .usage(let m), .input(let m), .nonFinite(let m): return m
        }
    }

    public var exitCode: Int32 {
        switch self {
        case .usage, .input: return 2
        case .nonFinite: return 3
        }
    }
}
