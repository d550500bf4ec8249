"""AWS Bedrock InvokeModel (`/model/{id}/invoke`) and InvokeModelWithResponseStream: each vendor's own body.

The body is the model vendor's API, told apart by its shape (a model id can be an opaque application
inference profile ARN):
- Anthropic Messages (`anthropic_version: bedrock-…`, no `model`): the anthropic family, stream included;
- Amazon Nova: Converse-shaped, its stream `{"messageStart": …}` chunks go to the Bedrock Converse family;
- OpenAI-shaped bodies (`choices`: Mistral Large, gpt-oss, DeepSeek): the openai_chat family;
- Meta Llama (`generation`), Mistral text (`outputs`), Amazon Titan (`results`, stream `outputText`),
  Cohere Command R (`text`, stream `event_type`), Cohere Command (`generations`) and the Titan and Cohere
  embedders: small readers here; their streams are rebuilt into the vendor's non-streaming body.
Usage comes from the body, the last stream chunk's `amazon-bedrock-invocationMetrics`, or (InvokeModel
bodies of Meta/Mistral/Cohere carry none) the `X-Amzn-Bedrock-*-Token-Count` response headers.
"""

from __future__ import annotations

from typing import Any

from r4u_proxy.providers import anthropic, bedrock, openai_chat
from r4u_proxy.providers.common import bedrock_usage, flatten_text, token_columns

FAMILY = "bedrock_invoke"
header_usage = bedrock.header_usage
_METRICS = "amazon-bedrock-invocationMetrics"
_NOVA_EVENTS = (
    "messageStart",
    "contentBlockStart",
    "contentBlockDelta",
    "contentBlockStop",
    "messageStop",
    "metadata",
)


def request_info(body: dict, path: str = "") -> dict:
    return {"request_model": bedrock.model_id(path), "stream": bedrock.is_stream_path(path)}


def prompt_parts(body: dict) -> dict:
    if isinstance(body.get("messages"), list):  # Anthropic, Nova (Converse-shaped), OpenAI-shaped chat
        if _has_openai_roles(body):
            return openai_chat.prompt_parts(body)
        return anthropic.prompt_parts(body) if body.get("anthropic_version") else bedrock.prompt_parts(body)
    text = body.get("prompt") or body.get("inputText") or body.get("message")
    texts = body.get("texts") if isinstance(body.get("texts"), list) else [text]
    turns = [{"role": "user", "text": flatten_text(t)} for t in texts if t]
    return {"system": flatten_text(body.get("preamble")) or None, "turns": turns, "tools": []}


def _has_openai_roles(body: dict) -> bool:
    return any(isinstance(m, dict) and m.get("role") in openai_chat.SYSTEM_ROLES for m in body["messages"])


class Stream:
    """Picks the vendor from the first chunk, then reassembles with that vendor's stream reader."""

    def __init__(self) -> None:
        self.inner: Any = None
        self.text_stream: _TextStream | None = None
        self.metrics: dict | None = None
        self.error: str | None = None
        self.notes: list[str] = []

    def add(self, event: str | None, data: Any) -> bool:
        if not isinstance(data, dict):
            return False
        if isinstance(data.get(_METRICS), dict):
            self.metrics = data[_METRICS]
        if self.inner is None and self.text_stream is None:
            self._choose(data)
        if isinstance(self.inner, anthropic.Stream):
            return self.inner.add(data.get("type"), data)
        if isinstance(self.inner, bedrock.Stream):
            return any(self.inner.add(key, value) for key, value in data.items() if key in _NOVA_EVENTS)
        if self.inner is not None:
            return self.inner.add(None, data)
        assert self.text_stream is not None
        return self.text_stream.add(data)

    def _choose(self, first: dict) -> None:
        if first.get("type") in ("message_start", "content_block_start", "ping", "error"):
            self.inner = anthropic.Stream()
        elif any(key in first for key in _NOVA_EVENTS):
            self.inner = bedrock.Stream()
        elif "choices" in first:
            self.inner = openai_chat.Stream()
        else:
            self.text_stream = _TextStream()

    def body(self) -> dict:
        source = self.inner if self.inner is not None else self.text_stream
        assert source is not None
        body = source.body()
        self.error = self.error or getattr(source, "error", None)
        self.notes.extend(getattr(source, "notes", []))
        if self.metrics is not None:
            body[_METRICS] = self.metrics
        return body


class _TextStream:
    """Meta, Mistral text, Titan and Cohere streams: text pieces in a vendor field, the last chunk's end."""

    def __init__(self) -> None:
        self.text = ""
        self.last: dict = {}
        self.final: dict | None = None

    def add(self, chunk: dict) -> bool:
        if chunk.get("event_type") == "stream-end" and isinstance(chunk.get("response"), dict):
            self.final = chunk["response"]  # Cohere Command R ends with the whole response
            return False
        piece = _chunk_text(chunk)
        self.text += piece
        self.last.update({k: v for k, v in chunk.items() if v is not None and k != _METRICS})
        return bool(piece)

    def body(self) -> dict:
        if self.final is not None:
            return self.final
        last = self.last
        if "generation" in last:  # Meta Llama
            return {**last, "generation": self.text}
        if "outputs" in last:  # Mistral text completion
            return {"outputs": [{"text": self.text, "stop_reason": _first(last["outputs"], "stop_reason")}]}
        if "outputText" in last:  # Titan: rebuilt as InvokeModel's {"inputTextTokenCount", "results"}
            result = {"tokenCount": last.get("totalOutputTextTokenCount"), "outputText": self.text,
                      "completionReason": last.get("completionReason")}  # fmt: skip
            return {"inputTextTokenCount": last.get("inputTextTokenCount"), "results": [result]}
        return {**last, "text": self.text}


def _first(items: Any, key: str) -> Any:
    return next((i.get(key) for i in items or [] if isinstance(i, dict) and i.get(key) is not None), None)


def _chunk_text(chunk: dict) -> str:
    for key in ("generation", "outputText"):
        if isinstance(chunk.get(key), str):
            return chunk[key]
    if isinstance(chunk.get("outputs"), list):
        return "".join(o.get("text") or "" for o in chunk["outputs"] if isinstance(o, dict))
    if chunk.get("event_type") == "text-generation" or (
        isinstance(chunk.get("text"), str) and "is_finished" in chunk
    ):
        return chunk.get("text") or ""
    return ""


def summary(body: Any) -> dict:
    if not isinstance(body, dict):
        return {}
    result = _vendor_summary(body)
    if "input_tokens" not in result and "output_tokens" not in result:
        result.update(bedrock_usage(body.get(_METRICS)))
    return result


def _vendor_summary(body: dict) -> dict:
    if body.get("type") == "message":
        return anthropic.summary(body)
    if isinstance(body.get("output"), dict):  # Nova
        return bedrock.summary(body)
    if "choices" in body:
        return openai_chat.summary(body)
    if "generation" in body:
        return {
            "completion_text": body.get("generation") or None,
            "finish_reason": body.get("stop_reason"),
            **token_columns(body.get("prompt_token_count"), body.get("generation_token_count")),
        }
    if isinstance(body.get("results"), list):  # Titan text
        results = [r for r in body["results"] if isinstance(r, dict)]
        return {
            "completion_text": "".join(r.get("outputText") or "" for r in results) or None,
            "finish_reason": _first(results, "completionReason"),
            **token_columns(
                body.get("inputTextTokenCount"), sum(r.get("tokenCount") or 0 for r in results) or None
            ),
        }
    if isinstance(body.get("outputs"), list):  # Mistral text
        outputs = body["outputs"]
        text = "".join(o.get("text") or "" for o in outputs if isinstance(o, dict))
        return {"completion_text": text or None, "finish_reason": _first(outputs, "stop_reason")}
    if isinstance(body.get("generations"), list):  # Cohere Command
        generations = body["generations"]
        text = "\n\n".join(g.get("text") or "" for g in generations if isinstance(g, dict))
        return {"completion_text": text or None, "finish_reason": _first(generations, "finish_reason")}
    if "embedding" in body or "embeddings" in body:  # Titan and Cohere embedders
        vectors = body.get("embeddings")
        if isinstance(vectors, dict):  # Cohere embed v4: {"float": [...], ...}
            vectors = next(iter(vectors.values()), [])
        count = 1 if "embedding" in body else len(vectors or [])
        return {
            "completion_text": f"[{count} embedding(s)]",
            **token_columns(body.get("inputTextTokenCount")),
        }
    if isinstance(body.get("text"), str):  # Cohere Command R
        return {"completion_text": body["text"] or None, "finish_reason": body.get("finish_reason")}
    return {}
