# The two set-up commands: `make demo` (dashboards in Voila) and `make test` (the whole suite).
# Both create .venv when needed and install with the same pins (constraints.txt).

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PORT   ?= 8866
UV_VERSION := 0.13.9
UV     := UV_PYTHON_DOWNLOADS=never $(BIN)/uv

.PHONY: demo test install install-test system-deps lint bench constraints clean

$(BIN)/uv:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

install: $(BIN)/uv
	$(UV) pip install --quiet --python $(BIN)/python -c constraints.txt -e ".[all]"

install-test: $(BIN)/uv
	$(UV) pip install --quiet --python $(BIN)/python -c constraints.txt -e ".[all,test,bench]"

system-deps:
	./scripts/install-system-deps.sh

## demo: serve the curated dashboards on http://127.0.0.1:$(PORT) (embedded defaults, no account, no network)
demo: install
	$(BIN)/codex-jupyter demo --port $(PORT)

## test: lint, unit + integration + browser tests, nbval over notebooks/, and the benchmarks in quick mode
test: install-test system-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	./scripts/kafka-jars.sh >/dev/null
	$(BIN)/python -m pytest tests notebooks --nbval-lax
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
	$(UV) pip compile pyproject.toml --extra test -c constraints.in --python-version 3.11 -o constraints.txt

clean:
	rm -rf $(VENV) artifacts .pytest_cache
