/// The CSS, markup and JavaScript of `bptt explain --html` (written here, no libraries): the page
/// reads its data from `<script id="bptt-data">` (see `ExplainPage`).
///
/// URL hash (for links and headless screenshots): `#step=N` opens state N (0: the example, 1…E:
/// after equation N, E+1: the check table), `tab=deriv|table|whatif|keys`, `panel=ID` opens a
/// "what if" panel, `tag=TAG` shows a derivation, `selftest` steps through every equation and
/// writes what it showed into `<pre id="selftest-result">` as JSON (numbers as strings, so that they
/// are parsed exactly).
enum ExplainPageAssets {
    static let css = #"""
:root { --bg:#fbfaf7; --fg:#1d1d1f; --mute:#5d5d66; --line:#cfccc4; --fwd:#1f5fa8; --bwd:#b3261e; --ok:#2e7d32; --bad:#c62828;
        --card:#ffffff; --hi:#fff3bf; --act:#ffe08a; font-size: 13px; }
@media (min-width: 1700px) { :root { font-size: 16px; } }
* { box-sizing: border-box; }
html, body { margin:0; height:100%; background:var(--bg); color:var(--fg);
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
body { display:grid; grid-template-rows:auto minmax(0,1fr); height:100vh; overflow:hidden; }
header { padding:.45em 1em .35em; border-bottom:1px solid var(--line); display:flex; gap:1.2em; align-items:baseline; flex-wrap:wrap; }
header h1 { font-size:1.15em; margin:0; font-weight:650; }
header .sub { color:var(--mute); font-size:.9em; }
code, pre, .mono { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; }
main { display:grid; grid-template-columns:minmax(0,1fr) 34em; min-height:0; }
#left { display:grid; grid-template-rows:minmax(0,1fr) auto; min-height:0; min-width:0; border-right:1px solid var(--line); }
#graph-wrap { overflow:auto; min-height:0; position:relative; }
#graph { position:relative; margin:.4em .6em; }
#edges { position:absolute; left:0; top:0; pointer-events:none; overflow:visible; }
#edges path { fill:none; stroke:#b9b5aa; stroke-width:1; }
#edges path.hi-f { stroke:var(--fwd); stroke-width:2.2; }
#edges path.hi-b { stroke:var(--bwd); stroke-width:2.2; }
.colhead { position:absolute; top:0; font-weight:600; color:var(--mute); text-align:center; font-size:.92em; }
.node { position:absolute; background:var(--card); border:1px solid var(--line); border-radius:.35em; padding:.1em .4em;
  line-height:1.25; overflow:hidden; white-space:nowrap; }
.node > span { font-size:.86em; }
.node .nl { font-weight:650; margin-right:.35em; }
.node .nv { font-family:"DejaVu Sans Mono", Menlo, Consolas, monospace; font-size:.9em; }
.node .fwd { color:var(--fwd); }
.node .bwd { color:var(--bwd); display:block; }
.node.pending .fwd { color:#b0aea6; }
.node.operand { background:var(--hi); }
.node.active { background:var(--act); border-color:#8a6d00; box-shadow:0 0 0 2px #8a6d00; }
.node.bad { border:2px solid var(--bad); }
.node.okk { border:2px solid var(--ok); }
.node.first { box-shadow:0 0 0 2px #fff, 0 0 0 5px var(--bad); border-width:2px; }
.node .mark { position:absolute; right:.25em; top:.05em; font-weight:700; color:var(--bad); }
#eq { border-top:1px solid var(--line); padding:.5em .9em .6em; max-height:34vh; overflow:auto; background:var(--card); }
#eq .sec { color:var(--mute); font-size:.9em; }
#eq .kind { display:inline-block; padding:0 .45em; border-radius:.3em; color:#fff; font-size:.8em; margin-right:.4em; }
.k-forward, .k-loss, .k-setup { background:var(--fwd); } .k-backward, .k-after { background:var(--bwd); } .k-check { background:var(--ok); }
#eq .eqline { font-size:1.2em; margin:.25em 0; }
button.tag { font:inherit; font-family:"DejaVu Sans Mono", Menlo, Consolas, monospace; background:#eef2f8; border:1px solid #9db0cc;
  border-radius:.3em; padding:0 .35em; cursor:pointer; color:var(--fwd); }
#eq .subst { font-family:"DejaVu Sans Mono", Menlo, Consolas, monospace; font-size:.95em; margin:.15em 0 .25em; }
#eq .subst .num { color:var(--fwd); } #eq .subst .res { color:var(--fg); font-weight:700; }
#eq .note { color:var(--mute); font-style:italic; }
.vals { display:grid; grid-template-columns:max-content 1fr; gap:.1em .6em; margin-top:.3em; align-items:start; }
.setup { display:grid; grid-template-columns:repeat(auto-fill, minmax(17em, 1fr)); gap:.25em .8em; margin-top:.3em; }
.setup .sym { font-weight:600; }
.vals .sym { font-weight:600; text-align:right; }
.vals .res { color:var(--fg); font-weight:700; }
table.m { display:inline-table; vertical-align:middle; border-collapse:collapse; font-family:"DejaVu Sans Mono", Menlo, Consolas, monospace; font-size:.92em; }
table.m td { padding:0 .45em; border-left:1px solid #999; border-right:1px solid #999; text-align:right; }
table.m td + td { border-left:none; } table.m td:not(:last-child) { border-right:none; }
.shape { color:var(--mute); font-size:.85em; }
#right { display:grid; grid-template-rows:auto auto auto minmax(0,1fr); min-height:0; min-width:0; }
#controls { display:flex; gap:.35em; padding:.5em .6em; align-items:center; flex-wrap:wrap; border-bottom:1px solid var(--line); }
#controls button, #tabs button, .pbtn { font:inherit; padding:.25em .6em; border:1px solid #8f8b80; border-radius:.3em; background:#fff; cursor:pointer; }
#controls button:focus-visible, #tabs button:focus-visible, .pbtn:focus-visible, button.tag:focus-visible { outline:3px solid #1f5fa8; outline-offset:1px; }
#counter { color:var(--mute); margin-left:.3em; font-size:.92em; }
#strip-wrap { padding:.35em .6em .4em; border-bottom:1px solid var(--line); }
.strip-label { font-size:.88em; color:var(--mute); }
.strip { display:flex; align-items:flex-end; gap:.25em; height:5.2em; margin-top:.2em; }
.strip .bar { flex:1 1 0; display:flex; flex-direction:column; justify-content:flex-end; align-items:center; height:100%; min-width:0; }
.strip .bar i { display:block; width:70%; background:var(--bwd); border-radius:.15em .15em 0 0; min-height:1px; }
.strip .bar i.c { background:#e08a3c; }
.strip .bar i.ref { background:#b9b5aa; }
.strip .bar.empty i { background:#e6e3dc; }
.strip .bar b { font-weight:400; font-size:.72em; color:var(--mute); white-space:nowrap; line-height:1.1; text-align:center; }
.strip.two { height:6.2em; }
.strip .bar u { text-decoration:none; font-size:.72em; }
.pair { display:flex; gap:2px; align-items:flex-end; width:70%; height:100%; }
.pair i { width:50% !important; }
#tabs { display:flex; gap:.3em; padding:.4em .6em 0; border-bottom:1px solid var(--line); flex-wrap:wrap; }
#tabs button { border-bottom:none; border-radius:.3em .3em 0 0; }
#tabs button[aria-selected="true"] { background:var(--act); font-weight:650; }
.tab { overflow:auto; padding:.5em .8em 1em; min-height:0; }
.tab[hidden] { display:none; }
.tab h3 { margin:.2em 0 .3em; font-size:1em; }
pre.deriv { white-space:pre-wrap; background:#f4f2ec; padding:.5em .6em; border-radius:.3em; font-size:.9em; margin:.3em 0; }
.code { margin:.3em 0; }
.code .loc { color:var(--mute); font-size:.85em; }
.code pre { margin:.1em 0 .4em; white-space:pre-wrap; background:#1f2430; color:#e6e6e6; padding:.3em .5em; border-radius:.3em; font-size:.88em; }
table.check { border-collapse:collapse; width:100%; font-size:.86em; }
table.check th, table.check td { padding:.1em .35em; border-bottom:1px solid #e3e0d8; text-align:right; white-space:nowrap; }
table.check th:first-child, table.check td:first-child { text-align:left; }
table.check tr.fail td { color:var(--bad); font-weight:650; }
.pgroups { display:grid; grid-template-columns:max-content 1fr; gap:.3em .5em; align-items:center; }
.pgroups .g { font-weight:600; color:var(--mute); font-size:.9em; }
.pgroups .bs { display:flex; flex-wrap:wrap; gap:.25em; }
.pbtn { font-size:.88em; padding:.12em .45em; }
.pbtn[aria-pressed="true"] { background:var(--act); font-weight:650; border-color:#8a6d00; }
#panel { margin-top:.6em; border-top:1px solid var(--line); padding-top:.4em; }
.chips { display:flex; flex-wrap:wrap; gap:.2em .6em; font-size:.82em; }
.chips span.bad { color:var(--bad); font-weight:650; }
.locate { background:#fdecea; border:1px solid var(--bad); border-radius:.3em; padding:.35em .55em; margin:.4em 0; }
.locate b { color:var(--bad); }
#legend { margin:.2em .8em .6em; padding:.3em .6em; border:1px solid var(--bad); border-radius:.3em; background:#fff; max-width:60em; }
.lg-ok { color:var(--ok); font-weight:650; } .lg-bad { color:var(--bad); font-weight:650; }
.scrollx { overflow-x:auto; }
table.steps { border-collapse:collapse; font-size:.82em; margin:.3em 0; white-space:nowrap; }
table.steps th, table.steps td { border:1px solid #e0ddd5; padding:.05em .3em; text-align:right; }
table.steps td.bad { background:#fbd3d0; }
table.steps td.first { outline:3px solid var(--bad); outline-offset:-3px; font-weight:700; }
.cmd { font-size:.82em; background:#f4f2ec; padding:.2em .4em; border-radius:.3em; word-break:break-all; }
kbd { border:1px solid #999; border-bottom-width:2px; border-radius:.25em; padding:0 .3em; font-size:.9em; background:#fff; }
.keys td { padding:.1em .5em; }
.muted { color:var(--mute); }
"""#

    static let body = #"""
<header><h1 id="title"></h1><span class="sub" id="sub"></span></header>
<main>
  <section id="left">
    <div id="graph-wrap" aria-label="the unrolled graph: one column per step"><div id="graph"><svg id="edges"></svg></div><div id="legend" hidden></div></div>
    <section id="eq" aria-live="polite"></section>
  </section>
  <aside id="right">
    <div id="controls">
      <button id="b-reset" title="reset (Home)">↺ reset</button>
      <button id="b-prev" title="previous (← or k)">◀ prev</button>
      <button id="b-play" title="play / pause (space)">▶ play</button>
      <button id="b-next" title="next (→ or j)">next ▶</button>
      <span id="counter"></span>
    </div>
    <div id="strip-wrap"><div class="strip-label" id="strip-label"></div><div class="strip" id="strip"></div></div>
    <nav id="tabs" role="tablist">
      <button role="tab" data-tab="deriv" aria-selected="true">derivation &amp; code <kbd>d</kbd></button>
      <button role="tab" data-tab="table">check <kbd>c</kbd></button>
      <button role="tab" data-tab="whatif">what if <kbd>w</kbd></button>
      <button role="tab" data-tab="keys">keys <kbd>?</kbd></button>
    </nav>
    <div id="tab-deriv" class="tab" role="tabpanel"></div>
    <div id="tab-table" class="tab" role="tabpanel" hidden></div>
    <div id="tab-whatif" class="tab" role="tabpanel" hidden></div>
    <div id="tab-keys" class="tab" role="tabpanel" hidden></div>
  </aside>
</main>
<pre id="selftest-result" hidden></pre>
"""#

    static let script = #"""
"use strict";
const D = JSON.parse(document.getElementById("bptt-data").textContent);
const EQ = D.explain.equations;              // exactly explain --json's equations
const N = EQ.length;                          // states: 0 the example, 1..N after equation k, N+1 the check
const $ = (id) => document.getElementById(id);
const esc = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
let pos = 0, timer = null, shownTag = null, panelId = null;

function fmt(v) {
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1e-3 && a < 1e4) return (v > 0 ? "+" : "") + v.toFixed(5);
  return (v > 0 ? "+" : "") + v.toExponential(3);
}
function fmtShort(v) {
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1e-2 && a < 1e3) return v.toFixed(3);
  return v.toExponential(1);
}
function fmtSci(v) { return v === 0 ? "0" : v.toExponential(2); }
function valueOf(ref) {            // ref ≥ 0: equation; < 0: setup value −(k+1)
  if (ref >= 0) return { shape: EQ[ref].shape, value: EQ[ref].value };
  const s = D.setup[-ref - 1];
  return { shape: s.shape, value: s.value };
}
function matrix(v) {
  const [r, c] = v.shape;
  let h = '<table class="m" data-values="' + esc(JSON.stringify(v.value)) + '">';
  for (let i = 0; i < r; i++) {
    h += "<tr>";
    for (let j = 0; j < c; j++) { const x = v.value[i * c + j]; h += '<td title="' + x + '">' + fmt(x) + "</td>"; }
    h += "</tr>";
  }
  return h + '</table> <span class="shape">' + r + "×" + c + "</span>";
}
function symHTML(s) {
  // h_12 → h<sub>12</sub>, a_i_1 → a<sup>i</sup><sub>1</sub>, dW_hh → dW<sub>hh</sub>
  let m = s.match(/^(d?)([A-Za-zŷ]+)_([a-z]+)_(\d+)$/);
  if (m) return m[1] + m[2] + "<sup>" + m[3] + "</sup><sub>" + m[4] + "</sub>";
  m = s.match(/^([^_]+)_(.+)$/);
  if (m) return m[1] + "<sub>" + m[2] + "</sub>";
  m = s.match(/^([a-z])(\d)$/);
  if (m) return m[1] + "<sub>" + m[2] + "</sub>";
  return s;
}

// ---------- the graph ----------
const G = D.graph, NODE = {};
const maxVals = 6;                                  // values shown per node (B·H; more: "…")
const GAP = 2.0, PITCH = 3.25, TOP = 1.7, NH = 2.85;   // em of the graph
const colVals = [];
G.nodes.forEach((n) => { colVals[n.col] = Math.max(colVals[n.col] || 1, Math.min(maxVals, valueOf(n.fwd).value.length)); });
const colW = G.columns.map((_, c) => 3.6 + 3.3 * (colVals[c] || 1));
const colX = []; { let x = 0; colW.forEach((w, c) => { colX[c] = x; x += w + GAP; }); }
function buildGraph() {
  const g = $("graph");
  const em = parseFloat(getComputedStyle(g).fontSize);
  const px = (v) => (v * em) + "px";
  const cols = G.columns.length;
  g.style.width = px(colX[cols - 1] + colW[cols - 1] + 0.5);
  g.style.height = px(TOP + G.rows * PITCH + 0.3);
  G.columns.forEach((label, c) => {
    const h = document.createElement("div");
    h.className = "colhead"; h.style.left = px(colX[c]); h.style.width = px(colW[c]); h.textContent = label;
    g.appendChild(h);
  });
  G.nodes.forEach((n, k) => {
    const e = document.createElement("div");
    e.className = "node"; e.id = "n-" + n.id;
    e.style.left = px(colX[n.col]); e.style.top = px(TOP + n.row * PITCH);
    e.style.width = px(colW[n.col]); e.style.height = px(NH);
    e.innerHTML = '<span class="nl">' + symHTML(n.id) + '</span><span class="nv fwd"></span><span class="nv bwd"></span><span class="mark"></span>';
    e.title = n.id;
    g.appendChild(e);
    NODE[n.id] = { n, e, k };
  });
  const svg = $("edges");
  svg.setAttribute("width", g.offsetWidth); svg.setAttribute("height", g.offsetHeight);
  G.edges.forEach(([a, b], k) => {
    const A = G.nodes[a], B = G.nodes[b];
    const ax = colX[A.col] * em, ay = (TOP + A.row * PITCH + NH / 2) * em;
    const bx = colX[B.col] * em, by = (TOP + B.row * PITCH + NH / 2) * em;
    const p = document.createElementNS("http://www.w3.org/2000/svg", "path");
    let d;
    if (A.col === B.col) {
      const x = ax + colW[A.col] * em, bulge = x + Math.min(GAP * 0.85, 0.3 + Math.abs(B.row - A.row) * 0.3) * em;
      d = "M" + x + "," + ay + " C" + bulge + "," + ay + " " + bulge + "," + by + " " + x + "," + by;
    } else {
      const x1 = ax + colW[A.col] * em, mid = (x1 + bx) / 2;
      d = "M" + x1 + "," + ay + " C" + mid + "," + ay + " " + mid + "," + by + " " + bx + "," + by;
    }
    p.setAttribute("d", d); p.dataset.from = A.id; p.dataset.to = B.id;
    svg.appendChild(p);
  });
}
function vecText(v) {
  const vals = v.value.slice(0, maxVals).map(fmtShort).join(" ");
  return v.value.length > maxVals ? vals + " …" : vals;
}

// ---------- the strip of ‖∂L/∂h_t‖ ----------
function norm(a) { return Math.sqrt(a.reduce((s, x) => s + x * x, 0)); }
function bars(el, series, filled, opts) {
  // series: [{values, cls}], log scale over all values
  const all = series.flatMap((s) => s.values).filter((x) => x > 0);
  const lo = Math.log10(Math.min(...all, 1) ), hi = Math.log10(Math.max(...all, 1e-12));
  const floor = Math.min(lo, hi - 1) - 0.3;
  const h = (x) => x > 0 ? Math.max(2, 100 * (Math.log10(x) - floor) / (hi - floor)) : 0;
  let out = "";
  const T = series[0].values.length;
  for (let t = 0; t < T; t++) {
    const on = filled(t);
    out += '<div class="bar' + (on ? "" : " empty") + '" title="t = ' + (t + 1) + '">';
    out += '<div class="pair" style="height:75%">';
    for (const s of series) out += '<i class="' + s.cls + '" style="height:' + (on ? h(s.values[t]) : 4) + '%"></i>';
    out += "</div>";
    out += "<b>" + (on ? series.map((s) => fmtSci(s.values[t])).join("<br>") : "·") + "</b><u>" + (t + 1) + "</u></div>";
  }
  el.innerHTML = out;
}
function renderStrip() {
  const name = D.strip_name;
  $("strip-label").innerHTML = "‖∂L/∂" + name + "<sub>t</sub>‖ per step t (log scale), filled as the backward pass reaches it";
  const byT = {};
  D.strip.forEach((s) => { byT[s.t] = s.eq; });
  const T = Math.max(0, ...D.strip.map((s) => s.t));
  const vals = [];
  for (let t = 1; t <= T; t++) vals.push(byT[t] === undefined ? 0 : norm(EQ[byT[t]].value));
  bars($("strip"), [{ values: vals, cls: "" }], (t) => byT[t + 1] !== undefined && byT[t + 1] <= pos - 1);
  $("strip").dataset.filled = String(vals.filter((_, t) => byT[t + 1] !== undefined && byT[t + 1] <= pos - 1).length);
}

// ---------- one state ----------
function render() {
  const active = pos >= 1 && pos <= N ? pos - 1 : -1;
  const st = active >= 0 ? D.steps[active] : null;
  const ops = new Set(st ? st.operands.map((o) => o[0]) : []);
  for (const id in NODE) {
    const { n, e } = NODE[id];
    const fv = n.fwd < 0 || n.fwd <= pos - 1, bv = n.bwd !== null && n.bwd <= pos - 1;
    e.querySelector(".fwd").textContent = fv ? vecText(valueOf(n.fwd)) : "·";
    e.querySelector(".bwd").textContent = bv ? "∂ " + vecText(valueOf(n.bwd)) : "";
    e.classList.toggle("pending", !fv);
    e.classList.toggle("active", !!st && st.node === id);
    e.classList.toggle("operand", !!st && (ops.has(id) || (st.kind !== "forward" && st.kind !== "loss" && ops.has("d" + id))));
  }
  document.querySelectorAll("#edges path").forEach((p) => {
    const on = st && st.node === p.dataset.to && (st.kind === "forward" || st.kind === "loss");
    const back = st && (st.kind === "backward") && st.node === p.dataset.from && ops.has("d" + p.dataset.to);
    p.classList.toggle("hi-f", !!on); p.classList.toggle("hi-b", !!back);
  });
  if (st && st.node && NODE[st.node]) NODE[st.node].e.scrollIntoView({ block: "nearest", inline: "nearest" });
  renderStrip();
  const eq = $("eq");
  if (pos === 0) {
    let h = '<div><span class="kind k-setup">the example</span><span class="sec">' + esc(D.explain.title) + "</span></div>";
    h += '<div class="muted">' + D.notes.map(esc).join("<br>") + "<br>" + esc(D.targets) + ". Press <kbd>→</kbd> to run the forward pass one equation at a time.</div>";
    h += '<div class="setup">' + D.setup.map((s) => '<div><span class="sym">' + symHTML(s.symbol) + " =</span> " + matrix(s) + "</div>").join("") + "</div>";
    eq.innerHTML = h;
  } else if (st) {
    const e = EQ[active];
    let h = '<div><span class="kind k-' + st.kind + '">' + st.kind + '</span><span class="sec">' + esc(st.section) + "</span></div>";
    h += '<div class="eqline"><button class="tag" data-tag="' + esc(st.tag) + '" title="derivation and code (d)">(' + esc(st.tag) + ")</button> " + esc(st.text) + "</div>";
    if (st.substituted.length) {
      // the right-hand side with the recorded numbers in place of its symbols (a matrix by its symbol)
      const parts = st.substituted.map((x) => {
        if (typeof x === "string") return esc(x);
        const v = valueOf(st.operands[x][1]);
        return v.value.length <= 4 && (v.shape[0] === 1 || v.shape[1] === 1) ? '<span class="num">[' + v.value.map(fmtShort).join(", ") + "]</span>" : '<span class="num">' + symHTML(st.operands[x][0]) + "</span>";
      });
      const acc = st.text.includes(" += ");   // a running sum: the result is the sum so far
      h += '<div class="subst">' + symHTML(st.symbol) + (acc ? " += " : " = ") + parts.join("") + (acc ? " → " : " = ") + '<span class="num res">[' + e.value.slice(0, 8).map(fmtShort).join(", ") + (e.value.length > 8 ? ", …" : "") + "]</span></div>";
    }
    if (st.note) h += '<div class="note">' + esc(st.note) + "</div>";
    h += '<div class="vals">';
    for (const [sym, ref] of st.operands) h += '<span class="sym">' + symHTML(sym) + " =</span><span>" + matrix(valueOf(ref)) + "</span>";
    h += '<span class="sym res">' + symHTML(st.symbol) + ' =</span><span class="res" id="result" data-symbol="' + esc(st.symbol) + '">' + matrix(e) + "</span>";
    h += "</div>";
    eq.innerHTML = h;
    if (!document.getElementById("tab-deriv").hidden || shownTag === null) showTag(st.tag, false);
  } else {
    const x = D.explain;
    eq.innerHTML = '<div><span class="kind k-check">check</span><span class="sec">analytic gradient (the backward pass) vs five-point central differences</span></div>' +
      '<div class="eqline">loss L = ' + fmt(x.loss) + "; max relative error " + fmtSci(x.max_rel_error) + " (threshold " + fmtSci(x.threshold) + "): <b>" + (x.passed ? "pass" : "FAIL") + "</b></div>" +
      '<div class="muted">the table is in the <b>check</b> tab; <b>what if</b> shows other lengths, spectral radii, φ, truncation and the catalogued mistakes.</div>';
    selectTab("table");
  }
  $("counter").textContent = pos === 0 ? "the example · " + N + " equations" : pos <= N ? "equation " + pos + " / " + N : "the check";
  document.querySelectorAll("button.tag").forEach((b) => b.onclick = () => showTag(b.dataset.tag, true));
}

// ---------- derivation and code ----------
function plain(t) {
  // the derivation's Markdown with its LaTeX made readable as plain text
  const R = [[/\$\$[ \t]*/g, ""], [/[ \t]*\\tag\{([^}]*)\}[ \t]*/g, "    ($1)"], [/\$/g, ""], [/\\mathrel\{\+\}=/g, "+="],
    [/\\text\{([^}]*)\}/g, "$1"], [/\\mathrm\{([^}]*)\}/g, "$1"], [/\\operatorname\{([^}]*)\}/g, "$1"], [/\\odot/g, "⊙"], [/\\partial/g, "∂"],
    [/\^\\top/g, "ᵀ"], [/\\top/g, "ᵀ"], [/\\sigma/g, "σ"], [/\\varphi/g, "φ"], [/\\phi/g, "φ"], [/\\tanh/g, "tanh"], [/\\sum/g, "Σ"], [/\\star/g, "⋆"],
    [/\\cdot/g, "·"], [/\\hat y/g, "ŷ"], [/\\hat\{y\}/g, "ŷ"], [/\\odot/g, "⊙"], [/\\textstyle/g, ""], [/\\left|\\right/g, ""], [/\\quad|\\qquad/g, "  "],
    [/\\,|\\;|\\ /g, " "], [/\\frac\{([^{}]*)\}\{([^{}]*)\}/g, "($1)/($2)"], [/\\tfrac\{([^{}]*)\}\{([^{}]*)\}/g, "($1)/($2)"],
    [/\\in/g, "∈"], [/\\times/g, "×"], [/\\approx/g, "≈"], [/\\le(q)?/g, "≤"], [/\\ge(q)?/g, "≥"], [/\\to/g, "→"], [/\\lambda/g, "λ"], [/\\epsilon|\\varepsilon/g, "ε"],
    [/\\mathbf\{([^}]*)\}/g, "$1"], [/\\big|\\Big/g, ""], [/\\\{/g, "{"], [/\\\}/g, "}"], [/\\exp/g, "exp"], [/\\log/g, "log"], [/\\max/g, "max"], [/\\mathbb\{1\}/g, "1"]];
  for (const [a, b] of R) t = t.replace(a, b);
  return t;
}
function showTag(tag, focus) {
  shownTag = tag;
  const info = D.tags[tag];
  let h = "<h3>(" + esc(tag) + ")</h3>";
  if (!info) h += '<p class="muted">no tag</p>';
  else {
    if (info.derivation) {
      const d = info.derivation;
      h += '<div class="muted">' + esc(d.file) + ":" + d.line + (d.heading ? " — " + esc(d.heading) : "") + '</div><pre class="deriv">' + esc(plain(d.text)) + "</pre>";
    } else h += '<p class="muted">no \\tag{' + esc(tag) + "} in derivations/ (a composite of tagged equations)</p>";
    h += "<h3>the Swift line" + (info.code.length === 1 ? "" : "s") + " citing it</h3>";
    if (info.code.length === 0) h += '<p class="muted">none cite this tag directly</p>';
    for (const c of info.code) h += '<div class="code"><div class="loc">' + esc(c.file) + ":" + c.line + "</div><pre>" + esc(c.text) + "</pre></div>";
  }
  $("tab-deriv").innerHTML = h;
  if (focus) selectTab("deriv");
}

// ---------- the check table ----------
function renderTable() {
  const x = D.explain;
  let h = "<h3>analytic (backward pass) vs finite differences (five-point stencil)</h3>";
  h += '<table class="check" id="check-table"><thead><tr><th>element</th><th>analytic</th><th>numeric</th><th>rel. error</th></tr></thead><tbody>';
  for (const c of x.checks) {
    h += '<tr class="' + (c.rel_error >= x.threshold && !c.at_kink ? "fail" : "") + '" data-element="' + esc(c.element) + '" data-analytic="' + c.analytic +
      '" data-numeric="' + c.numeric + '" data-rel="' + c.rel_error + '"><td>' + esc(c.element) + "</td><td>" + fmt(c.analytic) + "</td><td>" + fmt(c.numeric) + "</td><td>" + fmtSci(c.rel_error) + (c.at_kink ? " (kink)" : "") + "</td></tr>";
  }
  h += "</tbody></table><p>max relative error " + fmtSci(x.max_rel_error) + " (threshold " + fmtSci(x.threshold) + "): <b>" + (x.passed ? "pass" : "FAIL") + '</b></p><p class="muted">the same case and numbers as <code>' + esc(D.command) + "</code></p>";
  $("tab-table").innerHTML = h;
}

// ---------- what if ----------
const GROUPS = [["length", "length T"], ["rho", "spectral radius"], ["phi", "φ"], ["trunc", "truncation"], ["mistake", "mistakes"]];
function renderWhatIf() {
  if (!D.panels.length) { $("tab-whatif").innerHTML = '<p class="muted">the what-if panels are for the recurrent models</p>'; return; }
  let h = '<div class="pgroups">';
  for (const [g, label] of GROUPS) {
    const ps = D.panels.filter((p) => p.group === g);
    if (!ps.length) continue;
    h += '<span class="g">' + label + '</span><span class="bs">' + ps.map((p) => '<button class="pbtn" data-panel="' + esc(p.id) + '" aria-pressed="' + (p.id === panelId) + '">' + esc(p.label) + "</button>").join("") + "</span>";
  }
  h += '</div><div id="panel"></div>';
  $("tab-whatif").innerHTML = h;
  document.querySelectorAll(".pbtn").forEach((b) => b.onclick = () => openPanel(b.dataset.panel));
  if (panelId) openPanel(panelId);
  else $("panel").innerHTML = '<p class="muted">choose a panel: the same tiny example computed again by the real code, with one thing changed.</p>';
}
function chips(tensors, thr) {
  return '<div class="chips">' + tensors.map(([n, e, ok]) => '<span class="' + (ok ? "" : "bad") + '">' + esc(n) + " " + fmtSci(e) + (ok ? " ✓" : " ✗") + "</span>").join("") + "</div>";
}
function openPanel(id) {
  const p = D.panels.find((q) => q.id === id);
  if (!p) return;
  panelId = id;
  document.querySelectorAll(".pbtn").forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.panel === id)));
  let h = "<h3>" + esc(p.title) + '</h3><div class="muted">' + esc(p.note) + "</div>";
  if (p.group === "mistake") {
    const d = p.divergence, f = p.first_failing;
    h += '<div class="locate">';
    if (d) h += "<code>--locate</code> names <b>" + (d.t !== null ? "t = " + d.t + ", " : "a parameter gradient, ") + '</b><button class="tag" data-tag="' + esc(d.tag) + '">(' + esc(d.tag) + ")</button>";
    else h += "<code>--locate</code> finds no divergence: at these sizes the mistake changes no number";
    if (f) h += '<br>first to part from finite differences, walking back from t = ' + p.T + ": <b>d" + esc(f[1]) + "<sub>" + f[0] + "</sub></b>: analytic " + fmt(f[3]) + " vs numeric " + fmt(f[4]);
    h += '<br><span class="muted">the mistake is in</span> <button class="tag" data-tag="' + esc(p.break_tag) + '">(' + esc(p.break_tag) + ")</button></div>";
    h += '<div class="strip-label">‖∂L/∂h<sub>t</sub>‖ with the mistake (red) and without (grey)</div><div class="strip" id="pstrip"></div>';
    const names = [...new Set(p.steps.map((s) => s[1]))];
    const ts = [...new Set(p.steps.map((s) => s[0]))];
    h += '<div class="strip-label">per-step adjoints ∂L/∂q<sub>t</sub>: max relative error vs finite differences (✗ ≥ 1e-7), in the order the backward pass computes them</div>';
    h += '<div class="scrollx"><table class="steps"><tr><th></th>' + ts.map((t) => "<th>t = " + t + "</th>").join("") + "</tr>";
    for (const n of names) {
      h += "<tr><th>d" + esc(n) + "</th>";
      for (const t of ts) {
        const s = p.steps.find((q) => q[0] === t && q[1] === n);
        const first = f && f[0] === t && f[1] === n;
        h += s ? '<td class="' + (s[4] ? "" : "bad") + (first ? " first" : "") + '">' + s[3].toExponential(1) + (s[4] ? "" : " ✗") + "</td>" : "<td>—</td>";
      }
      h += "</tr>";
    }
    h += "</table></div>" + chips(p.tensors) + '<p class="cmd">' + esc(p.command) + "</p>";
    $("panel").innerHTML = h;
    $("pstrip").classList.add("two");
    bars($("pstrip"), [{ values: p.dh, cls: "" }, { values: p.dh_correct, cls: "ref" }], () => true);
  } else {
    h += '<div class="strip-label">‖∂L/∂h<sub>t</sub>‖' + (p.dc ? " (red) and ‖∂L/∂c<sub>t</sub>‖ (orange)" : "") + " per step t, log scale</div><div class=\"strip\" id=\"pstrip\"></div>";
    h += "<p>loss " + fmt(p.loss) + "; spectral radius of the recurrent weights " + p.rho.toFixed(3) + "; max relative error vs finite differences " + fmtSci(p.max_rel_error) + "</p>" + chips(p.tensors);
    $("panel").innerHTML = h;
    const series = [{ values: p.dh, cls: "" }];
    if (p.dc) series.push({ values: p.dc, cls: "c" });
    if (series.length > 1) $("pstrip").classList.add("two");
    bars($("pstrip"), series, () => true);
  }
  document.querySelectorAll("#panel button.tag").forEach((b) => b.onclick = () => showTag(b.dataset.tag, true));
  overlay(p);
}
function overlay(p) {
  for (const id in NODE) { const e = NODE[id].e; e.classList.remove("bad", "okk", "first"); e.querySelector(".mark").textContent = ""; }
  const lg = $("legend");
  lg.hidden = !p || p.group !== "mistake";
  if (!p || p.group !== "mistake") return;
  const f0 = p.first_failing;
  lg.innerHTML = "with <b>" + esc(p.id) + "</b> switched on: <span class=\"lg-ok\">green</span> adjoints agree with finite differences, <span class=\"lg-bad\">red ✗</span> do not; " +
    (f0 ? "<b>thick ring</b>: the first to part, d" + esc(f0[1]) + "<sub>" + f0[0] + "</sub>, where <code>--locate</code> names t = " + f0[0] + ", (" + esc(p.divergence ? p.divergence.tag : f0[2]) + ")"
        : p.divergence ? "every per-step adjoint agrees: the mistake shows only in a parameter gradient, (" + esc(p.divergence.tag) + ")"
        : "nothing disagrees: at these sizes the mistake changes no number (try --batch 2)") +
    '. <span class="muted">The numbers in the nodes stay those of the correct pass.</span>' +
    ' <button class="pbtn" id="clear-overlay">clear</button>';
  $("clear-overlay").onclick = () => { panelId = null; renderWhatIf(); overlay(null); };
  const f = p.first_failing;
  for (const s of p.steps) {
    const id = s[1] + "_" + s[0];
    if (!NODE[id]) continue;
    const e = NODE[id].e;
    e.classList.add(s[4] ? "okk" : "bad");
    if (!s[4]) e.querySelector(".mark").textContent = "✗";
    if (f && f[0] === s[0] && f[1] === s[1]) e.classList.add("first");
  }
}

// ---------- tabs, keys ----------
function selectTab(name) {
  document.querySelectorAll("#tabs button").forEach((b) => b.setAttribute("aria-selected", String(b.dataset.tab === name)));
  for (const t of ["deriv", "table", "whatif", "keys"]) $("tab-" + t).hidden = t !== name;
}
function renderKeys() {
  const k = [["→ or j", "next equation"], ["← or k", "previous equation"], ["space", "play / pause"], ["Home", "reset to the example"], ["End", "the check table"],
    ["d", "derivation and code of the active tag"], ["c", "the check table"], ["w", "what-if panels"], ["?", "this list"], ["Tab, Enter", "move to and press any button (tags, panels)"]];
  $("tab-keys").innerHTML = '<table class="keys">' + k.map(([a, b]) => "<tr><td><kbd>" + esc(a) + "</kbd></td><td>" + esc(b) + "</td></tr>").join("") + "</table>" +
    '<p class="muted">Every number was recorded by a tracer at the Swift line that cites the tag, while the real forward and backward pass ran (Float64). Generated by <code>' + esc(D.command.replace(" --json", " --html FILE")) + "</code>.</p>" +
    '<p class="muted">URL hash: <code>#step=N</code>, <code>tab=whatif</code>, <code>panel=ID</code>, <code>tag=TAG</code>, <code>selftest</code>.</p>';
}
function go(p) { pos = Math.max(0, Math.min(N + 1, p)); render(); }
function play() {
  if (timer) { clearInterval(timer); timer = null; $("b-play").textContent = "▶ play"; return; }
  if (pos > N) go(0);
  $("b-play").textContent = "⏸ pause";
  timer = setInterval(() => { if (pos > N) { play(); return; } go(pos + 1); }, 650);
}
document.addEventListener("keydown", (ev) => {
  if (ev.altKey || ev.ctrlKey || ev.metaKey) return;
  const onButton = ev.target && ev.target.tagName === "BUTTON";
  const k = ev.key;
  if ((k === " " || k === "Enter") && onButton) return;           // the focused button handles it
  const map = { ArrowRight: () => go(pos + 1), j: () => go(pos + 1), ArrowLeft: () => go(pos - 1), k: () => go(pos - 1),
    " ": play, Home: () => go(0), End: () => go(N + 1), d: () => selectTab("deriv"), c: () => selectTab("table"),
    w: () => selectTab("whatif"), "?": () => selectTab("keys") };
  if (map[k]) { ev.preventDefault(); map[k](); }
});
$("b-next").onclick = () => go(pos + 1);
$("b-prev").onclick = () => go(pos - 1);
$("b-reset").onclick = () => { if (timer) play(); go(0); };
$("b-play").onclick = play;
document.querySelectorAll("#tabs button").forEach((b) => b.onclick = () => selectTab(b.dataset.tab));

// ---------- start ----------
$("title").textContent = "bptt explain — " + D.explain.title;
$("sub").textContent = D.notes[D.notes.length - 1] + " · every number is the real code's";
buildGraph(); renderTable(); renderWhatIf(); renderKeys();
$("tab-deriv").innerHTML = '<p class="muted">Step to an equation (<kbd>→</kbd>) or press a tag such as <button class="tag" data-tag="' +
  esc(D.steps.length ? D.steps[0].tag : "") + '">(' + esc(D.steps.length ? D.steps[0].tag : "") + ")</button>: its derivation from <code>derivations/</code> and the Swift lines citing it appear here, as they were when the page was generated.</p>";
document.querySelectorAll("#tab-deriv button.tag").forEach((b) => b.onclick = () => showTag(b.dataset.tag, true));
const H = new URLSearchParams(location.hash.replace(/^#/, ""));
if (H.has("selftest")) {
  // step through the whole walk-through and write what was shown into the DOM
  go(0);
  const shown = [];
  let steps = 0;
  while (pos <= N) {
    go(pos + 1);
    if (pos > N) break;
    steps++;
    const r = $("result");
    shown.push([r.dataset.symbol, JSON.parse(r.querySelector("table").dataset.values).map(String)]);
  }
  // numbers as JavaScript prints them (shortest round trip), in strings: a reader parses them exactly
  const rows = [...document.querySelectorAll("#check-table tbody tr")].map((tr) =>
    [tr.dataset.element, String(Number(tr.dataset.analytic)), String(Number(tr.dataset.numeric)), String(Number(tr.dataset.rel))]);
  const out = { steps, equations: shown, table: rows, strip_filled: Number($("strip").dataset.filled), panels: D.panels.length,
                passed: D.explain.passed };
  const pre = $("selftest-result");
  pre.textContent = JSON.stringify(out);
  document.body.dataset.selftest = "done";
} else {
  if (H.has("tag")) showTag(H.get("tag"), false);
  go(H.has("step") ? Number(H.get("step")) : 0);
  if (H.has("panel")) { selectTab("whatif"); openPanel(H.get("panel")); }
  if (H.has("tab")) selectTab(H.get("tab"));
  if (H.has("tag")) showTag(H.get("tag"), true);
}
"""#
}
