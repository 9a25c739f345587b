import Foundation

extension PNG {
    /// Reads a PNG (PNG specification, sections 5–9) as greyscale values in [0, 1], row-major:
    /// 8-bit grey, grey + alpha, RGB, RGBA or palette, not interlaced; colour becomes luma
    /// 0.299 R + 0.587 G + 0.114 B, and alpha darkens towards black (the images' background).
    /// Anything else throws `BPTTError.input` naming the file and what is wrong; nothing traps.
    public static func decodeGrey(_ d: [UInt8], source: String) throws -> (pixels: [Float], height: Int, width: Int) {
        func bad(_ why: String) -> BPTTError { .input("\(source): not a readable PNG (\(why))") }
        guard d.count >= 8, Array(d[0..<8]) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] else { throw bad("no PNG signature") }
        func be32(_ p: Int) -> Int { Int(d[p]) << 24 | Int(d[p + 1]) << 16 | Int(d[p + 2]) << 8 | Int(d[p + 3]) }
        var p = 8
        var width = 0, height = 0, depth = 0, colour = -1, interlace = 0
        var idat: [UInt8] = [], palette: [UInt8] = [], alphaOfPalette: [UInt8] = []
        var ended = false
        while p + 12 <= d.count {
            let n = be32(p)
            let type = String(decoding: d[(p + 4)..<(p + 8)], as: UTF8.self)
            guard n >= 0, n <= d.count - p - 12 else { throw bad("chunk \(type) runs past the end") }
            let body = d[(p + 8)..<(p + 8 + n)]
            switch type {
            case "IHDR":
                guard n == 13 else { throw bad("IHDR of \(n) bytes") }
                let b = p + 8
                (width, height, depth, colour) = (be32(b), be32(b + 4), Int(d[b + 8]), Int(d[b + 9]))
                interlace = Int(d[b + 12])
            case "PLTE": palette = Array(body)
            case "tRNS": alphaOfPalette = Array(body)
            case "IDAT": idat += body
            case "IEND": ended = true
            default: break
            }
            p += 12 + n
            if ended { break }
        }
        guard width > 0, height > 0, width <= 1 << 14, height <= 1 << 14 else { throw bad("size \(width)×\(height)") }
        guard depth == 8 else { throw bad("bit depth \(depth); 8 bits per sample are read") }
        guard interlace == 0 else { throw bad("interlaced; save it without interlacing") }
        let channels: Int
        switch colour {
        case 0: channels = 1
        case 2: channels = 3
        case 3: channels = 1
        case 4: channels = 2
        case 6: channels = 4
        default: throw bad("colour type \(colour)")
        }
        guard !idat.isEmpty, idat.count > 2 else { throw bad("no image data") }
        var raw: [UInt8] = []
        raw.reserveCapacity(height * (width * channels + 1))
        _ = try Inflate.decompress(idat, from: 2, into: &raw, name: source)   // after the 2-byte zlib header
        let stride = width * channels
        guard raw.count >= height * (stride + 1) else { throw bad("\(raw.count) bytes of scanlines for \(width)×\(height)") }
        var pixels = [UInt8](repeating: 0, count: height * stride)
        for r in 0..<height {
            let filter = raw[r * (stride + 1)]
            let line = r * (stride + 1) + 1
            for i in 0..<stride {
                let x = raw[line + i]
                let a = i >= channels ? Int(pixels[r * stride + i - channels]) : 0
                let b = r > 0 ? Int(pixels[(r - 1) * stride + i]) : 0
                let c = i >= channels && r > 0 ? Int(pixels[(r - 1) * stride + i - channels]) : 0
                let predicted: Int
                switch filter {
                case 0: predicted = 0
                case 1: predicted = a
                case 2: predicted = b
                case 3: predicted = (a + b) / 2
                case 4:
                    let pp = a + b - c, pa = abs(pp - a), pb = abs(pp - b), pc = abs(pp - c)
                    predicted = pa <= pb && pa <= pc ? a : pb <= pc ? b : c
                default: throw bad("filter type \(filter) in row \(r)")
                }
                pixels[r * stride + i] = UInt8(truncatingIfNeeded: Int(x) + predicted)
            }
        }
        var grey = [Float](repeating: 0, count: width * height)
        for i in 0..<(width * height) {
            let px = pixels[(i * channels)..<((i + 1) * channels)].map { Float($0) / 255 }
            switch colour {
            case 0: grey[i] = px[0]
            case 4: grey[i] = px[0] * px[1]
            case 2: grey[i] = 0.299 * px[0] + 0.587 * px[1] + 0.114 * px[2]
            case 6: grey[i] = (0.299 * px[0] + 0.587 * px[1] + 0.114 * px[2]) * px[3]
            default:   // palette
                let k = Int(pixels[i])
                guard 3 * k + 2 < palette.count else { throw bad("palette index \(k) outside the palette") }
                let alpha: Float = k < alphaOfPalette.count ? Float(alphaOfPalette[k]) / 255 : 1
                grey[i] = (0.299 * Float(palette[3 * k]) + 0.587 * Float(palette[3 * k + 1]) + 0.114 * Float(palette[3 * k + 2])) / 255 * alpha
            }
        }
        return (grey, height, width)
    }

    public static func readGrey(_ path: String) throws -> (pixels: [Float], height: Int, width: Int) {
        guard let data = FileManager.default.contents(atPath: path) else { throw BPTTError.input("\(path): cannot read (missing or unreadable)") }
        return try decodeGrey([UInt8](data), source: path)
    }
}
