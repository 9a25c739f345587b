#!/usr/bin/env python3
"""Peer throughput on bptt's benchmark workload, for the table in bench/README.md.

Palindrome task: T = 10 digits seen (one float each), predict digit T+1; batch 128,
hidden 128, 10 classes, RMSprop (lr 1e-3, PyTorch's α = 0.99, ε = 1e-8), global-norm clip 10.
Runs whichever peers are installed (never needed by bptt or its tests):

    JAX   (pip install jax):   whole train step jit-compiled, time loop as lax.scan
    torch (pip install torch): nn.RNN / nn.LSTM / nn.GRU, autograd

    python3 bench/peers.py [--steps 300] [--warmup 30] [--models rnn,lstm,gru] [--threads 2]

Prints one line per peer and model, then one JSON line {"peers": [...]} (examples_per_s).
"""
import argparse
import json
import os
import sys
import time

import numpy as np

T, B, H, CLASSES = 10, 128, 128, 10


def palindromes(rng, length=T, batch=B):
    half = (length + 2) // 2                       # ceil((T+1)/2) digits, mirrored
    d = rng.integers(0, 10, size=(batch, half))
    full = np.concatenate([d, d[:, ::-1][:, (length + 1) % 2:]], axis=1)[:, :length + 1]
    return full[:, :length].astype(np.float32)[..., None], full[:, length]


def run_jax(model, steps, warmup):
    import jax
    import jax.numpy as jnp
    key = jax.random.PRNGKey(0)
    gates = {"rnn": 1, "lstm": 4, "gru": 3}[model]
    bound = 1 / np.sqrt(H)
    ks = jax.random.split(key, 6)
    u = lambda k, s, b: jax.random.uniform(k, s, jnp.float32, -b, b)
    p = {"W_x": u(ks[0], (1, gates * H), bound), "W_h": u(ks[1], (H, gates * H), bound),
         "b": u(ks[2], (gates * H,), bound), "b_h": u(ks[3], (gates * H,), bound),
         "W_p": u(ks[4], (H, CLASSES), bound), "b_p": u(ks[5], (CLASSES,), bound)}

    def cell(p, carry, x):
        h, c = carry
        if model == "rnn":
            h = jnp.tanh(x @ p["W_x"] + h @ p["W_h"] + p["b"])
        elif model == "lstm":
            a = x @ p["W_x"] + h @ p["W_h"] + p["b"]
            i, f, g, o = jnp.split(a, 4, axis=1)
            c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
            h = jax.nn.sigmoid(o) * jnp.tanh(c)
        else:  # PyTorch's GRU
            ax = x @ p["W_x"] + p["b"]
            ah = h @ p["W_h"] + p["b_h"]
            r = jax.nn.sigmoid(ax[:, :H] + ah[:, :H])
            z = jax.nn.sigmoid(ax[:, H:2 * H] + ah[:, H:2 * H])
            n = jnp.tanh(ax[:, 2 * H:] + r * ah[:, 2 * H:])
            h = (1 - z) * n + z * h
        return (h, c), None

    def loss(p, xs, y):
        zeros = jnp.zeros((xs.shape[0], H), jnp.float32)
        (h, _), _ = jax.lax.scan(lambda carry, x: cell(p, carry, x), (zeros, zeros), jnp.swapaxes(xs, 0, 1))
        logits = h @ p["W_p"] + p["b_p"]
        return -jnp.mean(jax.nn.log_softmax(logits)[jnp.arange(xs.shape[0]), y])

    @jax.jit
    def step(p, s, xs, y):
        l, g = jax.value_and_grad(loss)(p, xs, y)
        norm = jnp.sqrt(sum(jnp.sum(v * v) for v in jax.tree_util.tree_leaves(g)))
        coef = jnp.minimum(1.0, 10.0 / (norm + 1e-6))
        g = jax.tree_util.tree_map(lambda v: v * coef, g)
        s = jax.tree_util.tree_map(lambda s, g: 0.99 * s + 0.01 * g * g, s, g)
        p = jax.tree_util.tree_map(lambda p, g, s: p - 1e-3 * g / (jnp.sqrt(s) + 1e-8), p, g, s)
        return p, s, l

    s = jax.tree_util.tree_map(jnp.zeros_like, p)
    rng = np.random.default_rng(0)
    batches = [palindromes(rng) for _ in range(16)]
    for i in range(warmup):
        p, s, l = step(p, s, *batches[i % 16])
    l.block_until_ready()
    t0 = time.perf_counter()
    for i in range(steps):
        p, s, l = step(p, s, *batches[i % 16])
    l.block_until_ready()
    return steps * B / (time.perf_counter() - t0)


def run_torch(model, steps, warmup, threads):
    import torch
    torch.manual_seed(0)
    torch.set_num_threads(threads)
    net = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[model](1, H, batch_first=True)
    head = torch.nn.Linear(H, CLASSES)
    params = list(net.parameters()) + list(head.parameters())
    opt = torch.optim.RMSprop(params, lr=1e-3)
    rng = np.random.default_rng(0)
    batches = [tuple(map(torch.from_numpy, palindromes(rng))) for _ in range(16)]

    def step(i):
        xs, y = batches[i % 16]
        opt.zero_grad()
        out, _ = net(xs)
        loss = torch.nn.functional.cross_entropy(head(out[:, -1]), y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 10.0)
        opt.step()

    for i in range(warmup):
        step(i)
    t0 = time.perf_counter()
    for i in range(steps):
        step(i)
    return steps * B / (time.perf_counter() - t0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--warmup", type=int, default=30)
    ap.add_argument("--models", default="rnn,lstm,gru")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    rows = []
    for name, runner in (("jax", lambda m: run_jax(m, a.steps, a.warmup)),
                         ("torch", lambda m: run_torch(m, a.steps, a.warmup, a.threads))):
        try:
            __import__(name)
        except ImportError:
            print(f"{name}: not installed, skipped", file=sys.stderr)
            continue
        for m in a.models.split(","):
            rate = runner(m)
            print(f"{name:6s} {m:5s} {rate:10.0f} examples/s")
            rows.append({"peer": name, "model": m, "examples_per_s": round(rate)})
    print(json.dumps({"peers": rows, "load": os.getloadavg()[0]}))


if __name__ == "__main__":
    main()
