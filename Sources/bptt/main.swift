import BPTT
import Foundation

// bptt: the command-line front end. Argument parsing and printing only; the math is in BPTT.

let commands = [trainCommand, gradcheckCommand, explainCommand, benchCommand, sweepCommand, curriculumCommand, gradflowCommand,
                autoencoderCommand, classifyCommand, ganCommand, ganInterpolateCommand,
                predictCommand, ganSampleCommand, exportCommand, generateCommand]

/// The tool's version (`bptt --version`).
let bpttVersion = "0.1.0"

/// A command's summary as one whole sentence for `bptt --help`: its first sentence, on one line.
func firstSentence(_ text: String) -> String {
    let line = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
    if let end = line.range(of: ". ") { return String(line[..<end.lowerBound]) + "." }
    return line.hasSuffix(".") ? line : line + "."
}

let nameWidth = (commands.map(\.name.count).max() ?? 8) + 2
let topHelp = """
bptt — recurrent and MLP networks with hand-derived backpropagation

usage: bptt <command> [options]        bptt <command> --help        bptt --version

commands:
\(commands.map { "  " + $0.name.padding(toLength: nameWidth, withPad: " ", startingAt: 0) + firstSentence($0.summary) }.joined(separator: "\n"))

exit codes: 0 ok, 1 a check failed, 2 bad flags or input, 3 training diverged (NaN/∞), 130 interrupted (Ctrl-C; checkpoint saved with --save)
"""

func fail(_ message: String, code: Int32) -> Never {
    // one line, even when a path or value in it holds a line break
    let line = message.replacingOccurrences(of: "\r", with: "\\r").replacingOccurrences(of: "\n", with: "\\n")
    FileHandle.standardError.write(("bptt: " + line + "\n").data(using: .utf8)!)
    exit(code)
}

var argv = Array(CommandLine.arguments.dropFirst())
if argv.isEmpty || argv[0] == "--help" || argv[0] == "-h" || argv[0] == "help" {
    print(topHelp)
    exit(argv.isEmpty ? 2 : 0)
}
if argv[0] == "--version" || argv[0] == "version" {
    print("bptt \(bpttVersion)")
    exit(0)
}
var name = argv.removeFirst()
// two-word commands ("gan interpolate")
if let sub = argv.first, !sub.hasPrefix("-"), commands.contains(where: { $0.name == name + " " + sub }) {
    name += " " + argv.removeFirst()
}
guard let command = commands.first(where: { $0.name == name }) else {
    fail("unknown command '\(name)' (commands: \(commands.map(\.name).joined(separator: ", ")); see bptt --help)", code: 2)
}
if argv.contains("--help") || argv.contains("-h") {
    print(command.helpText)
    exit(0)
}
// the first thread to find a size too large says so and exits; another (the second shard) waits for the exit
let refusingOnce = NSLock()
MemoryLimit.exceeded = { refusingOnce.lock(); fail($0, code: 2) }
do {
    var args = try Arguments(argv, options: command.options)
    try checkOutputs(args, command.options)
    let status = try command.run(&args)
    // a flag the command did not use is never dropped silently
    if status == 0 || status == 1 {
        for flag in args.unread { warn("--\(flag) was given but \(command.name) did not use it (this run did not depend on it)") }
    }
    exit(status)
} catch let e as BPTTError {
    fail(e.description, code: e.exitCode)
} catch {
    fail(fileErrorCause(error), code: 2)
}
