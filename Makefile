# The usual jobs. `./install.sh --test` makes .venv first (and installs lua5.1 for the plugin tests).
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: test test-fast plugin lint format types contracts check bench

# pytest runs on four xdist workers (addopts in pyproject.toml); PYTEST_ARGS="-n 0" runs one process.
test:        ## the whole suite, as CI runs it: 224 s measured on 2 shared cores
	$(PY) -m pytest $(PYTEST_ARGS)

test-fast:   ## everything but the reliability suite (soak, crashes, attacks): 115 s measured on 2 shared cores
	$(PY) -m pytest -m "not reliability" $(PYTEST_ARGS)

plugin:      ## the host plugins against a real bridge: Lightroom's under lua5.1, darktable's under lua5.4
	$(PY) -m pytest tests/test_plugin.py tests/test_darktable.py $(PYTEST_ARGS)

lint:        ## ruff (lint and format), shellcheck, luacheck where installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	if command -v shellcheck >/dev/null; then shellcheck install.sh .ci/run; fi
	if command -v luacheck >/dev/null; then luacheck host-plugin; fi

format:      ## rewrite the Python files in the house style
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

types:       ## mypy on the bridge
	$(VENV)/bin/mypy

contracts:   ## who may import whom (ARCHITECTURE.md's layer table), checked by import-linter
	$(VENV)/bin/lint-imports

check: lint types contracts

bench:       ## benchmarks: ratios against a baseline measured in the same run (about five minutes); python -m bench --write-docs also writes docs/performance.md
	$(PY) -m bench
