"""Gemini and Vertex AI embeddings: `models/{m}:embedContent`, `:batchEmbedContents` (Gemini API, on
/v1/ and /v1beta/) and Vertex AI's `publishers/google/models/{m}:predict`. Never streamed.

The Gemini API returns only the vectors (no usage: such calls stay unpriced, saying so); Vertex reports
`usageMetadata.promptTokenCount` (embedContent, batchEmbedContents) or each input's
`statistics.token_count` (:predict), summed into input_tokens.
"""

from __future__ import annotations

from typing import Any

from r4u_proxy.messages import canonical
from r4u_proxy.providers import openai_embeddings
from r4u_proxy.providers.common import flatten_text, path_model, token_columns

FAMILY = "gemini_embeddings"


def request_info(body: dict, path: str = "") -> dict:
    return {"request_model": path_model(path) or body.get("model"), "stream": False}


def _content_text(content: Any) -> str:
    return flatten_text(content.get("parts")) if isinstance(content, dict) else flatten_text(content)


def _texts(body: dict) -> list[str]:
    if isinstance(body.get("requests"), list):  # batchEmbedContents
        texts = [_content_text(r.get("content")) for r in body["requests"] if isinstance(r, dict)]
    elif isinstance(body.get("instances"), list):  # Vertex :predict
        texts = [flatten_text(i.get("content")) for i in body["instances"] if isinstance(i, dict)]
    else:
        texts = [_content_text(body.get("content"))]
    return [t for t in texts if t]


def prompt_parts(body: dict) -> dict:
    return {"system": None, "turns": [{"role": "user", "text": t} for t in _texts(body)], "tools": []}


def input_messages(body: dict) -> list[dict]:
    """The inputs as one user message; the response is vectors, not words (no `response_choices`)."""
    texts = _texts(body)
    return [canonical.message("user", [canonical.text(t) for t in texts])] if texts else []


Stream = openai_embeddings.Stream  # embeddings do not stream; every family has the same shape


def summary(body: Any) -> dict:
    if not isinstance(body, dict):
        return {}
    if isinstance(body.get("predictions"), list):
        predictions = [p for p in body["predictions"] if isinstance(p, dict)]
        counts = [((p.get("embeddings") or {}).get("statistics") or {}).get("token_count") for p in predictions]
        numbers = [c for c in counts if isinstance(c, int | float)]
        result = {"completion_text": f"[{len(predictions)} embedding(s)]"}
        result.update(token_columns(int(sum(numbers)) if numbers else None))
        return result
    count = len(body.get("embeddings") or []) if "embeddings" in body else int("embedding" in body)
    result = {"completion_text": f"[{count} embedding(s)]"}
    result.update(token_columns((body.get("usageMetadata") or {}).get("promptTokenCount")))
    return result
