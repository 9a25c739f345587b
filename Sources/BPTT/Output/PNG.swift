import Foundation

/// A greyscale PNG writer (8 bits per pixel), no zlib needed: the image data is a zlib stream of
/// *stored* (uncompressed) DEFLATE blocks, framed by the zlib header and an Adler-32 of the raw
/// scanlines; each chunk carries its CRC-32 (PNG specification, section 5; RFC 1950; RFC 1951, section 3.2.4).
public enum PNG {
    /// PNG bytes of a `width × height` greyscale image, `pixels` row-major, 0 = black.
    public static func encode(width: Int, height: Int, pixels: [UInt8]) -> [UInt8] {
        require(width > 0 && height > 0 && pixels.count == width * height, "png: \(pixels.count) pixels for \(width)×\(height)")
        var raw: [UInt8] = []   // scanlines, each preceded by filter type 0 (none)
        raw.reserveCapacity(height * (width + 1))
        for r in 0..<height {
            raw.append(0)
            raw.append(contentsOf: pixels[(r * width)..<((r + 1) * width)])
        }
        var out: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        var ihdr = be32(UInt32(width)) + be32(UInt32(height))
        ihdr += [8, 0, 0, 0, 0]   // bit depth 8, colour type 0 (grey), deflate, adaptive filters, no interlace
        chunk("IHDR", ihdr, into: &out)
        chunk("IDAT", zlibStored(raw), into: &out)
        chunk("IEND", [], into: &out)
        return out
    }

    /// A zlib stream (RFC 1950) holding `data` in stored blocks of at most 65,535 bytes.
    public static func zlibStored(_ data: [UInt8]) -> [UInt8] {
        var z: [UInt8] = [0x78, 0x01]   // CM 8, 32 KiB window; (0x78·256 + 0x01) % 31 == 0
        var p = 0
        repeat {
            let n = min(65_535, data.count - p)
            let final: UInt8 = p + n == data.count ? 1 : 0
            z.append(final)   // BFINAL, BTYPE 00 (stored), rest of the byte padding
            z += [UInt8(n & 0xFF), UInt8(n >> 8), UInt8(~n & 0xFF), UInt8((~n >> 8) & 0xFF)]
            z.append(contentsOf: data[p..<(p + n)])
            p += n
        } while p < data.count
        return z + be32(Adler32.checksum(data))
    }

    static func chunk(_ type: String, _ body: [UInt8], into out: inout [UInt8]) {
        let t = Array(type.utf8)
        out += be32(UInt32(body.count)) + t + body
        out += be32(CRC32.update(CRC32.checksum(t), body))
    }

    static func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }

    public static func write(_ path: String, width: Int, height: Int, pixels: [UInt8]) throws {
        try writeFileAtomically(path, Data(encode(width: width, height: height, pixels: pixels)))
    }
}

/// A canvas of tiles: images laid out in rows and columns, scaled up by nearest neighbour,
/// separated by a gap, optionally with a digit label above each tile (3×5 glyphs drawn at 2×, so
/// they read at native size).
public struct ImageGrid {
    public let tileHeight: Int, tileWidth: Int, scale: Int, gap: Int, labelled: Bool
    public let rows: Int, cols: Int
    public private(set) var pixels: [UInt8]
    public var width: Int { cols * (tileWidth * scale + gap) + gap }
    /// The band above a labelled tile: a 2× glyph (10 px) and 2 px of space.
    static let labelBand = 12
    var cellHeight: Int { tileHeight * scale + gap + (labelled ? ImageGrid.labelBand : 0) }
    public var height: Int { rows * cellHeight + gap }

    /// background 0 (black), like MNIST.
    public init(rows: Int, cols: Int, tileHeight: Int, tileWidth: Int, scale: Int = 1, gap: Int = 2, labelled: Bool = false) {
        self.rows = rows; self.cols = cols
        self.tileHeight = tileHeight; self.tileWidth = tileWidth
        self.scale = max(1, scale); self.gap = gap; self.labelled = labelled
        pixels = []
        pixels = [UInt8](repeating: 40, count: width * height)
    }

    /// Draws image `values` (tileHeight·tileWidth values in [0, 1]) in cell (r, c), with an
    /// optional label (digits only) above it.
    public mutating func draw<C: Collection>(_ values: C, row r: Int, col c: Int, label: String? = nil) where C.Element == Float {
        require(values.count == tileHeight * tileWidth, "grid: tile has \(values.count) values")
        let x0 = gap + c * (tileWidth * scale + gap)
        let y0 = gap + r * cellHeight + (labelled ? ImageGrid.labelBand : 0)
        for (i, v) in values.enumerated() {
            let level = UInt8(max(0, min(255, (v * 255).rounded())))
            let (ty, tx) = (i / tileWidth, i % tileWidth)
            for dy in 0..<scale {
                for dx in 0..<scale { pixels[(y0 + ty * scale + dy) * width + x0 + tx * scale + dx] = level }
            }
        }
        if let label, labelled { text(label, x: x0, y: y0 - ImageGrid.labelBand + 1) }
    }

    /// 3×5 digits (and '-', '?', '>') in white, each glyph pixel drawn 2×2.
    mutating func text(_ s: String, x: Int, y: Int) {
        let k = 2
        var cx = x
        for ch in s {
            guard let glyph = ImageGrid.font[ch] else { cx += 4 * k; continue }
            for (gy, row) in glyph.enumerated() {
                for gx in 0..<3 where row & (4 >> gx) != 0 {
                    for dy in 0..<k { for dx in 0..<k {
                        let px = cx + gx * k + dx, py = y + gy * k + dy
                        if px >= 0 && px < width && py >= 0 && py < height { pixels[py * width + px] = 255 }
                    } }
                }
            }
            cx += 4 * k
        }
    }

    static let font: [Character: [Int]] = [
        "0": [7, 5, 5, 5, 7], "1": [2, 6, 2, 2, 7], "2": [7, 1, 7, 4, 7], "3": [7, 1, 7, 1, 7],
        "4": [5, 5, 7, 1, 1], "5": [7, 4, 7, 1, 7], "6": [7, 4, 7, 5, 7], "7": [7, 1, 1, 1, 1],
        "8": [7, 5, 7, 5, 7], "9": [7, 5, 7, 1, 7], "-": [0, 0, 7, 0, 0], "?": [7, 1, 3, 0, 2], ">": [4, 2, 1, 2, 4],
    ]

    public func write(_ path: String) throws { try PNG.write(path, width: width, height: height, pixels: pixels) }
}
