import BPTTShims
import Dispatch
import Foundation

/// Runs `body(i)` for every i in 0..<count, each on its own thread where one is free, and returns
/// when all are done. Each index runs exactly once and the split of the work is the caller's, so
/// the numbers never depend on which thread ran which part.
///
/// Two parts (a step's two data-parallel shards, the optimiser's two halves of a large tensor, a
/// product's two column blocks) go to `TwoThreads`: the calling thread runs part 0 while a helper
/// thread, which spins for about half a millisecond after each job before it sleeps, runs part 1. With
/// `DispatchQueue.concurrentPerform` a worker was woken for every call and often came only after
/// the caller had done both parts of a short job: in a profile of the autoencoder, every sample of
/// the optimiser's update was on the calling thread. Other counts, and a call made while the
/// helper is busy (from inside a part, or from another thread), and every call on a one-core
/// machine, use `concurrentPerform`.
public func parallelFor(_ count: Int, _ body: (Int) -> Void) {
    if count == 2, let pair = TwoThreads.shared, pair.run(body) { return }
    DispatchQueue.concurrentPerform(iterations: count, execute: body)
}

/// The calling thread and one helper thread, handing a job over through one shared word.
///
/// State: 0 idle, 1 a job is posted, 2 the helper has finished it. The helper spins on the word
/// for about half a millisecond after each job (a training step posts its next job well within
/// that), then sleeps on a semaphore; a poster that finds it asleep signals it.
final class TwoThreads: @unchecked Sendable {
    /// nil on a machine with one core, where a spinning helper would take the caller's time.
    static let shared: TwoThreads? = ProcessInfo.processInfo.activeProcessorCount >= 2 ? TwoThreads() : nil

    private let state = UnsafeMutablePointer<Int>.allocate(capacity: 1)
    private let asleep = UnsafeMutablePointer<Int>.allocate(capacity: 1)   // 1 while the helper waits on `wake`
    private let owned = UnsafeMutablePointer<Int>.allocate(capacity: 1)    // 1 while a caller holds the pair
    private let job = UnsafeMutablePointer<((Int) -> Void)?>.allocate(capacity: 1)
    private let wake = DispatchSemaphore(value: 0)
    /// Spin iterations (PAUSE each) before the helper sleeps: 0.49–0.51 ms on an AMD EPYC (Zen 4).
    private let spinLimit = 20_000

    private init() {
        state.initialize(to: 0); asleep.initialize(to: 0); owned.initialize(to: 0); job.initialize(to: nil)
        let helper = Thread { [unowned self] in self.helperLoop() }
        helper.name = "bptt helper"
        helper.stackSize = 8 << 20
        helper.start()
    }

    /// Runs body(0) here and body(1) on the helper; false (nothing run) when the pair is in use.
    func run(_ body: (Int) -> Void) -> Bool {
        guard bptt_atomic_compare_exchange(owned, 0, 1) != 0 else { return false }
        withoutActuallyEscaping(body) { body in
            job.pointee = body
            bptt_atomic_store(state, 1)
            if bptt_atomic_exchange(asleep, 0) == 1 { wake.signal() }
            body(0)
            while bptt_atomic_load(state) != 2 { bptt_spin_pause() }
            job.pointee = nil   // the helper holds no reference by now (`runPostedJob`)
            bptt_atomic_store(state, 0)
        }
        bptt_atomic_store(owned, 0)
        return true
    }

    private func helperLoop() -> Never {
        while true {
            var spins = 0
            while bptt_atomic_load(state) != 1 {
                if spins < spinLimit { bptt_spin_pause(); spins += 1; continue }
                // Announce the sleep, then look once more: a poster either sees the announcement
                // (and signals) or posted before it (and the look finds the job).
                bptt_atomic_store(asleep, 1)
                if bptt_atomic_load(state) == 1 { _ = bptt_atomic_exchange(asleep, 0); break }
                wake.wait()   // a stale signal only costs one more round of the loop
                spins = 0
            }
            runPostedJob()
            bptt_atomic_store(state, 2)
        }
    }

    /// Not inlined, so every retain and release of the job's closure happens before the helper
    /// reports it done (the caller's `withoutActuallyEscaping` checks that nothing kept it).
    @inline(never)
    private func runPostedJob() { job.pointee?(1) }
}
