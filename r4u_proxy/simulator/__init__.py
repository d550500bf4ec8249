"""The local LLM simulator: a fake upstream speaking the OpenAI, Anthropic and Gemini HTTP APIs.

Tests use it as the only faked part ("the upstream LLM server"); `r4u demo` and `make bench` use it too.
It has its own CA (`ca.pem` in the cert dir) and a server certificate for the provider hosts
(api.openai.com, api.anthropic.com, generativelanguage.googleapis.com, api.groq.com, openrouter.ai,
api.mistral.ai, api.deepseek.com, a Bedrock region, Vertex AI regions, an Azure resource, api.cohere.com,
Hugging Face's inference hosts: certs.DEFAULT_NAMES), example.test, localhost and 127.0.0.1, plus any
extra names given.

In process::

    from r4u_proxy.simulator import Simulator
    with Simulator(tls=True, cert_dir=tmp) as sim:
        sim.base_url, sim.port, sim.ca_path    # https://localhost:PORT, trust ca.pem
        sim.requests                            # what reached the upstream (ReceivedRequest list)

In its own process (one JSON line on stdout with port/url/ca, then serves until killed)::

    python -m r4u_proxy.simulator --port 0 --tls --cert-dir DIR [--fixtures DIR] [--name HOST]...
    # or from Python: SimulatorProcess(tls=True, cert_dir=DIR).start()

Endpoints (answers are derived from the request: the model is echoed, usage counted from text length,
about 4 characters a token; any path prefix works for the OpenAI ones, e.g. /openai/v1/chat/completions):
    POST /v1/chat/completions          JSON, or SSE with "stream": true (usage chunk when
                                       stream_options.include_usage)
    POST /v1/responses                 JSON, or SSE with typed events ending in response.completed
    POST /v1/embeddings                floats, or base64 with encoding_format=base64 (the SDK default)
    POST /v1/messages                  Anthropic JSON, or SSE message_start … message_stop
    POST /v1beta/models/{m}:generateContent         also under Vertex's /v1/projects/P/locations/L/publishers/google
    POST /v1beta/models/{m}:streamGenerateContent   ?alt=sse for SSE, else a JSON array
    POST /v1beta/models/{m}:embedContent | :batchEmbedContents | :countTokens, Vertex …/models/{m}:predict
    POST …/publishers/anthropic/models/{m}:rawPredict | :streamRawPredict   (Claude on Vertex AI)
    POST /model/{id}/converse | /converse-stream | /invoke | /invoke-with-response-stream
                                       AWS Bedrock; streams in the AWS event-stream framing; InvokeModel
                                       speaks the vendor's body (Anthropic, Nova, Titan, Llama, Mistral, Cohere)
    POST /v2/chat, /v2/embed           Cohere (typed SSE events when streamed)
    POST /api/chat, /api/generate, /api/embed, /api/embeddings   Ollama (NDJSON streams)
    POST /generate, /generate_stream, /models/{id}               Hugging Face TGI / Inference API
    POST /v1/fim/completions           Mistral fill-in-the-middle (answered as a chat completion)
    GET  /v1/models, GET /health
WebSocket endpoints (GET + Upgrade: websocket; simulator/websocket_server.py): /v1/responses (the Responses API
over a WebSocket, as Codex speaks it), /v1/realtime (the Realtime API), .../BidiGenerateContent (Gemini Live),
with their own x-sim-ws-* controls (close or drop mid-answer, a malformed message, echo).

Test controls, as request headers (stateless, so the SDKs can send them through `extra_headers`):
    x-sim-fixture: openai_chat/gpt4o_text_plain.sse
        replay that recorded body from the fixtures dir byte for byte, one write per event (SSE, NDJSON line,
        AWS event-stream message; a .json body in one write), content-type by the file's extension; with
        x-sim-status, under that status. Fixtures dir: --fixtures / fixtures_dir=, else $R4U_SIM_FIXTURES, else
        the recordings shipped in r4u_proxy/simulator/recordings/.
    x-sim-split: 1 | random:SEED re-cut the streamed body into 1-byte (or random 1-64 byte) writes
    x-sim-pad-bytes: 100000      follow each event with an SSE comment of that size (large streams)
    x-sim-events: 50             a synthetic stream of 50 content events (of the endpoint's own format)
    x-sim-gap-ms: 10             wait this long between SSE events
    x-sim-first-delay-ms: 300    wait this long after the first event (the role chunk), on top of the gap
    x-sim-headers-delay-ms: 200  wait this long before sending the response headers
    x-sim-status: 429            reply that status; >= 400 gets the provider's error JSON (by path)
    x-sim-body: binary-2mb | not-json | html | empty | truncated-json
                                 reply 200 with a body that is not the expected JSON
    x-sim-reset-after: N         send N body bytes (after content-encoding, before chunk framing), then
                                 reset the TCP connection (RST); a shorter body completes normally
    x-sim-hang: 1                send headers and the first event (a whole body: headers only), then never
                                 finish, until the client disconnects or the simulator stops
    x-sim-encoding: gzip | br | deflate | zstd
                                 content-encode the reply; streams flush the encoder after every event
    x-sim-stream: 1 | 0          force streaming on or off regardless of the request body
    x-sim-content-type: TYPE     override the reply's content-type
A malformed control header gets a 400 naming it. Every reply carries x-request-id (also in sim.requests).
"""

from r4u_proxy.simulator.process import SimulatorProcess
from r4u_proxy.simulator.server import ReceivedRequest
from r4u_proxy.simulator.simulator import Simulator

__all__ = ["ReceivedRequest", "Simulator", "SimulatorProcess"]
