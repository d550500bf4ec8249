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
    ("myres.openai.azure.com", "/openai/deployments/gpt4o/chat/completions", "azure", "chat", "openai_chat"),
    (
        "myres.openai.azure.com",
        "/openai/deployments/gpt35/completions",
        "azure",
        "completions",
        "openai_completions",
    ),
    (
        "myres.openai.azure.com",
        "/openai/deployments/emb/embeddings",
        "azure",
        "embeddings",
        "openai_embeddings",
    ),
    ("myres.openai.azure.com", "/openai/v1/responses", "azure", "responses", "openai_responses"),
    ("myres.openai.azure.com", "/openai/v1/chat/completions", "azure", "chat", "openai_chat"),
    ("myproj.services.ai.azure.com", "/models/chat/completions", "azure", "chat", "openai_chat"),
    ("myres.cognitiveservices.azure.com", "/openai/responses", "azure", "responses", "openai_responses"),
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
        "vertex",
        "generate_content",
        "gemini",
    ),
    (
        "aiplatform.googleapis.com",
        "/v1beta1/projects/p/locations/global/publishers/google/models/gemini-3-flash:generateContent",
        "vertex",
        "generate_content",
        "gemini",
    ),
    ("generativelanguage.googleapis.com", "/v1beta/openai/chat/completions", "gemini", "chat", "openai_chat"),
    (
        "us-east5-aiplatform.googleapis.com",
        "/v1/projects/p/locations/us-east5/publishers/anthropic/models/claude-sonnet-4:streamRawPredict",
        "vertex",
        "messages",
        "anthropic_messages",
    ),
    # Gemini embeddings and token counts on both API versions; Vertex embeddings and Claude token counts
    (
        "generativelanguage.googleapis.com",
        "/v1/models/text-embedding-004:batchEmbedContents",
        "gemini",
        "embeddings",
        "gemini_embeddings",
    ),
    (
        "generativelanguage.googleapis.com",
        "/v1beta/models/gemini-embedding-001:embedContent",
        "gemini",
        "embeddings",
        "gemini_embeddings",
    ),
    (
        "generativelanguage.googleapis.com",
        "/v1/models/gemini-2.5-flash:countTokens",
        "gemini",
        "count_tokens",
        "gemini",
    ),
    (
        "us-central1-aiplatform.googleapis.com",
        "/v1/projects/p/locations/us-central1/publishers/google/models/gemini-embedding-001:predict",
        "vertex",
        "embeddings",
        "gemini_embeddings",
    ),
    (
        "us-east5-aiplatform.googleapis.com",
        "/v1/projects/p/locations/us-east5/publishers/anthropic/models/count-tokens:rawPredict",
        "vertex",
        "count_tokens",
        "anthropic_messages",
    ),
    # AWS Bedrock runtime, any region, model ids percent-encoded (cross-region profiles, ARNs)
    (
        "bedrock-runtime.us-east-1.amazonaws.com",
        "/model/us.amazon.nova-micro-v1%3A0/converse-stream",
        "bedrock",
        "converse",
        "bedrock_converse",
    ),
    (
        "bedrock-runtime.eu-west-3.amazonaws.com",
        "/model/anthropic.claude-3-haiku-20240307-v1:0/converse",
        "bedrock",
        "converse",
        "bedrock_converse",
    ),
    (
        "bedrock-runtime.us-east-1.amazonaws.com",
        "/model/meta.llama3-1-70b-instruct-v1%3A0/invoke",
        "bedrock",
        "invoke",
        "bedrock_invoke",
    ),
    (
        "bedrock-runtime.us-east-1.amazonaws.com",
        "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.anthropic.claude-3-5-sonnet-20240620-v1%3A0/invoke-with-response-stream",
        "bedrock",
        "invoke",
        "bedrock_invoke",
    ),
    (
        "bedrock-runtime.us-east-1.amazonaws.com",
        "/model/amazon.nova-lite-v1:0/count-tokens",
        "bedrock",
        "count_tokens",
        "bedrock_converse",
    ),
    (
        "bedrock-runtime.us-east-1.amazonaws.com",
        "/openai/v1/chat/completions",
        "bedrock",
        "chat",
        "openai_chat",
    ),
    # Cohere v2, Mistral's own paths
    ("api.cohere.com", "/v2/chat", "cohere", "chat", "cohere"),
    ("api.cohere.com", "/v2/embed", "cohere", "embeddings", "cohere"),
    ("api.cohere.ai", "/v1/embed", "cohere", "embeddings", "cohere"),
    ("api.cohere.com", "/compatibility/v1/chat/completions", "cohere", "chat", "openai_chat"),
    ("api.mistral.ai", "/v1/fim/completions", "mistral", "fim", "mistral"),
    ("api.mistral.ai", "/v1/agents/completions", "mistral", "chat", "mistral"),
    # Ollama's own API on this machine (or ollama.com); Hugging Face TGI and the Inference API
    ("localhost", "/api/chat", "ollama", "chat", "ollama"),
    ("127.0.0.1", "/api/generate", "ollama", "generate", "ollama"),
    ("host.docker.internal", "/api/embed", "ollama", "embeddings", "ollama"),
    ("localhost", "/api/embeddings", "ollama", "embeddings", "ollama"),
    ("ollama.com", "/api/chat", "ollama", "chat", "ollama"),
    ("localhost", "/generate_stream", "huggingface", "generate", "tgi"),
    ("localhost", "/generate", "huggingface", "generate", "tgi"),
    ("127.0.0.1", "/", "huggingface", "generate", "tgi"),  # InferenceClient("http://127.0.0.1:8080")
    ("x1y2.us-east-1.aws.endpoints.huggingface.cloud", "/generate", "huggingface", "generate", "tgi"),
    (
        "router.huggingface.co",
        "/hf-inference/models/meta-llama/Llama-3.2-3B",
        "huggingface",
        "generate",
        "tgi",
    ),
    ("api-inference.huggingface.co", "/models/gpt2", "huggingface", "generate", "tgi"),
    ("router.huggingface.co", "/v1/chat/completions", "huggingface", "chat", "openai_chat"),
    (
        "router.huggingface.co",
        "/hf-inference/models/mistralai/Mistral-7B-Instruct-v0.2/v1/chat/completions",
        "huggingface",
        "chat",
        "openai_chat",
    ),
    # OpenAI-compatible vendors, by path, on any host
    ("api.groq.com", "/openai/v1/chat/completions", "openai_compatible", "chat", "openai_chat"),
    ("openrouter.ai", "/api/v1/chat/completions", "openai_compatible", "chat", "openai_chat"),
    ("api.deepseek.com", "/chat/completions", "openai_compatible", "chat", "openai_chat"),
    ("api.deepseek.com", "/responses", "openai_compatible", "responses", "openai_responses"),
    ("api.z.ai", "/api/paas/v4/chat/completions", "openai_compatible", "chat", "openai_chat"),
    ("api.mistral.ai", "/v1/chat/completions", "mistral", "chat", "openai_chat"),
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
    # Self-hosted servers' paths are only theirs on local hosts: a web app's /api/chat or /generate is not
    ("example.com", "/api/chat"),
    ("example.com", "/generate"),
    ("example.com", "/model/m/invoke"),  # Bedrock's paths only on Bedrock's hosts
    ("api.cohere.com", "/v2/rerank"),
    ("generativelanguage.googleapis.com", "/v1beta/models/gemini-2.5-flash"),  # model info, not a call
    ("bedrock-runtime.us-east-1.amazonaws.com", "/guardrail/g1/version/1/apply"),
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
