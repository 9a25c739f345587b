#!/usr/bin/env python3
"""Recompute a `bptt gradcheck --dump FILE` case in an independent framework (JAX autograd,
float64) and compare its loss and gradients with the ones bptt computed by hand.

    pip install jax jaxlib        # once; not needed by bptt itself
    bptt gradcheck --model rnn --dump case.json && python3 scripts/verify_dump.py case.json

Exit 0 when every gradient agrees to a relative error below 1e-6 (and the loss to 1e-10).
"""
import json
import sys

import jax
import jax.numpy as jnp

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


LOSSES = {"rnn": rnn_loss, "rnn-relu": rnn_loss}


def main(path):
    case = json.load(open(path))
    model = case["model"]
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
        print(f"  {name:6s} max relative difference {rel:.3e}")
    ok = ok and worst < 1e-6
    print(f"max relative difference {worst:.3e}: {'agree' if ok else 'DISAGREE'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
