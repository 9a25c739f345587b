import BPTT

/// One flag a command accepts.
struct Option {
    let name: String          // without the leading dashes
    let value: String?        // placeholder for a flag that takes a value (e.g. "N"); nil for a switch
    let help: String
    /// Set (through `writes`) when the flag names a path the run writes: checked before any work.
    var output: OutputKind? = nil
    /// Set (through `alias`) when this spelling stands for another flag (`sweep --models` for `--model`).
    var aliasOf: String? = nil
    /// For an output folder: the names of the files the run writes inside it.
    var filesInside: [String] = []
    init(_ name: String, _ value: String? = nil, _ help: String) {
        self.name = name
        self.value = value
        self.help = help
    }
}

extension Option {
    /// `--name` as another spelling of `--flag` (kept so that older command lines still run).
    static func alias(_ name: String, of flag: String, _ value: String) -> Option {
        var o = Option(name, value, "the same as --\(flag)")
        o.aliasOf = flag
        return o
    }
}

/// The known flag closest to a mistyped one (edit distance at most 2, or one a prefix of the other).
func closestFlag(to name: String, in known: [String]) -> String? {
    func distance(_ a: [Character], _ b: [Character]) -> Int {   // Levenshtein
        var row = Array(0...b.count)
        for (i, x) in a.enumerated() {
            var diagonal = row[0]
            row[0] = i + 1
            for (j, y) in b.enumerated() {
                let above = row[j + 1]
                row[j + 1] = min(above + 1, row[j] + 1, diagonal + (x == y ? 0 : 1))
                diagonal = above
            }
        }
        return row[b.count]
    }
    let scored = known.map { ($0, distance(Array(name), Array($0))) }.sorted { $0.1 < $1.1 || ($0.1 == $1.1 && $0.0 < $1.0) }
    if let best = scored.first, best.1 <= (name.count >= 4 ? 2 : 1) { return best.0 }
    if name.count >= 3, let p = known.first(where: { $0.hasPrefix(name) || name.hasPrefix($0) }) { return p }
    return nil
}

/// Which flags a command has read (shared by the copies of an `Arguments`).
final class ReadFlags { var names: Set<String> = [] }

/// A subcommand: its flags, its help text, and what it does.
struct Command {
    let name: String
    let summary: String
    let usage: String
    let options: [Option]
    let run: (inout Arguments) throws -> Int32
    /// Printed after the options in --help (e.g. the defaults of each task).
    var notes: String? = nil

    var helpText: String {
        var lines = ["usage: bptt \(usage)", "", summary, "", "options:"]
        let width = options.map { "--\($0.name)\($0.value.map { " " + $0 } ?? "")".count }.max() ?? 0
        for o in options + [Option("help", nil, "show this help")] {
            let flag = "--\(o.name)\(o.value.map { " " + $0 } ?? "")"
            lines.append("  " + flag.padding(toLength: max(width, 6) + 2, withPad: " ", startingAt: 0) + o.help)
        }
        if let notes { lines += ["", notes] }
        return lines.joined(separator: "\n")
    }
}

/// Parsed flags of one command. Every accessor validates and throws a one-line usage error
/// naming the flag; `finish()` rejects any flag that the command did not read.
struct Arguments {
    private var values: [String: String] = [:]
    private var switches: Set<String> = []
    private var order: [String] = []
    private let read = ReadFlags()

    init(_ args: [String], options: [Option]) throws {
        let byName = Dictionary(options.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        var i = 0
        while i < args.count {
            let arg = args[i]
            guard arg.hasPrefix("--"), arg.count > 2 else {
                throw BPTTError.usage("unexpected argument '\(arg)' (flags start with --; see --help)")
            }
            var name = String(arg.dropFirst(2))
            var inline: String? = nil
            if let eq = name.firstIndex(of: "=") {
                inline = String(name[name.index(after: eq)...])
                name = String(name[..<eq])
            }
            guard let found = byName[name] else {
                let known = options.map(\.name) + ["help"]
                let hint = closestFlag(to: name, in: known).map { "did you mean --\($0)?" } ?? "see --help"
                throw BPTTError.usage("unknown flag --\(name) (\(hint))")
            }
            if let canonical = found.aliasOf { name = canonical }
            guard let option = byName[name] else { throw BPTTError.usage("unknown flag --\(name) (see --help)") }
            if values[name] != nil || switches.contains(name) { throw BPTTError.usage("flag --\(name) given twice") }
            if option.value != nil {
                if let inline {
                    values[name] = inline
                } else {
                    guard i + 1 < args.count, !args[i + 1].hasPrefix("--") else {
                        throw BPTTError.usage("flag --\(name) needs a value (\(option.value!))")
                    }
                    values[name] = args[i + 1]
                    i += 1
                }
            } else {
                if inline != nil { throw BPTTError.usage("flag --\(name) takes no value") }
                switches.insert(name)
            }
            order.append(name)
            i += 1
        }
        // a path flag given an empty value (an unset shell variable, say) names nothing
        for name in order where values[name] == "" && (byName[name]?.output != nil || name != "input" && inputFlags.contains(name)) {
            throw BPTTError.usage("--\(name): empty path")
        }
    }

    func flag(_ name: String) -> Bool { read.names.insert(name); return switches.contains(name) }
    /// Whether the flag was given (does not count as reading it).
    func has(_ name: String) -> Bool { values[name] != nil }
    /// Whether the switch or valued flag was given (does not count as reading it).
    func given(_ name: String) -> Bool { values[name] != nil || switches.contains(name) }

    func string(_ name: String) -> String? { read.names.insert(name); return values[name] }
    /// The flag's value without counting it as read (the checks made before every run).
    func peek(_ name: String) -> String? { values[name] }

    func string(_ name: String, default d: String) -> String { read.names.insert(name); return values[name] ?? d }

    /// The flags given on the command line that the command never read, in the order given.
    var unread: [String] { order.filter { !read.names.contains($0) } }

    func choice(_ name: String, _ allowed: [String], default d: String) throws -> String {
        read.names.insert(name)
        let v = values[name] ?? d
        guard allowed.contains(v) else {
            throw BPTTError.usage("--\(name): unknown value '\(v)' (expected one of: \(allowed.joined(separator: ", ")))")
        }
        return v
    }

    func int(_ name: String, default d: Int, min lo: Int? = nil, max hi: Int? = nil) throws -> Int {
        read.names.insert(name)
        guard let s = values[name] else { return d }
        guard let v = Int(s.replacingOccurrences(of: "_", with: "")) else { throw BPTTError.usage("--\(name): '\(s)' is not an integer") }
        if let lo, v < lo { throw BPTTError.usage("--\(name): \(v) is below the minimum \(lo)") }
        if let hi, v > hi { throw BPTTError.usage("--\(name): \(v) is above the maximum \(hi)") }
        return v
    }

    func double(_ name: String, default d: Double, positive: Bool = false, nonNegative: Bool = false) throws -> Double {
        read.names.insert(name)
        guard let s = values[name] else { return d }
        // decimal only: Swift's Double("0x10") would read hexadecimal
        guard !s.lowercased().contains("x"), let v = Double(s), v.isFinite else { throw BPTTError.usage("--\(name): '\(s)' is not a finite number") }
        if positive && v <= 0 { throw BPTTError.usage("--\(name): \(s) must be greater than 0") }
        if nonNegative && v < 0 { throw BPTTError.usage("--\(name): \(s) must not be negative") }
        return v
    }

    func seed(_ name: String = "seed") throws -> UInt64 {
        read.names.insert(name)
        guard let s = values[name] else { return 0 }
        guard let v = UInt64(s) else { throw BPTTError.usage("--\(name): '\(s)' is not a non-negative integer") }
        return v
    }
}
