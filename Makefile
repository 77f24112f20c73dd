# Everything a user or CI needs, each target creating the virtual environment when missing.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# Modules whose every line and branch must be covered.
CRITICAL := gateway/policy/*,gateway/audit/*,gateway/storage/*,gateway/identity/*,gateway/stepup/*,gateway/approvals/*,gateway/notify/*,gateway/embedded_db.py,gateway/runtime/*,gateway/devices/*,gateway/expressions/*,gateway/callers/*,gateway/tickets/*,gateway/troubleshooting/*,gateway/selfservice/*,gateway/knowledge/*,gateway/changes/*,gateway/enforcement/*,gateway/http/*,gateway/offline/*,gateway/chat/*,gateway/privacy/*

.PHONY: help run test check lint types coverage policy bench clean servers

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)  ## decide the starter scenarios on embedded defaults
	$(BIN)/gateway demo

check: lint types  ## format, lint and type checks

lint: $(STAMP)
	$(BIN)/ruff format --check gateway tests benchmarks
	$(BIN)/ruff check gateway tests benchmarks

types: $(STAMP)
	$(BIN)/mypy gateway

policy: $(STAMP)  ## validate the policy bundle and run its policy tests
	$(BIN)/gateway policy check
	$(BIN)/gateway policy test
	$(BIN)/gateway policy fmt --check

servers:  ## install the servers the tests start (slapd, prometheus, postgresql), or say how
	@bash .ci/servers

test: servers check policy  ## the whole suite with its coverage gates
	$(BIN)/pytest -n auto --dist worksteal --cov --cov-report=term --cov-fail-under=90 --durations=25
	$(BIN)/coverage report --include='$(CRITICAL)' --fail-under=100 --skip-covered

bench: $(STAMP)  ## every benchmark, with ratios against the naive baselines
	$(BIN)/python -m benchmarks.decisions
	$(BIN)/python -m benchmarks.changes
	$(BIN)/python -m benchmarks.audit
	$(BIN)/python -m benchmarks.identity
	$(BIN)/python -m benchmarks.obligations
	$(BIN)/python -m benchmarks.runtime
	$(BIN)/python -m benchmarks.http_decisions
	$(BIN)/python -m benchmarks.http_decisions --workers 2
	$(BIN)/python -m benchmarks.http_decisions --storage postgresql
	$(BIN)/python -m benchmarks.tickets
	$(BIN)/python -m benchmarks.troubleshooting
	$(BIN)/python -m benchmarks.monitoring
	$(BIN)/python -m benchmarks.selfservice
	$(BIN)/python -m benchmarks.knowledge
	$(BIN)/python -m benchmarks.cel_candidates
	$(BIN)/python -m benchmarks.policy_impact
	$(BIN)/python -m benchmarks.offline
	$(BIN)/python -m benchmarks.privacy
	$(BIN)/python -m benchmarks.shared_stores
	$(BIN)/python -m benchmarks.audit_postgres
	$(BIN)/python -m benchmarks.postgres_executions
	$(BIN)/python -m benchmarks.chat

clean:
	rm -rf $(VENV) .coverage .mypy_cache .pytest_cache .ruff_cache .hypothesis
