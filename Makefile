# One entry point for every check: people, CI (.ci/run) and hooks all call these targets.
#   make demo   set up everything (first time ~12 min on 2 cores), then run one ward round
#   make test   lint, type checks and the whole test suite
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.wardround-installed

.PHONY: help setup demo test lint typecheck unit format lock clean
.DEFAULT_GOAL := help

help: ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

setup: $(STAMP) ## create .venv and install everything (idempotent; fast when done)

$(STAMP): pyproject.toml constraints.txt .ci/setup
	@PYTHON=$(PYTHON) VENV=$(VENV) bash .ci/setup
	@touch $(STAMP)

demo: setup ## start the local model, run one ward round on a shipped patient, stop the model
	@$(BIN)/wardround demo

lint: setup ## ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup ## mypy --strict (configured in pyproject.toml)
	$(BIN)/mypy

unit: setup ## the pytest suite (exit 5, "no tests collected", counts as a failure)
	@$(BIN)/pytest; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing" >&2; exit 1; fi; exit $$rc

test: lint typecheck unit ## everything CI runs

format: setup ## apply ruff's formatting and safe fixes
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

lock: setup ## regenerate constraints.txt from the current environment
	$(BIN)/pip freeze --exclude-editable | grep -v '^wardround' > constraints.txt

clean: ## remove the virtual environment and runtime state (keeps the llama.cpp wheel cache)
	rm -rf $(VENV) .wardround .pytest_cache .mypy_cache .ruff_cache
