# Sinergi: the front door. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# uv manages the environment; bootstrap it into .tools/ when it is not on PATH.
UV := $(shell command -v uv 2>/dev/null || echo $(CURDIR)/.tools/bin/uv)
PYTHON_VERSION ?= 3.11
RUN := $(UV) run --frozen --python $(PYTHON_VERSION)

# Demo world (small) and benchmark world (SCALE=100k or 1m).
DEMO_DIR ?= var/demo
SCALE ?= 100k

.PHONY: help install test test-unit lint fix demo bench bench-simulator db-start db-stop clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

$(CURDIR)/.tools/bin/uv:
	python3 -m venv $(CURDIR)/.tools
	$(CURDIR)/.tools/bin/pip install --quiet uv

install: $(UV) ## create .venv from uv.lock (bootstraps uv when missing)
	$(UV) sync --frozen --python $(PYTHON_VERSION)

test: install ## run the whole test suite (starts its own embedded PostgreSQL)
	$(RUN) pytest

test-unit: install ## only the fast unit tests
	$(RUN) pytest tests/unit

lint: install ## ruff (with the Airflow rules) and format check
	$(RUN) ruff check
	$(RUN) ruff format --check

fix: install ## apply ruff fixes and formatting
	$(RUN) ruff check --fix
	$(RUN) ruff format

demo: install ## simulate a small world of the ministries and show what it delivered
	$(RUN) python -m sinergi.demo --out $(DEMO_DIR)

bench: bench-simulator ## benchmarks (SCALE=100k or SCALE=1m)

bench-simulator: install ## simulator throughput and peak memory, 90 nights, results in bench/results
	$(RUN) python bench/simulator.py --scale $(SCALE)

db-start: install ## start the embedded PostgreSQL (127.0.0.1, SINERGI_DB_PORT, default 55432)
	$(RUN) sinergi db start

db-stop: install ## stop the embedded PostgreSQL
	$(RUN) sinergi db stop

clean: ## remove generated worlds and caches (keeps the database in var/postgres)
	rm -rf $(DEMO_DIR) .pytest_cache .ruff_cache
