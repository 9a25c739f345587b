import BPTT
import Foundation

// bptt: the command-line front end. Argument parsing and printing only; the math is in BPTT.

let commands = [trainCommand, gradcheckCommand, explainCommand, benchCommand, sweepCommand, curriculumCommand, gradflowCommand,
                autoencoderCommand, classifyCommand, ganCommand, ganInterpolateCommand,
                predictCommand, ganSampleCommand, exportCommand]

let nameWidth = (commands.map(\.name.count).max() ?? 8) + 2
let topHelp = """
bptt — recurrent and MLP networks with hand-derived backpropagation

usage: bptt <command> [options]        bptt <command> --help

commands:
\(commands.map { "  " + $0.name.padding(toLength: nameWidth, withPad: " ", startingAt: 0) + $0.summary.split(separator: "\n").first! }.joined(separator: "\n"))

exit codes: 0 ok, 1 a check failed, 2 bad flags or input, 3 training diverged (NaN/∞)
"""

func fail(_ message: String, code: Int32) -> Never {
    FileHandle.standardError.write(("bptt: " + message + "\n").data(using: .utf8)!)
    exit(code)
}

var argv = Array(CommandLine.arguments.dropFirst())
if argv.isEmpty || argv[0] == "--help" || argv[0] == "-h" || argv[0] == "help" {
    print(topHelp)
    exit(argv.isEmpty ? 2 : 0)
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
do {
    var args = try Arguments(argv, options: command.options)
    exit(try command.run(&args))
} catch let e as BPTTError {
    fail(e.description, code: e.exitCode)
} catch {
    fail("\(error)", code: 2)
}
