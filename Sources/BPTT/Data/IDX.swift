import Foundation

/// The IDX format of MNIST and Fashion-MNIST: a big-endian header — two zero bytes, a type byte
/// (0x08 = unsigned byte), the number of dimensions — then one UInt32 per dimension, then the
/// values row-major. Files may be raw or gzip-compressed (`.gz`, detected by the magic bytes).
public struct IDXArray: Equatable {
    public var dims: [Int]
    public var bytes: [UInt8]

    /// Parses an IDX file's bytes (already decompressed). Every inconsistency is a one-line
    /// `BPTTError.input` naming the file.
    public init(parsing d: [UInt8], name: String) throws {
        guard d.count >= 4 else { throw BPTTError.input("\(name): not an IDX file (only \(d.count) bytes)") }
        guard d[0] == 0, d[1] == 0 else {
            throw BPTTError.input("\(name): not an IDX file (magic starts \(String(format: "0x%02x%02x", d[0], d[1])), expected 0x0000)")
        }
        guard d[2] == 0x08 else {
            throw BPTTError.input("\(name): IDX element type \(String(format: "0x%02x", d[2])) is not supported (only 0x08, unsigned byte)")
        }
        let n = Int(d[3])
        guard (1...4).contains(n) else { throw BPTTError.input("\(name): IDX file declares \(n) dimensions (1 to 4 supported)") }
        guard d.count >= 4 + 4 * n else { throw BPTTError.input("\(name): truncated IDX header") }
        dims = (0..<n).map { i in
            let p = 4 + 4 * i
            return Int(d[p]) << 24 | Int(d[p + 1]) << 16 | Int(d[p + 2]) << 8 | Int(d[p + 3])
        }
        var total = 1
        for s in dims {
            let (m, overflow) = total.multipliedReportingOverflow(by: s)
            guard !overflow, m <= 1 << 34 else { throw BPTTError.input("\(name): IDX dimensions \(dims) are too large") }
            total = m
        }
        let have = d.count - 4 - 4 * n
        guard have >= total else {
            throw BPTTError.input("\(name): truncated IDX file (dimensions \(dims.map(String.init).joined(separator: "x")) need \(total) bytes of data, found \(have))")
        }
        guard have == total else { throw BPTTError.input("\(name): IDX file has \(have - total) bytes beyond its declared dimensions") }
        bytes = Array(d[(4 + 4 * n)...])
    }

    /// Reads a raw or gzip-compressed IDX file.
    public init(contentsOf path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw BPTTError.input("cannot read \(path)")
        }
        var bytes = [UInt8](data)
        if Gzip.isGzip(bytes) { bytes = try Gzip.decompress(bytes, name: path) }
        try self.init(parsing: bytes, name: path)
    }

    /// Serialises (tests write small IDX files with it).
    public static func encode(dims: [Int], bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0, 0, 0x08, UInt8(dims.count)]
        for s in dims { out += [UInt8(s >> 24 & 0xFF), UInt8(s >> 16 & 0xFF), UInt8(s >> 8 & 0xFF), UInt8(s & 0xFF)] }
        return out + bytes
    }
}
