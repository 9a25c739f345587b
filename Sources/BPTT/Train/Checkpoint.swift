import Foundation

/// A training run frozen to disk: everything needed to continue it bit for bit.
///
/// File layout (all integers little-endian):
///
///     magic    8 bytes  "BPTTCKPT"
///     version  u32      Checkpoint.version
///     length   u64      payload bytes
///     checksum u64      FNV-1a 64 of the payload
///     payload:
///       model     string            model kind ("rnn", "lstm", …)
///       config    string            the run's configuration as JSON (sizes, optimiser, seed …)
///       step      u64               optimisation steps done
///       tensors   list of tensor    parameters, in the model's fixed order
///       optimizer string, u64, list of tensor, list of tensor   kind, step, state 1, state 2
///       rngs      u32 n, n × (string name, 4 × u64 state, u8 has-spare, f64 spare)
///     string = u32 byte count + UTF-8;  tensor = string name, u32 rows, u32 cols, rows·cols × f32
///
/// Files are written to a temporary name, flushed, and renamed over the target, so a crash
/// mid-write leaves the previous checkpoint intact.
public struct Checkpoint: Equatable {
    public static let magic = Array("BPTTCKPT".utf8)
    public static let version: UInt32 = 1

    public struct NamedTensor: Equatable {
        public var name: String
        public var value: Matrix<Float>
        public init(_ name: String, _ value: Matrix<Float>) { self.name = name; self.value = value }
    }

    public var model: String
    public var config: String
    public var step: Int
    public var tensors: [NamedTensor]
    public var optimizerKind: String
    public var optimizerStep: Int
    public var optimizerState1: [NamedTensor]
    public var optimizerState2: [NamedTensor]
    public var rngs: [(name: String, rng: RNG)]

    public init(model: String, config: String, step: Int, tensors: [NamedTensor], optimizerKind: String,
                optimizerStep: Int, optimizerState1: [NamedTensor], optimizerState2: [NamedTensor],
                rngs: [(name: String, rng: RNG)]) {
        self.model = model
        self.config = config
        self.step = step
        self.tensors = tensors
        self.optimizerKind = optimizerKind
        self.optimizerStep = optimizerStep
        self.optimizerState1 = optimizerState1
        self.optimizerState2 = optimizerState2
        self.rngs = rngs
    }

    public static func == (a: Checkpoint, b: Checkpoint) -> Bool {
        a.model == b.model && a.config == b.config && a.step == b.step && a.tensors == b.tensors
            && a.optimizerKind == b.optimizerKind && a.optimizerStep == b.optimizerStep
            && a.optimizerState1 == b.optimizerState1 && a.optimizerState2 == b.optimizerState2
            && a.rngs.map(\.name) == b.rngs.map(\.name) && a.rngs.map(\.rng) == b.rngs.map(\.rng)
    }

    public func rng(_ name: String) -> RNG? { rngs.first { $0.name == name }?.rng }

    // MARK: encoding

    public func encoded() -> [UInt8] {
        var p = ByteWriter()
        p.string(model)
        p.string(config)
        p.u64(UInt64(step))
        p.tensors(tensors)
        p.string(optimizerKind)
        p.u64(UInt64(optimizerStep))
        p.tensors(optimizerState1)
        p.tensors(optimizerState2)
        p.u32(UInt32(rngs.count))
        for (name, rng) in rngs {
            p.string(name)
            p.u64(rng.state.0); p.u64(rng.state.1); p.u64(rng.state.2); p.u64(rng.state.3)
            p.u8(rng.spareGaussian == nil ? 0 : 1)
            p.u64((rng.spareGaussian ?? 0).bitPattern)
        }
        var out = ByteWriter()
        out.bytes += Checkpoint.magic
        out.u32(Checkpoint.version)
        out.u64(UInt64(p.bytes.count))
        out.u64(fnv1a64(p.bytes))
        out.bytes += p.bytes
        return out.bytes
    }

    /// Parses a checkpoint, naming the first problem found: not a checkpoint, another version,
    /// truncated, or corrupted (checksum).
    public static func decode(_ bytes: [UInt8], source: String = "checkpoint") throws -> Checkpoint {
        func bad(_ why: String) -> BPTTError { .input("\(source): \(why)") }
        guard bytes.count >= 8, Array(bytes[0..<8]) == magic else { throw bad("not a bptt checkpoint (bad magic)") }
        var r = ByteReader(bytes: bytes, offset: 8, source: source)
        let version = try r.u32()
        guard version == Checkpoint.version else {
            throw bad("checkpoint version \(version), this bptt reads version \(Checkpoint.version)")
        }
        let length = try r.u64()
        let checksum = try r.u64()
        guard length <= UInt64(bytes.count - r.offset) else {
            throw bad("truncated (payload of \(length) bytes, \(bytes.count - r.offset) present)")
        }
        guard UInt64(bytes.count - r.offset) == length else { throw bad("\(UInt64(bytes.count - r.offset) - length) unexpected bytes after the payload") }
        guard fnv1a64(bytes[r.offset...]) == checksum else { throw bad("corrupted (checksum mismatch)") }
        let model = try r.string()
        let config = try r.string()
        try checkConfigRanges(config, source: source)
        let step = try r.count64()
        let tensors = try r.tensors()
        let optimizerKind = try r.string()
        let optimizerStep = try r.count64()
        let s1 = try r.tensors()
        let s2 = try r.tensors()
        let nRNG = try r.u32()
        var rngs: [(name: String, rng: RNG)] = []
        for _ in 0..<min(nRNG, 1024) {
            let name = try r.string()
            let state = (try r.u64(), try r.u64(), try r.u64(), try r.u64())
            let hasSpare = try r.u8()
            let spare = Double(bitPattern: try r.u64())
            rngs.append((name, RNG(state: state, spareGaussian: hasSpare == 1 ? spare : nil)))
        }
        guard r.offset == bytes.count else { throw bad("malformed payload (\(bytes.count - r.offset) bytes left over)") }
        return Checkpoint(model: model, config: config, step: step, tensors: tensors, optimizerKind: optimizerKind,
                          optimizerStep: optimizerStep, optimizerState1: s1, optimizerState2: s2, rngs: rngs)
    }

    // MARK: files

    /// Writes atomically: temporary file in the same folder, flushed to disk, then renamed.
    public func write(to path: String) throws {
        let url = URL(fileURLWithPath: writeTarget(path))
        let tmp = url.deletingLastPathComponent().appendingPathComponent(".bptt-tmp-\(getpid())-\(UInt32.random(in: 0 ... .max))")
        let bytes = encoded()
        guard FileManager.default.createFile(atPath: tmp.path, contents: nil),
              let h = FileHandle(forWritingAtPath: tmp.path) else {
            throw BPTTError.input("cannot write checkpoint \(path)")
        }
        do {
            try h.write(contentsOf: Data(bytes))
            try h.synchronize()
            try h.close()
        } catch {
            try? FileManager.default.removeItem(at: tmp)
            throw BPTTError.input("cannot write checkpoint \(path): \(fileErrorCause(error))")
        }
        guard rename(tmp.path, url.path) == 0 else {
            try? FileManager.default.removeItem(at: tmp)
            throw BPTTError.input("cannot write checkpoint \(path): rename failed")
        }
    }

    public static func read(from path: String) throws -> Checkpoint {
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue {
            throw BPTTError.input("\(path): is a folder, not a checkpoint file")
        }
        // read through a handle: a pipe (`<(…)`) has no size for FileManager.contents to read up to
        guard FileManager.default.fileExists(atPath: path) else { throw BPTTError.input("\(path): no such file") }
        guard let handle = FileHandle(forReadingAtPath: path), let read = try? handle.readToEnd() else {
            throw BPTTError.input("\(path): cannot read checkpoint (permission denied or unreadable)")
        }
        let data = read ?? Data()
        return try decode([UInt8](data), source: path)
    }
}

/// FNV-1a, 64-bit: a fast checksum that catches truncation, flipped bits and swapped bytes.
public func fnv1a64<C: Collection>(_ bytes: C) -> UInt64 where C.Element == UInt8 {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
    return h
}

struct ByteWriter {
    var bytes: [UInt8] = []
    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func string(_ s: String) { u32(UInt32(s.utf8.count)); bytes += s.utf8 }
    mutating func tensors(_ ts: [Checkpoint.NamedTensor]) {
        u32(UInt32(ts.count))
        for t in ts {
            string(t.name)
            u32(UInt32(t.value.rows)); u32(UInt32(t.value.cols))
            for x in t.value.data { u32(x.bitPattern) }
        }
    }
}

struct ByteReader {
    let bytes: [UInt8]
    var offset: Int
    let source: String

    func truncated() -> BPTTError { .input("\(source): truncated or malformed payload at byte \(offset)") }

    mutating func take(_ n: Int) throws -> ArraySlice<UInt8> {
        guard n >= 0, n <= bytes.count - offset else { throw truncated() }
        defer { offset += n }
        return bytes[offset..<(offset + n)]
    }
    mutating func u8() throws -> UInt8 { try take(1).first! }
    mutating func u32() throws -> UInt32 {
        try take(4).reversed().reduce(0) { ($0 << 8) | UInt32($1) }
    }
    mutating func u64() throws -> UInt64 {
        try take(8).reversed().reduce(0) { ($0 << 8) | UInt64($1) }
    }
    /// A u64 that must fit a sane Int.
    mutating func count64() throws -> Int {
        let v = try u64()
        guard v <= UInt64(Int32.max) * 1024 else { throw truncated() }
        return Int(v)
    }
    mutating func string() throws -> String {
        let n = Int(try u32())
        guard let s = String(validating: try take(n), as: UTF8.self) else {
            throw BPTTError.input("\(source): malformed text at byte \(offset)")
        }
        return s
    }
    mutating func tensors() throws -> [Checkpoint.NamedTensor] {
        let n = Int(try u32())
        var out: [Checkpoint.NamedTensor] = []
        for _ in 0..<n {
            let name = try string()
            let rows = Int(try u32()), cols = Int(try u32())
            let (count, overflow) = rows.multipliedReportingOverflow(by: cols)
            guard !overflow, count <= (bytes.count - offset) / 4 else { throw truncated() }
            let raw = try take(count * 4)
            var data = [Float](repeating: 0, count: count)
            var i = raw.startIndex
            for k in 0..<count {
                data[k] = Float(bitPattern: UInt32(raw[i]) | UInt32(raw[i + 1]) << 8 | UInt32(raw[i + 2]) << 16 | UInt32(raw[i + 3]) << 24)
                i += 4
            }
            out.append(.init(name, Matrix(rows: rows, cols: cols, data: data)))
        }
        return out
    }
}

extension ParameterSet {
    /// The tensors with their names (`prefix` + name), in Float32 (checkpoint payload).
    public func namedTensors(prefix: String = "") -> [Checkpoint.NamedTensor] {
        var out: [Checkpoint.NamedTensor] = []
        forEachTensorValue { name, m in out.append(.init(prefix + name, m.converted(to: Float.self))) }
        return out
    }

    /// Replaces every tensor with the saved ones named `prefix` + name (the others are ignored),
    /// matched by name (a checkpoint written with another tensor order loads the same), checking
    /// names and shapes first, so a checkpoint of another model or size is refused before
    /// anything changes.
    public mutating func load(_ saved: [Checkpoint.NamedTensor], prefix: String = "", source: String) throws {
        let given = prefix.isEmpty ? saved : saved.filter { $0.name.hasPrefix(prefix) }
        let mine = namedTensorValues
        let expected = mine.map { prefix + $0.name }
        let byName = Dictionary(given.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        guard given.count == expected.count, byName.count == given.count, expected.allSatisfy({ byName[$0] != nil }) else {
            throw BPTTError.input("\(source): holds tensors \(given.map(\.name).joined(separator: ",")), this model has \(expected.joined(separator: ","))")
        }
        let ordered = expected.map { byName[$0]! }
        for (t, m) in zip(ordered, mine.map(\.value)) where t.value.rows != m.rows || t.value.cols != m.cols {
            throw BPTTError.input("\(source): tensor \(t.name) is \(t.value.rows)x\(t.value.cols), this model needs \(m.rows)x\(m.cols)")
        }
        tensors = ordered.map { $0.value.converted(to: Real.self) }
    }
}

extension Optimizer {
    /// The optimiser's state for a checkpoint, each state tensor named like its parameter
    /// (`prefix` + name).
    public func checkpointState(like params: P, prefix: String = "") -> (kind: String, step: Int, s1: [Checkpoint.NamedTensor], s2: [Checkpoint.NamedTensor]) {
        let names = params.tensorNames.map { prefix + $0 }
        return (config.kind.rawValue, step,
                zip(names, s1).map { .init($0, $1.converted(to: Float.self)) },
                zip(names, s2).map { .init($0, $1.converted(to: Float.self)) })
    }

    /// Restores state saved by `checkpointState`, checking it matches this optimiser and model.
    public init(_ config: OptimizerConfig, restoring c: Checkpoint, like params: P, source: String) throws {
        guard c.optimizerKind == config.kind.rawValue else {
            throw BPTTError.input("\(source): optimiser state is \(c.optimizerKind), the run uses \(config.kind.rawValue)")
        }
        try self.init(config, like: params, step: c.optimizerStep, s1: c.optimizerState1, s2: c.optimizerState2, source: source)
    }

    /// Restores `step` updates' worth of state from the saved tensors named `prefix` + name
    /// (the others are ignored), checking their shapes against `params`.
    public init(_ config: OptimizerConfig, like params: P, step: Int, s1: [Checkpoint.NamedTensor],
                s2: [Checkpoint.NamedTensor], prefix: String = "", source: String) throws {
        let shapes = params.tensors
        let names = params.tensorNames.map { prefix + $0 }
        func pick(_ ts: [Checkpoint.NamedTensor], needed: Bool) throws -> [Matrix<P.Real>] {
            var mine = prefix.isEmpty ? ts : ts.filter { $0.name.hasPrefix(prefix) }
            if mine.isEmpty && (!needed || step == 0) { return [] }
            // matched by name, as the parameters are (a checkpoint with another tensor order loads the same)
            let byName = Dictionary(mine.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
            if mine.count == names.count && names.allSatisfy({ byName[$0] != nil }) { mine = names.map { byName[$0]! } }
            guard mine.count == shapes.count, zip(mine, shapes).allSatisfy({ $0.value.rows == $1.rows && $0.value.cols == $1.cols }) else {
                throw BPTTError.input("\(source): optimiser state does not match the model's tensors")
            }
            return mine.map { $0.value.converted(to: P.Real.self) }
        }
        self.init(config, step: step, s1: try pick(s1, needed: true), s2: try pick(s2, needed: config.kind == .adam))
    }
}

/// The settings a checkpoint's configuration may hold, with the ranges the command-line flags
/// allow (`hidden` may also be a list of widths). The checksum catches damage, not a file written
/// or edited by hand; these ranges keep such a file from reaching a model with no hidden units,
/// no levels or steps of length 0.
private let configRanges: [String: ClosedRange<Double>] = [
    "hidden": 1...100_000, "layers": 1...64, "length": 1...100_000, "steps": 0...1e12, "epochs": 0...1e12,
    "shards": 1...64, "evalSize": 1...1_000_000, "truncation": 0...100_000, "latent": 1...100_000,
]

/// Refuses (exit 2, naming the setting) a configuration whose sizes are out of range or whose
/// dropout is not in [0, 1), anywhere in its JSON.
func checkConfigRanges(_ config: String, source: String) throws {
    guard let root = try? JSONSerialization.jsonObject(with: Data(config.utf8), options: [.fragmentsAllowed]) else { return }
    func bad(_ key: String, _ value: Any) -> BPTTError { .input("\(source): the setting \(key) = \(value) is out of range; the file was not written by bptt or was edited") }
    func walk(_ node: Any) throws {
        if let list = node as? [Any] { for x in list { try walk(x) }; return }
        guard let object = node as? [String: Any] else { return }
        for (key, value) in object {
            if key == "dropout", let p = (value as? NSNumber)?.doubleValue, !(p >= 0 && p < 1) { throw bad(key, value) }
            if let range = configRanges[key] {
                let numbers: [NSNumber]? = (value as? NSNumber).map { [$0] } ?? (value as? [Any])?.compactMap { $0 as? NSNumber }
                for n in numbers ?? [] where !(range.contains(n.doubleValue) && n.doubleValue.rounded() == n.doubleValue) { throw bad(key, value) }
            }
            try walk(value)
        }
    }
    try walk(root)
}
