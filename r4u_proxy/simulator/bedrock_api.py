"""AWS Bedrock runtime answers: `/model/{id}/converse`, `/converse-stream`, `/invoke`, `/invoke-with-response-stream`.

Streams use the AWS event-stream framing (botocore, and so boto3, decodes and CRC-checks it). InvokeModel
speaks the model vendor's body, picked by the model id: Anthropic Messages, Amazon Nova (Converse-shaped),
Titan text and embeddings, Meta Llama, Mistral, Cohere Command R and embeddings. Usage is also sent in the
`X-Amzn-Bedrock-*-Token-Count` headers, as Bedrock does.
"""

from __future__ import annotations

import base64
import json
import re
import zlib
from typing import Any
from urllib.parse import unquote

from r4u_proxy.simulator import anthropic_api, reply
from r4u_proxy.simulator.openai_api import embedding_vector

PATH = re.compile(
    r"^/model/(?P<model>[^/]+)/(?P<op>converse-stream|converse|invoke-with-response-stream|invoke)$"
)
EVENT_STREAM_TYPE = "application/vnd.amazon.eventstream"


def encode_message(headers: dict[str, str], payload: bytes) -> bytes:
    """One AWS event-stream message: prelude (lengths + CRC), string headers, payload, message CRC."""
    encoded = b"".join(
        bytes([len(name)]) + name.encode() + b"\x07" + len(value.encode()).to_bytes(2, "big") + value.encode()
        for name, value in headers.items()
    )
    total = 12 + len(encoded) + len(payload) + 4
    prelude = total.to_bytes(4, "big") + len(encoded).to_bytes(4, "big")
    prelude += zlib.crc32(prelude).to_bytes(4, "big")
    body = prelude + encoded + payload
    return body + zlib.crc32(body).to_bytes(4, "big")


def _event(kind: str, payload: Any) -> bytes:
    headers = {":event-type": kind, ":content-type": "application/json", ":message-type": "event"}
    return encode_message(headers, json.dumps(payload, separators=(",", ":")).encode())


def _chunk(payload: Any) -> bytes:
    inner = base64.b64encode(json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()).decode()
    return _event("chunk", {"bytes": inner})


def _stream(events: list[bytes]) -> reply.Reply:
    return reply.Reply(status=200, headers=[("content-type", EVENT_STREAM_TYPE)], events=events)


def _usage_headers(input_tokens: int, output_tokens: int) -> list[tuple[str, str]]:
    return [
        ("x-amzn-bedrock-input-token-count", str(input_tokens)),
        ("x-amzn-bedrock-output-token-count", str(output_tokens)),
    ]


def _converse_events(words: list[str], input_tokens: int, output_tokens: int) -> list[tuple[str, dict]]:
    events = [("messageStart", {"role": "assistant"})]
    events += [("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": w}}) for w in words]
    events += [
        ("contentBlockStop", {"contentBlockIndex": 0}),
        ("messageStop", {"stopReason": "end_turn"}),
    ]
    usage = {
        "inputTokens": input_tokens,
        "outputTokens": output_tokens,
        "totalTokens": input_tokens + output_tokens,
    }
    events.append(("metadata", {"usage": usage, "metrics": {"latencyMs": 1}}))
    return events


def answer(path: str, request: dict[str, Any], event_count: int | None) -> reply.Reply | None:
    match = PATH.match(path)
    if match is None:
        return None
    model, op = unquote(match["model"]), match["op"]
    prompt = reply.request_prompt(request)
    words = reply.reply_words(prompt, model, event_count)
    text = "".join(words)
    input_tokens, output_tokens = reply.estimate_tokens(prompt), reply.estimate_tokens(text)
    converse = _converse_events(words, input_tokens, output_tokens)
    if op == "converse":
        message = {"role": "assistant", "content": [{"text": text}]}
        return reply.json_reply(
            {"output": {"message": message}, **{k: v for _, e in converse[-2:] for k, v in e.items()}}
        )
    if op == "converse-stream":
        return _stream([_event(kind, payload) for kind, payload in converse])
    return _invoke(
        model, request, op == "invoke-with-response-stream", words, input_tokens, output_tokens, converse
    )


def _invoke(
    model: str,
    request: dict,
    stream: bool,
    words: list[str],
    input_tokens: int,
    output_tokens: int,
    converse: list,
) -> reply.Reply:
    text = "".join(words)
    metrics = {"inputTokenCount": input_tokens, "outputTokenCount": output_tokens, "invocationLatency": 1,
               "firstByteLatency": 1}  # fmt: skip
    if "anthropic." in model:
        messages = anthropic_api.messages({**request, "model": model}, stream, len(words))
        if not stream:
            return messages
        payloads = [json.loads(line[6:]) for e in messages.events or [] for line in e.decode().splitlines()
                    if line.startswith("data: ")]  # fmt: skip
        payloads[-1]["amazon-bedrock-invocationMetrics"] = metrics
        return _stream([_chunk(p) for p in payloads])
    if "nova" in model:
        if not stream:
            return reply_for_nova(text, input_tokens, output_tokens)
        chunks = [{kind: payload} for kind, payload in converse]
        chunks[-1]["amazon-bedrock-invocationMetrics"] = metrics
        return _stream([_chunk(c) for c in chunks])
    if "embed" in model:
        texts = request.get("texts") or [request.get("inputText") or ""]
        if "cohere" in model:
            vectors = [embedding_vector(str(t), 1024) for t in texts]
            body = {"embeddings": vectors, "id": reply.short_id("emb-", str(texts)), "response_type": "embeddings_floats",
                    "texts": texts}  # fmt: skip
        else:
            body = {"embedding": embedding_vector(str(texts[0]), 1024), "inputTextTokenCount": input_tokens}
        return reply.json_reply(body, headers=_usage_headers(input_tokens, 0))
    pieces, final = _vendor_pieces(model, words, input_tokens, output_tokens)
    if not stream:
        return reply.json_reply(final, headers=_usage_headers(input_tokens, output_tokens))
    pieces[-1]["amazon-bedrock-invocationMetrics"] = metrics
    return _stream([_chunk(p) for p in pieces])


def reply_for_nova(text: str, input_tokens: int, output_tokens: int) -> reply.Reply:
    usage = {"inputTokens": input_tokens, "outputTokens": output_tokens, "totalTokens": input_tokens + output_tokens,
             "cacheReadInputTokenCount": 0, "cacheWriteInputTokenCount": 0}  # fmt: skip
    body = {"output": {"message": {"content": [{"text": text}], "role": "assistant"}}, "stopReason": "end_turn",
            "usage": usage}  # fmt: skip
    return reply.json_reply(body, headers=_usage_headers(input_tokens, output_tokens))


def _vendor_pieces(
    model: str, words: list[str], input_tokens: int, output_tokens: int
) -> tuple[list[dict], dict]:
    """(stream chunks, non-streamed body) of the text-completion vendors."""
    text = "".join(words)
    if "titan" in model:
        last = {"outputText": text, "index": 0, "totalOutputTextTokenCount": output_tokens,
                "completionReason": "FINISH", "inputTextTokenCount": input_tokens}  # fmt: skip
        result = {"tokenCount": output_tokens, "outputText": text, "completionReason": "FINISH"}
        return [last], {"inputTextTokenCount": input_tokens, "results": [result]}
    if "meta." in model:
        pieces = [{"generation": w, "prompt_token_count": None, "generation_token_count": i + 1, "stop_reason": None}
                  for i, w in enumerate(words)]  # fmt: skip
        pieces[-1].update(prompt_token_count=input_tokens, stop_reason="stop")
        final = {"generation": text, "prompt_token_count": input_tokens, "generation_token_count": output_tokens,
                 "stop_reason": "stop"}  # fmt: skip
        return pieces, final
    if "cohere." in model:
        final = {"response_id": reply.short_id("r-", text), "text": text, "generation_id": reply.short_id("g-", text),
                 "chat_history": [], "finish_reason": "COMPLETE"}  # fmt: skip
        pieces = [{"is_finished": False, "event_type": "text-generation", "text": w} for w in words]
        pieces.append(
            {"is_finished": True, "event_type": "stream-end", "response": final, "finish_reason": "COMPLETE"}
        )
        return pieces, final
    # Mistral (and any other text model): outputs[].text
    pieces = [{"outputs": [{"text": w, "stop_reason": None}]} for w in words]
    pieces[-1]["outputs"][0]["stop_reason"] = "stop"
    return pieces, {"outputs": [{"text": text, "stop_reason": "stop"}]}


def error(status: int, message: str) -> reply.Reply:
    kinds = {400: "ValidationException", 403: "AccessDeniedException", 404: "ResourceNotFoundException",
             429: "ThrottlingException", 500: "InternalServerException", 503: "ServiceUnavailableException"}  # fmt: skip
    return reply.json_reply({"message": message}, status=status,
                      headers=[("x-amzn-errortype", f"{kinds.get(status, 'InternalServerException')}:http://internal.amazon.com/coral/com.amazon.bedrock/")])  # fmt: skip
