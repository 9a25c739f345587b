import Foundation
import XCTest
import BPTT

/// `parallelFor`: every part runs once, on two threads when it is two parts, however the calls
/// come (back to back, after the helper has gone to sleep, nested, from two threads at once).
final class ParallelTests: XCTestCase {
    /// Runs `parallelFor(count)` and returns how often each index ran and on which threads.
    private func record(_ count: Int, inside: ((Int) -> Void)? = nil) -> (runs: [Int], threads: Set<ObjectIdentifier>) {
        let lock = NSLock()
        var runs = [Int](repeating: 0, count: count), threads = Set<ObjectIdentifier>()
        parallelFor(count) { i in
            inside?(i)
            lock.lock(); runs[i] += 1; threads.insert(ObjectIdentifier(Thread.current)); lock.unlock()
        }
        return (runs, threads)
    }

    func testEveryPartRunsExactlyOnce() {
        for count in [1, 2, 3, 5, 8] {
            XCTAssertEqual(record(count).runs, [Int](repeating: 1, count: count), "count \(count)")
        }
        // Many short jobs back to back (the optimiser's pattern): each sums its two halves.
        let n = 4096
        let xs = (0..<n).map { Double($0) }
        for _ in 0..<2000 {
            var halves = [0.0, 0.0]
            halves.withUnsafeMutableBufferPointer { out in
                let out = out
                parallelFor(2) { part in out[part] = xs[(part * n / 2)..<((part + 1) * n / 2)].reduce(0, +) }
            }
            XCTAssertEqual(halves[0] + halves[1], Double(n * (n - 1) / 2))
        }
    }

    func testTwoPartsRunOnTwoThreadsAlsoAfterTheHelperSlept() throws {
        try XCTSkipIf(ProcessInfo.processInfo.activeProcessorCount < 2, "one core: parallelFor runs the parts in turn")
        // Each part waits for the other to start, which only two threads running at once can do.
        for pause in [0.0, 0.05] {   // the second round comes after the helper has gone to sleep
            Thread.sleep(forTimeInterval: pause)
            let started = [NSCondition(), NSCondition()]
            var flags = [false, false]
            let result = record(2) { i in
                started[i].lock(); flags[i] = true; started[i].signal(); started[i].unlock()
                let other = started[1 - i]
                other.lock()
                let deadline = Date().addingTimeInterval(10)
                while !flags[1 - i] && other.wait(until: deadline) {}
                other.unlock()
            }
            XCTAssertEqual(result.runs, [1, 1])
            XCTAssertEqual(result.threads.count, 2, "both parts on one thread (pause \(pause) s)")
        }
    }

    func testNestedAndConcurrentCallsComplete() {
        // A part that itself splits in two: the pair is busy, so the inner call goes elsewhere.
        let lock = NSLock()
        var inner = 0
        let outer = record(2) { _ in
            parallelFor(2) { _ in lock.lock(); inner += 1; lock.unlock() }
        }
        XCTAssertEqual(outer.runs, [1, 1])
        XCTAssertEqual(inner, 4)
        // Two threads calling at once: one holds the pair, the other runs its parts another way.
        var totals = [0, 0]
        DispatchQueue.concurrentPerform(iterations: 2) { caller in
            for _ in 0..<500 {
                let r = record(2)
                lock.lock(); totals[caller] += r.runs.reduce(0, +); lock.unlock()
            }
        }
        XCTAssertEqual(totals, [1000, 1000])
    }
}
