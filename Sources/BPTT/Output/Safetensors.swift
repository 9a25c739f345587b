import Foundation

/// A named tensor in the row-major layout PyTorch and NumPy use: `shape` (any rank, [] for a
/// scalar) and the values in Float32.
public struct ExportTensor: Equatable, Sendable {
    public var name: String
    public var shape: [Int]
    public var data: [Float]
    public init(_ name: String, shape: [Int], data: [Float]) {
        self.name = name
        self.shape = shape
        self.data = data
    }
    public var shapeText: String { "[" + shape.map(String.init).joined(separator: ", ") + "]" }
}

/// The safetensors format, written and read by hand:
///
///     u64 (little-endian)  N, the header's length in bytes
///     N bytes              a JSON object: for each tensor
///                          "name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]},
///                          and "__metadata__": {string: string}; padded with spaces to a multiple of 8
///     the tensors' bytes   little-endian, each at [begin, end) from the start of this buffer
///
/// `encode` writes Float32 only; `decode` also reads F64, F16 and BF16 (converted to Float32).
/// Every malformed file throws `BPTTError.input` naming the file and the fault; nothing traps.
public enum Safetensors {
    /// The file's bytes: tensors in the order given, metadata as `__metadata__`.
    public static func encode(_ tensors: [ExportTensor], metadata: [(String, String)] = []) -> [UInt8] {
        var entries: [(String, JSON)] = []
        if !metadata.isEmpty { entries.append(("__metadata__", .object(metadata.map { ($0.0, .string($0.1)) }))) }
        var offset = 0
        for t in tensors {
            let n = t.data.count * 4
            entries.append((t.name, .object([("dtype", .string("F32")), ("shape", .array(t.shape.map { .int($0) })),
                                             ("data_offsets", .array([.int(offset), .int(offset + n)]))])))
            offset += n
        }
        var header = Array(JSON.object(entries).serialized().utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        var out: [UInt8] = []
        out.reserveCapacity(8 + header.count + offset)
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { out += $0 }
        out += header
        for t in tensors { for x in t.data { withUnsafeBytes(of: x.bitPattern.littleEndian) { out += $0 } } }
        return out
    }

    /// The tensors (in the order of their bytes in the file) and the metadata.
    public static func decode(_ bytes: [UInt8], source: String) throws -> (tensors: [ExportTensor], metadata: [String: String]) {
        func bad(_ why: String) -> BPTTError { .input("\(source): not a valid safetensors file (\(why))") }
        guard bytes.count >= 8 else { throw bad("\(bytes.count) bytes, shorter than the 8-byte header length") }
        let n = bytes[0..<8].reversed().reduce(UInt64(0)) { ($0 << 8) | UInt64($1) }
        guard n >= 2, n <= UInt64(bytes.count - 8) else { throw bad("header length \(n) does not fit the file's \(bytes.count) bytes") }
        let start = 8 + Int(n)
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes[8..<start])), let header = object as? [String: Any] else {
            throw bad("the header is not a JSON object")
        }
        var metadata: [String: String] = [:]
        if let m = header["__metadata__"] {
            guard let m = m as? [String: Any] else { throw bad("__metadata__ is not an object") }
            for (k, v) in m {
                guard let s = v as? String else { throw bad("__metadata__ value of \(k) is not a string") }
                metadata[k] = s
            }
        }
        let available = bytes.count - start
        var found: [(begin: Int, tensor: ExportTensor)] = []
        for (name, value) in header where name != "__metadata__" {
            guard let entry = value as? [String: Any], let dtype = entry["dtype"] as? String,
                  let shapeAny = entry["shape"] as? [Any], let offsetsAny = entry["data_offsets"] as? [Any] else {
                throw bad("tensor \(name): needs dtype, shape and data_offsets")
            }
            let shape = shapeAny.compactMap { ($0 as? NSNumber)?.intValue }
            let offsets = offsetsAny.compactMap { ($0 as? NSNumber)?.intValue }
            guard shape.count == shapeAny.count, shape.allSatisfy({ $0 >= 0 && $0 <= 1 << 31 }) else { throw bad("tensor \(name): bad shape") }
            guard offsets.count == 2, offsets[0] >= 0, offsets[0] <= offsets[1], offsets[1] <= available else {
                throw bad("tensor \(name): data_offsets \(offsetsAny) outside the \(available) data bytes")
            }
            let width: Int
            switch dtype {
            case "F32": width = 4
            case "F64": width = 8
            case "F16", "BF16": width = 2
            default: throw BPTTError.input("\(source): tensor \(name) has dtype \(dtype); bptt reads F32, F64, F16 and BF16")
            }
            var count = 1
            for d in shape {
                let (p, o) = count.multipliedReportingOverflow(by: d)
                guard !o, p <= 1 << 31 else { throw bad("tensor \(name): shape too large") }
                count = p
            }
            guard count * width == offsets[1] - offsets[0] else {
                throw bad("tensor \(name): shape \(shape) of \(dtype) needs \(count * width) bytes, data_offsets give \(offsets[1] - offsets[0])")
            }
            var data = [Float](repeating: 0, count: count)
            var p = start + offsets[0]
            for i in 0..<count {
                switch width {
                case 4:
                    data[i] = Float(bitPattern: UInt32(bytes[p]) | UInt32(bytes[p + 1]) << 8 | UInt32(bytes[p + 2]) << 16 | UInt32(bytes[p + 3]) << 24)
                case 8:
                    var bits: UInt64 = 0
                    for k in (0..<8).reversed() { bits = bits << 8 | UInt64(bytes[p + k]) }
                    data[i] = Float(Double(bitPattern: bits))
                default:
                    let h = UInt16(bytes[p]) | UInt16(bytes[p + 1]) << 8
                    data[i] = dtype == "BF16" ? Float(bitPattern: UInt32(h) << 16) : halfToFloat(h)
                }
                p += width
            }
            found.append((offsets[0], ExportTensor(name, shape: shape, data: data)))
        }
        return (found.sorted { ($0.begin, $0.tensor.name) < ($1.begin, $1.tensor.name) }.map(\.tensor), metadata)
    }

    public static func read(from path: String) throws -> (tensors: [ExportTensor], metadata: [String: String]) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw BPTTError.input("\(path): cannot read (missing or unreadable)")
        }
        return try decode([UInt8](data), source: path)
    }

    /// IEEE 754 binary16 → Float32 (exact: every half is a float).
    static func halfToFloat(_ h: UInt16) -> Float {
        let sign: Float = h & 0x8000 != 0 ? -1 : 1
        let e = Int(h >> 10 & 0x1F), m = Float(h & 0x3FF)
        switch e {
        case 0: return sign * m * 0x1p-24
        case 31: return m == 0 ? sign * .infinity : .nan
        default: return sign * (1 + m / 1024) * Float(sign: .plus, exponent: e - 15, significand: 1)
        }
    }
}
