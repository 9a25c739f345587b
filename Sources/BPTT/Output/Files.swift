import Foundation

/// Writes `text` to `path` through a temporary file and a rename, so a reader (or a crash)
/// never sees half a file.
public func writeFileAtomically(_ path: String, _ text: String) throws {
    try writeFileAtomically(path, Data(text.utf8))
}

public func writeFileAtomically(_ path: String, _ data: Data) throws {
    let url = URL(fileURLWithPath: path)
    do {
        try data.write(to: url, options: .atomic)
    } catch {
        throw BPTTError.input("cannot write \(path): \(error.localizedDescription)")
    }
}
