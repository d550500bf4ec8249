"""WebSocket messages → traces, offline: the writer's side (ingest/websocket.py, ws_turns.py) on recorded and
SDK-shaped message sequences, and what a user reads in each row."""

from __future__ import annotations

import base64
import json

import genai_prices
from support.streams import analyze_recorded
from support.websocket import Replay, message, opening, transcript

from r4u_proxy.export.spans import trace_span
from r4u_proxy.ingest.redact import redact_headers
from r4u_proxy.ingest.websocket import BINARY, BINARY_JSON
from r4u_proxy.providers import gemini_live, openai_realtime
from r4u_proxy.simulator.fixtures import default_fixtures_dir
from r4u_proxy.simulator.responses_socket import fixture_messages

RESPONSES = ("api.openai.com", "/v1/responses")
REALTIME = ("api.openai.com", "/v1/realtime")
LIVE = ("generativelanguage.googleapis.com", "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent")


# ---- Responses over WebSocket --------------------------------------------------------------------------


def test_codex_transcript_is_one_trace_per_response_with_its_prompt_tokens_and_cost() -> None:
    """The real Codex CLI's messages (recorded): a prewarm (`generate: false`) and the turn, on one socket."""
    open_exchange, messages, _ = transcript("codex_0171_exec_hello.jsonl")
    replay = Replay(open_exchange)
    rows = replay.feed(messages)
    rows += replay.close(messages[-1][0] + 0.2, code=1006, by_client=True)
    assert len(rows) == 2
    prewarm, turn = rows
    for row in rows:
        assert (row["provider"], row["operation"], row["request_model"]) == ("openai", "responses", "gpt-5-codex")
        assert row["url"] == "wss://api.openai.com/v1/responses"
        assert row["ws_connection_id"] == open_exchange["id"]
        # Codex names its run (`session-id`, as over HTTP): that id is the session, not the connection.
        assert (row["session_id"], row["session_source"]) == (dict(open_exchange["request_headers"])["session-id"], "session-id")
        assert row["cost_usd"] and row["cost_usd"] > 0 and row["error"] is None
        assert "Bearer sk-test-0123456789abcdefSECRET" not in row["request_headers"]
    # The prewarm sends Codex's instructions before the user has said anything; the turn carries the prompt.
    assert json.loads(prewarm["request_body"])["generate"] is False
    assert "You are a coding agent running in the Codex CLI" in prewarm["prompt_text"]
    assert "Say hello in five words" not in prewarm["prompt_text"]
    assert "Say hello in five words" in json.loads(turn["request_body"])["input"][-1]["content"][0]["text"]
    assert json.loads(turn["request_body"])["previous_response_id"] == json.loads(prewarm["response_body"])["id"]
    # The turn sends only its new input after the prewarm's response id: it is the session's second turn.
    assert (prewarm["session_turn"], turn["session_turn"], turn["previous_trace_id"]) == (1, 2, prewarm["id"])
    assert prewarm["output_tokens"] == 0 and prewarm.get("completion_text") is None
    assert turn["completion_text"].startswith("Simulated reply from gpt-5-codex")
    assert turn["output_tokens"] > 0 and turn["ttft_ms"] > 0 and turn["latency_ms"] >= turn["ttft_ms"]
    assert json.loads(turn["response_body"])["object"] == "response"
    assert turn["ws_messages_sent"] == 1 and turn["ws_messages_received"] == turn["chunk_count"] > 10
    connection = replay.connection()
    # Codex drops the TCP connection when it is done: 1006, yet nothing was cut short.
    assert connection["close_code"] == 1006 and connection["error"] is None and connection["responses"] == 2


def test_responses_over_websocket_row_equals_the_http_row_of_the_same_events() -> None:
    """A public HTTP stream recording, sent as WebSocket messages, gives the same trace as over HTTP."""
    name = "openai_responses/gpt5_reasoning_encrypted_then_function_call.sse"
    http = analyze_recorded(*RESPONSES, (default_fixtures_dir() / name).read_bytes())
    replay = Replay(opening(*RESPONSES))
    create = {"type": "response.create", "model": "gpt-5", "input": "What is the weather in Paris?"}
    events = fixture_messages(default_fixtures_dir(), name)
    msgs = [message(1001.0, True, create)] + [message(1001.1 + i / 100, False, e) for i, e in enumerate(events)]
    (row,) = replay.feed(msgs)
    assert json.loads(row["response_body"]) == json.loads(http["response_body"])
    for column in ("response_model", "completion_text", "finish_reason", "input_tokens", "output_tokens",
                   "reasoning_tokens", "cache_read_tokens"):  # fmt: skip
        assert row[column] == http.get(column), column
    assert row["response_raw"].splitlines() == [e.decode() for e in events]


def test_lanes_each_get_their_own_response_even_interleaved() -> None:
    replay = Replay(opening(*RESPONSES))

    def ev(lane: str, kind: str, **fields) -> dict:
        return {"type": kind, "stream_id": lane, **fields}

    def final(lane: str, text: str) -> dict:
        part = {"type": "output_text", "text": text}
        return {"id": f"resp_{lane}", "object": "response", "model": "gpt-5", "status": "completed",
                "output": [{"type": "message", "role": "assistant", "content": [part]}],
                "usage": {"input_tokens": 5, "output_tokens": 2}}  # fmt: skip

    where = {"output_index": 0, "content_index": 0, "item_id": "m"}
    rows = replay.feed([
        message(1.0, True, {"type": "response.create", "model": "gpt-5", "input": "A?", "stream_id": "a"}),
        message(1.1, True, {"type": "response.create", "model": "gpt-5", "input": "B?", "stream_id": "b"}),
        message(1.2, False, ev("b", "response.output_text.delta", delta="bee", **where)),
        message(1.3, False, ev("a", "response.output_text.delta", delta="ay", **where)),
        message(1.4, False, ev("a", "response.completed", response=final("a", "ay"))),
        message(1.5, False, ev("b", "response.completed", response=final("b", "bee"))),
    ])  # fmt: skip
    by_prompt = {json.loads(row["request_body"])["input"]: row for row in rows}
    assert by_prompt["A?"]["completion_text"] == "ay" and by_prompt["B?"]["completion_text"] == "bee"
    assert by_prompt["A?"]["ws_messages_received"] == 2 and by_prompt["B?"]["ws_messages_received"] == 2
    assert abs(by_prompt["B?"]["ttft_ms"] - 100) < 1  # its own create to its own first delta


def test_error_event_ends_its_response_with_the_providers_status() -> None:
    replay = Replay(opening(*RESPONSES))
    error = {"type": "error", "status": 429,
             "error": {"type": "usage_limit_reached", "message": "The usage limit has been reached"}}  # fmt: skip
    (row,) = replay.feed([message(1.0, True, {"type": "response.create", "model": "gpt-5"}),
                          message(1.2, False, error)])  # fmt: skip
    assert row["status_code"] == 429
    assert row["error"] == "usage_limit_reached: The usage limit has been reached"


# ---- Realtime --------------------------------------------------------------------------------------------

# The usage split is the one OpenAI's docs show for response.done (quoted in openai/openai-agents-js#538).
REALTIME_USAGE = {
    "total_tokens": 253, "input_tokens": 132, "output_tokens": 121,
    "input_token_details": {"text_tokens": 119, "audio_tokens": 13, "image_tokens": 0, "cached_tokens": 64,
                            "cached_tokens_details": {"text_tokens": 64, "audio_tokens": 0, "image_tokens": 0}},
    "output_token_details": {"text_tokens": 30, "audio_tokens": 91},
}  # fmt: skip
ONE_SECOND_PCM = base64.b64encode(b"\x01\x00" * 24000).decode()


def realtime_turn(t: float, transcript_words: list[str], usage: dict = REALTIME_USAGE) -> list[tuple]:
    where = {"response_id": "resp_1", "item_id": "item_a", "output_index": 0, "content_index": 0}
    item = {"id": "item_a", "type": "message", "role": "assistant", "status": "in_progress", "content": []}
    text = "".join(transcript_words)
    done_item = {**item, "status": "completed", "content": [{"type": "output_audio", "transcript": text}]}
    server = [
        {"type": "response.created", "response": {"id": "resp_1", "object": "realtime.response", "status": "in_progress"}},
        {"type": "response.output_item.added", "response_id": "resp_1", "output_index": 0, "item": item},
        {"type": "conversation.item.added", "item": item},
        {"type": "response.content_part.added", **where, "part": {"type": "output_audio", "transcript": ""}},
        {"type": "response.output_audio.delta", **where, "delta": ONE_SECOND_PCM},
        *({"type": "response.output_audio_transcript.delta", **where, "delta": w} for w in transcript_words),
        {"type": "response.output_audio_transcript.done", **where, "transcript": text},
        {"type": "response.output_item.done", "response_id": "resp_1", "output_index": 0, "item": done_item},
        {"type": "response.done", "response": {"id": "resp_1", "object": "realtime.response", "status": "completed",
                                               "output": [done_item], "usage": usage}},
    ]  # fmt: skip
    return [message(t + 0.1 + i / 100, False, event) for i, event in enumerate(server)]


def test_realtime_response_has_transcript_audio_tokens_and_audio_priced_cost() -> None:
    replay = Replay(opening(*REALTIME, query="model=gpt-realtime"))
    session = {"type": "realtime", "model": "gpt-realtime", "instructions": "Answer in one sentence.",
               "audio": {"input": {"format": {"type": "audio/pcm", "rate": 24000}}}}  # fmt: skip
    user = {"id": "item_u", "type": "message", "role": "user", "content": [{"type": "input_audio", "transcript": None}]}
    client_and_server = [
        message(1.00, False, {"type": "session.created", "session": session}),
        message(1.01, True, {"type": "input_audio_buffer.append", "audio": ONE_SECOND_PCM}),
        message(1.02, True, {"type": "input_audio_buffer.commit"}),
        message(1.03, False, {"type": "conversation.item.added", "item": user}),
        message(1.04, False, {"type": "conversation.item.input_audio_transcription.completed", "item_id": "item_u",
                              "content_index": 0, "transcript": "What is the capital of France?"}),
        message(1.05, True, {"type": "response.create", "event_id": "evt_1"}),
    ]  # fmt: skip
    (row,) = replay.feed(client_and_server + realtime_turn(1.05, ["Paris", " is the capital."]))
    assert (row["operation"], row["request_model"], row["finish_reason"]) == ("realtime", "gpt-realtime", "completed")
    assert row["completion_text"] == "Paris is the capital."
    assert "What is the capital of France?" in row["prompt_text"]
    assert "system: Answer in one sentence." in row["prompt_text"]
    assert (row["input_tokens"], row["output_tokens"], row["cache_read_tokens"]) == (132, 121, 64)
    assert (row["input_audio_tokens"], row["output_audio_tokens"]) == (13, 91)
    expected = genai_prices.calc_price(
        genai_prices.Usage(input_tokens=132, cache_read_tokens=64, output_tokens=121, input_audio_tokens=13,
                           cache_audio_read_tokens=0, output_audio_tokens=91), "gpt-realtime", provider_id="openai")  # fmt: skip
    text_only = genai_prices.calc_price(
        genai_prices.Usage(input_tokens=132, cache_read_tokens=64, output_tokens=121), "gpt-realtime",
        provider_id="openai")  # fmt: skip
    assert abs(row["cost_usd"] - float(expected.total_price)) < 1e-9
    assert row["cost_usd"] > float(text_only.total_price) * 2  # audio output costs four times text here
    assert row["ttft_ms"] == 140.0  # the create at 1.05, the first audio at 1.19
    # Audio is summarised, never stored: a second of 24 kHz pcm16 each way.
    assert ONE_SECOND_PCM[:64] not in row["response_raw"] and "[48000 bytes of audio/pcm;rate=24000 not stored]" in row["response_raw"]
    assert ONE_SECOND_PCM[:64] not in row["request_body"]
    connection = replay.connection()
    assert connection["audio_ms_sent"] == 1000.0 and connection["audio_ms_received"] == 1000.0
    # No id from the client: the connection is the session.
    assert (row["session_id"], row["session_source"], row["session_turn"]) == (replay.id, "websocket", 1)
    # The trace page's chat and the export read the audio by its transcript (the Responses family's code).
    request, response = json.loads(row["request_body"]), json.loads(row["response_body"])
    said = [(m["role"], p["text"]) for m in openai_realtime.request_messages(request) for p in m["parts"]]
    assert said == [("system", "Answer in one sentence."), ("user", "What is the capital of France?")]
    (answer,) = openai_realtime.response_messages(response)
    assert [(p["kind"], p["text"]) for p in answer["parts"]] == [("text", "Paris is the capital.")]
    (exported,) = openai_realtime.genai_output(response)
    assert exported["parts"] == [{"type": "text", "content": "Paris is the capital."}]
    span = trace_span(row, content="span")  # what `r4u export --format otlp` sends for it
    assert span["attributes"]["gen_ai.operation.name"] == "chat"
    assert span["attributes"]["gen_ai.conversation.id"] == replay.id
    assert "What is the capital of France?" in span["attributes"]["gen_ai.input.messages"]
    assert json.loads(span["attributes"]["gen_ai.output.messages"]) == [exported]


def test_realtime_server_started_response_and_request_carries_the_conversation() -> None:
    """With server voice activity detection there is no response.create: the server's response.created opens it."""
    replay = Replay(opening(*REALTIME, query="model=gpt-realtime-mini"))
    said = {"id": "item_u", "type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hi!"}]}
    msgs = [message(1.0, True, {"type": "input_audio_buffer.append", "audio": ONE_SECOND_PCM}),
            message(1.1, False, {"type": "conversation.item.added", "item": said})]  # fmt: skip
    (row,) = replay.feed(msgs + realtime_turn(1.1, ["Hello."]))
    request = json.loads(row["request_body"])
    assert request["model"] == "gpt-realtime-mini" and request["input"][0]["content"][0]["text"] == "Hi!"
    assert row["ws_messages_sent"] == 1 and row["completion_text"] == "Hello."


def test_realtime_error_for_a_response_create_fails_that_response() -> None:
    replay = Replay(opening(*REALTIME, query="model=gpt-realtime"))
    error = {"type": "error", "event_id": "e9", "error": {"type": "invalid_request_error", "code": "invalid_value",
             "message": "Invalid modalities", "event_id": "evt_7"}}  # fmt: skip
    (row,) = replay.feed([message(1.0, True, {"type": "response.create", "event_id": "evt_7"}),
                          message(1.1, False, error)])  # fmt: skip
    assert row["error"] == "invalid_request_error: Invalid modalities"


# ---- Gemini Live -----------------------------------------------------------------------------------------


def live_answer(t: float, words: list[str], usage_apart: bool) -> list[tuple]:
    usage = {"promptTokenCount": 40, "responseTokenCount": 12, "totalTokenCount": 52,
             "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 15}, {"modality": "AUDIO", "tokenCount": 25}],
             "responseTokensDetails": [{"modality": "TEXT", "tokenCount": 12}]}  # fmt: skip
    msgs = [message(t + i / 100, False, {"serverContent": {"modelTurn": {"parts": [{"text": w}]}}}, BINARY_JSON)
            for i, w in enumerate(words)]  # fmt: skip
    done = {"serverContent": {"turnComplete": True}}
    if usage_apart:
        msgs += [message(t + 0.5, False, done, BINARY_JSON),
                 message(t + 0.6, False, {"usageMetadata": usage}, BINARY_JSON)]  # fmt: skip
    else:
        msgs.append(message(t + 0.5, False, {**done, "usageMetadata": usage}, BINARY_JSON))
    return msgs


def test_gemini_live_turn_is_a_generate_content_trace_with_usage_even_when_usage_comes_later() -> None:
    replay = Replay(opening(*LIVE, query="key=AIzaSyTestKey0123456789"))
    setup = {"setup": {"model": "models/gemini-live-2.5-flash-preview",
                       "systemInstruction": {"parts": [{"text": "Be brief."}]}}}  # fmt: skip
    turn = {"clientContent": {"turns": [{"role": "user", "parts": [{"text": "Hello Gemini"}]}], "turnComplete": True}}
    rows = replay.feed([message(1.0, True, setup), message(1.01, False, {"setupComplete": {}}, BINARY_JSON),
                        message(1.1, True, turn), *live_answer(1.2, ["Hi", " there"], usage_apart=True)])  # fmt: skip
    (row,) = rows
    assert (row["provider"], row["operation"], row["request_model"]) == ("gemini", "live", "models/gemini-live-2.5-flash-preview")
    assert row["completion_text"] == "Hi there" and row["finish_reason"] == "STOP"
    assert (row["input_tokens"], row["output_tokens"], row["input_audio_tokens"]) == (40, 12, 25)
    assert row["cost_usd"] > 0 and "AIzaSyTestKey0123456789" not in row["url"] + row["ws_url"]
    body = json.loads(row["response_body"])
    assert body["candidates"][0]["content"]["parts"] == [{"text": "Hi there"}]  # generateContent's shape
    assert "system: Be brief." in row["prompt_text"] and "Hello Gemini" in row["prompt_text"]
    # The next turn's request holds the first answer, as generateContent's history would.
    second = {"clientContent": {"turns": [{"role": "user", "parts": [{"text": "More?"}]}], "turnComplete": True}}
    (row2,) = replay.feed([message(2.0, True, second), *live_answer(2.1, ["No."], usage_apart=False)])
    contents = json.loads(row2["request_body"])["contents"]
    assert [c["role"] for c in contents] == ["user", "model", "user"] and contents[1]["parts"][0]["text"] == "Hi there"
    # One connection, one session; the second turn continues the first (its request starts with the first's
    # input and answer, hashed by the Gemini family's canonical messages).
    assert row["session_id"] == row2["session_id"] == replay.id and row["session_source"] == "websocket"
    assert (row2["session_turn"], row2["previous_trace_id"], row2["resent_messages"]) == (2, row["id"], 2)


def test_gemini_live_audio_answer_reads_as_its_transcript() -> None:
    replay = Replay(opening(*LIVE))
    turn = {"clientContent": {"turns": [{"role": "user", "parts": [{"text": "Say hi"}]}], "turnComplete": True}}
    pcm = base64.b64encode(b"\x00\x01" * 24000).decode()
    audio = {"inlineData": {"mimeType": "audio/pcm;rate=24000", "data": pcm}}
    server = [{"serverContent": {"modelTurn": {"parts": [audio]}}},
              {"serverContent": {"outputTranscription": {"text": "Hi"}}},
              {"serverContent": {"outputTranscription": {"text": " there"}}},
              {"serverContent": {"turnComplete": True}, "usageMetadata": {"promptTokenCount": 5, "responseTokenCount": 9}}]  # fmt: skip
    (row,) = replay.feed([message(1.0, True, {"setup": {"model": "models/gemini-live-2.5-flash-preview"}}),
                          message(1.1, True, turn),
                          *[message(1.2 + i / 10, False, m, BINARY_JSON) for i, m in enumerate(server)]])  # fmt: skip
    assert row["completion_text"] == "Hi there" and pcm[:64] not in row["response_raw"] + row["response_body"]
    body = json.loads(row["response_body"])
    assert body["outputTranscription"] == {"text": "Hi there"}
    (answer,) = gemini_live.response_messages(body)
    assert [p["text"] for p in answer["parts"]][0] == "Hi there"  # then the audio, as a placeholder
    (exported,) = gemini_live.genai_output(body)
    assert exported["parts"][0] == {"type": "text", "content": "Hi there"}


def test_gemini_live_turn_without_usage_is_written_after_a_grace_period() -> None:
    replay = Replay(opening(*LIVE))
    turn = {"clientContent": {"turns": [{"role": "user", "parts": [{"text": "Hi"}]}], "turnComplete": True}}
    msgs = [message(1.0, True, turn), message(1.1, False, {"serverContent": {"modelTurn": {"parts": [{"text": "Yo"}]}}}),
            message(1.2, False, {"serverContent": {"turnComplete": True}})]  # fmt: skip
    assert replay.feed(msgs) == []  # usage may still come
    exchanges = replay.sockets.tick(now=1.2 + 5)
    assert len(exchanges) == 1 and exchanges[0]["t_end"] == 1.2


def test_gemini_live_streamed_audio_is_summarised_in_the_request() -> None:
    replay = Replay(opening(*LIVE))
    chunk = base64.b64encode(b"\x00\x01" * 16000).decode()  # one second at 16 kHz
    audio = {"realtimeInput": {"audio": {"mimeType": "audio/pcm;rate=16000", "data": chunk}}}
    (row,) = replay.feed([message(1.0, True, {"setup": {"model": "models/gemini-live-2.5-flash-preview"}}),
                          message(1.1, True, audio), message(1.2, True, audio),
                          *live_answer(1.5, ["Heard", " you"], usage_apart=False)])  # fmt: skip
    user = json.loads(row["request_body"])["contents"][-1]
    assert user["parts"] == [{"inlineData": {"mimeType": "audio/pcm;rate=16000",
                                             "data": "[64000 bytes of audio/pcm;rate=16000 not stored]"}}]  # fmt: skip
    assert chunk[:64] not in row["request_body"] and row["ttft_ms"] == 300.0  # from the last audio in
    assert replay.connection()["audio_ms_sent"] == 2000.0


# ---- broken connections and odd messages -------------------------------------------------------------------


def started_response(replay: Replay) -> None:
    where = {"output_index": 0, "content_index": 0, "item_id": "m"}
    item = {"type": "message", "id": "m", "role": "assistant", "content": []}
    replay.feed([message(1.0, True, {"type": "response.create", "model": "gpt-5", "input": "Tell me a story"}),
                 message(1.1, False, {"type": "response.created", "response": {"id": "r", "model": "gpt-5"}}),
                 message(1.1, False, {"type": "response.output_item.added", "output_index": 0, "item": item}),
                 message(1.2, False, {"type": "response.output_text.delta", "delta": "Once", **where})])  # fmt: skip


def test_server_closing_mid_response_leaves_the_partial_response_with_the_close_in_its_error() -> None:
    replay = Replay(opening(*RESPONSES))
    started_response(replay)
    (row,) = replay.close(1.5, code=1011, by_client=False, reason="internal error")
    assert row["error"] == "server closed the WebSocket mid-response (1011 internal error)"
    assert row["completion_text"] == "Once" and row["latency_ms"] == 500.0
    assert "rebuilt from events" in row["parse_note"]
    assert replay.connection()["closed_by"] == "server"


def test_client_closing_or_the_connection_dropping_mid_response() -> None:
    replay = Replay(opening(*RESPONSES))
    started_response(replay)
    (row,) = replay.close(1.3, code=1001, by_client=True)
    assert row["error"] == "client closed the WebSocket mid-response (1001)"
    dropped = Replay(opening(*RESPONSES))
    started_response(dropped)
    (row,) = dropped.close(1.3, code=1006, by_client=False)
    assert row["error"] == "WebSocket connection dropped mid-response (1006: no close frame)"


def test_connection_refused_after_the_upgrade_is_an_error_row_clean_idle_close_is_not() -> None:
    refused = Replay(opening(*LIVE))
    setup = {"setup": {"model": "models/no-such-model"}}
    refused.feed([message(1.0, True, setup)])
    (row,) = refused.close(1.1, code=1008, by_client=False, reason="models/no-such-model is not found")
    assert row["error"] == "server closed the WebSocket before any response (1008 models/no-such-model is not found)"
    assert json.loads(row["request_body"]) == setup
    idle = Replay(opening(*RESPONSES))
    assert idle.close(5.0, code=1000) == [] and idle.connection()["close_code"] == 1000


def test_malformed_messages_are_noted_and_do_not_cost_the_response() -> None:
    replay = Replay(opening(*RESPONSES))
    started_response(replay)
    final = {"id": "r", "object": "response", "model": "gpt-5", "status": "completed", "usage": {"input_tokens": 3, "output_tokens": 1},
             "output": [{"type": "message", "content": [{"type": "output_text", "text": "Once"}]}]}  # fmt: skip
    (row,) = replay.feed([message(1.3, False, b'{"type": "response.output_text.delta", "delta": "cut'),
                          message(1.4, False, {"type": "response.completed", "response": final})])  # fmt: skip
    assert row["completion_text"] == "Once" and row["error"] is None
    assert "1 stream event(s) were not JSON" in row["parse_note"]
    assert replay.connection()["malformed_messages"] == 1


def test_an_error_answering_no_response_is_an_error_row_with_the_message_that_caused_it() -> None:
    replay = Replay(opening(*RESPONSES))
    bad = {"type": "response.cancel"}
    error = {"type": "error", "status": 400, "error": {"type": "invalid_request_error", "message": "unsupported event"}}
    (row,) = replay.feed([message(1.0, True, bad), message(1.1, False, error)])
    assert json.loads(row["request_body"]) == bad and row["status_code"] == 400
    assert row["error"] == "invalid_request_error: unsupported event"


def test_binary_frames_are_counted_never_parsed_or_stored() -> None:
    replay = Replay(opening(*REALTIME, query="model=gpt-realtime"))
    replay.feed([message(1.0, True, b"RIFF\x00\x00\x00\x00WAVEfmt " + b"\x00" * 100_000, BINARY)])
    connection = replay.connection()
    assert (connection["binary_messages_sent"], connection["bytes_sent"]) == (1, 100_016)


def test_messages_the_writer_never_got_are_noted_on_the_response() -> None:
    replay = Replay(opening(*RESPONSES))
    started_response(replay)
    final = {"id": "r", "object": "response", "status": "completed", "output": []}
    (row,) = replay.feed([message(2.0, False, {"type": "response.completed", "response": final})], lost=7)
    assert "7 WebSocket messages were not recorded" in row["parse_note"]
    assert replay.connection()["lost_messages"] == 7


def test_thousands_of_deltas_make_one_response() -> None:
    replay = Replay(opening(*RESPONSES))
    where = {"output_index": 0, "content_index": 0, "item_id": "m"}
    msgs = [message(1.0, True, {"type": "response.create", "model": "gpt-5"})]
    msgs += [message(1.0 + i / 10000, False, {"type": "response.output_text.delta", "delta": "x", **where})
             for i in range(1, 5001)]  # fmt: skip
    msgs.append(message(2.0, False, {"type": "response.completed", "response": {"status": "completed"}}))
    (row,) = replay.feed(msgs)
    assert row["chunk_count"] == 5001 and row["ws_messages_received"] == 5001


def test_realtime_key_in_a_subprotocol_never_reaches_disk() -> None:
    headers = redact_headers([("Sec-WebSocket-Protocol", "realtime, openai-insecure-api-key.sk-proj-0123456789abcdefWXYZ")])
    assert "0123456789abcdef" not in headers["sec-websocket-protocol"]
    assert headers["sec-websocket-protocol"].startswith("realtime, openai-insecure-api-key.sk-proj-…WXYZ #")


def test_stopping_the_proxy_ends_open_responses_and_leaves_idle_connections_alone() -> None:
    busy, idle = Replay(opening(*RESPONSES)), Replay(opening(*RESPONSES, t=2000.0))
    started_response(busy)
    idle.sockets = busy.sockets  # one writer, two connections
    idle.feed([])
    (exchange,) = busy.sockets.stop()
    assert exchange["error"] == "proxy stopped before the response ended" and busy.sockets.open == {}


def test_a_response_past_the_capture_cap_keeps_its_timing_and_says_so() -> None:
    replay = Replay({**opening(*RESPONSES), "capture_cap": 2000})
    where = {"output_index": 0, "content_index": 0, "item_id": "m"}
    msgs = [message(1.0, True, {"type": "response.create", "model": "gpt-5"})]
    msgs += [message(1.0 + i / 100, False, {"type": "response.output_text.delta", "delta": "x" * 90, **where})
             for i in range(1, 101)]  # fmt: skip
    msgs.append(message(3.0, False, {"type": "response.completed", "response": {"status": "completed"}}))
    (row,) = replay.feed(msgs)
    assert row["body_truncated"] == 1 and row["chunk_count"] == 101 and row["latency_ms"] == 2000.0
    assert row["response_bytes"] > 10_000 and len(row["response_raw"]) < 2200
    assert "capture cap reached" in row["parse_note"]
