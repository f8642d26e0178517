# Two commands for a fresh machine: `make run` (the app on the embedded model) and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Both install llama-cpp-python, compiled once (11-25 minutes measured on 2 cores; pip keeps the wheel);
# the test extra adds its server and the openai client.
TEST_STAMP := $(VENV)/.installed-test
# llama.cpp built for an AMX CPU (Sapphire Rapids and later) crashed with a general protection
# fault in its AMX kernels on the first prompt here, so x86 builds leave AMX out (AVX-512 stays).
ifeq ($(shell uname -m),x86_64)
NO_AMX := -mno-amx-tile -mno-amx-int8 -mno-amx-bf16
LLAMA_BUILD_FLAGS := CFLAGS="$(NO_AMX)" CXXFLAGS="$(NO_AMX)"
endif

.PHONY: install run test test-fast bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(LLAMA_BUILD_FLAGS) CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) $(BIN)/python -m pip install -e .
	touch $(STAMP)

$(TEST_STAMP): $(STAMP)
	$(LLAMA_BUILD_FLAGS) CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) $(BIN)/python -m pip install -e '.[test]'
	touch $(TEST_STAMP)

install: $(STAMP)

# Prepares the embedded model once (assemble + verify + bf16 cache), then serves the UI.
run: install
	$(BIN)/contentgen model prepare
	$(BIN)/contentgen ui

# Everything, each part named: the fast suite, the browser test, the tests on the real embedded model.
# CONTENTGEN_TEST_STRICT=1 (set by .ci/run) turns a skip for a missing PostgreSQL, chromium or model
# into a failure, so CI cannot go green without them.
test: $(TEST_STAMP)
	$(BIN)/python -m pytest
	$(BIN)/python -m pytest -m browser
	$(BIN)/python -m pytest -m embedded --timeout=1800

# The fast suite only (the tiny model; a few minutes): what `pytest` runs with no arguments.
test-fast: $(TEST_STAMP)
	$(BIN)/python -m pytest

bench: $(TEST_STAMP)
	$(BIN)/python bench/bench_engines.py

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
