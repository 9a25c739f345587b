import BPTT
import Foundation

let explainCommand = Command(
    name: "explain",
    summary: """
    Walk one tiny example through the real forward and backward pass, number by number. Every
    forward equation in order (tag, equation, values with shapes), the loss, every backward equation
    in reverse time order, then each gradient beside its finite-difference estimate.
    """,
    usage: "explain --model rnn|rnn-relu|lstm|gru|gru-cho|mlp [--length 3 --hidden 2 --input 1 --batch 1 --seed 0] [--interactive] [--markdown FILE] [--html FILE] [--json]",
    options: [
        Option("model", "NAME", "rnn | rnn-relu | lstm | gru | gru-cho | mlp (default rnn)"),
        Option("task", "NAME", "text: one chunk of a character-level language model on the vocabulary a, b, c, from a carried state, a loss at every step"),
        Option("length", "T", "time steps (default 3)"),
        Option("batch", "B", "batch size (default 1)"),
        Option("input", "D", "input width (default 1)"),
        Option("hidden", "H", "hidden units (default 2); mlp: a list of layer widths, e.g. 6,5"),
        Option("classes", "K", "classes (default 3)"),
        Option("no-h0", nil, "start from h0 = 0 (and c0 = 0) instead of a random state"),
        Option("seed", "S", "random seed of the example (default 0); the same case as bptt gradcheck"),
        Option("interactive", nil, "wait for Enter after each step (q to stop)"),
        Option("markdown", "FILE", "also write the walk-through as Markdown with LaTeX (renders on GitHub)").writes(.file),
        Option("html", "FILE", "write one self-contained web page in place of the terminal walk-through (which --interactive still shows); it opens from disk, no network: the unrolled graph (T ≤ 6, H ≤ 4) stepped forward and backward one equation at a time (→ ← space Home), each tag's derivation and Swift lines, ‖∂L/∂h_t‖ per step, the check table, what-if panels (T, spectral radius, tanh/ReLU, truncation, each --break mistake located); reads derivations/ and Sources/ of the repository the binary was built from, or of BPTT_SOURCE_ROOT").writes(.file),
        Option("json", nil, "end with one JSON line: loss, gradients, max relative error per tensor, every equation's value, the check table"),
    ],
    run: runExplain
)

func runExplain(_ a: inout Arguments) throws -> Int32 {
    var spec = Walkthrough.Spec()
    spec.model = try a.choice("model", Walkthrough.Spec.models, default: "rnn")
    if spec.model == "mlp" {
        for flag in ["length", "no-h0"] where a.given(flag) {
            throw BPTTError.usage("--\(flag) applies to the recurrent models; explain --model mlp has no time steps and no h0")
        }
    }
    spec.length = try a.int("length", default: 3, min: 1, max: 16)
    spec.batch = try a.int("batch", default: 1, min: 1, max: 8)
    spec.input = try a.int("input", default: 1, min: 1, max: 16)
    spec.classes = try a.int("classes", default: 3, min: 2, max: 16)
    if spec.model == "mlp", let text = a.string("hidden") {
        let widths = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !widths.isEmpty, widths.allSatisfy({ ($0 ?? 0) >= 1 && ($0 ?? 0) <= 64 }) else {
            throw BPTTError.usage("--hidden: '\(text)' is not a list of layer widths 1…64 (e.g. 6,5)")
        }
        spec.hiddenLayers = widths.map { $0! }
        spec.hidden = spec.hiddenLayers![0]
    } else {
        spec.hidden = try a.int("hidden", default: 2, min: 1, max: 16)
    }
    spec.withH0 = !a.flag("no-h0")
    spec.seed = try a.seed()
    let markdownPath = a.string("markdown")
    let htmlPath = a.string("html")
    var sourceRoot: URL? = nil   // before any work: the repository whose derivations and code the page embeds
    if htmlPath != nil {
        if let problem = ExplainPage.sizeProblem(spec) { throw BPTTError.usage(problem) }
        do { sourceRoot = try ExplainPage.sourceRoot() } catch { throw BPTTError.input("\(error)") }
    }
    let interactive = a.flag("interactive")

    let text = try a.has("task") && a.choice("task", ["text"], default: "text") == "text"
    if text && (spec.model == "mlp" || a.given("no-h0") || a.has("input") || a.has("classes")) {
        throw BPTTError.usage("explain --task text: a recurrent --model, no --input/--classes (the vocabulary a, b, c) and no --no-h0 (the chunk starts from the carried state)")
    }
    if text { (spec.input, spec.classes) = (3, 3) }
    let w = text ? Walkthrough.text(spec) : Walkthrough.make(spec)
    print("bptt explain — \(w.title)")
    // with --html the walk-through goes to the page; the terminal shows it only when asked (--interactive)
    let walk = htmlPath == nil || interactive
    if walk {
        for n in w.notes { print("  " + n) }
        print("  every number below is what the real forward and backward pass wrote (recorded by a tracer at the line citing the tag)")
        print("")
    }
    func pause() -> Bool {
        guard interactive else { return true }
        print("[Enter: next step, q: stop] ", terminator: "")
        fflush(stdout)
        guard let line = readLine() else { return true }   // end of input: run to the end
        return line.trimmingCharacters(in: .whitespaces).lowercased() != "q"
    }
    var stopped = false
    for s in w.sections where walk {
        print(w.text(s))
        if !pause() { stopped = true; break }
    }
    if !stopped && walk { print(w.checkText, terminator: "") }
    if !walk {
        print(String(format: "  %d equations, forward and backward; gradient check: max relative error %.2e (%@)", w.equations.count, w.maxRelError,
                     (w.maxRelError < GradientCheck.threshold ? "pass" : "FAIL") as NSString))
    }
    if let markdownPath {
        try writeFileAtomically(markdownPath, w.markdown)
        print("wrote \(markdownPath)")
    }
    if let htmlPath, let sourceRoot {
        try writeFileAtomically(htmlPath, try ExplainPage.html(w, spec: spec, root: sourceRoot))
        print("wrote \(htmlPath)")
    }
    if a.flag("json") { print(w.json.serialized()) }
    return w.maxRelError < GradientCheck.threshold ? 0 : 1
}
