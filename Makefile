# One entry point for every check: people, CI (.ci/run) and hooks all call these targets.
# Placeholder; the full setup/demo targets land with the foundation commit.
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: lint typecheck unit test
lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
typecheck:
	$(BIN)/mypy
unit:
	$(BIN)/pytest -q
test: lint typecheck unit
