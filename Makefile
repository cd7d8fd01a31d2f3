# CloudTrail Guardian. `make demo` and `make test` set themselves up (virtualenv, pip, npm) and are idempotent.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PYTEST_WORKERS ?= 2

# The CDK CLI and jsii run on the Node.js 24 LTS that `npm ci` puts in node_modules (package.json pins it): Node 20,
# the machine's own, is end-of-life and both tools say so. Nothing is silenced: their warnings pass through.
export PATH := $(CURDIR)/node_modules/.bin:$(PATH)
export CDK_DISABLE_CLI_TELEMETRY := true
export PYTHONPATH := $(CURDIR)

.PHONY: help setup demo test lint typecheck unit bench cost architecture synth deploy diff scp stackset format clean

help:
	@echo "make demo   - run the guardian against a local AWS simulation (moto_server on 127.0.0.1)"
	@echo "make test   - lint, type-check and run the whole test suite"
	@echo "make bench  - print cold-start, latency, heal-time and asset-size figures (BENCH_AGAINST=<commit> to compare)"
	@echo "make cost   - print the monthly cost of a deployment from its templates (COST_ARGS='--regions 17 ...')"
	@echo "make architecture - print guardian/'s modules, import graph and the modules one event passes through"
	@echo "make synth  - synthesize the CloudFormation template (cdk-nag runs on every synth)"
	@echo "make deploy - cdk deploy into the account of your current AWS credentials (pass CDK_ARGS='-c alertEmails=...')"
	@echo "make scp BREAK_GLASS_ROLE=name - render the service control policies that protect audit logging and the guardian"
	@echo "make stackset - write the self-contained CloudFormation StackSets template (build/stackset)"

$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("Python 3.11 or newer is required, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .  # the `guardian` command
	@touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

setup: $(VENV)/.installed node_modules/.installed

demo: setup
	$(PY) -m simulation

lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(VENV)/bin/lint-imports

typecheck: setup
	$(PY) -m mypy

# One worker per module (--dist loadscope): each e2e module deploys once, on one worker. (--dist loadgroup would
# group by xdist_group marks, but pytest 9.2 silently undoes xdist 3.8's grouping: pytest-xdist issue 1386.)
unit: setup
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadscope

test: lint typecheck unit

bench: setup
	$(PY) scripts/bench.py $(if $(BENCH_AGAINST),--against $(BENCH_AGAINST))
	$(PY) scripts/bench_console.py
	$(PY) scripts/bench_org.py  # 8. status --org, 200 accounts x 4 Regions: recorded once in moto, replayed at 25 ms
	$(PY) scripts/report_print.py  # 7. the report printed by headless Chromium (A4, Letter)
	$(PY) scripts/bench_burst.py  # 6. a minute of attack, in virtual time: 25 to 50 minutes of wall time on 2 cores

# The monthly cost, from the synthesized templates and a stated volume; prices in scripts/prices.json (dated).
cost: setup
	$(PY) scripts/cost.py $(COST_ARGS)

architecture: setup
	$(PY) scripts/architecture.py

# CDK_ARGS reaches the CDK CLI as written: taken literally here (no make or shell expansion of $, quotes or braces)
# and split by scripts/cdk_args.py at spaces outside JSON brackets and quotes. CDK: the CLI to run (tests use a fake).
CDK ?= npx cdk
override CDK_ARGS := $(value CDK_ARGS)
export CDK_ARGS

synth: setup
	$(PY) scripts/cdk_args.py $(CDK) synth --quiet

diff: setup
	$(PY) scripts/cdk_args.py $(CDK) diff

deploy: setup
	$(PY) scripts/cdk_args.py $(CDK) deploy

scp: setup
	@test -n "$(BREAK_GLASS_ROLE)" || { echo "usage: make scp BREAK_GLASS_ROLE=<IAM role name> [STACK_NAME=...] [QUALIFIER=...] [LAKE_PROVIDER_ROLE=<arn>]"; exit 2; }
	$(PY) scripts/render_scp.py --break-glass-role "$(BREAK_GLASS_ROLE)" --stack-name "$(or $(STACK_NAME),CloudTrailGuardian)" --qualifier "$(or $(QUALIFIER),hnb659fds)" --lake-provider-role "$(LAKE_PROVIDER_ROLE)"

stackset: setup
	$(PY) scripts/stackset.py $(STACKSET_ARGS)

format: setup
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

clean:
	rm -rf cdk.out build .pytest_cache .mypy_cache .ruff_cache .hypothesis
