import Foundation
import XCTest
import BPTT

final class TextTests: XCTestCase {
    func testTokenizerFollowsTheSeed() {
        XCTAssertEqual(Tokenizer.tokenize("I didn't LIKE it.<br /><br />The director's cut: 'awful'!"),
                       ["i", "didn't", "like", "it", "the", "director's", "cut", "awful"])
        XCTAssertEqual(Tokenizer.tokenize("  ,,, 42 "), [])
        XCTAssertEqual(Tokenizer.tokenize("rock'n'roll e-mail"), ["rock'n'roll", "e", "mail"])
    }

    func testVocabularyKeepsUnkAndPadAndTheMostFrequentWords() {
        let texts = [["b", "a", "a"], ["c", "a", "b"], ["d"]]
        let v = Vocabulary(texts: texts, maxWords: 2)
        XCTAssertEqual(v.words, ["<unk>", "<pad>", "a", "b"])
        XCTAssertEqual(v.encode(["a", "b", "c", "zzz"]), [2, 3, Vocabulary.unk, Vocabulary.unk])
    }

    func tmp(_ name: String, _ content: String) -> String {
        let p = testTemporaryDirectory.appendingPathComponent("bptt-\(getpid())-\(name)").path
        _ = FileManager.default.createFile(atPath: p, contents: Data(content.utf8))
        return p
    }

    func testCSVAndTSVWithQuotes() throws {
        let csv = tmp("a.csv", "id,review,sentiment\n1,\"Great, \"\"truly\"\" great\",positive\n2,dull,negative\n3,fine,1\n4,meh,0\n5,ok,pos\n")
        let (train, test) = try TextCorpus.load(csv, testFraction: 0.2)
        XCTAssertEqual(train.count + test.count, 5)
        XCTAssertTrue((train + test).contains(LabelledText(text: "Great, \"truly\" great", label: 1)))
        let tsv = tmp("a.tsv", "text\tlabel\nnice film\t1\nbad film\t0\nok\t1\n")
        let (tr, te) = try TextCorpus.load(tsv, testFraction: 0.34)
        XCTAssertEqual(tr.count + te.count, 3)
    }

    func testFolderLayout() throws {
        let root = testTemporaryDirectory.appendingPathComponent("bptt-imdb-\(getpid())")
        defer { try? FileManager.default.removeItem(at: root) }
        for (split, sub, name, text) in [("train", "pos", "1_9.txt", "loved it"), ("train", "neg", "2_1.txt", "hated it"),
                                         ("test", "pos", "3_8.txt", "wonderful"), ("test", "neg", "4_2.txt", "awful")] {
            let dir = root.appendingPathComponent("\(split)/\(sub)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            try text.write(to: dir.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        let (train, test) = try TextCorpus.load(root.path)
        XCTAssertEqual(train, [LabelledText(text: "loved it", label: 1), LabelledText(text: "hated it", label: 0)])
        XCTAssertEqual(test.map(\.label), [1, 0])
    }

    func expectInputError(_ body: () throws -> Void, _ text: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try body(), file: file, line: line) { e in
            XCTAssertEqual((e as? BPTTError)?.exitCode, 2, file: file, line: line)
            XCTAssertTrue("\(e)".contains(text), "'\(e)' should mention '\(text)'", file: file, line: line)
        }
    }

    func testBadCorporaAreRejectedCleanly() {
        expectInputError({ _ = try TextCorpus.load(self.tmp("e.csv", "")) }, "empty")
        expectInputError({ _ = try TextCorpus.load(self.tmp("n.csv", "text,score\nhi,1\n")) }, "no label column")
        expectInputError({ _ = try TextCorpus.load(self.tmp("l.csv", "text,label\nhi,maybe\nyo,1\n")) }, "label 'maybe'")
        expectInputError({ _ = try TextCorpus.load(self.tmp("q.csv", "text,label\n\"open,1\n")) }, "unterminated")
        let bad = testTemporaryDirectory.appendingPathComponent("bptt-\(getpid())-bin.csv").path
        _ = FileManager.default.createFile(atPath: bad, contents: Data([0x74, 0x65, 0x78, 0x74, 0xFF, 0xFE, 0x0A]))
        expectInputError({ _ = try TextCorpus.load(bad) }, "UTF-8")
        expectInputError({ _ = try TextCorpus.load("/nonexistent/corpus.csv") }, "no such file")
    }

    func testWordVectors() throws {
        let v = Vocabulary(texts: [["good", "bad", "film"]], maxWords: 10)
        var rng = RNG(seed: 1)
        let m = try WordVectors.load(tmp("v.txt", "good 1 2 3\nbad -1 -2 -3\nunused 9 9 9\n"), vocabulary: v, rng: &rng)
        XCTAssertEqual(m.rows, v.count)
        XCTAssertEqual(Array(m.row(v.id("good"))), [1, 2, 3])
        XCTAssertEqual(Array(m.row(Vocabulary.pad)), [0, 0, 0])
        XCTAssertEqual(Array(m.row(Vocabulary.unk)), [0, 0, 0])
        XCTAssertNotEqual(Array(m.row(v.id("film"))), [0, 0, 0], "unknown words get random vectors")
        expectInputError({ var r = RNG(seed: 1); _ = try WordVectors.load(self.tmp("r.txt", "a 1 2\nb 1\n"), vocabulary: v, rng: &r) }, "ragged")
    }

    func testSyntheticCorpusIsBalancedAndNegationFlipsTheLabel() {
        let corpus = SyntheticSentiment.generate(count: 400, seed: 3)
        XCTAssertEqual(corpus.filter { $0.label == 1 }.count, 200)
        for r in corpus {
            let t = Tokenizer.tokenize(r.text)
            let pos = t.contains { SyntheticSentiment.positive.contains($0) }
            let negated = t.contains { ["not", "never", "hardly", "nowhere"].contains($0) }
            XCTAssertEqual(r.label, (pos != negated) ? 1 : 0, r.text)
        }
        XCTAssertEqual(corpus, SyntheticSentiment.generate(count: 400, seed: 3))
    }

    func testEmbeddingGradientTouchesOnlyUsedRows() {
        var rng = RNG(seed: 4)
        let emb = Embedding<Double>(vocabularySize: 7, dimension: 3)
        let p = emb.initialParameters(rng: &rng)
        let ids = [2, 5, 2, 1, 6]   // word 2 twice, the padding id once
        let R = Matrix<Double>.normal(ids.count, 3, std: 1, rng: &rng)
        // loss = Σ ⟨R, e⟩  ⇒  de = R
        var grads = p.zeros()
        emb.backward(R, ids: ids[...], grads: &grads)
        let results = GradientCheck.run([GradientCheck.Tensor(name: "W", value: p.W, analytic: grads.W)]) { v in
            var e = Matrix<Double>(rows: 0, cols: 0)
            emb.forward(ids[...], Embedding<Double>.Parameters(W: v[0]), into: &e)
            // the padding row is frozen: its gradient is defined as 0, so hold it out of the loss
            var loss = 0.0
            for b in 0..<ids.count where ids[b] != Vocabulary.pad { for c in 0..<3 { loss += R[b, c] * e[b, c] } }
            return .init(loss: loss)
        }
        XCTAssertLessThan(results[0].maxRelError, GradientCheck.threshold)
        for unused in [0, 3, 4, 1] { XCTAssertEqual(Array(grads.W.row(unused)), [0, 0, 0], "row \(unused)") }
        XCTAssertEqual(grads.W[2, 0], R[0, 0] + R[2, 0], accuracy: 1e-15)
    }
}
