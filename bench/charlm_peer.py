#!/usr/bin/env python3
"""PyTorch beside `bptt train --task text`: the same character-level language model, data layout and optimiser.

The model: one-hot characters (or --embedding E) -> nn.LSTM(layers L, hidden H) -> nn.Linear(H, V); softmax
cross-entropy at every step, averaged over T steps and B streams; Adam (PyTorch's defaults but lr); global-norm
clip; stateful truncated BPTT (B contiguous streams, chunks of T steps, the state carried with .detach()).
The text is bptt's built-in one (data/shakespeare/tragedies.txt.gz), the training part its first 90%.

    /path/to/python bench/charlm_peer.py [--layers 2] [--hidden 256] [--batch 32] [--length 100] [--steps 60]
                                          [--warmup 5] [--lr 2e-3] [--clip 5] [--threads 2] [--embedding 0]

Prints the characters/s of training steps after the warm-up (forward, backward, clip, update; no validation), then
one JSON line. The bptt figure to set beside it: the `characters_per_s` of

    bptt train --task text --model lstm --layers 2 --hidden 256 --batch 32 --length 100 --steps 60 --threads 2 --json
"""
import argparse
import gzip
import json
import os
import time

ap = argparse.ArgumentParser()
ap.add_argument("--layers", type=int, default=2)
ap.add_argument("--hidden", type=int, default=256)
ap.add_argument("--batch", type=int, default=32)
ap.add_argument("--length", type=int, default=100)
ap.add_argument("--steps", type=int, default=60)
ap.add_argument("--warmup", type=int, default=5)
ap.add_argument("--lr", type=float, default=2e-3)
ap.add_argument("--clip", type=float, default=5.0)
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--embedding", type=int, default=0)
args = ap.parse_args()

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(args.threads)
torch.manual_seed(0)
here = os.path.dirname(os.path.abspath(__file__))
text = gzip.open(os.path.join(here, "..", "data", "shakespeare", "tragedies.txt.gz")).read().decode("utf-8")
train = text[: int(len(text) * 0.9)]
vocab = sorted(set(train))
V, B, T, H = len(vocab), args.batch, args.length, args.hidden
index = {c: i for i, c in enumerate(vocab)}
ids = torch.tensor([index[c] for c in train], dtype=torch.long)
L = len(ids) // B
rows = ids[: B * L].view(B, L)              # row b: a contiguous slice of the text


class CharLM(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(V, args.embedding) if args.embedding > 0 else None
        self.lstm = nn.LSTM(args.embedding or V, H, num_layers=args.layers)
        self.out = nn.Linear(H, V)

    def forward(self, x, state):              # x: T x B ids
        u = self.emb(x) if self.emb is not None else F.one_hot(x, V).float()
        o, state = self.lstm(u, state)
        return self.out(o), state


model = CharLM()
opt = torch.optim.Adam(model.parameters(), lr=args.lr)
state = None
chunks = (L - 1) // T


def step(k):
    global state
    x = rows[:, k * T: k * T + T].t().contiguous()
    y = rows[:, k * T + 1: k * T + T + 1].t().contiguous()
    logits, state = model(x, state)
    state = tuple(s.detach() for s in state)  # the state carries on, the gradient stops
    loss = F.cross_entropy(logits.reshape(-1, V), y.reshape(-1))
    opt.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), args.clip)
    opt.step()
    return loss.item()


for k in range(args.warmup):
    step(k % chunks)
start = time.perf_counter()
for k in range(args.steps):
    loss = step((args.warmup + k) % chunks)
seconds = time.perf_counter() - start
rate = args.steps * B * T / seconds
print(f"pytorch {torch.__version__} nn.LSTM x{args.layers} H={H} B={B} T={T} V={V}: {rate:,.0f} characters/s "
      f"({args.steps} steps in {seconds:.1f} s, last loss {loss:.4f}, {args.threads} threads)")
print(json.dumps({"peer": "pytorch", "version": torch.__version__, "layers": args.layers, "hidden": H, "batch": B,
                  "length": T, "vocabulary": V, "steps": args.steps, "characters_per_s": round(rate), "seconds": seconds}))
