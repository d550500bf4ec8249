# r4u — `make run` starts the proxy + UI, `make test` runs the tests. Both build their venvs first.
PYTHON ?= python3
VENV := .venv
APP_VENV := .venv-app
BIN := $(VENV)/bin
R4U_ARGS ?=

.PHONY: run test lint bench bench-grouping demo venv app-venv system-packages codex clean

venv: $(VENV)/.installed
app-venv: $(APP_VENV)/.installed

# The proxy's environment: r4u with the proxy extra (mitmproxy, Datasette, …) and the dev tools.
$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "r4u needs Python >= 3.11 (set PYTHON=python3.x)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $@

# An application's environment, as a user's app would have it: the stdlib-only shim plus the
# official SDKs and HTTP clients. Kept apart because mitmproxy 11 pins h11 below what openai 3 needs.
$(APP_VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(APP_VENV)
	$(APP_VENV)/bin/python -m pip install -q --upgrade pip
	$(APP_VENV)/bin/python -m pip install -q -e . openai anthropic httpx requests aiohttp websockets google-genai
	@touch $@

# The real Codex CLI (a Rust binary in an npm package, ~50 s to install, 420 MB) for the WebSocket tests:
# Codex talks to the Responses API over a WebSocket. Pinned so that its wire stays what the tests expect.
CODEX_VERSION := 0.171.0
CODEX := .tools/codex/node_modules/.bin/codex
codex: $(CODEX)
$(CODEX):
	@command -v npm >/dev/null || { echo "the Codex CLI tests need npm (Node.js >= 20): apt-get install nodejs npm"; exit 1; }
	npm install --prefix .tools/codex --no-audit --no-fund --loglevel=error @openai/codex@$(CODEX_VERSION)

run: venv
	$(BIN)/r4u proxy start $(R4U_ARGS)

# Chromium (browser tests) and curl (client tests): installed when missing and allowed, else one line
# saying what to run — before any test starts.
system-packages:
	@tests/system-packages.sh

test: system-packages venv app-venv codex
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check .

bench: venv
	$(BIN)/python bench/bench.py

demo: venv app-venv
	$(BIN)/r4u demo

clean:
	rm -rf $(VENV) $(APP_VENV) .tools build *.egg-info test-artifacts

# Task grouping: prompt corpus GA/exactness, Loghub-2k beside drain3 (bench-only dependency), proxy
# latency with grouping off vs busy; writes docs/benchmarks-grouping.md.
bench-grouping: venv
	$(BIN)/python -c 'import drain3' 2>/dev/null || $(BIN)/python -m pip install -q -e '.[bench]'
	$(BIN)/python bench/grouping/run.py
