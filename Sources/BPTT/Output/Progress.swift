import Foundation

/// Progress of a long command: a live bar redrawn in place on a terminal, plain lines (at most
/// one a second) when the output is a file or a pipe.
public final class Progress {
    public let total: Int
    public let label: String
    /// Units already done before this run (a resumed training run): shown, not timed.
    public let offset: Int
    private let start = Date()
    private var lastDraw = Date.distantPast
    private let interactive: Bool
    private let quiet: Bool
    private var drewBar = false

    /// - interactive: nil = decide by whether standard output is a terminal.
    public init(total: Int, label: String, offset: Int = 0, quiet: Bool = false, interactive: Bool? = nil) {
        self.offset = offset
        self.total = max(total - offset, 1)
        self.label = label
        self.quiet = quiet
        self.interactive = interactive ?? (isatty(STDOUT_FILENO) == 1)
    }

    public var elapsed: Double { Date().timeIntervalSince(start) }

    /// Reports `shown` of `total` (counting the offset) with a short status ("loss 0.31  accuracy 0.87  41000 ex/s").
    /// Draws at most every 0.2 s on a terminal and every second otherwise; always draws the last.
    public func update(_ shown: Int, _ status: @autoclosure () -> String) {
        guard !quiet else { return }
        let done = shown - offset
        let now = Date()
        let last = done >= total
        guard last || now.timeIntervalSince(lastDraw) >= (interactive ? 0.2 : 1.0) else { return }
        lastDraw = now
        let t = elapsed
        let eta = done > 0 ? t / Double(done) * Double(total - done) : .nan
        if interactive {
            let width = 24
            let filled = Int(Double(width) * Double(done) / Double(total))
            let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
            let line = "\r\(label) [\(bar)] \(shown)/\(total + offset)  \(status())  \(Progress.duration(t)) elapsed, ETA \(Progress.duration(eta))\u{1B}[K"
            FileHandle.standardOutput.write(Data(line.utf8))
            drewBar = true
            if last { finish() }
        } else {
            print("\(label) \(shown)/\(total + offset)  \(status())  \(Progress.duration(t)) elapsed, ETA \(Progress.duration(eta))")
            fflush(stdout)
        }
    }

    private var lastLine = Date.distantPast

    /// A line of its own (an epoch summary, a note). On a terminal the bar is cleared first and
    /// redrawn by the next `update`. `throttle`: at most one such line a second, unless `force`.
    public func line(_ s: @autoclosure () -> String, throttle: Bool = false, force: Bool = false) {
        guard !quiet else { return }
        let now = Date()
        guard force || !throttle || now.timeIntervalSince(lastLine) >= 1 else { return }
        lastLine = now
        if drewBar { FileHandle.standardOutput.write(Data("\r\u{1B}[K".utf8)); drewBar = false }
        print(s())
        fflush(stdout)
        if interactive { lastDraw = .distantPast }   // redraw the bar on the next update
    }

    /// A result line (a final accuracy, a file written): printed even when quiet, which hides
    /// progress only.
    public func result(_ s: String) {
        if drewBar { FileHandle.standardOutput.write(Data("\r\u{1B}[K".utf8)); drewBar = false }
        print(s)
        fflush(stdout)
        if interactive { lastDraw = .distantPast }
    }

    /// Ends the bar's line so that later output starts on a fresh one.
    public func finish() {
        if drewBar { FileHandle.standardOutput.write(Data("\n".utf8)); drewBar = false }
    }

    public static func duration(_ s: Double) -> String {
        guard s.isFinite else { return "--" }
        if s < 60 { return String(format: "%.0fs", s) }
        if s < 3600 { return String(format: "%dm%02ds", Int(s) / 60, Int(s) % 60) }
        return String(format: "%dh%02dm", Int(s) / 3600, (Int(s) % 3600) / 60)
    }
}
