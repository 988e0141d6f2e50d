# Set-up is part of every target: a fresh machine needs only Python 3.11+ and make.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: plan test install example tutorial clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

# Bytecode compiled up front: where PYTHONDONTWRITEBYTECODE is set (as on CI), every
# `planner` process would otherwise compile the package from source (~0.15 s each).
plan: $(STAMP)
	$(BIN)/python -m compileall -q planner
	$(BIN)/planner run inputs/example.xlsx -o outputs/example-plan.xlsx

test: $(STAMP)
	$(BIN)/python -m compileall -q planner
	$(BIN)/python -m pytest -n auto

# Rebuild inputs/example.xlsx from its readable source.
example: $(STAMP)
	$(BIN)/python inputs/build_example.py

# Regenerate docs/tutorial.md from a fresh run of the example (tests check it is current).
tutorial: $(STAMP)
	$(BIN)/python docs/make_tutorial.py

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
