# Quick start: `make demo` and `make test` on a fresh clone; both build the environment they need.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip

.PHONY: demo test test-thorough bench env env-demo clean docs docs-serve

# The environment with the test tools; rebuilt when pyproject.toml changes.
$(VENV)/.dev-installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e ".[dev]"
	touch $@

# The examples' optional extras (progress bars, plots) on top.
$(VENV)/.demo-installed: $(VENV)/.dev-installed
	$(PIP) install --quiet -e ".[dev,extras]"
	touch $@

env: $(VENV)/.dev-installed
env-demo: $(VENV)/.demo-installed

demo: $(VENV)/.demo-installed
	$(BIN)/python examples/demo.py

# The CI profile bounds hypothesis's examples so the suite stays within minutes on 2 cores.
test: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	HYPOTHESIS_PROFILE=$${HYPOTHESIS_PROFILE:-ci} $(BIN)/python -m pytest -q

# The same suite with hypothesis searching harder.
test-thorough: $(VENV)/.dev-installed
	HYPOTHESIS_PROFILE=thorough $(BIN)/python -m pytest -q

bench: $(VENV)/.dev-installed
	$(PIP) install --quiet -e ".[bench]"
	$(BIN)/python -m bench

# The documentation site: MkDocs builds docs/ into site/, warnings as errors. The pages' code blocks run
# during the build (markdown-exec), so the numbers they show are computed, never typed.
$(VENV)/.docs-installed: $(VENV)/.dev-installed
	$(PIP) install --quiet -e ".[dev,docs]"
	touch $@

docs: $(VENV)/.docs-installed
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

docs-serve: $(VENV)/.docs-installed
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis build site *.egg-info

.PHONY: bench-quick bench-check bench-compiled
bench-quick: $(VENV)/.dev-installed
	$(PIP) install --quiet -e ".[bench]"
	$(BIN)/python -m bench --quick

bench-check: $(VENV)/.dev-installed
	$(PIP) install --quiet -e ".[bench]"
	$(BIN)/python -m bench --check

# compiled cells: the compiled LSTMCell vs the hand-fused LSTM, a compiled peephole LSTM vs torch.nn.LSTM
bench-compiled: $(VENV)/.dev-installed
	$(PIP) install --quiet -e ".[bench]"
	$(BIN)/python bench/compiled_cells.py
