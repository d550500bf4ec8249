"""Projects and tags from headers: recorded on the trace, never sent to the provider."""

from __future__ import annotations

import json

from support.proxy import run_app

TAGGED_CALL = """
import openai
openai.OpenAI().chat.completions.create(
    model="gpt-4o", messages=[{"role": "user", "content": "x"}],
    extra_headers={"x-test-id": "MARKER", HEADERS})
"""


def _upstream_headers(sim, marker: str) -> dict[str, str]:
    seen = [r for r in sim.requests if r.header("x-test-id") == marker]
    assert len(seen) == 1
    return {name.lower(): value for name, value in seen[0].headers}


def test_r4u_headers_set_project_and_tags_and_are_stripped(proxy, sim, marker):
    headers = '"X-R4U-Project": "search-api", "X-R4U-Tag-Env": "prod", "X-R4U-Tag-Feature": "autocomplete"'
    run_app(TAGGED_CALL.replace("MARKER", marker).replace("HEADERS", headers), proxy.env(project="from-url"))
    row = proxy.row_for(marker)
    assert row["project"] == "search-api"  # the header is more specific than the proxy URL
    assert json.loads(row["tags"]) == {"env": "prod", "feature": "autocomplete"}
    upstream = _upstream_headers(sim, marker)
    assert not [h for h in upstream if h.startswith("x-r4u-")], upstream
    assert "proxy-authorization" not in upstream
    assert not [h for h in json.loads(row["request_headers"]) if h.startswith("x-r4u-")]


def test_helicone_and_litellm_tags_work_unchanged(proxy, sim, marker):
    headers = ('"Helicone-Property-Customer": "acme", "Helicone-Session-Id": "sess-42", '
               '"x-litellm-tags": "batch, nightly"')  # fmt: skip
    run_app(TAGGED_CALL.replace("MARKER", marker).replace("HEADERS", headers), proxy.env())
    row = proxy.row_for(marker)
    assert json.loads(row["tags"]) == {"customer": "acme", "session_id": "sess-42", "labels": ["batch", "nightly"]}
    upstream = _upstream_headers(sim, marker)
    assert not [h for h in upstream if h.startswith("helicone-") or h == "x-litellm-tags"], upstream


def test_project_from_url_when_no_header(proxy, sim, marker):
    run_app(TAGGED_CALL.replace("MARKER", marker).replace(", HEADERS", ""), proxy.env(project="billing-bot"))
    row = proxy.row_for(marker)
    assert row["project"] == "billing-bot" and row["tags"] is None
