import Foundation

/// The named quantities of the derivations that the cells report to a probe, each with the tag
/// and text of the equation that computes it (forward) and of the one that computes ∂L/∂ of it
/// (backward). Texts are what `bptt explain` prints; tags are those of `derivations/*.md`.
///
/// The library's own quantities are the static members (`.rnnA`, `.lstmC`, …; `allCases`). A
/// cell of your own names its quantities once with `Quantity.define`, and reports them to the
/// probe exactly as the library's cells do; `gradcheck`-style locating and `explain` then work
/// on them unchanged.
public struct Quantity: Hashable, Sendable, CaseIterable, CustomStringConvertible {
    /// Library quantities are 0..<1000; quantities of your own (`define`) are 1000 and up.
    public let rawValue: Int
    init(_ b: BuiltinQuantity) { rawValue = b.rawValue }
    init(rawValue: Int) { self.rawValue = rawValue }

    public struct Equation: Sendable {
        /// "rnn.a"; empty when there is none.
        public let tag: String
        /// Plain text (Unicode), for the terminal.
        public let text: String
        /// LaTeX, for Markdown.
        public let latex: String
    }

    public struct Info: Sendable {
        /// Short name: "h", "a_i", "dW_hh"… (the JSON `quantity` of a per-step entry).
        public let name: String
        /// LaTeX symbol with step subscript placeholder `#` ("h_{#}").
        public let symbol: String
        public let forward: Equation?
        public let backward: Equation?
    }

    public var name: String { info.name }
    /// Tag of the equation computing ∂L/∂(this quantity) (or this gradient sum).
    public var adjointTag: String { info.backward?.tag ?? "" }
    public var description: String { name }

    public var info: Info {
        if let b = BuiltinQuantity(rawValue: rawValue) { return b.info }
        return QuantityRegistry.shared.info(rawValue)
    }

    /// The library's own quantities (not those defined by `define`).
    public static var allCases: [Quantity] { BuiltinQuantity.allCases.map(Quantity.init) }

    /// Names a quantity of a cell of your own (a gate, a candidate, its state h_t), once.
    ///
    /// - name: short name, as in per-step reports: "f", "n", "h".
    /// - forward: (tag, text) of the equation computing it, e.g. ("mgu.f", "f_t = σ(a^f_t)").
    /// - backward: (tag, text) of the equation computing ∂L/∂ of it, e.g. ("mgu.df", "df_t = …").
    ///   The check names this tag when the adjoint is the first to disagree.
    /// - symbol: LaTeX symbol with `#` where the step goes (default "name_{#}").
    ///
    /// Returns the same quantity for the same name and tags (safe to call from a `static let`
    /// or repeatedly); errors: none (a name may be reused with other tags: a different quantity).
    public static func define(_ name: String, symbol: String? = nil,
                              forward: (tag: String, text: String)?, backward: (tag: String, text: String)?) -> Quantity {
        let info = Info(name: name, symbol: symbol ?? "{\(name)}_{#}",
                        forward: forward.map { Equation(tag: $0.tag, text: $0.text, latex: $0.text) },
                        backward: backward.map { Equation(tag: $0.tag, text: $0.text, latex: $0.text) })
        return Quantity(rawValue: QuantityRegistry.shared.id(for: info))
    }

    // the library's own quantities, by name
    public static var rnnA: Quantity { Quantity(BuiltinQuantity.rnnA) }
    public static var rnnH: Quantity { Quantity(BuiltinQuantity.rnnH) }
    public static var lstmAi: Quantity { Quantity(BuiltinQuantity.lstmAi) }
    public static var lstmAf: Quantity { Quantity(BuiltinQuantity.lstmAf) }
    public static var lstmAg: Quantity { Quantity(BuiltinQuantity.lstmAg) }
    public static var lstmAo: Quantity { Quantity(BuiltinQuantity.lstmAo) }
    public static var lstmI: Quantity { Quantity(BuiltinQuantity.lstmI) }
    public static var lstmF: Quantity { Quantity(BuiltinQuantity.lstmF) }
    public static var lstmG: Quantity { Quantity(BuiltinQuantity.lstmG) }
    public static var lstmO: Quantity { Quantity(BuiltinQuantity.lstmO) }
    public static var lstmC: Quantity { Quantity(BuiltinQuantity.lstmC) }
    public static var lstmH: Quantity { Quantity(BuiltinQuantity.lstmH) }
    public static var gruAr: Quantity { Quantity(BuiltinQuantity.gruAr) }
    public static var gruAz: Quantity { Quantity(BuiltinQuantity.gruAz) }
    public static var gruAn: Quantity { Quantity(BuiltinQuantity.gruAn) }
    public static var gruAnCho: Quantity { Quantity(BuiltinQuantity.gruAnCho) }
    public static var gruR: Quantity { Quantity(BuiltinQuantity.gruR) }
    public static var gruRCho: Quantity { Quantity(BuiltinQuantity.gruRCho) }
    public static var gruZ: Quantity { Quantity(BuiltinQuantity.gruZ) }
    public static var gruN: Quantity { Quantity(BuiltinQuantity.gruN) }
    public static var gruNCho: Quantity { Quantity(BuiltinQuantity.gruNCho) }
    public static var gruM: Quantity { Quantity(BuiltinQuantity.gruM) }
    public static var gruQ: Quantity { Quantity(BuiltinQuantity.gruQ) }
    public static var gruH: Quantity { Quantity(BuiltinQuantity.gruH) }
    public static var logitsStacked: Quantity { Quantity(BuiltinQuantity.logitsStacked) }
    public static var probs: Quantity { Quantity(BuiltinQuantity.probs) }
    public static var rnnDW_hx: Quantity { Quantity(BuiltinQuantity.rnnDW_hx) }
    public static var rnnDW_hh: Quantity { Quantity(BuiltinQuantity.rnnDW_hh) }
    public static var rnnDb_h: Quantity { Quantity(BuiltinQuantity.rnnDb_h) }
    public static var lstmDW_x: Quantity { Quantity(BuiltinQuantity.lstmDW_x) }
    public static var lstmDW_h: Quantity { Quantity(BuiltinQuantity.lstmDW_h) }
    public static var lstmDb: Quantity { Quantity(BuiltinQuantity.lstmDb) }
    public static var gruDW_x: Quantity { Quantity(BuiltinQuantity.gruDW_x) }
    public static var gruDW_h: Quantity { Quantity(BuiltinQuantity.gruDW_h) }
    public static var gruDW_nhCho: Quantity { Quantity(BuiltinQuantity.gruDW_nhCho) }
    public static var gruDb: Quantity { Quantity(BuiltinQuantity.gruDb) }
    public static var gruDb_nh: Quantity { Quantity(BuiltinQuantity.gruDb_nh) }
    public static var readoutDW: Quantity { Quantity(BuiltinQuantity.readoutDW) }
    public static var readoutDb: Quantity { Quantity(BuiltinQuantity.readoutDb) }
    public static var mlpZ: Quantity { Quantity(BuiltinQuantity.mlpZ) }
    public static var mlpA: Quantity { Quantity(BuiltinQuantity.mlpA) }
    public static var mlpDW: Quantity { Quantity(BuiltinQuantity.mlpDW) }
    public static var mlpDb: Quantity { Quantity(BuiltinQuantity.mlpDb) }
}

/// The quantities defined by cells outside the library.
final class QuantityRegistry: @unchecked Sendable {
    static let shared = QuantityRegistry()
    static let base = 1000
    private let lock = NSLock()
    private var infos: [Quantity.Info] = []
    func id(for info: Quantity.Info) -> Int {
        lock.lock(); defer { lock.unlock() }
        if let i = infos.firstIndex(where: { $0.name == info.name && $0.forward?.tag == info.forward?.tag && $0.backward?.tag == info.backward?.tag }) {
            return Self.base + i
        }
        infos.append(info)
        return Self.base + infos.count - 1
    }
    func info(_ raw: Int) -> Quantity.Info {
        lock.lock(); defer { lock.unlock() }
        require(raw >= Self.base && raw - Self.base < infos.count, "Quantity: no quantity \(raw)")
        return infos[raw - Self.base]
    }
}

/// The library's own quantities (see `Quantity`).
enum BuiltinQuantity: Int, CaseIterable, Sendable {
    // RNN (derivations/rnn.md)
    case rnnA, rnnH
    // LSTM (derivations/lstm.md)
    case lstmAi, lstmAf, lstmAg, lstmAo, lstmI, lstmF, lstmG, lstmO, lstmC, lstmH
    // GRU (derivations/gru.md): PyTorch's and Cho's where they differ
    case gruAr, gruAz, gruAn, gruAnCho, gruR, gruRCho, gruZ, gruN, gruNCho, gruM, gruQ, gruH
    // readout and loss
    case logitsStacked, probs
    // parameter-gradient sums (backward only)
    case rnnDW_hx, rnnDW_hh, rnnDb_h
    case lstmDW_x, lstmDW_h, lstmDb
    case gruDW_x, gruDW_h, gruDW_nhCho, gruDb, gruDb_nh
    case readoutDW, readoutDb
    // MLP layers (t = layer, 1-based)
    case mlpZ, mlpA, mlpDW, mlpDb

    var info: Quantity.Info {
        func q(_ name: String, _ symbol: String, _ f: (String, String, String)?, _ b: (String, String, String)?) -> Quantity.Info {
            Quantity.Info(name: name, symbol: symbol,
                 forward: f.map { Quantity.Equation(tag: $0.0, text: $0.1, latex: $0.2) },
                 backward: b.map { Quantity.Equation(tag: $0.0, text: $0.1, latex: $0.2) })
        }
        switch self {
        case .rnnA: return q("a", "a_{#}",
            ("rnn.a", "a_t = x_t W_hxᵀ + h_{t−1} W_hhᵀ + b_h", #"a_t = x_t W_{hx}^\top + h_{t-1} W_{hh}^\top + b_h"#),
            ("rnn.da", "da_t = dh_t ⊙ φ′(a_t),  φ′ = 1 − h_t² (tanh) or 1[h_t > 0] (ReLU)", #"da_t = dh_t \odot \varphi'(a_t)"#))
        case .rnnH: return q("h", "h_{#}",
            ("rnn.h", "h_t = φ(a_t)", #"h_t = \varphi(a_t)"#),
            ("rnn.dh", "dh_t = dp_t W_ph + dh^next_t", #"dh_t = dp_t\, W_{ph} + dh^{\text{next}}_t"#))
        case .lstmAi, .lstmAf, .lstmAg, .lstmAo:
            let g = ["i", "f", "g", "o"][rawValue - BuiltinQuantity.lstmAi.rawValue]
            let dg = ["di_t ⊙ i_t ⊙ (1 − i_t)", "df_t ⊙ f_t ⊙ (1 − f_t)", "dg_t ⊙ (1 − g_t²)", "do_t ⊙ o_t ⊙ (1 − o_t)"][rawValue - BuiltinQuantity.lstmAi.rawValue]
            let dgl = [#"di_t \odot i_t \odot (1 - i_t)"#, #"df_t \odot f_t \odot (1 - f_t)"#, #"dg_t \odot (1 - g_t^2)"#, #"do_t \odot o_t \odot (1 - o_t)"#][rawValue - BuiltinQuantity.lstmAi.rawValue]
            return q("a_\(g)", "a^{\(g)}_{#}",
                ("lstm.a", "a^\(g)_t = x_t W_\(g)xᵀ + h_{t−1} W_\(g)hᵀ + b_\(g)", "a^{\(g)}_t = x_t W_{\(g)x}^\\top + h_{t-1} W_{\(g)h}^\\top + b_\(g)"),
                ("lstm.da_\(g)", "da^\(g)_t = \(dg)", "da^{\(g)}_t = \(dgl)"))
        case .lstmI: return q("i", "i_{#}", ("lstm.i", "i_t = σ(a^i_t)", #"i_t = \sigma(a^i_t)"#),
                              ("lstm.di", "di_t = dc_t ⊙ g_t", #"di_t = dc_t \odot g_t"#))
        case .lstmF: return q("f", "f_{#}", ("lstm.f", "f_t = σ(a^f_t)", #"f_t = \sigma(a^f_t)"#),
                              ("lstm.df", "df_t = dc_t ⊙ c_{t−1}", #"df_t = dc_t \odot c_{t-1}"#))
        case .lstmG: return q("g", "g_{#}", ("lstm.g", "g_t = tanh(a^g_t)", #"g_t = \tanh(a^g_t)"#),
                              ("lstm.dg", "dg_t = dc_t ⊙ i_t", #"dg_t = dc_t \odot i_t"#))
        case .lstmO: return q("o", "o_{#}", ("lstm.o", "o_t = σ(a^o_t)", #"o_t = \sigma(a^o_t)"#),
                              ("lstm.do", "do_t = dh_t ⊙ tanh(c_t)", #"do_t = dh_t \odot \tanh(c_t)"#))
        case .lstmC: return q("c", "c_{#}", ("lstm.c", "c_t = g_t ⊙ i_t + c_{t−1} ⊙ f_t", #"c_t = g_t \odot i_t + c_{t-1} \odot f_t"#),
                              ("lstm.dc", "dc_t = dc^next_t + dh_t ⊙ o_t ⊙ (1 − tanh²(c_t))", #"dc_t = dc^{\text{next}}_t + dh_t \odot o_t \odot (1 - \tanh^2(c_t))"#))
        case .lstmH: return q("h", "h_{#}", ("lstm.h", "h_t = o_t ⊙ tanh(c_t)", #"h_t = o_t \odot \tanh(c_t)"#),
                              ("lstm.dh", "dh_t = ∂L/∂h_t (from above) + dh^next_t", #"dh_t = \partial L/\partial h_t|_{\text{above}} + dh^{\text{next}}_t"#))
        case .gruAr: return q("a_r", "a^{r}_{#}", ("gru.r", "a^r_t = x_t W_rxᵀ + h_{t−1} W_rhᵀ + b_r", #"a^r_t = x_t W_{rx}^\top + h_{t-1} W_{rh}^\top + b_r"#),
                              ("gru.da_r", "da^r_t = dr_t ⊙ r_t ⊙ (1 − r_t)", #"da^r_t = dr_t \odot r_t \odot (1 - r_t)"#))
        case .gruAz: return q("a_z", "a^{z}_{#}", ("gru.z", "a^z_t = x_t W_zxᵀ + h_{t−1} W_zhᵀ + b_z", #"a^z_t = x_t W_{zx}^\top + h_{t-1} W_{zh}^\top + b_z"#),
                              ("gru.da_z", "da^z_t = dz_t ⊙ z_t ⊙ (1 − z_t)", #"da^z_t = dz_t \odot z_t \odot (1 - z_t)"#))
        case .gruAn: return q("a_n", "a^{n}_{#}", ("gru.n", "a^n_t = x_t W_nxᵀ + b_nx + r_t ⊙ m_t", #"a^n_t = x_t W_{nx}^\top + b_{nx} + r_t \odot m_t"#),
                              ("gru.da_n", "da^n_t = dn_t ⊙ (1 − n_t²)", #"da^n_t = dn_t \odot (1 - n_t^2)"#))
        case .gruAnCho: return q("a_n", "a^{n}_{#}", ("gru.n_cho", "a^n_t = x_t W_nxᵀ + b_nx + q_t W_nhᵀ + b_nh", #"a^n_t = x_t W_{nx}^\top + b_{nx} + q_t W_{nh}^\top + b_{nh}"#),
                                 ("gru.da_n", "da^n_t = dn_t ⊙ (1 − n_t²)", #"da^n_t = dn_t \odot (1 - n_t^2)"#))
        case .gruR: return q("r", "r_{#}", ("gru.r", "r_t = σ(a^r_t)", #"r_t = \sigma(a^r_t)"#),
                             ("gru.dr", "dr_t = da^n_t ⊙ m_t", #"dr_t = da^n_t \odot m_t"#))
        case .gruRCho: return q("r", "r_{#}", ("gru.r", "r_t = σ(a^r_t)", #"r_t = \sigma(a^r_t)"#),
                                ("gru.dr_cho", "dr_t = dq_t ⊙ h_{t−1}", #"dr_t = dq_t \odot h_{t-1}"#))
        case .gruZ: return q("z", "z_{#}", ("gru.z", "z_t = σ(a^z_t)", #"z_t = \sigma(a^z_t)"#),
                             ("gru.dz", "dz_t = dh_t ⊙ (h_{t−1} − n_t)", #"dz_t = dh_t \odot (h_{t-1} - n_t)"#))
        case .gruN: return q("n", "n_{#}", ("gru.n", "n_t = tanh(a^n_t)", #"n_t = \tanh(a^n_t)"#),
                             ("gru.dn", "dn_t = dh_t ⊙ (1 − z_t)", #"dn_t = dh_t \odot (1 - z_t)"#))
        case .gruNCho: return q("n", "n_{#}", ("gru.n_cho", "n_t = tanh(a^n_t)", #"n_t = \tanh(a^n_t)"#),
                                ("gru.dn", "dn_t = dh_t ⊙ (1 − z_t)", #"dn_t = dh_t \odot (1 - z_t)"#))
        case .gruM: return q("m", "m_{#}", ("gru.m", "m_t = h_{t−1} W_nhᵀ + b_nh", #"m_t = h_{t-1} W_{nh}^\top + b_{nh}"#),
                             ("gru.dm", "dm_t = da^n_t ⊙ r_t", #"dm_t = da^n_t \odot r_t"#))
        case .gruQ: return q("q", "q_{#}", ("gru.q", "q_t = r_t ⊙ h_{t−1}", #"q_t = r_t \odot h_{t-1}"#),
                             ("gru.dq", "dq_t = da^n_t W_nh", #"dq_t = da^n_t\, W_{nh}"#))
        case .gruH: return q("h", "h_{#}", ("gru.h", "h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t−1}", #"h_t = (1 - z_t) \odot n_t + z_t \odot h_{t-1}"#),
                             ("gru.dh", "dh_t = ∂L/∂h_t (from above) + dh^next_t", #"dh_t = \partial L/\partial h_t|_{\text{above}} + dh^{\text{next}}_t"#))
        case .logitsStacked: return q("p", "p_{#}", ("stacked.p", "p = h_T W_phᵀ + b_p (many-to-one)", #"p = h_T W_{ph}^\top + b_p"#),
                                      ("losses.dp", "dp = (ŷ − onehot(y)) / N", #"dp = \tfrac{1}{N}(\hat y - \mathrm{onehot}(y))"#))
        case .probs: return q("ŷ", #"\hat y_{#}"#, ("losses.softmax", "ŷ = softmax(p), row by row", #"\hat y_{bk} = e^{p_{bk} - m_b} / \textstyle\sum_j e^{p_{bj} - m_b}"#), nil)
        case .rnnDW_hx: return q("dW_hx", "dW_{hx}", nil, ("rnn.dW_hx", "dW_hx += da_tᵀ x_t", #"dW_{hx} \mathrel{+}= da_t^\top x_t"#))
        case .rnnDW_hh: return q("dW_hh", "dW_{hh}", nil, ("rnn.dW_hh", "dW_hh += da_tᵀ h_{t−1}", #"dW_{hh} \mathrel{+}= da_t^\top h_{t-1}"#))
        case .rnnDb_h: return q("db_h", "db_h", nil, ("rnn.db_h", "db_h += Σ_b da_t", #"db_h \mathrel{+}= \textstyle\sum_b (da_t)_{b,:}"#))
        case .lstmDW_x: return q("dW_x", "dW_x", nil, ("lstm.dW_x", "dW_x = Σ_t dA_tᵀ x_t (one product over the stacked steps)", #"dW_x \mathrel{+}= \textstyle\sum_t dA_t^\top x_t"#))
        case .lstmDW_h: return q("dW_h", "dW_h", nil, ("lstm.dW_h", "dW_h = Σ_t dA_tᵀ h_{t−1} (one product over the stacked steps)", #"dW_h \mathrel{+}= \textstyle\sum_t dA_t^\top h_{t-1}"#))
        case .lstmDb: return q("db", "db", nil, ("lstm.db", "db = Σ_t Σ_b dA_t", #"db \mathrel{+}= \textstyle\sum_t\sum_b (dA_t)_{b,:}"#))
        case .gruDW_x: return q("dW_x", "dW_x", nil, ("gru.dW_x", "dW_x += (dA^x_t)ᵀ x_t", #"dW_x \mathrel{+}= (dA^x_t)^\top x_t"#))
        case .gruDW_h: return q("dW_h", "dW_h", nil, ("gru.dW_h", "dW_h += (dA^h_t)ᵀ h_{t−1}", #"dW_h \mathrel{+}= (dA^h_t)^\top h_{t-1}"#))
        case .gruDW_nhCho: return q("dW_nh", "dW_{nh}", nil, ("gru.dW_nh_cho", "dW_nh += (da^n_t)ᵀ q_t", #"dW_{nh} \mathrel{+}= (da^n_t)^\top q_t"#))
        case .gruDb: return q("db", "db", nil, ("gru.db", "[db_r, db_z, db_nx] += Σ_b dA^x_t", #"[db_r, db_z, db_{nx}] \mathrel{+}= \textstyle\sum_b (dA^x_t)_{b,:}"#))
        case .gruDb_nh: return q("db_nh", "db_{nh}", nil, ("gru.db_nh", "db_nh += Σ_b (dA^h_t)_n", #"db_{nh} \mathrel{+}= \textstyle\sum_b (dA^h_{t,n})_{b,:}"#))
        case .readoutDW: return q("dW_ph", "dW_{ph}", nil, ("linear.dW", "dW_ph += dp_tᵀ h_t", #"dW_{ph} \mathrel{+}= dp_t^\top h_t"#))
        case .readoutDb: return q("db_p", "db_p", nil, ("linear.db", "db_p += Σ_b dp_t", #"db_p \mathrel{+}= \textstyle\sum_b (dp_t)_{b,:}"#))
        case .mlpZ: return q("z", "z_{#}", ("linear.y", "z_l = h_{l−1} W_lᵀ + b_l", #"z_l = h_{l-1} W_l^\top + b_l"#),
                             ("activations.d*", "dz_l = da_l ⊙ φ′(z_l)", #"dz_l = da_l \odot \varphi'(z_l)"#))
        case .mlpA: return q("a", "a_{#}", ("activations.*", "a_l = φ_l(z_l)", #"a_l = \varphi_l(z_l)"#),
                             ("linear.dx", "da_l = dz_{l+1} W_{l+1} (dL/da_L from the loss)", #"da_l = dz_{l+1} W_{l+1}"#))
        case .mlpDW: return q("dW", "dW_{#}", nil, ("linear.dW", "dW_l += dz_lᵀ h_{l−1}", #"dW_l \mathrel{+}= dz_l^\top h_{l-1}"#))
        case .mlpDb: return q("db", "db_{#}", nil, ("linear.db", "db_l += Σ_b dz_l", #"db_l \mathrel{+}= \textstyle\sum_b (dz_l)_{b,:}"#))
        }
    }
}
