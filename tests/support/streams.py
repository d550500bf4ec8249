"""Run a recorded event stream through analyze() as the writer would, for offline expectations."""

from __future__ import annotations

import re

from r4u_proxy.ingest.parse import analyze
from r4u_proxy.providers import route
from r4u_proxy.simulator.fixtures import fixture_content_type

_STATUS_NOTE = re.compile(r"recorded response status (\d+)")


def is_stream_fixture(name: str) -> bool:
    """A recording of a streamed reply (SSE, NDJSON, AWS event stream), not one JSON body."""
    return not name.endswith(".json")


def recorded_status(row: dict) -> int:
    """The HTTP status a MANIFEST row's notes give for its recording (200 when they name none)."""
    match = _STATUS_NOTE.search(row.get("notes") or "")
    return int(match.group(1)) if match else 200


def analyze_response(
    host: str, path: str, chunks: list[tuple[float, bytes]], content_type: str, status: int = 200, **extra
) -> dict:
    """analyze() of a call to `host` and `path` answered with `status` and (arrival time, bytes) chunks."""
    exchange = {
        "path": path,
        "status_code": status,
        "response_headers": [("content-type", content_type)],
        "chunks": chunks,
        **extra,
    }
    return analyze(route(host, path), exchange)


def analyze_recorded(
    host: str, path: str, data: bytes, request_body: bytes = b"", name: str = ".sse", status: int = 200
) -> dict:
    """analyze() of a recorded response (content type by the recording's `name`) that arrived in one chunk."""
    extra = {}
    if request_body:
        extra = {"request_headers": [("content-type", "application/json")], "request_body": request_body}
    content_type = fixture_content_type(name).split(";")[0]
    return analyze_response(host, path.partition("?")[0], [(1.0, data)], content_type, status, **extra)


def assert_summary(result: dict, model, finish, input_tokens, output_tokens, reasoning, starts, ends) -> None:
    """Check analyze()'s summary of a fixture against expectations written by hand from it."""
    assert result.get("response_model") == model
    assert result.get("finish_reason") == finish
    assert result.get("input_tokens") == input_tokens
    assert result.get("output_tokens") == output_tokens
    assert result.get("reasoning_tokens") == reasoning
    text = result.get("completion_text")
    if starts is None:
        assert text is None
    else:
        assert text.startswith(starts) and text.endswith(ends)
