# Each target bootstraps from nothing: uv via pip if missing, then the locked environment, compiled to
# bytecode at install: these machines set PYTHONDONTWRITEBYTECODE=1, so without it every process
# compiles pyspark, dbt, GE and Airflow again on import (about 20 CPU-s of a pipeline day). Here rather
# than in pyproject's [tool.uv], which would re-check all 13k files on every `uv run` (0.4 CPU-s each).
UV := $(shell command -v uv 2>/dev/null || echo python3 -m uv)
export PYTHONWARNINGS ?= ignore::FutureWarning

.PHONY: run test lint doctor bootstrap airflow

bootstrap:
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	@$(UV) sync --frozen --quiet --compile-bytecode
	@# one dbt parse shared by every lake (omnilake.gold.parse_cache); a no-op once this code's is cached
	@$(UV) run --no-sync python -c "from omnilake.publish import seed_parse_cache; seed_parse_cache()"

run: bootstrap
	$(UV) run omnilake run --sample

# Two pytest-xdist workers (CI has two cores; `make test TEST_WORKERS=4` on a bigger machine), a test
# file at a time so that a module's fixtures are built once, in collection order (the slow e2e files
# first, so that the workers end together; xdist's default reorder would start them last).
TEST_WORKERS ?= 2
test: bootstrap
	$(UV) run pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

lint: bootstrap
	$(UV) run ruff check .
	$(UV) run ruff format --check .

doctor: bootstrap
	$(UV) run omnilake doctor

# A local Airflow 3 (standalone: scheduler, API server and UI on localhost:8080, SQLite metadata)
# with home under the lake root and the project's DAGs loaded. The UI listens on 127.0.0.1 only;
# `make airflow AIRFLOW__API__HOST=0.0.0.0` (or the variable in the environment) opens it wider.
OMNILAKE_HOME ?= $(CURDIR)/.omnilake
AIRFLOW__API__HOST ?= 127.0.0.1
AIRFLOW__API__PORT ?= 8080
airflow: bootstrap
	mkdir -p $(OMNILAKE_HOME)/_airflow
	AIRFLOW_HOME=$(OMNILAKE_HOME)/_airflow \
	AIRFLOW__CORE__DAGS_FOLDER=$(CURDIR)/dags \
	AIRFLOW__CORE__LOAD_EXAMPLES=False \
	AIRFLOW__API__HOST=$(AIRFLOW__API__HOST) \
	AIRFLOW__API__PORT=$(AIRFLOW__API__PORT) \
	OMNILAKE_HOME=$(OMNILAKE_HOME) \
	$(UV) run airflow standalone
