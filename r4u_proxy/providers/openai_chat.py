"""OpenAI Chat Completions and every vendor that speaks it (DeepSeek, Groq, Mistral, OpenRouter, vLLM, ...).

Stream reassembly turns `chat.completion.chunk` events into one `chat.completion`, the shape a non-streaming
call returns, so streamed and plain calls look the same in the database.
"""

from __future__ import annotations

from typing import Any

from r4u_proxy.messages import canonical
from r4u_proxy.providers import genai_parts
from r4u_proxy.providers.base import Choice, StreamBase
from r4u_proxy.providers.common import (
    accumulate,
    error_message,
    flatten_text,
    openai_usage,
    overlay,
    render_tool_call,
    request_fields,
    summary_columns,
    with_tool_call,
)

FAMILY = "openai_chat"
SYSTEM_ROLES = ("system", "developer")
# Chunk fields that describe the whole completion and are stable: the first chunk's value is kept (Groq's
# compound models change `id` on every chunk; the SDK keeps the first too).
_FIRST_WINS = ("id", "created", "model")
_NOT_CONTENT = frozenset({"role", "channel"})


def request_info(body: dict, path: str = "") -> dict:
    return request_fields(body)


def prompt_parts(body: dict) -> dict:
    system: list[str] = []
    turns: list[dict] = []
    for message in body.get("messages") or []:
        if not isinstance(message, dict):
            continue
        role = message.get("role") or "user"
        text = flatten_text(message.get("content"))
        if role in SYSTEM_ROLES:
            system.append(text)
            continue
        calls = [
            render_tool_call(c.get("function", {}).get("name"), c.get("function", {}).get("arguments"))
            for c in message.get("tool_calls") or []
            if isinstance(c, dict)
        ]
        turns.append({"role": role, "text": "\n".join(t for t in [text, *calls] if t)})
    return {"system": "\n\n".join(system) or None, "turns": turns, "tools": tool_names(body.get("tools"))}


def tool_names(tools: Any) -> list[str]:
    names = []
    for tool in tools or []:
        if isinstance(tool, dict):
            name = (tool.get("function") or {}).get("name") or tool.get("name") or tool.get("type")
            if name:
                names.append(str(name))
    return names


def _content_is_present(delta: dict) -> bool:
    for key, value in delta.items():
        if key in _NOT_CONTENT or value is None:
            continue
        if isinstance(value, (str, list, dict)) and not value:
            continue
        if key == "tool_calls" and not any(
            (c.get("function") or {}).get("name") or (c.get("function") or {}).get("arguments")
            for c in value
            if isinstance(c, dict)
        ):
            continue
        return True
    return False


def _merge_content(message: dict, content: Any) -> None:
    """Mistral sends `delta.content` as a string or as a list of typed chunks (text, thinking) in one stream;
    once a list appears the content stays a list, with adjacent pieces of the same kind joined."""
    current = message.get("content")
    if not isinstance(content, list) and not isinstance(current, list):
        accumulate(message, {"content": content})
        return
    message["content"] = _join_parts(_as_parts(current), _as_parts(content))


def _join_parts(parts: list[dict], new_parts: list[dict]) -> list[dict]:
    """Append typed content parts, joining a text piece onto a text neighbour and a thinking piece's inner
    text parts onto a thinking neighbour's, so a streamed list reads like the non-streamed one."""
    for part in new_parts:
        last = parts[-1] if parts else None
        same_kind = last is not None and last.get("type") == part.get("type")
        if same_kind and set(part) <= {"type", "text"} and isinstance(last.get("text"), str):
            last["text"] += part.get("text") or ""
        elif same_kind and isinstance(part.get("thinking"), list) and isinstance(last.get("thinking"), list):
            _join_parts(last["thinking"], _as_parts(part["thinking"]))
        elif isinstance(part.get("thinking"), list):
            parts.append({**part, "thinking": _join_parts([], _as_parts(part["thinking"]))})
        else:
            parts.append(dict(part))
    return parts


def _as_parts(content: Any) -> list[dict]:
    if content is None or content == "":
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return [p if isinstance(p, dict) else {"type": "text", "text": str(p)} for p in content]


class Stream(StreamBase):
    """Accumulates chunks; `add` says whether the chunk carried the first generated content."""

    def __init__(self) -> None:
        super().__init__()
        self.snapshot: dict = {}
        self.choices: dict[int, dict] = {}

    def add_object(self, event: str | None, data: dict) -> bool:
        if data.get("error"):  # OpenRouter puts it in a chunk, Groq in an `event: error`
            self.error = error_message(data) or self.error
        if event == "error":
            return False
        carried_content = False
        for choice in data.get("choices") or []:
            if isinstance(choice, dict):
                carried_content = self._add_choice(choice) or carried_content
        self._add_top_level(data)
        return carried_content

    def _add_top_level(self, chunk: dict) -> None:
        for key, value in chunk.items():
            if key in ("choices", "object", "obfuscation") or value is None:
                continue
            if key in _FIRST_WINS:
                if not self.snapshot.get(key):  # Azure's first chunk (prompt filter results) has model ""
                    self.snapshot[key] = value
            elif isinstance(value, dict) and isinstance(self.snapshot.get(key), dict):
                overlay(self.snapshot[key], value)
            else:
                self.snapshot[key] = value

    def _add_choice(self, choice: dict) -> bool:
        index = choice.get("index", 0)
        state = self.choices.get(index)
        if state is None:
            state = self.choices[index] = {
                "index": index,
                "message": {},
                "logprobs": None,
                "finish_reason": None,
            }
        delta = choice.get("delta") or {}
        message = state["message"]
        rest = {k: v for k, v in delta.items() if k != "content"}
        accumulate(message, rest)
        if "content" in delta:
            _merge_content(message, delta["content"])
        if choice.get("finish_reason"):
            state["finish_reason"] = choice["finish_reason"]
        logprobs = choice.get("logprobs")
        if isinstance(logprobs, dict):
            if state["logprobs"] is None:
                state["logprobs"] = {"content": None, "refusal": None}
            for key in ("content", "refusal"):
                if logprobs.get(key):
                    state["logprobs"][key] = (state["logprobs"][key] or []) + list(logprobs[key])
        for key, value in choice.items():
            if key not in ("index", "delta", "finish_reason", "logprobs") and value is not None:
                state[key] = value
        return _content_is_present(delta)

    def body(self) -> dict:
        body: dict = {
            "id": self.snapshot.get("id"),
            "object": "chat.completion",
            "created": self.snapshot.get("created"),
            "model": self.snapshot.get("model"),
        }
        body.update({k: v for k, v in self.snapshot.items() if k not in body})
        choices = []
        for index in sorted(self.choices):
            choice = dict(self.choices[index])
            message = {"role": "assistant", "content": None, **choice["message"]}
            choice["message"] = message
            choices.append(choice)
        body["choices"] = choices
        return body


def summary(body: Any) -> dict:
    """Model, finish reason, completion text and token columns of a `chat.completion` body."""
    if not isinstance(body, dict):
        return {}
    texts: list[str] = []
    finish_reasons: list[str] = []
    for choice in body.get("choices") or []:
        if not isinstance(choice, dict):
            continue
        message = choice.get("message") or {}
        text = flatten_text(message.get("content")) or message.get("refusal") or ""
        for call in message.get("tool_calls") or []:
            if isinstance(call, dict):
                function = call.get("function") or {}
                text = with_tool_call(text, render_tool_call(function.get("name"), function.get("arguments")))
        texts.append(text)
        if choice.get("finish_reason"):
            finish_reasons.append(choice["finish_reason"])
    text = "\n\n".join(t for t in texts if t)
    reason = finish_reasons[0] if finish_reasons else None
    usage = openai_usage(body.get("usage") or (body.get("x_groq") or {}).get("usage"))
    return summary_columns(body, body.get("model"), text, reason, usage)


# --- canonical messages (r4u_proxy/messages): what a turn says; sessions hash them, chat and export show them

MESSAGES_KEY = "messages"


def canonical_content(content: Any) -> list[dict]:
    """Chat and Responses content: a string or typed parts (text, images, audio, files, refusals)."""
    if content is None:
        return []
    if isinstance(content, str):
        return [canonical.text(content)]
    parts = []
    for part in content if isinstance(content, list) else [content]:
        if not isinstance(part, dict):
            parts.append(canonical.text(str(part)))
            continue
        kind = part.get("type")
        if kind in ("text", "input_text", "output_text"):
            parts.append(canonical.text(part.get("text") or ""))
        elif kind == "refusal":
            parts.append(canonical.text(part.get("refusal") or ""))
        elif kind in ("image_url", "input_image", "input_audio", "file", "input_file"):
            parts.append(_media(kind, {k: v for k, v in part.items() if k != "type"}))
        else:
            parts.append(canonical.other(part))
    return parts


def _media(kind: str, value: dict) -> dict:
    """An image by address (a URL or a data: URL), audio by its bytes, a file by what names it."""
    if kind in ("image_url", "input_image"):
        image = value.get("image_url")
        address = image.get("url") if isinstance(image, dict) else image
        return canonical.media(value, uri=address if isinstance(address, str) else None, modality="image")
    audio = value.get("input_audio")
    if kind == "input_audio" and isinstance(audio, dict):
        mime = f"audio/{audio.get('format') or 'wav'}"
        return canonical.media(value, data=audio.get("data") or "", mime_type=mime, modality="audio")
    return canonical.media(value, modality="audio" if kind == "input_audio" else "file")


def canonical_message(item: Any) -> dict | None:
    if not isinstance(item, dict):
        return None
    role = item.get("role") or "user"
    if role in ("tool", "function"):
        call_id = item.get("tool_call_id") or item.get("name")
        return canonical.message("tool", [canonical.tool_result(call_id, _result_text(item.get("content")))])
    reasoning = item.get("reasoning_content") or item.get("reasoning")
    thought = [canonical.thinking(reasoning, hashed=False)] if isinstance(reasoning, str) and reasoning else []
    parts = canonical_content(item.get("content"))
    if not parts and item.get("refusal"):
        parts.append(canonical.text(item["refusal"]))
    parts = thought + parts
    for call in item.get("tool_calls") or []:
        if isinstance(call, dict):
            function = call.get("function") or {}
            parts.append(canonical.tool_call(call.get("id"), function.get("name"), function.get("arguments")))
    if isinstance(item.get("function_call"), dict):  # the legacy single function call
        function = item["function_call"]
        parts.append(canonical.tool_call(None, function.get("name"), function.get("arguments")))
    return canonical.message(role, parts)


def _result_text(content: Any) -> Any:
    parts = canonical_content(content)
    if all(p["type"] == "text" for p in parts):
        return "\n".join(p["text"] for p in parts)
    return [canonical.hashed_part(p) for p in parts]  # what a result says, not how to show its media


def system_parts(body: dict) -> list[dict]:
    return []  # system and developer messages are part of `messages`


def response_choices(body: Any) -> list[Choice]:
    """One per choice; a client continues the conversation with the first."""
    choices = []
    for choice in (body.get("choices") or []) if isinstance(body, dict) else []:
        if isinstance(choice, dict):
            said = choice.get("message")
            message = canonical_message({"role": "assistant", **said}) if isinstance(said, dict) else None
            choices.append({"messages": [message] if message else [], "finish_reason": choice.get("finish_reason")})
    return choices


# --- the tools offered, in the GenAI conventions' shape (export) ---------------------------------------------


def genai_tools(body: dict) -> list[dict]:
    tools = []
    for tool in body.get("tools") or []:
        if isinstance(tool, dict):
            function = tool.get("function") or tool
            tools.append(genai_parts.function_tool(function.get("name"), function.get("description"), function.get("parameters")))
    return tools
