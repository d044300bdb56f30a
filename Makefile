# moevae: `make demo` trains with a live board, `make test` runs the default
# tests (`make test-all` adds the slow ones), `make docs` builds the site
# (docs/_build/html/index.html) with its executed gallery, offline.
# Both set everything up first (a virtual environment in .venv, reused).
PYTHON ?= python3
VENV ?= .venv
PY ?= $(VENV)/bin/python
EPOCHS ?= 20
STAMP := $(VENV)/.moevae-installed
export PIP_CONSTRAINT := $(CURDIR)/constraints/build.txt
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: setup demo example board docs lint test test-slow test-all benchmark clean

setup: $(STAMP)

$(STAMP): setup.py constraints/build.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet torch==2.14.1 torchvision==0.29.1
	$(PY) -m pip install --quiet -e '.[test,docs,lint]'
	$(PY) -m moevae assets
	touch $(STAMP)

demo: setup
	$(PY) -m moevae train --epochs $(EPOCHS) --validation

example: setup
	MOEVAE_EPOCHS=$(EPOCHS) $(PY) examples/moe_vae.py

board: setup
	$(PY) -m moevae board

# ruff, mypy, and no backslash continuation (pynet's own files excepted)
lint: setup
	$(PY) -m ruff check .
	$(PY) -m mypy
	@! git grep -n '\\$$' -- '*.py' ':!tests/pynet' ':!examples/moe_vae.py' || { echo "lint: backslash continuations (use parentheses)"; exit 1; }

# -W: warnings are errors; the gallery runs on short settings (conf.py)
docs: setup
	rm -rf docs/_build docs/auto_examples
	$(PY) -m sphinx -b html -W --keep-going -q docs docs/_build/html
	@echo "docs: open docs/_build/html/index.html"

test: setup
	$(PY) -m pytest -m "not slow"

test-slow: setup
	$(PY) -m pytest -m slow

test-all: setup
	$(PY) -m pytest

benchmark: setup
	$(PY) benchmarks/bench_epoch.py
	$(PY) benchmarks/bench_board.py
	$(PY) benchmarks/bench_board_soak.py
	$(PY) benchmarks/bench_cli.py

clean:
	rm -rf $(VENV) runs .pytest_cache docs/_build docs/auto_examples
