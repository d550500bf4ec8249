"""The official SDKs of Bedrock, Vertex AI, Azure OpenAI, Cohere, Ollama and Hugging Face, run as a user's
app runs them (.venv-app, through the proxy, against the simulator): what each SDK got back is what r4u
stored, streams included, priced where the data knows the model, and no credential reaches the database.

Each app prints what the SDK returned; the assertions compare the stored row with it.
"""

from __future__ import annotations

import json

from support.proxy import run_app

from r4u_proxy.reports.metrics import NO_PRICE, NO_USAGE, stored_unpriced_reason

# Credentials the apps use; none may be found in the database files afterwards.
AWS = {"AWS_ACCESS_KEY_ID": "AKIAR4UTESTKEY000001", "AWS_SECRET_ACCESS_KEY": "r4uAwsSecretAccessKey0123456789SECRET",
       "AWS_SESSION_TOKEN": "IQoJb3JpZ2luX2VjR4UtestSessionToken0123456789SECRET"}  # fmt: skip
GOOGLE_TOKEN = "ya29.r4uVertexOAuthToken0123456789SECRET"
GEMINI_KEY = "AIzaSyR4UTESTgeminiKey0123456789SECRET"
AZURE_KEY = "r4u-azure-api-key-0123456789abcdefSECRET"
COHERE_KEY = "r4u-cohere-key-0123456789abcdefSECRET"
HF_TOKEN = "hf_r4uTestToken0123456789abcdefSECRET"
SECRETS = [*AWS.values(), GOOGLE_TOKEN, GEMINI_KEY, AZURE_KEY, COHERE_KEY, HF_TOKEN]


def _app(code: str, proxy, marker: str, **env: str) -> dict:
    environment = {**proxy.env(), "AWS_CA_BUNDLE": str(proxy.ca_bundle), **env}
    return json.loads(run_app(code.replace("MARKER", marker), environment, timeout=120).stdout)


def _row(proxy, marker: str, call: str) -> dict:
    return proxy.row_for(f"{marker}-{call}", timeout=30)


BOTO3 = """
import boto3, json
client = boto3.client("bedrock-runtime", region_name="us-east-1")
call = {"name": ""}
client.meta.events.register("before-sign.bedrock-runtime.*",
                            lambda request, **_: request.headers.__setitem__("x-test-id", "MARKER-" + call["name"]))
out = {}
messages = [{"role": "user", "content": [{"text": "What is the capital of France?"}]}]

call["name"] = "converse"
r = client.converse(modelId="us.amazon.nova-micro-v1:0", messages=messages, system=[{"text": "Be brief."}])
out["converse"] = [r["output"]["message"]["content"][0]["text"], r["usage"]["inputTokens"], r["usage"]["outputTokens"]]

call["name"] = "converse_stream"
text, usage = "", None
for event in client.converse_stream(modelId="us.amazon.nova-micro-v1:0", messages=messages)["stream"]:
    text += event.get("contentBlockDelta", {}).get("delta", {}).get("text", "")
    usage = event.get("metadata", {}).get("usage", usage)
out["converse_stream"] = [text, usage["inputTokens"], usage["outputTokens"]]

claude = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 100,
          "messages": [{"role": "user", "content": "Name a French city."}]}
call["name"] = "invoke_anthropic"
body = json.loads(client.invoke_model(modelId="anthropic.claude-3-haiku-20240307-v1:0", body=json.dumps(claude))["body"].read())
out["invoke_anthropic"] = [body["content"][0]["text"], body["usage"]["input_tokens"], body["usage"]["output_tokens"]]

call["name"] = "invoke_stream_anthropic"
text, usage = "", {}
for event in client.invoke_model_with_response_stream(modelId="anthropic.claude-3-haiku-20240307-v1:0",
                                                      body=json.dumps(claude))["body"]:
    chunk = json.loads(event["chunk"]["bytes"])
    text += (chunk.get("delta") or {}).get("text", "")
    usage.update(chunk.get("usage") or (chunk.get("message") or {}).get("usage") or {})
out["invoke_stream_anthropic"] = [text, usage["input_tokens"], usage["output_tokens"]]

call["name"] = "invoke_llama"
r = client.invoke_model(modelId="meta.llama3-8b-instruct-v1:0", body=json.dumps({"prompt": "Hello", "max_gen_len": 40}))
body = json.loads(r["body"].read())
out["invoke_llama"] = [body["generation"], body["prompt_token_count"], body["generation_token_count"]]

call["name"] = "invoke_stream_titan"
text = ""
for event in client.invoke_model_with_response_stream(modelId="amazon.titan-text-lite-v1",
                                                      body=json.dumps({"inputText": "Hello"}))["body"]:
    chunk = json.loads(event["chunk"]["bytes"])
    text += chunk["outputText"]
out["invoke_stream_titan"] = [text, chunk["inputTextTokenCount"], chunk["totalOutputTextTokenCount"]]
print(json.dumps(out))
"""


def test_boto3_bedrock_runtime_converse_and_invoke(proxy, marker):
    seen = _app(BOTO3, proxy, marker, **AWS)
    operations = {"converse": ("converse", 0), "converse_stream": ("converse", 1), "invoke_anthropic": ("invoke", 0),
                  "invoke_stream_anthropic": ("invoke", 1), "invoke_llama": ("invoke", 0),
                  "invoke_stream_titan": ("invoke", 1)}  # fmt: skip
    for call, (text, input_tokens, output_tokens) in seen.items():
        row = _row(proxy, marker, call)
        assert (row["provider"], row["operation"], row["stream"]) == ("bedrock", *operations[call]), call
        assert row["completion_text"] == text and text, call
        assert (row["input_tokens"], row["output_tokens"]) == (input_tokens, output_tokens), call
        assert row["cost_usd"] is not None and row["cost_usd"] > 0, (call, row["price_source"])
        headers = json.loads(row["request_headers"])
        assert "Credential=" not in headers["authorization"] and "#" in headers["authorization"]  # SigV4, redacted
        assert "#" in headers["x-amz-security-token"]
    assert _row(proxy, marker, "converse")["request_model"] == "us.amazon.nova-micro-v1:0"
    assert _row(proxy, marker, "converse")["prompt_text"] == "system: Be brief.\n\nuser: What is the capital of France?"


VERTEX = """
import json
from anthropic import AnthropicVertex
from google import genai
from google.genai import types
from google.oauth2.credentials import Credentials
out = {}
claude = AnthropicVertex(region="us-east5", project_id="r4u-test", access_token="GOOGLE_TOKEN", max_retries=0)
msg = claude.messages.create(model="claude-sonnet-4-5@20250929", max_tokens=64, extra_headers={"x-test-id": "MARKER-claude"},
                             messages=[{"role": "user", "content": "Say hello"}])
out["claude"] = [msg.content[0].text, msg.usage.input_tokens, msg.usage.output_tokens]
with claude.messages.stream(model="claude-sonnet-4-5@20250929", max_tokens=64, extra_headers={"x-test-id": "MARKER-claude_stream"},
                            messages=[{"role": "user", "content": "Say hello again"}]) as stream:
    final = stream.get_final_message()
out["claude_stream"] = [final.content[0].text, final.usage.input_tokens, final.usage.output_tokens]

def gemini_client(marker, **kwargs):
    return genai.Client(http_options=types.HttpOptions(headers={"x-test-id": marker}), **kwargs)

vertex = dict(vertexai=True, project="r4u-test", location="us-central1", credentials=Credentials(token="GOOGLE_TOKEN"))
clients = {name: gemini_client("MARKER-" + name, **vertex) for name in ("gemini", "gemini_stream", "vertex_embed")}
clients["gemini_embed"] = gemini_client("MARKER-gemini_embed", api_key="GEMINI_KEY")  # kept: a dropped client closes
r = clients["gemini"].models.generate_content(model="gemini-2.0-flash", contents="Hi there")
out["gemini"] = [r.text, r.usage_metadata.prompt_token_count, r.usage_metadata.candidates_token_count]
text = ""
for chunk in clients["gemini_stream"].models.generate_content_stream(model="gemini-2.0-flash", contents="Hi again"):
    text += chunk.text or ""
    usage = chunk.usage_metadata
out["gemini_stream"] = [text, usage.prompt_token_count, usage.candidates_token_count]
e = clients["vertex_embed"].models.embed_content(model="gemini-embedding-001", contents=["one", "two"])
out["vertex_embed"] = [len(e.embeddings)]
e = clients["gemini_embed"].models.embed_content(model="text-embedding-004", contents=["one", "two"])
out["gemini_embed"] = [len(e.embeddings)]
print(json.dumps(out))
"""


def test_vertex_ai_claude_and_gemini_and_gemini_embeddings(proxy, marker):
    code = VERTEX.replace("GOOGLE_TOKEN", GOOGLE_TOKEN).replace("GEMINI_KEY", GEMINI_KEY)
    seen = _app(code, proxy, marker)
    for call in ("claude", "claude_stream", "gemini", "gemini_stream"):
        text, input_tokens, output_tokens = seen[call]
        row = _row(proxy, marker, call)
        assert row["provider"] == "vertex" and row["stream"] == int(call.endswith("stream")), call
        assert (row["completion_text"], row["input_tokens"], row["output_tokens"]) == (text, input_tokens, output_tokens)
        assert row["cost_usd"] is not None, (call, row["price_source"])
        assert "#" in json.loads(row["request_headers"])["authorization"]
    assert _row(proxy, marker, "claude")["request_model"] == "claude-sonnet-4-5@20250929"  # from the URL
    vertex_embed = _row(proxy, marker, "vertex_embed")
    assert (vertex_embed["operation"], vertex_embed["completion_text"]) == ("embeddings", "[2 embedding(s)]")
    assert vertex_embed["input_tokens"] > 0 and vertex_embed["cost_usd"] is not None
    # google-genai embeds on the Gemini API with :batchEmbedContents: a row, unpriced for want of usage.
    gemini_embed = _row(proxy, marker, "gemini_embed")
    assert gemini_embed["path"].endswith("/models/text-embedding-004:batchEmbedContents")
    assert (gemini_embed["provider"], gemini_embed["completion_text"]) == ("gemini", "[2 embedding(s)]")
    assert stored_unpriced_reason(gemini_embed["price_source"]) == NO_USAGE
    assert "#" in json.loads(gemini_embed["request_headers"])["x-goog-api-key"]


AZURE = """
import json, openai
client = openai.AzureOpenAI(api_key="AZURE_KEY", azure_endpoint="https://r4u-test.openai.azure.com",
                            api_version="2024-10-21", max_retries=0)
out = {}
r = client.chat.completions.create(model="my-gpt5-nano", messages=[{"role": "user", "content": "Hello!"}],
                                   extra_headers={"x-test-id": "MARKER-deployment", "x-sim-fixture": "azure/gpt5_nano_chat.json"})
out["deployment"] = [r.choices[0].message.content, r.model, r.usage.prompt_tokens, r.usage.completion_tokens]
text = ""
for chunk in client.chat.completions.create(model="my-gpt35", messages=[{"role": "user", "content": "A joke"}], stream=True,
        extra_headers={"x-test-id": "MARKER-stream", "x-sim-fixture": "azure/gpt35_chat_stream_prompt_filter.sse"}):
    text += "".join(c.delta.content or "" for c in chunk.choices)
out["stream"] = [text]
v1 = openai.OpenAI(api_key="AZURE_KEY", base_url="https://r4u-test.openai.azure.com/openai/v1/", max_retries=0)
r = v1.responses.create(model="gpt-4o-mini", input="Hello", extra_headers={"x-test-id": "MARKER-v1_responses"})
out["v1_responses"] = [r.output_text, r.usage.input_tokens, r.usage.output_tokens]
print(json.dumps(out))
"""


def test_azure_openai_deployments_and_v1_paths(proxy, marker):
    seen = _app(AZURE.replace("AZURE_KEY", AZURE_KEY), proxy, marker)
    deployment = _row(proxy, marker, "deployment")
    text, model, input_tokens, output_tokens = seen["deployment"]
    assert deployment["path"] == "/openai/deployments/my-gpt5-nano/chat/completions"
    assert (deployment["provider"], deployment["request_model"], deployment["response_model"]) == (
        "azure", "my-gpt5-nano", model)  # fmt: skip
    assert (deployment["completion_text"], deployment["input_tokens"], deployment["output_tokens"]) == (
        text, input_tokens, output_tokens)  # fmt: skip
    assert deployment["priced_model"] == "gpt-5-nano"  # the response's model, not the deployment's name
    stream = _row(proxy, marker, "stream")
    assert stream["response_model"] == "gpt-35-turbo" and stream["completion_text"] == seen["stream"][0]
    responses = _row(proxy, marker, "v1_responses")
    assert (responses["provider"], responses["operation"]) == ("azure", "responses")
    assert (responses["completion_text"], responses["input_tokens"], responses["output_tokens"]) == tuple(
        seen["v1_responses"])  # fmt: skip
    for row in (deployment, stream):
        assert "#" in json.loads(row["request_headers"])["api-key"]


COHERE = """
import json, cohere
co = cohere.ClientV2(api_key="COHERE_KEY")
out = {}
def opts(call):
    return {"additional_headers": {"x-test-id": "MARKER-" + call}}
r = co.chat(model="command-r-plus-08-2024", messages=[{"role": "user", "content": "Hello"}], request_options=opts("chat"))
out["chat"] = [r.message.content[0].text, r.usage.billed_units.input_tokens, r.usage.billed_units.output_tokens]
text = ""
for event in co.chat_stream(model="command-r-plus-08-2024", messages=[{"role": "user", "content": "Hi"}],
                            request_options=opts("chat_stream")):
    if event.type == "content-delta":
        text += event.delta.message.content.text
    if event.type == "message-end":
        usage = event.delta.usage.billed_units
out["chat_stream"] = [text, usage.input_tokens, usage.output_tokens]
e = co.embed(model="embed-v4.0", texts=["one", "two"], input_type="search_document", embedding_types=["float"],
             request_options=opts("embed"))
out["embed"] = [len(e.embeddings.float_)]
print(json.dumps(out))
"""


def test_cohere_v2_chat_stream_and_embed(proxy, marker):
    seen = _app(COHERE.replace("COHERE_KEY", COHERE_KEY), proxy, marker)
    for call in ("chat", "chat_stream"):
        row = _row(proxy, marker, call)
        assert (row["provider"], row["operation"], row["stream"]) == ("cohere", "chat", int(call == "chat_stream"))
        assert [row["completion_text"], row["input_tokens"], row["output_tokens"]] == seen[call]
        assert row["cost_usd"] is not None and row["priced_model"] == "command-r-plus"
    embed = _row(proxy, marker, "embed")
    assert embed["completion_text"] == "[2 embedding(s)]" and embed["cost_usd"] is not None


OLLAMA = """
import json, ollama
out = {}
def client(call):
    return ollama.Client(host="http://127.0.0.1:PORT", headers={"x-test-id": "MARKER-" + call})
r = client("chat").chat(model="llama3.2", messages=[{"role": "user", "content": "Why is the sky blue?"}], stream=False)
out["chat"] = [r.message.content, r.prompt_eval_count, r.eval_count]
text = ""
for part in client("chat_stream").chat(model="llama3.2", messages=[{"role": "user", "content": "Hi"}], stream=True):
    text += part.message.content
out["chat_stream"] = [text, part.prompt_eval_count, part.eval_count]
text = ""
for part in client("generate").generate(model="llama3.2", prompt="Once upon a time", stream=True):
    text += part.response
out["generate"] = [text, part.prompt_eval_count, part.eval_count]
e = client("embed").embed(model="nomic-embed-text", input=["one", "two", "three"])
out["embed"] = [len(e.embeddings)]
print(json.dumps(out))
"""


def test_ollama_native_api_over_plain_http(proxy, plain_sim, marker):
    seen = _app(OLLAMA.replace("PORT", str(plain_sim.port)), proxy, marker)
    for call in ("chat", "chat_stream", "generate"):
        row = _row(proxy, marker, call)
        assert (row["provider"], row["stream"]) == ("ollama", int(call != "chat")), call
        assert [row["completion_text"], row["input_tokens"], row["output_tokens"]] == seen[call], call
        assert row["response_model"] == "llama3.2" and stored_unpriced_reason(row["price_source"]) == NO_PRICE  # a local model
    assert _row(proxy, marker, "embed")["completion_text"] == "[3 embedding(s)]"


HUGGINGFACE = """
import json
from huggingface_hub import InferenceClient
out = {}
def client(call, **kwargs):
    return InferenceClient(token="HF_TOKEN", headers={"x-test-id": "MARKER-" + call}, **kwargs)
tgi = "http://127.0.0.1:PORT"
r = client("generate", model=tgi).text_generation("Tell me a story", max_new_tokens=20, details=True)
out["generate"] = [r.generated_text, r.details.generated_tokens]
text = ""
streaming = client("generate_stream", model=tgi)  # kept while the stream is read: a dropped client closes it
for token in streaming.text_generation("Tell me more", max_new_tokens=20, stream=True):
    text += token
out["generate_stream"] = [text, None]
r = client("router_chat", base_url="https://router.huggingface.co/v1").chat_completion(
    model="meta-llama/Llama-3.3-70B-Instruct:together", messages=[{"role": "user", "content": "Hello"}])
out["router_chat"] = [r.choices[0].message.content]
print(json.dumps(out))
"""


def test_huggingface_inference_client_tgi_and_router(proxy, plain_sim, marker):
    seen = _app(HUGGINGFACE.replace("PORT", str(plain_sim.port)).replace("HF_TOKEN", HF_TOKEN), proxy, marker)
    for call in ("generate", "generate_stream"):
        row = _row(proxy, marker, call)
        text, generated_tokens = seen[call]
        assert (row["provider"], row["operation"], row["stream"]) == ("huggingface", "generate", int("stream" in call))
        assert row["completion_text"] == text, call
        assert row["output_tokens"] == (generated_tokens or len(text.split(" "))), call  # a word per token event
    router = _row(proxy, marker, "router_chat")
    assert (router["provider"], router["completion_text"]) == ("huggingface", seen["router_chat"][0])
    assert "#" in json.loads(router["request_headers"])["authorization"]


def test_no_credential_of_any_family_reaches_the_database(proxy):
    """Runs after the SDK tests above (file order): their keys, tokens and AWS credentials are nowhere on disk."""
    files = [p for p in proxy.db.parent.iterdir() if p.name.startswith(proxy.db.name)]
    stored = b"".join(p.read_bytes() for p in files)
    assert len(stored) > 100_000  # the database and its WAL, with the calls above in them
    for secret in SECRETS:
        assert secret.encode() not in stored, f"{secret[:8]}… found in {[p.name for p in files]}"
        assert secret[-12:].encode() not in stored  # not even a long tail of it
