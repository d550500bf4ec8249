"""Google Gemini (`generativelanguage.googleapis.com`) and Vertex AI `generateContent` / `streamGenerateContent`.

Every streamed chunk is a whole `GenerateContentResponse` holding only the new parts; reassembly merges the
parts per candidate (adjacent text joined, thought summaries kept apart from the answer) and keeps the last
usage, finish reason and metadata. The model is named in the URL path, not the body.

Gemini Code Assist (`cloudcode-pa.googleapis.com/v1internal:generateContent`, what Gemini CLI calls with a
Google login) wraps the same API in an envelope: the request is `{model, project, request: {...}}` and each
response (streamed chunk or whole) is `{response: {...}, traceId}`. The envelope is unwrapped here; the
stored body keeps it, as the service sent it.
"""

from __future__ import annotations

from typing import Any

from r4u_proxy.messages import canonical
from r4u_proxy.providers import genai_parts
from r4u_proxy.providers.base import Choice, StreamBase
from r4u_proxy.providers.common import (
    error_message,
    flatten_text,
    gemini_usage,
    overlay,
    path_model,
    render_tool_call,
    summary_columns,
    with_tool_call,
)

FAMILY = "gemini"
# Keys a text part may carry and still be joined with its neighbour.
_JOINABLE_PART_KEYS = frozenset({"text", "thought", "thoughtSignature"})


def request_info(body: dict, path: str = "") -> dict:
    model = path_model(path) or body.get("model") or _inner_request(body).get("model")
    if isinstance(model, str):
        model = model.removeprefix("models/")  # countTokens envelopes name it "models/gemini-…"
    return {"request_model": model, "stream": ":streamGenerateContent" in (path or "")}


def _inner_request(body: dict) -> dict:
    """The GenerateContentRequest, inside a Code Assist envelope or not."""
    inner = body.get("request")
    return inner if isinstance(inner, dict) and "contents" not in body else body


def _inner_response(body: Any) -> Any:
    """The GenerateContentResponse, inside a Code Assist envelope (`{response, traceId}`) or not."""
    if isinstance(body, dict) and isinstance(body.get("response"), dict) and "candidates" not in body:
        return body["response"]
    return body


def prompt_parts(body: dict) -> dict:
    body = _inner_request(body)
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


class Stream(StreamBase):
    def __init__(self) -> None:
        super().__init__()
        self.snapshot: dict = {}
        self.candidates: dict[int, dict] = {}
        self.envelope: dict | None = None  # Code Assist: the keys around `response` (traceId, …)

    def add_object(self, event: str | None, data: dict) -> bool:
        if _inner_response(data) is not data:
            self.envelope = {**(self.envelope or {}), **{k: v for k, v in data.items() if k != "response"}}
            data = data["response"]
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
        return body if self.envelope is None else {"response": body, **self.envelope}


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
    body = _inner_response(body)
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
    text = "\n\n".join(t for t in texts if t)
    reason = first.get("finishReason") or feedback.get("blockReason")
    usage = gemini_usage(body.get("usageMetadata"))
    result = summary_columns(body, body.get("modelVersion"), text, reason, usage)
    if feedback.get("blockReason"):
        result["error"] = f"prompt blocked: {feedback['blockReason']}"
    return result


# --- canonical messages (r4u_proxy/messages): what a turn says; sessions hash them, chat and export show them

MESSAGES_KEY = "contents"


def _canonical_parts(parts: Any) -> list[dict]:
    found = []
    for part in parts or []:
        if not isinstance(part, dict):
            continue
        if isinstance(part.get("text"), str):
            found.append((canonical.thinking if part.get("thought") else canonical.text)(part["text"]))
        elif isinstance(part.get("functionCall"), dict):
            call = part["functionCall"]
            found.append(canonical.tool_call(call.get("id"), call.get("name"), call.get("args") or {}))
        elif isinstance(part.get("functionResponse"), dict):
            response = part["functionResponse"]
            call_id = response.get("id") or response.get("name")
            found.append(canonical.tool_result(call_id, response.get("response"), name=response.get("name")))
        elif "inlineData" in part or "fileData" in part:
            found.append(_media(part.get("inlineData") or part.get("fileData")))
        else:
            found.append(canonical.other({k: v for k, v in part.items() if k != "thoughtSignature"}))
    return found


def _media(value: Any) -> dict:
    shown = value if isinstance(value, dict) else {}
    where = {"uri": shown.get("fileUri") or ""} if "fileUri" in shown else {"data": shown.get("data") or ""}
    return canonical.media(value, mime_type=shown.get("mimeType"), **where)


def canonical_message(item: Any) -> dict | None:
    if isinstance(item, str):
        return canonical.message("user", [canonical.text(item)])
    if not isinstance(item, dict):
        return None
    role = "assistant" if item.get("role") == "model" else item.get("role")
    return canonical.message(role, _canonical_parts(item.get("parts")))


def system_parts(body: dict) -> list[dict]:
    system = body.get("systemInstruction") or body.get("system_instruction")
    if isinstance(system, dict):
        return _canonical_parts(system.get("parts"))
    return [canonical.text(system)] if isinstance(system, str) and system else []


def response_choices(body: Any) -> list[Choice]:
    """One per candidate; a client continues the conversation with the first."""
    if isinstance(body, list):  # a saved array stream
        stream = Stream()
        for chunk in body:
            stream.add(None, chunk)
        body = stream.body()
    choices = []
    for candidate in (body.get("candidates") or []) if isinstance(body, dict) else []:
        if isinstance(candidate, dict):
            message = canonical_message({"role": "model", **(candidate.get("content") or {})})
            said = [message] if message and message["parts"] else []
            choices.append({"messages": said, "finish_reason": candidate.get("finishReason")})
    return choices


# --- the tools offered, in the GenAI conventions' shape (export) ---------------------------------------------


def genai_tools(body: dict) -> list[dict]:
    tools: list[dict] = []
    for tool in body.get("tools") or []:
        if not isinstance(tool, dict):
            continue
        declarations = tool.get("functionDeclarations") or tool.get("function_declarations")
        for declaration in declarations or []:
            if isinstance(declaration, dict):
                parameters = declaration.get("parametersJsonSchema") or declaration.get("parameters")
                tools.append(genai_parts.function_tool(declaration.get("name"), declaration.get("description"), parameters))
        if not declarations:
            tools += [{"type": str(name), "name": str(name)} for name in tool]
    return tools
