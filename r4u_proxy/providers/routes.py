"""The one table that says which requests are LLM calls: host → provider, path → operation and parser family.

The provider comes from the host (so Gemini's OpenAI-compatible endpoint is still `gemini`); the operation and
the family that parses it come from the path. On hosts not listed here, OpenAI-style paths are
`openai_compatible`, and Anthropic- or Gemini-style paths are recorded under provider `unknown`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Route:
    provider: str
    operation: str
    family: str


# Host patterns: exact names, or "*suffix" for a family of hosts (Azure resources, Vertex regions).
HOST_PROVIDERS: list[tuple[str, str]] = [
    ("api.openai.com", "openai"),
    ("*.openai.azure.com", "openai"),
    ("*.cognitiveservices.azure.com", "openai"),
    ("api.anthropic.com", "anthropic"),
    ("generativelanguage.googleapis.com", "gemini"),
    ("*aiplatform.googleapis.com", "gemini"),
]

# (path pattern, operation, family, only on a known provider host). First match wins, so specific first.
# Patterns match the end of the path, which covers version prefixes and gateways: /v1/chat/completions,
# /chat/completions (DeepSeek), /openai/v1/... (Groq, Bedrock), /api/v1/... (OpenRouter),
# /api/paas/v4/... (Z.ai), /openai/deployments/{name}/chat/completions (Azure).
PATH_OPERATIONS: list[tuple[re.Pattern[str], str, str, bool]] = [
    (re.compile(r"/chat/completions$"), "chat", "openai_chat", False),
    (
        re.compile(r"(?:^|/v\d+\w*|/openai|/deployments/[^/]+)/completions$"),
        "completions",
        "openai_completions",
        False,
    ),
    (re.compile(r"/embeddings$"), "embeddings", "openai_embeddings", False),
    (re.compile(r"/responses$"), "responses", "openai_responses", False),
    # GET /v1/responses/{id}[?stream=true&starting_after=N]: retrieving or resuming a (background) response.
    (re.compile(r"/responses/(?!input_tokens$|compact$)[\w-]+$"), "responses", "openai_responses", False),
    # WebSocket APIs (the upgrade request's path): the Realtime API, Gemini Live on AI Studio and Vertex.
    (re.compile(r"/realtime$"), "realtime", "openai_realtime", False),
    (re.compile(r"[./]BidiGenerateContent(?:Constrained)?$"), "live", "gemini_live", False),
    (re.compile(r"/v1/messages/count_tokens$"), "count_tokens", "anthropic_messages", True),
    (re.compile(r"/v1/messages$"), "messages", "anthropic_messages", False),
    (re.compile(r"/models/[^/:]+:(?:stream)?[gG]enerateContent$"), "generate_content", "gemini", False),
    (re.compile(r"/models/[^/:]+:countTokens$"), "count_tokens", "gemini", True),
    # Claude on Vertex AI: the Messages API behind :rawPredict / :streamRawPredict.
    (
        re.compile(r"/publishers/anthropic/models/[^/:]+:(?:stream)?[rR]awPredict$"),
        "messages",
        "anthropic_messages",
        True,
    ),
]

_OPENAI_FAMILIES = ("openai_chat", "openai_completions", "openai_embeddings", "openai_responses")


def provider_for_host(host: str) -> str | None:
    host = host.lower().rstrip(".")
    for pattern, provider in HOST_PROVIDERS:
        if host == pattern or (pattern.startswith("*") and host.endswith(pattern[1:])):
            return provider
    return None


def route(host: str, path: str) -> Route | None:
    """Which API family a request is, or None when it is not an LLM call worth recording."""
    path = path.split("?", 1)[0].rstrip("/")
    known_provider = provider_for_host(host or "")
    for pattern, operation, family, known_hosts_only in PATH_OPERATIONS:
        if not pattern.search(path):
            continue
        if known_provider is not None:
            return Route(known_provider, operation, family)
        if known_hosts_only:
            return None
        return Route("openai_compatible" if family in _OPENAI_FAMILIES else "unknown", operation, family)
    return None
