import Foundation

/// Writes `text` to `path` through a temporary file and a rename, so a reader (or a crash)
/// never sees half a file.
public func writeFileAtomically(_ path: String, _ text: String) throws {
    try writeFileAtomically(path, Data(text.utf8))
}

public func writeFileAtomically(_ path: String, _ data: Data) throws {
    let url = URL(fileURLWithPath: writeTarget(path))
    do {
        try data.write(to: url, options: .atomic)
    } catch {
        throw BPTTError.input("cannot write \(path): \(fileErrorCause(error))")
    }
}

/// Creates the folder `path` and any missing parents; a failure says which path and why in words.
public func createFolder(_ path: String) throws {
    do { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
    catch { throw BPTTError.input("cannot create the folder \(path): \(fileErrorCause(error))") }
}

/// The cause of a failed file operation in words ("permission denied", "a file is in the way"),
/// never Foundation's domain and code.
public func fileErrorCause(_ error: Error) -> String {
    if let e = error as? BPTTError { return e.description }
    let ns = error as NSError
    // the operating system's reason, when Foundation kept it
    if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
        return posixCause(Int32(underlying.code))
    }
    if ns.domain == NSPOSIXErrorDomain { return posixCause(Int32(ns.code)) }
    if ns.domain == NSCocoaErrorDomain {
        switch CocoaError.Code(rawValue: ns.code) {
        case .fileNoSuchFile, .fileReadNoSuchFile: return "no such file or folder"
        case .fileWriteNoPermission, .fileReadNoPermission: return "permission denied"
        case .fileWriteOutOfSpace: return "no space left on the device"
        case .fileWriteVolumeReadOnly: return "the file system is read-only"
        case .fileWriteFileExists: return "a file is in the way"
        case .fileWriteInvalidFileName: return "not a valid file name"
        default: return "the file system refused the write"
        }
    }
    return "the file system refused the operation"
}

/// errno in words (lower case, as in the rest of a message).
public func posixCause(_ code: Int32) -> String {
    switch code {
    case ENOENT: return "no such file or folder"
    case ENOTDIR: return "a part of the path is a file, not a folder"
    case EISDIR: return "it is a folder, not a file"
    case EACCES, EPERM: return "permission denied"
    case EROFS: return "the file system is read-only"
    case ENOSPC: return "no space left on the device"
    case EEXIST: return "a file is in the way"
    case ENAMETOOLONG: return "the name is too long"
    default: return String(cString: strerror(code)).lowercased()
    }
}

/// The file that writing `path` replaces: `path` itself, or the file its symbolic link points to.
/// (A temporary file renamed onto a link would replace the link and leave the file it points to
/// as it was: a checkpoint resumed through a link would never be updated.)
public func writeTarget(_ path: String) -> String {
    var st = stat()
    guard lstat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFLNK, let resolved = realpath(path, nil) else { return path }
    defer { free(resolved) }
    return String(cString: resolved)
}
