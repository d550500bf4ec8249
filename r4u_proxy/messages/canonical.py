"""The canonical message shape every API family is reduced to, and its hash.

A message as one provider family resends it on the next turn is reduced to what it *says*, so that the copy
a client resends hashes equal to the output it came from:

    Message = {"role": "system" | "user" | "assistant" | "tool", "parts": [Part, ...]}
    Part    = {"type": "text", "text": str}
            | {"type": "thinking", "text": str}
            | {"type": "tool_call", "id": str | None, "name": str, "arguments": Any}
            | {"type": "tool_result", "id": str | None, "content": str | Any, "is_error": bool}
            | {"type": "media", "value": Any}
            | {"type": "other", "value": Any}

Left out on purpose: transport and cache hints (`cache_control`, ids of output items, signatures of thinking
blocks, `status`, `annotations`), because clients move or drop them between turns. Tool-call arguments that
arrive as a JSON string are parsed, so a client that re-serialises them still matches.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from typing import Any

Part = dict[str, Any]
Message = dict[str, Any]

HASH_BYTES = 16  # 128-bit blake2b: collisions are not a practical concern at any trace count


def text(value: Any) -> Part:
    return {"type": "text", "text": value if isinstance(value, str) else str(value)}


def thinking(value: Any) -> Part:
    return {"type": "thinking", "text": value if isinstance(value, str) else json.dumps(value, sort_keys=True)}


def tool_call(call_id: Any, name: Any, arguments: Any) -> Part:
    if isinstance(arguments, str):
        with contextlib.suppress(ValueError):  # else kept as the string the model produced
            arguments = json.loads(arguments) if arguments.strip() else {}
    return {"type": "tool_call", "id": call_id, "name": name, "arguments": arguments}


def tool_result(call_id: Any, content: Any, is_error: bool = False) -> Part:
    if isinstance(content, list) and all(isinstance(p, dict) and p.get("type") == "text" for p in content):
        content = "\n".join(str(p.get("text") or "") for p in content)  # [{"type":"text",...}] == "..."
    elif isinstance(content, list):
        content = [{k: v for k, v in p.items() if k not in DROPPED_KEYS} if isinstance(p, dict) else p for p in content]
    return {"type": "tool_result", "id": call_id, "content": content, "is_error": bool(is_error)}


def media(value: Any) -> Part:
    return {"type": "media", "value": value}


def other(value: Any) -> Part:
    if isinstance(value, dict):
        value = {k: v for k, v in value.items() if k not in DROPPED_KEYS}
    return {"type": "other", "value": value}


DROPPED_KEYS = frozenset({"cache_control", "signature", "status", "id", "annotations", "citations"})


def message(role: Any, parts: list[Part]) -> Message:
    role = str(role or "user")
    return {"role": "system" if role == "developer" else role, "parts": drop_empty_text(parts)}


def drop_empty_text(parts: list[Part]) -> list[Part]:
    """Empty text blocks say nothing; an assistant turn with `content: ""` and tool calls equals one without."""
    return [p for p in parts if p is not None and (p["type"] != "text" or p["text"])]


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, non-ASCII kept: one text per meaning."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def digest(data: str | bytes) -> bytes:
    return hashlib.blake2b(data.encode() if isinstance(data, str) else data, digest_size=HASH_BYTES).digest()


def is_tool_result(msg: Message) -> bool:
    return bool(msg["parts"]) and all(p["type"] == "tool_result" for p in msg["parts"])
