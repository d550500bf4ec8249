"""Helpers around the simulator (the fake LLM upstream) for tests: recorded fixtures, a timed streaming
client, and the environment for an app that talks to the simulator directly (no proxy).

The session-wide `sim` fixture lives in tests/conftest.py; `support.fixtures` adds a few more.
"""

from __future__ import annotations

import csv
import hashlib
import os
import ssl
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from r4u_proxy.simulator import Simulator
from r4u_proxy.simulator.fixtures import default_fixtures_dir, split_events
from support.proxy import REPO

FIXTURES_DIR = default_fixtures_dir()


def manifest() -> list[dict[str, str]]:
    """Rows of the fixtures' MANIFEST.tsv (file, provider, endpoint, notes, request, expected_final, sha256…)."""
    with open(FIXTURES_DIR / "MANIFEST.tsv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES_DIR / name).read_bytes()


def fixture_events(name: str) -> list[bytes]:
    """The fixture cut into SSE events exactly as the simulator sends them (one write each)."""
    return split_events(fixture_bytes(name))


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def trust(sim: Simulator) -> ssl.SSLContext:
    """A client TLS context that trusts the simulator's CA (httpx's `verify=`)."""
    return ssl.create_default_context(cafile=str(sim.ca_path))


def direct_app_env(sim: Simulator, **extra: str) -> dict[str, str]:
    """Environment for an app (in .venv-app) that calls the simulator itself: no proxy, the sim CA trusted."""
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    ca = str(sim.ca_path) if sim.ca_path else ""
    env.update(
        SSL_CERT_FILE=ca,
        REQUESTS_CA_BUNDLE=ca,
        CURL_CA_BUNDLE=ca,
        OPENAI_API_KEY="sk-test-direct-0123456789",
        ANTHROPIC_API_KEY="sk-ant-test-direct-0123456789",
        OPENAI_BASE_URL=sim.url("/v1"),
        ANTHROPIC_BASE_URL=sim.base_url,
        PYTHONPATH=str(REPO),
        **extra,
    )
    return env


@dataclass
class TimedStream:
    """What a client saw of one streamed reply, with the arrival time of every piece."""

    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    started: float = 0.0  # perf_counter() when the request was sent
    pieces: list[tuple[float, bytes]] = field(default_factory=list)  # (seconds since start, raw bytes)
    error: str | None = None  # the transport error that ended the reply early, if any

    @property
    def body(self) -> bytes:
        return b"".join(piece for _, piece in self.pieces)

    @property
    def first_piece_s(self) -> float | None:
        return self.pieces[0][0] if self.pieces else None

    @property
    def last_piece_s(self) -> float | None:
        return self.pieces[-1][0] if self.pieces else None

    def first_time_containing(self, needle: bytes) -> float | None:
        """When the bytes received so far first contained `needle` (for content-encoded replies: raw)."""
        seen = b""
        for at, piece in self.pieces:
            seen += piece
            if needle in seen:
                return at
        return None


def timed_stream(
    url: str,
    payload: Any,
    headers: dict[str, str] | None = None,
    verify: ssl.SSLContext | bool = True,
    proxy: str | None = None,
    decode: bool = False,
    timeout: float = 30.0,
) -> TimedStream:
    """POST `payload` and read the reply as it arrives; never raises for transport errors (see .error).

    `decode=False` keeps the body content-encoded (as the proxy tap sees it); True decodes like an SDK.
    """
    result = TimedStream()
    with httpx.Client(verify=verify, proxy=proxy, timeout=timeout, trust_env=False) as client:
        result.started = time.perf_counter()
        try:
            with client.stream("POST", url, json=payload, headers=headers or {}) as response:
                result.status = response.status_code
                result.headers = dict(response.headers)
                chunks = response.iter_bytes() if decode else response.iter_raw()
                for chunk in chunks:
                    result.pieces.append((time.perf_counter() - result.started, chunk))
        except httpx.HTTPError as error:
            result.error = f"{type(error).__name__}: {error}"
    return result
