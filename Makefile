# r4u — `make run` starts the proxy + UI, `make test` runs the tests. Both build their venvs first.
PYTHON ?= python3
VENV := .venv
APP_VENV := .venv-app
PHOENIX_VENV := .venv-phoenix
# The OTLP receiver the export tests run end to end (tests/test_export_phoenix.py); pinned so its
# install time and its reading of the GenAI conventions stay what docs/export.md says.
PHOENIX_VERSION := 20.26.1
BIN := $(VENV)/bin
R4U_ARGS ?=

.PHONY: run test lint bench bench-grouping bench-sessions bench-storage bench-export demo venv app-venv node-env phoenix-venv codex system-packages clean update-prices

venv: $(VENV)/.installed
app-venv: $(APP_VENV)/.installed
phoenix-venv: $(PHOENIX_VENV)/.installed-$(PHOENIX_VERSION)

# The proxy's environment: r4u with the proxy extra (mitmproxy, Datasette, …) and the dev tools.
$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "r4u needs Python >= 3.11 (set PYTHON=python3.x)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $@

# An application's environment, as a user's app would have it: the stdlib-only shim plus the
# official SDKs and HTTP clients. Kept apart because mitmproxy 11 pins h11 below what openai 3 needs.
APP_SDKS := openai 'anthropic[vertex]' google-genai boto3 cohere ollama huggingface_hub
$(APP_VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(APP_VENV)
	$(APP_VENV)/bin/python -m pip install -q --upgrade pip
	$(APP_VENV)/bin/python -m pip install -q -e . $(APP_SDKS) httpx requests aiohttp websockets
	@touch $@

# The real Codex CLI (a Rust binary in an npm package, ~50 s to install, 420 MB) for the WebSocket tests:
# Codex talks to the Responses API over a WebSocket. Pinned so that its wire stays what the tests expect.
CODEX_VERSION := 0.171.0
CODEX := .tools/codex/node_modules/.bin/codex
codex: $(CODEX)
$(CODEX):
	@command -v npm >/dev/null || { echo "the Codex CLI tests need npm (Node.js >= 20): apt-get install nodejs npm"; exit 1; }
	npm install --prefix .tools/codex --no-audit --no-fund --loglevel=error @openai/codex@$(CODEX_VERSION)

# The npm packages the Node tests drive, pinned by tests/node/package-lock.json: the openai and Anthropic
# SDKs, Claude Code, Gemini CLI, and Node 24 as an npm package (~40 s, ~560 MB, once). Install scripts
# are not run (Gemini CLI's optional node-pty and keytar would compile), except Claude Code's, which puts
# its native binary in place.
NODE_ENV := tests/node/node_modules/.installed
node-env: $(NODE_ENV)
$(NODE_ENV): tests/node/package.json tests/node/package-lock.json
	@command -v npm >/dev/null || { echo "the Node tests need Node.js 20+ and npm (apt-get install nodejs npm)"; exit 1; }
	cd tests/node && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	cd tests/node && node node_modules/@anthropic-ai/claude-code/install.cjs
	@touch $@

# Phoenix in a venv of its own: its ~300 dependencies (FastAPI, SQLAlchemy, pandas, ...) stay out of
# the proxy's. Built once per PHOENIX_VERSION (not on every Makefile edit): 6-11 min here (docs/export.md).
$(PHOENIX_VENV)/.installed-$(PHOENIX_VERSION):
	$(PYTHON) -m venv $(PHOENIX_VENV)
	$(PHOENIX_VENV)/bin/python -m pip install -q --upgrade pip
	$(PHOENIX_VENV)/bin/python -m pip install -q 'arize-phoenix==$(PHOENIX_VERSION)'
	@touch $@

run: venv
	$(BIN)/r4u proxy start $(R4U_ARGS)

# Chromium (browser tests) and curl (client tests): installed when missing and allowed, else one line
# saying what to run — before any test starts.
system-packages:
	@tests/system-packages.sh

test: system-packages venv app-venv node-env phoenix-venv codex
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check .

bench: venv
	$(BIN)/python bench/bench.py
	$(BIN)/python bench/startup.py

demo: venv app-venv
	$(BIN)/r4u demo

# Copy the newest genai-prices release's price data into r4u_proxy/pricing/data (and the reference prices
# tests check against). Needs Python 3.12+ (PYTHON=python3.12 VENV=.venv-py312): see pricing/snapshot.py.
update-prices: venv
	$(BIN)/python -m pip install -q --upgrade genai-prices
	$(BIN)/python -m r4u_proxy.pricing.update_snapshot

clean:
	rm -rf $(VENV) $(APP_VENV) $(PHOENIX_VENV) .tools build *.egg-info test-artifacts tests/node/node_modules

# OTLP export: proxy p50 with live export on vs off (same run), batch export traces/s; writes its section
# of docs/benchmarks.md.
bench-export: venv
	$(BIN)/python bench/export_bench.py

# Task grouping: prompt corpus GA/exactness, Loghub-2k beside drain3 (bench-only dependency), proxy
# latency with grouping off vs busy; writes docs/benchmarks-grouping.md.
bench-grouping: venv
	$(BIN)/python -c 'import drain3' 2>/dev/null || $(BIN)/python -m pip install -q -e '.[bench]'
	$(BIN)/python bench/grouping/run.py

# Session inference per call at turn 1 and turn 200 of a long recorded Claude Code session (writer side).
bench-sessions: venv
	$(BIN)/python bench/sessions_bench.py

# Content storage: one 50- and one 200-turn agent session on disk and in writer CPU, now vs before
bench-storage: venv
	$(BIN)/python bench/storage_bench.py --docs
