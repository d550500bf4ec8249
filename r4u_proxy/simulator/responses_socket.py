"""The Responses API over a WebSocket (`GET /v1/responses` + Upgrade): what Codex speaks by default.

Each `response.create` message (the `POST /v1/responses` body plus `"type"`, without `stream`) is answered with
the same typed events the HTTP stream carries, one text message each; `stream_id` (a lane) is echoed on every
event. `generate: false` (Codex's prewarm) gets an empty completed response. `response.processed` needs no
answer. With `x-sim-fixture`, every response.create is answered by a recorded HTTP stream's events, their JSON
text sent exactly as recorded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from r4u_proxy.simulator.controls import Controls
from r4u_proxy.simulator.fixtures import load_fixture
from r4u_proxy.simulator.openai_api import response_events


def fixture_messages(fixtures_dir: Path, name: str) -> list[bytes]:
    """The `data:` payloads of a recorded Responses event stream, byte for byte."""
    messages = []
    for event in load_fixture(fixtures_dir, name):
        for line in event.splitlines():
            if line.startswith(b"data:"):
                payload = line[5:].removeprefix(b" ")
                if payload.strip() and payload.strip() != b"[DONE]":
                    messages.append(payload)
    return messages


class ResponsesSocket:
    binary = False

    def __init__(self, controls: Controls, fixtures_dir: Path) -> None:
        self.controls = controls
        self.fixtures_dir = fixtures_dir

    def opening(self) -> list[dict[str, Any]]:
        return []

    def answer(self, message: dict[str, Any]) -> list[Any]:
        kind = message.get("type")
        if kind == "response.processed":
            return []
        if kind != "response.create":
            return [_error(400, "invalid_request_error", f"unsupported event type {kind!r}", message)]
        if self.controls.fixture:
            return list(fixture_messages(self.fixtures_dir, self.controls.fixture))
        request = {k: v for k, v in message.items() if k not in ("type", "stream_id")}
        final, events = response_events(request, 0 if message.get("generate") is False else self.controls.events)
        if message.get("generate") is False:  # prepare state only: no output, nothing generated
            final = {**final, "output": [], "usage": {**final["usage"], "output_tokens": 0}}
            events = [events[0], {**events[-1], "response": final, "sequence_number": 1}]
        if message.get("stream_id") is not None:
            events = [{**event, "stream_id": message["stream_id"]} for event in events]
        return events


def _error(status: int, kind: str, text: str, message: dict[str, Any]) -> dict[str, Any]:
    error: dict[str, Any] = {
        "type": "error",
        "status": status,
        "error": {"type": kind, "code": None, "message": text, "param": None},
    }
    if message.get("stream_id") is not None:
        error["stream_id"] = message["stream_id"]
    return error
