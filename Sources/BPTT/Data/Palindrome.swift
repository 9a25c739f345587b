/// The palindrome task: see T digits, predict the last digit of the palindrome (digit T+1).
///
/// Draw ⌈(T+1)/2⌉ random digits 0–9 and mirror them into a palindrome of length T+1 (for odd
/// length the middle digit is not repeated). The model sees the first T digits, each as one
/// float input; the target is the last digit, which equals the first. 10 classes.
public enum Palindrome {
    public static let classes = 10
    public static let inputSize = 1

    /// One palindrome of length T+1.
    public static func sequence(length T: Int, rng: inout RNG) -> [Int] {
        let n = T + 1
        let half = (n + 1) / 2
        var digits = (0..<half).map { _ in rng.int(below: 10) }
        // mirror: positions half..<n repeat positions n-1-j
        for j in half..<n { digits.append(digits[n - 1 - j]) }
        return digits
    }

    /// A batch as the models take it: T time steps of B×1 inputs, and B targets.
    public static func batch<Real: Scalar>(length: Int, batchSize: Int, rng: inout RNG, as: Real.Type = Real.self)
        -> (xs: [Matrix<Real>], targets: [Int])
    {
        var xs = (0..<length).map { _ in Matrix<Real>(rows: batchSize, cols: 1) }
        var targets = [Int](repeating: 0, count: batchSize)
        for b in 0..<batchSize {
            let s = sequence(length: length, rng: &rng)
            for t in 0..<length { xs[t].data[b] = Real(s[t]) }
            targets[b] = s[length]
        }
        return (xs, targets)
    }
}
