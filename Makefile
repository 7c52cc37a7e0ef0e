# liveshop-pulse: the two commands are `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: demo test run lint lock bench clean help

help:
	@echo "make demo   - install from the lock and run the nightly DAG on the bundled synthetic corpus (no network)"
	@echo "make test   - ruff, then the test suite"
	@echo "make run    - one real nightly run without Airflow (needs network; reads config/)"
	@echo "make lint   - ruff"
	@echo "make bench  - benchmarks and quality gates (read ../shared/data when present)"

# The venv is rebuilt when the lock or pyproject changes. --no-deps: the lock is complete.
$(STAMP): requirements.lock pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python 3.11 is needed (python3.11 not found)"; exit 1; }
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is needed, found " + sys.version' 
	$(PYTHON) -m venv $(VENV)
	@echo "Installing pinned dependencies from requirements.lock (a few minutes the first time)..."
	$(BIN)/python -m pip install --quiet --no-deps -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/python -m pip check
	@touch $@

demo: $(STAMP)
	$(BIN)/pulse demo

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

run: $(STAMP)
	$(BIN)/pulse run

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/python -m bench

# Re-resolve the lock (needs registry access). Commit the result.
lock:
	uv pip compile pyproject.toml --extra dev --python-version 3.11 --no-header -o requirements.lock

clean:
	rm -rf data/ .pytest_cache
