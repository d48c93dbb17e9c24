# Two commands on a fresh machine: `make up` (everything running) and `make test` (the whole suite); `make lint`.
# `make install` installs what runs (requirements.txt) and the developer tools (requirements-dev.txt).
# Needs only python3 (3.10-3.12), bash and make; everything else installs into .venv.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
export PYTHONPATH := $(CURDIR):$(CURDIR)/plugins
# pgserver's socket fallback folder; keeps it inside the project and silences its warning.
export XDG_RUNTIME_DIR ?= $(CURDIR)/.local/xdg-runtime

.PHONY: up down status logs test test-fast lint bench bench-campaign bench-a2a3 chaos install constraints env clean-data verify compose-test fresh-test

$(VENV)/.installed: requirements.txt requirements-dev.txt constraints.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "Installing into $(VENV) (pinned by constraints.txt; log in $(VENV)/install.log)"
	@( $(PY) -m pip install --upgrade pip && \
	   $(PY) -m pip install -r requirements-dev.txt -c constraints.txt && \
	   $(PY) -m pip install --no-deps -e . ) > $(VENV)/install.log 2>&1 \
	  || { tail -n 40 $(VENV)/install.log; echo "make: installing the dependencies failed"; exit 1; }
	@touch $@

# `pip install -e .` leaves the project's egg-info in plugins/, which is on sys.path: Airflow would then find the
# cockpit's `airflow.plugins` entry point twice ("Plugin 'campaigns_cockpit' already registered").
install: $(VENV)/.installed
	@rm -rf plugins/*.egg-info

up: install
	@mkdir -p $(XDG_RUNTIME_DIR) && chmod 700 $(XDG_RUNTIME_DIR)
	@$(PY) -m tools.stack up

down:
	@test -x $(PY) && $(PY) -m tools.stack down || echo "nothing to stop (no .venv)"

status: install
	@$(PY) -m tools.stack status

logs: install
	@$(PY) -m tools.stack logs

env: install
	@$(PY) -m tools.stack env

# The whole suite in TEST_WORKERS processes (pytest-xdist; a module's tests stay together in one worker, the
# heaviest modules first: tests/conftest.py); the 15 slowest tests are listed at the end.
TEST_WORKERS ?= 2
IN_WORKERS := -n $(TEST_WORKERS) --dist loadscope --no-loadscope-reorder
test: install
	@mkdir -p $(XDG_RUNTIME_DIR) && chmod 700 $(XDG_RUNTIME_DIR)
	@$(PY) -m pytest $(IN_WORKERS) --durations=15 $(PYTEST_ARGS)

# The tests that need no running product and no DAG run (markers in pyproject.toml): under two minutes.
test-fast: install
	@mkdir -p $(XDG_RUNTIME_DIR) && chmod 700 $(XDG_RUNTIME_DIR)
	@$(PY) -m pytest $(IN_WORKERS) --durations=15 -m "not stack and not e2e and not slow" $(PYTEST_ARGS)

# ruff, then the type checker (pyproject.toml [tool.mypy]: strict for the domain, the steps and the provider).
lint: install
	@$(PY) -m ruff check .
	@$(PY) -m mypy

# Before go-live: check the configured DAM and Box against the workflow's assumptions (read-only unless
# VERIFY_ARGS="--write --dam-test-folder ID ..."); prints a table and writes .local/verify.json.
verify: install
	@$(PY) -m tools.verify $(VERIFY_ARGS)

# Throughput and memory of a 1 GiB DAM -> disk -> Box transfer through the hooks, beside curl (a few minutes).
bench: install
	@$(PY) bench/transfer_bench.py $(BENCH_ARGS)

# The product under faults (DAM 503s, Box 429s, resets, receiver kills, api-server down) on its own ports and
# data folder (.local-chaos), beside a `make up`; then an audit of lost/duplicated work. At most 25 minutes.
chaos: install
	@$(PY) -m tools.chaos.scenario $(CHAOS_ARGS)

# A 1,500-master campaign beside a trivial mapped DAG on the Local and Celery (1, 2 workers) executors (long).
bench-campaign: install
	@mkdir -p $(XDG_RUNTIME_DIR) && chmod 700 $(XDG_RUNTIME_DIR)
	@$(PY) bench/campaign_bench.py $(BENCH_ARGS)

# docker-compose.yaml run by a real engine (Debian's docker.io, installed with apt when missing), images built
# locally, checked from outside, then `down -v`; prints each phase's time. Not part of `make test` (7 min cached, 11 min cold on 2 cores).
compose-test: install
	@$(PY) -m tools.compose_test $(COMPOSE_TEST_ARGS)

# The two commands on a new machine: a Debian 12 container with only python3, venv, make, git and curl runs
# `make install` and `make test` (PYTEST_ARGS narrows it) on a clone of HEAD (docker.io installed when missing).
fresh-test: install
	@$(PY) -m tools.fresh_debian

# Agency uploads -> DAM (singles p50/p95, a burst of 200) beside a one-task DAG, LocalExecutor and Celery
# with 2 workers, each on a stack of its own (about 15 minutes an executor on 2 cores).
bench-a2a3: install
	@mkdir -p $(XDG_RUNTIME_DIR) && chmod 700 $(XDG_RUNTIME_DIR)
	@$(PY) bench/a2a3_bench.py $(BENCH_ARGS)

# Re-resolve the full pinned set after changing requirements.txt or requirements-dev.txt (plain pip, no constraints).
constraints:
	rm -rf .venv-resolve && $(PYTHON) -m venv .venv-resolve && .venv-resolve/bin/pip install -q -U pip \
	  && .venv-resolve/bin/pip install -q -r requirements-dev.txt && .venv-resolve/bin/pip freeze --exclude-editable > constraints.txt \
	  && rm -rf .venv-resolve

# Forget every local datum (databases, sandbox state, logs). Run `make down` first.
clean-data:
	rm -rf .local
