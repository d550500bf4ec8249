"""Which requests are LLM calls: path → operation and parser family; the provider from `hosts.py: HOSTS`.

The provider comes from the host (so Gemini's OpenAI-compatible endpoint is still `gemini`); the operation and
the family that parses it come from the path. On hosts without a provider in HOSTS, OpenAI-style paths are
`openai_compatible`, and Anthropic- or Gemini-style paths are recorded under provider `unknown`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from r4u_proxy.providers.hosts import provider_for_host


@dataclass(frozen=True, slots=True)
class Route:
    provider: str
    operation: str
    family: str


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
    # Gemini Code Assist: the Gemini API in an envelope, the model named in the body.
    (re.compile(r"/v1internal:(?:stream)?[gG]enerateContent$"), "generate_content", "gemini", True),
    (re.compile(r"/v1internal:countTokens$"), "count_tokens", "gemini", True),
    # Claude on Vertex AI: the Messages API behind :rawPredict / :streamRawPredict.
    (
        re.compile(r"/publishers/anthropic/models/[^/:]+:(?:stream)?[rR]awPredict$"),
        "messages",
        "anthropic_messages",
        True,
    ),
]

_OPENAI_FAMILIES = ("openai_chat", "openai_completions", "openai_embeddings", "openai_responses")


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
