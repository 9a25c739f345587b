import Foundation

/// The text pipeline of the sentiment task: tokenizer, vocabulary (unk = 0, pad = 1), encoded reviews.
public enum Tokenizer {
    /// Lower-cases, removes HTML line breaks (`<br />`, `<br>`), and splits on every character
    /// that is not a letter, keeping apostrophes inside words ("don't", "director's") but not
    /// at their edges ("'quoted'" → "quoted").
    public static func tokenize(_ text: String) -> [String] {
        var s = text.lowercased()
        for br in ["<br />", "<br/>", "<br>"] { s = s.replacingOccurrences(of: br, with: " ") }
        var tokens: [String] = []
        var word: [Character] = []
        func flush() {
            while word.last == "'" { word.removeLast() }
            while word.first == "'" { word.removeFirst() }
            if !word.isEmpty { tokens.append(String(word)) }
            word.removeAll(keepingCapacity: true)
        }
        for ch in s {
            if ch.isLetter { word.append(ch) }
            else if ch == "'" || ch == "’" { if !word.isEmpty { word.append("'") } }
            else { flush() }
        }
        flush()
        return tokens
    }
}

/// Word ↔ index. Index 0 is the unknown word and 1 the padding (torchtext's order); then the K most
/// frequent words of the training texts, ties broken alphabetically so the order is reproducible.
public struct Vocabulary: Equatable, Sendable {
    public static let unk = 0
    public static let pad = 1
    public private(set) var words: [String]
    private var index: [String: Int]

    public init(texts: [[String]], maxWords: Int) {
        var counts: [String: Int] = [:]
        for t in texts { for w in t { counts[w, default: 0] += 1 } }
        let top = counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(max(maxWords, 0))
        words = ["<unk>", "<pad>"] + top.map(\.key)
        index = Dictionary(uniqueKeysWithValues: words.enumerated().map { ($1, $0) })
    }

    public var count: Int { words.count }

    public func id(_ word: String) -> Int { index[word] ?? Vocabulary.unk }

    public func encode(_ tokens: [String]) -> [Int] { tokens.map(id) }
}

/// A labelled text (label 1 = positive, 0 = negative).
public struct LabelledText: Equatable, Sendable {
    public var text: String
    public var label: Int
    public init(text: String, label: Int) { self.text = text; self.label = label }
}

/// Readers for the two corpus layouts the sentiment task accepts.
public enum TextCorpus {
    /// Reads `root/train/{pos,neg}` and `root/test/{pos,neg}` (the Large Movie Review layout,
    /// one review per file) when `path` is a folder, or a CSV/TSV file with a header naming a
    /// text column (`text`, `review`, `sentence`) and a label column (`label`, `sentiment`,
    /// `polarity`), split into train and test by `testFraction` after a seeded shuffle.
    public static func load(_ path: String, testFraction: Double = 0.2, seed: UInt64 = 0) throws
        -> (train: [LabelledText], test: [LabelledText])
    {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw BPTTError.input("\(path): no such file or folder")
        }
        if isDir.boolValue {
            return (try readFolder(path, split: "train"), try readFolder(path, split: "test"))
        }
        var all = try readTable(path)
        var rng = RNG(seed: seed ^ 0x7E57)
        rng.shuffle(&all)
        let nTest = max(1, Int((Double(all.count) * testFraction).rounded()))
        guard all.count > nTest else {
            throw BPTTError.input("\(path): \(all.count) row\(all.count == 1 ? "" : "s"): too few to split into train and test (at least 2 needed)")
        }
        return (Array(all[nTest...]), Array(all[..<nTest]))
    }

    static func readFolder(_ root: String, split: String) throws -> [LabelledText] {
        var out: [LabelledText] = []
        for (sub, label) in [("pos", 1), ("neg", 0)] {
            let dir = (root as NSString).appendingPathComponent("\(split)/\(sub)")
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else {
                throw BPTTError.input("\(root): missing folder \(split)/\(sub) (expected train/pos, train/neg, test/pos, test/neg)")
            }
            for name in names.sorted() where !name.hasPrefix(".") {
                let file = (dir as NSString).appendingPathComponent(name)
                out.append(LabelledText(text: try readUTF8(file), label: label))
            }
        }
        guard !out.isEmpty else { throw BPTTError.input("\(root)/\(split): no reviews found") }
        return out
    }

    static func readUTF8(_ path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else { throw BPTTError.input("\(path): cannot read") }
        return try decodeUTF8([UInt8](data), source: path)
    }

    /// UTF-8 text with a leading byte-order mark (U+FEFF, as some editors write) removed; every
    /// text reader (corpus tables, review folders, word vectors) reads through it.
    public static func decodeUTF8(_ bytes: [UInt8], source path: String) throws -> String {
        let body = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? Array(bytes.dropFirst(3)) : bytes
        guard let s = String(validating: body, as: UTF8.self) else { throw BPTTError.input("\(path): not valid UTF-8 text") }
        return s
    }

    /// A line ends at LF, CRLF or a lone CR (old Mac files). Swift reads CRLF as one Character.
    static func isLineEnd(_ ch: Character) -> Bool { ch == "\n" || ch == "\r\n" || ch == "\r" }

    /// The lines of `text`, whichever of LF, CRLF and CR end them (empty lines kept, so that
    /// index + 1 is the line number).
    public static func lines(_ text: String) -> [Substring] {
        text.split(omittingEmptySubsequences: false, whereSeparator: isLineEnd)
    }

    /// CSV (comma) or TSV (tab, when the header line has a tab), RFC 4180 quoting; a leading
    /// byte-order mark is skipped; LF, CRLF and CR all end lines; a row with more fields than
    /// the header is refused (a text holding the separator goes in double quotes).
    static func readTable(_ path: String) throws -> [LabelledText] {
        guard let data = FileManager.default.contents(atPath: path) else { throw BPTTError.input("\(path): cannot read") }
        return try parseTable([UInt8](data), source: path)
    }

    /// Parses a CSV/TSV corpus from its bytes (`source` names it in errors).
    public static func parseTable(_ bytes: [UInt8], source path: String) throws -> [LabelledText] {
        let text = try decodeUTF8(bytes, source: path)
        guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw BPTTError.input("\(path): empty file") }
        // the separator comes from the header line alone (a tab inside a later review does not count)
        let firstLine = text.prefix { !isLineEnd($0) }
        let sep: Character = firstLine.contains("\t") ? "\t" : ","
        let rows = try parseDelimited(text, separator: sep, source: path)
        guard let header = rows.first?.map({ $0.trimmingCharacters(in: .whitespaces).lowercased() }) else {
            throw BPTTError.input("\(path): empty file")
        }
        guard let textCol = header.firstIndex(where: { ["text", "review", "sentence"].contains($0) }) else {
            throw BPTTError.input("\(path): no text column (header needs one of: text, review, sentence)")
        }
        guard let labelCol = header.firstIndex(where: { ["label", "sentiment", "polarity"].contains($0) }) else {
            throw BPTTError.input("\(path): no label column (header needs one of: label, sentiment, polarity)")
        }
        var out: [LabelledText] = []
        for (i, row) in rows.dropFirst().enumerated() {
            if row.count == 1 && row[0].isEmpty { continue }   // blank line
            guard row.count > max(textCol, labelCol) else {
                throw BPTTError.input("\(path): row \(i + 2) has \(row.count) fields, the header has \(header.count)")
            }
            guard row.count <= header.count else {   // never drop the words after an unquoted separator
                throw BPTTError.input("\(path): row \(i + 2) has \(row.count) fields, the header has \(header.count)"
                    + " (put a text that holds a \(sep == "\t" ? "tab" : "comma") in double quotes)")
            }
            out.append(LabelledText(text: row[textCol], label: try parseLabel(row[labelCol], source: "\(path): row \(i + 2)")))
        }
        guard !out.isEmpty else { throw BPTTError.input("\(path): no data rows") }
        return out
    }

    static func parseLabel(_ s: String, source: String) throws -> Int {
        switch s.trimmingCharacters(in: .whitespaces).lowercased() {
        case "1", "pos", "positive", "1.0": return 1
        case "0", "neg", "negative", "0.0": return 0
        default:
            // one line whatever the field holds: line ends escaped, long labels cut
            var shown = String(s.prefix(40)).replacingOccurrences(of: "\r", with: "\\r").replacingOccurrences(of: "\n", with: "\\n")
            if s.count > 40 { shown += "…" }
            throw BPTTError.input("\(source): label '\(shown)' is not one of 1/0, pos/neg, positive/negative")
        }
    }

    static func parseDelimited(_ text: String, separator: Character, source: String) throws -> [[String]] {
        var rows: [[String]] = []
        var row: [String] = []
        var field = ""
        var inQuotes = false
        var it = Array(text).makeIterator()
        var pending: Character? = nil
        while let ch = pending ?? it.next() {
            pending = nil
            if inQuotes {
                if ch == "\"" {
                    if let next = it.next() {
                        if next == "\"" { field.append("\"") } else { inQuotes = false; pending = next }
                    } else { inQuotes = false }
                } else { field.append(ch) }
            } else if ch == "\"" && field.isEmpty {
                inQuotes = true
            } else if ch == separator {
                row.append(field); field = ""
            } else if isLineEnd(ch) {
                row.append(field); field = ""
                rows.append(row); row = []
            } else {
                field.append(ch)
            }
        }
        if inQuotes { throw BPTTError.input("\(source): unterminated quoted field") }
        if !field.isEmpty || !row.isEmpty { row.append(field); rows.append(row) }
        return rows
    }
}

/// Pretrained word vectors in the GloVe text format: one word per line, then its numbers,
/// separated by spaces or tabs. A word2vec-style first line `COUNT DIM` is recognised and skipped;
/// a byte-order mark is skipped; LF, CRLF and CR all end lines.
public enum WordVectors {
    /// An embedding matrix (vocabulary × dimension): rows of words found in the file take their
    /// vectors, unknown words N(0, 1)·scale from `rng`, unk and pad zero.
    public static func load(_ path: String, vocabulary: Vocabulary, rng: inout RNG, scale: Double = 0.1) throws -> Matrix<Float> {
        try read(path, vocabulary: vocabulary, rng: &rng, scale: scale).matrix
    }

    /// As `load`, with the number of vocabulary words (besides unk and pad) found in the file.
    public static func read(_ path: String, vocabulary: Vocabulary, rng: inout RNG, scale: Double = 0.1) throws -> (matrix: Matrix<Float>, found: Int) {
        try parseCounting(TextCorpus.readUTF8(path), source: path, vocabulary: vocabulary, rng: &rng, scale: scale)
    }

    /// Parses vectors from text (`source` names it in errors).
    public static func parse(_ text: String, source path: String, vocabulary: Vocabulary, rng: inout RNG, scale: Double = 0.1) throws -> Matrix<Float> {
        try parseCounting(text, source: path, vocabulary: vocabulary, rng: &rng, scale: scale).matrix
    }

    static func fields(_ line: Substring) -> [Substring] {
        line.split(omittingEmptySubsequences: true, whereSeparator: { $0 == " " || $0 == "\t" })
    }

    /// Parses vectors from text and counts the vocabulary words found.
    public static func parseCounting(_ text: String, source path: String, vocabulary: Vocabulary, rng: inout RNG,
                                     scale: Double = 0.1) throws -> (matrix: Matrix<Float>, found: Int) {
        var text = Substring(text)
        if text.unicodeScalars.first == "\u{FEFF}" { text = Substring(text.unicodeScalars.dropFirst()) }
        let lines = TextCorpus.lines(String(text))
        var found: [Int: [Float]] = [:]
        var dim: Int? = nil
        var first = true, read = 0
        for (n, line) in lines.enumerated() {
            let parts = fields(line)
            if parts.isEmpty { continue }   // blank line
            if first {
                first = false
                // word2vec's text format opens with "COUNT DIM"
                if parts.count == 2, let count = Int(parts[0]), let d = Int(parts[1]), count >= 0, d >= 1 {
                    let next = lines[(n + 1)...].lazy.map(fields).first { !$0.isEmpty }
                    if next == nil || next!.count - 1 == d { dim = d; continue }
                    if d > 1 {
                        throw BPTTError.input("\(path): line 1 '\(line)' reads as a word2vec header (\(count) words of \(d) numbers), but the next line has \(next!.count - 1) numbers")
                    }
                }
            }
            guard parts.count >= 2 else { throw BPTTError.input("\(path): line \(n + 1) has a word ('\(parts[0].prefix(40))') but no numbers") }
            var values: [Float] = []
            values.reserveCapacity(parts.count - 1)
            for p in parts.dropFirst() {
                guard let v = Float(p), v.isFinite else {
                    throw BPTTError.input("\(path): line \(n + 1): '\(p.prefix(40))' is not a finite number")
                }
                values.append(v)
            }
            if let d = dim, d != values.count {
                throw BPTTError.input("\(path): line \(n + 1) has \(values.count) numbers, earlier lines \(d) (ragged rows)")
            }
            dim = values.count
            read += 1
            let id = vocabulary.id(String(parts[0]))
            if id != Vocabulary.unk || parts[0] == "<unk>" { found[id] = values }
        }
        guard let d = dim, read > 0 else { throw BPTTError.input("\(path): no vectors") }
        var m = Matrix<Float>(rows: vocabulary.count, cols: d)
        var hits = 0
        for r in 0..<vocabulary.count {
            if r == Vocabulary.unk || r == Vocabulary.pad { continue }
            if let v = found[r] { for c in 0..<d { m[r, c] = v[c] }; hits += 1 }
            else { for c in 0..<d { m[r, c] = Float(scale * rng.gaussian()) } }
        }
        return (m, hits)
    }
}
