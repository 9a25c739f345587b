import Foundation

/// What variable-length batches cost: forward + backward of a recurrent stack on one batch with no
/// lengths (every row runs all T steps), with every length equal to T (the masked code path, nothing
/// padded) and with lengths drawn from T/2…T. Best of `repeats`, milliseconds. Concrete types
/// inside the library so that the generic code is specialised (a generic called from another
/// module runs unspecialised).
public enum MaskingBenchmark {
    public static func run(model: String, bidirectional: Bool, batch B: Int, steps T: Int, input E: Int, hidden H: Int,
                           repeats: Int = 5) throws -> (unmasked: Double, maskedFull: Double, maskedMixed: Double) {
        guard let kind = CellKind(rawValue: model) else { throw BPTTError.usage("unknown model '\(model)'") }
        return try kind.accept(Maker(bidirectional: bidirectional, B: B, steps: T, E: E, H: H, repeats: repeats), hidden: H)
    }

    struct Maker: CellVisitor {
        typealias Real = Float
        let bidirectional: Bool, B: Int, steps: Int, E: Int, H: Int, repeats: Int
        func visit<C: RecurrentCell>(_ make: @escaping (Int) -> C) throws -> (unmasked: Double, maskedFull: Double, maskedMixed: Double) where C.Real == Float {
            let stack = RecurrentStack(layers: 1, bidirectional: bidirectional, inputSize: E, hiddenSize: H, make: make)
            var rng = RNG(seed: 1)
            let p = stack.initialParameters(.pytorch, rng: &rng)
            let xs = (0..<steps).map { _ in Matrix<Float>(rows: B, cols: E, data: (0..<(B * E)).map { _ in Float(rng.uniform(-1, 1)) }) }
            var g = p.zeros()
            let D = H * (bidirectional ? 2 : 1)
            func time(_ lengths: [Int]?) -> Double {
                var ws = RecurrentStack<C>.Workspace()
                var none: RNG? = nil
                var best = Double.infinity
                for _ in 0..<repeats {
                    let t0 = Date()
                    stack.forward(xs, p, lengths: lengths, workspace: &ws, dropoutRNG: &none)
                    ws.dFinal = Matrix(rows: B, cols: D, data: [Float](repeating: 0.01, count: B * D))
                    ws.dFinalUsed = true
                    g.zero()
                    stack.backward(p, workspace: &ws, grads: &g, inputGradients: true)
                    best = min(best, Date().timeIntervalSince(t0))
                }
                return best * 1000
            }
            let unmasked = time(nil)
            let full = time([Int](repeating: steps, count: B))
            var r = RNG(seed: 3)
            let mixed = time((0..<B).map { _ in steps / 2 + r.int(below: steps / 2 + 1) })
            return (unmasked, full, mixed)
        }
    }
}
