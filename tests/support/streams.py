"""Run a recorded event stream through analyze() as the writer would, for offline expectations."""

from __future__ import annotations

from r4u_proxy.ingest.parse import analyze
from r4u_proxy.providers import route


def analyze_recorded(host: str, path: str, data: bytes, request_body: bytes = b"") -> dict:
    """analyze() of a 200 text/event-stream response whose whole body arrived in one chunk."""
    bare_path = path.partition("?")[0]
    exchange = {
        "path": bare_path,
        "status_code": 200,
        "response_headers": [("content-type", "text/event-stream")],
        "chunks": [(1.0, data)],
    }
    if request_body:
        exchange |= {"request_headers": [("content-type", "application/json")], "request_body": request_body}
    return analyze(route(host, bare_path), exchange)


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
