# Quick start targets. Each installs what it needs into .venv on first use.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.stance-installed

.PHONY: pipeline test test-fast lint bench install ui server server-stop clean

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install -qq -c requirements.lock -e '.[dev,dvc]'
	touch $(STAMP)

install: $(STAMP)

## The whole pipeline on the shipped seeds: build the dataset, train and compare, evaluate.
pipeline: $(STAMP)
	$(BIN)/stance pipeline

## The test suite (slow end-to-end tests included).
test: $(STAMP)
	$(BIN)/python -m pytest

## The everyday subset: every test but the slow end-to-end ones (about three minutes).
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow"

## Lint, format check and type check (configured in pyproject.toml).
lint: $(STAMP)
	$(BIN)/ruff check training tests benchmarks
	$(BIN)/ruff format --check training tests benchmarks
	$(BIN)/mypy

## Speed and memory against references, measured side by side.
bench: $(STAMP)
	$(BIN)/python -m pip install -qq -c requirements.lock -e '.[bench]'
	$(BIN)/python -m benchmarks

## The MLflow dashboard on the default store.
ui: $(STAMP)
	$(BIN)/mlflow ui --backend-store-uri sqlite:///mlflow.db --port 5000

## A team's services on this machine: PostgreSQL, an MLflow server on it, a Dask scheduler and two workers.
## Writes .team/env (MLFLOW_TRACKING_URI, STANCE_CLUSTER); `source .team/env` points stance at them.
server: $(STAMP)
	$(BIN)/python -m training.services up --dir .team

server-stop:
	$(BIN)/python -m training.services down --dir .team

clean:
	rm -rf data models/stance-classifier mlflow.db mlruns mlartifacts
