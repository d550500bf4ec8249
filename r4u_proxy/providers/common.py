"""What every API family needs: merging stream deltas, normalised token columns, text flattening, errors,
and the request fields and service tier that several families name the same way."""

from __future__ import annotations

import json
import re
from typing import Any

# Keys that name or tag a thing rather than carry generated text: a repeat replaces, never concatenates
# (Z.ai repeats role:"assistant" on every delta; some servers resend a tool call's id and type).
IDENTITY_KEYS = frozenset({"index", "type", "id", "role", "channel", "object"})


def accumulate(target: dict, delta: dict) -> dict:
    """Fold a streamed delta into `target`: strings concatenate, dicts merge, indexed lists merge by index.

    Lists of scalars or of un-indexed objects (logprobs, annotations, citations) are extended. `None` in a
    delta never erases a value already there.
    """
    for key, value in delta.items():
        if value is None:
            target.setdefault(key, None)
            continue
        current = target.get(key)
        if current is None or key in IDENTITY_KEYS:
            target[key] = _fresh_copy(value)
        elif isinstance(current, str) and isinstance(value, str):
            target[key] = current + value
        elif isinstance(current, dict) and isinstance(value, dict):
            accumulate(current, value)
        elif isinstance(current, list) and isinstance(value, list):
            _accumulate_list(current, value)
        else:
            target[key] = _fresh_copy(value)
    return target


def _fresh_copy(value: Any) -> Any:
    # Indexed lists must be merged even on first sight: one chunk may carry two fragments of one tool call.
    if isinstance(value, list) and value and all(isinstance(v, dict) and "index" in v for v in value):
        merged: list = []
        _accumulate_list(merged, value)
        return merged
    if isinstance(value, dict):
        return accumulate({}, value)
    if isinstance(value, list):
        return list(value)
    return value


def _accumulate_list(current: list, delta: list) -> None:
    for entry in delta:
        if isinstance(entry, dict) and "index" in entry:
            existing = next(
                (c for c in current if isinstance(c, dict) and c.get("index") == entry["index"]), None
            )
            if existing is not None:
                accumulate(existing, entry)
                continue
            current.append(accumulate({}, entry))
        else:
            current.append(entry)


def overlay(target: dict, update: dict) -> dict:
    """Later values win, dicts merge recursively, `None` never erases (for snapshots like usage)."""
    for key, value in update.items():
        if value is None:
            target.setdefault(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            overlay(target[key], value)
        else:
            target[key] = value
    return target


def request_fields(body: dict) -> dict:
    """`request_model`, `stream` and the service tier asked for, where the body names them (OpenAI's and
    Anthropic's APIs alike)."""
    fields = {"request_model": body.get("model"), "stream": bool(body.get("stream"))}
    if tier := service_tier(body):
        fields["requested_service_tier"] = tier
    return fields


def service_tier(body: Any) -> str | None:
    """The service tier a body names, as the provider wrote it: `service_tier` (OpenAI; a request's
    ask, a response's answer), `usage.service_tier` (Anthropic), `usageMetadata.trafficType` (Vertex:
    "ON_DEMAND", "ON_DEMAND_FLEX", ...). pricing/prices.py says what each one costs."""
    if not isinstance(body, dict):
        return None
    usage = body.get("usage")
    metadata = body.get("usageMetadata")
    raw = (
        body.get("service_tier")
        or (usage.get("service_tier") if isinstance(usage, dict) else None)
        or (metadata.get("trafficType") if isinstance(metadata, dict) else None)
    )
    return raw if isinstance(raw, str) and raw else None


def tier_field(body: Any) -> dict[str, str]:
    """`{"service_tier": ...}` for a summary, or nothing when the body names no tier."""
    tier = service_tier(body)
    return {"service_tier": tier} if tier else {}


def summary_columns(body: dict, model: Any, text: str, finish_reason: Any, usage: dict[str, int]) -> dict:
    """The `Summary` most families return: the model and finish reason as the body names them, the answer's
    text (None when it is empty), the service tier the body names, and the token columns."""
    return {
        "response_model": model,
        "completion_text": text or None,
        "finish_reason": finish_reason,
        **tier_field(body),
        **usage,
    }


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def token_columns(
    input_tokens: Any = None,
    output_tokens: Any = None,
    cache_read: Any = None,
    cache_write: Any = None,
    reasoning: Any = None,
    cache_write_1h: Any = None,
) -> dict[str, int]:
    """The normalised token columns, leaving out what the provider did not report.

    `cache_write_1h_tokens` is the part of the cache writes kept for an hour (Anthropic), which costs
    more than the 5-minute kind."""
    columns = {
        "input_tokens": _int(input_tokens),
        "output_tokens": _int(output_tokens),
        "cache_read_tokens": _int(cache_read),
        "cache_write_tokens": _int(cache_write),
        "reasoning_tokens": _int(reasoning),
        "cache_write_1h_tokens": _int(cache_write_1h),
    }
    return {k: v for k, v in columns.items() if v is not None}


def audio_token_columns(input_audio: Any = None, output_audio: Any = None, cache_audio_read: Any = None) -> dict:
    """Audio tokens, billed apart from text: each is a part of its text-and-audio column (input_audio_tokens
    of input_tokens, output_audio_tokens of output_tokens, cache_audio_read_tokens of cache_read_tokens)."""
    columns = {
        "input_audio_tokens": _int(input_audio),
        "output_audio_tokens": _int(output_audio),
        "cache_audio_read_tokens": _int(cache_audio_read),
    }
    return {k: v for k, v in columns.items() if v}


def _sum(*values: Any) -> int | None:
    numbers = [v for v in map(_int, values) if v is not None]
    return sum(numbers) if numbers else None


def openai_usage(usage: Any) -> dict[str, int]:
    """Chat/Completions (`prompt_tokens`) and Responses (`input_tokens`) usage; both already count cache
    reads inside the input and reasoning inside the output."""
    if not isinstance(usage, dict):
        return {}
    input_details = usage.get("prompt_tokens_details") or usage.get("input_tokens_details") or {}
    output_details = usage.get("completion_tokens_details") or usage.get("output_tokens_details") or {}
    cache_read = input_details.get("cached_tokens")
    if cache_read is None:
        cache_read = usage.get("prompt_cache_hit_tokens")  # DeepSeek's name for the same thing
    cache_write = input_details.get("cache_write_tokens") or input_details.get("cache_creation_tokens")
    return token_columns(
        input_tokens=usage.get("prompt_tokens", usage.get("input_tokens")),
        output_tokens=usage.get("completion_tokens", usage.get("output_tokens")),
        cache_read=cache_read,
        cache_write=cache_write,
        reasoning=output_details.get("reasoning_tokens"),
    )


def anthropic_usage(usage: Any) -> dict[str, int]:
    """Anthropic's `input_tokens` excludes cache reads and writes; the normalised column includes them."""
    if not isinstance(usage, dict):
        return {}
    cache_read = usage.get("cache_read_input_tokens")
    cache_write = usage.get("cache_creation_input_tokens")
    output_details = usage.get("output_tokens_details") or {}
    creation = usage.get("cache_creation")
    return token_columns(
        input_tokens=_sum(usage.get("input_tokens"), cache_read, cache_write),
        output_tokens=usage.get("output_tokens"),
        cache_read=cache_read,
        cache_write=cache_write,
        reasoning=output_details.get("thinking_tokens"),
        cache_write_1h=creation.get("ephemeral_1h_input_tokens") if isinstance(creation, dict) else None,
    )


def gemini_usage(usage: Any) -> dict[str, int]:
    """Gemini counts thoughts apart from candidates and tool-use prompt apart from the prompt."""
    if not isinstance(usage, dict):
        return {}
    return token_columns(
        input_tokens=_sum(usage.get("promptTokenCount"), usage.get("toolUsePromptTokenCount")),
        output_tokens=_sum(usage.get("candidatesTokenCount"), usage.get("thoughtsTokenCount")),
        cache_read=usage.get("cachedContentTokenCount"),
        reasoning=usage.get("thoughtsTokenCount"),
    )


def _first_int(usage: dict, *keys: str) -> int | None:
    return next((v for v in map(_int, (usage.get(k) for k in keys)) if v is not None), None)


def bedrock_usage(usage: Any) -> dict[str, int]:
    """Bedrock's Converse `usage`, Nova's InvokeModel usage and the `amazon-bedrock-invocationMetrics` of
    InvokeModel streams (`…TokenCount` names): like Anthropic's, input excludes cache reads and writes."""
    if not isinstance(usage, dict):
        return {}
    cache_read = _first_int(usage, "cacheReadInputTokens", "cacheReadInputTokenCount")
    cache_write = _first_int(usage, "cacheWriteInputTokens", "cacheWriteInputTokenCount")
    return token_columns(
        input_tokens=_sum(_first_int(usage, "inputTokens", "inputTokenCount"), cache_read, cache_write),
        output_tokens=_first_int(usage, "outputTokens", "outputTokenCount"),
        cache_read=cache_read,
        cache_write=cache_write,
    )


_MODEL_IN_PATH = re.compile(r"/models/([^/:]+)(?::|$)")


def path_model(path: str) -> str | None:
    """The model a Gemini or Vertex AI URL names: `/models/gemini-2.5-flash:generateContent`,
    `…/publishers/anthropic/models/claude-sonnet-4@20250514:streamRawPredict`."""
    match = _MODEL_IN_PATH.search(path or "")
    return match.group(1) if match else None


def parse_json_or_note(text: str) -> tuple[Any, str | None]:
    """Parse JSON text; on failure keep the text and say why (streamed tool inputs cut off or malformed)."""
    try:
        return json.loads(text), None
    except ValueError as exc:
        return text, f"not valid JSON ({exc.msg})"


_NOT_STORED = re.compile(r"^\[(\d+) bytes of ([^ \]]+) not stored\]$")


def media_placeholder(size: int, mime: str) -> str:
    """What replaces inline audio (or other media) in a stored WebSocket message: its size and type."""
    return f"[{size} bytes of {mime} not stored]"


def placeholder_size(value: Any) -> tuple[int, str] | None:
    """(bytes, mime type) of a `media_placeholder`, or None for anything else."""
    match = _NOT_STORED.match(value) if isinstance(value, str) else None
    return (int(match.group(1)), match.group(2)) if match else None


def flatten_text(content: Any) -> str:
    """Plain text of a message's content in any family's shape: a string, or a list of typed parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        pieces = [flatten_text(part) for part in content]
        return "\n".join(p for p in pieces if p)
    if isinstance(content, dict):
        if content.get("thought") is True:  # Gemini thought summaries are not the answer
            return ""
        for key in ("text", "input_text", "output_text"):
            if isinstance(content.get(key), str):
                return content[key]
        if content.get("type") in ("tool_result", "function_call_output"):
            return flatten_text(content.get("content") or content.get("output"))
    return ""


def with_tool_call(text: str, call: str) -> str:
    """Append a rendered tool call to completion text, on its own line; the model's text is left as is."""
    if text and not text.endswith("\n"):
        text += "\n"
    return text + call


def render_tool_call(name: Any, arguments: Any) -> str:
    """A tool call as one readable line of completion text: `name({"city": "Paris"})`."""
    if not isinstance(arguments, str):
        arguments = json.dumps(arguments, ensure_ascii=False, separators=(",", ":"))
    return f"{name}({arguments})"


def error_message(body: Any) -> str | None:
    """The provider's own message from an error body (`{"error": {"message": ...}}` and its variants)."""
    if isinstance(body, list) and body:
        body = body[0]  # Gemini streamed-array errors come wrapped in a list
    if not isinstance(body, dict):
        return None
    error = body.get("error")
    if isinstance(error, str):
        return error
    if isinstance(error, dict):
        message = error.get("message") or error.get("status") or error.get("type") or error.get("code")
        kind = error.get("type") or error.get("status") or error.get("code")
        if message is None:
            return json.dumps(error, ensure_ascii=False)[:500]
        return f"{kind}: {message}" if kind and kind != message else str(message)
    if isinstance(body.get("message"), str):  # {"type": "error", "message"}; Bedrock's and Cohere's bodies
        return body["message"]
    return None



def stored_json(text: Any) -> Any:
    """A stored body column read back as JSON, or None when it is empty or not JSON (a note, a cut body)."""
    if not isinstance(text, str) or not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None
