"""Where one model response begins and ends on a WebSocket, per protocol: the `Turn`s of a connection.

A tracker is fed the connection's messages in order, already parsed (`client(...)`, `server(...)`), and
returns the turns each message finished. It builds each turn's request in the shape the HTTP equivalent
would have sent, and collects the server messages that make its response; r4u_proxy/ingest/websocket.py
turns a finished turn into an exchange for the ordinary row builder.

- Responses API (`response.create` → `response.completed` / `.failed` / `.incomplete` / `error`): FIFO per
  lane (`stream_id`; no lane is one lane), as the API processes them.
- Realtime API (`response.create`, or the server's own voice-activity turn → `response.done`): matched by
  response id; the request is the session settings plus the conversation items so far.
- Gemini Live (`clientContent` with `turnComplete`, a `toolResponse`, or streamed input the server answers →
  `turnComplete` / `interrupted` / `toolCall`): one turn at a time; usage may come a message later.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass, field
from typing import Any

from r4u_proxy.providers.common import media_placeholder, placeholder_size
from r4u_proxy.providers.gemini_live import pick

USAGE_GRACE_S = 2.0  # how long a Live turn waits for a usage message after it completed


@dataclass
class Turn:
    """One model response in progress: its request, and the server messages that answer it."""

    t_start: float
    request: Any = None
    events: list[tuple[float, bytes]] = field(default_factory=list)
    sent: int = 0  # client messages that led to this response
    t_end: float | None = None
    error: str | None = None
    status: int | None = None  # an HTTP status the provider's error event carried
    notes: list[str] = field(default_factory=list)
    ending_since: float | None = None  # done, but a usage message may still follow (Gemini Live)
    answer: str = ""  # the model's text so far (Gemini Live: the next turn's history holds it)
    request_bytes: int | None = None  # size of the client message that asked for it, as sent
    cap: int = 10 * 1024 * 1024  # bytes of messages kept (the connection sets its capture cap)
    stored: int = 0
    received: int = 0  # bytes of answering messages, kept or not
    truncated: bool = False

    def add(self, t: float, data: bytes) -> None:
        """One answering message; past the cap only its arrival time is kept, as for HTTP bodies."""
        self.received += len(data)
        if self.stored + len(data) > self.cap:
            data, self.truncated = b"", True
        self.stored += len(data)
        self.events.append((t, data))


class Tracker:
    """Base: no turns (an LLM route whose WebSocket protocol r4u does not know)."""

    def client(self, t: float, message: Any) -> list[Turn]:
        return []

    def server(self, t: float, message: Any, raw: bytes) -> list[Turn]:
        return []

    def open_turns(self) -> list[Turn]:
        return []

    def tick(self, now: float) -> list[Turn]:
        return []


def _finish(turn: Turn, t: float) -> list[Turn]:
    turn.t_end = t
    return [turn]


class ResponsesTurns(Tracker):
    TERMINAL = frozenset({"response.completed", "response.failed", "response.incomplete", "response.done"})

    def __init__(self) -> None:
        self.lanes: dict[Any, collections.deque[Turn]] = {}

    def client(self, t: float, message: Any) -> list[Turn]:
        if isinstance(message, dict) and message.get("type") == "response.create":
            request = {k: v for k, v in message.items() if k != "type"}
            self.lanes.setdefault(message.get("stream_id"), collections.deque()).append(Turn(t, request))
        return []

    def server(self, t: float, message: Any, raw: bytes) -> list[Turn]:
        if isinstance(message, dict):
            lane = self.lanes.get(message.get("stream_id"))
        else:  # not JSON: it belongs to whatever is being answered
            lane = next((lane for lane in self.lanes.values() if lane), None)
        if not lane:
            return []
        turn = lane[0]
        turn.add(t, raw)
        kind = message.get("type") if isinstance(message, dict) else None
        if kind in self.TERMINAL or kind == "error":
            if kind == "error" and isinstance(message.get("status"), int):
                turn.status = message["status"]
            lane.popleft()
            return _finish(turn, t)
        return []

    def open_turns(self) -> list[Turn]:
        return [turn for lane in self.lanes.values() for turn in lane]


# Session fields that describe the connection, not what the model is asked.
_SESSION_NOISE = frozenset({"id", "object", "expires_at", "client_secret", "type"})


class RealtimeTurns(Tracker):
    def __init__(self, model: str | None) -> None:
        self.model = model
        self.session: dict[str, Any] = {}
        self.items: dict[str, dict] = {}  # the conversation, in the order items arrived
        self.requested: collections.deque[Turn] = collections.deque()  # response.create not yet created
        self.by_response: dict[str, Turn] = {}
        self.last_client_t: float | None = None

    def client(self, t: float, message: Any) -> list[Turn]:
        self.last_client_t = t
        if not isinstance(message, dict):
            return []
        kind = message.get("type")
        if kind == "session.update" and isinstance(message.get("session"), dict) and not self.session:
            self.session = dict(message["session"])  # until the server says what it applied
        elif kind == "response.create":
            turn = Turn(t, {"response": message.get("response") or {}, "event_id": message.get("event_id")})
            self.requested.append(turn)
        return []

    def server(self, t: float, message: Any, raw: bytes) -> list[Turn]:
        if not isinstance(message, dict):
            turn = next(iter(self.by_response.values()), None)
            if turn is not None:
                turn.add(t, raw)
            return []
        kind = str(message.get("type") or "")
        if kind in ("session.created", "session.updated") and isinstance(message.get("session"), dict):
            self.session = dict(message["session"])
        elif kind.startswith("conversation.item."):
            self._conversation(kind, message)
        elif kind == "response.created":
            return self._created(t, message, raw)
        elif kind == "error":
            return self._error(t, message, raw)
        response_id = message.get("response_id") or (message.get("response") or {}).get("id")
        turn = self.by_response.get(response_id) if response_id else None
        if turn is None:
            return []
        turn.add(t, raw)
        if kind == "response.done":
            del self.by_response[response_id]
            return _finish(turn, t)
        return []

    def _conversation(self, kind: str, message: dict) -> None:
        item = message.get("item")
        if isinstance(item, dict) and item.get("id"):
            self.items[item["id"]] = {**self.items.get(item["id"], {}), **item}
        elif kind == "conversation.item.deleted":
            self.items.pop(message.get("item_id"), None)
        elif kind == "conversation.item.input_audio_transcription.completed":
            found = self.items.get(message.get("item_id"))
            index = message.get("content_index") or 0
            content = found.get("content") if found else None
            if isinstance(content, list) and index < len(content) and isinstance(content[index], dict):
                content[index] = {**content[index], "transcript": message.get("transcript")}

    def _created(self, t: float, message: dict, raw: bytes) -> list[Turn]:
        response = message.get("response") or {}
        # A response the client asked for, or one the server started itself when it heard the user stop.
        turn = self.requested.popleft() if self.requested else Turn(self.last_client_t or t, {"response": {}})
        params = turn.request.get("response") or {}
        settings = {k: v for k, v in self.session.items() if k not in _SESSION_NOISE and v is not None}
        items = params.get("input") if "input" in params else list(self.items.values())
        turn.request = {"model": settings.pop("model", None) or self.model, **settings, "input": items,
                        "response": params}  # fmt: skip
        turn.add(t, raw)
        if response.get("id"):
            self.by_response[response["id"]] = turn
        return []

    def _error(self, t: float, message: dict, raw: bytes) -> list[Turn]:
        """An error answering a response.create fails that response; other errors are the connection's."""
        cause = (message.get("error") or {}).get("event_id")
        for turn in self.requested:
            if cause and turn.request.get("event_id") == cause:
                self.requested.remove(turn)
                turn.add(t, raw)
                turn.request = {"model": self.model, "response": turn.request.get("response")}
                return _finish(turn, t)
        return []

    def open_turns(self) -> list[Turn]:
        return [*self.requested, *self.by_response.values()]


class LiveTurns(Tracker):
    def __init__(self) -> None:
        self.setup: dict[str, Any] = {}
        self.history: list[dict] = []  # contents so far, user and model
        self.turn: Turn | None = None
        self.streamed: dict[str, int] = {}  # mime type -> bytes of realtime input since the last turn
        self.input_at: float | None = None  # when the streamed input last arrived

    def client(self, t: float, message: Any) -> list[Turn]:
        if not isinstance(message, dict):
            return []
        if isinstance(setup := pick(message, "setup"), dict):
            self.setup = setup
        elif isinstance(content := pick(message, "clientContent"), dict):
            self.history += [c for c in pick(content, "turns") or [] if isinstance(c, dict)]
            if pick(content, "turnComplete"):
                return self._start(t)
        elif isinstance(realtime := pick(message, "realtimeInput"), dict):
            if isinstance(text := pick(realtime, "text"), str):
                self.history.append({"role": "user", "parts": [{"text": text}]})
                return self._start(t)
            for blob in [pick(realtime, "audio"), pick(realtime, "video"), *(pick(realtime, "mediaChunks") or [])]:
                stored = placeholder_size(pick(blob, "data"))
                if stored is not None:
                    self.streamed[stored[1]] = self.streamed.get(stored[1], 0) + stored[0]
            self.input_at = t
        elif isinstance(response := pick(message, "toolResponse"), dict):
            replies = [{"functionResponse": r} for r in pick(response, "functionResponses") or []]
            self.history.append({"role": "user", "parts": replies})
            return self._start(t)
        return []

    def _request(self) -> dict[str, Any]:
        request: dict[str, Any] = {"model": pick(self.setup, "model"), "contents": list(self.history)}
        for key in ("systemInstruction", "tools", "generationConfig"):
            if pick(self.setup, key) is not None:
                request[key] = pick(self.setup, key)
        return request

    def _start(self, t: float) -> list[Turn]:
        finished = self._close_ending(t)
        self.turn = Turn(t, self._request())
        self.streamed = {}
        return finished

    def _close_ending(self, t: float) -> list[Turn]:
        turn = self.turn
        if turn is None or turn.ending_since is None:
            return []
        self.turn = None
        self._remember_answer(turn)
        return [turn]

    def server(self, t: float, message: Any, raw: bytes) -> list[Turn]:
        usage_only = isinstance(message, dict) and set(message) == {"usageMetadata"}
        finished = [] if usage_only else self._close_ending(t)
        if not isinstance(message, dict) or not (
            pick(message, "serverContent") or pick(message, "toolCall") or pick(message, "usageMetadata")
        ):
            if self.turn is not None:
                self.turn.add(t, raw)
            return finished
        if self.turn is None:  # the server answers streamed input on its own (voice activity detection)
            if usage_only:
                return finished
            # The streamed input as the HTTP API would have taken it: inline data (its bytes not stored).
            parts = [{"inlineData": {"mimeType": mime, "data": media_placeholder(size, mime)}}
                     for mime, size in self.streamed.items()]  # fmt: skip
            self.history.append({"role": "user", "parts": parts})
            self.turn = Turn(self.input_at or t, self._request())
            self.streamed = {}
        turn = self.turn
        turn.add(t, raw)
        content = pick(message, "serverContent") or {}
        for part in pick(pick(content, "modelTurn"), "parts") or []:
            if isinstance(pick(part, "text"), str) and not pick(part, "thought"):
                turn.answer += part["text"]
        if isinstance(text := pick(pick(content, "outputTranscription"), "text"), str):
            turn.answer += text
        if turn.ending_since is None and (
            pick(content, "turnComplete") or pick(content, "interrupted") or pick(message, "toolCall")
        ):
            turn.ending_since, turn.t_end = t, t
        if turn.ending_since is not None and pick(message, "usageMetadata"):
            self.turn = None
            self._remember_answer(turn)
            finished.append(turn)
        return finished

    def _remember_answer(self, turn: Turn) -> None:
        """The next turn's request carries this answer, as generateContent's history would."""
        self.history.append({"role": "model", "parts": [{"text": turn.answer}]})
        turn.t_end = turn.t_end or (turn.events[-1][0] if turn.events else turn.t_start)

    def tick(self, now: float) -> list[Turn]:
        turn = self.turn
        if turn is not None and turn.ending_since is not None and now - turn.ending_since > USAGE_GRACE_S:
            return self._close_ending(now)
        return []

    def open_turns(self) -> list[Turn]:
        return [self.turn] if self.turn is not None else []
