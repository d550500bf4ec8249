"""`client_name`: which program made a call, from its User-Agent and the headers SDKs add.

One table of rules, tried in order; the first that matches names the client. The name is `product/version`
as the client spells it (`claude-cli/2.1.197`, `OpenAI/Python 3.57.0`, `codex_cli_rs/0.171.0`,
`google-genai-sdk/1.40.0`, `Agents/Python 0.24.0`, `pydantic-ai/2.68.0`), so a version upgrade shows up
as a new name. When no rule matches, the first product token of the User-Agent is used; no User-Agent at
all gives None.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

Rule = tuple[str, str, "re.Pattern[str]", Callable[["re.Match[str]"], str]]


def _group(match: re.Match[str]) -> str:
    return match.group(1)


# (what it is, header, pattern, name from the match). Agent CLIs and frameworks before the SDKs they are
# built on: their own product comes first in the User-Agent, or in a header of their own.
RULES: list[Rule] = [
    ("Claude Code", "user-agent", re.compile(r"^(claude-cli/[\w.+-]+)"), _group),
    ("Codex CLI", "user-agent", re.compile(r"^(codex_[a-z_]+/[\w.+-]+)"), _group),
    ("Gemini CLI", "user-agent", re.compile(r"^(GeminiCLI/[\w.+-]+)"), _group),
    ("Google Gen AI SDK", "x-goog-api-client", re.compile(r"(google-genai-sdk/[\w.+-]+)"), _group),
    ("Google Gen AI SDK", "user-agent", re.compile(r"(google-genai-sdk/[\w.+-]+)"), _group),
    ("llm", "user-agent", re.compile(r"^(llm/[\w.+-]+)"), _group),
    ("OpenAI Agents SDK", "user-agent", re.compile(r"^(Agents/(?:Python|JS) [\w.+-]+)"), _group),
    ("pydantic-ai", "user-agent", re.compile(r"^(pydantic-ai/[\w.+-]+)"), _group),
    ("LangChain", "user-agent", re.compile(r"^(langchain[\w-]*/[\w.+-]+)", re.I), _group),
    # The Stainless-generated SDKs: "OpenAI/Python 3.57.0", "AsyncOpenAI/Python 3.57.0", "Anthropic/JS 0.94.0".
    ("OpenAI/Anthropic SDK", "user-agent", re.compile(r"^((?:Async)?(?:OpenAI|Anthropic)/(?:Python|JS) [\w.+-]+)"), _group),
]  # fmt: skip

_FIRST_PRODUCT = re.compile(r"^\s*([^\s/]+/[^\s;()]+)")


def client_name(headers: Mapping[str, str]) -> str | None:
    """The client's name from request headers (keys lower-cased)."""
    for _what, header, pattern, name in RULES:
        value = headers.get(header)
        if value and (match := pattern.search(value)):
            return name(match)
    agent = (headers.get("user-agent") or "").strip()
    if not agent:
        return None
    match = _FIRST_PRODUCT.match(agent)
    return match.group(1) if match else agent.split()[0][:80]
