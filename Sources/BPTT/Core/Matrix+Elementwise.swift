/// Elementwise and broadcasting operations. All write into existing storage: the training loop
/// calls them every time step, so none of them allocates.
extension Matrix {
    /// self += other
    @inlinable public mutating func add(_ other: Matrix) {
        require(rows == other.rows && cols == other.cols, "add: shape mismatch")
        data.withUnsafeMutableBufferPointer { d in
            other.data.withUnsafeBufferPointer { o in
                for i in 0..<d.count { d[i] += o[i] }
            }
        }
    }

    /// self *= s
    @inlinable public mutating func scale(by s: Real) {
        data.withUnsafeMutableBufferPointer { d in
            for i in 0..<d.count { d[i] *= s }
        }
    }

    /// self = other (same shape, no reallocation).
    @inlinable public mutating func copy(from other: Matrix) {
        require(rows == other.rows && cols == other.cols, "copy: shape mismatch")
        data.withUnsafeMutableBufferPointer { d in
            other.data.withUnsafeBufferPointer { o in
                d.baseAddress!.update(from: o.baseAddress!, count: d.count)
            }
        }
    }

    /// Adds the row vector `v` (1 × cols) to every row: the bias broadcast `a = … + b`.
    @inlinable public mutating func addRowVector(_ v: Matrix) {
        require(v.count == cols, "addRowVector: vector has \(v.count) elements, matrix has \(cols) columns")
        let n = cols
        data.withUnsafeMutableBufferPointer { d in
            v.data.withUnsafeBufferPointer { b in
                for r in 0..<rows {
                    let row = d.baseAddress! + r * n
                    for c in 0..<n { row[c] += b[c] }
                }
            }
        }
    }

    /// v += Σ_rows self (1 × cols): the bias gradient `db += Σ_b δ[b, :]`.
    @inlinable public func accumulateColumnSums(into v: inout Matrix) {
        require(v.count == cols, "accumulateColumnSums: shape mismatch")
        let n = cols
        data.withUnsafeBufferPointer { d in
            v.data.withUnsafeMutableBufferPointer { b in
                for r in 0..<rows {
                    let row = d.baseAddress! + r * n
                    for c in 0..<n { b[c] += row[c] }
                }
            }
        }
    }

    /// Σ x² over all elements, accumulated in Double.
    @inlinable public var sumOfSquares: Double {
        data.withUnsafeBufferPointer { d in
            var s = 0.0
            for x in d { s += Double(x) * Double(x) }
            return s
        }
    }

    /// True when every element is finite.
    @inlinable public var isFinite: Bool {
        data.withUnsafeBufferPointer { d in
            for x in d where !x.isFinite { return false }
            return true
        }
    }

    /// Largest |x|.
    @inlinable public var maxAbs: Real {
        data.reduce(0) { Swift.max($0, Swift.abs($1)) }
    }
}
