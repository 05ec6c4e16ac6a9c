# tokenrisk: the targets read like a table of contents.
# Everything installs from the committed uv.lock; uv itself is bootstrapped with pip if missing.

PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null || echo "$(PYTHON) -m uv")
DATA_DIR ?= data
AIRFLOW_PORT ?= 8080
REPORT_DATE ?= 2026-02-05
RUN := $(UV) run --frozen
# compiled bytecode in the venv: with PYTHONDONTWRITEBYTECODE set (as on CI machines) every
# process would otherwise compile Great Expectations and Airflow from source (~10 s each)
export UV_COMPILE_BYTECODE := 1

.DEFAULT_GOAL := help
.PHONY: help install demo report test test-fast lint format bench docs airflow airflow-smoke \
	airflow-backfill-check clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-22s %s\n", $$1, $$2}'

uv-bootstrap:
	@command -v uv >/dev/null 2>&1 || $(PYTHON) -m uv --version >/dev/null 2>&1 || \
		{ echo "installing uv with pip"; $(PYTHON) -m pip install --quiet --disable-pip-version-check uv; }

install: uv-bootstrap ## install the project and its tools from uv.lock into .venv
	$(UV) sync --frozen

demo: install ## run the whole pipeline offline on the demo market and print the sector table
	$(RUN) tokenrisk run --source demo --data-dir $(DATA_DIR)

report: install ## HTML report of the demo crash day (runs the demo pipeline first if nothing is published)
	@test -f $(DATA_DIR)/warehouse/tokenrisk.duckdb || $(RUN) tokenrisk run --source demo --data-dir $(DATA_DIR)
	@$(RUN) tokenrisk report --date $(REPORT_DATE) --data-dir $(DATA_DIR)

test: install ## run the full test suite (fails if no test is collected)
	@$(RUN) pytest; rc=$$?; \
		if [ $$rc -eq 5 ]; then echo "ERROR: pytest collected no tests" >&2; fi; exit $$rc

test-fast: install ## the unit tests only (seconds)
	$(RUN) pytest -m "not e2e and not airflow and not browser"

lint: install ## ruff check + ruff format --check
	$(RUN) ruff check .
	$(RUN) ruff format --check .

format: install ## apply ruff's fixes and formatting
	$(RUN) ruff check --fix .
	$(RUN) ruff format .

bench: install ## benchmark every stage on a scaled demo market (figures: table + JSON under data/bench/)
	$(RUN) tokenrisk bench --data-dir $(DATA_DIR)

docs: install ## regenerate docs/tables.md from sql/*/_models.yml
	$(RUN) python -m pipeline.warehouse.docs

airflow: install ## local Airflow on SQLite with the DAGs and the demo market (AIRFLOW_HOME inside the data dir)
	$(RUN) python scripts/airflow_local.py standalone --data-dir $(DATA_DIR) --port $(AIRFLOW_PORT)

airflow-smoke: install ## a real scheduler runs the nightly DAG for 2026-02-05 (demo); checks tasks and assets
	$(RUN) python scripts/airflow_local.py smoke --data-dir $(DATA_DIR)

airflow-backfill-check: install ## Airflow backfill 2026-02-01..07 gives the marts of tokenrisk run (slow)
	$(RUN) python scripts/airflow_backfill_check.py --data-dir $(DATA_DIR)

clean: ## remove generated data (the data dir) and caches
	rm -rf $(DATA_DIR) .pytest_cache .ruff_cache
