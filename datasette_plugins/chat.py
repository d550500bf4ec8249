"""Turn a stored request/response body into a chat transcript for the trace page.

Each provider nests the same ideas (system prompt, turns, tool calls, tool
results, thinking, images) differently. This module flattens them into one
shape so the template has one loop:

    Message = {"role": str, "parts": [Part, ...]}
    Part    = {"kind": "text" | "thinking" | "tool_call" | "tool_result" | "image" | "other",
               "text": str, "name": str | None, "id": str | None}

The format is recognised from the body's shape, not the provider column, so
OpenAI-compatible hosts and gateways render too. Unknown pieces become an
"other" part holding their JSON rather than disappearing.
"""

from __future__ import annotations

import json
from typing import Any

Part = dict[str, Any]
Message = dict[str, Any]


def _part(kind: str, text: Any = "", name: str | None = None, id: str | None = None) -> Part:
    if not isinstance(text, str):
        text = pretty_json(text)
    return {"kind": kind, "text": text, "name": name, "id": id}


def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False)


def _arguments(raw: Any) -> str:
    """Tool-call arguments arrive as a JSON string (OpenAI) or an object (Anthropic, Gemini)."""
    if isinstance(raw, str):
        try:
            return pretty_json(json.loads(raw))
        except ValueError:
            return raw
    return pretty_json(raw)


def _image_placeholder(block: dict) -> Part:
    source = block.get("source") or block.get("image_url") or block.get("inlineData") or {}
    kind = ""
    if isinstance(source, dict):
        kind = source.get("media_type") or source.get("mimeType") or source.get("type") or ""
        url = source.get("url", "")
        if isinstance(url, str) and url.startswith("http"):
            kind = url[:80]
    return _part("image", f"[image{': ' + kind if kind else ''}]")


# --- OpenAI chat completions ---------------------------------------------------------------------


def _openai_content(content: Any) -> list[Part]:
    if content is None:
        return []
    if isinstance(content, str):
        return [_part("text", content)] if content else []
    parts: list[Part] = []
    for block in content if isinstance(content, list) else [content]:
        if not isinstance(block, dict):
            parts.append(_part("text", str(block)))
            continue
        kind = block.get("type")
        if kind in ("text", "input_text", "output_text"):
            parts.append(_part("text", block.get("text", "")))
        elif kind in ("image_url", "input_image", "image"):
            parts.append(_image_placeholder(block))
        elif kind in ("input_audio", "audio", "file", "input_file"):
            parts.append(_part("image", f"[{kind}]"))
        elif kind == "refusal":
            parts.append(_part("text", block.get("refusal", "")))
        else:
            parts.append(_part("other", block))
    return parts


def _openai_message(message: dict) -> Message:
    role = message.get("role", "?")
    parts = []
    reasoning = message.get("reasoning_content") or message.get("reasoning")
    if isinstance(reasoning, str) and reasoning:
        parts.append(_part("thinking", reasoning))
    if role == "tool":
        parts.append(
            _part("tool_result", _flatten_text(message.get("content")), id=message.get("tool_call_id"))
        )
    else:
        parts.extend(_openai_content(message.get("content")))
    if message.get("refusal"):
        parts.append(_part("text", message["refusal"]))
    for call in message.get("tool_calls") or []:
        function = call.get("function") or {}
        parts.append(
            _part(
                "tool_call", _arguments(function.get("arguments", "")), function.get("name"), call.get("id")
            )
        )
    if message.get("function_call"):  # the legacy single function call
        function = message["function_call"]
        parts.append(_part("tool_call", _arguments(function.get("arguments", "")), function.get("name")))
    return {"role": role, "parts": parts}


def _flatten_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [b.get("text", "") if isinstance(b, dict) else str(b) for b in content]
        if all(isinstance(b, dict) and "text" in b for b in content):
            return "\n".join(texts)
    return pretty_json(content)


# --- OpenAI responses ----------------------------------------------------------------------------


def _responses_items(items: Any) -> list[Message]:
    if isinstance(items, str):
        return [{"role": "user", "parts": [_part("text", items)]}]
    messages: list[Message] = []
    for item in items or []:
        if not isinstance(item, dict):
            continue
        kind = item.get("type", "message")
        if kind == "message" or ("role" in item and "content" in item):
            messages.append(
                {"role": item.get("role", "assistant"), "parts": _openai_content(item.get("content"))}
            )
        elif kind == "function_call":
            part = _part(
                "tool_call", _arguments(item.get("arguments", "")), item.get("name"), item.get("call_id")
            )
            messages.append({"role": "assistant", "parts": [part]})
        elif kind == "function_call_output":
            part = _part("tool_result", _flatten_text(item.get("output")), id=item.get("call_id"))
            messages.append({"role": "tool", "parts": [part]})
        elif kind == "reasoning":
            summary = "\n".join(s.get("text", "") for s in item.get("summary") or [] if isinstance(s, dict))
            messages.append(
                {"role": "assistant", "parts": [_part("thinking", summary or "(reasoning hidden)")]}
            )
        else:
            messages.append({"role": "assistant", "parts": [_part("other", item, name=kind)]})
    return _merge_same_role(messages)


def _merge_same_role(messages: list[Message]) -> list[Message]:
    """Consecutive items of one role read as one turn (reasoning + text + calls)."""
    merged: list[Message] = []
    for message in messages:
        if merged and merged[-1]["role"] == message["role"] and message["role"] == "assistant":
            merged[-1]["parts"].extend(message["parts"])
        else:
            merged.append(message)
    return merged


# --- Anthropic messages --------------------------------------------------------------------------


def _anthropic_blocks(content: Any) -> list[Part]:
    if isinstance(content, str):
        return [_part("text", content)] if content else []
    parts: list[Part] = []
    for block in content or []:
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind == "text":
            parts.append(_part("text", block.get("text", "")))
        elif kind == "thinking":
            parts.append(_part("thinking", block.get("thinking", "")))
        elif kind == "redacted_thinking":
            parts.append(_part("thinking", "(redacted thinking)"))
        elif kind in ("tool_use", "server_tool_use"):
            parts.append(
                _part("tool_call", _arguments(block.get("input", {})), block.get("name"), block.get("id"))
            )
        elif kind == "tool_result" or (isinstance(kind, str) and kind.endswith("_tool_result")):
            result = block.get("content")
            text = _flatten_text(result) if result is not None else ""
            if block.get("is_error"):
                text = "(error) " + text
            parts.append(_part("tool_result", text, id=block.get("tool_use_id")))
        elif kind in ("image", "document"):
            parts.append(_image_placeholder(block))
        else:
            parts.append(_part("other", block, name=kind))
    return parts


# --- Gemini --------------------------------------------------------------------------------------


def _gemini_parts(parts_in: Any) -> list[Part]:
    parts: list[Part] = []
    for p in parts_in or []:
        if not isinstance(p, dict):
            continue
        if "text" in p:
            parts.append(_part("thinking" if p.get("thought") else "text", p["text"]))
        elif "functionCall" in p:
            call = p["functionCall"]
            parts.append(
                _part("tool_call", _arguments(call.get("args", {})), call.get("name"), call.get("id"))
            )
        elif "functionResponse" in p:
            response = p["functionResponse"]
            parts.append(_part("tool_result", pretty_json(response.get("response")), response.get("name")))
        elif "inlineData" in p or "fileData" in p:
            parts.append(_image_placeholder(p))
        else:
            parts.append(_part("other", p))
    return parts


def _gemini_role(role: str | None) -> str:
    return "assistant" if role == "model" else (role or "user")


# --- entry points --------------------------------------------------------------------------------


def request_messages(body: Any, operation: str | None = None) -> list[Message]:
    """The conversation as sent: system prompt first, then the turns."""
    if not isinstance(body, dict):
        return []
    messages: list[Message] = []
    if "contents" in body:  # Gemini
        system = body.get("systemInstruction") or body.get("system_instruction")
        if isinstance(system, dict):
            messages.append({"role": "system", "parts": _gemini_parts(system.get("parts"))})
        for content in body.get("contents") or []:
            if isinstance(content, dict):
                messages.append(
                    {"role": _gemini_role(content.get("role")), "parts": _gemini_parts(content.get("parts"))}
                )
        return messages
    if "input" in body and "messages" not in body:  # OpenAI responses (or embeddings)
        if body.get("instructions"):
            messages.append({"role": "system", "parts": [_part("text", body["instructions"])]})
        if operation == "embeddings":
            inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
            return [{"role": "user", "parts": [_part("text", str(i)) for i in inputs]}]
        return messages + _responses_items(body.get("input"))
    if "prompt" in body and "messages" not in body:  # legacy completions
        return [{"role": "user", "parts": [_part("text", _flatten_text(body["prompt"]))]}]
    is_anthropic = "system" in body or operation == "messages" or _has_anthropic_blocks(body.get("messages"))
    if is_anthropic:
        system = body.get("system")
        if system:
            messages.append({"role": "system", "parts": _anthropic_blocks(system)})
        for message in body.get("messages") or []:
            if isinstance(message, dict):
                messages.append(
                    {"role": message.get("role", "?"), "parts": _anthropic_blocks(message.get("content"))}
                )
        return messages
    return [_openai_message(m) for m in body.get("messages") or [] if isinstance(m, dict)]


def _has_anthropic_blocks(messages: Any) -> bool:
    for message in messages or []:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list):
            for block in content:
                if isinstance(block, dict) and block.get("type") in ("tool_use", "tool_result", "thinking"):
                    return True
    return False


def response_messages(body: Any) -> list[Message]:
    """What the model answered, in the same shape (one message per choice/candidate)."""
    if not isinstance(body, dict):
        return []
    if isinstance(body.get("choices"), list):  # OpenAI chat / completions
        messages = []
        for choice in body["choices"]:
            if not isinstance(choice, dict):
                continue
            if isinstance(choice.get("message"), dict):
                messages.append(_openai_message({"role": "assistant", **choice["message"]}))
            elif "text" in choice:
                messages.append({"role": "assistant", "parts": [_part("text", choice["text"])]})
        return messages
    if isinstance(body.get("output"), list):  # OpenAI responses
        return _responses_items(body["output"])
    if isinstance(body.get("content"), list):  # Anthropic
        return [{"role": body.get("role", "assistant"), "parts": _anthropic_blocks(body["content"])}]
    if isinstance(body.get("candidates"), list):  # Gemini
        return [
            {"role": "assistant", "parts": _gemini_parts((c.get("content") or {}).get("parts"))}
            for c in body["candidates"]
            if isinstance(c, dict)
        ]
    return []


def tool_names(body: Any) -> list[str]:
    """Names of the tools offered in the request, across providers."""
    if not isinstance(body, dict):
        return []
    names: list[str] = []
    for tool in body.get("tools") or []:
        if not isinstance(tool, dict):
            continue
        if isinstance(tool.get("function"), dict):
            names.append(tool["function"].get("name", "?"))
        elif "functionDeclarations" in tool:
            names.extend(d.get("name", "?") for d in tool["functionDeclarations"] if isinstance(d, dict))
        elif tool.get("name"):
            names.append(tool["name"])
        elif tool.get("type"):
            names.append(tool["type"])
    return names
