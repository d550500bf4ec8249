"""Provider knowledge: the route table and one parser module per API family.

Every family module offers the same small surface, which `analysis.py` relies on:
- `request_info(body, path) -> {"request_model", "stream"}`
- `prompt_parts(body) -> {"system", "turns", "tools"}`
- `Stream()` with `add(event_name, data) -> bool` (True when that event carried the first generated content),
  `body()` (the reassembled non-streaming body), and `error` / `notes`
- `summary(body) -> dict` of model, finish reason, completion text and normalised token columns
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from r4u_proxy.providers import (
    anthropic,
    gemini,
    openai_chat,
    openai_completions,
    openai_embeddings,
    openai_responses,
)
from r4u_proxy.providers.routes import Route, route

FAMILIES: dict[str, ModuleType] = {
    module.FAMILY: module
    for module in (openai_chat, openai_responses, openai_completions, openai_embeddings, anthropic, gemini)
}

__all__ = ["FAMILIES", "Route", "family_module", "genai_content", "prompt_parts", "route"]


def family_module(family: str) -> ModuleType | None:
    return FAMILIES.get(family)


def prompt_parts(family: str, request_body: dict) -> dict:
    """The request as a developer wrote it: `{"system", "turns": [{"role", "text"}], "tools": [names]}`."""
    module = FAMILIES.get(family)
    if module is None or not isinstance(request_body, dict):
        return {"system": None, "turns": [], "tools": []}
    return module.prompt_parts(request_body)


def genai_content(family: str, request_body: Any, response_body: Any) -> dict:
    """The call in the GenAI conventions' JSON shapes: `{"system", "messages", "tools", "output"}` (lists).

    Families with a `genai_input` / `genai_output` convert their own bodies; the others (completions,
    embeddings) fall back on `prompt_parts`, as text."""
    from r4u_proxy.providers import genai_parts

    module = FAMILIES.get(family)
    content = genai_parts.empty_input()
    if module is not None and isinstance(request_body, dict):
        if hasattr(module, "genai_input"):
            content = module.genai_input(request_body)
        else:
            parts = module.prompt_parts(request_body)
            content["messages"] = [
                genai_parts.message(turn["role"], [genai_parts.text(turn["text"])]) for turn in parts["turns"]
            ]
    output = getattr(module, "genai_output", None)
    content["output"] = output(response_body) if output and response_body is not None else []
    return content
