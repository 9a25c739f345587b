#!/usr/bin/env python3
"""PyTorch on the MLP workloads of `bptt bench --mlp`, in the same units: never needed by bptt or its tests.

28x28 random images (uniform in [0, 1], labels uniform in 0..9; the timing does not depend on them),
batch 64, Adam (PyTorch's defaults; the GAN: lr 2e-4, betas (0.5, 0.999)), one fresh batch per step:

    autoencoder 784-256-64-256-784: ReLU hidden layers, sigmoid output, the left half of every image
        hidden (zeroed) at the input, mean squared error on the hidden pixels; lr 1e-3
    classifier 784-256-128-10: ReLU, dropout 0.2, softmax cross-entropy; lr 1e-3
    GAN step: G z(100)->256->512->1024->784 (LeakyReLU 0.2, sigmoid out), D 784->1024->512->256->1
        (LeakyReLU 0.2, sigmoid + BCE); D trained every step, then G through the updated D

Each workload runs under PyTorch's default threading and under torch.set_num_threads(2)
(--threads, default "default,2"). GFLOP/s counts the matrix products as bptt does: forward
2·in·out per layer and example, both gradients, no input gradient at the first layer.

    python3 bench/peers_mlp.py [--steps 300] [--warmup 30] [--threads default,2]

(python3: any Python with PyTorch.) Prints one line per workload and threading, then one JSON line {"peers": [...]}.
"""
import argparse
import json
import time

import numpy as np

P, BATCH, CLASSES = 28 * 28, 64, 10


def products(sizes):
    every = sum(a * b for a, b in zip(sizes, sizes[1:]))
    return every, sizes[0] * sizes[1]


def mlp_flops(sizes, batch=BATCH):
    every, first = products(sizes)
    return 2.0 * batch * (3 * every - first)


def gan_flops(g_sizes, d_sizes, batch=BATCH):
    g_all, g_first = products(g_sizes)
    d_all, d_first = products(d_sizes)
    return 2.0 * batch * (3 * g_all - g_first + 6 * d_all - 2 * d_first)


def timed(step, steps, warmup):
    for _ in range(warmup):
        step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return steps / (time.perf_counter() - start)


def workloads(torch, steps, warmup):
    nn = torch.nn
    rng = np.random.default_rng(1)
    images = torch.from_numpy(rng.random((8192, P), dtype=np.float32))
    labels = torch.from_numpy(rng.integers(0, CLASSES, 8192))
    n = images.shape[0]
    out = []

    # masked autoencoder
    sizes = [P, 256, 64, 256, P]
    layers = []
    for i, (a, b) in enumerate(zip(sizes, sizes[1:])):
        layers += [nn.Linear(a, b), nn.ReLU() if i < len(sizes) - 2 else nn.Sigmoid()]
    ae = nn.Sequential(*layers)
    opt = torch.optim.Adam(ae.parameters(), lr=1e-3)
    shown = torch.ones(28, 28)
    shown[:, :14] = 0
    shown = shown.reshape(1, P)
    hidden = 1 - shown

    def ae_step():
        x = images[torch.randint(0, n, (BATCH,))]
        xhat = ae(x * shown)
        loss = (((xhat - x) ** 2) * hidden).sum() / (hidden.sum() * BATCH)
        opt.zero_grad()
        loss.backward()
        opt.step()
    out.append(("autoencoder 784-256-64-256-784", timed(ae_step, steps, warmup), mlp_flops(sizes)))

    # classifier
    sizes = [P, 256, 128, CLASSES]
    clf = nn.Sequential(nn.Linear(P, 256), nn.ReLU(), nn.Dropout(0.2), nn.Linear(256, 128), nn.ReLU(), nn.Dropout(0.2),
                        nn.Linear(128, CLASSES))
    opt_c = torch.optim.Adam(clf.parameters(), lr=1e-3)
    ce = nn.CrossEntropyLoss()

    def clf_step():
        i = torch.randint(0, n, (BATCH,))
        loss = ce(clf(images[i]), labels[i])
        opt_c.zero_grad()
        loss.backward()
        opt_c.step()
    out.append(("classifier 784-256-128-10", timed(clf_step, steps, warmup), mlp_flops(sizes)))

    # GAN step
    z_dim = 100
    g_sizes, d_sizes = [z_dim, 256, 512, 1024, P], [P, 1024, 512, 256, 1]
    lrelu = lambda: nn.LeakyReLU(0.2)
    G = nn.Sequential(nn.Linear(z_dim, 256), lrelu(), nn.Linear(256, 512), lrelu(), nn.Linear(512, 1024), lrelu(),
                      nn.Linear(1024, P), nn.Sigmoid())
    D = nn.Sequential(nn.Linear(P, 1024), lrelu(), nn.Linear(1024, 512), lrelu(), nn.Linear(512, 256), lrelu(),
                      nn.Linear(256, 1), nn.Sigmoid())
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    bce = nn.BCELoss()
    ones, zeros = torch.ones(BATCH, 1), torch.zeros(BATCH, 1)

    def gan_step():
        real = images[torch.randint(0, n, (BATCH,))]
        fake = G(torch.randn(BATCH, z_dim))
        loss_d = bce(D(real), ones) + bce(D(fake.detach()), zeros)
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        loss_g = bce(D(fake), ones)
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
    out.append(("GAN step (G 100-256-512-1024-784, D 784-1024-512-256-1)",
                timed(gan_step, max(10, steps // 5), max(1, warmup // 5)), gan_flops(g_sizes, d_sizes)))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--warmup", type=int, default=30)
    ap.add_argument("--threads", default="default,2", help="comma-separated: 'default' and/or thread counts")
    args = ap.parse_args()
    import torch
    default_threads = torch.get_num_threads()
    peers = []
    for spec in args.threads.split(","):
        threads = default_threads if spec == "default" else int(spec)
        torch.set_num_threads(threads)
        torch.manual_seed(0)
        label = f"torch {torch.__version__}, " + (f"default threading ({threads})" if spec == "default" else f"set_num_threads({threads})")
        print(label + ":")
        print("  " + "workload".ljust(58) + "  steps/s  examples/s   GFLOP/s")
        for name, rate, flops in workloads(torch, args.steps, args.warmup):
            print("  " + name.ljust(58) + f" {rate:8.1f} {rate * BATCH:11.0f} {rate * flops / 1e9:9.1f}")
            peers.append({"peer": "torch " + torch.__version__, "threads": spec, "workload": name.split(" ")[0].lower(),
                          "steps_per_s": round(rate, 2), "examples_per_s": round(rate * BATCH),
                          "gflops": round(rate * flops / 1e9, 2)})
    print(json.dumps({"peers": peers}))


if __name__ == "__main__":
    main()
