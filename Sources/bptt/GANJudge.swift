import BPTT
import Foundation

/// The GAN's judging classifier, trained once per data set and kept in a cache folder.
///
/// Training the judge (the `classify` defaults, 40 epochs) would cost more than a default GAN run on
/// Fashion-MNIST, yet it depends only on the data and the classifier's settings, never on the
/// GAN. A trained judge is saved as `DIR/judge-<key digest>.ckpt` (the project's checkpoint
/// format: checksum, atomic write) and reused when everything it was trained from is the same:
/// the data's bytes (two 64-bit digests of every training and test image and label), its
/// shape and counts, the classifier's configuration and seed, the epochs, and the bptt binary
/// itself (FNV-1a 64 of the executable, so a rebuilt program retrains instead of trusting an
/// older one's numbers). The whole key is stored in the file and compared in full on reading;
/// an unreadable, corrupted or different file is ignored and replaced. Training is deterministic
/// for any thread count, so a cached judge gives exactly the numbers a fresh one would.
///
/// DIR: `--judge-cache DIR`, else `$BPTT_CACHE/gan-judges`, else `$XDG_CACHE_HOME/bptt/gan-judges`,
/// else `~/.cache/bptt/gan-judges`. `--no-judge-cache` trains afresh and writes nothing.
enum GANJudge {
    static let model = "gan-judge"

    /// `bptt classify`'s epochs, the judge's default on small data.
    static let maxEpochs = 40
    /// The most images the default judge sees in training (10 epochs of Fashion-MNIST's 60,000).
    static let maxImagesSeen = 600_000

    /// The default judge's epochs for `trainingImages` training images: `bptt classify`'s 40, fewer
    /// on large data so that it sees at most 600,000 images (40 on the built-in digits, where that
    /// takes a fraction of a second; 10 on Fashion-MNIST, where 40 would take a quarter of the run).
    static func defaultEpochs(trainingImages n: Int) -> Int { max(1, min(maxEpochs, maxImagesSeen / max(n, 1))) }

    static func defaultFolder() -> String? {
        let env = ProcessInfo.processInfo.environment
        if let d = env["BPTT_CACHE"], !d.isEmpty { return d + "/gan-judges" }
        if let d = env["XDG_CACHE_HOME"], !d.isEmpty { return d + "/bptt/gan-judges" }
        if let h = env["HOME"], !h.isEmpty { return h + "/.cache/bptt/gan-judges" }
        return nil
    }

    /// Two 64-bit digests of every image (Float32 bytes) and label of both sets: FNV-1a's step on
    /// 8-byte words (xor, multiply by the FNV prime) and a second multiplicative hash (add, multiply
    /// by another odd constant, rotate), in one pass; the byte count is folded in too.
    static func dataDigest(_ data: ImageData) -> (a: UInt64, b: UInt64) {
        var a: UInt64 = 0xcbf2_9ce4_8422_2325
        var b: UInt64 = 0x9E37_79B9_7F4A_7C15
        func feed(_ raw: UnsafeRawBufferPointer) {
            let words = raw.count / 8
            for i in 0..<words {
                let w = raw.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)
                a = (a ^ w) &* 0x0000_0100_0000_01B3
                b = ((b &+ w) &* 0xC2B2_AE3D_27D4_EB4F)
                b = b << 31 | b >> 33
            }
            for byte in raw[(8 * words)...] {
                a = (a ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
                b = (b &+ UInt64(byte)) &* 0xC2B2_AE3D_27D4_EB4F
            }
            a = (a ^ UInt64(raw.count)) &* 0x0000_0100_0000_01B3
        }
        for set in [data.train, data.test] {
            set.images.data.withUnsafeBytes { feed($0) }
            set.labels.map { Int64($0) }.withUnsafeBytes { feed($0) }
        }
        return (a, b)
    }

    static func binaryDigest() -> String {
        guard let exe = FileManager.default.contents(atPath: "/proc/self/exe") else { return "unknown" }
        return String(fnv1a64(exe), radix: 16)
    }

    /// The cache key: everything the trained judge depends on, as one JSON line.
    static func key(_ data: ImageData, _ config: ClassifierConfig) -> String {
        let d = dataDigest(data)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let classifier = (try? encoder.encode(config)).map { String(decoding: $0, as: UTF8.self) } ?? "?"
        return JSON.object([
            ("format", .int(2)), ("binary", .string(binaryDigest())),
            ("data", .object([("train", .int(data.train.count)), ("test", .int(data.test.count)), ("height", .int(data.height)),
                              ("width", .int(data.width)), ("digest_a", .string(String(d.a, radix: 16))), ("digest_b", .string(String(d.b, radix: 16)))])),
            ("classifier", .string(classifier)), ("epochs", .int(config.epochs)),
        ]).serialized()
    }

    struct Result { var judge: ClassifierTrainer, seconds: Double, cached: Bool, note: String }

    /// The judge for `data` with `config`: read from `folder` when a file there was trained from
    /// exactly the same key, else trained (and written there when `folder` is given; a folder
    /// that cannot be written is reported in `note`, not an error).
    static func judge(_ data: ImageData, spec: String, config: ClassifierConfig, folder: String?) throws -> Result {
        let start = Date()
        let judge = ClassifierTrainer(config, data: data, dataSpec: spec)
        guard let folder else {
            for _ in 0..<config.epochs { _ = try judge.trainEpoch() }
            return Result(judge: judge, seconds: Date().timeIntervalSince(start), cached: false, note: "trained (cache off)")
        }
        let key = key(data, config)
        let path = folder + "/judge-" + String(fnv1a64(Array(key.utf8)), radix: 16) + ".ckpt"
        if FileManager.default.fileExists(atPath: path), let c = try? Checkpoint.read(from: path), c.model == model, c.config == key,
           (try? judge.setParameters(c.tensors, source: path)) != nil {
            return Result(judge: judge, seconds: Date().timeIntervalSince(start), cached: true, note: "read from \(path)")
        }
        for _ in 0..<config.epochs { _ = try judge.trainEpoch() }
        var note = "trained, saved to \(path)"
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            try Checkpoint(model: model, config: key, step: judge.step, tensors: judge.params.namedTensors(), optimizerKind: "none",
                           optimizerStep: 0, optimizerState1: [], optimizerState2: [], rngs: []).write(to: path)
        } catch {
            note = "trained; not cached (\(folder): \(fileErrorCause(error)))"
        }
        return Result(judge: judge, seconds: Date().timeIntervalSince(start), cached: false, note: note)
    }
}
