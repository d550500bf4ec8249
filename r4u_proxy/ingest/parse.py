"""Exchange → the parsed fields of a trace: models, prompt, reassembled stream, usage, first content time.

Runs in the writer process for every recorded call, so it must be quick and must never raise: whatever goes
wrong becomes a `parse_note` and the fields found so far are still returned. The bodies are parsed here
once; what pricing needs from them (the service tier, 1-hour cache writes) is handed on as fields, so
nothing downstream parses a body again.
"""

from __future__ import annotations

import json
from typing import Any, TypedDict

from r4u_proxy.ingest.decoding import decode_chunks
from r4u_proxy.ingest.eventstream import EventStreamDecoder
from r4u_proxy.ingest.exchange import Exchange
from r4u_proxy.ingest.sse import JSONArraySplitter, SSEDecoder, WholeMessages
from r4u_proxy.messages.hashing import HashedRequest
from r4u_proxy.providers import Route, family_module
from r4u_proxy.providers.common import error_message

_STREAM_CONTENT_TYPES = ("text/event-stream",)
_JSON_SEQUENCE_CONTENT_TYPES = ("application/x-ndjson", "application/jsonl", "application/json-seq")
_AWS_EVENT_STREAM_TYPE = "application/vnd.amazon.eventstream"
# Stream framing -> its incremental decoder (all yield sse.Event).
_DECODERS = {
    "sse": SSEDecoder,
    "json_objects": JSONArraySplitter,
    "aws_event_stream": EventStreamDecoder,
    "messages": WholeMessages,  # WebSocket messages, one whole message a chunk
}


def header(headers: Any, name: str) -> str | None:
    """First value of a header, case-insensitively, from a list of (name, value) pairs."""
    name = name.lower()
    for key, value in headers or []:
        if str(key).lower() == name:
            return value
    return None


class Parsed(TypedDict, total=False):
    """What `analyze` found; a key is absent when the call did not say."""

    request_model: str
    stream: bool
    prompt_text: str  # the system prompt, then each turn prefixed by its role
    response_model: str
    response_body: str  # JSON text; for a stream the reassembled non-streaming body
    response_raw: str  # streams: the decoded event-stream text
    completion_text: str
    finish_reason: str
    input_tokens: int  # the normalised token columns (docs/architecture.md)
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    reasoning_tokens: int
    input_audio_tokens: int  # parts of input_tokens, output_tokens, cache_read_tokens (Realtime, Gemini Live)
    output_audio_tokens: int
    cache_audio_read_tokens: int
    cache_write_1h_tokens: int  # the part of cache_write_tokens kept for an hour (Anthropic)
    service_tier: str  # as the provider named it: the response's answer, else the request's ask
    first_content_at: float  # time.time() of the chunk that carried the first generated content
    error: str  # an error the provider reported (status >= 400, or inside a stream)
    parse_note: str  # why the bodies could not be (fully) understood


def analyze(route: Route | None, exchange: Exchange, hashed: HashedRequest | None = None) -> Parsed:
    """Parse an exchange's bodies with its family's module. Never raises; reads keys with .get(), so
    tests may pass only the keys that matter.

    `hashed`: the request as the session tracker hashed it (messages/hashing.py). Given, the request's
    fields come from its top-level values and prompt_text is left to content storage, which builds it from
    the messages it stores: a 200-turn conversation is not parsed again for each call."""
    result: dict = {}
    notes: list[str] = []
    try:
        _analyze(route, exchange, result, notes, hashed)
    except Exception as exc:  # never let one odd response stop the writer
        notes.append(f"analysis failed: {type(exc).__name__}: {exc}")
    requested_tier = result.pop("requested_service_tier", None)
    result["service_tier"] = result.get("service_tier") or requested_tier
    if notes:
        result["parse_note"] = "; ".join(notes)
    return {k: v for k, v in result.items() if v is not None}  # type: ignore[return-value]


def _analyze(route: Route | None, exchange: Exchange, result: dict, notes: list[str], hashed: Any) -> None:
    module = family_module(route.family) if route is not None else None
    path = exchange.get("path") or ""

    if module is not None and hashed is not None:
        result.update(module.request_info(hashed.top_level(), path))
    request = _parse_request_body(exchange, notes) if hashed is None else None
    if module is not None and hashed is None:
        result.update(module.request_info(request if isinstance(request, dict) else {}, path))
        if isinstance(request, dict):
            result["prompt_text"] = prompt_text(module.prompt_parts(request))

    chunks, decode_note = decode_chunks(
        exchange.get("chunks") or [], header(exchange.get("response_headers"), "content-encoding")
    )
    if decode_note:
        notes.append(decode_note)
    if exchange.get("truncated"):
        kept = sum(len(data) for _, data in exchange.get("chunks") or [])
        notes.append(f"capture cap reached: kept {kept} of {exchange.get('response_bytes')} body bytes")

    content_type = (header(exchange.get("response_headers"), "content-type") or "").lower()
    # WebSocket responses (ingest/websocket.py) come as whole messages, whatever the handshake's headers say.
    framing = exchange.get("framing") or _stream_framing(content_type, route, path)
    if framing is None and result.get("stream") and _looks_like_sse(chunks):
        # Some servers and gateways send event streams as text/plain, or with no content-type at all.
        framing = "sse"
        notes.append(f"event stream sent as {content_type or 'no content-type'}")
    is_error_document = (exchange.get("status_code") or 0) >= 400 and framing != "sse"
    if framing is not None and module is not None and not is_error_document:
        result["stream"] = True
        _analyze_stream(module, framing, chunks, exchange, result, notes)
    else:
        if not is_error_document:
            result["stream"] = False  # asked for a stream, got one JSON body: time it like one
        _analyze_json(module, chunks, content_type, exchange, result, notes)


def _parse_request_body(exchange: Exchange, notes: list[str]) -> Any:
    raw = exchange.get("request_body") or b""
    if not raw or exchange.get("request_truncated"):  # the head of a JSON document is not JSON
        return None
    encoding = header(exchange.get("request_headers"), "content-encoding")
    if encoding:
        decoded, note = decode_chunks([(0.0, raw)], encoding)
        if note:
            notes.append(f"request: {note}")
        raw = b"".join(data for _, data in decoded)
    try:
        return json.loads(raw)
    except ValueError:
        notes.append(f"request body is not JSON ({len(raw)} bytes)")
        return None


def prompt_text(parts: dict) -> str | None:
    """The prompt as one readable text: the system prompt, then each turn prefixed by its role."""
    blocks = []
    if parts.get("system"):
        blocks.append(f"system: {parts['system']}")
    blocks += [f"{turn['role']}: {turn['text']}" for turn in parts.get("turns") or [] if turn.get("text")]
    return "\n\n".join(blocks) or None


def _stream_framing(content_type: str, route: Route | None, path: str) -> str | None:
    if content_type.startswith(_STREAM_CONTENT_TYPES):
        return "sse"
    if content_type.startswith(_JSON_SEQUENCE_CONTENT_TYPES):
        return "json_objects"
    if content_type.startswith(_AWS_EVENT_STREAM_TYPE):
        return "aws_event_stream"
    # Gemini without alt=sse streams one JSON array, sent as application/json.
    if route is not None and route.family == "gemini" and ":streamGenerateContent" in path:
        return "json_objects"
    return None


def _looks_like_sse(chunks: list) -> bool:
    start = b"".join(data for _, data in chunks[:4])[:64].lstrip()
    return start.startswith((b"data:", b"event:", b"id:", b":"))


def _analyze_stream(
    module: Any, framing: str, chunks: list, exchange: Exchange, result: dict, notes: list[str]
) -> None:
    decoder = _DECODERS[framing]()
    stream = module.Stream()
    first_content_at: float | None = None
    unparsed = 0
    rejected: list[str] = []
    saw_event = False

    def take(events: list) -> None:
        nonlocal first_content_at, unparsed, saw_event
        for event in events:
            if event.data.strip() == "[DONE]":
                continue
            try:
                data = json.loads(event.data)
            except ValueError:
                unparsed += 1
                continue
            saw_event = True
            if event.raw:  # not SSE-framed: typically a bare error object written into the stream
                message = error_message(data)
                if message:
                    stream.error = message
                    continue
            try:
                carried_content = stream.add(event.event, data)
            except Exception as exc:  # one malformed event must not cost the rest of the stream
                rejected.append(f"{type(exc).__name__}: {exc}")
                continue
            if carried_content and first_content_at is None:
                first_content_at = event.t

    for t, data in chunks:
        take(decoder.feed(data, t))
    end_time = exchange.get("t_end") or (chunks[-1][0] if chunks else 0.0)
    take(decoder.close(end_time))

    if isinstance(decoder, EventStreamDecoder):  # binary framing: the decoded messages as text
        result["response_raw"] = decoder.rendered()
        notes.extend(decoder.notes)
    else:
        result["response_raw"] = b"".join(data for _, data in chunks).decode("utf-8", errors="replace")
    if unparsed:
        notes.append(f"{unparsed} stream event(s) were not JSON")
    if rejected:
        notes.append(f"{len(rejected)} stream event(s) had an unexpected shape (first: {rejected[0]})")
    if saw_event:
        body = stream.body()
        result["response_body"] = _compact(body)
        result.update(_summary(module, body, exchange))
    elif exchange.get("status_code") and exchange["status_code"] < 400:
        notes.append("stream carried no events")
    notes.extend(stream.notes)
    result["first_content_at"] = first_content_at
    status = exchange.get("status_code") or 0
    result["error"] = stream.error or result.get("error") or (f"HTTP {status}" if status >= 400 else None)


def _analyze_json(
    module: Any, chunks: list, content_type: str, exchange: Exchange, result: dict, notes: list[str]
) -> None:
    raw = b"".join(data for _, data in chunks)
    status = exchange.get("status_code") or 0
    if not raw:
        if 200 <= status < 300 and status != 204 and exchange.get("error") is None:
            notes.append(f"response body is empty (HTTP {status}, {content_type or 'no content-type'})")
        return
    try:
        body = json.loads(raw)
    except ValueError:
        size = exchange.get("response_bytes") or len(raw)
        notes.append(f"response body is not JSON ({size} bytes, {content_type or 'no content-type'})")
        if status >= 400:
            result["error"] = f"HTTP {status}: {raw[:300].decode('utf-8', errors='replace').strip()}"
        return
    result["response_body"] = _compact(body)
    if module is not None and status < 400:
        result.update(_summary(module, body, exchange))
    if status >= 400:
        result["error"] = error_message(body) or f"HTTP {status}"


def _summary(module: Any, body: Any, exchange: Exchange) -> dict:
    """The family's summary of a body; a family whose API reports usage in response headers only (Bedrock
    InvokeModel for some vendors) offers `header_usage(headers)` for when the body has none."""
    found = module.summary(body)
    header_usage = getattr(module, "header_usage", None)
    if header_usage is not None and "input_tokens" not in found and "output_tokens" not in found:
        found.update(header_usage(exchange.get("response_headers")))
    return found


def _compact(body: Any) -> str:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))
