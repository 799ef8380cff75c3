# Two commands for a new machine: `make run` and `make test`. Each installs what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUN_STAMP := $(VENV)/.install-run-stamp
DEV_STAMP := $(VENV)/.install-dev-stamp

.PHONY: run test lint format clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Running needs the package and what it depends on; tests and linters add the dev extra.
$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $(RUN_STAMP)

$(DEV_STAMP): $(RUN_STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(DEV_STAMP)

## make run: install, migrate, seed and serve on http://127.0.0.1:8000
run: $(RUN_STAMP)
	$(BIN)/zoo-registry db upgrade
	$(BIN)/zoo-registry seed
	$(BIN)/zoo-registry serve

## make test: install and run the whole suite (SQLite; set ZWR_TEST_DATABASE_URL for PostgreSQL)
test: $(DEV_STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(DEV_STAMP)
	$(BIN)/ruff check app tests migrations bench
	$(BIN)/ruff format --check app tests migrations bench
	$(BIN)/mypy app

format: $(DEV_STAMP)
	$(BIN)/ruff format app tests migrations bench
	$(BIN)/ruff check --fix app tests migrations bench

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache *.egg-info
