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

sample-logs: $(STAMP)
	$(BIN)/refund-audit sample --channel all --cases 300 --seed 42 --violation-rate 0.25 \
	  --out sample_logs/refund-sample

bench: $(STAMP)
	@echo "bench/: not built yet (issue #7)"; exit 2

# Debian packages the project needs: installed only where missing, and only as root.
SYSTEM_PACKAGES := python3-venv
system-deps:
	@missing=""; for p in $(SYSTEM_PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ] && ! $(PYTHON) -m venv --help >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq $$missing; \
	  else echo "please install:$$missing (sudo apt-get install$$missing)"; exit 2; fi; \
	fi

$(STAMP): pyproject.toml | system-deps
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,mining]'
	touch $(STAMP)

clean:
	rm -rf $(VENV) out .pytest_cache .mypy_cache .ruff_cache
