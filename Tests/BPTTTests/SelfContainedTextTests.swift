import Foundation
import XCTest

/// The repository's text stands on its own: the README, bench notes, derivations, code comments,
/// help texts, scripts and tests never point to a document that is not in the repository (a
/// guide's section, a numbered assignment "seed", a work session, an issue, a book by its
/// abbreviation). They say what is meant instead; a public paper or book is cited by author and
/// title. `--seed S`, the random seed, is of course fine.
final class SelfContainedTextTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// What a pointer to an absent document looks like (case-insensitive).
    static let patterns: [(name: String, regex: String)] = [
        ("a guide", #"\bguide\b"#),
        ("a numbered seed document", #"(?<!-)seeds? ?0\d\d"#),
        ("a section sign", "§"),
        ("a work session", #"\bsession \d"#),
        ("a book by its abbreviation", #"\bDLFS\d*\b"#),
        ("an issue number", #"\bissue #?\d+"#),
        ("an assignment", #"\b(course )?assignment"#),
    ]

    /// Paths (relative to the repository root) scanned: files, or folders scanned recursively.
    static let scanned = ["README.md", "Makefile", "Package.swift", "bench", "derivations", "scripts", "data", "Sources", "Tests",
                          "Examples", "docs", ".ci"]
    static let extensions: Set<String> = ["md", "swift", "py", "sh", "html", ""]

    /// Paths not scanned: none of the repository's own files, only build folders (`.build`) that
    /// `swift build` makes inside the example packages.
    static let excluded: [String] = []
    static func isBuildOutput(_ rel: String) -> Bool { rel.contains("/.build/") || rel.contains("/.build-") }

    /// This file names the patterns, so it is not scanned.
    static let this = "Tests/BPTTTests/SelfContainedTextTests.swift"

    static func files() -> [String] {
        var out: [String] = []
        let fm = FileManager.default
        for entry in scanned {
            let url = root.appendingPathComponent(entry)
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: url.path, isDirectory: &isDir) else { continue }
            if !isDir.boolValue { out.append(entry); continue }
            guard let e = fm.enumerator(at: url, includingPropertiesForKeys: nil) else { continue }
            for case let f as URL in e {
                if f.lastPathComponent.hasPrefix(".build") { e.skipDescendants(); continue }
                guard extensions.contains(f.pathExtension) else { continue }
                var d: ObjCBool = false
                guard fm.fileExists(atPath: f.path, isDirectory: &d), !d.boolValue else { continue }
                let rel = entry + f.path.dropFirst(url.path.count)
                if rel == this || excluded.contains(where: { rel.hasPrefix($0) }) || isBuildOutput(rel) { continue }
                // extensionless files: only Makefiles, READMEs and CI's script (not data blobs)
                if f.pathExtension.isEmpty && !["Makefile", "README", "run"].contains(f.lastPathComponent) { continue }
                out.append(rel)
            }
        }
        return out.sorted()
    }

    /// Every "file:line: text (what it looks like)" where a line points to an absent document.
    static func references() throws -> [String] {
        let regexes = try patterns.map { ($0.name, try NSRegularExpression(pattern: $0.regex, options: [.caseInsensitive])) }
        var found: [String] = []
        for rel in files() {
            guard let text = try? String(contentsOf: root.appendingPathComponent(rel), encoding: .utf8) else { continue }
            for (i, line) in text.components(separatedBy: "\n").enumerated() {
                let range = NSRange(line.startIndex..., in: line)
                for (name, re) in regexes {
                    if let m = re.firstMatch(in: line, range: range), let r = Range(m.range, in: line) {
                        found.append("\(rel):\(i + 1): \"\(line[r])\" (\(name)) in: \(line.trimmingCharacters(in: .whitespaces))")
                        break
                    }
                }
            }
        }
        return found
    }

    func testNoReferenceToDocumentsOutsideTheRepository() throws {
        let files = Self.files()
        XCTAssertTrue(files.contains("README.md") && files.contains("derivations/lstm.md")
                      && files.contains("Sources/bptt/TrainCommand.swift") && files.contains("Makefile"),
                      "the scan misses files it should read: \(files.prefix(10))")
        let found = try Self.references()
        XCTAssertTrue(found.isEmpty, "references to documents outside the repository (say what is meant instead):\n"
                      + found.joined(separator: "\n"))
    }

    func testThePatternsCatchWhatTheyAreFor() throws {
        let caught = ["see GUIDE §1", "the palindrome task of seed 001", "seeds 001/003", "Seed 002's text",
                      "testShowsTheSeed001Comparison", "in session 3", "DLFS2's TimeLSTM", "(issue 4)"]
        let fine = ["--seed 0", "bptt train --seed 123", "RNG(seed: 2)", "same seed, same numbers", "dropoutSeeds",
                    "Saito, Deep Learning from Scratch 2, common/time_layers.py", "the seed's stream"]
        let regexes = try Self.patterns.map { try NSRegularExpression(pattern: $0.regex, options: [.caseInsensitive]) }
        func hit(_ s: String) -> Bool { regexes.contains { $0.firstMatch(in: s, range: NSRange(s.startIndex..., in: s)) != nil } }
        for s in caught { XCTAssertTrue(hit(s), "not caught: \(s)") }
        for s in fine { XCTAssertFalse(hit(s), "caught by mistake: \(s)") }
    }
}
