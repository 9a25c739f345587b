#!/usr/bin/env python3
"""Load a `bptt export` of a palindrome checkpoint into PyTorch and compare its predictions
with `bptt predict --json` on random inputs.

Optional: nothing in the build or the tests needs it (it needs torch and numpy).

    bptt train --model lstm --length 5 --steps 2000 --save m.ckpt
    bptt export --checkpoint m.ckpt --out m.safetensors
    python3 scripts/torch_check.py --bptt .build/release/bptt --checkpoint m.ckpt --weights m.safetensors [--count 100]

The safetensors file is read here by hand (8-byte header length, JSON header, raw float32), so
the check does not depend on the safetensors package either. Prints the largest
|p_torch - p_bptt| over all inputs and classes, and whether the predicted digits agree.
"""
import argparse
import json
import random
import struct
import subprocess
import sys

try:
    import numpy as np
    import torch
    from torch import nn
except ImportError as e:
    print(f"torch_check.py: needs torch and numpy ({e.name} is missing: pip install torch numpy); bptt itself does not", file=sys.stderr)
    sys.exit(2)


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {})
    data = raw[8 + n:]
    tensors = {}
    for name, e in header.items():
        assert e["dtype"] == "F32", e
        a, b = e["data_offsets"]
        tensors[name] = torch.from_numpy(np.frombuffer(data[a:b], dtype="<f4").reshape(e["shape"]).copy())
    return tensors, meta


class Palindrome(nn.Module):
    def __init__(self, cell, input_size, hidden, layers, bidirectional, classes, relu):
        super().__init__()
        kw = dict(num_layers=layers, bidirectional=bidirectional)
        if cell == "lstm":
            self.rnn = nn.LSTM(input_size, hidden, **kw)
        elif cell == "gru":
            self.rnn = nn.GRU(input_size, hidden, **kw)
        else:
            self.rnn = nn.RNN(input_size, hidden, nonlinearity="relu" if relu else "tanh", **kw)
        self.fc = nn.Linear(hidden * (2 if bidirectional else 1), classes)
        self.bidirectional = bidirectional

    def forward(self, x):  # x: T x B x 1
        _, h = self.rnn(x)
        h = h[0] if isinstance(h, tuple) else h  # LSTM: (h_n, c_n)
        # the final states: forward direction's h_T, and the reverse direction's state after the whole sequence
        s = torch.cat([h[-2], h[-1]], dim=1) if self.bidirectional else h[-1]
        return torch.softmax(self.fc(s), dim=1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bptt", default=".build/release/bptt")
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--weights", required=True, help="the .safetensors bptt export wrote")
    ap.add_argument("--count", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    tensors, meta = read_safetensors(args.weights)
    if meta.get("bptt_kind") != "palindrome":
        sys.exit(f"{args.weights}: a {meta.get('bptt_kind')} export; this script checks palindrome models")
    config = json.loads(meta["bptt_config"])
    cell = config["model"]
    if cell == "gru-cho":
        sys.exit("gru-cho has no PyTorch module (nn.GRU applies the reset gate after W_hn)")
    model = Palindrome("lstm" if cell == "lstm" else "gru" if cell == "gru" else "rnn", 1, config["hidden"], config["layers"],
                       config["bidirectional"], tensors["fc.weight"].shape[0], cell == "rnn-relu")
    model.load_state_dict(tensors, strict=True)
    model.eval()

    rng = random.Random(args.seed)
    worst, disagree = 0.0, 0
    for _ in range(args.count):
        digits = [rng.randrange(10) for _ in range(config["length"])]
        out = subprocess.run([args.bptt, "predict", "--checkpoint", args.checkpoint, "--input", " ".join(map(str, digits)), "--json"],
                             capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
        p_bptt = np.array(json.loads(out)["probabilities"])
        with torch.no_grad():
            x = torch.tensor(digits, dtype=torch.float32).reshape(-1, 1, 1)
            p_torch = model(x)[0].numpy().astype(np.float64)
        worst = max(worst, float(np.abs(p_torch - p_bptt).max()))
        disagree += int(p_torch.argmax() != p_bptt.argmax())
    print(f"{cell} layers={config['layers']} bidirectional={config['bidirectional']} hidden={config['hidden']}: "
          f"{args.count} inputs, max |p_torch - p_bptt| = {worst:.3g}, predicted digits differ on {disagree}")
    print(json.dumps({"inputs": args.count, "max_abs_diff_probability": worst, "argmax_disagreements": disagree, "model": cell}))


if __name__ == "__main__":
    main()
