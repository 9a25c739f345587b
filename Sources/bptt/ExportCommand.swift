import BPTT
import Foundation

// `bptt export`: a checkpoint's weights as safetensors or NumPy .npz under PyTorch's names, and
// `train --init-from`, which reads them back. The name mapping is TorchExport's (README: Export).

let exportCommand = Command(
    name: "export",
    summary: "Write a checkpoint's weights as .safetensors or .npz, under PyTorch's tensor names and layouts (load_state_dict).",
    usage: "export --checkpoint FILE --out FILE.safetensors|FILE.npz [--json]",
    options: [
        Option("checkpoint", "FILE", "a checkpoint written by --save (or generator.ckpt of gan --out)"),
        Option("out", "FILE", "FILE.safetensors or FILE.npz: the format follows the extension").writes(.file),
        Option("json", nil, "end with one JSON line: the file, its format and every tensor's name and shape"),
    ],
    run: runExport
)

func runExport(_ a: inout Arguments) throws -> Int32 {
    guard let out = a.string("out") else { throw BPTTError.usage("--out FILE.safetensors|FILE.npz is required") }
    let lower = out.lowercased()
    guard lower.hasSuffix(".safetensors") || lower.hasSuffix(".npz") else {
        throw BPTTError.usage("--out \(out): the format follows the extension, .safetensors or .npz")
    }
    let (c, source) = try checkpointFlag(a)
    let (tensors, metadata) = try TorchExport.export(c, source: source)
    let format = lower.hasSuffix(".npz") ? "npz" : "safetensors"
    let bytes = format == "npz" ? NPZ.encode(tensors) : Safetensors.encode(tensors, metadata: metadata)
    do { try writeFileAtomically(out, Data(bytes)) } catch { throw BPTTError.input("--out \(out): cannot write the file") }
    let modules = metadata.first { $0.0 == "torch_modules" }?.1 ?? ""
    print("wrote \(out) (\(format), \(bytes.count) bytes): \(tensors.count) tensors of the \(c.model) checkpoint at step \(c.step)")
    for t in tensors { print("  " + t.name.padding(toLength: max(24, t.name.count + 1), withPad: " ", startingAt: 0) + t.shapeText) }
    print("PyTorch modules: \(modules)")
    if a.flag("json") {
        print(JSON.object([("command", .string("export")), ("checkpoint", .string(source)), ("out", .string(out)), ("format", .string(format)),
                           ("kind", .string(metadata.first { $0.0 == "bptt_kind" }?.1 ?? "")), ("torch_modules", .string(modules)),
                           ("tensors", .array(tensors.map { .object([("name", .string($0.name)), ("shape", .array($0.shape.map { .int($0) }))]) }))]).serialized())
    }
    return 0
}

/// `train --init-from`: the flag, and the weights loaded into a new palindrome run before step 1.
let initFromOption = Option("init-from", "FILE", "start from these weights: .safetensors or .npz under PyTorch's names (bptt export writes them; nn.RNN/LSTM/GRU + nn.Linear state_dicts fit), checked by name and shape")

func initFrom(_ path: String, _ trainer: PalindromeTrainer) throws {
    let given = try TorchExport.readTensors(path)
    var c = trainer.checkpoint()
    let layout = try TorchExport.layout(of: c, source: path)
    c.tensors = try TorchExport.bpttTensors(from: given, layout: layout, like: c.tensors, source: path)
    try trainer.restore(c, source: path)
}
