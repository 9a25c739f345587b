import Foundation
import XCTest
import BPTT

/// Seeded random mutations of valid inputs, for every loader that reads outside data. A case
/// passes when it ends in a parse or a clean `BPTTError` (any trap kills the test run).
/// `BPTT_FUZZ_CASES` sets the number of cases per loader (2,000 here; `make fuzz` runs 100,000).
final class FuzzTests: XCTestCase {
    static var cases: Int { Int(ProcessInfo.processInfo.environment["BPTT_FUZZ_CASES"] ?? "") ?? 2000 }

    /// Python's gzip.compress(…, mtime=0) of 1,202 bytes: one dynamic-Huffman DEFLATE block.
    static let gzipFixture: [UInt8] = [31,139,8,0,0,0,0,0,2,3,237,146,75,110,28,49,12,68,247,57,5,143,32,126,68,73,62,142,145,25,196,27,35,8,102,128,192,167,207,171,246,25,178,155,149,212,98,145,124,44,246,251,239,199,195,238,207,175,47,187,127,252,125,60,255,220,222,108,152,91,217,49,111,139,105,217,86,199,186,108,187,249,32,22,156,85,68,81,28,36,104,98,114,238,99,25,133,158,108,116,85,156,187,108,198,177,185,218,26,93,115,46,190,23,239,155,248,65,119,90,117,73,244,65,5,119,74,185,106,122,80,220,83,93,74,237,166,250,182,0,90,36,11,34,223,37,6,8,99,136,194,69,28,227,88,228,40,139,26,14,25,25,209,186,45,189,109,69,15,186,84,70,82,95,208,144,39,245,178,168,156,234,145,139,110,185,233,155,7,130,26,176,148,168,42,225,171,130,180,26,230,90,154,86,99,204,193,60,211,53,112,106,98,34,54,53,243,92,186,29,222,122,16,37,203,113,147,140,158,228,246,162,74,111,234,173,49,101,14,25,139,158,182,38,125,215,130,96,29,88,182,172,223,1,223,46,237,162,97,222,27,250,163,57,80,112,131,18,55,153,242,236,113,237,74,102,141,184,238,53,100,112,163,192,102,196,238,202,115,143,212,189,228,163,183,44,245,45,119,227,123,211,41,207,99,202,254,88,218,68,156,107,41,215,126,178,230,181,32,109,45,143,22,88,206,68,143,95,55,187,125,254,252,241,254,250,177,94,63,214,255,248,177,254,1,218,194,154,39,178,4,0,0]

    /// A mutated copy of `valid`: flipped bytes, a cut, an insertion, a deleted or repeated run.
    static func mutate(_ valid: [UInt8], _ rng: inout RNG) -> [UInt8] {
        var b = valid
        switch rng.int(below: 6) {
        case 0: for _ in 0...rng.int(below: 3) where !b.isEmpty { b[rng.int(below: b.count)] ^= UInt8(1 << rng.int(below: 8)) }
        case 1: for _ in 0...rng.int(below: 3) where !b.isEmpty { b[rng.int(below: b.count)] = UInt8(rng.int(below: 256)) }
        case 2: b = Array(b.prefix(rng.int(below: b.count + 1)))
        case 3: b.insert(UInt8(rng.int(below: 256)), at: rng.int(below: b.count + 1))
        case 4:
            if b.count > 2 { let i = rng.int(below: b.count - 1); b.removeSubrange(i..<min(b.count, i + 1 + rng.int(below: 16))) }
        default:
            if b.count > 2 { let i = rng.int(below: b.count - 1); let run = b[i..<min(b.count, i + 1 + rng.int(below: 16))]; b.insert(contentsOf: run, at: i) }
        }
        return b
    }

    /// A structure-aware mutation of a CSV/TSV corpus or a word-vector file. Returns the text and
    /// whether the content is unchanged (a BOM, other line ends or blank lines between rows, tabs
    /// for spaces in vectors, a word2vec header): then a reader must read exactly the same.
    static func mutateText(_ text: String, _ rng: inout RNG) -> (String, Bool) {
        var c = Array(text)
        let isCSV = text.hasPrefix("id,")
        // indices of line ends outside quotes (row boundaries)
        func boundaries() -> [Int] {
            var inQuotes = false, out: [Int] = []
            for (i, ch) in c.enumerated() {
                if ch == "\"" { inQuotes.toggle() } else if ch == "\n" && !inQuotes { out.append(i) }
            }
            return out
        }
        func any(_ chars: Set<Character>) -> Int? {
            let idx = c.indices.filter { chars.contains(c[$0]) }
            return idx.isEmpty ? nil : idx[rng.int(below: idx.count)]
        }
        switch rng.int(below: 12) {
        case 0: return ("\u{FEFF}" + text, true)
        case 1, 2:   // every row boundary becomes CRLF or CR
            let end: Character = rng.int(below: 2) == 0 ? "\r\n" : "\r"
            for i in boundaries() { c[i] = end }
            return (String(c), true)
        case 3:      // a blank line between rows (not after the header of a vector file's first line)
            let b = boundaries()
            c.insert("\n", at: b[rng.int(below: b.count)])
            return (String(c), true)
        case 4:
            if isCSV { break }
            if rng.int(below: 2) == 0 { return (String(c.map { $0 == " " ? "\t" : $0 }), true) }
            let lines = text.split(separator: "\n")
            return ("\(lines.count) \(lines[0].split(separator: " ").count - 1)\n" + text, true)
        case 5: if let i = any(["\""]) { c.remove(at: i) }                   // an unbalanced quote
        case 6: c.insert("\"", at: rng.int(below: c.count + 1))              // a stray quote
        case 7: if let i = any([",", "\t", " "]) { c[i] = [",", "\t", " "][rng.int(below: 3)] }   // another separator
        case 8: c.insert(isCSV ? "," : " ", at: rng.int(below: c.count + 1))  // an extra field
        case 9: if let i = any([",", " "]) { c.remove(at: i) }                // a field less
        case 10: if let i = any(["\n"]) { c.remove(at: i) }                  // two rows merged
        default: c.insert("\r", at: rng.int(below: c.count + 1))             // a stray CR
        }
        return (String(c), false)
    }

    /// Runs `parse` on `cases` mutations; returns (parsed, rejected).
    func fuzz(_ name: String, valid: [UInt8], seed: UInt64, parse: ([UInt8]) throws -> Void) -> (Int, Int) {
        XCTAssertNoThrow(try parse(valid), "\(name): the unmutated input must parse")
        var rng = RNG(seed: seed)
        var parsed = 0, rejected = 0
        for _ in 0..<Self.cases {
            do { try parse(Self.mutate(valid, &rng)); parsed += 1 }
            catch let e as BPTTError { rejected += 1; XCTAssertEqual(e.exitCode, 2, "\(name): \(e)") }
            catch { XCTFail("\(name): unexpected error type \(error)") }
        }
        XCTAssertEqual(parsed + rejected, Self.cases)
        XCTAssertGreaterThan(rejected, Self.cases / 4, "\(name): mutations should mostly be caught")
        return (parsed, rejected)
    }

    func testGzip() {
        let original = try? Gzip.decompress(Self.gzipFixture)
        XCTAssertEqual(original?.count, 1202)
        _ = fuzz("gzip", valid: Self.gzipFixture, seed: 1) { b in
            let out = try Gzip.decompress(b, name: "fuzz.gz")
            // a stream that passes the CRC-32 and length checks must be the original
            XCTAssertEqual(out, original)
        }
    }

    func testIDX() {
        var rng = RNG(seed: 2)
        let idx = IDXArray.encode(dims: [6, 5, 4], bytes: (0..<120).map { _ in UInt8(rng.int(below: 256)) })
        _ = fuzz("idx", valid: idx, seed: 3) { b in _ = try IDXArray(parsing: b, name: "fuzz-idx") }
    }

    func testCSVCorpus() {
        let csv = Array("id,text,label\n1,\"a \"\"quoted\"\", review\",positive\n2,plain words here,0\n3,more,1\n4,\"multi\nline\",neg\n".utf8)
        _ = fuzz("csv", valid: csv, seed: 4) { b in _ = try TextCorpus.parseTable(b, source: "fuzz.csv") }
    }

    func testWordVectors() {
        let v = Vocabulary(texts: [["good", "bad", "film"]], maxWords: 10)
        let text = Array("good 0.1 0.2 -0.3\nbad -1 2e-3 4\nfilm 1 1 1\nother 5 5 5\n".utf8)
        _ = fuzz("vectors", valid: text, seed: 5) { b in
            guard let s = String(validating: b, as: UTF8.self) else { throw BPTTError.input("fuzz: not UTF-8") }
            var rng = RNG(seed: 1)
            _ = try WordVectors.parse(s, source: "fuzz.txt", vocabulary: v, rng: &rng)
        }
    }

    /// Line ends, a BOM and quoting changed without changing the content must read the same;
    /// mutations of the structure (separators, quotes, fields) must end in a parse or a clean error.
    func testTextReadersUnderStructureAwareMutations() {
        let csv = "id,text,label\n1,\"a \"\"quoted\"\", review\",positive\n2,plain words here,0\n3,\"tab\there\",1\n4,\"multi\nline\",neg\n"
        let reference = try? TextCorpus.parseTable(Array(csv.utf8), source: "ref.csv")
        XCTAssertEqual(reference?.count, 4)
        let vectors = "good 0.1 0.2 -0.3\nbad -1 2e-3 4\nfilm 1 1 1\nother 5 5 5\n"
        let v = Vocabulary(texts: [["good", "bad", "film"]], maxWords: 10)
        func readVectors(_ s: String) throws -> Matrix<Float> { var rng = RNG(seed: 1); return try WordVectors.parse(s, source: "fuzz.txt", vocabulary: v, rng: &rng) }
        let vectorReference = try? readVectors(vectors)
        var rng = RNG(seed: 11)
        var rejected = 0
        let cases = max(Self.cases / 4, 200)
        for i in 0..<cases {
            let (text, same) = Self.mutateText(i % 2 == 0 ? csv : vectors, &rng)
            do {
                if i % 2 == 0 {
                    let got = try TextCorpus.parseTable(Array(text.utf8), source: "fuzz.csv")
                    if same { XCTAssertEqual(got, reference, "content-preserving mutation changed the reading: \(text.debugDescription)") }
                } else {
                    let got = try readVectors(text)
                    if same { XCTAssertEqual(got, vectorReference, text.debugDescription) }
                }
            } catch let e as BPTTError {
                rejected += 1
                XCTAssertFalse(same, "content-preserving mutation refused: \(e) \(text.debugDescription)")
                XCTAssertEqual(e.exitCode, 2)
                XCTAssertFalse(e.description.contains("\n"))
            } catch { XCTFail("\(error)") }
        }
        XCTAssertGreaterThan(rejected, 0)
    }
}
