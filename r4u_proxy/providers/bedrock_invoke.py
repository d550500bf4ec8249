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
The canonical-message hooks go to the family whose shape the body has (Claude Code on Bedrock sends
Anthropic bodies); a text vendor's prompt and answer are shown as one user and one assistant message.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from r4u_proxy.messages import canonical
from r4u_proxy.providers import anthropic, bedrock_converse, openai_chat
from r4u_proxy.providers.base import Choice, StreamBase
from r4u_proxy.providers.common import bedrock_usage, flatten_text, token_columns

FAMILY = "bedrock_invoke"
header_usage = bedrock_converse.header_usage
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
    return {"request_model": bedrock_converse.model_id(path), "stream": bedrock_converse.is_stream_path(path)}


def _chat_family(body: dict) -> ModuleType | None:
    """The family whose request shape a chat body has: Anthropic, Nova (Converse-shaped), OpenAI-shaped;
    None for the text and embedding vendors' bodies."""
    if not isinstance(body.get("messages"), list):
        return None
    if any(isinstance(m, dict) and m.get("role") in openai_chat.SYSTEM_ROLES for m in body["messages"]):
        return openai_chat
    return anthropic if body.get("anthropic_version") else bedrock_converse


def _response_family(body: Any) -> ModuleType | None:
    """The family whose response shape a body has (None: a text or embedding vendor's own body)."""
    if not isinstance(body, dict):
        return None
    if body.get("type") == "message":
        return anthropic
    if isinstance(body.get("output"), dict):  # Nova
        return bedrock_converse
    return openai_chat if "choices" in body else None


def _texts(body: dict) -> list[str]:
    text = body.get("prompt") or body.get("inputText") or body.get("message")
    texts = body.get("texts") if isinstance(body.get("texts"), list) else [text]
    return [flatten_text(t) for t in texts if t]


def prompt_parts(body: dict) -> dict:
    family = _chat_family(body)
    if family is not None:
        return family.prompt_parts(body)
    turns = [{"role": "user", "text": text} for text in _texts(body)]
    return {"system": flatten_text(body.get("preamble")) or None, "turns": turns, "tools": []}


class Stream(StreamBase):
    """Picks the vendor from the first chunk, then reassembles with that vendor's stream reader."""

    def __init__(self) -> None:
        super().__init__()
        self.inner: Any = None
        self.text_stream: _TextStream | None = None
        self.metrics: dict | None = None

    def add_object(self, event: str | None, data: dict) -> bool:
        if isinstance(data.get(_METRICS), dict):
            self.metrics = data[_METRICS]
        if self.inner is None and self.text_stream is None:
            self._choose(data)
        if isinstance(self.inner, anthropic.Stream):
            return self.inner.add(data.get("type"), data)
        if isinstance(self.inner, bedrock_converse.Stream):
            return any(self.inner.add(key, value) for key, value in data.items() if key in _NOVA_EVENTS)
        if self.inner is not None:
            return self.inner.add(None, data)
        assert self.text_stream is not None
        return self.text_stream.add(data)

    def _choose(self, first: dict) -> None:
        if first.get("type") in ("message_start", "content_block_start", "ping", "error"):
            self.inner = anthropic.Stream()
        elif any(key in first for key in _NOVA_EVENTS):
            self.inner = bedrock_converse.Stream()
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
    family = _response_family(body)
    if family is not None:
        return family.summary(body)
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


# --- canonical messages: the chat vendors' own families; the text vendors' prompt and answer ----------------

MESSAGES_KEY = "messages"


def _item_family(item: dict) -> ModuleType:
    """The chat family a resent message's shape belongs to (Converse blocks carry no `type`)."""
    if item.get("tool_calls") or item.get("role") in (*openai_chat.SYSTEM_ROLES, "tool"):
        return openai_chat
    content = item.get("content")
    untyped = isinstance(content, list) and content and all(isinstance(b, dict) and "type" not in b for b in content)
    return bedrock_converse if untyped else anthropic


def canonical_message(item: Any) -> dict | None:
    return _item_family(item).canonical_message(item) if isinstance(item, dict) else None


def system_parts(body: dict) -> list[dict]:
    family = _chat_family(body)
    if family is not None:
        return family.system_parts(body)
    return [canonical.text(flatten_text(body["preamble"]))] if body.get("preamble") else []


def input_messages(body: dict) -> list[dict]:
    """A text or embedding vendor's body (no `messages`): the preamble, then its prompt(s) as one user message."""
    system = system_parts(body)
    texts = _texts(body)
    said = [canonical.message("user", [canonical.text(text) for text in texts])] if texts else []
    return ([canonical.message("system", system)] if system else []) + said


def response_choices(body: Any) -> list[Choice]:
    family = _response_family(body)
    if family is not None:
        return family.response_choices(body)
    if not isinstance(body, dict) or "embedding" in body or "embeddings" in body:  # vectors, not words
        return []
    found = summary(body)
    if not found.get("completion_text"):
        return []
    said = canonical.message("assistant", [canonical.text(found["completion_text"])])
    return [{"messages": [said], "finish_reason": found.get("finish_reason")}]


def genai_tools(body: dict) -> list[dict]:
    family = _chat_family(body)
    return family.genai_tools(body) if family is not None else []
