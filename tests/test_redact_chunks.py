"""Redacting a growing conversation chunk by chunk gives exactly what redacting it whole gives, and a turn
scans what it added, not what it resends (r4u_proxy/ingest/redact_chunks.py)."""

from __future__ import annotations

import json

from support.agent_recordings import agent_session

from r4u_proxy.ingest import redact
from r4u_proxy.ingest.redact_chunks import ChunkedRedactor

KEYS = ["sk-proj-" + "Zq8" * 30, "AIza" + "x7Y" * 11 + "Qz", "ghp_" + "aB3" * 12]


def _with_secrets(calls: list[dict]) -> list[str]:
    """The session's bodies with a key in every fifth tool result, a secret field, and keys as tool inputs."""
    bodies = []
    for call in calls:
        body = json.loads(call["request_body"])
        for i, message in enumerate(body["messages"]):
            block = message["content"][0]
            if block.get("type") == "tool_result" and i % 5 == 0:
                block["content"] += f"\nexport KEY={KEYS[i % 3]}, then {{\"password\": \"hunter2, {{x}}\"}}"
            if block.get("type") == "tool_use":
                block["input"]["token"] = KEYS[i % 3]
        bodies.append(json.dumps(body))
    return bodies


def test_chunked_redaction_equals_whole_redaction_and_scans_only_what_a_turn_adds():
    bodies = _with_secrets(agent_session(60, seed=5))
    redactor = ChunkedRedactor()
    scanned = []
    for body in bodies:
        before = redactor.scanned
        out = redactor.redact(body)
        assert out == redact.redact_text(body)
        assert not any(key in out for key in KEYS) and "hunter2" not in out
        scanned.append(redactor.scanned - before)
    assert len(bodies[-1]) > 250_000
    assert max(scanned[10:]) < 40_000, scanned  # the new turn and a chunk or two, not the 250 KB it resends


def test_with_the_users_own_patterns_the_text_is_redacted_whole():
    body = _with_secrets(agent_session(12, seed=6))[-1] + " EMP-123456"
    redact.configure([r"EMP-\d{6}"])
    try:
        redactor = ChunkedRedactor()
        out = redactor.redact(body)
        assert out == redact.redact_text(body) and "EMP-123456" not in out
        assert redactor.scanned == len(body)
    finally:
        redact.configure([])
