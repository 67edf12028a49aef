# The whole developer interface. `make help` lists the targets.
#
#   make demo                              synthetic demo state -> landing zone -> warehouse
#   make test                              the whole test suite (what CI runs)
#   make run LANDING=<dir> WAREHOUSE=<dir> run the nightly job once, in-process
#   make dev                               Dagster UI over the same instance
#   make lint | make bench | make clean

PYTHON ?= python3
VENV = .venv
PY = $(VENV)/bin/python
STAMP = $(VENV)/.installed
BENCH_ARGS ?=
DEV_PORT ?= 3000

# The local Dagster instance (see dagster.yaml). Both must be absolute paths.
export DAGSTER_HOME := $(abspath var/dagster_home)
export WW_DAGSTER_STORAGE := $(abspath var/dagster)

.DEFAULT_GOAL := help
.PHONY: help venv demo run dev test lint bench clean distclean

help:
	@echo "make demo                               generate the demo state and run the pipeline on it"
	@echo "make test                               run the whole test suite"
	@echo "make run LANDING=<dir> WAREHOUSE=<dir>  run nightly_job once against a landing zone"
	@echo "make dev                                Dagster UI on http://127.0.0.1:$(DEV_PORT)"
	@echo "make lint                               ruff check, ruff format --check, mypy (libraries)"
	@echo "make bench [BENCH_ARGS=...]             benchmark harness"
	@echo "make clean | make distclean             remove var/ and caches | also the venv"

# The venv is (re)built only when pyproject.toml changes.
$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@test -x $(VENV)/bin/uv || $(VENV)/bin/pip install --quiet --disable-pip-version-check uv
	$(VENV)/bin/uv pip install --quiet --python $(PY) -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

# The Makefile's instance follows the repository's dagster.yaml (the CLI only copies it when missing).
INSTANCE_YAML = $(DAGSTER_HOME)/dagster.yaml
$(INSTANCE_YAML): dagster.yaml
	@mkdir -p $(DAGSTER_HOME) $(WW_DAGSTER_STORAGE)
	cp dagster.yaml $@

demo: $(STAMP)
	$(PY) -m synthetic --tier demo --seed 42 --out var/demo
	$(MAKE) --no-print-directory run LANDING=var/demo/landing WAREHOUSE=var/warehouse
	@echo
	@echo "landing zone:  $(abspath var/demo/landing)"
	@echo "ground truth:  $(abspath var/demo/truth)"
	@echo "warehouse:     $(abspath var/warehouse)"
	@echo "analytics:     $(abspath var/warehouse/analytics.duckdb)  $(abspath var/warehouse/parquet)"
	@echo "dictionary:    $(abspath var/warehouse/docs/data_dictionary.md)"
	@echo "reports:       $(abspath var/warehouse/reports/performance_report.xlsx)  $(abspath var/warehouse/reports/performance_report.html)"
	@echo "dagster home:  $(DAGSTER_HOME)   (make dev to browse the run)"

run: $(STAMP) $(INSTANCE_YAML)
	$(if $(LANDING),,$(error LANDING is required: make run LANDING=<landing-zone dir> WAREHOUSE=<warehouse dir>))
	$(if $(WAREHOUSE),,$(error WAREHOUSE is required: make run LANDING=<landing-zone dir> WAREHOUSE=<warehouse dir>))
	$(PY) -m pipelines run --landing $(LANDING) --warehouse $(WAREHOUSE)

dev: $(STAMP) $(INSTANCE_YAML)
	$(VENV)/bin/dagster dev -m pipelines.definitions -h 127.0.0.1 -p $(DEV_PORT)

test: $(STAMP)
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy linkage quality_checks warehouse sources synthetic

bench: $(STAMP)
	$(PY) -m bench $(BENCH_ARGS)

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
	find . -path ./$(VENV) -prune -o -type d -name __pycache__ -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
