/// The classic mistakes of hand-written BPTT, on demand (`bptt gradcheck --break NAME`).
///
/// Each is a switch inside the real backward code (`probe.breaks(.x)`), off unless a check's
/// `Tracer` turns it on; training never has a tracer. The name is `TAG:what`, where TAG is the
/// tag of the equation the mistake breaks: `bptt gradcheck --locate` must find the first
/// divergence at that tag.
public enum Break: String, CaseIterable, Sendable {
    case rnnDhNoDhNext = "rnn.dh:no-dhnext"
    case rnnDaTanhOfActivated = "rnn.da:tanh-of-activated"
    case rnnDW_hhLastStepOnly = "rnn.dW_hh:last-step-only"
    case rnnDW_hhOverwrite = "rnn.dW_hh:overwrite"
    case lstmDcNoCarry = "lstm.dc:no-carry"
    case lstmDcTanhOfActivated = "lstm.dc:tanh-of-activated"
    case lstmDfOffByOne = "lstm.df:off-by-one"
    case lstmDa_fNoSigmoidDerivative = "lstm.da_f:no-sigmoid-derivative"
    case gruDzSignFlip = "gru.dz:sign-flip"
    case gruDa_nNoTanhDerivative = "gru.da_n:no-tanh-derivative"
    case gruDrChoForPyTorch = "gru.dr:cho-for-pytorch"
    case gruDrChoNoHPrev = "gru.dr_cho:no-hprev"
    case lossesDpNoMinusOne = "losses.dp:no-minus-one"
    case lossesDpSumOverT = "losses.dp:sum-over-T"
    case rnnDaDhNextAfterDerivative = "rnn.da:dhnext-after-derivative"
    case rnnDb_hOneRow = "rnn.db_h:one-row"
    case gruDhZSwapped = "gru.dh:z-swapped-in-dhprev"
    case rnnDxAccumulate = "rnn.dx:accumulate"

    public var name: String { rawValue }
    /// The tag of the equation the mistake breaks (the part before ':').
    public var tag: String { String(rawValue.split(separator: ":")[0]) }

    /// What the mistake does, in one line.
    public var summary: String {
        switch self {
        case .rnnDhNoDhNext: return "dh_t = dp_t W_ph only: the recursion drops dh^next_t from step t+1"
        case .rnnDaTanhOfActivated: return "da_t = dh_t ⊙ (1 − tanh²(h_t)): tanh′ taken of the already activated h_t"
        case .rnnDW_hhLastStepOnly: return "dW_hh = da_Tᵀ h_{T−1}: only the last step's term (a common hand-derivation shortcut)"
        case .rnnDW_hhOverwrite: return "dW_hh = da_tᵀ h_{t−1}: `=` instead of `+=`, only the last term written (t = 1) survives"
        case .lstmDcNoCarry: return "dc_t = dh_t ⊙ o_t ⊙ (1 − tanh²(c_t)): drops dc^next_t = dc_{t+1} ⊙ f_{t+1}"
        case .lstmDcTanhOfActivated: return "dc_t uses 1 − tanh²(tanh(c_t)): derivative taken of the already activated value"
        case .lstmDfOffByOne: return "df_t = dc_t ⊙ c_t: c_t where c_{t−1} belongs (off by one step)"
        case .lstmDa_fNoSigmoidDerivative: return "da^f_t = df_t: the forget gate's σ′ = f(1 − f) forgotten"
        case .gruDzSignFlip: return "dz_t = dh_t ⊙ (n_t − h_{t−1}): the update gate's two sides swapped"
        case .gruDa_nNoTanhDerivative: return "da^n_t = dn_t: the candidate's tanh′ = 1 − n² forgotten"
        case .gruDrChoForPyTorch: return "dr_t = da^n_t ⊙ h_{t−1}: Cho's reset placement (r ⊙ h_{t−1}) in PyTorch's GRU, where r scales m_t"
        case .gruDrChoNoHPrev: return "dr_t = dq_t: Cho's q_t = r_t ⊙ h_{t−1} differentiated as if q_t = r_t"
        case .lossesDpNoMinusOne: return "dp = ŷ / N: the − onehot(y) of softmax cross-entropy's gradient dropped"
        case .lossesDpSumOverT: return "dp = T/N · (ŷ − onehot(y)): the loss summed over the T steps where it is averaged; every gradient is T times too large"
        case .rnnDaDhNextAfterDerivative: return "da_t = (∂L/∂h_t from above) ⊙ φ′(a_t) + dh^next_t: dh^next_t added after the derivative instead of before"
        case .rnnDb_hOneRow: return "db_h += (da_t)_{1,:}: the bias gradient from the first row of the batch only, not summed over the rows"
        case .rnnDxAccumulate: return "dx_t += da_t W_hx: added into the buffer the step must write (`+=` where `=` belongs); it holds whatever the last pass left there"
        case .gruDhZSwapped: return "dh^next_{t−1} = dh_t ⊙ (1 − z_t) + …: (1 − z_t) and z_t swapped on the direct path of (gru.dhprev); dh_{t−1} is the first adjoint it corrupts"
        }
    }

    /// The `--model` values whose backward pass contains the switch.
    public var models: [String] {
        switch self {
        case .rnnDhNoDhNext, .rnnDW_hhLastStepOnly, .rnnDW_hhOverwrite, .rnnDaDhNextAfterDerivative, .rnnDb_hOneRow, .rnnDxAccumulate: return ["rnn", "rnn-relu"]
        case .rnnDaTanhOfActivated: return ["rnn"]
        case .lstmDcNoCarry, .lstmDcTanhOfActivated, .lstmDfOffByOne, .lstmDa_fNoSigmoidDerivative: return ["lstm"]
        case .gruDzSignFlip, .gruDa_nNoTanhDerivative, .gruDhZSwapped: return ["gru", "gru-cho"]
        case .gruDrChoForPyTorch: return ["gru"]
        case .gruDrChoNoHPrev: return ["gru-cho"]
        case .lossesDpNoMinusOne, .lossesDpSumOverT: return ["rnn", "rnn-relu", "lstm", "gru", "gru-cho"]
        }
    }

    public init?(name: String) { self.init(rawValue: name) }
}
