"""SSE decoder and JSON-array splitter edge cases, each fed whole, byte by byte, and at every split point."""

from __future__ import annotations

import json

from r4u_proxy.ingest.sse import Event, JSONArraySplitter, SSEDecoder


def decode(data: bytes, chunk_size: int | None = None) -> list[Event]:
    decoder = SSEDecoder()
    size = chunk_size or len(data) or 1
    events: list[Event] = []
    for start in range(0, len(data), size):
        events += decoder.feed(data[start : start + size], float(start + size))
    return events + decoder.close(999.0)


def shape(events: list[Event]) -> list[tuple]:
    return [(e.event, e.data, e.id, e.raw) for e in events]


def same_at_every_split(data: bytes) -> list[tuple]:
    whole = shape(decode(data))
    assert shape(decode(data, 1)) == whole
    for cut in range(1, len(data)):
        decoder = SSEDecoder()
        events = decoder.feed(data[:cut], 1.0) + decoder.feed(data[cut:], 2.0) + decoder.close(3.0)
        assert shape(events) == whole, f"split at {cut}"
    return whole


def test_lf_crlf_and_cr_framing_give_the_same_events():
    lf = b"event: a\ndata: 1\n\ndata: 2\n\n"
    assert same_at_every_split(lf) == [("a", "1", None, False), (None, "2", None, False)]
    assert same_at_every_split(lf.replace(b"\n", b"\r\n")) == same_at_every_split(lf)
    assert same_at_every_split(lf.replace(b"\n", b"\r")) == same_at_every_split(lf)


def test_crlf_split_between_cr_and_lf_is_one_line_end():
    decoder = SSEDecoder()
    assert decoder.feed(b"data: x\r", 1.0) == []
    assert decoder.feed(b"\n", 2.0) == []  # completes the line, not a blank line
    [event] = decoder.feed(b"\r\n", 3.0)
    assert (event.data, event.t) == ("x", 3.0)


def test_multibyte_utf8_split_anywhere():
    data = 'data: {"t": "°C 秋风 👋"}\n\n'.encode()
    [(_, text, _, _)] = same_at_every_split(data)
    assert json.loads(text) == {"t": "°C 秋风 👋"}


def test_multiline_data_comments_ids_and_unknown_fields():
    data = b": keep-alive\nid: 7\nretry: 100\ndata: line one\ndata:line two\n\n: OPENROUTER PROCESSING\n\n"
    assert same_at_every_split(data) == [(None, "line one\nline two", "7", False)]


def test_event_line_after_data_line_still_names_the_event():
    data = b'data: {"type":"response.created"}\nevent: response.created\n\n'
    assert same_at_every_split(data) == [("response.created", '{"type":"response.created"}', None, False)]


def test_missing_final_newline_is_flushed_on_close():
    decoder = SSEDecoder()
    assert decoder.feed(b'event: message_stop\ndata: {"type":"message_stop"}', 1.0) == []
    [event] = decoder.close(5.0)
    assert (event.event, event.data, event.t) == ("message_stop", '{"type":"message_stop"}', 5.0)


def test_event_time_is_the_chunk_that_completed_it():
    decoder = SSEDecoder()
    assert decoder.feed(b"data: hel", 1.0) == []
    assert decoder.feed(b"lo\n", 2.0) == []
    [event] = decoder.feed(b"\ndata: next", 3.0)
    assert (event.data, event.t) == ("hello", 3.0)


def test_bare_json_error_object_in_the_stream_is_surfaced():
    data = b'data: {"a": 1}\n\n{\n  "error": {\n    "code": 499,\n    "message": "cancelled"\n  }\n}\n'
    events = same_at_every_split(data)
    assert events[0] == (None, '{"a": 1}', None, False)
    raw = events[1]
    assert raw[3] is True and json.loads(raw[1]) == {"error": {"code": 499, "message": "cancelled"}}


def test_empty_and_event_only_blocks_dispatch_nothing():
    assert decode(b"\n\n\nevent: ping\n\n") == []


def test_json_array_splitter_at_every_split():
    text = '[{"a": "x}{\\"y"},\r\n{"b": [1, {"c": "秋"}]}\n,{"error": {"code": 429}}]'
    data = text.encode()
    expected = ['{"a": "x}{\\"y"}', '{"b": [1, {"c": "秋"}]}', '{"error": {"code": 429}}']
    for cut in range(len(data) + 1):
        splitter = JSONArraySplitter()
        events = splitter.feed(data[:cut], 1.0) + splitter.feed(data[cut:], 2.0) + splitter.close(3.0)
        assert [e.data for e in events] == expected, f"split at {cut}"
    splitter = JSONArraySplitter()
    one_by_one = [e for i in range(len(data)) for e in splitter.feed(data[i : i + 1], float(i))]
    assert [e.data for e in one_by_one] == expected
    # Each object is timed by the byte that closed it.
    assert one_by_one[0].t == float(data.index(b"},"))


def test_json_array_splitter_hands_back_a_cut_off_object():
    splitter = JSONArraySplitter()
    assert [e.data for e in splitter.feed(b'[{"a": 1}, {"b": "unfini', 1.0)] == ['{"a": 1}']
    [tail] = splitter.close(2.0)
    assert tail.raw and tail.data == '{"b": "unfini'
