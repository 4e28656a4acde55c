# Two entry points that need nothing but python3: `make run` and `make test`.
PYTHON ?= python3
RUN_VENV := .venv
TEST_VENV := .venv-test
ARGS ?=
# pytest-xdist workers: real programs' tests run on one, the rest spread (tests/conftest.py).
PYTEST_WORKERS ?= 2

.PHONY: run test lint bench clean

run: $(RUN_VENV)/.installed
	$(RUN_VENV)/bin/matrix-wizard $(ARGS)

test: $(TEST_VENV)/.installed lint
	$(TEST_VENV)/bin/python -m pytest -n $(PYTEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

lint: $(TEST_VENV)/.installed
	$(TEST_VENV)/bin/ruff format --check .
	$(TEST_VENV)/bin/ruff check .
	$(TEST_VENV)/bin/mypy

bench: $(TEST_VENV)/.bench-installed
	$(TEST_VENV)/bin/python -m bench

$(RUN_VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(RUN_VENV)
	$(RUN_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(RUN_VENV)/bin/python -m pip install --quiet -e .
	touch $@

$(TEST_VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(TEST_VENV)
	$(TEST_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(TEST_VENV)/bin/python -m pip install --quiet -e '.[test]'
	touch $@

$(TEST_VENV)/.bench-installed: $(TEST_VENV)/.installed
	$(TEST_VENV)/bin/python -m pip install --quiet -e '.[test,bench]'
	touch $@

clean:
	rm -rf $(RUN_VENV) $(TEST_VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
