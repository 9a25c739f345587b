#!/usr/bin/env python3
"""The table of one benchmark window (`bench/window.sh`): best of each side, and their ratio.

    python3 bench/window_table.py OUTDIR

Reads the raw outputs in OUTDIR and prints a Markdown table: for every workload, bptt's best
figure over the rounds, each peer's best (PyTorch under the best of its threading settings; JAX
on the palindromes when installed), and bptt's best divided by the best peer's. Units: examples/s
(palindromes, autoencoder, classifier), steps/s (GAN step), characters/s (text model).
"""
import os
import re
import sys


def read(folder, name):
    path = os.path.join(folder, name)
    if not os.path.exists(path):
        return ""
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()


def main():
    if len(sys.argv) == 2 and sys.argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        return
    if len(sys.argv) != 2 or sys.argv[1].startswith("-"):
        print("usage: python3 bench/window_table.py OUTDIR (--help for more)", file=sys.stderr)
        sys.exit(2)
    folder = sys.argv[1]
    if not os.path.isdir(folder):
        print(f"bench/window_table.py: {folder}: no such folder", file=sys.stderr)
        sys.exit(2)
    rows = []   # (workload, unit, bptt figures, {peer: figures})

    pal_bptt, pal_peers = read(folder, "pal_bptt.txt"), read(folder, "pal_peers.txt")
    for m in ["rnn", "lstm", "gru"]:
        ours = [float(x) for x in re.findall(r"^%s T=\d+ .*?: (\d+) examples/s" % m, pal_bptt, re.M)]
        peers = {}
        for peer, x in re.findall(r"^(\w+)\s+%s\s+(\d+) examples/s" % m, pal_peers, re.M):
            peers.setdefault(peer, []).append(float(x))
        rows.append((f"palindrome {m.upper()}", "examples/s", ours, peers))

    mlp_bptt, mlp_peers = read(folder, "mlp_bptt.txt"), read(folder, "mlp_peers.txt")
    for name, label, column in [("autoencoder", "autoencoder 784-256-64-256-784", "examples/s"),
                                ("classifier", "classifier 784-256-128-10", "examples/s"),
                                ("GAN step", "GAN step", "steps/s")]:
        pick = 1 if column == "examples/s" else 0
        pattern = r"^\s+%s.*?\s([\d.]+)\s+(\d+)\s+[\d.]+" % re.escape(name)
        ours = [float(t[pick]) for t in re.findall(pattern + r"\s+\d+%", mlp_bptt, re.M)]
        theirs = [float(t[pick]) for t in re.findall(pattern + r"\s*$", mlp_peers, re.M)]
        rows.append((label, column, ours, {"torch": theirs} if theirs else {}))

    ours = [float(x) for x in re.findall(r'"characters_per_s":(\d+)', read(folder, "text_bptt.txt"))]
    theirs = [float(x.replace(",", "")) for x in re.findall(r"([\d,]+) characters/s", read(folder, "text_peers.txt"))]
    rows.append(("text model (2×LSTM 256, T 100)", "characters/s", ours, {"torch": theirs} if theirs else {}))

    def fmt(x):
        return f"{x:,.1f}" if x < 1000 else f"{x:,.0f}"

    peer_names = sorted({p for _, _, _, peers in rows for p in peers})
    print(f"window {folder}: best of {max((len(r[2]) for r in rows), default=0)} rounds per side")
    print()
    print("| workload | unit | bptt | " + " | ".join(peer_names) + " | bptt / best peer |")
    print("|---|---|---|" + "---|" * len(peer_names) + "---|")
    for workload, unit, ours, peers in rows:
        best_ours = max(ours) if ours else None
        bests = {p: max(v) for p, v in peers.items() if v}
        cells = [fmt(bests[p]) if p in bests else "—" for p in peer_names]
        ratio = f"{best_ours / max(bests.values()):.2f}×" if best_ours and bests else "—"
        print(f"| {workload} | {unit} | {fmt(best_ours) if best_ours else '—'} | " + " | ".join(cells) + f" | {ratio} |")


if __name__ == "__main__":
    main()
