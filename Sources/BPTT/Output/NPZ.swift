import Foundation

/// NumPy's `.npz`: a zip archive holding one `.npy` file per array, written by hand.
///
/// `.npy` (format 1.0): the bytes `\x93NUMPY`, version 1 0, a u16 (little-endian) header length,
/// then a Python dict literal `{'descr': '<f4', 'fortran_order': False, 'shape': (r, c), }`
/// padded with spaces and ended by a newline so the data starts at a multiple of 64, then the
/// values, row-major, little-endian.
///
/// The zip (APPNOTE 6.3): for each file a local header (signature 0x04034b50, method 0 = stored,
/// CRC-32, sizes, name) and the bytes; then the central directory, one entry (0x02014b50) per
/// file with the offset of its local header; then the end-of-central-directory record (0x06054b50).
/// `decode` reads stored and deflated entries (what `np.savez` and `np.savez_compressed` write),
/// sizes taken from the central directory (zip64 entries are refused with a message).
public enum NPZ {
    /// One `.npy` file of a Float32 tensor.
    public static func npy(_ t: ExportTensor) -> [UInt8] {
        let shape = t.shape.count == 1 ? "(\(t.shape[0]),)" : "(" + t.shape.map(String.init).joined(separator: ", ") + ")"
        var header = Array("{'descr': '<f4', 'fortran_order': False, 'shape': \(shape), }".utf8)
        while (10 + header.count + 1) % 64 != 0 { header.append(0x20) }
        header.append(0x0A)
        var out: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0]
        out += [UInt8(header.count & 0xFF), UInt8(header.count >> 8)]
        out += header
        out.reserveCapacity(out.count + 4 * t.data.count)
        for x in t.data { withUnsafeBytes(of: x.bitPattern.littleEndian) { out += $0 } }
        return out
    }

    /// The archive's bytes: `name.npy` for each tensor, stored (no compression).
    public static func encode(_ tensors: [ExportTensor]) -> [UInt8] {
        var out: [UInt8] = [], central: [UInt8] = []
        func u16(_ v: Int, _ b: inout [UInt8]) { b += [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF)] }
        func u32(_ v: UInt32, _ b: inout [UInt8]) { withUnsafeBytes(of: v.littleEndian) { b += $0 } }
        let (time, date) = (0, (1980 - 1980) << 9 | 1 << 5 | 1)   // 1980-01-01 00:00: the same bytes every time
        for t in tensors {
            let name = Array((t.name + ".npy").utf8)
            let body = npy(t)
            let crc = CRC32.checksum(body)
            let offset = UInt32(out.count)
            u32(0x0403_4b50, &out); u16(20, &out); u16(0, &out); u16(0, &out); u16(time, &out); u16(date, &out)
            u32(crc, &out); u32(UInt32(body.count), &out); u32(UInt32(body.count), &out)
            u16(name.count, &out); u16(0, &out)
            out += name
            out += body
            u32(0x0201_4b50, &central); u16(20, &central); u16(20, &central); u16(0, &central); u16(0, &central)
            u16(time, &central); u16(date, &central)
            u32(crc, &central); u32(UInt32(body.count), &central); u32(UInt32(body.count), &central)
            u16(name.count, &central); u16(0, &central); u16(0, &central); u16(0, &central); u16(0, &central)
            u32(0, &central); u32(offset, &central)
            central += name
        }
        let centralOffset = out.count
        out += central
        u32(0x0605_4b50, &out); u16(0, &out); u16(0, &out); u16(tensors.count, &out); u16(tensors.count, &out)
        u32(UInt32(central.count), &out); u32(UInt32(centralOffset), &out); u16(0, &out)
        return out
    }

    /// The arrays of an `.npz` (names without `.npy`), in the order of the central directory.
    /// Float32 and Float64 arrays, C order, are read; anything else throws naming the entry.
    public static func decode(_ b: [UInt8], source: String) throws -> [ExportTensor] {
        func bad(_ why: String) -> BPTTError { .input("\(source): not a readable .npz (\(why))") }
        func u16(_ p: Int) throws -> Int {
            guard p >= 0, p + 2 <= b.count else { throw bad("truncated") }
            return Int(b[p]) | Int(b[p + 1]) << 8
        }
        func u32(_ p: Int) throws -> Int {
            guard p >= 0, p + 4 <= b.count else { throw bad("truncated") }
            return Int(b[p]) | Int(b[p + 1]) << 8 | Int(b[p + 2]) << 16 | Int(b[p + 3]) << 24
        }
        // the end-of-central-directory record: the last signature within the final 64 KiB + 22 bytes
        var end = b.count - 22
        while end >= max(0, b.count - 22 - 65_535), (try? u32(end)) != 0x0605_4b50 { end -= 1 }
        guard end >= 0, end >= b.count - 22 - 65_535 else { throw bad("no end-of-central-directory record") }
        let count = try u16(end + 10)
        var p = try u32(end + 16)
        var out: [ExportTensor] = []
        for _ in 0..<count {
            guard try u32(p) == 0x0201_4b50 else { throw bad("bad central directory entry") }
            let method = try u16(p + 10)
            let crc = UInt32(try u32(p + 16))
            let csize = try u32(p + 20), usize = try u32(p + 24)
            let nameLen = try u16(p + 28), extraLen = try u16(p + 30), commentLen = try u16(p + 32)
            let local = try u32(p + 42)
            guard p + 46 + nameLen <= b.count else { throw bad("truncated") }
            let name = String(decoding: b[(p + 46)..<(p + 46 + nameLen)], as: UTF8.self)
            p += 46 + nameLen + extraLen + commentLen
            guard csize != 0xFFFF_FFFF, usize != 0xFFFF_FFFF, local != 0xFFFF_FFFF else { throw bad("\(name): zip64 entries are not read") }
            guard try u32(local) == 0x0403_4b50 else { throw bad("\(name): bad local header") }
            let dataStart = local + 30 + (try u16(local + 26)) + (try u16(local + 28))
            guard dataStart + csize <= b.count else { throw bad("\(name): truncated") }
            var body: [UInt8]
            switch method {
            case 0: body = Array(b[dataStart..<(dataStart + csize)])
            case 8:
                body = []
                body.reserveCapacity(usize)
                _ = try Inflate.decompress(b, from: dataStart, into: &body, name: "\(source): \(name)")
            default: throw bad("\(name): compression method \(method) (stored and deflate are read)")
            }
            guard body.count == usize, CRC32.checksum(body) == crc else { throw bad("\(name): CRC-32 or size mismatch") }
            guard name.hasSuffix(".npy") else { continue }
            out.append(try parseNPY(body, name: String(name.dropLast(4)), source: source))
        }
        return out
    }

    static func parseNPY(_ b: [UInt8], name: String, source: String) throws -> ExportTensor {
        func bad(_ why: String) -> BPTTError { .input("\(source): array \(name): \(why)") }
        guard b.count >= 10, b[0] == 0x93, Array(b[1..<6]) == Array("NUMPY".utf8) else { throw bad("not an .npy file") }
        let (headerStart, headerLen): (Int, Int)
        switch b[6] {
        case 1: (headerStart, headerLen) = (10, Int(b[8]) | Int(b[9]) << 8)
        case 2, 3:
            guard b.count >= 12 else { throw bad("truncated") }
            (headerStart, headerLen) = (12, Int(b[8]) | Int(b[9]) << 8 | Int(b[10]) << 16 | Int(b[11]) << 24)
        default: throw bad(".npy version \(b[6])")
        }
        guard headerStart + headerLen <= b.count else { throw bad("truncated header") }
        let header = String(decoding: b[headerStart..<(headerStart + headerLen)], as: UTF8.self)
        func field(_ key: String) -> String? {
            guard let r = header.range(of: "'\(key)':") else { return nil }
            return String(header[r.upperBound...]).trimmingCharacters(in: .whitespaces)
        }
        guard let descr = field("descr"), let order = field("fortran_order"), let shapeText = field("shape") else { throw bad("header without descr/fortran_order/shape") }
        let width: Int
        if descr.hasPrefix("'<f4'") { width = 4 } else if descr.hasPrefix("'<f8'") { width = 8 } else {
            throw bad("dtype \(descr.prefix(while: { $0 != "," })); float32 and float64 (little-endian) are read")
        }
        guard order.hasPrefix("False") else { throw bad("Fortran order is not read") }
        guard shapeText.hasPrefix("("), let close = shapeText.firstIndex(of: ")") else { throw bad("bad shape") }
        let dims = shapeText[shapeText.index(after: shapeText.startIndex)..<close].split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let shape = dims.compactMap { Int($0) }
        guard shape.count == dims.count, shape.allSatisfy({ $0 >= 0 && $0 <= 1 << 31 }) else { throw bad("bad shape") }
        let count = shape.reduce(1) { $0 &* $1 }
        let start = headerStart + headerLen
        guard count >= 0, count <= 1 << 31, b.count - start == count * width else { throw bad("\(b.count - start) data bytes for shape \(shape)") }
        var data = [Float](repeating: 0, count: count)
        for i in 0..<count {
            let p = start + i * width
            if width == 4 {
                data[i] = Float(bitPattern: UInt32(b[p]) | UInt32(b[p + 1]) << 8 | UInt32(b[p + 2]) << 16 | UInt32(b[p + 3]) << 24)
            } else {
                var bits: UInt64 = 0
                for k in (0..<8).reversed() { bits = bits << 8 | UInt64(b[p + k]) }
                data[i] = Float(Double(bitPattern: bits))
            }
        }
        return ExportTensor(name, shape: shape, data: data)
    }

    public static func read(from path: String) throws -> [ExportTensor] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw BPTTError.input("\(path): cannot read (missing or unreadable)")
        }
        return try decode([UInt8](data), source: path)
    }
}
