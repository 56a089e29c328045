# Every target creates .venv with the pinned dependencies when it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run demo test lint bench install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## make run: the embedded AWS stack, the Lambda runtime and Dagster (UI on :3000) with sample traffic
run: $(STAMP)
	$(BIN)/txdagster up --traffic

## make demo: headless end-to-end run that exits 0 only when every record is where it belongs
demo: $(STAMP)
	$(BIN)/txdagster demo

## make test: unit, integration (embedded stack) and end-to-end tests
test: $(STAMP)
	$(BIN)/python -m pytest tests

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/cfn-lint infra/template.yaml

## make bench: the ingest road, bare pyarrow and DuckDB on 1M-row inputs, each in its own process, and the road's memory on 3x the rows; figures in .local/bench.json
bench: $(STAMP)
	$(BIN)/python -m bench --json .local/bench.json

clean:
	rm -rf $(VENV) .local
