"""A pytest plugin with simulator fixtures beyond the session-wide `sim` (tests/conftest.py).

Register with `pytest_plugins = ["support.fixtures"]` in tests/conftest.py.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from r4u_proxy.simulator import Simulator, SimulatorProcess


@pytest.fixture
def fresh_sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Simulator]:
    """A simulator of this test's own (own port, own request log), for tests that stop or count it."""
    with Simulator(tls=True, cert_dir=tmp_path_factory.mktemp("fresh-sim-ca")) as simulator:
        yield simulator


@pytest.fixture
def plain_sim() -> Iterator[Simulator]:
    """A plain-HTTP simulator (no TLS), for clients or proxies tested over http://."""
    with Simulator(tls=False) as simulator:
        yield simulator


@pytest.fixture(scope="session")
def sim_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimulatorProcess]:
    """The simulator in a child process (no shared GIL with the test), for timing-sensitive tests."""
    with SimulatorProcess(tls=True, cert_dir=tmp_path_factory.mktemp("sim-process-ca")) as process:
        yield process
