/// CRC-32 (ISO-HDLC / zlib / gzip / PNG: reflected polynomial 0xEDB88320) and Adler-32 (zlib).
public enum CRC32 {
    static let table: [UInt32] = (0..<256).map { n -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 { c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    /// Eight tables for "slicing-by-8": slice k advances a byte's CRC contribution by k more
    /// zero bytes, so eight bytes fold in with eight look-ups and no serial byte loop.
    static let slices: [UInt32] = {
        var s = [UInt32](repeating: 0, count: 8 * 256)
        for n in 0..<256 { s[n] = table[n] }
        for k in 1..<8 {
            for n in 0..<256 { s[k * 256 + n] = (s[(k - 1) * 256 + n] >> 8) ^ table[Int(s[(k - 1) * 256 + n] & 0xFF)] }
        }
        return s
    }()

    /// Continues a running CRC (start with 0) over `bytes` (contiguous bytes eight at a time).
    public static func update<C: Collection>(_ crc: UInt32, _ bytes: C) -> UInt32 where C.Element == UInt8 {
        if let r = bytes.withContiguousStorageIfAvailable({ update(crc, UnsafeRawBufferPointer($0)) }) { return r }
        var c = ~crc
        table.withUnsafeBufferPointer { t in
            for b in bytes { c = t[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        }
        return ~c
    }

    /// The same CRC over raw bytes: eight bytes per step through `slices`, the tail byte by byte.
    public static func update(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var c = ~crc
        let n = bytes.count
        guard n > 0, let base = bytes.baseAddress else { return crc }
        var i = 0
        slices.withUnsafeBufferPointer { s in
            while i + 8 <= n {
                let lo = c ^ (UInt32(base.load(fromByteOffset: i, as: UInt8.self)) | UInt32(base.load(fromByteOffset: i + 1, as: UInt8.self)) << 8
                              | UInt32(base.load(fromByteOffset: i + 2, as: UInt8.self)) << 16 | UInt32(base.load(fromByteOffset: i + 3, as: UInt8.self)) << 24)
                let hi = UInt32(base.load(fromByteOffset: i + 4, as: UInt8.self)) | UInt32(base.load(fromByteOffset: i + 5, as: UInt8.self)) << 8
                    | UInt32(base.load(fromByteOffset: i + 6, as: UInt8.self)) << 16 | UInt32(base.load(fromByteOffset: i + 7, as: UInt8.self)) << 24
                c = s[7 * 256 + Int(lo & 0xFF)] ^ s[6 * 256 + Int((lo >> 8) & 0xFF)] ^ s[5 * 256 + Int((lo >> 16) & 0xFF)] ^ s[4 * 256 + Int(lo >> 24)]
                    ^ s[3 * 256 + Int(hi & 0xFF)] ^ s[2 * 256 + Int((hi >> 8) & 0xFF)] ^ s[256 + Int((hi >> 16) & 0xFF)] ^ s[Int(hi >> 24)]
                i += 8
            }
            while i < n {
                c = s[Int((c ^ UInt32(base.load(fromByteOffset: i, as: UInt8.self))) & 0xFF)] ^ (c >> 8)
                i += 1
            }
        }
        return ~c
    }

    public static func checksum<C: Collection>(_ bytes: C) -> UInt32 where C.Element == UInt8 { update(0, bytes) }
}

public enum Adler32 {
    public static func checksum<C: Collection>(_ bytes: C) -> UInt32 where C.Element == UInt8 {
        var a: UInt32 = 1, b: UInt32 = 0
        var n = 0
        for x in bytes {
            a += UInt32(x); b += a
            n += 1
            if n == 5552 { a %= 65521; b %= 65521; n = 0 }   // largest run that cannot overflow
        }
        return ((b % 65521) << 16) | (a % 65521)
    }
}
