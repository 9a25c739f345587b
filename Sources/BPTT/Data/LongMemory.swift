/// The long-memory benchmarks, derived in `derivations/long-memory.md`: the adding problem and
/// the copy-memory problem (fresh random examples each batch), and images read one pixel per step.

/// The adding problem (Hochreiter & Schmidhuber 1997, in the form of Le, Jaitly & Hinton 2015
/// and Arjovsky, Shah & Bengio 2016). Each of the T steps reads two channels: a value
/// v_t ~ U[0, 1) and a marker m_t ∈ {0, 1}. Exactly two steps are marked, one drawn uniformly
/// from the first half (steps 1…⌊T/2⌋) and one from the second (⌊T/2⌋+1…T). The target is
/// y = Σ_t m_t v_t, the sum of the two marked values (long-memory.target).
public enum AddingProblem {
    public static let inputSize = 2
    /// The mean squared error of always answering 1 (the target's mean): Var(v₁ + v₂) = 2/12 = 1/6.
    public static let constantBaseline = 1.0 / 6.0

    /// A batch: T steps of B×2 inputs (column 0 the value, column 1 the marker) and the B×1 targets.
    /// Needs T ≥ 2 (one marked step in each half).
    public static func batch<Real: Scalar>(length: Int, batchSize B: Int, rng: inout RNG, as: Real.Type = Real.self)
        -> (xs: [Matrix<Real>], targets: Matrix<Real>)
    {
        require(length >= 2, "adding problem: T must be at least 2")
        var xs = (0..<length).map { _ in Matrix<Real>(rows: B, cols: inputSize) }
        var y = Matrix<Real>(rows: B, cols: 1)
        let half = length / 2
        for b in 0..<B {
            for t in 0..<length { xs[t][b, 0] = Real(rng.uniform()) }
            let first = rng.int(below: half), second = half + rng.int(below: length - half)
            xs[first][b, 1] = 1
            xs[second][b, 1] = 1
            y[b, 0] = xs[first][b, 0] + xs[second][b, 0]                       // (long-memory.target)
        }
        return (xs, y)
    }
}

/// The copy-memory problem of Arjovsky, Shah & Bengio 2016. An example has T + 20 steps; each
/// step reads one of 10 symbols one-hot: 0 blank, 1…8 data, 9 the delimiter. The input is ten
/// data symbols, T − 1 blanks, the delimiter, ten blanks; the target is blank for the first T + 10
/// steps, then the ten data symbols in order (long-memory.copy). The output has 9 classes (blank, 1…8).
public enum CopyMemory {
    public static let alphabet = 8
    public static let recall = 10
    public static let blank = 0
    public static let delimiter = 9
    public static let inputSize = 10
    public static let classes = 9

    /// Steps of one example: T + 20.
    public static func steps(delay T: Int) -> Int { T + 2 * recall }

    /// The per-step cross-entropy of the memoryless strategy (blank for T + 10 steps, then a
    /// uniform guess over the 8 symbols): 10 log 8 / (T + 20) nats.
    public static func memorylessBaseline(delay T: Int) -> Double {
        Double(recall) * Foundation.log(Double(alphabet)) / Double(steps(delay: T))
    }

    /// One example's input and target symbols (each T + 20 long).
    public static func example(delay T: Int, rng: inout RNG) -> (input: [Int], target: [Int]) {
        require(T >= 1, "copy problem: T must be at least 1")
        let data = (0..<recall).map { _ in 1 + rng.int(below: alphabet) }
        let input = data + Array(repeating: blank, count: T - 1) + [delimiter] + Array(repeating: blank, count: recall)
        let target = Array(repeating: blank, count: T + recall) + data                  // (long-memory.copy)
        return (input, target)
    }

    /// A batch: T + 20 steps of B×10 one-hot inputs, and T + 20 rows of B target classes.
    public static func batch<Real: Scalar>(delay: Int, batchSize B: Int, rng: inout RNG, as: Real.Type = Real.self)
        -> (xs: [Matrix<Real>], targets: [[Int]])
    {
        let n = steps(delay: delay)
        var xs = (0..<n).map { _ in Matrix<Real>(rows: B, cols: inputSize) }
        var targets = [[Int]](repeating: [Int](repeating: blank, count: B), count: n)
        for b in 0..<B {
            let e = example(delay: delay, rng: &rng)
            for t in 0..<n {
                xs[t][b, e.input[t]] = 1
                targets[t][b] = e.target[t]
            }
        }
        return (xs, targets)
    }
}

/// Images read one pixel per step (sequential MNIST, Le et al. 2015): T = height · width steps
/// of one input each. With a permutation π (permuted MNIST), step t reads pixel π(t), the same π
/// for every image.
public enum PixelSequence {
    /// The fixed permutation drawn from `seed` (Fisher–Yates), or the identity when nil.
    public static func order(pixels n: Int, permute seed: UInt64?) -> [Int] {
        var order = Array(0..<n)
        if let seed {
            var rng = RNG(seed: seed)
            rng.shuffle(&order)
        }
        return order
    }

    /// xs[t][b, 0] = flat[b, order[t]]: one pixel per step, B×1 each.
    public static func sequences<Real: Scalar>(_ flat: Matrix<Real>, order: [Int], into xs: inout [Matrix<Real>]) {
        resize(&xs, count: order.count, rows: flat.rows, cols: 1)
        for (t, pixel) in order.enumerated() {
            for b in 0..<flat.rows { xs[t].data[b] = flat[b, pixel] }
        }
    }
}

import Foundation
