"""OpenAI Responses API (`/v1/responses`), also served by DeepSeek, Bedrock and other compatible hosts.

A complete stream ends with `response.completed` (or `.incomplete` / `.failed`) carrying the whole response,
which is taken as is. A stream that was cut off, or a resumed one (`GET /v1/responses/{id}?stream=true&
starting_after=N`) that lacks the start, is rebuilt from the item and delta events.
"""

from __future__ import annotations

from typing import Any

from r4u_proxy.messages import canonical
from r4u_proxy.providers import genai_parts, transcript
from r4u_proxy.providers.base import Message, StreamBase
from r4u_proxy.providers.common import (
    error_message,
    flatten_text,
    openai_usage,
    overlay,
    render_tool_call,
    request_fields,
    tier_field,
    with_tool_call,
)
from r4u_proxy.providers.openai_chat import canonical_content, content_parts

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
    return request_fields(body)


def prompt_parts(body: dict) -> dict:
    system = flatten_text(body.get("instructions")) or None
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
            text = flatten_text(item.get("content"))
            if role in ("system", "developer"):
                system = "\n\n".join(t for t in [system, text] if t)
            else:
                turns.append({"role": role, "text": text})
        elif kind == "function_call":
            turns.append(
                {"role": "assistant", "text": render_tool_call(item.get("name"), item.get("arguments"))}
            )
        elif kind in ("function_call_output", "custom_tool_call_output"):
            turns.append({"role": "tool", "text": flatten_text(item.get("output"))})
    tools = [str(t.get("name") or t.get("type")) for t in body.get("tools") or [] if isinstance(t, dict)]
    return {"system": system, "turns": turns, "tools": tools}


def _has_output(item: Any) -> bool:
    if not isinstance(item, dict):
        return False
    if item.get("type") == "reasoning":
        return bool(flatten_text(item.get("summary")) or flatten_text(item.get("content")))
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
            self.error = error_message({"error": detail}) or self.error
            return False
        response = data.get("response")
        if kind in self.TERMINAL and isinstance(response, dict):
            self.final = response
            if kind == "response.failed":
                self.error = error_message(response) or self.error or "response failed"
            return False
        if kind in self.SNAPSHOTS and isinstance(response, dict):
            overlay(self.snapshot, response)
            return False
        if kind in ("response.output_item.added", "response.output_item.done"):
            index = _slot(self.items, data.get("output_index"))
            item = data.get("item")
            if isinstance(item, dict):
                self.items[index] = (
                    dict(item) if kind.endswith("done") else overlay(self.items[index] or {}, item)
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
            text = with_tool_call(text, render_tool_call(item.get("name"), item.get("arguments")))
        elif kind == "custom_tool_call":
            text = with_tool_call(text, f"{item.get('name')}({item.get('input') or ''})")
    reason = (body.get("incomplete_details") or {}).get("reason")
    result = {
        "response_model": body.get("model"),
        "completion_text": text or None,
        "finish_reason": reason or body.get("status"),
        **tier_field(body),
    }
    result.update(openai_usage(body.get("usage")))
    return result


# --- the trace page's chat ------------------------------------------------------------------------


def _items(items: Any) -> list[Message]:
    if isinstance(items, str):
        return [transcript.message("user", [transcript.part("text", items)])]
    messages: list[Message] = []
    for item in items or []:
        if not isinstance(item, dict):
            continue
        kind = item.get("type", "message")
        if kind == "message" or ("role" in item and "content" in item):
            parts = transcript.content_parts(item.get("content"))
            messages.append(transcript.message(item.get("role", "assistant"), parts))
        elif kind == "function_call":
            arguments = transcript.arguments(item.get("arguments", ""))
            call = transcript.part("tool_call", arguments, item.get("name"), item.get("call_id"))
            messages.append(transcript.message("assistant", [call]))
        elif kind == "function_call_output":
            text = transcript.shown_text(item.get("output"))
            output = transcript.part("tool_result", text, id=item.get("call_id"))
            messages.append(transcript.message("tool", [output]))
        elif kind == "reasoning":
            summary = "\n".join(s.get("text", "") for s in item.get("summary") or [] if isinstance(s, dict))
            thinking = transcript.part("thinking", summary or "(reasoning hidden)")
            messages.append(transcript.message("assistant", [thinking]))
        else:
            messages.append(transcript.message("assistant", [transcript.part("other", item, name=kind)]))
    return transcript.merge_assistant_turns(messages)


def request_messages(body: dict) -> list[Message]:
    messages = []
    if body.get("instructions"):
        messages.append(transcript.message("system", [transcript.part("text", body["instructions"])]))
    return messages + _items(body.get("input"))


def response_messages(body: Any) -> list[Message]:
    if not isinstance(body, dict) or not isinstance(body.get("output"), list):
        return []
    return _items(body["output"])


# --- canonical messages (r4u_proxy/messages): what a turn says, for sessions and per-message storage -------
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
        return canonical.message("assistant", [canonical.thinking(summary)])
    return canonical.message("assistant", [canonical.other(item)])


def system_parts(body: dict) -> list[dict]:
    instructions = body.get("instructions")
    return [canonical.text(instructions)] if isinstance(instructions, str) and instructions else []


def output_messages(body: Any) -> list[dict]:
    items = body.get("output") if isinstance(body, dict) else None
    return [m for m in map(canonical_message, items or []) if m is not None]


# --- the request and response in the GenAI conventions' message shapes (export) ---------------------


def _item_parts(item: dict) -> tuple[str, list[dict]]:
    """One Responses input/output item as (role, convention parts)."""
    kind = item.get("type", "message")
    if kind == "message":
        return item.get("role") or "user", content_parts(item.get("content"))
    if kind == "function_call":
        return "assistant", [genai_parts.tool_call(item.get("call_id") or item.get("id"), item.get("name"), item.get("arguments"))]
    if kind == "custom_tool_call":
        return "assistant", [genai_parts.tool_call(item.get("call_id") or item.get("id"), item.get("name"), item.get("input"))]
    if kind in ("function_call_output", "custom_tool_call_output"):
        return "tool", [genai_parts.tool_response(item.get("call_id"), item.get("output"))]
    if kind == "reasoning":
        summary = flatten_text(item.get("summary")) or flatten_text(item.get("content"))
        return "assistant", [genai_parts.reasoning(summary)] if summary else []
    return "assistant", [genai_parts.generic(item)]


def genai_input(body: dict) -> dict:
    result = genai_parts.empty_input()
    if body.get("instructions"):
        result["system"] = content_parts(body["instructions"])
    items = body.get("input")
    if isinstance(items, str):
        items = [{"type": "message", "role": "user", "content": items}]
    for item in items or []:
        if isinstance(item, dict):
            role, parts = _item_parts(item)
            result["messages"].append(genai_parts.message(role, parts))
    for tool in body.get("tools") or []:
        if not isinstance(tool, dict):
            continue
        if tool.get("type") == "function":
            result["tools"].append(genai_parts.function_tool(tool.get("name"), tool.get("description"), tool.get("parameters")))
        else:  # built-in tools: web_search, file_search, code_interpreter, ...
            result["tools"].append({"type": str(tool.get("type")), "name": str(tool.get("name") or tool.get("type"))})
    return result


def genai_output(body: Any) -> list[dict]:
    """A response is one generation: all its output items are parts of one message."""
    if not isinstance(body, dict):
        return []
    parts: list[dict] = []
    for item in body.get("output") or []:
        if isinstance(item, dict):
            parts += _item_parts(item)[1]
    reason = (body.get("incomplete_details") or {}).get("reason") or body.get("status")
    if reason == "completed" and any(p["type"] == "tool_call" for p in parts):
        reason = "tool_call"
    return [genai_parts.message("assistant", parts, reason, output=True)]
