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

A part may carry more keys than these (`HASHED_KEYS` below): what the trace page's chat and the export show
but a client does not resend the same way — a media part's `mime_type`/`uri`/`data`/`modality`, a thinking
part's `redacted`/`full_text`, a tool result's function `name`, `server` (the whole block of a provider-run
tool), `raw` (an unknown piece with its ids and status), and a message's `sent_role` (`developer`).
`hashed` leaves them out, and leaves out a part marked `"hashed": False` (DeepSeek's `reasoning_content`,
which clients must not resend), so they never change a message hash.

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


def thinking(value: Any, *, redacted: bool = False, full_text: str | None = None, hashed: bool = True) -> Part:
    """`redacted`: the text is the provider's encrypted block, not words; `full_text`: the reasoning itself where
    `value` is its summary; `hashed=False`: shown, never resent by clients, so not part of the message's hash."""
    part: Part = {"type": "thinking", "text": value if isinstance(value, str) else json.dumps(value, sort_keys=True)}
    if redacted:
        part["redacted"] = True
    if full_text:
        part["full_text"] = full_text
    if not hashed:
        part["hashed"] = False
    return part


def tool_call(call_id: Any, name: Any, arguments: Any, server: dict | None = None) -> Part:
    """`server`: the block of a tool the provider runs itself (Anthropic's `server_tool_use`), shown whole."""
    if isinstance(arguments, str):
        with contextlib.suppress(ValueError):  # else kept as the string the model produced
            arguments = json.loads(arguments) if arguments.strip() else {}
    part = {"type": "tool_call", "id": call_id, "name": name, "arguments": arguments}
    return {**part, "server": server} if server else part


def tool_result(call_id: Any, content: Any, is_error: bool = False, name: Any = None, server: dict | None = None) -> Part:
    """`name`: the function's (Gemini names results by it); `server`: the block of a provider-run tool's result."""
    if isinstance(content, list) and all(isinstance(p, dict) and p.get("type") == "text" for p in content):
        content = "\n".join(str(p.get("text") or "") for p in content)  # [{"type":"text",...}] == "..."
    elif isinstance(content, list):
        content = [{k: v for k, v in p.items() if k not in DROPPED_KEYS} if isinstance(p, dict) else p for p in content]
    part = {"type": "tool_result", "id": call_id, "content": content, "is_error": bool(is_error)}
    shown = {"name": name, "server": server}
    return {**part, **{k: v for k, v in shown.items() if v}}


def media(value: Any, *, mime_type: Any = None, uri: Any = None, data: Any = None, modality: str | None = None) -> Part:
    """`value` is what is hashed; the keywords say how to show it (the bytes themselves are never shown)."""
    found = {"mime_type": mime_type, "uri": uri, "data": data, "modality": modality}
    return {"type": "media", "value": value, **{k: v for k, v in found.items() if v}}


def other(value: Any) -> Part:
    """A piece no family names: hashed without transport keys, shown whole (`raw`, with its ids and status)."""
    if isinstance(value, dict):
        kept = {k: v for k, v in value.items() if k not in DROPPED_KEYS}
        return {"type": "other", "value": kept, "raw": value} if len(kept) != len(value) else {"type": "other", "value": kept}
    return {"type": "other", "value": value}


DROPPED_KEYS = frozenset({"cache_control", "signature", "status", "id", "annotations", "citations"})


def message(role: Any, parts: list[Part]) -> Message:
    role = str(role or "user")
    if role == "developer":
        return {"role": "system", "parts": drop_empty_text(parts), "sent_role": role}
    return {"role": role, "parts": drop_empty_text(parts)}


# The keys of each part type that say what it is; anything else a part carries is for showing only.
HASHED_KEYS = {
    "text": ("type", "text"),
    "thinking": ("type", "text"),
    "tool_call": ("type", "id", "name", "arguments"),
    "tool_result": ("type", "id", "content", "is_error"),
    "media": ("type", "value"),
    "other": ("type", "value"),
}


def hashed(msg: Message) -> Message:
    """The message as it is hashed: role and parts, each part with its `HASHED_KEYS` only."""
    parts = msg["parts"]
    if len(msg) == 2 and all(len(p) == len(HASHED_KEYS.get(p["type"], p)) for p in parts):
        return msg  # the usual case: nothing to leave out, no copy
    return {"role": msg["role"], "parts": [hashed_part(p) for p in parts if p.get("hashed", True)]}


def hashed_part(part: Part) -> Part:
    keys = HASHED_KEYS.get(part["type"])
    return {k: part[k] for k in keys if k in part} if keys and len(part) != len(keys) else part


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
