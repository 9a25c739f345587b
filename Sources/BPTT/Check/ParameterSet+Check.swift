extension ParameterSet where Real == Double {
    /// One gradient-check tensor per parameter, in the set's order: its name, its value and its
    /// analytic gradient from `grads` (a set of the same shapes).
    public func checkTensors(analytic grads: Self) -> [GradientCheck.Tensor] {
        var out: [GradientCheck.Tensor] = []
        var view = self
        view.forEachTensor(pairedWith: grads) { name, m, g in out.append(.init(name: name, value: m, analytic: g!)) }
        return out
    }

    /// A copy with the first `tensorCount` of `values` as its tensors (a check's perturbed values).
    public func with(_ values: [Matrix<Double>]) -> Self {
        var p = self
        p.tensors = Array(values[0..<tensorCount])
        return p
    }
}
