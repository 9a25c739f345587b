import BPTT

/// One flag a command accepts.
struct Option {
    let name: String          // without the leading dashes
    let value: String?        // placeholder for a flag that takes a value (e.g. "N"); nil for a switch
    let help: String
    init(_ name: String, _ value: String? = nil, _ help: String) {
        self.name = name
        self.value = value
        self.help = help
    }
}

/// A subcommand: its flags, its help text, and what it does.
struct Command {
    let name: String
    let summary: String
    let usage: String
    let options: [Option]
    let run: (inout Arguments) throws -> Int32

    var helpText: String {
        var lines = ["usage: bptt \(usage)", "", summary, "", "options:"]
        let width = options.map { "--\($0.name)\($0.value.map { " " + $0 } ?? "")".count }.max() ?? 0
        for o in options + [Option("help", nil, "show this help")] {
            let flag = "--\(o.name)\(o.value.map { " " + $0 } ?? "")"
            lines.append("  " + flag.padding(toLength: max(width, 6) + 2, withPad: " ", startingAt: 0) + o.help)
        }
        return lines.joined(separator: "\n")
    }
}

/// Parsed flags of one command. Every accessor validates and throws a one-line usage error
/// naming the flag; `finish()` rejects any flag that the command did not read.
struct Arguments {
    private var values: [String: String] = [:]
    private var switches: Set<String> = []
    private var order: [String] = []

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
    }

    func flag(_ name: String) -> Bool { switches.contains(name) }
    func has(_ name: String) -> Bool { values[name] != nil }

    func string(_ name: String) -> String? { values[name] }

    func string(_ name: String, default d: String) -> String { values[name] ?? d }

    func choice(_ name: String, _ allowed: [String], default d: String) throws -> String {
        let v = values[name] ?? d
        guard allowed.contains(v) else {
            throw BPTTError.usage("--\(name): unknown value '\(v)' (expected one of: \(allowed.joined(separator: ", ")))")
        }
        return v
    }

    func int(_ name: String, default d: Int, min lo: Int? = nil, max hi: Int? = nil) throws -> Int {
        guard let s = values[name] else { return d }
        guard let v = Int(s.replacingOccurrences(of: "_", with: "")) else { throw BPTTError.usage("--\(name): '\(s)' is not an integer") }
        if let lo, v < lo { throw BPTTError.usage("--\(name): \(v) is below the minimum \(lo)") }
        if let hi, v > hi { throw BPTTError.usage("--\(name): \(v) is above the maximum \(hi)") }
        return v
    }

    func double(_ name: String, default d: Double, positive: Bool = false, nonNegative: Bool = false) throws -> Double {
        guard let s = values[name] else { return d }
        guard let v = Double(s), v.isFinite else { throw BPTTError.usage("--\(name): '\(s)' is not a finite number") }
        if positive && v <= 0 { throw BPTTError.usage("--\(name): \(s) must be greater than 0") }
        if nonNegative && v < 0 { throw BPTTError.usage("--\(name): \(s) must not be negative") }
        return v
    }

    func seed(_ name: String = "seed") throws -> UInt64 {
        guard let s = values[name] else { return 0 }
        guard let v = UInt64(s) else { throw BPTTError.usage("--\(name): '\(s)' is not a non-negative integer") }
        return v
    }
}
