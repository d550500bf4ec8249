"""Recorded agent sessions (tests/fixtures/agents): load them, and run them through the writer's steps.

`replay(db, calls)` does what the writer process does with each exchange — build_row, the session tracker,
content storage, the insert — without a proxy, so a test can check session inference on real client traffic in milliseconds.
"""

from __future__ import annotations

import copy
import csv
import gzip
import json
from pathlib import Path
from typing import Any

from r4u_proxy.ids import ulid
from r4u_proxy.providers import route
from r4u_proxy.simulator import anthropic_api
from r4u_proxy.simulator.tool_plan import ToolCall
from r4u_proxy.store.batch import BatchWriter
from r4u_proxy.store.migrations import open_db
from support.rows import read_rows

AGENTS_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "agents"
EXPLICIT_ID_HEADERS = ("x-claude-code-session-id", "session-id", "session_id", "conversation_id")


def load(name: str) -> list[dict[str, Any]]:
    with gzip.open(AGENTS_DIR / f"{name}.jsonl.gz", "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def without_ids(call: dict[str, Any]) -> dict[str, Any]:
    """The same call with every session id the client sent removed: only inference is left."""
    headers = {k: v for k, v in call["request_headers"].items() if k not in EXPLICIT_ID_HEADERS}
    body = json.loads(call["request_body"])
    if isinstance(body.get("metadata"), dict):
        body["metadata"].pop("user_id", None)
    return {**call, "request_headers": headers, "request_body": json.dumps(body, ensure_ascii=False)}


def exchange(call: dict[str, Any], at: float, project: str | None = None, **extra: Any) -> dict[str, Any]:
    body = (call["response_body"] or "").encode()
    request_body = call["request_body"].encode()
    response_headers = [("content-type", call.get("response_content_type") or "application/json")]
    return {
        "id": ulid(at), "route": route(call["host"], call["path"]), "project": project, "tags": None,
        "client": "127.0.0.1:50000", "method": call["method"], "scheme": "https", "host": call["host"],
        "port": 443, "path": call["path"], "query": "", "request_headers": list(call["request_headers"].items()),
        "request_body": request_body, "request_bytes": len(request_body), "request_truncated": False,
        "t_request_start": at, "t_sent": at,
        "status_code": call["status_code"], "response_headers": response_headers, "t_first_byte": at + 0.05,
        "chunks": [(at + 0.05, body)] if body else [], "response_bytes": len(body), "truncated": False,
        "t_end": at + 0.1, "error": None, "bodies_lost": 0, **extra,
    }  # fmt: skip


def replay(db: Path, exchanges: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Write exchanges as the writer process would; returns the rows in trace-id order."""
    conn = open_db(db)
    BatchWriter(conn).write(exchanges)
    conn.close()
    return read(db)


def read(db: Path) -> list[dict[str, Any]]:
    return read_rows(db, "select * from traces order by id")


def _sse(message: dict) -> str:
    """A non-streamed reply body is enough: the writer reads the reassembled message either way."""
    return json.dumps(message)


def long_session(turns: int, seed: int) -> list[dict]:
    """`turns` calls of one Claude Code run, grown from the recording's real messages."""
    recorded = load("claude_code_20_turns")
    second = json.loads(recorded[1]["request_body"])  # [user, system, assistant tool call, tool result]
    head = second["messages"][:2]
    head[0] = copy.deepcopy(head[0])
    head[0]["content"][-1]["text"] += f" (bench session {seed})"
    pairs = []
    for call in recorded[1:19]:
        assistant, result = json.loads(call["request_body"])["messages"][-2:]
        if isinstance(result["content"], list) and result["content"][0].get("type") == "tool_result":
            pairs.append((assistant, result))
    calls, messages = [], list(head)
    for turn in range(turns):
        assistant, result = copy.deepcopy(pairs[turn % len(pairs)])
        tool_id = f"toolu_bench{seed:03d}{turn:05d}"
        assistant["content"][0]["id"] = tool_id
        result["content"][0]["tool_use_id"] = tool_id
        body = {**second, "messages": messages}
        reply = {"id": f"msg_bench{seed}{turn}", "type": "message", "role": "assistant", "model": second["model"],
                 "content": assistant["content"], "stop_reason": "tool_use",
                 "usage": {"input_tokens": 1000 + 40 * turn, "output_tokens": 20}}  # fmt: skip
        calls.append({**recorded[1], "request_body": json.dumps(body, ensure_ascii=False), "response_body": _sse(reply),
                      "response_content_type": "application/json"})  # fmt: skip
        messages = [*messages, assistant, result]
    return calls


LOGHUB = Path(__file__).resolve().parents[2] / "bench" / "data" / "loghub2k"
SYSTEM_CHARS, TOOLS, RESULT_CHARS = 20_000, 20, 4_000


def _log_results(count: int) -> list[str]:
    """`count` tool results of ~RESULT_CHARS each: consecutive Loghub-2k lines, never the same twice."""
    lines = []
    for path in sorted(LOGHUB.glob("*/*_structured.csv")):
        with path.open(newline="", encoding="utf-8", errors="replace") as handle:
            lines += [row.get("Content", "") for row in csv.DictReader(handle)]
    results, at = [], 0
    for _ in range(count):
        chunk = []
        while sum(len(x) + 1 for x in chunk) < RESULT_CHARS:
            chunk.append(f"{at % 99991:6d}  {lines[at % len(lines)]}")
            at += 1
        results.append("\n".join(chunk))
    return results


RECORDED_SESSION = "63c2c020-01e0-4197-9e6f-7521c0269f69"  # claude_code_20_turns' session id


def agent_session(turns: int, seed: int) -> list[dict[str, Any]]:
    """The issue's session shape (bench/storage_bench.py says where each part comes from): a ~20 KB system
    prompt and 20 tools from Claude Code's recording, a streamed tool call per turn, ~4 KB of Loghub-2k
    lines per tool result; as recorded-call dicts for `exchange`."""
    recorded = load("claude_code_20_turns")[1]
    first = json.loads(recorded["request_body"])
    tools = {t["name"]: t for t in first["tools"]}
    workflow = tools.pop("Workflow")["description"]
    system = copy.deepcopy(first["system"])
    room = SYSTEM_CHARS - len(json.dumps(system))
    system.append({"type": "text", "text": f"# Project instructions (session {seed})\n" + workflow[:room]})
    names = list(tools)
    definitions = [
        {**tools[names[i % len(names)]], "name": names[i] if i < len(names) else f"mcp__bench__{names[i % len(names)]}_{i}"}
        for i in range(TOOLS)
    ]
    results = _log_results(turns)
    # Each run its own Claude Code session id (the recording's, its last 12 digits the seed).
    session = RECORDED_SESSION[:-12] + f"{seed:012d}"
    first = {**first, "metadata": {"user_id": first["metadata"]["user_id"].replace(RECORDED_SESSION, session)}}
    messages: list[dict[str, Any]] = [{"role": "user", "content": [{"type": "text", "text": f"Look through the logs and report what failed (run {seed})."}]}]
    calls = []
    for turn in range(turns):
        body = {**first, "system": system, "tools": definitions, "messages": messages}
        name = names[turn % len(names)]
        call = ToolCall(name=name, arguments={"file_path": f"/var/log/bench/{seed}/{turn}.log"}, turn=turn)
        reply = anthropic_api.messages(body, stream=True, event_count=None, call=call)
        raw = b"".join(reply.events or [])
        calls.append({**recorded, "request_body": json.dumps(body, ensure_ascii=False), "response_body": raw.decode(),
                      "response_content_type": "text/event-stream; charset=utf-8"})  # fmt: skip
        tool_id = json.loads(raw.split(b"data: ", 2)[2].split(b"\n", 1)[0])["content_block"]["id"]  # as answered
        messages = [
            *messages,
            {"role": "assistant", "content": [{"type": "tool_use", "id": tool_id, "name": name, "input": call["arguments"]}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool_id, "content": results[turn]}]},
        ]
    return calls
