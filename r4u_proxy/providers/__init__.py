"""Provider knowledge: which requests are LLM calls (`hosts.py`, `routes.py`) and one module per API family.

Every family module offers the interface in `base.py` (`Family`): `request_info`, `prompt_parts`, `Stream`,
`summary`, and its messages as canonical messages, which sessions, the trace page's chat (`transcript.py`)
and export (`genai_parts.py`) all draw on; optionally `header_usage(response_headers)` for APIs that report
usage in headers when the body has none (Bedrock InvokeModel). `ingest/parse.py`, grouping and the UI only
ever reach a family through `family_module(route.family)`.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

from r4u_proxy.providers.base import FAMILY_INTERFACE, PromptParts
from r4u_proxy.providers.routes import PATH_OPERATIONS, Route, route

# A family's module is named after it, except where the module predates the rule.
_MODULE_NAMES = {"anthropic_messages": "anthropic"}


def _load(family: str) -> ModuleType:
    module = importlib.import_module(f"r4u_proxy.providers.{_MODULE_NAMES.get(family, family)}")
    missing = [name for name in FAMILY_INTERFACE if not hasattr(module, name)]
    if missing or family != module.FAMILY:
        raise ImportError(f"{module.__name__} does not implement family {family!r} (missing {missing})")
    return module


# Every family a routing row names, loaded once: a new family is its module plus its routing row.
FAMILIES: dict[str, ModuleType] = {family: _load(family) for family in dict.fromkeys(rule.family for rule in PATH_OPERATIONS)}

__all__ = ["FAMILIES", "Route", "family_module", "genai_content", "prompt_parts", "route"]


def family_module(family: str) -> ModuleType | None:
    return FAMILIES.get(family)


def prompt_parts(family: str, request_body: dict) -> PromptParts:
    """The request as a developer wrote it: `{"system", "turns": [{"role", "text"}], "tools": [names]}`."""
    module = FAMILIES.get(family)
    if module is None or not isinstance(request_body, dict):
        return {"system": None, "turns": [], "tools": []}
    return module.prompt_parts(request_body)


def genai_content(family: str, request_body: Any, response_body: Any) -> dict:
    """The call in the GenAI conventions' JSON shapes: `{"system", "messages", "tools", "output"}` (lists)."""
    from r4u_proxy.providers import genai_parts

    module = FAMILIES.get(family)
    if module is None:
        return {**genai_parts.empty_input(), "output": []}
    return genai_parts.content(module, request_body, response_body)
