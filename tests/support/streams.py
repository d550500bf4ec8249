"""Run a recorded event stream through analyze() as the writer would, for offline expectations; where each
recording was made (its MANIFEST.tsv row and endpoint)."""

from __future__ import annotations

import csv
import functools
import re

from r4u_proxy.ingest.parse import analyze
from r4u_proxy.providers import route
from r4u_proxy.providers.hosts import provider_for_host
from r4u_proxy.simulator.fixtures import RECORDINGS_DIR, fixture_content_type
from support.proxy import SIMULATED_HOSTS

_STATUS_NOTE = re.compile(r"recorded response status (\d+)")
# The host of a recording whose MANIFEST endpoint is a bare path: its provider's own API.
_DEFAULT_HOSTS = {
    "openai_chat": "api.openai.com",
    "openai_responses": "api.openai.com",
    "anthropic_messages": "api.anthropic.com",
    "gemini": "generativelanguage.googleapis.com",
}
_VERTEX_HOST = "us-central1-aiplatform.googleapis.com"
_VERTEX_PREFIX = "/v1/projects/p/locations/us-central1"


@functools.cache
def recorded_manifest() -> dict[str, dict]:
    """The recordings' MANIFEST.tsv rows by file name (`openai_chat/gpt4o_text_plain.sse`)."""
    with open(RECORDINGS_DIR / "MANIFEST.tsv", newline="") as handle:
        return {row["file"]: row for row in csv.DictReader(handle, delimiter="\t")}


def recorded_endpoint(name: str) -> tuple[str, str, str]:
    """(method, host, path with query) of the call that produced a recording, from its MANIFEST row."""
    method, url = recorded_manifest()[name]["endpoint"].split()[:2]
    url = url.replace("{model}", "gemini-2.0-flash").replace("{response_id}", "resp_abc123")
    url = url.replace("{account}", "acct").replace("{p}", "p")
    if url.startswith(("https://", "http://")):
        host, _, rest = url.partition("://")[2].partition("/")
        return method, host.split(":")[0], "/" + rest
    if url.startswith(".../"):
        return method, _VERTEX_HOST, _VERTEX_PREFIX + url[3:]
    if "/projects/" in url:
        return method, _VERTEX_HOST, url
    return method, _DEFAULT_HOSTS[name.split("/")[0]], url


def is_stream_fixture(name: str) -> bool:
    """A recording of a streamed reply (SSE, NDJSON, AWS event stream), not one JSON body."""
    return not name.endswith(".json")


def recorded_status(row: dict) -> int:
    """The HTTP status a MANIFEST row's notes give for its recording (200 when they name none)."""
    match = _STATUS_NOTE.search(row.get("notes") or "")
    return int(match.group(1)) if match else 200


def analyze_response(
    host: str, path: str, chunks: list[tuple[float, bytes]], content_type: str, status: int = 200, **extra
) -> dict:
    """analyze() of a call to `host` and `path` answered with `status` and (arrival time, bytes) chunks."""
    exchange = {
        "path": path,
        "status_code": status,
        "response_headers": [("content-type", content_type)],
        "chunks": chunks,
        **extra,
    }
    return analyze(route(host, path), exchange)


def analyze_recorded(
    host: str, path: str, data: bytes, request_body: bytes = b"", name: str = ".sse", status: int = 200
) -> dict:
    """analyze() of a recorded response (content type by the recording's `name`) that arrived in one chunk."""
    extra = {}
    if request_body:
        extra = {"request_headers": [("content-type", "application/json")], "request_body": request_body}
    content_type = fixture_content_type(name).split(";")[0]
    return analyze_response(host, path.partition("?")[0], [(1.0, data)], content_type, status, **extra)


def assert_summary(result: dict, model, finish, input_tokens, output_tokens, reasoning, starts, ends) -> None:
    """Check analyze()'s summary of a fixture against expectations written by hand from it."""
    assert result.get("response_model") == model
    assert result.get("finish_reason") == finish
    assert result.get("input_tokens") == input_tokens
    assert result.get("output_tokens") == output_tokens
    assert result.get("reasoning_tokens") == reasoning
    text = result.get("completion_text")
    if starts is None:
        assert text is None
    else:
        assert text.startswith(starts) and text.endswith(ends)


# A simulated host of each provider, for recordings made against a host the simulator has no certificate for.
_STAND_INS = {provider_for_host(host): host for host in reversed(SIMULATED_HOSTS)}


def replay_target(entry: dict[str, str], plain_port: int) -> tuple[str, str, str, str, dict]:
    """(method, URL, the host and path the trace will name, request body) to replay a fixture as the call it was
    recorded from; self-hosted servers (Ollama, TGI) are reached over plain HTTP on this machine."""
    method, _, url = entry["endpoint"].partition(" ")
    url = url.split(" ")[0]
    if url.startswith(("https://", "http://")):
        scheme, _, rest = url.partition("://")
        host, _, path = rest.partition("/")
        host, path = host.split(":")[0], "/" + path
    else:
        scheme, host, path = "https", _DEFAULT_HOSTS[entry["provider"]], url
    path = path.replace("{model}", "gemini-2.5-flash").replace("{response_id}", "resp_1")
    if entry["provider"] == "gemini" and entry["file"].endswith(".sse"):
        path = "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
    body = {"model": "m", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    if scheme == "http":  # a server on this machine
        return method or "POST", f"http://127.0.0.1:{plain_port}{path}", "127.0.0.1", path, body
    if host not in SIMULATED_HOSTS:  # vendors the simulator has no certificate for: same path, a stand-in host
        host = _STAND_INS.get(provider_for_host(host), "api.openai.com")
    return method or "POST", f"https://{host}{path}", host, path, body
