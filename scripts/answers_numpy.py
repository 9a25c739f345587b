#!/usr/bin/env python3
"""RNN and LSTM backward passes in numpy, from a case `bptt gradcheck --dump` wrote.

    python3 scripts/answers_numpy.py CASE.json MINE.json
    bptt gradcheck --case CASE.json --answers MINE.json

Writes the gradients of every parameter and the per-step adjoints (dh_t, da_t; for the LSTM
dh_t, dc_t, the gates and their pre-activations; dp_t at the read-out steps) in the shape
`--answers` reads. A reference to diff your own backward pass against: the same equations and
tags as derivations/rnn.md and derivations/lstm.md. Optional; needs numpy; nothing builds or
tests with it.
"""
import json
import sys

import numpy as np


def tensor(m):
    m = np.asarray(m, dtype=np.float64)
    return {"shape": list(m.shape), "data": m.ravel().tolist()}


def main(case_path, out_path):
    case = json.load(open(case_path))
    model, out = case["model"], case.get("output", "last")
    if model not in ("rnn", "rnn-relu", "lstm") or case.get("layers", 1) != 1:
        sys.exit(f"{case_path}: model: this script computes rnn, rnn-relu and lstm (one unit), not {model}")
    P = {k: np.array(v["data"], dtype=np.float64).reshape(v["shape"]) for k, v in case["parameters"].items()}
    x = np.array(case["inputs"], dtype=np.float64)          # B × T × D
    B, T = x.shape[0], x.shape[1]
    H = case["hidden"]
    y = np.array(case["targets"])                           # B (last) or B × T (every-step)
    h0 = np.zeros((B, H)) if case.get("h0") is None else np.array(case["h0"], dtype=np.float64)
    c0 = np.zeros((B, H)) if case.get("c0") is None else np.array(case["c0"], dtype=np.float64)
    readouts = [T] if out == "last" else list(range(1, T + 1))
    N = B * len(readouts)                                   # the loss is the mean over N terms
    sig = lambda a: 1 / (1 + np.exp(-a))

    # forward
    hs, cs, cache = [h0], [c0], {}
    for t in range(1, T + 1):
        xt, hp = x[:, t - 1], hs[-1]
        if model == "lstm":
            a = {g: xt @ P[f"W_{g}x"].T + hp @ P[f"W_{g}h"].T + P[f"b_{g}"] for g in "ifgo"}     # (lstm.a)
            i, f, g, o = sig(a["i"]), sig(a["f"]), np.tanh(a["g"]), sig(a["o"])               # (lstm.i) … (lstm.o)
            c = g * i + cs[-1] * f                                                             # (lstm.c)
            cache[t] = (i, f, g, o, np.tanh(c))
            cs.append(c)
            hs.append(o * np.tanh(c))                                                          # (lstm.h)
        else:
            a = xt @ P["W_hx"].T + hp @ P["W_hh"].T + P["b_h"]                                 # (rnn.a)
            hs.append(np.tanh(a) if model == "rnn" else np.maximum(a, 0))                      # (rnn.h)

    # backward
    G = {k: np.zeros_like(v) for k, v in P.items()}
    steps = {}
    def put(name, t, v):
        steps.setdefault(name, {})[t] = v
    dh_above = {}
    for t in readouts:
        p = hs[t] @ P["W_ph"].T + P["b_p"]
        e = np.exp(p - p.max(axis=1, keepdims=True))
        yhat = e / e.sum(axis=1, keepdims=True)
        target = y if out == "last" else y[:, t - 1]
        dp = (yhat - np.eye(p.shape[1])[target]) / N                                           # (losses.dp)
        put("p", t, dp)
        G["W_ph"] += dp.T @ hs[t]
        G["b_p"] += dp.sum(axis=0)
        dh_above[t] = dp @ P["W_ph"]
    dh_next, dc_next = np.zeros((B, H)), np.zeros((B, H))
    for t in range(T, 0, -1):
        xt, hp = x[:, t - 1], hs[t - 1]
        dh = dh_above.get(t, 0) + dh_next                                                      # (rnn.dh) (lstm.dh)
        put("h", t, dh)
        if model == "lstm":
            i, f, g, o, tc = cache[t]
            do = dh * tc                                                                       # (lstm.do)
            dc = dc_next + dh * o * (1 - tc * tc)                                              # (lstm.dc)
            di, df, dg = dc * g, dc * cs[t - 1], dc * i                                        # (lstm.di) (lstm.df) (lstm.dg)
            dc_next = dc * f                                                                   # (lstm.dcprev)
            da = {"i": di * i * (1 - i), "f": df * f * (1 - f), "g": dg * (1 - g * g), "o": do * o * (1 - o)}
            for name, v in [("o", do), ("c", dc), ("i", di), ("f", df), ("g", dg)]:
                put(name, t, v)
            dh_next = np.zeros((B, H))
            for gate in "ifgo":
                put(f"a_{gate}", t, da[gate])
                G[f"W_{gate}x"] += da[gate].T @ xt                                             # (lstm.dW_x)
                G[f"W_{gate}h"] += da[gate].T @ hp                                             # (lstm.dW_h)
                G[f"b_{gate}"] += da[gate].sum(axis=0)                                         # (lstm.db)
                dh_next += da[gate] @ P[f"W_{gate}h"]                                          # (lstm.dhprev)
        else:
            h = hs[t]
            da = dh * (1 - h * h) if model == "rnn" else dh * (h > 0)                          # (rnn.da)
            put("a", t, da)
            G["W_hx"] += da.T @ xt                                                             # (rnn.dW_hx)
            G["W_hh"] += da.T @ hp                                                             # (rnn.dW_hh)
            G["b_h"] += da.sum(axis=0)                                                         # (rnn.db_h)
            dh_next = da @ P["W_hh"]                                                           # (rnn.dhprev)

    answers = {
        "gradients": {k: tensor(v) for k, v in G.items()},
        "steps": {name: [by_t[t].tolist() for t in sorted(by_t)] for name, by_t in steps.items()},
        "dtype": "float64",
    }
    json.dump(answers, open(out_path, "w"))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: answers_numpy.py CASE.json MINE.json")
    main(sys.argv[1], sys.argv[2])
