#!/usr/bin/env python3
"""PyTorch's nn.LSTM on bptt's long-memory workloads, for a one-window comparison (bench/longmem.sh).

    pixels: T = 784 steps of one pixel, batch 128, hidden 128, 10 classes, softmax cross-entropy
            of the last state, Adam (lr 1e-3), global-norm clip 1
    adding: T = 400 steps of two inputs, batch 128, hidden 128, MSE of a linear readout of h_T,
            Adam (lr 1e-3), global-norm clip 1

Never needed by bptt or its tests. Random inputs of the right shapes (the throughput does not
depend on the values). Prints one line per task, then one JSON line {"torch": [...]}.

    python3 bench/longmem_torch.py [--tasks pixels,adding] [--steps 5] [--warmup 1] [--threads 2]
"""
import argparse
import json
import time

import torch


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tasks", default="pixels,adding")
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--hidden", type=int, default=128)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    B, H = args.batch, args.hidden
    results = []
    for task in args.tasks.split(","):
        T, D, K = {"pixels": (784, 1, 10), "adding": (400, 2, 1)}[task]
        lstm = torch.nn.LSTM(D, H, batch_first=False)
        head = torch.nn.Linear(H, K)
        params = list(lstm.parameters()) + list(head.parameters())
        opt = torch.optim.Adam(params, lr=1e-3)
        x = torch.rand(T, B, D)
        y = torch.randint(0, 10, (B,)) if task == "pixels" else torch.rand(B, 1) * 2

        def step():
            opt.zero_grad()
            out, _ = lstm(x)
            p = head(out[-1])
            loss = torch.nn.functional.cross_entropy(p, y) if task == "pixels" else torch.nn.functional.mse_loss(p, y)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()

        for _ in range(args.warmup):
            step()
        t0 = time.perf_counter()
        for _ in range(args.steps):
            step()
        seconds = time.perf_counter() - t0
        rate = args.steps * B / seconds
        print(f"torch {torch.__version__} nn.LSTM {task}: T={T} B={B} H={H}: {rate:.0f} examples/s ({args.steps} steps, {seconds:.2f} s, {args.threads} threads)")
        results.append({"task": task, "length": T, "batch": B, "hidden": H, "examples_per_s": round(rate, 1), "threads": args.threads})
    print(json.dumps({"torch": results}))


if __name__ == "__main__":
    main()
