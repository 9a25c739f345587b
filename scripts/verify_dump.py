#!/usr/bin/env python3
"""Recompute a `bptt gradcheck --dump FILE` case in an independent framework (JAX autograd,
float64) and compare its loss and gradients with the ones bptt computed by hand.

    pip install jax jaxlib        # once; not needed by bptt itself
    bptt gradcheck --model rnn --dump case.json && python3 scripts/verify_dump.py case.json

Exit 0 when every gradient agrees to a relative error below 1e-6 (and the loss to 1e-10).
"""
import json
import sys

try:
    import jax
    import jax.numpy as jnp
except ImportError:
    print("verify_dump.py: needs JAX (pip install jax jaxlib); bptt itself does not", file=sys.stderr)
    sys.exit(2)

jax.config.update("jax_enable_x64", True)


def tensor(t):
    return jnp.array(t["data"], dtype=jnp.float64).reshape(t["shape"])


def rnn_loss(p, case):
    x = jnp.array(case["inputs"], dtype=jnp.float64)          # B x T x D
    B, T = case["batch"], case["length"]
    h = jnp.zeros((B, case["hidden"])) if case["h0"] is None else jnp.array(case["h0"], dtype=jnp.float64)
    phi = jnp.tanh if case["model"] == "rnn" else (lambda a: jnp.maximum(a, 0))
    every = case.get("output") == "every-step"
    y = jnp.array(case["targets"])
    total = 0.0
    for t in range(T):
        h = phi(x[:, t, :] @ p["W_hx"].T + h @ p["W_hh"].T + p["b_h"])
        if every or t == T - 1:
            logits = h @ p["W_ph"].T + p["b_p"]
            target = y[:, t] if every else y
            logp = jax.nn.log_softmax(logits, axis=1)
            total = total - jnp.sum(logp[jnp.arange(B), target])
    return total / (B * (T if every else 1))


def cell_step(kind, p, sfx, x, h, c):
    """One step of a cell, written from derivations/{rnn,lstm,gru}.md (independent of the Swift code)."""
    g = lambda n: p[n + sfx]
    if kind in ("rnn", "rnn-relu"):
        a = x @ g("W_hx").T + h @ g("W_hh").T + g("b_h")
        return (jnp.tanh(a) if kind == "rnn" else jnp.maximum(a, 0)), c
    if kind == "lstm":
        gate = lambda k, f: f(x @ g(f"W_{k}x").T + h @ g(f"W_{k}h").T + g(f"b_{k}"))
        i, f_, o = gate("i", jax.nn.sigmoid), gate("f", jax.nn.sigmoid), gate("o", jax.nn.sigmoid)
        gg = gate("g", jnp.tanh)
        c = gg * i + c * f_
        return o * jnp.tanh(c), c
    r = jax.nn.sigmoid(x @ g("W_rx").T + h @ g("W_rh").T + g("b_r"))
    z = jax.nn.sigmoid(x @ g("W_zx").T + h @ g("W_zh").T + g("b_z"))
    if kind == "gru":
        n = jnp.tanh(x @ g("W_nx").T + g("b_nx") + r * (h @ g("W_nh").T + g("b_nh")))
    else:  # gru-cho
        n = jnp.tanh(x @ g("W_nx").T + g("b_nx") + (r * h) @ g("W_nh").T + g("b_nh"))
    return (1 - z) * n + z * h, c


def stack_loss(p, case):
    """Stacked / bidirectional model of derivations/stacked.md, any cell."""
    kind, L = case["model"], case.get("layers", 1)
    dirs = 2 if case.get("bidirectional") else 1
    B, T, H = case["batch"], case["length"], case["hidden"]
    units = L * dirs
    def suffix(u):
        return "" if units == 1 else f"_l{u // dirs}" + ("_reverse" if u % dirs == 1 else "")
    def state(name, u):
        v = case.get(name)
        if v is None:
            return jnp.zeros((B, H))
        return jnp.array(v if units == 1 else v[name + suffix(u)], dtype=jnp.float64)
    seq = [jnp.array(case["inputs"], dtype=jnp.float64)[:, t, :] for t in range(T)]
    for l in range(L):
        outs, finals = [], []
        for d in range(dirs):
            u = l * dirs + d
            h, c = state("h0", u), state("c0", u)
            hs = []
            order = range(T) if d == 0 else range(T - 1, -1, -1)
            for t in order:
                h, c = cell_step(kind, p, suffix(u), seq[t], h, c)
                hs.append(h)
            if d == 1:
                hs = hs[::-1]
            outs.append(hs)
            finals.append(h)
        seq = [jnp.concatenate([o[t] for o in outs], axis=1) for t in range(T)]
    every = case.get("output") == "every-step"
    y = jnp.array(case["targets"])
    reads = seq if every else [jnp.concatenate(finals, axis=1)]
    total = 0.0
    for j, s in enumerate(reads):
        logp = jax.nn.log_softmax(s @ p["W_ph"].T + p["b_p"], axis=1)
        target = y[:, j] if every else y
        total = total - jnp.sum(logp[jnp.arange(B), target])
    return total / (B * (T if every else 1))


LOSSES = {"rnn": rnn_loss, "rnn-relu": rnn_loss, "lstm": stack_loss, "gru": stack_loss, "gru-cho": stack_loss}


def main(path):
    case = json.load(open(path))
    model = case["model"]
    if "layers" in case and model in ("rnn", "rnn-relu"):
        LOSSES[model] = stack_loss
    if model not in LOSSES:
        print(f"verify_dump: no JAX reference for model '{model}'", file=sys.stderr)
        return 2
    params = {k: tensor(v) for k, v in case["parameters"].items()}
    loss, grads = jax.value_and_grad(lambda p: LOSSES[model](p, case))(params)
    ok = abs(float(loss) - case["loss_value"]) < 1e-10
    print(f"{model}: loss bptt {case['loss_value']:.15g}  jax {float(loss):.15g}")
    worst = 0.0
    for name, g in grads.items():
        ours = tensor(case["gradients"][name])
        rel = float(jnp.max(jnp.abs(ours - g) / jnp.maximum(jnp.maximum(jnp.abs(ours), jnp.abs(g)), 1e-30)))
        worst = max(worst, rel)
        print(f"  {name:16s} max relative difference {rel:.3e}")
    ok = ok and worst < 1e-6
    print(f"max relative difference {worst:.3e}: {'agree' if ok else 'DISAGREE'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
