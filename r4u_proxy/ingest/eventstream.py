"""AWS event-stream framing (Bedrock's ConverseStream and InvokeModelWithResponseStream) into the same
`Event`s the SSE decoder yields, so a family parses either.

The binary framing (length prelude, typed headers, CRC32 of prelude and message) is decoded by botocore's
incremental `EventStreamBuffer`, fed chunk by chunk: a message split across chunks completes when its last
byte arrives. A CRC or framing error stops the decoding with a note (what follows cannot be trusted to be
framed right); the bytes still reach the app untouched. Bedrock's InvokeModel stream wraps each vendor
chunk as `{"bytes": base64(json)}`: the event's data is that inner JSON. Exception messages become error
events in the `{"error": {...}}` shape every family's error reader knows.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import TYPE_CHECKING

from r4u_proxy.ingest.sse import Event

if TYPE_CHECKING:
    from botocore.eventstream import EventStreamMessage


class EventStreamDecoder:
    """Feed bytes with their arrival time; get back the events each feed completed."""

    def __init__(self) -> None:
        self._received = 0
        self._consumed = 0
        self._rendered: list[str] = []
        self.notes: list[str] = []
        self._stopped = False
        # Imported here, not at the top: without botocore (it comes with the proxy extra) only Bedrock
        # streams go undecoded; every other call is still parsed and recorded.
        try:
            from botocore.eventstream import EventStreamBuffer, ParserError
        except ImportError:
            self.notes.append("AWS event stream: botocore is not installed; the stream was not decoded")
            self._stopped = True
            return
        self._buffer = EventStreamBuffer()
        self._parser_error = ParserError

    def feed(self, data: bytes, t: float) -> list[Event]:
        if self._stopped or not data:
            return []
        self._received += len(data)
        self._buffer.add_data(data)
        events: list[Event] = []
        while True:
            try:
                message = next(self._buffer)
            except StopIteration:
                break
            except self._parser_error as exc:
                self.notes.append(
                    f"AWS event stream: {type(exc).__name__} in message {len(self._rendered) + 1} ({exc}); "
                    "the rest of the stream was not decoded"
                )
                self._stopped = True
                break
            self._consumed += message.prelude.total_length
            events.append(self._event(message, t))
        return events

    def close(self, t: float) -> list[Event]:
        left = self._received - self._consumed
        if left and not self._stopped:
            self.notes.append(f"AWS event stream ended {left} bytes into a message")
        return []

    def rendered(self) -> str:
        """The decoded stream as text, one `event:`/`data:` block per message (stored as response_raw)."""
        return "".join(self._rendered)

    def _event(self, message: EventStreamMessage, t: float) -> Event:
        headers = message.headers
        kind = headers.get(":message-type", "event")
        payload = message.payload.decode("utf-8", errors="replace")
        if kind == "event":
            name = str(headers.get(":event-type") or "")
            payload = _unwrap_chunk(payload) if name == "chunk" else payload
            self._rendered.append(f"event: {name}\ndata: {payload}\n\n")
            return Event(name, payload, None, t)
        # "exception" (:exception-type + a JSON message) or "error" (:error-code, :error-message headers)
        error_type = headers.get(":exception-type") or headers.get(":error-code") or kind
        try:
            detail = json.loads(payload) if payload else {}
        except ValueError:
            detail = {"message": payload}
        message_text = headers.get(":error-message") or (
            detail.get("message") if isinstance(detail, dict) else None
        )
        data = json.dumps(
            {"error": {"type": error_type, "message": message_text or payload}}, ensure_ascii=False
        )
        self._rendered.append(f"event: {kind}\ndata: {data}\n\n")
        return Event("error", data, None, t, raw=True)


def _unwrap_chunk(payload: str) -> str:
    try:
        wrapper = json.loads(payload)
        return base64.b64decode(wrapper["bytes"], validate=True).decode("utf-8", errors="replace")
    except (ValueError, KeyError, TypeError, binascii.Error):
        return payload
