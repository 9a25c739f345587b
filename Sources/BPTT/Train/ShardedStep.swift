import Dispatch

/// The data-parallel optimisation step every sequence task shares (palindromes, image rows,
/// sentiment): the batch is split into a fixed number of shards, each shard runs forward and
/// backward into its own workspace and gradients (on up to `threads` threads), the gradients are
/// summed in shard order — so 1 or 2 threads give identical numbers — then the non-finite guard,
/// clipping and the optimiser update.
final class ShardedStep<Params: ParameterSet, Workspace> {
    var params: Params
    var optimizer: Optimizer<Params>
    private(set) var workspaces: [Workspace]
    private var shardGrads: [Params]
    private var grads: Params
    var step = 0
    let threads: Int
    let clip: Double?

    init(params: Params, optimizer: OptimizerConfig, shards: Int, threads: Int, clip: Double?, workspace: Workspace) {
        self.params = params
        self.optimizer = Optimizer(optimizer)
        workspaces = Array(repeating: workspace, count: max(1, shards))
        grads = params.zeros()
        shardGrads = Array(repeating: grads, count: max(1, shards))
        self.threads = threads
        self.clip = clip
    }

    var shards: Int { workspaces.count }

    /// One step on a batch of `B` examples. `shard(s, lo, hi, params, &workspace, &grads, &dropout)`
    /// runs rows lo..<hi with loss scale 1/B, accumulating into the zeroed `grads`, and returns
    /// (summed loss, correct). `dropoutSeeds`: one dropout stream per shard (nil: no dropout).
    func run(batch B: Int, dropoutSeeds: [UInt64]?,
             shard: @escaping (_ s: Int, _ lo: Int, _ hi: Int, _ p: Params, _ ws: inout Workspace, _ g: inout Params, _ drop: inout RNG?) -> (lossSum: Double, correct: Int)) -> StepStats {
        let shards = min(self.shards, B)
        var partial = [(lossSum: Double, correct: Int)](repeating: (0, 0), count: shards)
        // The shards read the parameters through `current`, which ends with this scope: a second
        // reference alive at the update would make the optimiser copy every tensor it writes.
        do {
            let current = params
            workspaces.withUnsafeMutableBufferPointer { wsBuffer in
                shardGrads.withUnsafeMutableBufferPointer { gsBuffer in
                    partial.withUnsafeMutableBufferPointer { outBuffer in
                        // Each shard touches only its own workspace, gradients and result slot.
                        let ws = wsBuffer, gs = gsBuffer, out = outBuffer
                        let run = { (s: Int) in
                            let lo = s * B / shards, hi = (s + 1) * B / shards
                            gs[s].zero()
                            var drop: RNG? = dropoutSeeds.map { RNG(seed: $0[s]) }
                            out[s] = shard(s, lo, hi, current, &ws[s], &gs[s], &drop)
                        }
                        forEachShard(shards, parallel: threads > 1, run)
                    }
                }
            }
        }
        // The sum in a fixed order (the same for any thread count) and its norm
        let norm: Double
        if shards == 2 {
            norm = grads.setToSum(shardGrads[0], shardGrads[1], parallel: threads > 1).squareRoot()   // one pass
        } else {
            grads.zero()
            for s in 0..<shards { grads.add(shardGrads[s]) }
            norm = grads.globalNorm
        }
        let lossSum = partial.reduce(0) { $0 + $1.lossSum }
        let correct = partial.reduce(0) { $0 + $1.correct }
        step += 1
        var stats = StepStats(step: step, loss: lossSum / Double(B), accuracy: Double(correct) / Double(B), gradNorm: norm)
        // Non-finite guard: name what broke and leave the parameters as they were.
        if !stats.loss.isFinite { stats.nonFinite = "loss"; return stats }
        if !norm.isFinite { stats.nonFinite = "gradient of " + (grads.firstNonFiniteTensor ?? "a tensor"); return stats }
        if let clip { clipGradientNorm(&grads, maxNorm: clip, norm: norm) }   // the norm above, not measured again
        // The update checks what it writes (no pass of its own); the scan only names the tensor.
        if !optimizer.update(&params, grads: grads) { stats.nonFinite = "parameter " + (params.firstNonFiniteTensor ?? "?") + " after the update" }
        return stats
    }
}

/// Runs `body(s)` for the shards s = 0..<count of a data-parallel step: each on its own thread
/// when `parallel` (and there is more than one), else in order. Each shard may touch only its
/// own slots (workspace, gradients, result), so both ways give the same numbers.
func forEachShard(_ count: Int, parallel: Bool, _ body: (Int) -> Void) {
    if parallel && count > 1 {
        parallelFor(count, body)
    } else {
        for s in 0..<count { body(s) }
    }
}
