import Foundation
import XCTest

/// Keeps derivations/ and Sources/ in step both ways: every tag the code cites is
/// defined in a derivation, and every backward equation (name starting with `d`) is cited.
final class TraceabilityTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func files(in dir: String, ext: String) -> [URL] {
        let base = root.appendingPathComponent(dir)
        guard let e = FileManager.default.enumerator(at: base, includingPropertiesForKeys: nil) else { return [] }
        return e.compactMap { $0 as? URL }.filter { $0.pathExtension == ext }
    }

    static func matches(_ pattern: String, in text: String) -> [String] {
        let re = try! NSRegularExpression(pattern: pattern)
        return re.matches(in: text, range: NSRange(text.startIndex..., in: text)).map {
            String(text[Range($0.range(at: 1), in: text)!])
        }
    }

    static func definedTags() -> [String: String] {
        var tags: [String: String] = [:]
        for f in files(in: "derivations", ext: "md") {
            let text = try! String(contentsOf: f, encoding: .utf8)
            for t in matches(#"\\tag\{([a-z0-9-]+\.[A-Za-z0-9_.-]+)\}"#, in: text) { tags[t] = f.lastPathComponent }
        }
        return tags
    }

    static func citedTags() -> [String: String] {
        var tags: [String: String] = [:]
        for f in files(in: "Sources", ext: "swift") {
            let text = try! String(contentsOf: f, encoding: .utf8)
            for line in text.split(separator: "\n") {
                guard let c = line.range(of: "//") else { continue }
                let comment = String(line[c.lowerBound...])
                for t in matches(#"\(([a-z0-9-]+\.[A-Za-z0-9_.-]+)\)"#, in: comment) { tags[t] = f.lastPathComponent }
            }
        }
        return tags
    }

    func testEveryCitedTagIsDerived() {
        let defined = Self.definedTags(), cited = Self.citedTags()
        XCTAssertFalse(defined.isEmpty, "no tags found in derivations/")
        XCTAssertFalse(cited.isEmpty, "no tag citations found in Sources/")
        for (tag, file) in cited.sorted(by: { $0.key < $1.key }) {
            // a tag's stem names the derivation file it must live in
            let stem = String(tag.split(separator: ".")[0])
            XCTAssertNotNil(defined[tag], "\(file) cites (\(tag)) but no derivation defines \\tag{\(tag)}")
            if let where_ = defined[tag] { XCTAssertEqual(where_, stem + ".md", "\\tag{\(tag)} should live in \(stem).md") }
        }
    }

    func testEveryBackwardEquationIsImplemented() {
        let defined = Self.definedTags(), cited = Self.citedTags()
        for (tag, file) in defined.sorted(by: { $0.key < $1.key }) {
            let name = tag.split(separator: ".", maxSplits: 1)[1]
            if name.hasPrefix("d") {
                XCTAssertNotNil(cited[tag], "\(file) defines backward equation \\tag{\(tag)} but no code cites (\(tag))")
            }
        }
    }
}
