#!/usr/bin/env python3
"""PyTorch reference timing for `bptt gan`'s default run: never needed by bptt or its tests.

G: z(100) -> 256 -> 512 -> 1024 -> 64 (LeakyReLU 0.2, sigmoid out); D: 64 -> 1024 -> 512 -> 256 -> 1
(LeakyReLU 0.2, sigmoid + BCE); batch 64; Adam lr 2e-4, betas (0.5, 0.999); D trained every step,
then G with the non-saturating loss. Data: the built-in 8x8 digits if a path to them is given
(IDX, scaled to [0, 1]), otherwise random images of the same size (the timing does not depend on it).

    python3 bench/gan_peer.py [--steps 6000] [--threads 2] [--digits data/digits8x8]
Prints one JSON line: {"peer": "torch", "steps": N, "seconds": S, "steps_per_s": R}.
"""
import argparse, json, os, struct, time

import numpy as np


def load_idx_images(path):
    with open(path, "rb") as f:
        data = f.read()
    n, rows, cols = struct.unpack(">III", data[4:16])
    return np.frombuffer(data, dtype=np.uint8, offset=16).reshape(n, rows * cols).astype(np.float32) / 255.0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=6000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--digits", default="")
    args = ap.parse_args()
    import torch
    import torch.nn as nn
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    images = None
    if args.digits:
        for name in os.listdir(args.digits):
            if "images" in name and not name.endswith(".gz"):
                images = load_idx_images(os.path.join(args.digits, name))
                break
    if images is None:
        images = np.random.default_rng(0).random((1438, 64), dtype=np.float32)
    x_all = torch.from_numpy(images)
    pixels, batch, z_dim = x_all.shape[1], 64, 100
    lrelu = lambda: nn.LeakyReLU(0.2)
    G = nn.Sequential(nn.Linear(z_dim, 256), lrelu(), nn.Linear(256, 512), lrelu(), nn.Linear(512, 1024), lrelu(),
                      nn.Linear(1024, pixels), nn.Sigmoid())
    D = nn.Sequential(nn.Linear(pixels, 1024), lrelu(), nn.Linear(1024, 512), lrelu(), nn.Linear(512, 256), lrelu(),
                      nn.Linear(256, 1), nn.Sigmoid())
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    bce = nn.BCELoss()
    ones, zeros = torch.ones(batch, 1), torch.zeros(batch, 1)
    start = time.time()
    for step in range(args.steps):
        real = x_all[torch.randint(0, x_all.shape[0], (batch,))]
        fake = G(torch.randn(batch, z_dim))
        loss_d = bce(D(real), ones) + bce(D(fake.detach()), zeros)
        opt_d.zero_grad(); loss_d.backward(); opt_d.step()
        loss_g = bce(D(fake), ones)
        opt_g.zero_grad(); loss_g.backward(); opt_g.step()
    seconds = time.time() - start
    print(json.dumps({"peer": "torch " + torch.__version__, "steps": args.steps, "seconds": round(seconds, 2),
                      "steps_per_s": round(args.steps / seconds, 1), "threads": args.threads}))


if __name__ == "__main__":
    main()
