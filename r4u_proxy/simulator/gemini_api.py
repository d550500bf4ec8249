"""Gemini API answers: `models/{m}:generateContent` and `:streamGenerateContent` (`?alt=sse` or JSON array),
and Gemini Code Assist's `v1internal:{method}`: the same answers in its envelope (`{response, traceId}`),
plus the `loadCodeAssist` call Gemini CLI makes before the first one (and `{}` for its other calls); the
embeddings (`:embedContent`, `:batchEmbedContents`, Vertex `:predict`) and `:countTokens`."""

from __future__ import annotations

import json
from typing import Any

from r4u_proxy.simulator import reply
from r4u_proxy.simulator.openai_api import embedding_vector


def _prompt(request: dict[str, Any]) -> str:
    parts = [reply.text_of(request.get("systemInstruction") or request.get("system_instruction") or {})]
    for content in request.get("contents") or []:
        if isinstance(content, dict):
            parts.append(reply.text_of(content.get("parts") or []))
    return "\n".join(p for p in parts if p)


def _usage(prompt_tokens: int, output_tokens: int) -> dict[str, Any]:
    return {
        "promptTokenCount": prompt_tokens,
        "candidatesTokenCount": output_tokens,
        "totalTokenCount": prompt_tokens + output_tokens,
    }


def generate_content(
    model: str, request: dict[str, Any], stream: bool, sse: bool, event_count: int | None,
    envelope: dict[str, Any] | None = None,
) -> reply.Reply:  # fmt: skip
    prompt = _prompt(request)
    words = reply.reply_words(prompt, model, event_count)
    text = "".join(words)
    prompt_tokens = reply.estimate_tokens(prompt)
    response_id = reply.short_id("sim", prompt)

    def chunk(piece: str, last: bool, produced: str) -> dict[str, Any]:
        candidate: dict[str, Any] = {"content": {"parts": [{"text": piece}], "role": "model"}, "index": 0}
        if last:
            candidate["finishReason"] = "STOP"
        body = {
            "candidates": [candidate],
            "usageMetadata": _usage(prompt_tokens, reply.estimate_tokens(produced)),
            "modelVersion": model,
            "responseId": response_id,
        }
        return body if envelope is None else {"response": body, **envelope}

    if not stream:
        return reply.json_reply(chunk(text, True, text))

    produced = ""
    chunks = []
    for index, word in enumerate(words):
        produced += word
        chunks.append(chunk(word, index == len(words) - 1, produced))
    if sse:
        # Google ends each event with CRLF CRLF; the recorded fixtures do the same.
        return reply.sse_reply([reply.data_event(c, newline=b"\r\n") for c in chunks])
    # Without alt=sse the stream is one JSON array, delivered piece by piece.
    pieces = [("[" if i == 0 else ",\r\n") + json.dumps(c) for i, c in enumerate(chunks)]
    pieces.append("]")
    return reply.Reply(status=200, headers=[("content-type", "application/json; charset=UTF-8")],
                 events=[p.encode() for p in pieces])


def embeddings(method: str, request: dict[str, Any], vertex: bool = False) -> reply.Reply:
    """`:embedContent` (one vector), `:batchEmbedContents` (one per request), Vertex `:predict`, `:countTokens`.

    Vertex AI adds `usageMetadata` to embedContent and batchEmbedContents answers; the Gemini API does not.
    """
    if method == "countTokens":
        total = reply.estimate_tokens(_prompt(request))
        return reply.json_reply(
            {"totalTokens": total, "promptTokensDetails": [{"modality": "TEXT", "tokenCount": total}]}
        )
    if method == "predict":
        texts = [
            reply.text_of(i.get("content") or "") for i in request.get("instances") or [] if isinstance(i, dict)
        ]
        predictions = [{"embeddings": {"values": embedding_vector(t, 768),
                                       "statistics": {"token_count": reply.estimate_tokens(t), "truncated": False}}}
                       for t in texts]  # fmt: skip
        return reply.json_reply(
            {"predictions": predictions, "metadata": {"billableCharacterCount": sum(map(len, texts))}}
        )
    if method == "batchEmbedContents":
        texts = [reply.text_of((r.get("content") or {}).get("parts") or []) for r in request.get("requests") or []]
        body: dict[str, Any] = {"embeddings": [{"values": embedding_vector(t, 768)} for t in texts]}
    else:
        texts = [reply.text_of((request.get("content") or {}).get("parts") or [])]
        body = {"embedding": {"values": embedding_vector(texts[0], 768)}}
    if vertex:
        count = sum(reply.estimate_tokens(t) for t in texts)
        body["usageMetadata"] = {"promptTokenCount": count, "totalTokenCount": count}
    return reply.json_reply(body)


def code_assist(method: str, request: dict[str, Any], stream: bool, sse: bool, event_count: int | None) -> reply.Reply:
    """`POST /v1internal:{method}` on cloudcode-pa.googleapis.com: body `{model, project, request: {...}}`."""
    inner = request.get("request") if isinstance(request.get("request"), dict) else {}
    if method in ("generateContent", "streamGenerateContent"):
        model = str(request.get("model") or "gemini-2.5-pro")
        envelope = {"traceId": reply.short_id("trace", _prompt(inner))}
        return generate_content(model, inner, stream, sse, event_count, envelope=envelope)
    if method == "countTokens":
        return reply.json_reply({"totalTokens": reply.estimate_tokens(_prompt(inner))})
    if method == "loadCodeAssist":
        project = request.get("cloudaicompanionProject") or "r4u-simulated-project"
        tier = {"id": "standard-tier", "name": "Gemini Code Assist (r4u simulator)"}
        return reply.json_reply({"currentTier": tier, "allowedTiers": [tier], "cloudaicompanionProject": project})
    # The other calls Gemini CLI makes around a session (admin controls, quota, experiments, telemetry)
    # carry no LLM content: an empty answer lets it go on.
    return reply.json_reply({})


def error(status: int, message: str) -> reply.Reply:
    statuses = {
        400: "INVALID_ARGUMENT",
        401: "UNAUTHENTICATED",
        403: "PERMISSION_DENIED",
        404: "NOT_FOUND",
        429: "RESOURCE_EXHAUSTED",
        500: "INTERNAL",
        503: "UNAVAILABLE",
        504: "DEADLINE_EXCEEDED",
    }
    payload = {"error": {"code": status, "message": message, "status": statuses.get(status, "UNKNOWN")}}
    return reply.json_reply(payload, status=status)
