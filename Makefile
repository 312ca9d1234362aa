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

.PHONY: help install test test-unit lint fix demo run bench bench-simulator bench-dag-parse bench-pipeline identity-eval bench-identity db-start db-stop clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

$(CURDIR)/.tools/bin/uv:
	python3 -m venv $(CURDIR)/.tools
	$(CURDIR)/.tools/bin/pip install --quiet uv

install: $(UV) ## create .venv from uv.lock (bootstraps uv when missing), build the dbt manifest
	@# Bytecode compiled at install, as the production image does (UV_COMPILE_BYTECODE): each DAG
	@# file is parsed in a fresh process, which would otherwise compile Cosmos and its imports anew.
	$(UV) sync --frozen --compile-bytecode --python $(PYTHON_VERSION)
	@# The warehouse DAG renders from this manifest (dbt parse, no database needed). A dbt
	@# project that does not parse must not block installing: the DAG then says so itself.
	$(RUN) python -m sinergi.dbt_runner || echo "warning: dbt parse failed; the warehouse DAG shows dbt_manifest_missing until it parses"
	@# The browser test (tests/integration/test_airflow_ui.py) drives Debian's Chromium, never a
	@# downloaded browser. Installed only when missing, as root, where apt-get exists; without
	@# it that one test skips and says why.
	@if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null 2>&1; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "installing Debian's chromium (for the browser test)"; \
			apt-get install -y chromium >/dev/null || { apt-get update >/dev/null && apt-get install -y chromium >/dev/null; } \
				|| echo "warning: could not install chromium; the browser test will skip"; \
		else \
			echo "note: no /usr/bin/chromium; run \`sudo apt-get install -y chromium\` for the browser test"; \
		fi; \
	fi

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

demo: install ## simulate two weeks of the ministries and run every night through Airflow and dbt
	$(RUN) python -m sinergi.demo --out $(DEMO_DIR)

run: install ## the nightly pipeline for a date range: make run FROM=2026-01-01 TO=2026-01-10
	$(RUN) sinergi run --from $(FROM) --to $(TO)

bench: bench-simulator bench-dag-parse bench-pipeline ## benchmarks (SCALE=10k, 100k or 1m)

bench-dag-parse: install ## parse time of each DAG file in a fresh process, results in bench/results
	$(RUN) python bench/dag_parse.py

bench-identity: install ## identity resolution at scale: full link and a night, time and memory (PERSONS=1000000)
	$(RUN) sinergi db start
	$(RUN) python bench/identity_scale.py --persons $(or $(PERSONS),100000)

identity-eval: install ## identity quality vs simulated truth and baselines (10k, 100k; docs/IDENTITY.md)
	$(RUN) sinergi db start
	$(RUN) sinergi identity evaluate $(if $(WORLDS),--worlds $(WORLDS),)

bench-simulator: install ## simulator throughput and peak memory, 90 nights, results in bench/results
	$(RUN) python bench/simulator.py --scale $(SCALE)

bench-pipeline: install ## full build + single nights per stage, bare COPY and naive references (NIGHTS=30)
	$(RUN) sinergi db start
	$(RUN) python bench/pipeline.py --scale $(SCALE) $(if $(NIGHTS),--nights $(NIGHTS),)

bench-cosmos: install ## Cosmos LOCAL vs WATCHER on the demo world (~15 min), results in bench/results
	$(RUN) python bench/cosmos_modes.py

db-start: install ## start the embedded PostgreSQL (127.0.0.1, SINERGI_DB_PORT, default 55432)
	$(RUN) sinergi db start

db-stop: install ## stop the embedded PostgreSQL
	$(RUN) sinergi db stop

clean: ## remove generated worlds and caches (keeps the database in var/postgres)
	rm -rf $(DEMO_DIR) .pytest_cache .ruff_cache

.PHONY: up down

up: install ## start Airflow locally (UI on 127.0.0.1, scheduler, dag-processor, triggerer); prints URL and login
	$(RUN) sinergi airflow up

down: ## stop everything `make up` started
	$(RUN) sinergi airflow down
