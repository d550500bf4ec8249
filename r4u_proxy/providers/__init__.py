"""Provider knowledge: which requests are LLM calls (`hosts.py`, `routes.py`) and one module per API family.

Every family module offers the interface in `base.py` (`Family`): `request_info`, `prompt_parts`, `Stream`,
`summary`, and `request_messages` / `response_messages` for the trace page's chat; optionally
`header_usage(response_headers)` for APIs that report usage in headers when the body has none (Bedrock
InvokeModel). `ingest/parse.py`, grouping and the UI only ever reach a family through
`family_module(route.family)`.
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
    """The call in the GenAI conventions' JSON shapes: `{"system", "messages", "tools", "output"}` (lists).

    Families with a `genai_input` / `genai_output` convert their own bodies; the others are converted from
    their chat transcript (`request_messages` / `response_messages`), with the tool names `prompt_parts` lists.
    """
    from r4u_proxy.providers import genai_parts

    module = FAMILIES.get(family)
    content = genai_parts.empty_input()
    if module is None:
        content["output"] = []
        return content
    if isinstance(request_body, dict):
        if hasattr(module, "genai_input"):
            content = module.genai_input(request_body)
        else:
            said = genai_parts.from_chat(module.request_messages(request_body))
            content["system"] = [part for m in said if m["role"] == "system" for part in m["parts"]]
            content["messages"] = [m for m in said if m["role"] != "system"]
            content["tools"] = [genai_parts.function_tool(name) for name in module.prompt_parts(request_body)["tools"]]
    if response_body is None:
        content["output"] = []
    elif hasattr(module, "genai_output"):
        content["output"] = module.genai_output(response_body)
    else:
        finish = module.summary(response_body).get("finish_reason")
        content["output"] = genai_parts.from_chat(module.response_messages(response_body), finish, output=True)
    return content
