import BPTT
import Foundation

// Every path a run writes is checked before any work (before the data are read or step 1 runs):
// a missing folder, a path under a regular file, a folder where a file is expected, a place the
// file system refuses (permission, read-only, /proc) → one line naming the flag, the path and the
// cause, exit 2. Nothing is left behind by the check.

/// What an output flag names.
enum OutputKind {
    /// A file; its folder must exist.
    case file
    /// A checkpoint file; its folder must exist.
    case checkpoint
    /// A PNG image; its folder must exist.
    case png
    /// A folder, created (with missing parents) when the run writes; `default` is used when the flag is absent.
    case folder(default: String?)
}

extension Option {
    /// This option names a path the run writes; for a folder, `files` are the names written inside
    /// it, which no other output of the run may name.
    func writes(_ kind: OutputKind, files: [String] = []) -> Option {
        var o = self
        o.output = kind
        o.filesInside = files
        return o
    }
}

/// Checks every output flag of `options` that `a` gives (and the default folders); throws the
/// first problem as a usage error (exit 2).
func checkOutputs(_ a: Arguments, _ options: [Option]) throws {
    var files: [(flag: String, path: String)] = []
    for o in options {
        guard let kind = o.output else { continue }
        switch kind {
        case .file, .checkpoint, .png:
            guard let path = a.peek(o.name) else { continue }
            try checkWritableFile(path, flag: "--" + o.name)
            try checkReplaceable(path, flag: "--" + o.name, writes: kind.content)
            files.append(("--" + o.name, path))
        case .folder(let d):
            if let path = a.peek(o.name) ?? d {
                try checkWritableFolder(path, flag: a.has(o.name) ? "--" + o.name : "--\(o.name) (default)")
                files += o.filesInside.map { ("--" + o.name, path + "/" + $0) }
            }
        }
    }
    try checkDistinct(files, inputs: inputFlags.compactMap { f in a.peek(f).map { ("--" + f, $0) } })
}

/// The flags that name a file the run reads (`--input` is also the text to predict from).
let inputFlags = ["data", "input", "checkpoint", "resume", "init-from", "case", "answers", "vectors", "compare", "results", "load"]

extension OutputKind {
    /// What a file output writes, for `checkReplaceable`.
    var content: FileContent {
        switch self {
        case .checkpoint: return .checkpoint
        case .png: return .png
        case .file, .folder: return .other
        }
    }
}

/// What a file holds, as far as replacing it goes: a bptt checkpoint, a PNG image, or anything else.
enum FileContent: Equatable {
    case checkpoint, png, other
    var name: String { self == .checkpoint ? "a bptt checkpoint" : self == .png ? "a PNG image" : "other content" }

    /// What the file at `path` holds, nil when there is none or it is empty.
    static func of(_ path: String) -> FileContent? {
        guard let h = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? h.close() }
        let head = [UInt8](h.readData(ofLength: 8))
        if head.isEmpty { return nil }
        if head == Checkpoint.magic { return .checkpoint }
        if head == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] { return .png }
        return .other
    }
}

/// An output replaces an existing file only when that file holds what the output writes (a
/// checkpoint over a checkpoint, a PNG over a PNG) or, for outputs other than checkpoints,
/// something other than either: a log never overwrites a checkpoint, and a checkpoint never
/// overwrites a data file.
func checkReplaceable(_ path: String, flag: String, writes: FileContent) throws {
    guard let found = FileContent.of(path), found != writes else { return }
    if found == .other && writes != .checkpoint { return }
    throw refuse(flag, path, "already holds \(found.name), which this output would replace; remove it or choose another name")
}

/// The same path named twice: by two outputs (one would overwrite the other), or by an output and
/// an input (the run would overwrite what it reads), except `--save` with `--resume`, which
/// continues a run in place.
func checkDistinct(_ outputs: [(flag: String, path: String)], inputs: [(flag: String, path: String)]) throws {
    func same(_ p: String, _ q: String) -> Bool {
        func canonical(_ s: String) -> String { URL(fileURLWithPath: s).standardizedFileURL.resolvingSymlinksInPath().path }
        return !p.isEmpty && !q.isEmpty && canonical(p) == canonical(q)
    }
    for (i, o) in outputs.enumerated() {
        for other in outputs[..<i] where same(o.path, other.path) {
            throw refuse(o.flag, o.path, "\(other.flag) writes this file too; each output needs a file of its own")
        }
        for input in inputs where same(o.path, input.path) && !(o.flag == "--save" && input.flag == "--resume") {
            throw refuse(o.flag, o.path, "is also the input \(input.flag); the run would overwrite what it reads")
        }
    }
}

/// The folder part of `path`: "" when it names none ("a", "a/"), "/" for a name at the root.
/// (corelibs Foundation's `NSString.deletingLastPathComponent` traps on a one-character path.)
func parentFolder(_ path: String) -> String {
    var p = Substring(path)
    while p.count > 1 && p.hasSuffix("/") { p = p.dropLast() }
    guard let slash = p.lastIndex(of: "/") else { return "" }
    var parent = p[..<slash]
    while parent.count > 1 && parent.hasSuffix("/") { parent = parent.dropLast() }
    return parent.isEmpty ? "/" : String(parent)
}

/// The type bits of `path`'s mode (S_IFDIR, S_IFREG, …), followed through symbolic links; nil when nothing is there.
private func fileType(_ path: String) -> mode_t? {
    var st = stat()
    guard stat(path, &st) == 0 else { return nil }
    return st.st_mode & S_IFMT
}

private func isDirectory(_ path: String) -> Bool? { fileType(path).map { $0 == S_IFDIR } }

/// The nearest part of `path` (itself or a parent) that exists, "." for a relative path with none.
private func nearestExisting(_ path: String) -> String {
    var p = path
    while !p.isEmpty && p != "/" && isDirectory(p) == nil {
        let parent = parentFolder(p)
        if parent == p { break }
        p = parent
    }
    return p.isEmpty ? "." : p
}

/// Longest output file name, in bytes.
let maxFileName = 200

/// Whether `path` (followed through symbolic links) is a regular file.
private func isRegularFile(_ path: String) -> Bool { fileType(path) == S_IFREG }

/// /proc and /sys hold no files of ours, whatever the permissions say (`path` exists).
private func virtualFileSystem(_ path: String) -> Bool {
    guard let resolved = realpath(path, nil) else { return false }
    defer { free(resolved) }
    let p = String(cString: resolved)
    return ["/proc", "/sys"].contains { p == $0 || p.hasPrefix($0 + "/") }
}

private func refuse(_ flag: String, _ path: String, _ cause: String) -> BPTTError {
    .usage("\(flag) \(path): \(cause); nothing was run")
}

func checkWritableFile(_ path: String, flag: String) throws {
    guard !path.isEmpty else { throw BPTTError.usage("\(flag): empty path") }
    if path.hasSuffix("/") { throw refuse(flag, path, "names a folder; give a file name") }
    if let name = path.split(separator: "/").last, name.utf8.count > maxFileName {
        throw refuse(flag, path, "its name is \(name.utf8.count) bytes long; at most \(maxFileName) (the file system's limit is 255, and a temporary file is written beside it)")
    }
    if let dir = isDirectory(path) {
        if dir { throw refuse(flag, path, "is a folder; give a file name inside it") }
        if virtualFileSystem(path) { throw refuse(flag, path, "is on a virtual file system that holds no files") }
        // a device, pipe or socket: the write would replace it with a regular file (or, for a
        // pipe, wait for a reader), so only regular files are replaced
        if !isRegularFile(path) { throw refuse(flag, path, "is not a regular file (a device, a pipe or a socket); give the path of a file") }
        let fd = open(path, O_WRONLY)
        guard fd >= 0 else { throw refuse(flag, path, "cannot be written (\(posixCause(errno)))") }
        close(fd)
        return
    }
    let parent = parentFolder(path)
    let folder = parent.isEmpty ? "." : parent
    let existing = nearestExisting(folder)
    guard isDirectory(existing) == true else { throw refuse(flag, path, "\(existing) is a file, not a folder") }
    guard existing == folder else { throw refuse(flag, path, "the folder \(folder) does not exist") }
    if virtualFileSystem(folder) { throw refuse(flag, path, "\(folder) is a virtual file system that holds no files") }
    // create and remove a probe file beside it: the only test that also holds for root and read-only
    // mounts (a name of its own, so that runs started side by side do not see each other's probe)
    let probe = (folder as NSString).appendingPathComponent(".bptt-probe-\(getpid())")
    let fd = open(probe, O_WRONLY | O_CREAT | O_EXCL, 0o644)
    guard fd >= 0 else { throw refuse(flag, path, "cannot be created in \(folder) (\(posixCause(errno)))") }
    close(fd)
    unlink(probe)
}

func checkWritableFolder(_ path: String, flag: String) throws {
    guard !path.isEmpty else { throw BPTTError.usage("\(flag): empty path") }
    let existing = nearestExisting(path)
    let ext = (path as NSString).pathExtension.lowercased()
    if existing != path && ["png", "svg", "csv", "html", "json", "ckpt", "txt", "md"].contains(ext) {
        throw refuse(flag, path, "\(flag.split(separator: " ")[0]) names a folder (the files are named inside it, see --help), not a .\(ext) file")
    }
    guard isDirectory(existing) == true else {
        throw refuse(flag, path, existing == path ? "is a file; give a folder" : "\(existing) is a file, not a folder")
    }
    if virtualFileSystem(existing) { throw refuse(flag, path, "\(existing) is a virtual file system that holds no files") }
    // make and remove a probe folder where the first missing folder (or a file) will go
    let probe = (existing as NSString).appendingPathComponent(".bptt-probe-\(getpid())")
    guard mkdir(probe, 0o755) == 0 else {
        throw refuse(flag, path, "\(existing == path ? "the folder" : "its parent " + existing) is not writable (\(posixCause(errno)))")
    }
    rmdir(probe)
}
