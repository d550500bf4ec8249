"""The mapping without a proxy: every recorded provider stream (the simulator's fixtures, from the SDKs'
own test data) reassembled as the writer does, turned into `gen_ai.output.messages`, validated against
the conventions' JSON schema and checked against what r4u extracted from the same body; plus the
low-cardinality names a receiver groups by."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import jsonschema
import pytest
from support.streams import analyze_recorded, recorded_status, replay_target

from r4u_proxy import providers
from r4u_proxy.export.spans import error_type, provider_name, session_trace_id, trace_span
from r4u_proxy.simulator.fixtures import default_fixtures_dir

FIXTURES = default_fixtures_dir()
MANIFEST = list(csv.DictReader((FIXTURES / "MANIFEST.tsv").open(encoding="utf-8"), delimiter="\t"))
# Where each family's response body holds the answer (Chat's choices, Gemini's candidates, Anthropic's content,
# Responses' and Converse's output, Cohere's and Ollama's message, Ollama generate's response, TGI's
# generated_text, the Bedrock text vendors' own fields).
ANSWER_KEYS = ("choices", "candidates", "content", "output", "message", "response", "generated_text", "generation",
               "results", "outputs", "generations", "text")  # fmt: skip
OUTPUT = jsonschema.Draft202012Validator(
    json.loads((Path(__file__).parent / "data" / "semconv" / "gen-ai-output-messages.json").read_text())
)


@pytest.mark.parametrize("entry", MANIFEST, ids=[e["file"] for e in MANIFEST])
def test_every_recorded_stream_becomes_schema_valid_output_messages(entry):
    _, _, host, path, _ = replay_target(entry, 0)
    raw = (FIXTURES / entry["file"]).read_bytes()
    result = analyze_recorded(host, path, raw, name=entry["file"], status=recorded_status(entry))
    route = providers.route(host, path.partition("?")[0])
    body = json.loads(result["response_body"])
    if result.get("error"):  # an error document: there is no answer to export
        return
    output = providers.genai_content(route.family, {}, body)["output"]
    OUTPUT.validate(output)
    completion = result.get("completion_text") or ""
    for message in output:
        for part in message["parts"]:
            if part["type"] == "tool_call":  # every tool call r4u rendered as text is a structured part too
                assert part["name"] and f"{part['name']}(" in completion
            elif part["type"] == "text" and part["content"]:
                assert part["content"] in completion
    answered = [body.get(key) for key in ANSWER_KEYS] if isinstance(body, dict) else [body]
    assert bool(output) == (any(answered) and not _embedding(completion)), body
    reasons = {m["finish_reason"] for m in output}
    assert reasons <= {"stop", "length", "content_filter", "tool_call", "error"} or route.family == "openai_responses"


def _embedding(completion: str) -> bool:
    return completion.startswith("[") and completion.endswith(("embedding(s)]", "tokens counted]"))


def test_names_receivers_group_by():
    assert provider_name({"host": "generativelanguage.googleapis.com", "provider": "gemini"}) == "gcp.gemini"
    assert provider_name({"host": "us-central1-aiplatform.googleapis.com", "provider": "gemini"}) == "gcp.vertex_ai"
    assert provider_name({"host": "api.deepseek.com", "provider": "openai_compatible"}) == "deepseek"
    assert provider_name({"host": "llm.internal", "provider": "openai_compatible"}) == "openai_compatible"
    assert provider_name({"host": "bedrock-runtime-fips.us-east-1.amazonaws.com", "provider": "bedrock"}) == "aws.bedrock"
    assert provider_name({"host": "127.0.0.1", "provider": "ollama"}) == "ollama"
    assert error_type({"status_code": 529, "error": "overloaded_error: Overloaded"}) == "529"
    assert error_type({"status_code": None, "error": "upstream connect failed: refused"}) == "upstream_connect_failed"
    assert error_type({"status_code": 200, "error": "overloaded_error: Overloaded"}) == "overloaded_error"
    assert error_type({"status_code": 200, "error": "something (odd) happened!"}) == "_OTHER"
    assert error_type({"status_code": 200, "error": None}) is None


def test_a_sub_agent_call_joins_its_parents_trace_and_an_unpriced_call_has_no_cost():
    row = {"id": "01JZ0000000000000000000000", "operation": "messages", "provider": "anthropic",
           "host": "api.anthropic.com", "url": "https://api.anthropic.com/v1/messages", "request_model": "claude-x",
           "started_at": "2026-11-27T04:17:14.123Z", "latency_ms": 12.5, "session_id": "sub", "cost_usd": None,
           "task_id": "task-1", "template_vars": json.dumps({"city": "Paris"})}  # fmt: skip
    span = trace_span(row, sessions={"sub": "top"}, task={"name": "weather-question", "template": "Weather in {city}?"})
    assert span["trace_id"] == session_trace_id("top")
    assert span["end_ns"] - span["start_ns"] == 12_500_000  # no ended_at: start + latency
    attrs = span["attributes"]
    assert "r4u.cost_usd" not in attrs  # unknown price: absent, never 0
    assert "r4u.unpriced_reason" not in attrs  # no status: not a call that succeeded, so not "unpriced"
    answered = trace_span({**row, "status_code": 200, "price_source": "unpriced: no usage reported"})
    assert answered["attributes"]["r4u.unpriced_reason"] == "no usage reported"  # and the why
    assert attrs["gen_ai.prompt.name"] == "weather-question" and len(attrs["gen_ai.prompt.version"]) == 12
    assert "gen_ai.prompt.variable.city" not in attrs  # variables are content: opt-in
    with_content = trace_span(row, content="span", task={"name": "weather-question", "template": "Weather in {city}?"})
    assert with_content["attributes"]["gen_ai.prompt.variable.city"] == "Paris"
