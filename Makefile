# Two set-up commands on a fresh machine (Python 3.11+ and make are the only prerequisites):
#   make up     create .venv, install the locked dependencies, start the whole local stack
#               (PostgreSQL, Temporal dev server + Web UI, migrations, worker) and run the
#               demonstration trajectory; Ctrl-C stops every process it started.
#   make test   ruff, mypy --strict and the whole pytest suite against real servers.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: up stack test lint typecheck pytest install lock clean

up: $(STAMP)
	$(BIN)/python -m stack up --demo

stack: $(STAMP)
	$(BIN)/python -m stack up

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/pytest -q -n 2 --dist loadfile --durations=25

install: $(STAMP)

$(STAMP): requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is required (found " + sys.version.split()[0] + ")")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r requirements.lock
	touch $(STAMP)

# Re-resolve the pinned versions in pyproject.toml into the hashed lock file.
lock: $(STAMP)
	$(BIN)/pip install --quiet pip-tools==7.6.2
	$(BIN)/pip-compile --quiet --allow-unsafe --extra=dev --generate-hashes \
		--no-emit-index-url --no-emit-find-links --output-file=requirements.lock pyproject.toml

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
