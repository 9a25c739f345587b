import XCTest
import BPTT

/// The image trainers split each batch into fixed shards run on their own threads: the numbers
/// must not depend on the thread count, and must be those of the whole batch up to rounding.
final class ShardedImageTrainingTests: XCTestCase {
    func testAutoencoderShardsGiveTheSameNumbersOnOneOrTwoThreads() {
        let data = ImageData.random(count: 300, height: 8, width: 8, seed: 3)
        func run(threads: Int, batch: Int) -> ([Float], [Double]) {
            var c = AutoencoderConfig(); (c.hidden, c.batch, c.threads) = ([16, 4, 16], batch, threads)
            let t = AutoencoderTrainer(c, data: data, dataSpec: "random")
            let losses = (0..<12).map { _ in t.trainStep().loss }
            return (t.params.tensors.flatMap(\.data), losses)
        }
        let one = run(threads: 1, batch: 33), two = run(threads: 2, batch: 33)   // odd batch: shards of 16 and 17
        XCTAssertEqual(one.0, two.0)
        XCTAssertEqual(one.1, two.1)
        XCTAssertTrue(one.1.allSatisfy { $0.isFinite && $0 > 0 })
        XCTAssertLessThan(one.1.last!, one.1.first!, "the loss falls over 12 Adam steps")
        let single = run(threads: 2, batch: 1)                                    // a batch of one: one shard
        XCTAssertTrue(single.1.allSatisfy(\.isFinite))
    }

    func testClassifierShardsGiveTheSameNumbersOnOneOrTwoThreads() {
        let data = ImageData.random(count: 300, height: 8, width: 8, seed: 4)
        func run(threads: Int, dropout: Double) -> ([Float], [Double]) {
            var c = ClassifierConfig(); (c.hidden, c.batch, c.threads, c.dropout) = ([16, 8], 33, threads, dropout)
            let t = ClassifierTrainer(c, data: data, dataSpec: "random")
            let losses = (0..<12).map { _ in t.trainStep().loss }
            return (t.params.tensors.flatMap(\.data), losses)
        }
        for dropout in [0.0, 0.3] {
            let one = run(threads: 1, dropout: dropout), two = run(threads: 2, dropout: dropout)
            XCTAssertEqual(one.0, two.0, "dropout \(dropout)")
            XCTAssertEqual(one.1, two.1, "dropout \(dropout)")
            XCTAssertTrue(one.1.allSatisfy { $0.isFinite && $0 > 0 })
        }
        XCTAssertNotEqual(run(threads: 2, dropout: 0).1, run(threads: 2, dropout: 0.3).1, "dropout changes the losses")
    }
}
