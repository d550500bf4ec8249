"""Which answer a request gets: the endpoint table plus the x-sim-* controls that replace the answer.

Delivery controls (gaps, delays, resets, hangs, encodings) are applied later by the server; this module only
decides status, headers and content.
"""

from __future__ import annotations

import json
import random
import re
import zlib
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from r4u_proxy.simulator import (
    anthropic_api,
    bedrock_api,
    cohere_api,
    gemini_api,
    ollama_api,
    openai_api,
    tgi_api,
)
from r4u_proxy.simulator.controls import Controls
from r4u_proxy.simulator.fixtures import FixtureNotFound, fixture_content_type, load_fixture
from r4u_proxy.simulator.reply import Reply
from r4u_proxy.simulator.tool_plan import next_call

# Gemini API (/v1beta/models/M:method) and Vertex AI (/v1/projects/P/locations/L/publishers/google/models/M:method).
_GEMINI_PATH = re.compile(
    r"^/(?:v1beta1|v1beta|v1|v1alpha)/(?:projects/[^/]+/locations/[^/]+/publishers/google/)?"
    r"models/(?P<model>[^/:]+):(?P<method>[A-Za-z]+)$"
)
_CODE_ASSIST_PATH = re.compile(r"^/v1internal:(?P<method>[A-Za-z]+)$")
_VERTEX_ANTHROPIC_PATH = re.compile(
    r"^/v1(?:beta1)?/projects/[^/]+/locations/[^/]+/publishers/anthropic/models/(?P<model>[^/:]+):(?P<method>\w+)$"
)
_COHERE_PATHS = ("/v2/chat", "/v2/embed", "/v1/embed")
_TGI_PATH = re.compile(r"(?:^/?|/generate(?:_stream)?|^(?:/hf-inference)?/models/[^:]+)$")
_TWO_MB = 2 * 1024 * 1024


def error_family(path: str) -> Any:
    """Whose error shape to copy: the module of the API the path belongs to."""
    if bedrock_api.PATH.match(path):
        return bedrock_api
    if path.startswith("/api/"):
        return ollama_api
    if path in _COHERE_PATHS:
        return cohere_api
    if (path.endswith("/messages") and "/chat/" not in path) or _VERTEX_ANTHROPIC_PATH.match(path):
        return anthropic_api
    if path.startswith(("/v1beta/", "/v1alpha/", "/v1internal:")) or _GEMINI_PATH.match(path) or "BidiGenerateContent" in path:
        return gemini_api
    if _TGI_PATH.search(path):
        return tgi_api
    return openai_api


def error_reply(path: str, status: int, message: str) -> Reply:
    return error_family(path).error(status, message)


def _special_body(kind: str) -> Reply:
    """Replies a parser must survive: `x-sim-body`."""
    if kind == "binary-2mb":
        # Incompressible, repeatable bytes: 2 MiB of a seeded byte pattern (os.urandom would vary per run).
        block = b"".join(zlib.crc32(i.to_bytes(4, "little")).to_bytes(4, "little") for i in range(16384))
        return Reply(headers=[("content-type", "application/octet-stream")], body=(block * 32)[:_TWO_MB])
    if kind == "not-json":
        return Reply(headers=[("content-type", "application/json")], body=b"this is not JSON {\n")
    if kind == "html":
        page = b"<html><head><title>502 Bad Gateway</title></head><body>upstream sad</body></html>\n"
        return Reply(headers=[("content-type", "text/html")], body=page)
    if kind == "truncated-json":
        return Reply(headers=[("content-type", "application/json")], body=b'{"id": "chatcmpl-sim", "choi')
    return Reply(headers=[("content-type", "application/json")], body=b"")  # "empty"


def _decoded_body(body: bytes, headers: dict[str, str]) -> bytes:
    encoding = headers.get("content-encoding", "").strip().lower()
    if encoding == "gzip":
        return zlib.decompress(body, wbits=31)
    if encoding == "deflate":
        return zlib.decompress(body)
    return body


def _json_body(body: bytes, headers: dict[str, str]) -> dict[str, Any] | None:
    try:
        parsed = json.loads(_decoded_body(body, headers) or b"{}")
    except (ValueError, zlib.error):
        return None
    return parsed if isinstance(parsed, dict) else None


def build_reply(
    method: str,
    path: str,
    query: str,
    headers: dict[str, str],
    body: bytes,
    controls: Controls,
    fixtures_dir: Path,
) -> Reply:
    """The answer to one request (headers lower-cased), before delivery controls."""
    if controls.status is not None and controls.status >= 400 and controls.fixture is None:
        return error_reply(path, controls.status, f"simulated error {controls.status} (x-sim-status)")
    if controls.body is not None:
        reply = _special_body(controls.body)
    elif controls.fixture is not None:
        try:
            events = load_fixture(fixtures_dir, controls.fixture)
        except FixtureNotFound as missing:
            # 500 with the simulator's name in it: a typo in a test must not look like a proxy bug.
            return error_reply(path, 500, f"r4u simulator: {missing}")
        if controls.fixture.endswith(".json"):  # a recorded non-streamed body, sent whole
            reply = Reply(headers=[("content-type", "application/json")], body=b"".join(events))
        else:
            content_type = fixture_content_type(controls.fixture)
            reply = Reply(headers=[("content-type", content_type), ("cache-control", "no-cache")], events=events)
    else:
        reply = _endpoint_reply(method, path, query, headers, body, controls)
    if controls.status is not None:
        reply.status = controls.status
    if controls.content_type is not None:
        reply.headers = [(k, v) for k, v in reply.headers if k != "content-type"]
        reply.headers.append(("content-type", controls.content_type))
    if reply.events is not None and controls.pad_bytes:
        # An SSE comment after each event: a big stream whose meaning stays small.
        padding = b": " + b"p" * controls.pad_bytes + b"\n\n"
        reply.events = [piece for event in reply.events for piece in (event, padding)]
    if reply.events is not None and controls.split:
        reply.events = resplit(b"".join(reply.events), controls.split)
    return reply


def resplit(body: bytes, how: str) -> list[bytes]:
    """Cut a body into writes at arbitrary byte boundaries: '1' (every byte) or 'random:SEED'."""
    if how == "1":
        return [body[i : i + 1] for i in range(len(body))]
    rng = random.Random(int(how.partition(":")[2]))
    pieces, at = [], 0
    while at < len(body):
        size = rng.randint(1, 64)
        pieces.append(body[at : at + size])
        at += size
    return pieces


def _endpoint_reply(
    method: str, path: str, query: str, headers: dict[str, str], body: bytes, controls: Controls
) -> Reply:
    if method == "GET" and path in ("/v1/models", "/models"):
        return openai_api.models()
    if method == "GET" and path == "/health":
        return Reply(headers=[("content-type", "text/plain")], body=b"ok\n")
    if method != "POST":
        return error_reply(path, 404, f"r4u simulator: no route for {method} {path}")

    request = _json_body(body, headers)
    if request is None:
        return error_reply(path, 400, "r4u simulator: the request body is not a JSON object")

    def wants_stream(default: bool) -> bool:
        return controls.stream if controls.stream is not None else default

    asked_stream = bool(request.get("stream"))
    try:
        call = next_call(request, headers.get("x-sim-tool-plan"))
    except ValueError as bad:
        return error_reply(path, 400, f"r4u simulator: {bad}")
    if bedrock := bedrock_api.answer(path, request, controls.events):
        return bedrock
    if path.startswith("/api/"):
        return ollama_api.answer(path, request, controls.stream, controls.events)
    if path in _COHERE_PATHS:
        return cohere_api.answer(path, request, controls.stream, controls.events)
    if path.endswith("/fim/completions"):  # Mistral: a prompt and a suffix, answered as a chat completion
        as_chat = {**request, "messages": [{"role": "user", "content": str(request.get("prompt") or "")}]}
        return openai_api.chat_completions(as_chat, wants_stream(asked_stream), controls.events)
    # OpenAI-compatible hosts put the same API under other prefixes (/openai/v1, /api/v1, /v1).
    if path.endswith("/chat/completions"):
        return openai_api.chat_completions(request, wants_stream(asked_stream), controls.events, call)
    if path.endswith("/responses"):
        return openai_api.responses(request, wants_stream(asked_stream), controls.events, call)
    if path.endswith("/embeddings"):
        return openai_api.embeddings(request)
    if path.endswith("/messages"):
        return anthropic_api.messages(request, wants_stream(asked_stream), controls.events, call)
    if vertex := _VERTEX_ANTHROPIC_PATH.match(path):  # Claude on Vertex AI: the model is in the URL
        model_request = {**request, "model": vertex["model"]}
        return anthropic_api.messages(model_request, wants_stream(asked_stream), controls.events, call)
    code_assist = _CODE_ASSIST_PATH.match(path)
    if code_assist:
        method_name = code_assist["method"]
        streaming = wants_stream(method_name == "streamGenerateContent")
        sse = parse_qs(query).get("alt") == ["sse"]
        return gemini_api.code_assist(method_name, request, streaming, sse, controls.events)
    gemini = _GEMINI_PATH.match(path)
    if gemini and gemini["method"] in ("generateContent", "streamGenerateContent"):
        streaming = wants_stream(gemini["method"] == "streamGenerateContent")
        sse = parse_qs(query).get("alt") == ["sse"]
        return gemini_api.generate_content(gemini["model"], request, streaming, sse, controls.events)
    if gemini and gemini["method"] in ("embedContent", "batchEmbedContents", "countTokens", "predict"):
        return gemini_api.embeddings(gemini["method"], request, vertex="/projects/" in path)
    if _TGI_PATH.search(path):
        return tgi_api.generate(path, request, controls.stream, controls.events)
    return error_reply(path, 404, f"r4u simulator: no route for {method} {path}")
