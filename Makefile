# The two set-up commands: `make demo` (dashboards in Voila) and `make test` (the whole suite).
# Both create .venv when needed and install with the same pins (constraints.txt).

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PORT   ?= 8866
UV_VERSION := 0.13.9
UV     := UV_PYTHON_DOWNLOADS=never $(BIN)/uv
# The JupyterLab extension: built with the machine's Node.js from the npm registry (lockfile pins), shipped prebuilt.
LABEXT := labextension
LABEXT_DEPS  := $(LABEXT)/node_modules/.package-lock.json
LABEXT_BUILT := codex_jupyter/labextension/static/style.js

# Curated notebooks stored with their outputs: nbval compares every cell not marked NBVAL_IGNORE_OUTPUT (live,
# timed and widget cells are). The others only have to run. After editing one, re-run it with
# `jupyter nbconvert --to notebook --execute --inplace --ExecutePreprocessor.store_widget_state=False NOTEBOOK`.
NBVAL_STRICT := notebooks/analytics.ipynb notebooks/anomalies.ipynb notebooks/maps.ipynb notebooks/iot.ipynb \
	notebooks/forecasting.ipynb notebooks/feedback.ipynb notebooks/overview.ipynb \
	notebooks/bi.ipynb
# Notebooks not yet stored with outputs only have to run (none today). The guard matters: `pytest --nbval-lax`
# with no notebook runs the whole test suite a second time.
NBVAL_LAX := $(filter-out $(NBVAL_STRICT),$(wildcard notebooks/*.ipynb))

.PHONY: demo test install install-test labextension widgets-js system-deps lint bench constraints binder-requirements clean

$(BIN)/uv:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

## widgets-js: the anywidget bundles (Tableau's Embedding API v3 from npm, bundled with esbuild into the package)
widgets-js:
	cd js && npm ci --no-audit --no-fund --loglevel=error && npm run build --silent

# --reinstall-package: the editable install copies the built labextension into the venv, so refresh that copy
install: $(BIN)/uv $(LABEXT_BUILT) widgets-js
	$(UV) pip install --quiet --python $(BIN)/python -c constraints.txt --reinstall-package codex-jupyter -e ".[all]"

install-test: $(BIN)/uv $(LABEXT_BUILT) widgets-js
	$(UV) pip install --quiet --python $(BIN)/python -c constraints.txt --reinstall-package codex-jupyter \
		-e ".[all,test,bench]"

$(LABEXT_DEPS): $(LABEXT)/package-lock.json $(LABEXT)/package.json
	cd $(LABEXT) && npm ci --no-audit --no-fund --loglevel=error

$(LABEXT_BUILT): $(LABEXT_DEPS) $(LABEXT)/tsconfig.json $(wildcard $(LABEXT)/src/*.ts) $(wildcard $(LABEXT)/style/*)
	cd $(LABEXT) && npm run --silent build:prod

## labextension: build the JupyterLab extension into codex_jupyter/labextension (skipped when up to date)
labextension: $(LABEXT_BUILT)

system-deps:
	./scripts/install-system-deps.sh

## demo: serve the curated dashboards on http://127.0.0.1:$(PORT) (embedded defaults, no account, no network)
demo: install
	$(BIN)/codex-jupyter demo --port $(PORT)

## test: lint, unit + integration + browser tests (on two workers: each file's tests on one, so a worker starts
## the brokers and servers its files need), nbval over notebooks/, and the benchmarks in quick mode
test: install-test system-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	cd $(LABEXT) && npm test --silent
	./scripts/kafka-jars.sh >/dev/null
	$(BIN)/python -m pytest tests -n 2 --dist loadfile
	$(BIN)/python -m pytest --nbval $(NBVAL_STRICT)
	$(if $(NBVAL_LAX),$(BIN)/python -m pytest --nbval-lax $(NBVAL_LAX))
	$(BIN)/python benchmarks/warehouse.py --quick
	$(BIN)/python benchmarks/anomaly.py --quick
	$(BIN)/python benchmarks/maps.py --quick
	$(BIN)/python benchmarks/forecast.py --quick
	$(BIN)/python benchmarks/clv.py --quick
	$(BIN)/python benchmarks/streams.py --quick
	$(BIN)/python benchmarks/text.py --quick

## bench: the full benchmarks (figures quoted in the notes)
bench: install-test
	$(BIN)/python benchmarks/warehouse.py
	$(BIN)/python benchmarks/anomaly.py
	$(BIN)/python benchmarks/maps.py
	$(BIN)/python benchmarks/forecast.py
	$(BIN)/python benchmarks/clv.py
	$(BIN)/python benchmarks/streams.py
	$(BIN)/python benchmarks/text.py

## constraints: re-resolve the pins after changing pyproject.toml or constraints.in
constraints: $(BIN)/uv
	$(UV) pip compile pyproject.toml --all-extras -c constraints.in --python-version 3.11 -o constraints.txt
	$(BIN)/python scripts/binder_requirements.py

## binder-requirements: rewrite binder/requirements.txt from constraints.txt (a unit test fails when it is stale)
binder-requirements:
	$(PYTHON) scripts/binder_requirements.py

clean:
	rm -rf $(VENV) artifacts .pytest_cache $(LABEXT)/node_modules $(LABEXT)/lib codex_jupyter/labextension
