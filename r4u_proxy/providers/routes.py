"""Which requests are LLM calls: path → operation and parser family; the provider from `hosts.py: HOSTS`.

The provider comes from the host (so Gemini's OpenAI-compatible endpoint is still `gemini`); the operation and
the family that parses it come from the path. On hosts without a provider in HOSTS, OpenAI-style paths are
`openai_compatible`, Anthropic- or Gemini-style paths are recorded under provider `unknown`, and the paths of
self-hosted servers (Ollama, Hugging Face TGI) are recorded on `hosts.py: LOCAL_HOSTS` only, under their own
provider.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from r4u_proxy.providers.hosts import LOCAL_HOSTS, glob_matches, provider_for_host


@dataclass(frozen=True, slots=True)
class Route:
    provider: str
    operation: str
    family: str


# Which hosts a path rule applies on: any host, a host with a provider in HOSTS, or only the hosts listed.
Scope = Literal["any", "known"] | tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PathRule:
    pattern: re.Pattern[str]
    operation: str
    family: str
    scope: Scope = "any"
    provider: str | None = None  # the provider on a host that names none (Ollama's API on localhost)


def _rule(
    pattern: str, operation: str, family: str, scope: Scope = "any", provider: str | None = None
) -> PathRule:
    return PathRule(re.compile(pattern), operation, family, scope, provider)


_OLLAMA_HOSTS = (*LOCAL_HOSTS, "ollama.com")
_HF_INFERENCE_HOSTS = ("api-inference.huggingface.co", "router.huggingface.co")
_TGI_HOSTS = (*LOCAL_HOSTS, "*.endpoints.huggingface.cloud")

# First match wins, so specific first. Patterns match the end of the path, which covers version prefixes and
# gateways: /v1/chat/completions, /chat/completions (DeepSeek), /openai/v1/... (Groq, Bedrock), /api/v1/...
# (OpenRouter), /api/paas/v4/... (Z.ai), /openai/deployments/{name}/chat/completions (Azure).
PATH_OPERATIONS: list[PathRule] = [
    # Ollama's own API (its OpenAI-compatible one is /v1/... below); first, as /api/embeddings ends in /embeddings.
    _rule(r"^/api/chat$", "chat", "ollama", _OLLAMA_HOSTS, "ollama"),
    _rule(r"^/api/generate$", "generate", "ollama", _OLLAMA_HOSTS, "ollama"),
    _rule(r"^/api/embed(?:dings)?$", "embeddings", "ollama", _OLLAMA_HOSTS, "ollama"),
    _rule(r"/v1/fim/completions$", "fim", "mistral", "known"),
    _rule(r"/v1/agents/completions$", "chat", "mistral", "known"),
    _rule(r"/chat/completions$", "chat", "openai_chat"),
    _rule(r"(?:^|/v\d+\w*|/openai|/deployments/[^/]+)/completions$", "completions", "openai_completions"),
    _rule(r"/embeddings$", "embeddings", "openai_embeddings"),
    _rule(r"/responses$", "responses", "openai_responses"),
    # GET /v1/responses/{id}[?stream=true&starting_after=N]: retrieving or resuming a (background) response.
    _rule(r"/responses/(?!input_tokens$|compact$)[\w-]+$", "responses", "openai_responses"),
    # WebSocket APIs (the upgrade request's path): the Realtime API, Gemini Live on AI Studio and Vertex.
    _rule(r"/realtime$", "realtime", "openai_realtime"),
    _rule(r"[./]BidiGenerateContent(?:Constrained)?$", "live", "gemini_live"),
    _rule(r"/v1/messages/count_tokens$", "count_tokens", "anthropic_messages", "known"),
    _rule(r"/v1/messages$", "messages", "anthropic_messages"),
    _rule(r"/models/[^/:]+:(?:stream)?[gG]enerateContent$", "generate_content", "gemini"),
    _rule(r"/models/[^/:]+:countTokens$", "count_tokens", "gemini", "known"),
    _rule(r"/models/[^/:]+:(?:batchEmbedContents|embedContent)$", "embeddings", "gemini_embeddings"),
    # Gemini Code Assist: the Gemini API in an envelope, the model named in the body.
    _rule(r"/v1internal:(?:stream)?[gG]enerateContent$", "generate_content", "gemini", "known"),
    _rule(r"/v1internal:countTokens$", "count_tokens", "gemini", "known"),
    # Vertex AI: text embeddings behind :predict; Claude's Messages API behind :rawPredict / :streamRawPredict.
    _rule(r"/publishers/google/models/[^/:]+:predict$", "embeddings", "gemini_embeddings", "known"),
    _rule(
        r"/publishers/anthropic/models/count-tokens:rawPredict$",
        "count_tokens",
        "anthropic_messages",
        "known",
    ),
    _rule(
        r"/publishers/anthropic/models/[^/:]+:(?:stream)?[rR]awPredict$",
        "messages",
        "anthropic_messages",
        "known",
    ),
    # AWS Bedrock runtime: /model/{model id}/...
    _rule(r"^/model/[^/]+/converse(?:-stream)?$", "converse", "bedrock_converse", "known"),
    _rule(r"^/model/[^/]+/invoke(?:-with-response-stream)?$", "invoke", "bedrock_invoke", "known"),
    _rule(r"^/model/[^/]+/count-tokens$", "count_tokens", "bedrock_converse", "known"),
    # Cohere's v2 API (its OpenAI-compatible one is /compatibility/v1/chat/completions above).
    _rule(r"^/v2/chat$", "chat", "cohere", "known"),
    _rule(r"^/v[12]/embed$", "embeddings", "cohere", "known"),
    # Hugging Face Text Generation Inference (self-hosted or an Inference Endpoint: /generate, /generate_stream,
    # and the root, where huggingface_hub's InferenceClient("http://host:8080") posts), and the serverless
    # Inference API's task route (/models/{org}/{model}, /hf-inference/models/...).
    _rule(r"(?:^|/generate|/generate_stream)$", "generate", "tgi", _TGI_HOSTS, "huggingface"),
    _rule(r"^(?:/hf-inference)?/models/[^:]+$", "generate", "tgi", _HF_INFERENCE_HOSTS),
]

_OPENAI_FAMILIES = ("openai_chat", "openai_completions", "openai_embeddings", "openai_responses")


def route(host: str, path: str) -> Route | None:
    """Which API family a request is, or None when it is not an LLM call worth recording."""
    path = path.split("?", 1)[0].rstrip("/")
    host = (host or "").lower().rstrip(".")
    known_provider = provider_for_host(host)
    for rule in PATH_OPERATIONS:
        if not rule.pattern.search(path):
            continue
        if isinstance(rule.scope, tuple):
            if not any(glob_matches(glob, host) for glob in rule.scope):
                continue
        elif rule.scope == "known" and known_provider is None:
            return None
        provider = known_provider or rule.provider
        if provider is None:
            provider = "openai_compatible" if rule.family in _OPENAI_FAMILIES else "unknown"
        return Route(provider, rule.operation, rule.family)
    return None
