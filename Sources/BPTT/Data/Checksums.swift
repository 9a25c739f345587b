/// CRC-32 (ISO-HDLC / zlib / gzip / PNG: reflected polynomial 0xEDB88320) and Adler-32 (zlib).
public enum CRC32 {
    static let table: [UInt32] = (0..<256).map { n -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 { c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    /// Continues a running CRC (start with 0) over `bytes`.
    public static func update<C: Collection>(_ crc: UInt32, _ bytes: C) -> UInt32 where C.Element == UInt8 {
        var c = ~crc
        table.withUnsafeBufferPointer { t in
            for b in bytes { c = t[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
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
