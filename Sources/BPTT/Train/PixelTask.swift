/// Sequential (and permuted) pixel classification: an image read one pixel per step, T = H·W,
/// classified from the last state (Le, Jaitly & Hinton 2015; `derivations/long-memory.md`).
struct PixelsMaker: CellVisitor {
    typealias T = Float
    let c: SequenceTaskConfig, data: ImageData, identity: DataIdentity
    func visit<C: RecurrentCell>(_ make: @escaping (Int) -> C) throws -> SequenceTaskEngine where C.T == Float {
        typealias Model = SequenceClassifier<C>
        let steps = data.height * data.width
        let model = Model(stack: RecurrentStack(layers: c.layers, bidirectional: c.bidirectional, inputSize: 1,
                                                hiddenSize: c.hidden, make: make), classes: data.classes)
        var rng = RNG(seed: c.seed)
        var params = model.initialParameters(c.initializer, rng: &rng)
        initialStackParameters(model.stack, &params.stack, c.recurrentInit, chronoTMax: c.chronoTMax ?? steps, seed: c.seed)
        let core = ShardedStep(params: params, optimizer: c.optimizer,
                               shards: c.shards, threads: c.threads, clip: c.clip, workspace: Model.Workspace())
        let dataRNG = rng.split(), dropoutRNG = rng.split()
        let data = self.data
        let order = PixelSequence.order(pixels: steps, permute: c.permute)                      // (long-memory.pixels)
        var xs: [Matrix<Float>] = [], flat = Matrix<Float>(rows: 0, cols: 0)
        let e = EpochEngine(
            config: c, identity: identity, core: core,
            schedule: EpochSchedule(count: data.train.count, batch: c.batch, shuffle: .cumulative, rng: dataRNG),
            dropoutRNG: dropoutRNG,
            runBatch: { idx, core, _ in
                data.train.gather(idx, into: &flat)
                PixelSequence.sequences(flat, order: order, into: &xs)                         // (long-memory.pixels)
                let targets = idx.map { data.train.labels[$0] }
                let B = idx.count, batchXs = xs, scale = 1 / Double(B)
                let st = core.run(batch: B, dropoutSeeds: nil) { _, l, h, p, ws, g, drop in
                    model.lossAndGradient(batchXs.map { rowsSlice($0, l, h) }, targets: [Array(targets[l..<h])], p,
                                          lossScale: scale, workspace: &ws, grads: &g, dropoutRNG: &drop)
                }
                return (st, B)
            },
            testLabels: data.test.labels,
            testPredictions: { params in
                var ws = Model.Workspace(), lo = 0, predicted: [Int] = []
                var xs: [Matrix<Float>] = [], flat = Matrix<Float>(rows: 0, cols: 0)
                let all = Array(0..<data.test.count)
                while lo < all.count {
                    let hi = min(lo + 256, all.count)
                    data.test.gather(all[lo..<hi], into: &flat)
                    PixelSequence.sequences(flat, order: order, into: &xs)
                    model.forward(xs, targets: [all[lo..<hi].map { data.test.labels[$0] }], params, workspace: &ws)
                    predicted += ws.logits[0].rowArgmax()   // as the loss counts `correct`
                    lo = hi
                }
                return predicted
            })
        return e.engine
    }
}
