"""The three measurements, each against one Target, with httpx as a typical Python client would use it."""

from __future__ import annotations

import statistics
import threading
import time
from dataclasses import dataclass

import httpx
from processes import Target, cpu_seconds

SMALL_CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Say hello in five words."}]}
STREAM_CHAT = {**SMALL_CHAT, "stream": True, "stream_options": {"include_usage": True}}


def _client(target: Target) -> httpx.Client:
    # trust_env=False: the machine's own proxy settings must not leak into the measurement.
    return httpx.Client(proxy=target.proxy, verify=target.ssl_context(), trust_env=False, timeout=30)


def warm_up(target: Target, requests: int = 50) -> None:
    """Open the connection (TLS to proxy and upstream, cert minting) and let caches settle."""
    with _client(target) as client:
        for _ in range(requests):
            client.post(target.url, json=SMALL_CHAT).raise_for_status()


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


@dataclass
class Latency:
    p50_ms: float
    p95_ms: float
    proxy_cpu_ms: float | None  # proxy CPU time per request (process tree), None without a proxy


def sequential_latency(target: Target, requests: int) -> Latency:
    """Request after request on one keep-alive connection: the added cost of one hop."""
    durations = []
    cpu_before = cpu_seconds(target.pid) if target.pid else None
    with _client(target) as client:
        for _ in range(requests):
            start = time.perf_counter()
            response = client.post(target.url, json=SMALL_CHAT)
            response.read()
            durations.append((time.perf_counter() - start) * 1000)
            response.raise_for_status()
    cpu_after = cpu_seconds(target.pid) if target.pid else None
    cpu_ms = None
    if cpu_before is not None and cpu_after is not None:
        cpu_ms = (cpu_after - cpu_before) * 1000 / requests
    return Latency(percentile(durations, 0.50), percentile(durations, 0.95), cpu_ms)


def concurrent_throughput(target: Target, concurrency: int, requests: int) -> float:
    """Requests per second with `concurrency` requests in flight: one thread and connection each.

    Threads with sync clients rather than httpx.AsyncClient: on this machine the async client managed
    ~140 req/s against the bare simulator (seconds-long tail latencies), far below what the servers do.
    """
    remaining = iter(range(requests))
    claim = threading.Lock()  # next() on a shared iterator is not atomic across threads
    connected = threading.Barrier(concurrency + 1)
    failures: list[BaseException] = []

    def worker() -> None:
        with _client(target) as client:
            try:
                client.post(target.url, json=SMALL_CHAT).raise_for_status()  # connect before the clock
            finally:
                connected.wait()
            while True:
                with claim:
                    if next(remaining, None) is None:
                        return
                try:
                    client.post(target.url, json=SMALL_CHAT).raise_for_status()
                except httpx.HTTPError as error:
                    failures.append(error)
                    return

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    connected.wait()
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    if failures:
        raise RuntimeError(f"{len(failures)} requests failed through {target.name}: {failures[0]!r}")
    return requests / elapsed


@dataclass
class StreamTiming:
    first_event_ms: float  # request sent → first SSE event (the role chunk) at the client
    total_ms: float  # request sent → end of the stream


def stream_timing(target: Target, events: int, gap_ms: int, repeats: int) -> StreamTiming:
    """Time to first event and total time of a synthetic stream (`x-sim-events` with `x-sim-gap-ms`).

    A proxy that buffers the stream shows a first-event time close to the total.
    """
    headers = {"x-sim-events": str(events), "x-sim-gap-ms": str(gap_ms)}
    firsts, totals = [], []
    with _client(target) as client:
        for _ in range(repeats):
            start = time.perf_counter()
            first = None
            with client.stream("POST", target.url, json=STREAM_CHAT, headers=headers) as response:
                response.raise_for_status()
                for chunk in response.iter_raw():
                    if first is None and b"data:" in chunk:
                        first = time.perf_counter()
            end = time.perf_counter()
            firsts.append(((first or end) - start) * 1000)
            totals.append((end - start) * 1000)
    return StreamTiming(statistics.median(firsts), statistics.median(totals))
