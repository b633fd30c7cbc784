# `make run` serves the API with embedded AWS; `make test` runs ruff, mypy --strict and pytest.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test lint typecheck pytest bench schema clean

$(VENV)/.stamp-run: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is needed (set PYTHON=python3.11)")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	@touch $@

$(VENV)/.stamp-dev: $(VENV)/.stamp-run
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

run: $(VENV)/.stamp-run
	$(VENV)/bin/zebros serve

lint: $(VENV)/.stamp-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(VENV)/.stamp-dev
	$(VENV)/bin/mypy

pytest: $(VENV)/.stamp-dev
	$(VENV)/bin/pytest

test: lint typecheck pytest

bench: $(VENV)/.stamp-dev
	$(PY) -m bench.nested_query
	$(PY) -m bench.access_patterns

schema: $(VENV)/.stamp-run
	$(VENV)/bin/zebros schema > schema.graphql

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
