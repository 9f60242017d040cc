# The two commands of the README's quick start: `make demo` and `make test`.
# Both create the virtual environment and install what is missing, Debian packages included.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
OUT    ?= out/demo

.PHONY: demo test docs sample-logs bench system-deps clean

demo: $(STAMP)
	$(BIN)/refund-audit demo --out $(OUT)

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest

# Regenerate what is generated from the code (a test fails when these are stale).
docs: $(STAMP)
	$(BIN)/python -m audit.rules.docs docs/rules
	$(BIN)/python -m audit.rules.reads
	$(BIN)/python bench/history.py docs/performance.md

sample-logs: $(STAMP)
	$(BIN)/refund-audit sample --channel all --cases 300 --seed 42 --violation-rate 0.25 \
	  --out sample_logs/refund-sample

# Benchmarks against pm4py on the same data (never part of `make test`); results in
# bench/results/. BENCH_ARGS='--quick' for a smoke run, '--cases 10000,100000,1000000' for more.
BENCH_ARGS ?= --cases 10000,100000
bench: $(STAMP)
	$(BIN)/python bench/bench.py $(BENCH_ARGS)

# Debian packages the project needs: installed only where missing, and only as root.
# python3-venv only where `python3 -m venv` does not work yet; chromium for the browser test
# of report.html; fonts-noto-cjk so graphs draw Chinese/Japanese/Korean labels (PNG).
SYSTEM_PACKAGES := python3-venv chromium fonts-noto-cjk
system-deps:
	@if ! command -v dpkg-query >/dev/null 2>&1; then \
	  echo "not a Debian system: please install the equivalents of: $(SYSTEM_PACKAGES)"; \
	  exit 0; fi; \
	missing=""; for p in $(SYSTEM_PACKAGES); do \
	  if [ "$$p" = python3-venv ] && $(PYTHON) -c "import ensurepip, venv" 2>/dev/null; then \
	    continue; fi; \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" \
	    || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq \
	    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else echo "please install:$$missing (sudo apt-get install$$missing)"; exit 2; fi; \
	fi

$(STAMP): pyproject.toml | system-deps
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,mining,dask]'
	touch $(STAMP)

clean:
	rm -rf $(VENV) out build dist *.egg-info test-artifacts .pytest_cache .mypy_cache .ruff_cache
