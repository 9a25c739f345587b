import Foundation

/// bptt's tensors under PyTorch's names and layouts, and back.
///
/// A recurrent unit at level l (suffix `_l<l>`, and `_reverse` for the backward direction) becomes
/// the four tensors of `nn.RNN` / `nn.LSTM` / `nn.GRU`, gates stacked by rows in PyTorch's order:
///
///     rnn    weight_ih = W_hx                      weight_hh = W_hh
///            bias_ih   = b_h                       bias_hh   = 0
///     lstm   weight_ih = [W_ix; W_fx; W_gx; W_ox]  weight_hh = [W_ih; W_fh; W_gh; W_oh]
///            bias_ih   = [b_i, b_f, b_g, b_o]      bias_hh   = 0
///     gru    weight_ih = [W_rx; W_zx; W_nx]        weight_hh = [W_rh; W_zh; W_nh]
///            bias_ih   = [b_r, b_z, b_nx]          bias_hh   = [0, 0, b_nh]
///
/// bptt keeps one bias per gate where PyTorch keeps two that are always added (b_ih + b_hh), so
/// the export puts the bias in `bias_ih` and zeros in `bias_hh`; reading PyTorch's weights back
/// adds the two. The GRU's candidate is the exception: PyTorch's b_hn sits inside r ⊙ (…), and
/// bptt's b_nh is exactly that term. Linear layers (`nn.Linear`) keep bptt's out × in weight; a
/// bias 1 × n becomes a vector [n]. The mapping goes by name: the order of tensors in a
/// checkpoint (or of the gates in bptt's fused buffers) plays no part.
public enum TorchExport {
    /// One PyTorch tensor made of bptt tensors (or zero blocks), concatenated row-major.
    struct Slot {
        enum Part {
            case tensor(String)
            /// A zero block on export; on import, added into the named bptt tensor.
            case addedTo(String)
        }
        let name: String
        let shape: [Int]
        let parts: [Part]
    }

    /// What a checkpoint holds, as far as the export needs to know.
    public struct Layout {
        public let kind: String              // palindrome, image-rows, sentiment, classifier, autoencoder, gan, gan-generator
        public let module: String            // the PyTorch modules the names fit
        let slots: [Slot]
    }

    /// The recurrent part of a sequence model: cell, levels, directions.
    public struct Recurrent {
        public let cell: CellKind
        public let layers: Int
        public let directions: Int
        public init(cell: CellKind, layers: Int, directions: Int) { (self.cell, self.layers, self.directions) = (cell, layers, directions) }
    }

    // MARK: layouts

    static func recurrentSlots(_ r: Recurrent, shapes: [String: (Int, Int)], prefix: String = "rnn.") throws -> [Slot] {
        var slots: [Slot] = []
        let units = r.layers * r.directions
        for u in 0..<units {
            let s = RecurrentStack<RNN<Float>>.unitSuffix(u, units: units, directions: r.directions)
            let ts = "_l\(u / r.directions)" + (u % r.directions == 1 ? "_reverse" : "")
            let (xs, hs, bs, extra): ([String], [String], [String], [Slot.Part])
            switch r.cell {
            case .rnn, .rnnReLU:
                (xs, hs, bs) = (["W_hx"], ["W_hh"], ["b_h"])
                extra = [.addedTo("b_h" + s)]
            case .lstm:
                (xs, hs, bs) = (["W_ix", "W_fx", "W_gx", "W_ox"], ["W_ih", "W_fh", "W_gh", "W_oh"], ["b_i", "b_f", "b_g", "b_o"])
                extra = bs.map { .addedTo($0 + s) }
            case .gru, .gruCho:
                (xs, hs, bs) = (["W_rx", "W_zx", "W_nx"], ["W_rh", "W_zh", "W_nh"], ["b_r", "b_z", "b_nx"])
                extra = [.addedTo("b_r" + s), .addedTo("b_z" + s), .tensor("b_nh" + s)]
            }
            func shape(_ n: String) throws -> (Int, Int) {
                guard let sh = shapes[n + s] else { throw BPTTError.input("the checkpoint has no tensor \(n + s) for a \(r.cell.rawValue) unit") }
                return sh
            }
            let (H, D) = try shape(xs[0])
            let (_, Hh) = try shape(hs[0])
            let g = xs.count
            slots.append(Slot(name: prefix + "weight_ih" + ts, shape: [g * H, D], parts: xs.map { .tensor($0 + s) }))
            slots.append(Slot(name: prefix + "weight_hh" + ts, shape: [g * H, Hh], parts: hs.map { .tensor($0 + s) }))
            slots.append(Slot(name: prefix + "bias_ih" + ts, shape: [g * H], parts: bs.map { .tensor($0 + s) }))
            slots.append(Slot(name: prefix + "bias_hh" + ts, shape: [g * H], parts: extra))
        }
        return slots
    }

    static func linear(_ torch: String, weight: String, bias: String, shapes: [String: (Int, Int)]) throws -> [Slot] {
        guard let w = shapes[weight], let b = shapes[bias] else { throw BPTTError.input("the checkpoint has no tensors \(weight), \(bias)") }
        return [Slot(name: torch + ".weight", shape: [w.0, w.1], parts: [.tensor(weight)]),
                Slot(name: torch + ".bias", shape: [b.0 * b.1], parts: [.tensor(bias)])]
    }

    static func mlp(_ torch: String, bpttPrefix: String, shapes: [String: (Int, Int)]) throws -> [Slot] {
        var slots: [Slot] = []
        var l = 1
        while shapes[bpttPrefix + "W\(l)"] != nil {
            slots += try linear(torch + "\(l - 1)", weight: bpttPrefix + "W\(l)", bias: bpttPrefix + "b\(l)", shapes: shapes)
            l += 1
        }
        return slots
    }

    /// The layout of a recurrent model with a readout: `rnn.*`, then `fc` (and `embedding` first
    /// for sentiment).
    public static func sequenceLayout(kind: String, recurrent r: Recurrent, tensors: [Checkpoint.NamedTensor]) throws -> Layout {
        let shapes = Dictionary(tensors.map { ($0.name, ($0.value.rows, $0.value.cols)) }, uniquingKeysWith: { a, _ in a })
        var slots: [Slot] = []
        if kind == "sentiment" {
            guard let e = shapes["W_emb"] else { throw BPTTError.input("the checkpoint has no tensor W_emb") }
            slots.append(Slot(name: "embedding.weight", shape: [e.0, e.1], parts: [.tensor("W_emb")]))
        }
        let rec = try recurrentSlots(r, shapes: shapes)
        slots += rec
        slots += kind == "sentiment" ? try linear("fc", weight: "W_out", bias: "b_out", shapes: shapes)
                                     : try linear("fc", weight: "W_ph", bias: "b_p", shapes: shapes)
        let (D, H) = (rec[0].shape[1], rec[1].shape[1])   // weight_ih_l0: gates·H × D; weight_hh_l0: gates·H × H
        let cls = r.cell == .lstm ? "nn.LSTM" : r.cell == .gru || r.cell == .gruCho ? "nn.GRU" : "nn.RNN"
        var module = (kind == "sentiment" ? "embedding = nn.Embedding(\(shapes["W_emb"]!.0), \(D)); " : "")
            + "rnn = \(cls)(\(D), \(H), num_layers=\(r.layers)"
            + (r.directions == 2 ? ", bidirectional=True" : "") + (r.cell == .rnnReLU ? ", nonlinearity='relu'" : "") + ")"
            + "; fc = nn.Linear(\(H * r.directions), \(slots[slots.count - 1].shape[0]))"
        if r.cell == .gruCho { module += " (NOTE: gru-cho applies the reset gate before W_nh; nn.GRU computes another function with these weights)" }
        return Layout(kind: kind, module: module, slots: slots)
    }

    /// The layout of any checkpoint `--save` writes (or `gan --out` writes as generator.ckpt).
    public static func layout(of c: Checkpoint, source: String) throws -> Layout {
        let shapes = Dictionary(c.tensors.map { ($0.name, ($0.value.rows, $0.value.cols)) }, uniquingKeysWith: { a, _ in a })
        switch try CheckpointKind.identify(c, source: source) {
        case .palindrome(let t):
            return try sequenceLayout(kind: "palindrome", recurrent: Recurrent(cell: CellKind(rawValue: t.model)!, layers: t.layers, directions: t.bidirectional ? 2 : 1), tensors: c.tensors)
        case .imageRows(let s, _), .sentiment(let s, _):
            return try sequenceLayout(kind: s.task, recurrent: Recurrent(cell: CellKind(rawValue: s.model)!, layers: s.layers, directions: s.bidirectional ? 2 : 1), tensors: c.tensors)
        case .classifier:
            return Layout(kind: "classifier", module: "layers = nn.ModuleList(nn.Linear …) with ReLU between (dropout while training); softmax of the last", slots: try mlp("layers.", bpttPrefix: "", shapes: shapes))
        case .autoencoder:
            return Layout(kind: "autoencoder", module: "layers = nn.ModuleList(nn.Linear …) with ReLU between, sigmoid after the last; input = mask ⊙ image", slots: try mlp("layers.", bpttPrefix: "", shapes: shapes))
        case .gan:
            return Layout(kind: "gan", module: "generator.layers and discriminator.layers = nn.ModuleList(nn.Linear …), LeakyReLU(0.2) between; generator: sigmoid after the last",
                          slots: try mlp("generator.layers.", bpttPrefix: "G.", shapes: shapes) + mlp("discriminator.layers.", bpttPrefix: "D.", shapes: shapes))
        case .generator:
            return Layout(kind: "gan-generator", module: "layers = nn.ModuleList(nn.Linear …), LeakyReLU between, sigmoid after the last", slots: try mlp("layers.", bpttPrefix: "", shapes: shapes))
        }
    }

    // MARK: export

    /// The checkpoint's parameters under PyTorch's names, in PyTorch's layouts; every tensor of
    /// the checkpoint is used exactly once (else it throws: a model this mapping does not know).
    public static func export(_ c: Checkpoint, source: String) throws -> (tensors: [ExportTensor], metadata: [(String, String)]) {
        let layout = try layout(of: c, source: source)
        let byName = Dictionary(c.tensors.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
        var used = Set<String>()
        var out: [ExportTensor] = []
        for slot in layout.slots {
            var data: [Float] = []
            for part in slot.parts {
                switch part {
                case .tensor(let n):
                    guard let m = byName[n] else { throw BPTTError.input("\(source): no tensor \(n)") }
                    guard used.insert(n).inserted else { throw BPTTError.input("\(source): tensor \(n) mapped twice") }
                    data += m.data
                case .addedTo(let n):
                    guard let m = byName[n] else { throw BPTTError.input("\(source): no tensor \(n)") }
                    data += [Float](repeating: 0, count: m.count)
                }
            }
            guard data.count == slot.shape.reduce(1, *) else {
                throw BPTTError.input("\(source): \(slot.name) gathers \(data.count) values for shape \(slot.shape)")
            }
            out.append(ExportTensor(slot.name, shape: slot.shape, data: data))
        }
        let left = c.tensors.map(\.name).filter { !used.contains($0) }
        guard left.isEmpty else { throw BPTTError.input("\(source): tensors \(left.joined(separator: ", ")) have no PyTorch name") }
        let metadata: [(String, String)] = [("format", "pt"), ("bptt_kind", layout.kind), ("bptt_model", c.model),
                                            ("bptt_step", String(c.step)), ("torch_modules", layout.module), ("bptt_config", c.config)]
        return (out, metadata)
    }

    // MARK: import

    /// PyTorch-named tensors back into bptt's, for a model whose tensors are `like` (names and
    /// shapes; values ignored). Every tensor the model needs must be there with PyTorch's shape,
    /// and nothing else may be (each problem named); two biases PyTorch adds become one.
    public static func bpttTensors(from given: [ExportTensor], layout: Layout, like: [Checkpoint.NamedTensor], source: String) throws -> [Checkpoint.NamedTensor] {
        let byName = Dictionary(given.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let expected = Set(layout.slots.map(\.name))
        let unknown = given.map(\.name).filter { !expected.contains($0) }
        guard unknown.isEmpty else {
            throw BPTTError.input("\(source): tensors \(unknown.joined(separator: ", ")) do not belong to this model (it has \(layout.slots.map(\.name).joined(separator: ", ")))")
        }
        let shapes = Dictionary(like.map { ($0.name, ($0.value.rows, $0.value.cols)) }, uniquingKeysWith: { a, _ in a })
        var values: [String: [Float]] = [:]
        for slot in layout.slots {
            guard let t = byName[slot.name] else { throw BPTTError.input("\(source): tensor \(slot.name) is missing (shape \(slot.shape) expected)") }
            guard t.shape == slot.shape else {
                throw BPTTError.input("\(source): tensor \(slot.name) has shape \(t.shapeText), this model needs \(ExportTensor("", shape: slot.shape, data: []).shapeText)")
            }
            var at = 0
            for part in slot.parts {
                switch part {
                case .tensor(let n):
                    let (r, c) = shapes[n]!
                    values[n] = Array(t.data[at..<(at + r * c)])
                    at += r * c
                case .addedTo(let n):
                    let (r, c) = shapes[n]!
                    guard var v = values[n] else { throw BPTTError.input("\(source): internal: \(n) added before it was read") }
                    // x + 0 is x except for −0 + 0 = +0: leave exact zeros out so a bptt export reads back bit for bit.
                    for i in 0..<(r * c) where t.data[at + i] != 0 { v[i] += t.data[at + i] }
                    values[n] = v
                    at += r * c
                }
            }
        }
        return try like.map { t in
            guard let v = values[t.name] else { throw BPTTError.input("\(source): nothing maps to this model's tensor \(t.name)") }
            return Checkpoint.NamedTensor(t.name, Matrix(rows: t.value.rows, cols: t.value.cols, data: v))
        }
    }

    /// Reads `.safetensors` or `.npz` (by extension).
    public static func readTensors(_ path: String) throws -> [ExportTensor] {
        if path.lowercased().hasSuffix(".npz") { return try NPZ.read(from: path) }
        guard path.lowercased().hasSuffix(".safetensors") else {
            throw BPTTError.usage("\(path): expected a .safetensors or .npz file")
        }
        return try Safetensors.read(from: path).tensors
    }
}
