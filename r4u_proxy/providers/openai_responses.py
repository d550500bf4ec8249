"""OpenAI Responses API (`/v1/responses`), also served by DeepSeek, Bedrock and other compatible hosts.

A complete stream ends with `response.completed` (or `.incomplete` / `.failed`) carrying the whole response,
which is taken as is. A stream that was cut off, or a resumed one (`GET /v1/responses/{id}?stream=true&
starting_after=N`) that lacks the start, is rebuilt from the item and delta events.
"""

from __future__ import annotations

from typing import Any

from r4u_proxy.messages import canonical
from r4u_proxy.providers import common, genai_parts
from r4u_proxy.providers.base import Choice, StreamBase
from r4u_proxy.providers.openai_chat import canonical_content

FAMILY = "openai_responses"
_TERMINAL = ("response.completed", "response.incomplete", "response.failed")
_SNAPSHOTS = ("response.created", "response.in_progress", "response.queued")
# delta/done event → (field on the item, whether the field lives on a content/summary part, the list holding
# the part, the event key indexing it). Text-like fields are appended on delta and replaced on done.
_ITEM_FIELDS = {
    "response.function_call_arguments": ("arguments", None, None),
    "response.custom_tool_call_input": ("input", None, None),
    "response.code_interpreter_call_code": ("code", None, None),
    "response.output_text": ("text", "content", "content_index"),
    "response.refusal": ("refusal", "content", "content_index"),
    "response.reasoning_text": ("text", "content", "content_index"),
    "response.reasoning_summary_text": ("text", "summary", "summary_index"),
}
_DONE_VALUE_KEYS = ("arguments", "input", "code", "text", "refusal", "transcript")


def request_info(body: dict, path: str = "") -> dict:
    return common.request_fields(body)


def prompt_parts(body: dict) -> dict:
    system = common.flatten_text(body.get("instructions")) or None
    turns: list[dict] = []
    items = body.get("input")
    if isinstance(items, str):
        items = [{"role": "user", "content": items}]
    for item in items or []:
        if not isinstance(item, dict):
            continue
        kind = item.get("type", "message")
        if kind == "message":
            role = item.get("role") or "user"
            text = common.flatten_text(item.get("content"))
            if role in ("system", "developer"):
                system = "\n\n".join(t for t in [system, text] if t)
            else:
                turns.append({"role": role, "text": text})
        elif kind == "function_call":
            call = common.render_tool_call(item.get("name"), item.get("arguments"))
            turns.append({"role": "assistant", "text": call})
        elif kind in ("function_call_output", "custom_tool_call_output"):
            turns.append({"role": "tool", "text": common.flatten_text(item.get("output"))})
    tools = [str(t.get("name") or t.get("type")) for t in body.get("tools") or [] if isinstance(t, dict)]
    return {"system": system, "turns": turns, "tools": tools}


def _has_output(item: Any) -> bool:
    if not isinstance(item, dict):
        return False
    if item.get("type") == "reasoning":
        return bool(common.flatten_text(item.get("summary")) or common.flatten_text(item.get("content")))
    return True


def _slot(items: list, index: Any) -> int:
    """Make `items[index]` exist (events may skip ahead) and return the index."""
    if not isinstance(index, int) or index < 0:
        index = len(items)
    while len(items) <= index:
        items.append(None)
    return index


class Stream(StreamBase):
    # Which events end a response, carry a snapshot of it, or add to an item's field: the Realtime API
    # (openai_realtime.py) streams the same item and part events under a few other names.
    TERMINAL: tuple[str, ...] = _TERMINAL
    SNAPSHOTS: tuple[str, ...] = _SNAPSHOTS
    ITEM_FIELDS: dict[str, tuple[str, str | None, str | None]] = _ITEM_FIELDS
    OBJECT = "response"

    def __init__(self) -> None:
        super().__init__()
        self.snapshot: dict = {}
        self.final: dict | None = None
        self.items: list = []

    def add_object(self, event: str | None, data: dict) -> bool:
        kind = data.get("type") or event or ""
        if kind == "error" or event == "error":
            detail = data.get("error") or {"code": data.get("code"), "message": data.get("message")}
            self.error = common.error_message({"error": detail}) or self.error
            return False
        response = data.get("response")
        if kind in self.TERMINAL and isinstance(response, dict):
            self.final = response
            if kind == "response.failed":
                self.error = common.error_message(response) or self.error or "response failed"
            return False
        if kind in self.SNAPSHOTS and isinstance(response, dict):
            common.overlay(self.snapshot, response)
            return False
        if kind in ("response.output_item.added", "response.output_item.done"):
            index = _slot(self.items, data.get("output_index"))
            item = data.get("item")
            if isinstance(item, dict):
                self.items[index] = (
                    dict(item) if kind.endswith("done") else common.overlay(self.items[index] or {}, item)
                )
            # Content normally shows up in deltas first; a server that sends only finished items still counts.
            return kind.endswith("done") and _has_output(item)
        if kind in ("response.content_part.added", "response.content_part.done"):
            self._set_part(data, "content", "content_index", data.get("part"))
            return False
        if kind in ("response.reasoning_summary_part.added", "response.reasoning_summary_part.done"):
            self._set_part(data, "summary", "summary_index", data.get("part"))
            return False
        if kind == "response.output_text.annotation.added":
            part = self._part(data, "content", "content_index")
            part.setdefault("annotations", []).append(data.get("annotation"))
            return False
        prefix, _, suffix = kind.rpartition(".")
        if prefix in self.ITEM_FIELDS and suffix in ("delta", "done"):
            return self._apply_text(prefix, suffix, data)
        return False

    def _item(self, data: dict) -> dict:
        index = _slot(self.items, data.get("output_index"))
        if self.items[index] is None:
            self.items[index] = {"id": data.get("item_id")}
        return self.items[index]

    def _part(self, data: dict, list_key: str, index_key: str) -> dict:
        item = self._item(data)
        parts = item.get(list_key)
        if not isinstance(parts, list):
            parts = item[list_key] = []
        index = _slot(parts, data.get(index_key, 0))
        if parts[index] is None:
            parts[index] = {}
        return parts[index]

    def _set_part(self, data: dict, list_key: str, index_key: str, part: Any) -> None:
        if isinstance(part, dict):
            self._part(data, list_key, index_key).update(part)

    def _apply_text(self, prefix: str, suffix: str, data: dict) -> bool:
        field, list_key, index_key = self.ITEM_FIELDS[prefix]
        target = self._part(data, list_key, index_key) if list_key else self._item(data)
        if suffix == "done":
            value = next((data[k] for k in _DONE_VALUE_KEYS if isinstance(data.get(k), str)), None)
            if value is not None:
                target[field] = value
            return bool(value)
        delta = data.get("delta")
        if isinstance(delta, str):
            target[field] = (target.get(field) or "") + delta
        if isinstance(data.get("logprobs"), list):
            target.setdefault("logprobs", []).extend(data["logprobs"])
        return bool(delta)

    def body(self) -> dict:
        if self.final is not None:
            return self.final
        body = dict(self.snapshot)
        body.setdefault("object", self.OBJECT)
        built = [item for item in self.items if item is not None]
        # A resumed stream (starting_after) can repeat items its snapshot already holds; the stream wins.
        body["output"] = built or body.get("output") or []
        self.notes.append("stream ended before response.completed; response rebuilt from events")
        return body


def summary(body: Any) -> dict:
    if not isinstance(body, dict):
        return {}
    text = ""
    for item in body.get("output") or []:
        if not isinstance(item, dict):
            continue
        kind = item.get("type")
        if kind == "message":
            for part in item.get("content") or []:
                if isinstance(part, dict):
                    text += part.get("text") or part.get("refusal") or ""
        elif kind == "function_call":
            call = common.render_tool_call(item.get("name"), item.get("arguments"))
            text = common.with_tool_call(text, call)
        elif kind == "custom_tool_call":
            text = common.with_tool_call(text, f"{item.get('name')}({item.get('input') or ''})")
    reason = (body.get("incomplete_details") or {}).get("reason") or body.get("status")
    usage = common.openai_usage(body.get("usage"))
    return common.summary_columns(body, body.get("model"), text, reason, usage)


# --- canonical messages (r4u_proxy/messages): what a turn says; sessions hash them, chat and export show them
# Each input or output item is one message: clients resend output items as input items.

MESSAGES_KEY = "input"


def canonical_message(item: Any) -> dict | None:
    if isinstance(item, str):
        return canonical.message("user", [canonical.text(item)])
    if not isinstance(item, dict):
        return None
    kind = item.get("type", "message")
    if kind == "message":
        return canonical.message(item.get("role"), canonical_content(item.get("content")))
    if kind in ("function_call", "custom_tool_call"):
        arguments = item.get("arguments") if kind == "function_call" else item.get("input")
        return canonical.message("assistant", [canonical.tool_call(item.get("call_id"), item.get("name"), arguments)])
    if kind in ("function_call_output", "custom_tool_call_output"):
        return canonical.message("tool", [canonical.tool_result(item.get("call_id"), item.get("output"))])
    if kind == "reasoning":
        summary = "\n".join(s.get("text") or "" for s in item.get("summary") or [] if isinstance(s, dict))
        # The reasoning text itself, where a server sends it (gpt-oss).
        full = common.flatten_text(item.get("content"))
        return canonical.message("assistant", [canonical.thinking(summary, full_text=full)])
    return canonical.message("assistant", [canonical.other(item)])


def system_parts(body: dict) -> list[dict]:
    instructions = body.get("instructions")
    return [canonical.text(instructions)] if isinstance(instructions, str) and instructions else []


def response_choices(body: Any) -> list[Choice]:
    """A response is one generation: its output items are its messages (a client resends each as an input item)."""
    if not isinstance(body, dict) or not isinstance(body.get("output"), list):
        return []
    messages = [m for m in map(canonical_message, body["output"]) if m is not None]
    reason = (body.get("incomplete_details") or {}).get("reason") or body.get("status")
    if reason == "completed" and any(p["type"] == "tool_call" for m in messages for p in m["parts"]):
        reason = "tool_call"
    return [{"messages": messages, "finish_reason": reason}]


# --- the tools offered, in the GenAI conventions' shape (export) ---------------------------------------------


def genai_tools(body: dict) -> list[dict]:
    tools = []
    for tool in body.get("tools") or []:
        if not isinstance(tool, dict):
            continue
        if tool.get("type") == "function":
            tools.append(genai_parts.function_tool(tool.get("name"), tool.get("description"), tool.get("parameters")))
        else:  # built-in tools: web_search, file_search, code_interpreter, ...
            tools.append({"type": str(tool.get("type")), "name": str(tool.get("name") or tool.get("type"))})
    return tools
