# r4u — `make run` starts the proxy + UI, `make test` runs the tests. Both build their venvs first.
PYTHON ?= python3
VENV := .venv
APP_VENV := .venv-app
BIN := $(VENV)/bin
R4U_ARGS ?=

.PHONY: run test lint bench bench-grouping demo venv app-venv system-packages clean update-prices

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
APP_SDKS := openai 'anthropic[vertex]' google-genai boto3 cohere ollama huggingface_hub
$(APP_VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(APP_VENV)
	$(APP_VENV)/bin/python -m pip install -q --upgrade pip
	$(APP_VENV)/bin/python -m pip install -q -e . $(APP_SDKS) httpx requests aiohttp
	@touch $@

run: venv
	$(BIN)/r4u proxy start $(R4U_ARGS)

# Chromium (browser tests) and curl (client tests): installed when missing and allowed, else one line
# saying what to run — before any test starts.
system-packages:
	@tests/system-packages.sh

test: system-packages venv app-venv
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check .

bench: venv
	$(BIN)/python bench/bench.py

demo: venv app-venv
	$(BIN)/r4u demo

# Copy the newest genai-prices release's price data into r4u_proxy/pricing/data (and the reference prices
# tests check against). Needs Python 3.12+ (PYTHON=python3.12 VENV=.venv-py312): see pricing/snapshot.py.
update-prices: venv
	$(BIN)/python -m pip install -q --upgrade genai-prices
	$(BIN)/python -m r4u_proxy.pricing.update_snapshot

clean:
	rm -rf $(VENV) $(APP_VENV) build *.egg-info test-artifacts

# Task grouping: prompt corpus GA/exactness, Loghub-2k beside drain3 (bench-only dependency), proxy
# latency with grouping off vs busy; writes docs/benchmarks-grouping.md.
bench-grouping: venv
	$(BIN)/python -c 'import drain3' 2>/dev/null || $(BIN)/python -m pip install -q -e '.[bench]'
	$(BIN)/python bench/grouping/run.py
