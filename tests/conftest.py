"""Shared fixtures: the simulator upstream and one real proxy for the session (tests/support/proxy.py)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from support.proxy import RunningProxy, simulator_args, start_proxy

from r4u_proxy.simulator.simulator import Simulator

pytest_plugins = ["support.phoenix", "support.browser"]  # one real Phoenix for the export tests, started early; Chromium


@pytest.fixture(scope="session")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Simulator]:
    with Simulator(tls=True, cert_dir=tmp_path_factory.mktemp("sim-ca")) as simulator:
        yield simulator


@pytest.fixture(scope="session")
def plain_sim() -> Iterator[Simulator]:
    """The simulator over plain HTTP: a server on this machine (Ollama, TGI), reached as http://127.0.0.1:PORT."""
    with Simulator(tls=False) as simulator:
        yield simulator


@pytest.fixture(scope="session")
def proxy(sim: Simulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningProxy]:
    """One proxy for the session (no UI, no grouping), upstream = the simulator."""
    running = start_proxy(tmp_path_factory.mktemp("r4u-home"), "--no-ui", "--no-grouping", *simulator_args(sim))
    yield running
    running.stop()


@pytest.fixture
def no_price_overrides() -> Iterator[None]:
    """Prices from the price data alone: the developer's own ~/.r4u/prices.toml must not leak into figures."""
    from r4u_proxy import pricing

    pricing.configure(None)
    yield
    pricing.configure(None)


@pytest.fixture
def marker() -> str:
    return uuid.uuid4().hex
