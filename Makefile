# The README's two commands: `make demo` and `make test`. Each sets up .venv when needed:
# demo installs the core (`pip install -e .`), test every extra with the dev tools.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CORE := $(VENV)/.installed-core
STAMP := $(VENV)/.installed-all
LAB := $(VENV)/.installed-lab

.PHONY: demo test lint typecheck docs floors bench screenshot lab clean

$(VENV)/.installed-%: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.$(EXTRAS_$*)'
	touch $@
EXTRAS_core :=
EXTRAS_lab := [lab]
EXTRAS_all := [all,docs,dev]

demo: $(CORE)
	$(BIN)/kpinb demo

# the HR analyst's explorer in JupyterLab: notebooks/explore.ipynb, parameterised by papermill
# (--prepare-only) into build/lab/; on the demo workspace (written when missing) unless WS=path
WS ?= demo-workspace
PERIOD ?= 2026-Q3
lab: $(LAB)
	if [ "$(WS)" = demo-workspace ] && [ ! -e demo-workspace/kpis.yaml ]; then \
		$(BIN)/kpinb demo --no-run --out demo-workspace; fi
	test -d "$(WS)" || (echo "no workspace folder $(WS)" >&2; exit 2)
	mkdir -p build/lab
	$(BIN)/papermill --prepare-only --log-level ERROR notebooks/explore.ipynb build/lab/explore.ipynb \
		-p workspace "$(abspath $(WS))" -p period "$(PERIOD)"
	$(BIN)/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root) build/lab/explore.ipynb

test: lint
	$(BIN)/python -m pytest -q

# ruff, then mypy over the package as pyproject.toml configures it ([tool.mypy]: strict for
# the analytics, the workspace and the vocabulary of statuses and stories, checked elsewhere)
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# mypy alone
typecheck: $(STAMP)
	$(BIN)/mypy

# the docs site (mkdocs.yml): the pages under docs/ and the API reference from the
# docstrings, built into site/ with every warning (a broken link) an error
docs: $(STAMP)
	$(BIN)/mkdocs build --strict --site-dir site

# the tested floors: pyproject's lowest bounds (uv's lowest-direct resolution) in a second
# environment, .venv-floors, and the fast part of the suite run there
FLOORS := .venv-floors
FAST := tests/workspace tests/analytics tests/report tests/journal
# the core's floors: the tests marked sql need the sql extra, which make test covers
NOT_CORE := -m "not sql"
floors: $(STAMP)
	rm -rf $(FLOORS)
	$(BIN)/uv venv --quiet --python $(BIN)/python $(FLOORS)
	$(BIN)/uv pip install --quiet --python $(FLOORS)/bin/python --resolution lowest-direct \
		. 'pytest>=8' 'hypothesis>=6.100'
	PYTHONPATH=$(CURDIR) $(FLOORS)/bin/python -m pytest -q -p no:cacheprovider $(FAST) $(NOT_CORE)

bench: $(STAMP)
	$(BIN)/python benchmarks/load.py
	$(BIN)/python benchmarks/checks.py
	$(BIN)/python benchmarks/analytics.py
	$(BIN)/python benchmarks/batch.py
	$(BIN)/python benchmarks/signals.py
	$(BIN)/python benchmarks/scale.py
	$(BIN)/python benchmarks/memory.py
	$(BIN)/python benchmarks/organisation.py

# the README's picture (docs/img/employee-report.png): runs the demo when needed, then
# headless Chromium, installed here when missing
screenshot: $(STAMP)
	command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 \
		|| (apt-get update && apt-get install -y chromium)
	$(BIN)/python docs/screenshot.py

clean:
	rm -rf $(VENV) $(FLOORS) site reports/*/ demo-workspace
