"""Provider knowledge: the route table and one parser module per API family.

Every family module offers the same small surface, which `analysis.py` relies on:
- `request_info(body, path) -> {"request_model", "stream"}`
- `prompt_parts(body) -> {"system", "turns", "tools"}`
- `Stream()` with `add(event_name, data) -> bool` (True when that event carried the first generated content),
  `body()` (the reassembled non-streaming body), and `error` / `notes`
- `summary(body) -> dict` of model, finish reason, completion text and normalised token columns
- optionally `header_usage(response_headers) -> dict` of token columns, for APIs that report usage in
  headers when the body has none (Bedrock InvokeModel)
"""

from __future__ import annotations

from types import ModuleType

from r4u_proxy.providers import (
    anthropic,
    bedrock,
    bedrock_invoke,
    cohere,
    gemini,
    gemini_embeddings,
    mistral,
    ollama,
    openai_chat,
    openai_completions,
    openai_embeddings,
    openai_responses,
    tgi,
)
from r4u_proxy.providers.routes import Route, route

FAMILIES: dict[str, ModuleType] = {
    module.FAMILY: module
    for module in (
        openai_chat, openai_responses, openai_completions, openai_embeddings, anthropic, gemini, gemini_embeddings,
        bedrock, bedrock_invoke, cohere, mistral, ollama, tgi,
    )
}  # fmt: skip

__all__ = ["FAMILIES", "Route", "family_module", "prompt_parts", "route"]


def family_module(family: str) -> ModuleType | None:
    return FAMILIES.get(family)


def prompt_parts(family: str, request_body: dict) -> dict:
    """The request as a developer wrote it: `{"system", "turns": [{"role", "text"}], "tools": [names]}`."""
    module = FAMILIES.get(family)
    if module is None or not isinstance(request_body, dict):
        return {"system": None, "turns": [], "tools": []}
    return module.prompt_parts(request_body)
