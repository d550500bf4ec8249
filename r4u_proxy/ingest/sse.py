"""Incremental decoders for streamed LLM responses.

`SSEDecoder` turns server-sent-event bytes into events as chunks arrive, and `JSONArraySplitter` does the
same for Gemini's default streamed JSON array (`[{...},\\n{...}]`). Both are byte-boundary safe: a chunk may
end anywhere (mid-line, mid-UTF-8 character, between `\\r` and `\\n`) and the result is the same as if the
whole body had arrived at once. Each event carries the arrival time of the chunk that *completed* it, which
is what time-to-first-token needs. `WholeMessages` takes WebSocket messages, which arrive whole: one event each.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_END_OF_LINE = re.compile(rb"\r\n|\r|\n")
_KNOWN_FIELDS = ("data", "event", "id", "retry")


@dataclass(frozen=True, slots=True)
class Event:
    """One dispatched event.

    `raw` marks text that was not SSE at all (a bare JSON error object some servers write into the stream);
    its `data` is the text as received so the caller can still try to parse and record it.
    """

    event: str | None
    data: str
    id: str | None
    t: float
    raw: bool = False


class SSEDecoder:
    """Feed bytes with their arrival time; get back the events each feed completed."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._scan_from = 0
        # A chunk ending in "\r" may be the first half of "\r\n": drop a "\n" that starts the next chunk.
        self._skip_leading_lf = False
        self._event_name: str | None = None
        self._data_lines: list[str] = []
        self._last_id: str | None = None
        self._stray_lines: list[str] = []

    def feed(self, data: bytes, t: float) -> list[Event]:
        if self._skip_leading_lf and data[:1] == b"\n":
            data = data[1:]
        self._skip_leading_lf = False
        if not data:
            return []
        self._buffer += data
        events: list[Event] = []
        line_start = 0
        buffer = self._buffer
        while True:
            match = _END_OF_LINE.search(buffer, max(line_start, self._scan_from))
            if match is None:
                break
            if match.group() == b"\r" and match.end() == len(buffer):
                self._skip_leading_lf = True
            line = bytes(buffer[line_start : match.start()]).decode("utf-8", errors="replace")
            line_start = match.end()
            self._take_line(line, t, events)
        if line_start:
            del buffer[:line_start]
        self._scan_from = len(buffer)
        return events

    def close(self, t: float) -> list[Event]:
        """End of body: a last line without a newline and an event without a blank line still count."""
        events: list[Event] = []
        if self._buffer:
            line = bytes(self._buffer).decode("utf-8", errors="replace")
            self._buffer.clear()
            self._scan_from = 0
            self._take_line(line, t, events)
        self._dispatch(t, events)
        return events

    def _take_line(self, line: str, t: float, events: list[Event]) -> None:
        if line == "":
            self._dispatch(t, events)
            return
        if line.startswith(":"):
            return  # a comment, e.g. OpenRouter's ": OPENROUTER PROCESSING" keep-alive
        field, colon, value = line.partition(":")
        if not colon or field not in _KNOWN_FIELDS:
            self._stray_lines.append(line)
            return
        if value.startswith(" "):
            value = value[1:]
        if field == "data":
            self._data_lines.append(value)
        elif field == "event":
            self._event_name = value
        elif field == "id" and "\0" not in value:
            self._last_id = value
        # "retry" only matters to a reconnecting client.

    def _dispatch(self, t: float, events: list[Event]) -> None:
        if self._stray_lines:
            events.append(Event(None, "\n".join(self._stray_lines), self._last_id, t, raw=True))
            self._stray_lines = []
        if self._data_lines:
            events.append(Event(self._event_name, "\n".join(self._data_lines), self._last_id, t))
        self._data_lines = []
        self._event_name = None


_INTERESTING_OUTSIDE_STRING = re.compile(rb'[{}"]')
_INTERESTING_INSIDE_STRING = re.compile(rb'["\\]')


class JSONArraySplitter:
    """Split a streamed JSON array of objects into the text of each top-level object as it completes.

    Only braces and quotes matter, and they are ASCII, so scanning bytes is safe for UTF-8 text. A top-level
    object outside any array (an error body) is emitted the same way.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._pos = 0
        self._depth = 0
        self._in_string = False
        self._escaped = False
        self._object_start = -1

    def feed(self, data: bytes, t: float) -> list[Event]:
        self._buffer += data
        events: list[Event] = []
        buffer = self._buffer
        pos = self._pos
        while pos < len(buffer):
            if self._escaped:
                self._escaped = False
                pos += 1
                continue
            if self._in_string:
                match = _INTERESTING_INSIDE_STRING.search(buffer, pos)
                if match is None:
                    pos = len(buffer)
                    break
                pos = match.start()
                if buffer[pos] == 0x5C:  # backslash: the next byte is escaped, whatever it is
                    self._escaped = True
                else:
                    self._in_string = False
                pos += 1
                continue
            match = _INTERESTING_OUTSIDE_STRING.search(buffer, pos)
            if match is None:
                pos = len(buffer)
                break
            pos = match.start()
            char = buffer[pos]
            if char == 0x22:  # quote
                self._in_string = True
            elif char == 0x7B:  # {
                if self._depth == 0:
                    self._object_start = pos
                self._depth += 1
            else:  # }
                self._depth = max(0, self._depth - 1)
                if self._depth == 0 and self._object_start >= 0:
                    text = bytes(buffer[self._object_start : pos + 1]).decode("utf-8", errors="replace")
                    events.append(Event(None, text, None, t))
                    self._object_start = -1
            pos += 1
        # Drop what no pending object needs, so the buffer stays small.
        keep_from = self._object_start if self._object_start >= 0 else pos
        if keep_from:
            del buffer[:keep_from]
            pos -= keep_from
            if self._object_start >= 0:
                self._object_start = 0
        self._pos = pos
        return events

    def close(self, t: float) -> list[Event]:
        """An object still open at the end was cut off; hand back its text so the caller can note it."""
        if self._object_start >= 0:
            text = bytes(self._buffer[self._object_start :]).decode("utf-8", errors="replace")
            self._buffer.clear()
            self._object_start = -1
            return [Event(None, text, None, t, raw=True)]
        return []


class WholeMessages:
    """Each chunk is one whole message already (a WebSocket message): one event per feed, no framing."""

    def feed(self, data: bytes, t: float) -> list[Event]:
        text = data.decode("utf-8", errors="replace").rstrip("\n")
        return [Event(None, text, None, t)] if text.strip() else []

    def close(self, t: float) -> list[Event]:
        return []
