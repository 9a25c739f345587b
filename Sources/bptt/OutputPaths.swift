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
    /// A folder, created (with missing parents) when the run writes; `default` is used when the flag is absent.
    case folder(default: String?)
}

extension Option {
    /// This option names a path the run writes.
    func writes(_ kind: OutputKind) -> Option {
        var o = self
        o.output = kind
        return o
    }
}

/// Checks every output flag of `options` that `a` gives (and the default folders); throws the
/// first problem as a usage error (exit 2).
func checkOutputs(_ a: Arguments, _ options: [Option]) throws {
    for o in options {
        guard let kind = o.output else { continue }
        switch kind {
        case .file:
            if let path = a.string(o.name) { try checkWritableFile(path, flag: "--" + o.name) }
        case .folder(let d):
            if let path = a.string(o.name) ?? d { try checkWritableFolder(path, flag: a.has(o.name) ? "--" + o.name : "--\(o.name) (default)") }
        }
    }
}

private func isDirectory(_ path: String) -> Bool? {
    var st = stat()
    guard stat(path, &st) == 0 else { return nil }
    return (st.st_mode & S_IFMT) == S_IFDIR
}

/// The nearest part of `path` (itself or a parent) that exists, "." for a relative path with none.
private func nearestExisting(_ path: String) -> String {
    var p = path
    while !p.isEmpty && p != "/" && isDirectory(p) == nil {
        let parent = (p as NSString).deletingLastPathComponent
        if parent == p { break }
        p = parent
    }
    return p.isEmpty ? "." : p
}

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
    if let dir = isDirectory(path) {
        if dir { throw refuse(flag, path, "is a folder; give a file name inside it") }
        if virtualFileSystem(path) { throw refuse(flag, path, "is on a virtual file system that holds no files") }
        let fd = open(path, O_WRONLY)
        guard fd >= 0 else { throw refuse(flag, path, "cannot be written (\(posixCause(errno)))") }
        close(fd)
        return
    }
    let parent = (path as NSString).deletingLastPathComponent
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
