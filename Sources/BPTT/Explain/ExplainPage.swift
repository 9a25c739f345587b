import Foundation

/// `bptt explain --html FILE`: the walk-through of `Walkthrough` as one self-contained web page
/// (inline CSS and JavaScript, no network): the unrolled graph, forward then backward one equation
/// at a time with the recorded numbers substituted, ‖∂L/∂h_t‖ per step, the check table, and
/// precomputed "what if" panels (`ExplainPage+WhatIf.swift`).
///
/// The page's data is one JSON object embedded in the page (`<script id="bptt-data">`): its
/// `explain` member is exactly the `explain --json` object for the same flags; `steps` says how to
/// show each equation; `tags` holds, per tag, the derivation text (from `derivations/*.md`) and
/// the Swift lines citing it (from `Sources/`), read at generation time from the repository.
public enum ExplainPage {
    /// The repository is needed to embed derivations and code, and was not found.
    public struct MissingSources: Error, CustomStringConvertible {
        public let description: String
    }

    /// The repository the binary was built from, found through this source file's path at build
    /// time; `BPTT_SOURCE_ROOT` in the environment overrides it. Errors: `MissingSources` when
    /// the directory lacks `derivations/` or `Sources/`.
    public static func sourceRoot(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> URL {
        let built = URL(fileURLWithPath: #filePath).deletingLastPathComponent()   // …/Sources/BPTT/Explain
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let root = environment["BPTT_SOURCE_ROOT"].map { URL(fileURLWithPath: $0) } ?? built
        var isDir: ObjCBool = false
        for sub in ["derivations", "Sources"] {
            guard FileManager.default.fileExists(atPath: root.appendingPathComponent(sub).path, isDirectory: &isDir), isDir.boolValue else {
                throw MissingSources(description: "--html: the page embeds derivations/ and Sources/ of the repository, and \(root.path)/\(sub) is not there (set BPTT_SOURCE_ROOT to a clone of the repository)")
            }
        }
        return root
    }

    /// The page draws a tiny example: T ≤ 6 steps of H ≤ 4 units (the what-if panels recompute it
    /// some thirty times). The one-line reason when `spec` is larger, else nil.
    public static func sizeProblem(_ spec: Walkthrough.Spec) -> String? {
        guard spec.model != "mlp" else { return nil }
        if spec.length > 6 { return "--html: the page unrolls at most 6 steps (--length \(spec.length)); drop --html or use --length 1…6" }
        if spec.hidden > 4 { return "--html: the page draws at most 4 hidden units (--hidden \(spec.hidden)); drop --html or use --hidden 1…4" }
        return nil
    }

    /// The whole page. `w` must be `Walkthrough.make(spec)`; `panels`: compute the "what if"
    /// panels (a few seconds for the larger grids). Errors: `MissingSources` (see `sourceRoot`).
    public static func html(_ w: Walkthrough, spec: Walkthrough.Spec, root: URL, panels: Bool = true) throws -> String {
        let data = try self.data(w, spec: spec, root: root, panels: panels).serialized()
            .replacingOccurrences(of: "</", with: "<\\/")   // inside <script>: never close it
        func esc(_ s: String) -> String {
            s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
        }
        return """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>bptt explain — \(esc(w.title))</title>
        <style>
        \(ExplainPageAssets.css)
        </style>
        </head>
        <body>
        \(ExplainPageAssets.body)
        <script type="application/json" id="bptt-data">\(data)</script>
        <script>
        \(ExplainPageAssets.script)
        </script>
        </body>
        </html>

        """
    }

    /// The JSON object embedded in the page (see the type's documentation).
    public static func data(_ w: Walkthrough, spec: Walkthrough.Spec, root: URL, panels: Bool = true) throws -> JSON {
        let recurrent = spec.model != "mlp"
        let T = recurrent ? spec.length : (spec.hiddenLayers?.count ?? 1) + 1
        // setup values: parameters, inputs, initial states
        var setup: [Walkthrough.Value] = []
        var targets = ""
        for item in w.sections.first?.items ?? [] {
            setup += item.values
            if item.values.isEmpty { targets = item.text }
        }
        var known: [String: Int] = [:]   // symbol → ref (≥ 0: equation, < 0: setup value −(k+1))
        for (k, v) in setup.enumerated() { known[v.symbol] = -(k + 1) }
        let equations = w.equations

        // nodes of the unrolled graph: x_t, h0/c0, every quantity recorded forward, the readout and L
        var nodes: [PageNode] = []
        var nodeIndex: [String: Int] = [:]
        var rows: [String] = []
        let readoutNames: Set<String> = ["p", "ŷ", "L"]
        var steps: [JSON] = []
        var edges: [(Int, Int)] = []
        var strip: [JSON] = []
        let stripName = recurrent ? "h" : "a"
        var lastProbs: String? = nil
        for (i, e) in equations.enumerated() {
            let item = e.item
            guard let v = item.values.first else { continue }
            let t = Self.step(of: v.symbol)
            // a gradient sum ("dW_hh", "sum so far") takes its step from the section ("backward, t = 2"); the readout's is T
            let sectionStep = e.section.split(separator: "=").last.flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            let kind: String
            if e.section.hasPrefix("forward") { kind = "forward" }
            else if e.section.hasPrefix("readout") { kind = "loss" }
            else if e.section.hasPrefix("after") { kind = "after" }
            else { kind = "backward" }
            var operands: [(String, Int)] = []
            // the right-hand side with the numbers in: text pieces and operand indices
            var substituted: [JSON] = []
            if item.tag == "losses.ce", let p = lastProbs, let r = known[p] { operands = [(p, r)] }
            else {
                let rhs = Array(Self.rightHandSide(item.text).unicodeScalars)
                var at = 0
                func text(_ a: Int, _ b: Int) -> String { var s = ""; s.unicodeScalars.append(contentsOf: rhs[a..<b]); return s }
                for tok in Self.operandTokens(item.text, t: t ?? sectionStep ?? T, T: T, mlp: !recurrent) where tok.symbol != v.symbol {
                    guard let r = known[tok.symbol] else { continue }
                    if !operands.contains(where: { $0.0 == tok.symbol }) { operands.append((tok.symbol, r)) }
                    let k = operands.firstIndex(where: { $0.0 == tok.symbol })!
                    // a transposed weight keeps its ᵀ after the numbers
                    if tok.start > at { substituted.append(.string(text(at, tok.start))) }
                    substituted.append(.int(k))
                    at = tok.end
                }
                if at < rhs.count { substituted.append(.string(text(at, rhs.count))) }
                if operands.isEmpty { substituted = [] }
            }
            var node: String? = nil
            if kind == "forward" || kind == "loss" {
                let q = t == nil ? v.symbol : String(v.symbol.dropLast(String(t!).count + 1))
                if nodeIndex[v.symbol] == nil {
                    if !readoutNames.contains(q) && !rows.contains(q) { rows.append(q) }
                    nodes.append(PageNode(id: v.symbol, q: q, t: t ?? 0, col: -1, row: -1, fwd: i, bwd: nil))
                    nodeIndex[v.symbol] = nodes.count - 1
                }
                node = v.symbol
                if q == "ŷ" { lastProbs = v.symbol }
                for (sym, _) in operands {
                    if let a = nodeIndex[sym] ?? Self.inputNode(sym, setup: setup, known: known, nodes: &nodes, index: &nodeIndex) {
                        edges.append((a, nodeIndex[v.symbol]!))
                    }
                }
                known[v.symbol] = i
            } else if v.symbol.hasPrefix("d"), let n = nodeIndex[String(v.symbol.dropFirst())] ?? Self.inputNode(String(v.symbol.dropFirst()), setup: setup, known: known, nodes: &nodes, index: &nodeIndex) {
                node = nodes[n].id
                if nodes[n].bwd == nil { nodes[n].bwd = i }
                if t != nil { known[v.symbol] = i }
                if nodes[n].q == stripName, let t { strip.append(.object([("t", .int(t)), ("eq", .int(i))])) }
            }
            steps.append(.object([
                ("kind", .string(kind)), ("section", .string(e.section)), ("tag", .string(item.tag)), ("text", .string(item.text)),
                ("note", item.note.map { .string($0) } ?? .null), ("symbol", .string(v.symbol)),
                ("node", node.map { .string($0) } ?? .null),
                ("operands", .array(operands.map { .array([.string($0.0), .int($0.1)]) })),
                ("substituted", .array(substituted)),
            ]))
        }
        // layout: column 0 for h0/c0 (and the MLP's input), one per step, then the readout
        if nodes.contains(where: { $0.q == "x" }) { rows.insert("x", at: 0) }
        let stepCols = Array(Set(nodes.filter { !readoutNames.contains($0.q) }.map(\.t))).sorted()
        let readoutCol = (stepCols.last ?? 0) + 1
        let readoutRows = nodes.filter { readoutNames.contains($0.q) }.count
        var readoutNext = max(0, rows.count - readoutRows)
        for k in nodes.indices {
            if readoutNames.contains(nodes[k].q) {
                nodes[k].col = readoutCol; nodes[k].row = readoutNext; readoutNext += 1
            } else {
                nodes[k].col = nodes[k].t
                nodes[k].row = rows.firstIndex(of: nodes[k].q) ?? rows.count
            }
        }
        let columns: [JSON] = (0...readoutCol).map { c in
            .string(c == readoutCol ? "loss" : recurrent ? "t = \(c)" : (c == 0 ? "input" : "layer \(c)"))
        }
        let graph: JSON = .object([
            ("columns", .array(columns)), ("rows", .int(max(rows.count, readoutRows))),
            ("nodes", .array(nodes.map { n in
                .object([("id", .string(n.id)), ("q", .string(n.q)), ("t", .int(n.t)), ("col", .int(n.col)), ("row", .int(n.row)),
                         ("fwd", .int(n.fwd)), ("bwd", n.bwd.map { .int($0) } ?? .null)])
            })),
            ("edges", .array(edges.map { .array([.int($0.0), .int($0.1)]) })),
        ])

        let whatIf = panels && recurrent ? Self.panels(spec) : []
        // tags: every equation's, the catalogued mistakes', and the adjoints the panels name
        var tags: [String] = []
        func addTag(_ t: String) { if !t.isEmpty && !tags.contains(t) { tags.append(t) } }
        for e in equations { addTag(e.item.tag) }
        for p in whatIf { for t in p.tags { addTag(t) } }
        let sources = try SourceIndex(root: root)
        let tagJSON: JSON = .object(tags.map { tag in
            (tag, .object([("derivation", sources.derivation(tag) ?? .null), ("code", .array(sources.citations(tag)))]))
        })
        let flags = Self.flags(spec)
        return .object([
            ("title", .string(w.title)), ("notes", .array(w.notes.map { .string($0) })),
            ("model", .string(spec.model)), ("command", .string("bptt explain " + flags + " --json")),
            ("length", .int(T)), ("recurrent", .bool(recurrent)), ("strip_name", .string(stripName)),
            ("targets", .string(targets)),
            ("setup", .array(setup.map { v in
                .object([("symbol", .string(v.symbol)), ("shape", .array([.int(v.matrix.rows), .int(v.matrix.cols)])),
                         ("value", .array(v.matrix.data.map { .number($0) }))])
            })),
            ("steps", .array(steps)), ("graph", graph), ("strip", .array(strip)),
            ("panels", .array(whatIf.map(\.json))), ("tags", tagJSON),
            ("explain", w.json),
        ])
    }

    /// The `explain` flags that rebuild this case.
    static func flags(_ spec: Walkthrough.Spec) -> String {
        var f = "--model \(spec.model)"
        if spec.model == "mlp" {
            f += " --hidden " + (spec.hiddenLayers ?? [spec.hidden]).map(String.init).joined(separator: ",")
        } else {
            f += " --length \(spec.length) --hidden \(spec.hidden)"
        }
        f += " --batch \(spec.batch) --input \(spec.input) --classes \(spec.classes) --seed \(spec.seed)"
        if !spec.withH0 && spec.model != "mlp" { f += " --no-h0" }
        return f
    }

    /// "h_12" → 12; "h0" → 0; "L", "dW_hh" → nil.
    static func step(of symbol: String) -> Int? {
        if let u = symbol.lastIndex(of: "_"), let n = Int(symbol[symbol.index(after: u)...]) { return n }
        if symbol.count >= 2, let n = Int(String(symbol.last!)), symbol.dropLast().last?.isLetter == true,
           ["h0", "c0"].contains(symbol) { return n }
        return nil
    }

    /// x_t, h0, c0 (setup values) as nodes, created when first used: x_t in column t, h0 and c0
    /// (and the MLP's x) in column 0.
    static func inputNode(_ sym: String, setup: [Walkthrough.Value], known: [String: Int], nodes: inout [PageNode], index: inout [String: Int]) -> Int? {
        guard let ref = known[sym], ref < 0 else { return nil }
        let q: String, t: Int
        if sym == "h0" || sym == "c0" { (q, t) = (String(sym.prefix(1)), 0) }
        else if sym == "x" { (q, t) = ("x", 0) }
        else if sym.hasPrefix("x_"), let n = Int(sym.dropFirst(2)) { (q, t) = ("x", n) }
        else { return nil }
        nodes.append(PageNode(id: sym, q: q, t: t, col: -1, row: -1, fwd: ref, bwd: nil))
        index[sym] = nodes.count - 1
        return nodes.count - 1
    }

    /// The symbols the text of an equation mentions, with `t` (and t±1, T) filled in: "x_t W_ixᵀ +
    /// h_{t−1} W_ihᵀ" at t = 1 → ["x_1", "W_ix", "h0", "W_ih"]. Unknown symbols are dropped later.
    static func operandSymbols(_ text: String, t: Int, T: Int, mlp: Bool) -> [String] {
        operandTokens(text, t: t, T: T, mlp: mlp).map(\.symbol)
    }

    /// The text after the first " = " or " += " (the whole text when there is none).
    static func rightHandSide(_ text: String) -> String {
        if let r = text.range(of: " += ") ?? text.range(of: " = ") { return String(text[r.upperBound...]) }
        return text
    }

    /// The symbols of an equation's right-hand side (`rightHandSide`), each with its span there
    /// (offsets in Unicode scalars).
    static func operandTokens(_ text: String, t: Int, T: Int, mlp: Bool) -> [(symbol: String, start: Int, end: Int)] {
        let scalars = Array(rightHandSide(text).unicodeScalars)
        func isLetter(_ u: Unicode.Scalar) -> Bool { (u.value < 128 && CharacterSet.letters.contains(u)) || u == "ŷ" }
        func isAlnum(_ u: Unicode.Scalar) -> Bool { u.value < 128 && CharacterSet.alphanumerics.contains(u) }
        var out: [(symbol: String, start: Int, end: Int)] = []
        var i = 0
        while i < scalars.count {
            let u = scalars[i]
            let start = i
            guard isLetter(u), i == 0 || !(isAlnum(scalars[i - 1]) || scalars[i - 1] == "_" || scalars[i - 1] == "^") else { i += 1; continue }
            var base = ""
            while i < scalars.count, isLetter(scalars[i]) || isAlnum(scalars[i]) { base.unicodeScalars.append(scalars[i]); i += 1 }
            if i + 1 < scalars.count, scalars[i] == "^" {
                i += 1
                var sup = ""
                while i < scalars.count, isAlnum(scalars[i]) { sup.unicodeScalars.append(scalars[i]); i += 1 }
                base += "_" + sup
            }
            var sub: String? = nil
            if i + 1 < scalars.count, scalars[i] == "_" {
                i += 1
                var s = ""
                if scalars[i] == "{" {
                    i += 1
                    while i < scalars.count, scalars[i] != "}" { s.unicodeScalars.append(scalars[i]); i += 1 }
                    i += 1
                } else {
                    while i < scalars.count, isAlnum(scalars[i]) { s.unicodeScalars.append(scalars[i]); i += 1 }
                }
                sub = s.replacingOccurrences(of: "−", with: "-").replacingOccurrences(of: " ", with: "")
            }
            var s: Int? = nil
            switch sub {
            case nil: s = t
            case "t"?, "l"?: s = t
            case "t-1"?, "l-1"?: s = t - 1
            case "t+1"?, "l+1"?: s = t + 1
            case "T"?: s = T
            default: break
            }
            var name = base
            if mlp && name == "h" { name = "a" }
            if let s {
                if mlp && name == "a" && s == 0 { out.append(("x", start, i)); continue }
                out.append((s == 0 ? name + "0" : name + "_\(s)", start, i))
            } else if let sub {
                out.append((base + "_" + sub, start, i))   // a parameter: W_ix, b_i, W_ph
            }
        }
        return out
    }
}

/// One node of the unrolled graph: `fwd` the equation that computed it (< 0: setup value
/// −(k+1)), `bwd` the one that computed its adjoint.
struct PageNode { var id: String; var q: String; var t: Int; var col: Int; var row: Int; var fwd: Int; var bwd: Int? }

/// Derivation text and citing Swift lines per tag, read from the repository.
struct SourceIndex {
    var derivations: [(file: String, lines: [String])] = []
    var swift: [(file: String, lines: [String])] = []

    init(root: URL) throws {
        let fm = FileManager.default
        let d = root.appendingPathComponent("derivations")
        for name in try fm.contentsOfDirectory(atPath: d.path).sorted() where name.hasSuffix(".md") {
            let text = try String(contentsOf: d.appendingPathComponent(name), encoding: .utf8)
            derivations.append(("derivations/" + name, text.components(separatedBy: "\n")))
        }
        let s = root.appendingPathComponent("Sources")
        if let e = fm.enumerator(atPath: s.path) {
            for case let rel as String in e where rel.hasSuffix(".swift") {
                let text = try String(contentsOf: s.appendingPathComponent(rel), encoding: .utf8)
                swift.append(("Sources/" + rel, text.components(separatedBy: "\n")))
            }
        }
        swift.sort { $0.file < $1.file }
    }

    /// The paragraph before the `\tag{tag}` line, its own block and the paragraph after, with the
    /// section heading above them: `{file, line, heading, text}`.
    func derivation(_ tag: String) -> JSON? {
        let needle = "\\tag{\(tag)}"
        for (file, lines) in derivations {
            guard let i = lines.firstIndex(where: { $0.contains(needle) }) else { continue }
            func blank(_ k: Int) -> Bool { lines[k].trimmingCharacters(in: .whitespaces).isEmpty }
            var start = i, end = i
            while start > 0, !blank(start - 1), !lines[start - 1].hasPrefix("#") { start -= 1 }
            // one paragraph before
            var p = start - 1
            while p >= 0, blank(p) { p -= 1 }
            if p >= 0, !lines[p].hasPrefix("#") {
                while p > 0, !blank(p - 1), !lines[p - 1].hasPrefix("#") { p -= 1 }
                start = p
            }
            while end + 1 < lines.count, !blank(end + 1), !lines[end + 1].hasPrefix("#") { end += 1 }
            var n = end + 1
            while n < lines.count, blank(n) { n += 1 }
            if n < lines.count, !lines[n].hasPrefix("#") {
                while n + 1 < lines.count, !blank(n + 1), !lines[n + 1].hasPrefix("#") { n += 1 }
                end = n
            }
            var text = lines[start...end].joined(separator: "\n")
            if text.count > 1600 { text = String(text.prefix(1600)) + " …" }
            let heading = lines[..<i].last(where: { $0.hasPrefix("#") }).map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "# ")) } ?? ""
            return .object([("file", .string(file)), ("line", .int(i + 1)), ("heading", .string(heading)), ("text", .string(text))])
        }
        return nil
    }

    /// Up to six Swift lines citing `(tag)`: `{file, line, text}`.
    func citations(_ tag: String) -> [JSON] {
        let needle = "(\(tag))"
        var out: [JSON] = []
        for (file, lines) in swift {
            for (k, line) in lines.enumerated() where line.contains(needle) {
                var text = line.trimmingCharacters(in: .whitespaces)
                if text.count > 180 { text = String(text.prefix(180)) + " …" }
                out.append(.object([("file", .string(file)), ("line", .int(k + 1)), ("text", .string(text))]))
                if out.count == 6 { return out }
            }
        }
        return out
    }
}
