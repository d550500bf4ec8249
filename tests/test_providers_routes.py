"""The host/path route table: which calls are recorded, and as which provider, operation and parser family."""

from __future__ import annotations

import pytest

from r4u_proxy.providers import Route, route

ROUTED = [
    # OpenAI itself
    ("api.openai.com", "/v1/chat/completions", "openai", "chat", "openai_chat"),
    ("api.openai.com", "/v1/responses", "openai", "responses", "openai_responses"),
    (
        "api.openai.com",
        "/v1/responses/resp_68c1?stream=true&starting_after=3",
        "openai",
        "responses",
        "openai_responses",
    ),
    ("api.openai.com", "/v1/completions", "openai", "completions", "openai_completions"),
    ("api.openai.com", "/v1/embeddings", "openai", "embeddings", "openai_embeddings"),
    ("API.OpenAI.com", "/v1/chat/completions/", "openai", "chat", "openai_chat"),
    # Azure OpenAI
    ("myres.openai.azure.com", "/openai/deployments/gpt4o/chat/completions", "openai", "chat", "openai_chat"),
    (
        "myres.openai.azure.com",
        "/openai/deployments/gpt35/completions",
        "openai",
        "completions",
        "openai_completions",
    ),
    (
        "myres.openai.azure.com",
        "/openai/deployments/emb/embeddings",
        "openai",
        "embeddings",
        "openai_embeddings",
    ),
    ("myres.openai.azure.com", "/openai/v1/responses", "openai", "responses", "openai_responses"),
    # Anthropic
    ("api.anthropic.com", "/v1/messages", "anthropic", "messages", "anthropic_messages"),
    ("api.anthropic.com", "/v1/messages/count_tokens", "anthropic", "count_tokens", "anthropic_messages"),
    # Gemini API and Vertex AI
    (
        "generativelanguage.googleapis.com",
        "/v1beta/models/gemini-2.5-flash:generateContent",
        "gemini",
        "generate_content",
        "gemini",
    ),
    (
        "generativelanguage.googleapis.com",
        "/v1beta/models/gemini-2.5-flash:streamGenerateContent",
        "gemini",
        "generate_content",
        "gemini",
    ),
    (
        "us-central1-aiplatform.googleapis.com",
        "/v1/projects/p/locations/us-central1/publishers/google/models/gemini-2.0-flash:streamGenerateContent",
        "gemini",
        "generate_content",
        "gemini",
    ),
    (
        "aiplatform.googleapis.com",
        "/v1beta1/projects/p/locations/global/publishers/google/models/gemini-3-flash:generateContent",
        "gemini",
        "generate_content",
        "gemini",
    ),
    ("generativelanguage.googleapis.com", "/v1beta/openai/chat/completions", "gemini", "chat", "openai_chat"),
    (
        "us-east5-aiplatform.googleapis.com",
        "/v1/projects/p/locations/us-east5/publishers/anthropic/models/claude-sonnet-4:streamRawPredict",
        "gemini",
        "messages",
        "anthropic_messages",
    ),
    # OpenAI-compatible vendors, by path, on any host
    ("api.groq.com", "/openai/v1/chat/completions", "openai_compatible", "chat", "openai_chat"),
    ("openrouter.ai", "/api/v1/chat/completions", "openai_compatible", "chat", "openai_chat"),
    ("api.deepseek.com", "/chat/completions", "openai_compatible", "chat", "openai_chat"),
    ("api.deepseek.com", "/responses", "openai_compatible", "responses", "openai_responses"),
    ("api.z.ai", "/api/paas/v4/chat/completions", "openai_compatible", "chat", "openai_chat"),
    ("api.mistral.ai", "/v1/chat/completions", "openai_compatible", "chat", "openai_chat"),
    (
        "acct.snowflakecomputing.com",
        "/api/v2/cortex/v1/chat/completions",
        "openai_compatible",
        "chat",
        "openai_chat",
    ),
    (
        "bedrock-mantle.us-east-1.api.aws",
        "/openai/v1/responses",
        "openai_compatible",
        "responses",
        "openai_responses",
    ),
    ("localhost", "/v1/completions", "openai_compatible", "completions", "openai_completions"),
    ("localhost", "/v1/embeddings", "openai_compatible", "embeddings", "openai_embeddings"),
    # Anthropic- and Gemini-style APIs on other hosts (gateways, mocks)
    ("gateway.internal", "/v1/messages", "unknown", "messages", "anthropic_messages"),
    (
        "gateway.internal",
        "/v1beta/models/gemini-2.5-pro:streamGenerateContent",
        "unknown",
        "generate_content",
        "gemini",
    ),
]

NOT_ROUTED = [
    ("api.openai.com", "/v1/models"),
    ("api.openai.com", "/v1/files"),
    ("api.openai.com", "/v1/responses/resp_1/input_items"),
    ("api.anthropic.com", "/v1/messages/batches"),
    ("api.anthropic.com", "/v1/models"),
    ("generativelanguage.googleapis.com", "/v1beta/models"),
    ("example.com", "/messages"),  # a chat app's messages endpoint is not Anthropic's
    ("example.com", "/v1/messages/count_tokens"),
    ("example.com", "/api/completions-history"),
    ("example.com", "/"),
    ("", ""),
]


@pytest.mark.parametrize(("host", "path", "provider", "operation", "family"), ROUTED)
def test_llm_calls_are_routed(host, path, provider, operation, family):
    assert route(host, path) == Route(provider, operation, family)


@pytest.mark.parametrize(("host", "path"), NOT_ROUTED)
def test_other_paths_are_not_recorded(host, path):
    assert route(host, path) is None


def test_route_is_a_frozen_value():
    found = route("api.openai.com", "/v1/chat/completions")
    with pytest.raises(AttributeError):
        found.provider = "x"  # type: ignore[misc]
    assert hash(found) == hash(Route("openai", "chat", "openai_chat"))
