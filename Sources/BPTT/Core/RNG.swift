/// xoshiro256** seeded through SplitMix64: small, fast, and the same numbers on every machine.
///
/// Every random choice in bptt (initial weights, data, dropout masks, shuffles) comes from a
/// `RNG` built from the run's `--seed`, so the same seed gives the same run.
public struct RNG: RandomNumberGenerator, Sendable, Equatable {
    public private(set) var state: (UInt64, UInt64, UInt64, UInt64)
    /// A second Gaussian from Box–Muller, kept for the next call (part of the state).
    public private(set) var spareGaussian: Double?

    public init(seed: UInt64) {
        var sm = seed
        func splitmix() -> UInt64 {
            sm &+= 0x9E37_79B9_7F4A_7C15
            var z = sm
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        state = (splitmix(), splitmix(), splitmix(), splitmix())
        spareGaussian = nil
    }

    /// Restores a saved state (checkpoints).
    public init(state: (UInt64, UInt64, UInt64, UInt64), spareGaussian: Double?) {
        self.state = state
        self.spareGaussian = spareGaussian
    }

    public static func == (l: RNG, r: RNG) -> Bool {
        l.state == r.state && l.spareGaussian == r.spareGaussian
    }

    @inline(__always)
    private static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    public mutating func next() -> UInt64 {
        let result = RNG.rotl(state.1 &* 5, 7) &* 9
        let t = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= t
        state.3 = RNG.rotl(state.3, 45)
        return result
    }

    /// Uniform in [0, 1) with 53 random bits.
    public mutating func uniform() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// Uniform in [lo, hi).
    public mutating func uniform(_ lo: Double, _ hi: Double) -> Double {
        lo + (hi - lo) * uniform()
    }

    /// Uniform integer in 0..<n, without modulo bias.
    public mutating func int(below n: Int) -> Int {
        require(n > 0, "RNG.int(below:): n is \(n), it must be positive")
        return Int(UInt64.random(in: 0..<UInt64(n), using: &self))
    }

    /// Standard normal N(0, 1) by the Box–Muller transform.
    public mutating func gaussian() -> Double {
        if let g = spareGaussian { spareGaussian = nil; return g }
        var u1 = uniform()
        while u1 <= Double.leastNormalMagnitude { u1 = uniform() }
        let u2 = uniform()
        let r = (-2 * _log(u1)).squareRoot()
        let theta = 2 * Double.pi * u2
        spareGaussian = r * _sin(theta)
        return r * _cos(theta)
    }

    /// An independent stream derived from this one (e.g. one per data-loader or per shard).
    public mutating func split() -> RNG { RNG(seed: next()) }

    /// Fisher–Yates shuffle.
    public mutating func shuffle<C: MutableCollection & RandomAccessCollection>(_ c: inout C) where C.Index == Int {
        guard c.count > 1 else { return }
        for i in stride(from: c.count - 1, to: 0, by: -1) {
            let j = int(below: i + 1)
            c.swapAt(c.startIndex + i, c.startIndex + j)
        }
    }
}

import Foundation
@inline(__always) private func _log(_ x: Double) -> Double { Foundation.log(x) }
@inline(__always) private func _sin(_ x: Double) -> Double { Foundation.sin(x) }
@inline(__always) private func _cos(_ x: Double) -> Double { Foundation.cos(x) }
