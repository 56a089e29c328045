# Every target creates .venv with the pinned dependencies when it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# checkov pins libraries of its own: it lives in a venv beside the project's
CHECKOV_VENV := .venv-checkov
CHECKOV := $(CHECKOV_VENV)/bin/checkov
# so does schemathesis: it brings hypothesis, which pandera then imports in every run process that
# validates (0.4 s); the project's venv stays what the Dagster image holds
SCHEMATHESIS_VENV := .venv-schemathesis
SCHEMATHESIS := $(SCHEMATHESIS_VENV)/bin/st

.PHONY: help run demo test test-unit lint format docs screenshots bench bench-flow bench-current install clean deploy

## make help: this list
help:
	@sed -n 's/^## \(make \)\{0,1\}//p' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml $(wildcard txdagster/ingest/*.c txdagster/ingest/*.h)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,local]'
	touch $(STAMP)

$(CHECKOV):
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/pip install --quiet 'checkov==3.3.30'

$(SCHEMATHESIS):
	$(PYTHON) -m venv $(SCHEMATHESIS_VENV)
	$(SCHEMATHESIS_VENV)/bin/pip install --quiet --upgrade pip
	$(SCHEMATHESIS_VENV)/bin/pip install --quiet 'schemathesis==4.32.5'

## make install: .venv with the pinned dependencies, and the tool venvs of checkov and schemathesis
install: $(STAMP) $(CHECKOV) $(SCHEMATHESIS)

## make run: the embedded AWS stack, the Lambda runtime and Dagster (UI on :3000) with sample traffic
run: $(STAMP)
	$(BIN)/txdagster up --traffic

## make demo: headless end-to-end run that exits 0 only when every record is where it belongs
demo: $(STAMP)
	$(BIN)/txdagster demo

## make test: unit, integration (embedded stack) and end-to-end tests, on four pytest-xdist workers (a file each, slowest first; the tests wait on the stack much of the time: four beat three on two cores)
test: $(STAMP) $(CHECKOV) $(SCHEMATHESIS)
	$(BIN)/python -m pytest tests -n 4 --dist loadfile --no-loadscope-reorder

## make test-unit: the unit tests alone (no embedded stack; seconds)
test-unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit

## make lint: ruff (format, rules, complexity, argument counts), basedpyright (strict below Dagster), cfn-lint, checkov
lint: $(STAMP) $(CHECKOV)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/basedpyright
	$(BIN)/cfn-lint infra/template.yaml infra/dagster-ecs.yaml
	$(CHECKOV) --quiet --compact --skip-download --framework cloudformation -f infra/template.yaml -f infra/dagster-ecs.yaml

## make format: ruff formats the tree and fixes what it can
format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## make docs: regenerate docs/configuration.md (from Settings) and docs/openapi.json (from the Data API's routes)
docs: $(STAMP)
	$(BIN)/python -m txdagster.settings > docs/configuration.md
	$(BIN)/txdagster openapi --output docs/openapi.json

## make screenshots: docs/lineage.png, the Dagster UI's asset lineage, taken by the browser test (needs Debian's chromium)
screenshots: $(STAMP)
	TXD_SCREENSHOT_DIR=docs $(BIN)/python -m pytest tests/e2e/test_cli.py -k lineage

## make bench: the ingest road, bare pyarrow and DuckDB on 1M-row inputs, each in its own process (7 interleaved rounds; rows/s, MB/s, MB/s per core; ratios to both anchors judged round by round), and the road's memory on 3x the rows; figures in .local/bench.json, the road's profile (py-spy, once per input) in .local/bench-profile.md
bench: $(STAMP)
	$(BIN)/python -m bench --json .local/bench.json --profile .local/bench-profile.md

## make bench-flow: the full road at 10 msg/s for 10 minutes on a stack of its own; .local/bench-flow.{json,png}
bench-flow: $(STAMP)
	$(BIN)/txdagster bench flow --rate 10 --minutes 10

## make bench-current: change batches applied to an Iceberg transactions_current of 1M rows (1,000 a batch) and 10M rows (100,000 a batch), p50/p95 beside the full-log recompute; count(*); figures in .local/bench-current.json
bench-current: $(STAMP)
	$(BIN)/python -m bench.current --json .local/bench-current.json

## make deploy ARTIFACT_BUCKET=b [DEPLOY_PARAMETERS="LambdaLayerArns=arn…"] [IMAGE=uri VPC=vpc-… SUBNETS=subnet-a,subnet-b]:
## create or update the data plane in AWS (Lambda zip, template, registry, Glue tables); with IMAGE also Dagster on ECS
deploy: $(STAMP)
	@test -n "$(ARTIFACT_BUCKET)" || { echo "make deploy needs ARTIFACT_BUCKET=<bucket for the Lambda zip>"; exit 2; }
	$(BIN)/txdagster deploy --artifact-bucket $(ARTIFACT_BUCKET) $(foreach p,$(DEPLOY_PARAMETERS),--parameter $(p))
	@if [ -n "$(IMAGE)" ]; then \
	  $(BIN)/txdagster deploy --dagster --parameter ImageUri=$(IMAGE) --parameter VpcId=$(VPC) \
	    --parameter PrivateSubnetIds=$(SUBNETS); \
	fi

## make clean: remove the venvs and the local state folder
clean:
	rm -rf $(VENV) $(CHECKOV_VENV) $(SCHEMATHESIS_VENV) .local
