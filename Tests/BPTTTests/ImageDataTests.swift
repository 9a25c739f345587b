import XCTest
import Foundation
import BPTT

/// A gzip file holding `data` in stored DEFLATE blocks (our PNG zlib stream without its frame).
func gzipStored(_ data: [UInt8]) -> [UInt8] {
    let z = PNG.zlibStored(data)
    let deflate = Array(z[2..<(z.count - 4)])
    let crc = CRC32.checksum(data), n = UInt32(data.count)
    func le(_ v: UInt32) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v >> 16 & 0xFF), UInt8(v >> 24)] }
    return [0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 3] + deflate + le(crc) + le(n)
}

final class ImageDataTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func testChecksumsAgainstPublishedValues() {
        XCTAssertEqual(CRC32.checksum(Array("123456789".utf8)), 0xCBF4_3926)   // the CRC-32 check value
        XCTAssertEqual(Adler32.checksum(Array("Wikipedia".utf8)), 0x11E6_0398)
        XCTAssertEqual(CRC32.checksum(Array("IEND".utf8)), 0xAE42_6082)        // every PNG ends with it
        // Adler-32 over more than 5552 bytes exercises the deferred modulo.
        let long = [UInt8](repeating: 255, count: 100_000)
        var a: UInt64 = 1, b: UInt64 = 0
        for x in long { a = (a + UInt64(x)) % 65521; b = (b + a) % 65521 }
        XCTAssertEqual(Adler32.checksum(long), UInt32(b << 16 | a))
    }

    func testInflateFixedHuffmanMember() throws {
        // Python's gzip.compress(b"hello hello hello hello, bptt!\n", mtime=0): one fixed-Huffman block with back-references.
        let gz: [UInt8] = [31, 139, 8, 0, 0, 0, 0, 0, 2, 3, 203, 72, 205, 201, 201, 87, 200, 64, 39, 117, 20, 146, 10, 74, 74, 20, 185, 0, 25, 116, 40, 26, 31, 0, 0, 0]
        XCTAssertEqual(String(decoding: try Gzip.decompress(gz), as: UTF8.self), "hello hello hello hello, bptt!\n")
        // Two members concatenated decode to the concatenation.
        XCTAssertEqual(try Gzip.decompress(gz + gzipStored(Array("x".utf8))).count, 32)
    }

    /// Eight bytes at a time (contiguous storage) and byte by byte (any other collection) agree
    /// at every length and with a running CRC split anywhere.
    func testSlicedCRCEqualsTheByteLoop() {
        var rng = RNG(seed: 3)
        let bytes = (0..<1000).map { _ in UInt8(rng.int(below: 256)) }
        for n in [0, 1, 7, 8, 9, 15, 16, 17, 63, 64, 999, 1000] {
            let sliced = CRC32.checksum(bytes[..<n])
            let byteLoop = CRC32.checksum(bytes[..<n].lazy.map { $0 })   // not contiguous: the byte loop
            XCTAssertEqual(sliced, byteLoop, "length \(n)")
            let split = n / 3
            XCTAssertEqual(CRC32.update(CRC32.checksum(bytes[..<split]), bytes[split..<n]), sliced, "length \(n) split at \(split)")
        }
    }

    /// A stored block after a Huffman block in one stream: the table decoder reads whole bytes
    /// ahead, and aligning to the stored block must give them back (and the end must be exact).
    func testStoredBlockAfterAHuffmanBlockStartsAtTheRightByte() throws {
        let payload = Array("stored after fixed".utf8)
        // bits, first to last: BFINAL 0, BTYPE 01 (fixed), end-of-block 0000000; BFINAL 1, BTYPE 00; align
        let n = payload.count
        let stream: [UInt8] = [0x02, 0x04, UInt8(n & 0xFF), UInt8(n >> 8), UInt8(~n & 0xFF), UInt8((~n >> 8) & 0xFF)] + payload
        var out: [UInt8] = []
        let end = try Inflate.decompress(stream + [0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF, 0x11, 0x22, 0x33], from: 0, into: &out)
        XCTAssertEqual(out, payload)
        XCTAssertEqual(end, stream.count)
    }

    func testBuiltinDigitsInflateToTheShippedFiles() throws {
        // The embedded copy was made by `gzip -9` (dynamic Huffman blocks); it must equal data/digits8x8.
        let dir = Self.root.appendingPathComponent("data/digits8x8")
        let images = [UInt8](try Data(contentsOf: dir.appendingPathComponent("digits-images-idx3-ubyte")))
        let labels = [UInt8](try Data(contentsOf: dir.appendingPathComponent("digits-labels-idx1-ubyte")))
        let embedded = try ImageData.builtinDigitsFiles()
        XCTAssertEqual(embedded.images, images)
        XCTAssertEqual(embedded.labels, labels)
        let d = try ImageData.load(nil)
        XCTAssertEqual(d.train.count + d.test.count, 1797)
        XCTAssertEqual(d.test.count, 359)
        XCTAssertEqual(d.height, 8); XCTAssertEqual(d.width, 8); XCTAssertEqual(d.classes, 10)
        XCTAssertEqual(Set(d.test.labels).count, 10)
        XCTAssertEqual(d.train.images.data.max(), 1)
    }

    func testCorruptGzipIsAnInputError() {
        let good = gzipStored(Array(0..<200).map { UInt8($0) })
        var badCRC = good
        badCRC[badCRC.count - 6] ^= 0x40
        XCTAssertThrowsError(try Gzip.decompress(badCRC)) { XCTAssertTrue("\($0)".contains("CRC-32 mismatch"), "\($0)") }
        for cut in [5, 12, good.count - 3, good.count - 100] {
            XCTAssertThrowsError(try Gzip.decompress(Array(good[..<cut]))) { XCTAssertEqual(($0 as? BPTTError)?.exitCode, 2) }
        }
        var badMethod = good; badMethod[2] = 7
        XCTAssertThrowsError(try Gzip.decompress(badMethod))
        var badType = good; badType[10] = 0x07   // BTYPE 11
        XCTAssertThrowsError(try Gzip.decompress(badType))
        // Random garbage after a valid header never traps.
        var rng = RNG(seed: 1)
        for _ in 0..<200 {
            let junk = (0..<64).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            XCTAssertThrowsError(try Gzip.decompress([0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 3] + junk))
        }
    }

    func testIDXErrors() {
        let good = IDXArray.encode(dims: [2, 2, 3], bytes: Array(0..<12))
        XCTAssertEqual(try IDXArray(parsing: good, name: "t").dims, [2, 2, 3])
        var magic = good; magic[0] = 1
        XCTAssertThrowsError(try IDXArray(parsing: magic, name: "t")) { XCTAssertTrue("\($0)".contains("not an IDX file")) }
        var type = good; type[2] = 0x0D
        XCTAssertThrowsError(try IDXArray(parsing: type, name: "t")) { XCTAssertTrue("\($0)".contains("not supported")) }
        XCTAssertThrowsError(try IDXArray(parsing: Array(good.dropLast()), name: "t")) { XCTAssertTrue("\($0)".contains("truncated")) }
        XCTAssertThrowsError(try IDXArray(parsing: Array(good[..<9]), name: "t")) { XCTAssertTrue("\($0)".contains("truncated")) }
        XCTAssertThrowsError(try IDXArray(parsing: good + [0], name: "t"))
    }

    func testFolderWithTrainAndTestFilesRawAndGzip() throws {
        let dir = testTemporaryDirectory.appendingPathComponent("bptt-idx-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let (h, w) = (3, 5)
        let trainPixels = (0..<(6 * h * w)).map { UInt8($0 % 256) }
        try Data(gzipStored(IDXArray.encode(dims: [6, h, w], bytes: trainPixels))).write(to: dir.appendingPathComponent("train-images-idx3-ubyte.gz"))
        try Data(IDXArray.encode(dims: [6], bytes: [0, 1, 2, 0, 1, 2])).write(to: dir.appendingPathComponent("train-labels-idx1-ubyte"))
        try Data(IDXArray.encode(dims: [2, h, w], bytes: [UInt8](repeating: 255, count: 2 * h * w))).write(to: dir.appendingPathComponent("t10k-images-idx3-ubyte"))
        try Data(gzipStored(IDXArray.encode(dims: [2], bytes: [2, 1]))).write(to: dir.appendingPathComponent("t10k-labels-idx1-ubyte.gz"))
        let d = try ImageData.load(dir.path)
        XCTAssertEqual(d.train.count, 6); XCTAssertEqual(d.test.count, 2)
        XCTAssertEqual(d.height, h); XCTAssertEqual(d.width, w); XCTAssertEqual(d.classes, 3)
        XCTAssertEqual(d.train.images[1, 0], Float(h * w) / 255)
        XCTAssertEqual(d.test.labels, [2, 1])
        // A labels file that disagrees in count is an input error, not a trap.
        try Data(IDXArray.encode(dims: [5], bytes: [0, 1, 2, 0, 1])).write(to: dir.appendingPathComponent("train-labels-idx1-ubyte"))
        XCTAssertThrowsError(try ImageData.load(dir.path)) { XCTAssertTrue("\($0)".contains("6 images but 5 labels"), "\($0)") }
        XCTAssertThrowsError(try ImageData.load(dir.path + "/nowhere")) { XCTAssertEqual(($0 as? BPTTError)?.exitCode, 2) }
    }

    func testPNGChunksChecksumsAndPixelsRoundTrip() throws {
        let (w, h) = (70, 300)   // 21,300 scanline bytes: one stored block; also try > 65,535 below
        for (w, h) in [(w, h), (300, 300), (1, 1)] {
            let pixels = (0..<(w * h)).map { UInt8(($0 * 7) % 256) }
            let png = PNG.encode(width: w, height: h, pixels: pixels)
            XCTAssertEqual(Array(png[0..<8]), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
            XCTAssertEqual(Array(png.suffix(12)), [0, 0, 0, 0, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82])
            // Walk the chunks, checking each CRC; collect IDAT.
            var p = 8, idat: [UInt8] = [], types: [String] = []
            while p < png.count {
                let len = Int(png[p]) << 24 | Int(png[p + 1]) << 16 | Int(png[p + 2]) << 8 | Int(png[p + 3])
                let typeAndBody = Array(png[(p + 4)..<(p + 8 + len)])
                let crc = UInt32(png[p + 8 + len]) << 24 | UInt32(png[p + 9 + len]) << 16 | UInt32(png[p + 10 + len]) << 8 | UInt32(png[p + 11 + len])
                XCTAssertEqual(CRC32.checksum(typeAndBody), crc)
                let type = String(decoding: typeAndBody[0..<4], as: UTF8.self)
                types.append(type)
                if type == "IDAT" { idat += typeAndBody[4...] }
                p += 12 + len
            }
            XCTAssertEqual(types, ["IHDR", "IDAT", "IEND"])
            XCTAssertEqual((Int(idat[0]) * 256 + Int(idat[1])) % 31, 0)
            var raw: [UInt8] = []
            let end = try Inflate.decompress(idat, from: 2, into: &raw)
            let adler = UInt32(idat[end]) << 24 | UInt32(idat[end + 1]) << 16 | UInt32(idat[end + 2]) << 8 | UInt32(idat[end + 3])
            XCTAssertEqual(Adler32.checksum(raw), adler)
            XCTAssertEqual(raw.count, h * (w + 1))
            for r in 0..<h {
                XCTAssertEqual(raw[r * (w + 1)], 0)
                XCTAssertEqual(Array(raw[(r * (w + 1) + 1)..<((r + 1) * (w + 1))]), Array(pixels[(r * w)..<((r + 1) * w)]))
            }
        }
    }
}
