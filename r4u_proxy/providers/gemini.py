"""Google Gemini (`generativelanguage.googleapis.com`) and Vertex AI `generateContent` / `streamGenerateContent`.

Every streamed chunk is a whole `GenerateContentResponse` holding only the new parts; reassembly merges the
parts per candidate (adjacent text joined, thought summaries kept apart from the answer) and keeps the last
usage, finish reason and metadata. The model is named in the URL path, not the body.
"""

from __future__ import annotations

from typing import Any

from r4u_proxy.providers.common import (
    error_message,
    flatten_text,
    gemini_usage,
    overlay,
    path_model,
    render_tool_call,
    with_tool_call,
)

FAMILY = "gemini"
# Keys a text part may carry and still be joined with its neighbour.
_JOINABLE_PART_KEYS = frozenset({"text", "thought", "thoughtSignature"})


def request_info(body: dict, path: str = "") -> dict:
    return {
        "request_model": path_model(path) or body.get("model"),
        "stream": ":streamGenerateContent" in (path or ""),
    }


def prompt_parts(body: dict) -> dict:
    turns = []
    for content in body.get("contents") or []:
        if isinstance(content, dict):
            turns.append({"role": content.get("role") or "user", "text": _parts_text(content.get("parts"))})
        elif isinstance(content, str):
            turns.append({"role": "user", "text": content})
    system = body.get("systemInstruction") or body.get("system_instruction")
    system_text = _parts_text(system.get("parts")) if isinstance(system, dict) else flatten_text(system)
    tools = []
    for tool in body.get("tools") or []:
        if not isinstance(tool, dict):
            continue
        declarations = tool.get("functionDeclarations") or tool.get("function_declarations")
        if declarations:
            tools += [str(d.get("name")) for d in declarations if isinstance(d, dict)]
        else:
            tools += list(tool)  # built-in tools: googleSearch, codeExecution, urlContext, ...
    return {"system": system_text or None, "turns": turns, "tools": tools}


def _parts_text(parts: Any) -> str:
    """The answer text of a list of parts (thought summaries left out), with function calls on their own lines."""
    text = ""
    for part in parts or []:
        if not isinstance(part, dict) or part.get("thought"):
            continue
        if isinstance(part.get("text"), str):
            text += part["text"]
        elif isinstance(part.get("functionCall"), dict):
            call = part["functionCall"]
            text = with_tool_call(text, render_tool_call(call.get("name"), call.get("args") or {}))
    return text


def _part_has_content(part: Any) -> bool:
    if not isinstance(part, dict):
        return False
    return any(v not in (None, "", {}, []) for k, v in part.items() if k != "thoughtSignature")


class Stream:
    def __init__(self) -> None:
        self.snapshot: dict = {}
        self.candidates: dict[int, dict] = {}
        self.error: str | None = None
        self.notes: list[str] = []

    def add(self, event: str | None, data: Any) -> bool:
        if not isinstance(data, dict):
            return False
        if "error" in data:
            self.error = error_message(data) or self.error
            return False
        produced = False
        for position, candidate in enumerate(data.get("candidates") or []):
            if isinstance(candidate, dict):
                produced = self._add_candidate(candidate.get("index", position), candidate) or produced
        for key, value in data.items():
            if key == "candidates" or value is None:
                continue
            if key == "usageMetadata":
                self.snapshot[key] = value  # each chunk carries running totals: the last one is the total
            elif isinstance(value, dict) and isinstance(self.snapshot.get(key), dict):
                overlay(self.snapshot[key], value)
            else:
                self.snapshot[key] = value
        return produced

    def _add_candidate(self, index: int, candidate: dict) -> bool:
        state = self.candidates.setdefault(index, {"content": {"parts": [], "role": "model"}, "index": index})
        content = candidate.get("content") or {}
        parts = state["content"]["parts"]
        produced = False
        for part in content.get("parts") or []:
            produced = _part_has_content(part) or produced
            if isinstance(part, dict):
                _append_part(parts, part)
        if content.get("role"):
            state["content"]["role"] = content["role"]
        for key, value in candidate.items():
            if key not in ("content", "index") and value is not None:
                state[key] = value  # finishReason, safetyRatings, citationMetadata, groundingMetadata, ...
        return produced

    def body(self) -> dict:
        body: dict = {}
        if self.candidates:
            body["candidates"] = [self.candidates[i] for i in sorted(self.candidates)]
        body.update(self.snapshot)
        return body


def _append_part(parts: list, part: dict) -> None:
    """Join a text part onto the previous one when both are plain text of the same kind (answer or thought)."""
    last = parts[-1] if parts else None
    if (
        last is not None
        and isinstance(last.get("text"), str)
        and isinstance(part.get("text"), str)
        and set(last) <= _JOINABLE_PART_KEYS
        and set(part) <= _JOINABLE_PART_KEYS
        and bool(last.get("thought")) == bool(part.get("thought"))
        and "thoughtSignature" not in last
    ):
        last["text"] += part["text"]
        if "thoughtSignature" in part:
            last["thoughtSignature"] = part["thoughtSignature"]
        return
    parts.append(dict(part))


def summary(body: Any) -> dict:
    if isinstance(body, list):  # a non-streamed call never returns a list, but a saved array stream might
        stream = Stream()
        for chunk in body:
            stream.add(None, chunk)
        body = stream.body()
    if not isinstance(body, dict):
        return {}
    candidates = [c for c in body.get("candidates") or [] if isinstance(c, dict)]
    if not candidates and isinstance(body.get("totalTokens"), int):  # countTokens: counted, not generated
        return {"completion_text": f"[{body['totalTokens']} tokens counted]"}
    first = candidates[0] if candidates else {}
    texts = [_parts_text((c.get("content") or {}).get("parts")) for c in candidates]
    feedback = body.get("promptFeedback") or {}
    result = {
        "response_model": body.get("modelVersion"),
        "completion_text": "\n\n".join(t for t in texts if t) or None,
        "finish_reason": first.get("finishReason") or feedback.get("blockReason"),
    }
    if feedback.get("blockReason"):
        result["error"] = f"prompt blocked: {feedback['blockReason']}"
    result.update(gemini_usage(body.get("usageMetadata")))
    return result
