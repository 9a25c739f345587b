import Foundation

/// The symbols of a character-level model: the distinct Unicode scalars of the training split,
/// sorted by code point; symbol k is the k-th of them.
public struct CharVocabulary: Sendable, Equatable {
    public let symbols: [Unicode.Scalar]
    private let index: [UInt32: Int]

    public init(symbols: [Unicode.Scalar]) {
        self.symbols = symbols
        var index: [UInt32: Int] = [:]
        for (k, s) in symbols.enumerated() { index[s.value] = k }
        self.index = index
    }

    /// The distinct scalars of `text`, sorted.
    public init(text: String.UnicodeScalarView) {
        var seen = Set<UInt32>()
        for s in text { seen.insert(s.value) }
        self.init(symbols: seen.sorted().map { Unicode.Scalar($0)! })
    }

    /// As stored in checkpoints: the symbols in order, as one string.
    public init(stored: String) { self.init(symbols: Array(stored.unicodeScalars)) }
    public var stored: String { String(String.UnicodeScalarView(symbols)) }

    public var count: Int { symbols.count }
    public func id(_ s: Unicode.Scalar) -> Int? { index[s.value] }

    /// The ids of `text`. Errors: `what` names the text in the one-line message that quotes the
    /// first symbol outside the vocabulary.
    public func encode(_ text: String, what: String) throws -> [Int] {
        var out: [Int] = []
        out.reserveCapacity(text.unicodeScalars.count)
        for s in text.unicodeScalars {
            guard let k = index[s.value] else {
                throw BPTTError.input("\(what): the character \(CharVocabulary.quoted(s)) is not in the model's vocabulary of \(count) characters")
            }
            out.append(k)
        }
        return out
    }

    public func decode(_ ids: [Int]) -> String {
        String(String.UnicodeScalarView(ids.map { symbols[$0] }))
    }

    /// 'a', '\n', 'U+00E9'.
    public static func quoted(_ s: Unicode.Scalar) -> String {
        switch s {
        case "\n": return "'\\n'"
        case "\t": return "'\\t'"
        case "\r": return "'\\r'"
        default: return s.value < 32 || s.value == 127 ? String(format: "U+%04X", s.value) : "'\(s)' (U+\(String(format: "%04X", s.value)))"
        }
    }
}

/// A text for a character-level model, split into a training part and a validation part (the
/// last `validationFraction` of the characters), encoded with the training part's vocabulary.
public struct CharCorpus: Sendable {
    /// What was read ("built-in Shakespeare tragedies", a path).
    public let source: String
    public let vocabulary: CharVocabulary
    public let train: [Int]
    public let validation: [Int]

    /// The name `--data` gives the complete works installed by `make data-shakespeare`.
    public static let completeWorksName = "shakespeare"
    /// Where `make data-shakespeare` puts the 42 texts (`*_gut.txt`).
    public static var completeWorksFolder: String { NSHomeDirectory() + "/.local/share/bptt/shakespeare" }
    /// The plays of the built-in text, in the order they are joined.
    public static let builtinPlays = ["romeo_and_juliet", "julius_caesar", "hamlet", "othello", "lear", "macbeth", "antony_and_cleopatra"]

    /// Splits `text` (characters = Unicode scalars) at ⌊(1 − validationFraction)·N⌋; the
    /// vocabulary is the training part's, so a validation character it lacks is an error.
    /// With `vocabulary` given (a resumed run) that one is used and checked against the text.
    public init(text: String, source: String, validationFraction: Double, vocabulary given: CharVocabulary? = nil) throws {
        let scalars = Array(text.unicodeScalars)
        guard !scalars.isEmpty else { throw BPTTError.input("\(source): the text is empty") }
        let cut = Int((Double(scalars.count) * (1 - validationFraction)).rounded(.down))
        guard cut >= 2 else { throw BPTTError.input("\(source): \(scalars.count) characters leave no training text") }
        guard validationFraction == 0 || scalars.count - cut >= 2 else {
            throw BPTTError.input("\(source): \(scalars.count) characters leave fewer than 2 for validation (--validation \(validationFraction))")
        }
        let trainText = String(String.UnicodeScalarView(scalars[..<cut]))
        let validText = String(String.UnicodeScalarView(scalars[cut...]))
        let v = given ?? CharVocabulary(text: trainText.unicodeScalars)
        guard v.count >= 2 else { throw BPTTError.input("\(source): the training text has a single distinct character") }
        self.source = source
        vocabulary = v
        train = try v.encode(trainText, what: "\(source) (training part)")
        validation = try v.encode(validText, what: "\(source) (validation part, the last \(Int((validationFraction * 100).rounded()))%)")
    }

    /// The text a `--data` value names: nil or "builtin" (the shipped tragedies), "shakespeare"
    /// (the complete works after `make data-shakespeare`), or a UTF-8 file.
    public static func read(_ spec: String?) throws -> (text: String, source: String) {
        switch spec {
        case nil, "builtin":
            return (try builtinText(), "built-in Shakespeare (\(builtinPlays.count) tragedies)")
        case completeWorksName:
            return (try completeWorks(), "Shakespeare complete works (\(completeWorksFolder))")
        case let path?:
            return (try readUTF8(path), path)
        }
    }

    /// The shipped text: seven tragedies joined (data/shakespeare/README.md), 993,249 ASCII characters.
    public static func builtinText() throws -> String {
        guard let d = Data(base64Encoded: BuiltinShakespeare.tragediesGzipBase64, options: .ignoreUnknownCharacters) else {
            throw BPTTError.input("built-in Shakespeare: bad embedded data")
        }
        let bytes = try Gzip.decompress([UInt8](d), name: "built-in Shakespeare")
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The 42 texts of the `shakespeare` 0.6 source distribution, joined in file-name order.
    public static func completeWorks() throws -> String {
        let folder = completeWorksFolder
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { $0.hasSuffix("_gut.txt") }.sorted()
        guard !names.isEmpty else {
            throw BPTTError.input("--data shakespeare: no *_gut.txt texts in \(folder) (install them with: make data-shakespeare)")
        }
        return try names.map { try readUTF8(folder + "/" + $0) }.joined()
    }

    /// A file's text: missing, a folder, unreadable, empty or not UTF-8 are one-line errors. As
    /// every text reader here does, a leading UTF-8 byte-order mark is skipped, and CRLF and CR line
    /// ends become LF (so a file saved on another system has the same vocabulary).
    public static func readUTF8(_ path: String) throws -> String {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { throw BPTTError.input("\(path): no such file") }
        guard !isDir.boolValue else { throw BPTTError.input("\(path): is a folder, not a text file") }
        guard let data = FileManager.default.contents(atPath: path) else { throw BPTTError.input("\(path): cannot be read") }
        guard !data.isEmpty else { throw BPTTError.input("\(path): the file is empty") }
        var bytes = [UInt8](data)
        if Gzip.isGzip(bytes) { bytes = try Gzip.decompress(bytes, name: path) }
        guard let s = String(validating: bytes, as: UTF8.self) else {
            let bad = firstInvalidUTF8(bytes)
            throw BPTTError.input("\(path): not UTF-8 text (invalid byte 0x\(String(format: "%02X", bytes[bad])) at offset \(bad))")
        }
        var text = s.hasPrefix("\u{FEFF}") ? String(s.unicodeScalars.dropFirst()) : s
        if text.unicodeScalars.contains("\r") {
            text = text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
        }
        guard !text.isEmpty else { throw BPTTError.input("\(path): the file is empty") }
        return text
    }

    /// The offset of the first byte that does not start a valid UTF-8 sequence.
    static func firstInvalidUTF8(_ bytes: [UInt8]) -> Int {
        var parser = Unicode.UTF8.ForwardParser()
        var it = bytes.makeIterator()
        var offset = 0
        while true {
            switch parser.parseScalar(from: &it) {
            case .valid(let s): offset += s.count
            case .emptyInput: return max(0, bytes.count - 1)
            case .error: return offset
            }
        }
    }
}
