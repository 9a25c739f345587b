/// A gzip (RFC 1952) reader and DEFLATE (RFC 1951) decoder, written out so that bptt needs no
/// zlib. Every malformed input — a bad header, an invalid Huffman code, a distance reaching before
/// the start, a truncated stream, a CRC-32 or length mismatch — throws `BPTTError.input`; nothing
/// in here can trap on bad data.
public enum Gzip {
    public static func isGzip(_ data: [UInt8]) -> Bool { data.count >= 2 && data[0] == 0x1F && data[1] == 0x8B }

    /// Decompresses every member of a gzip file and checks each member's CRC-32 and length.
    public static func decompress(_ data: [UInt8], name: String = "input") throws -> [UInt8] {
        var out: [UInt8] = []
        if data.count >= 4 {   // ISIZE of the last member: a capacity hint only
            let n = data.count
            let hint = Int(data[n - 4]) | Int(data[n - 3]) << 8 | Int(data[n - 2]) << 16 | Int(data[n - 1]) << 24
            out.reserveCapacity(min(hint, 1 << 30))
        }
        var pos = 0
        repeat {
            pos = try member(data, at: pos, into: &out, name: name)
            while pos < data.count && data[pos] == 0 { pos += 1 }   // tolerate zero padding
        } while pos < data.count
        return out
    }

    private static func member(_ d: [UInt8], at start: Int, into out: inout [UInt8], name: String) throws -> Int {
        func bad(_ why: String) -> BPTTError { .input("\(name): not a valid gzip file (\(why))") }
        guard d.count - start >= 18 else { throw bad("truncated header") }
        guard d[start] == 0x1F, d[start + 1] == 0x8B else { throw bad("wrong magic bytes") }
        guard d[start + 2] == 8 else { throw bad("compression method \(d[start + 2]), only deflate (8) exists") }
        let flags = d[start + 3]
        guard flags & 0xE0 == 0 else { throw bad("reserved flag bits set") }
        var p = start + 10
        if flags & 0x04 != 0 {   // FEXTRA
            guard p + 2 <= d.count else { throw bad("truncated extra field") }
            p += 2 + (Int(d[p]) | Int(d[p + 1]) << 8)
        }
        for bit in [UInt8(0x08), 0x10] where flags & bit != 0 {   // FNAME, FCOMMENT: zero-terminated
            while p < d.count && d[p] != 0 { p += 1 }
            p += 1
        }
        if flags & 0x02 != 0 { p += 2 }   // FHCRC
        guard p < d.count else { throw bad("truncated header") }
        let before = out.count
        let end = try Inflate.decompress(d, from: p, into: &out, name: name)
        guard end + 8 <= d.count else { throw bad("truncated: the CRC-32 and length trailer is missing") }
        let stored = UInt32(d[end]) | UInt32(d[end + 1]) << 8 | UInt32(d[end + 2]) << 16 | UInt32(d[end + 3]) << 24
        let size = UInt32(d[end + 4]) | UInt32(d[end + 5]) << 8 | UInt32(d[end + 6]) << 16 | UInt32(d[end + 7]) << 24
        let crc = CRC32.checksum(out[before...])
        guard crc == stored else {
            throw BPTTError.input("\(name): gzip CRC-32 mismatch (stored \(hex(stored)), computed \(hex(crc))): the file is corrupt")
        }
        guard size == UInt32(truncatingIfNeeded: out.count - before) else { throw bad("length field \(size) does not match \(out.count - before) bytes") }
        return end + 8
    }

    static func hex(_ v: UInt32) -> String { "0x" + String(v, radix: 16, uppercase: false) }
}

/// DEFLATE decoding in the manner of zlib's `puff.c`: canonical Huffman codes decoded from
/// counts per length, stored / fixed / dynamic blocks, a 32 KiB back-reference window (here: the
/// whole output).
public enum Inflate {
    struct Huffman {
        var count = [Int](repeating: 0, count: 16)   // codes of each length
        var symbol: [Int] = []                        // symbols ordered by code
        /// Codes of at most `fastBits` bits, looked up whole: indexed by the next `fastBits` input
        /// bits (least significant first, as they arrive), symbol << 4 | code length; 0 when the
        /// code there is longer (then decoded bit by bit, as before).
        var fast = [UInt32](repeating: 0, count: 1 << Huffman.fastBits)
        static let fastBits = 10

        /// Builds the code from code lengths; throws on an over-subscribed set.
        /// An incomplete code is allowed only for a single code of length 1 (RFC 1951, section 3.2.7).
        init(lengths: ArraySlice<Int>, name: String) throws {
            for l in lengths { count[l] += 1 }
            symbol = [Int](repeating: 0, count: lengths.count)
            var left = 1
            for len in 1..<16 {
                left <<= 1
                left -= count[len]
                if left < 0 { throw BPTTError.input("\(name): corrupt deflate data (over-subscribed Huffman code)") }
            }
            var offs = [Int](repeating: 0, count: 16)
            for len in 1..<15 { offs[len + 1] = offs[len] + count[len] }
            for (s, l) in zip(0..., lengths) where l != 0 { symbol[offs[l]] = s; offs[l] += 1 }
            // Canonical codes: those of one length are consecutive, in `symbol` order (RFC 1951, 3.2.2).
            var code = 0, index = 0
            for len in 1...Self.fastBits {
                for _ in 0..<count[len] {
                    var reversed = 0   // the code's bits in arrival order
                    for b in 0..<len where code & (1 << (len - 1 - b)) != 0 { reversed |= 1 << b }
                    let entry = UInt32(symbol[index]) << 4 | UInt32(len)
                    var fill = reversed
                    while fill < 1 << Self.fastBits { fast[fill] = entry; fill += 1 << len }
                    code += 1
                    index += 1
                }
                code <<= 1
            }
        }
    }

    struct BitReader {
        let d: [UInt8]
        var pos: Int
        var bitBuf: UInt64 = 0
        var bitCount = 0
        let name: String

        mutating func bits(_ n: Int) throws -> Int {
            while bitCount < n {
                guard pos < d.count else { throw BPTTError.input("\(name): truncated deflate data") }
                bitBuf |= UInt64(d[pos]) << UInt64(bitCount)
                pos += 1
                bitCount += 8
            }
            let v = Int(bitBuf & ((1 << UInt64(n)) - 1))
            bitBuf >>= UInt64(n)
            bitCount -= n
            return v
        }

        /// Decodes one symbol: a code of at most `Huffman.fastBits` bits in one table look-up when
        /// that many bits are at hand, else one bit at a time (codes are stored MSB-first).
        mutating func decode(_ h: Huffman) throws -> Int {
            while bitCount <= 56 && pos < d.count {
                bitBuf |= UInt64(d[pos]) << UInt64(bitCount)
                pos += 1
                bitCount += 8
            }
            if bitCount >= Huffman.fastBits {
                let entry = h.fast[Int(bitBuf & UInt64((1 << Huffman.fastBits) - 1))]
                if entry != 0 {
                    let len = Int(entry & 15)
                    bitBuf >>= UInt64(len)
                    bitCount -= len
                    return Int(entry >> 4)
                }
            }
            var code = 0, first = 0, index = 0
            for len in 1..<16 {
                code |= try bits(1)
                let count = h.count[len]
                if code - count < first { return h.symbol[index + (code - first)] }
                index += count
                first += count
                first <<= 1
                code <<= 1
            }
            throw BPTTError.input("\(name): corrupt deflate data (invalid Huffman code)")
        }

        /// Drops the bits left of the current byte; whole bytes read ahead (by `decode`) are given back.
        mutating func alignToByte() { pos -= bitCount / 8; bitBuf = 0; bitCount = 0 }
    }

    static let lengthBase = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258]
    static let lengthExtra = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
    static let distBase = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577]
    static let distExtra = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13]

    static func fixedCodes(_ name: String) throws -> (Huffman, Huffman) {
        var l = [Int](repeating: 8, count: 288)
        for i in 144..<256 { l[i] = 9 }
        for i in 256..<280 { l[i] = 7 }
        return (try Huffman(lengths: l[...], name: name), try Huffman(lengths: [Int](repeating: 5, count: 30)[...], name: name))
    }

    /// Decodes the raw DEFLATE stream starting at byte `from`, appending to `out`; returns the
    /// index of the first byte after the stream.
    public static func decompress(_ d: [UInt8], from: Int, into out: inout [UInt8], name: String = "input") throws -> Int {
        var br = BitReader(d: d, pos: from, name: name)
        let base = out.count   // back-references may not reach before this member's output
        var last = 0
        repeat {
            last = try br.bits(1)
            let type = try br.bits(2)
            switch type {
            case 0:
                br.alignToByte()
                guard br.pos + 4 <= d.count else { throw BPTTError.input("\(name): truncated deflate data") }
                let len = Int(d[br.pos]) | Int(d[br.pos + 1]) << 8
                let nlen = Int(d[br.pos + 2]) | Int(d[br.pos + 3]) << 8
                guard len == (~nlen & 0xFFFF) else { throw BPTTError.input("\(name): corrupt deflate data (stored block length check)") }
                br.pos += 4
                guard br.pos + len <= d.count else { throw BPTTError.input("\(name): truncated deflate data") }
                out.append(contentsOf: d[br.pos..<(br.pos + len)])
                br.pos += len
            case 1:
                let (lit, dist) = try fixedCodes(name)
                try codes(&br, lit, dist, &out, base: base)
            case 2:
                let (lit, dist) = try dynamicCodes(&br)
                try codes(&br, lit, dist, &out, base: base)
            default:
                throw BPTTError.input("\(name): corrupt deflate data (block type 3)")
            }
        } while last == 0
        br.alignToByte()
        return br.pos   // unused bits of the last byte are padding
    }

    static func dynamicCodes(_ br: inout BitReader) throws -> (Huffman, Huffman) {
        let name = br.name
        let nlen = try br.bits(5) + 257, ndist = try br.bits(5) + 1, ncode = try br.bits(4) + 4
        guard nlen <= 286, ndist <= 30 else { throw BPTTError.input("\(name): corrupt deflate data (too many codes)") }
        let order = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]
        var lengths = [Int](repeating: 0, count: 320)
        for i in 0..<ncode { lengths[order[i]] = try br.bits(3) }
        let lencode = try Huffman(lengths: lengths[0..<19], name: name)
        var i = 0
        while i < nlen + ndist {
            var symbol = try br.decode(lencode)
            if symbol < 16 {
                lengths[i] = symbol; i += 1
            } else {
                var len = 0
                if symbol == 16 {
                    guard i > 0 else { throw BPTTError.input("\(name): corrupt deflate data (repeat with no previous length)") }
                    len = lengths[i - 1]
                    symbol = 3 + (try br.bits(2))
                } else if symbol == 17 {
                    symbol = 3 + (try br.bits(3))
                } else {
                    symbol = 11 + (try br.bits(7))
                }
                guard i + symbol <= nlen + ndist else { throw BPTTError.input("\(name): corrupt deflate data (too many lengths)") }
                for _ in 0..<symbol { lengths[i] = len; i += 1 }
            }
        }
        guard lengths[256] != 0 else { throw BPTTError.input("\(name): corrupt deflate data (no end-of-block code)") }
        return (try Huffman(lengths: lengths[0..<nlen], name: name), try Huffman(lengths: lengths[nlen..<(nlen + ndist)], name: name))
    }

    static func codes(_ br: inout BitReader, _ lit: Huffman, _ dist: Huffman, _ out: inout [UInt8], base: Int) throws {
        let name = br.name
        while true {
            var symbol = try br.decode(lit)
            if symbol < 256 {
                out.append(UInt8(symbol))
            } else if symbol == 256 {
                return
            } else {
                symbol -= 257
                guard symbol < 29 else { throw BPTTError.input("\(name): corrupt deflate data (bad length symbol)") }
                let len = lengthBase[symbol] + (try br.bits(lengthExtra[symbol]))
                let ds = try br.decode(dist)
                guard ds < 30 else { throw BPTTError.input("\(name): corrupt deflate data (bad distance symbol)") }
                let distance = distBase[ds] + (try br.bits(distExtra[ds]))
                guard distance <= out.count - base else { throw BPTTError.input("\(name): corrupt deflate data (distance too far back)") }
                var from = out.count - distance
                for _ in 0..<len { out.append(out[from]); from += 1 }
            }
        }
    }
}
