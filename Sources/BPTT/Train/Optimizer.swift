/// Optimisers with PyTorch's update rules and defaults (except momentum: μ = 0.9 here, 0 in PyTorch), derived in `derivations/optimizers.md`.
/// Every rule works tensor by tensor over a `ParameterSet`; its state is one or two tensors of
/// the same shapes, plus the step counter.
public enum OptimizerKind: String, CaseIterable, Sendable, Codable {
    case sgd, momentum, nesterov, adagrad, rmsprop, adam
}

public struct OptimizerConfig: Sendable, Equatable, Codable {
    public var kind: OptimizerKind
    public var lr: Double
    /// SGD momentum μ (`momentum`, `nesterov`; PyTorch's SGD default is 0, ours 0.9 for those kinds).
    public var momentum: Double = 0.9
    /// RMSprop smoothing α (PyTorch: 0.99).
    public var alpha: Double = 0.99
    /// Adam β1, β2 (PyTorch: 0.9, 0.999).
    public var beta1: Double = 0.9
    public var beta2: Double = 0.999
    /// ε: PyTorch uses 1e-8 for RMSprop and Adam, 1e-10 for Adagrad.
    public var eps: Double? = nil
    /// L2 weight decay added to the gradient (PyTorch's `weight_decay`).
    public var weightDecay: Double = 0

    public init(kind: OptimizerKind, lr: Double) {
        self.kind = kind
        self.lr = lr
    }

    public var epsilon: Double { eps ?? (kind == .adagrad ? 1e-10 : 1e-8) }
}

public struct Optimizer<P: ParameterSet> {
    public typealias Real = P.Real
    public internal(set) var config: OptimizerConfig
    /// Number of updates made so far (Adam's bias correction uses it).
    public internal(set) var step: Int = 0
    /// First state tensor per parameter: momentum buffer (SGD), Σg² (Adagrad), E[g²] (RMSprop), m (Adam).
    public internal(set) var s1: [Matrix<Real>] = []
    /// Second state tensor per parameter: v (Adam).
    public internal(set) var s2: [Matrix<Real>] = []

    public init(_ config: OptimizerConfig) { self.config = config }

    /// Restores saved state (checkpoints).
    public init(_ config: OptimizerConfig, step: Int, s1: [Matrix<Real>], s2: [Matrix<Real>]) {
        self.config = config
        self.step = step
        self.s1 = s1
        self.s2 = s2
    }

    /// θ ← update(θ, g) for every tensor: one walk over the parameters paired with the gradients,
    /// the i-th tensor with the i-th state tensors. Every buffer is updated in place.
    /// Returns false when a parameter written is NaN or ±∞ — which every rule produces from a
    /// non-finite gradient too — checked inside the update's own loop (no separate pass).
    @discardableResult
    public mutating func update(_ params: inout P, grads: P) -> Bool { update(&params, grads, nil) }

    /// The same update with the gradient g = g_1 + g_2 of two data-parallel shards, formed element by
    /// element inside the update's own loop: the sum that `g_1.add(g_2)` would store, without storing
    /// it (no pass of its own over the gradients, no summed copy). The result is the one of
    /// `var g = g_1; g.add(g_2); update(&params, grads: g)`.
    @discardableResult
    public mutating func update(_ params: inout P, summing g1: P, _ g2: P) -> Bool { update(&params, g1, g2) }

    private mutating func update(_ params: inout P, _ grads: P, _ grads2: P?) -> Bool {
        if s1.isEmpty {
            s1 = params.tensors.map { Matrix(zerosLike: $0) }
            s2 = config.kind == .adam ? params.tensors.map { Matrix(zerosLike: $0) } : []
        }
        step += 1
        // The state is moved out while the walk runs, so its buffers stay uniquely referenced.
        var m = s1, v = s2
        s1 = []; s2 = []
        let (config, step, adam) = (self.config, self.step, self.config.kind == .adam)
        var unused = Matrix<Real>(rows: 0, cols: 0)
        let second = grads2?.tensors
        var i = 0, finite = true
        params.forEachTensor(pairedWith: grads) { _, theta, grad in
            let grad2 = second?[i]
            if adam {
                finite = Self.update(config, step: step, &theta, grad!, grad2, &m[i], &v[i]) && finite
            } else {
                finite = Self.update(config, step: step, &theta, grad!, grad2, &m[i], &unused) && finite
            }
            i += 1
        }
        s1 = m; s2 = v
        return finite
    }

    /// One tensor; false when a written parameter is not finite (Σ θ·0 over the written values,
    /// which is 0 unless one of them is NaN or ±∞, accumulated beside the update).
    /// `grad2`: a second shard's gradient, added to `grad` element by element (g = g_1 + g_2).
    private static func update(_ config: OptimizerConfig, step: Int, _ theta: inout Matrix<Real>, _ grad: Matrix<Real>,
                               _ grad2: Matrix<Real>?, _ s1: inout Matrix<Real>, _ s2: inout Matrix<Real>) -> Bool {
        if let grad2 {
            require(grad2.count == grad.count, "Optimizer.update: the two shards' gradients differ in size")
            return grad2.data.withUnsafeBufferPointer { g2 in
                update(config, step: step, &theta, grad, secondShard: g2.baseAddress, &s1, &s2)
            }
        }
        return update(config, step: step, &theta, grad, secondShard: nil, &s1, &s2)
    }

    private static func update(_ config: OptimizerConfig, step: Int, _ theta: inout Matrix<Real>, _ grad: Matrix<Real>,
                               secondShard pg2: UnsafePointer<Real>?, _ s1: inout Matrix<Real>, _ s2: inout Matrix<Real>) -> Bool {
        let lr = Real(config.lr), eps = Real(config.epsilon), wd = Real(config.weightDecay)
        let mu = Real(config.momentum), alpha = Real(config.alpha)
        let beta1 = Real(config.beta1), beta2 = Real(config.beta2)
        let kind = config.kind
        let first = step == 1
        // Adam's bias corrections, computed as PyTorch does.
        let bc1 = 1 - Foundation.pow(config.beta1, Double(step))
        let bc2 = 1 - Foundation.pow(config.beta2, Double(step))
        let stepSize = Real(config.lr / bc1)
        let bc2Sqrt = Real(bc2.squareRoot())
        // Every rule is elementwise: a large tensor is updated in two halves on two threads
        // (split at a multiple of 8 lanes), with the same numbers as one pass.
        let count = theta.count
        let parts = count >= 1 << 14 ? 2 : 1   // a two-part job costs ~1 µs (`parallelFor`)
        var check: (Real, Real) = (0, 0)   // per part: Σ θ·0
        theta.data.withUnsafeMutableBufferPointer { thBuffer in
            grad.data.withUnsafeBufferPointer { gr in
                s1.data.withUnsafeMutableBufferPointer { sBuffer in
                    s2.data.withUnsafeMutableBufferPointer { vBuffer in
                      let th = thBuffer, s = sBuffer, v = vBuffer
                      withUnsafeMutablePointer(to: &check) { checkPointer in
                      let checks = UnsafeMutableRawPointer(checkPointer).assumingMemoryBound(to: Real.self)
                      let run = { (part: Int) in
                        var zero: Real = 0, zeros = SIMD8<Real>()
                        let lo = count / 8 * part / parts * 8
                        let hi = part == parts - 1 ? count : count / 8 * (part + 1) / parts * 8
                        // One loop per rule (the switch outside), so each loop vectorises.
                        // g = g_1 (+ g_2, a second shard's), then L2 decay
                        @inline(__always) func shardSum(_ i: Int) -> Real { if let pg2 { return gr[i] + pg2[i] }; return gr[i] }
                        @inline(__always) func grad(_ i: Int) -> Real { wd == 0 ? shardSum(i) : shardSum(i) + wd * th[i] }   // (optimizers.wd)
                        switch kind {
                        case .sgd:
                            for i in lo..<hi {
                                th[i] -= lr * grad(i)                                  // (optimizers.sgd)
                                zero += th[i] * 0
                            }
                        case .momentum, .nesterov:
                            for i in lo..<hi {
                                let g = grad(i)
                                s[i] = first ? g : mu * s[i] + g                       // (optimizers.momentum)
                                let d = kind == .nesterov ? g + mu * s[i] : s[i]       // (optimizers.nesterov)
                                th[i] -= lr * d                                        // (optimizers.momentum)
                                zero += th[i] * 0
                            }
                        case .adagrad:
                            for i in lo..<hi {
                                let g = grad(i)
                                s[i] += g * g                                          // (optimizers.adagrad)
                                th[i] -= lr * g / (s[i].squareRoot() + eps)            // (optimizers.adagrad)
                                zero += th[i] * 0
                            }
                        case .rmsprop:
                            // 8 lanes at a time (the same operations per element as the scalar tail,
                            // so the same numbers), then the tail.
                            var i0 = lo
                            if wd == 0, let pth = th.baseAddress, let pg = gr.baseAddress, let ps = s.baseAddress {
                                typealias V = SIMD8<Real>
                                let a = V(repeating: alpha), c = V(repeating: 1 - alpha)
                                let l = V(repeating: lr), e = V(repeating: eps)
                                @inline(__always) func ld(_ p: UnsafePointer<Real>) -> V { UnsafeRawPointer(p).loadUnaligned(as: V.self) }
                                while i0 + 8 <= hi {
                                    var g = ld(pg + i0)
                                    if let pg2 { g += ld(pg2 + i0) }
                                    let sv = a * UnsafeRawPointer(ps + i0).loadUnaligned(as: V.self) + c * g * g   // (optimizers.rmsprop)
                                    UnsafeMutableRawPointer(ps + i0).storeBytes(of: sv, as: V.self)
                                    let t = UnsafeRawPointer(pth + i0).loadUnaligned(as: V.self) - l * g / (sv.squareRoot() + e)  // (optimizers.rmsprop)
                                    UnsafeMutableRawPointer(pth + i0).storeBytes(of: t, as: V.self)
                                    zeros += t * 0
                                    i0 += 8
                                }
                            }
                            for i in i0..<hi {
                                let g = grad(i)
                                s[i] = alpha * s[i] + (1 - alpha) * g * g              // (optimizers.rmsprop)
                                th[i] -= lr * g / (s[i].squareRoot() + eps)            // (optimizers.rmsprop)
                                zero += th[i] * 0
                            }
                        case .adam:
                            // 8 lanes at a time (the same operations per element as the scalar tail,
                            // so the same numbers), then the tail.
                            var i0 = lo
                            if wd == 0, let pth = th.baseAddress, let pg = gr.baseAddress, let ps = s.baseAddress, let pv = v.baseAddress {
                                typealias V = SIMD8<Real>
                                let b1 = V(repeating: beta1), c1 = V(repeating: 1 - beta1)
                                let b2 = V(repeating: beta2), c2 = V(repeating: 1 - beta2)
                                let ss = V(repeating: stepSize), bc = V(repeating: bc2Sqrt), e = V(repeating: eps)
                                @inline(__always) func ld(_ p: UnsafePointer<Real>) -> V { UnsafeRawPointer(p).loadUnaligned(as: V.self) }
                                @inline(__always) func st(_ x: V, _ p: UnsafeMutablePointer<Real>) { UnsafeMutableRawPointer(p).storeBytes(of: x, as: V.self) }
                                while i0 + 8 <= hi {
                                    var g = ld(pg + i0)
                                    if let pg2 { g += ld(pg2 + i0) }
                                    let m = b1 * ld(ps + i0) + c1 * g                  // (optimizers.adam)
                                    let vv = b2 * ld(pv + i0) + c2 * g * g             // (optimizers.adam)
                                    st(m, ps + i0); st(vv, pv + i0)
                                    let t = ld(pth + i0) - ss * m / (vv.squareRoot() / bc + e)   // (optimizers.adam)
                                    st(t, pth + i0)
                                    zeros += t * 0
                                    i0 += 8
                                }
                            }
                            for i in i0..<hi {
                                let g = grad(i)
                                s[i] = beta1 * s[i] + (1 - beta1) * g                  // (optimizers.adam)
                                v[i] = beta2 * v[i] + (1 - beta2) * g * g              // (optimizers.adam)
                                th[i] -= stepSize * s[i] / (v[i].squareRoot() / bc2Sqrt + eps)  // (optimizers.adam)
                                zero += th[i] * 0
                            }
                        }
                        checks[part] = zero + zeros.sum()
                      }
                      if parts > 1 { parallelFor(parts, run) } else { run(0) }
                      }
                    }
                }
            }
        }
        return (check.0 + check.1).isFinite
    }
}

/// Scales all gradients so their global L2 norm is at most `maxNorm` (PyTorch's
/// `clip_grad_norm_`: coefficient maxNorm / (norm + 1e-6), applied only when below 1).
/// Returns the norm before clipping.
@discardableResult
public func clipGradientNorm<P: ParameterSet>(_ grads: inout P, maxNorm: Double) -> Double {
    var sum = 0.0
    grads.forEachTensor { _, g in sum += g.sumOfSquares }
    let norm = sum.squareRoot()                                                // (optimizers.clip)
    clipGradientNorm(&grads, maxNorm: maxNorm, norm: norm)
    return norm
}

/// The same clip with the global norm already computed (`grads.globalNorm`, which sums in the
/// same order): no second pass over the gradients to measure them.
public func clipGradientNorm<P: ParameterSet>(_ grads: inout P, maxNorm: Double, norm: Double) {
    let coef = maxNorm / (norm + 1e-6)
    if coef < 1 {
        grads.forEachTensor { _, g in g.scale(by: P.Real(coef)) }                 // (optimizers.clip)
    }
}

import Foundation
