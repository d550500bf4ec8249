"""The simulator (the fake LLM upstream) itself: what real clients get from it, directly, with no proxy.

Everything else in the suite trusts these behaviours, so they are checked with real clients: the official
SDKs in .venv-app, httpx, raw TLS sockets.
"""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
import textwrap
import uuid
import zlib

import httpx
import pytest
from support.proxy import APP_PYTHON
from support.upstream import (
    direct_app_env,
    fixture_bytes,
    fixture_events,
    manifest,
    sha256,
    timed_stream,
    trust,
)

from r4u_proxy.simulator import Simulator, SimulatorProcess
from r4u_proxy.simulator.fixtures import fixture_content_type, split_fixture

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Tell me about the sea"}]}
CHAT_STREAM = {**CHAT, "stream": True, "stream_options": {"include_usage": True}}


def post(sim: Simulator, path: str, payload: object, **headers: str) -> httpx.Response:
    return httpx.post(sim.url(path), json=payload, headers=headers, verify=trust(sim), timeout=30)


def data_lines(body: bytes) -> list[str]:
    return [line[6:] for line in body.decode().splitlines() if line.startswith("data: ")]


def run_app(code: str, env: dict[str, str]) -> str:
    result = subprocess.run(
        [str(APP_PYTHON), "-c", textwrap.dedent(code)], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, f"app failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


# ---- real SDKs, directly against the simulator ------------------------------------------------------
def test_openai_sdk_chat_stream_and_embeddings(sim: Simulator) -> None:
    marker = uuid.uuid4().hex
    out = run_app(
        f"""
        import json, openai
        client = openai.OpenAI(max_retries=0)
        hdrs = {{"x-test-id": "{marker}"}}
        reply = client.chat.completions.create(model="gpt-4o", extra_headers=hdrs,
            messages=[{{"role": "user", "content": "Say hi to the ocean"}}])
        stream = client.chat.completions.create(model="gpt-4o-mini", stream=True, extra_headers=hdrs,
            stream_options={{"include_usage": True}}, messages=[{{"role": "user", "content": "Say hi"}}])
        chunks = list(stream)
        emb = client.embeddings.create(model="text-embedding-3-small", input=["a", "b"], dimensions=8)
        with client.responses.stream(model="gpt-5", input="Hello responses") as events:
            final = events.get_final_response()
        print(json.dumps({{
            "model": reply.model, "text": reply.choices[0].message.content,
            "usage": reply.usage.total_tokens,
            "stream_text": "".join(c.choices[0].delta.content or "" for c in chunks if c.choices),
            "stream_usage": chunks[-1].usage.completion_tokens,
            "emb": [len(d.embedding) for d in emb.data],
            "responses": [final.output_text, final.usage.output_tokens],
        }}))
        """,
        direct_app_env(sim),
    )
    result = json.loads(out)
    assert result["model"] == "gpt-4o"
    assert "Say hi to the ocean" in result["text"]
    assert result["usage"] > 0
    assert result["stream_text"].startswith("Simulated reply from gpt-4o-mini")
    assert result["stream_usage"] > 0
    assert result["emb"] == [8, 8]  # the SDK asked for base64 and decoded it back to floats
    assert "Hello responses" in result["responses"][0] and result["responses"][1] > 0
    seen = [r for r in sim.requests if r.header("x-test-id") == marker]
    assert [r.path for r in seen] == ["/v1/chat/completions", "/v1/chat/completions"]
    assert seen[0].header("authorization") == "Bearer sk-test-direct-0123456789"
    assert seen[1].json()["stream"] is True


def test_anthropic_sdk_stream(sim: Simulator) -> None:
    out = run_app(
        """
        import anthropic
        client = anthropic.Anthropic(max_retries=0)
        with client.messages.stream(model="claude-sonnet-4-5", max_tokens=100,
                                    messages=[{"role": "user", "content": "Hello Claude"}]) as stream:
            final = stream.get_final_message()
        print(final.model, final.stop_reason, final.usage.output_tokens, final.content[0].text)
        """,
        direct_app_env(sim),
    )
    model, stop_reason, output_tokens, text = out.strip().split(" ", 3)
    assert (model, stop_reason) == ("claude-sonnet-4-5", "end_turn")
    assert int(output_tokens) > 0
    assert "Hello Claude" in text


# ---- endpoints --------------------------------------------------------------------------------------
def test_chat_stream_has_role_chunk_content_usage_and_done(sim: Simulator) -> None:
    response = post(sim, "/v1/chat/completions", CHAT_STREAM)
    assert response.headers["content-type"].startswith("text/event-stream")
    lines = data_lines(response.content)
    assert lines[-1] == "[DONE]"
    chunks = [json.loads(line) for line in lines[:-1]]
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["prompt_tokens"] > 0
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    # Without include_usage there is no usage chunk.
    plain = data_lines(post(sim, "/v1/chat/completions", {**CHAT, "stream": True}).content)
    assert all("usage" not in json.loads(line) for line in plain[:-1])


def test_synthetic_event_count(sim: Simulator) -> None:
    response = post(sim, "/v1/chat/completions", CHAT_STREAM, **{"x-sim-events": "50"})
    deltas = [json.loads(line) for line in data_lines(response.content)[:-1]]
    content = [c for c in deltas if c["choices"] and c["choices"][0]["delta"].get("content")]
    assert len(content) == 50


def test_responses_anthropic_and_gemini_shapes(sim: Simulator) -> None:
    responses = post(sim, "/v1/responses", {"model": "gpt-5", "input": "Hi", "stream": True})
    events = [json.loads(line)["type"] for line in data_lines(responses.content)]
    assert events[0] == "response.created" and events[-1] == "response.completed"
    assert "response.output_text.delta" in events

    message = post(sim, "/v1/messages", {"model": "claude-3-5-haiku", "max_tokens": 10,
                                         "messages": [{"role": "user", "content": "Hi"}]}).json()
    assert message["type"] == "message" and message["usage"]["input_tokens"] > 0

    gemini_sse = post(sim, "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
                      {"contents": [{"role": "user", "parts": [{"text": "Hi"}]}]})
    assert gemini_sse.content.endswith(b"\r\n\r\n")
    last = json.loads(data_lines(gemini_sse.content)[-1])
    assert last["candidates"][0]["finishReason"] == "STOP"
    assert last["modelVersion"] == "gemini-2.5-flash"

    gemini_array = post(sim, "/v1beta/models/gemini-2.5-flash:streamGenerateContent",
                        {"contents": [{"parts": [{"text": "Hi"}]}]}).json()
    assert isinstance(gemini_array, list) and gemini_array[-1]["usageMetadata"]["promptTokenCount"] > 0


# ---- fixtures and controls ------------------------------------------------------------------------
@pytest.mark.parametrize("row", manifest()[::9], ids=lambda row: row["file"])
def test_fixture_replayed_byte_for_byte(sim: Simulator, row: dict[str, str]) -> None:
    response = post(sim, "/v1/chat/completions", {}, **{"x-sim-fixture": row["file"]})
    assert response.status_code == 200
    assert response.headers["content-type"] == fixture_content_type(row["file"])  # by the file's extension
    assert sha256(response.content) == row["sha256"]


def test_fixture_replayed_with_the_recorded_status(sim: Simulator) -> None:
    response = post(sim, "/model/does-not-exist/invoke", {},
                    **{"x-sim-fixture": "bedrock/invalid_model_invoke_400.json", "x-sim-status": "400"})  # fmt: skip
    assert response.status_code == 400
    assert response.json() == {"message": "The provided model identifier is invalid."}


def test_fixture_events_join_back_to_the_file() -> None:
    for row in manifest():
        pieces = split_fixture(row["file"], fixture_bytes(row["file"]))
        assert b"".join(pieces) == fixture_bytes(row["file"]) and pieces, row["file"]
        assert b"".join(fixture_events(row["file"])) == fixture_bytes(row["file"])
    # An AWS event stream is cut at its message boundaries: each piece is one whole message.
    messages = split_fixture("x.eventstream", fixture_bytes("bedrock/nova_micro_converse_stream_text.eventstream"))
    assert all(int.from_bytes(m[:4], "big") == len(m) for m in messages) and len(messages) > 10


def test_unknown_fixture_is_a_loud_error(sim: Simulator) -> None:
    response = post(sim, "/v1/chat/completions", {}, **{"x-sim-fixture": "openai_chat/nope.sse"})
    assert response.status_code == 500
    assert "nope.sse" in response.json()["error"]["message"]
    escaping = post(sim, "/v1/chat/completions", {}, **{"x-sim-fixture": "../../../etc/passwd"})
    assert escaping.status_code == 500


def test_gap_spreads_events_and_each_is_flushed(sim: Simulator) -> None:
    stream = timed_stream(sim.url("/v1/chat/completions"), CHAT_STREAM, verify=trust(sim),
                          headers={"x-sim-events": "10", "x-sim-gap-ms": "50"})
    assert stream.error is None
    # 14 events (role, 10 words, finish, usage, DONE) with 13 gaps of 50 ms.
    assert stream.last_piece_s - stream.first_piece_s >= 0.6
    assert stream.first_time_containing(b'"role":"assistant"') < 0.2  # not held back until the end
    assert len(stream.pieces) >= 10  # arrived in separate reads, not one buffer


def test_first_delay_holds_back_only_after_the_role_chunk(sim: Simulator) -> None:
    stream = timed_stream(sim.url("/v1/chat/completions"), CHAT_STREAM, verify=trust(sim),
                          headers={"x-sim-first-delay-ms": "300"})
    role_at = stream.first_time_containing(b'"role":"assistant"')
    content_at = stream.first_time_containing(b'"content":"Simulated"')
    assert role_at < 0.2
    assert content_at - role_at >= 0.28


def test_reset_after_n_bytes(sim: Simulator) -> None:
    stream = timed_stream(sim.url("/v1/chat/completions"), CHAT_STREAM, verify=trust(sim),
                          headers={"x-sim-reset-after": "300"})
    assert stream.status == 200
    assert len(stream.body) == 300
    assert stream.error is not None  # the client saw the connection break, not a clean end


def test_reset_is_a_tcp_rst_on_plain_http() -> None:
    with Simulator(tls=False) as plain, socket.create_connection(("127.0.0.1", plain.port)) as conn:
        body = json.dumps(CHAT).encode()
        conn.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nx-sim-reset-after: 10\r\n"
                     b"content-length: %d\r\n\r\n%b" % (len(body), body))
        received = b""
        with pytest.raises(ConnectionResetError):
            while chunk := conn.recv(65536):
                received += chunk
        head, _, payload = received.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200")
        assert payload == b'{"id":"cha'  # exactly 10 bytes of the JSON body, then the RST


class _Decoder:
    """An incremental decoder for one Content-Encoding, as a proxy tap would run it."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        if encoding == "gzip":
            self._feed = zlib.decompressobj(wbits=31).decompress
        elif encoding == "deflate":
            self._feed = zlib.decompressobj().decompress
        elif encoding == "br":
            import brotli

            self._feed = brotli.Decompressor().process
        else:
            zstandard = pytest.importorskip("zstandard", reason="no zstd implementation in this Python")
            self._feed = zstandard.ZstdDecompressor().decompressobj().decompress

    def feed(self, data: bytes) -> bytes:
        return self._feed(data)


_ENCODINGS = ["gzip", "deflate", "br", "zstd"]


@pytest.mark.parametrize("encoding", _ENCODINGS)
def test_encoded_stream_decodes_per_event(sim: Simulator, encoding: str) -> None:
    decoder = _Decoder(encoding)  # first: skips where this Python has no zstd at all
    headers = {"x-sim-encoding": encoding, "x-sim-events": "5", "x-sim-gap-ms": "60"}
    stream = timed_stream(sim.url("/v1/chat/completions"), CHAT_STREAM, headers=headers,
                          verify=trust(sim))
    assert stream.headers["content-encoding"] == encoding
    decoded = b""
    first_event_decoded_at = None
    for at, piece in stream.pieces:
        decoded += decoder.feed(piece)
        if first_event_decoded_at is None and b"\n\n" in decoded:
            first_event_decoded_at = at
    # The first event is decodable on its own, long before the stream ends: the encoder flushed it.
    assert first_event_decoded_at is not None
    assert stream.last_piece_s - first_event_decoded_at >= 0.3
    assert data_lines(decoded)[-1] == "[DONE]"
    # An SDK-like client (httpx decoding) gets the same events as an unencoded request.
    sdk_like = post(sim, "/v1/chat/completions", CHAT_STREAM, **{"x-sim-encoding": encoding})
    assert data_lines(sdk_like.content)[-1] == "[DONE]"


def test_status_replies_in_each_provider_shape(sim: Simulator) -> None:
    openai_error = post(sim, "/v1/chat/completions", CHAT, **{"x-sim-status": "429"})
    assert openai_error.status_code == 429
    assert openai_error.json()["error"]["code"] == "rate_limit_exceeded"
    anthropic_error = post(sim, "/v1/messages", {}, **{"x-sim-status": "529"})
    assert anthropic_error.json() == {"type": "error", "error": {
        "type": "overloaded_error", "message": "simulated error 529 (x-sim-status)"}}
    gemini_error = post(sim, "/v1beta/models/gemini-2.0-flash:generateContent", {}, **{"x-sim-status": "429"})
    assert gemini_error.json()["error"]["status"] == "RESOURCE_EXHAUSTED"


def test_non_json_bodies(sim: Simulator) -> None:
    binary = post(sim, "/v1/chat/completions", CHAT, **{"x-sim-body": "binary-2mb"})
    assert len(binary.content) == 2 * 1024 * 1024
    not_json = post(sim, "/v1/chat/completions", CHAT, **{"x-sim-body": "not-json"})
    with pytest.raises(ValueError):
        not_json.json()


def test_hang_sends_first_event_then_nothing(sim: Simulator) -> None:
    stream = timed_stream(sim.url("/v1/chat/completions"), CHAT_STREAM, verify=trust(sim),
                          headers={"x-sim-hang": "1"}, timeout=0.8)
    assert stream.status == 200
    assert b'"role":"assistant"' in stream.body and b"[DONE]" not in stream.body
    assert stream.error is not None and "Timeout" in stream.error


def test_bad_control_header_is_a_400(sim: Simulator) -> None:
    response = post(sim, "/v1/chat/completions", CHAT, **{"x-sim-encoding": "lzma"})
    assert response.status_code == 400
    assert "x-sim-encoding" in response.json()["error"]["message"]


# ---- certificate, recording, process ---------------------------------------------------------------
@pytest.mark.parametrize("host", ["api.anthropic.com", "generativelanguage.googleapis.com", "localhost"])
def test_certificate_passes_strict_verification(sim: Simulator, host: str) -> None:
    context = ssl.create_default_context(cafile=str(sim.ca_path))
    context.verify_flags |= ssl.VERIFY_X509_STRICT  # the default from Python 3.13 on
    with socket.create_connection(("127.0.0.1", sim.port)) as raw, \
            context.wrap_socket(raw, server_hostname=host) as tls:
        assert tls.version() is not None
    with pytest.raises(ssl.SSLCertVerificationError), socket.create_connection(("127.0.0.1", sim.port)) as raw:
        context.wrap_socket(raw, server_hostname="not-covered.example.com")


def test_requests_are_recorded_and_bounded() -> None:
    with Simulator(tls=False, max_recorded=3) as small:
        for index in range(5):
            httpx.post(small.url("/v1/embeddings"), json={"model": "m", "input": f"text {index}"},
                       headers={"Authorization": "Bearer sk-secret"})
        recorded = small.requests
        assert [r.json()["input"] for r in recorded] == ["text 2", "text 3", "text 4"]
        assert recorded[-1].header("AUTHORIZATION") == "Bearer sk-secret"
        assert recorded[-1].method == "POST" and recorded[-1].path == "/v1/embeddings"


def test_cli_process_prints_port_and_serves(tmp_path) -> None:
    with SimulatorProcess(tls=True, cert_dir=tmp_path) as child:
        assert child.ca_path == tmp_path / "ca.pem"
        reply = httpx.post(child.base_url + "/v1/chat/completions", json=CHAT, verify=ssl.create_default_context(cafile=str(child.ca_path)))
        assert reply.json()["model"] == "gpt-4o-mini"
        process = child.process
    assert process.poll() is not None  # stopped with the context
