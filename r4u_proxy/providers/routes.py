"""The one table that says which requests are LLM calls: host → provider, path → operation and parser family.

The provider comes from the host (so Gemini's OpenAI-compatible endpoint is still `gemini`); the operation and
the family that parses it come from the path. On hosts not listed here, OpenAI-style paths are
`openai_compatible`, Anthropic- or Gemini-style paths are recorded under provider `unknown`, and the paths of
self-hosted servers (Ollama, Hugging Face TGI) are recorded on local hosts only, under their own provider.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from r4u_proxy.providers.hosts import host_regex


@dataclass(frozen=True, slots=True)
class Route:
    provider: str
    operation: str
    family: str


# Host globs (`*` matches within a name, any number of labels): exact names, Azure resources, Vertex regions.
HOST_PROVIDERS: list[tuple[str, str]] = [
    ("api.openai.com", "openai"),
    ("*.openai.azure.com", "azure"),
    ("*.cognitiveservices.azure.com", "azure"),
    ("*.services.ai.azure.com", "azure"),
    ("api.anthropic.com", "anthropic"),
    ("generativelanguage.googleapis.com", "gemini"),
    ("*aiplatform.googleapis.com", "vertex"),
    ("bedrock-runtime.*.amazonaws.com", "bedrock"),
    ("bedrock-runtime-fips.*.amazonaws.com", "bedrock"),
    ("api.cohere.com", "cohere"),
    ("api.cohere.ai", "cohere"),
    ("api.mistral.ai", "mistral"),
    ("ollama.com", "ollama"),
    ("api-inference.huggingface.co", "huggingface"),
    ("router.huggingface.co", "huggingface"),
    ("*.endpoints.huggingface.cloud", "huggingface"),
]
# Where a self-hosted server (Ollama, TGI) is reached: this machine, a container, the local network.
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1", "0.0.0.0", "host.docker.internal", "*.local", "*.localhost")
_HF_INFERENCE_HOSTS = ("api-inference.huggingface.co", "router.huggingface.co")
_TGI_HOSTS = (*LOCAL_HOSTS, "*.endpoints.huggingface.cloud")

# Which hosts a path rule applies on: any host, a known provider's host, or only the hosts listed.
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


# First match wins, so specific first. Patterns match the end of the path, which covers version prefixes and
# gateways: /v1/chat/completions, /chat/completions (DeepSeek), /openai/v1/... (Groq, Bedrock), /api/v1/...
# (OpenRouter), /api/paas/v4/... (Z.ai), /openai/deployments/{name}/chat/completions (Azure).
PATH_OPERATIONS: list[PathRule] = [
    # Ollama's own API (its OpenAI-compatible one is /v1/... below); first, as /api/embeddings ends in /embeddings.
    _rule(r"^/api/chat$", "chat", "ollama", (*LOCAL_HOSTS, "ollama.com"), "ollama"),
    _rule(r"^/api/generate$", "generate", "ollama", (*LOCAL_HOSTS, "ollama.com"), "ollama"),
    _rule(r"^/api/embed(?:dings)?$", "embeddings", "ollama", (*LOCAL_HOSTS, "ollama.com"), "ollama"),
    _rule(r"/v1/fim/completions$", "fim", "mistral", "known"),
    _rule(r"/v1/agents/completions$", "chat", "mistral", "known"),
    _rule(r"/chat/completions$", "chat", "openai_chat"),
    _rule(r"(?:^|/v\d+\w*|/openai|/deployments/[^/]+)/completions$", "completions", "openai_completions"),
    _rule(r"/embeddings$", "embeddings", "openai_embeddings"),
    _rule(r"/responses$", "responses", "openai_responses"),
    # GET /v1/responses/{id}[?stream=true&starting_after=N]: retrieving or resuming a (background) response.
    _rule(r"/responses/(?!input_tokens$|compact$)[\w-]+$", "responses", "openai_responses"),
    _rule(r"/v1/messages/count_tokens$", "count_tokens", "anthropic_messages", "known"),
    _rule(r"/v1/messages$", "messages", "anthropic_messages"),
    _rule(r"/models/[^/:]+:(?:stream)?[gG]enerateContent$", "generate_content", "gemini"),
    _rule(r"/models/[^/:]+:countTokens$", "count_tokens", "gemini", "known"),
    _rule(r"/models/[^/:]+:(?:batchEmbedContents|embedContent)$", "embeddings", "gemini_embeddings"),
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
_HOST_PATTERNS = [(re.compile(host_regex(glob)), provider) for glob, provider in HOST_PROVIDERS]


def _matches(host: str, globs: tuple[str, ...]) -> bool:
    return any(host == glob or ("*" in glob and re.match(host_regex(glob), host)) for glob in globs)


def provider_for_host(host: str) -> str | None:
    host = host.lower().rstrip(".")
    return next((provider for pattern, provider in _HOST_PATTERNS if pattern.match(host)), None)


def route(host: str, path: str) -> Route | None:
    """Which API family a request is, or None when it is not an LLM call worth recording."""
    path = path.split("?", 1)[0].rstrip("/")
    host = (host or "").lower().rstrip(".")
    known_provider = provider_for_host(host)
    for rule in PATH_OPERATIONS:
        if not rule.pattern.search(path):
            continue
        if isinstance(rule.scope, tuple):
            if not _matches(host, rule.scope):
                continue
        elif rule.scope == "known" and known_provider is None:
            return None
        provider = known_provider or rule.provider
        if provider is None:
            provider = "openai_compatible" if rule.family in _OPENAI_FAMILIES else "unknown"
        return Route(provider, rule.operation, rule.family)
    return None
