"""WebSocket messages → one exchange per model response, plus one `websocket_connections` row per connection.

Runs in the writer process. addons/websocket.py hands over each LLM WebSocket's messages in batches
(`(SOCKET, id, opening, messages, lost, ending)`, see store/writer.py); `Sockets.take()` parses them, takes
inline audio out (its size and duration are kept, its bytes are not stored), lets the protocol's tracker
(ws_turns.py) find where each model response starts and ends, and turns every finished response into an
exchange shaped like a streamed HTTP call: the request the HTTP API would have been sent, and the server
messages as the response's chunks (`framing: "messages"`), so the ordinary analysis and row builder give it
the same columns, reassembled body, timing and cost as the HTTP equivalent. `websocket_columns()` adds what
only a WebSocket has: the connection, its upgrade URL, the message counts. The writer's SessionTracker then
makes the connection the trace's session unless the client named one (sessions/explicit.py).
"""

from __future__ import annotations

import json
import time
from typing import Any

from r4u_proxy.addons.recorder import PROXY_STOPPED
from r4u_proxy.guard import log
from r4u_proxy.ids import iso_utc, ulid
from r4u_proxy.ingest.exchange import Exchange
from r4u_proxy.ingest.redact import redact_headers, redact_query
from r4u_proxy.ingest.ws_media import MediaStripper
from r4u_proxy.ingest.ws_turns import LiveTurns, RealtimeTurns, ResponsesTurns, Tracker, Turn

TEXT, BINARY_JSON, BINARY = 0, 1, 2  # as addons/websocket.py marks each message
CLEAN_CLOSE = frozenset({1000, 1001, 1005})  # normal, going away, no code given


def _query_value(query: str, name: str) -> str | None:
    from urllib.parse import parse_qs

    values = parse_qs(query or "").get(name)
    return values[0] if values else None


def tracker_for(family: str, query: str) -> Tracker:
    if family == "openai_responses":
        return ResponsesTurns()
    if family == "openai_realtime":
        return RealtimeTurns(_query_value(query, "model") or _query_value(query, "deployment"))
    if family == "gemini_live":
        return LiveTurns()
    return Tracker()


def _compact(message: Any) -> bytes:
    return json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode()


def describe_end(ending: dict[str, Any], mid_response: bool, answered: bool) -> str | None:
    """Why a connection ended, when that cut something short: a response in progress, or the connection
    itself before it answered anything. None for a close between responses (Codex drops the TCP connection
    when it is done: close code 1006, nothing lost)."""
    if ending.get("error"):  # the proxy stopped: that cuts short only a response in progress
        return ending["error"] if mid_response else None
    code, reason = ending.get("close_code"), ending.get("close_reason") or ""
    if not mid_response and (answered or code in CLEAN_CLOSE):
        return None
    where = "mid-response" if mid_response else "before any response"
    if code == 1006 or code is None:
        return f"WebSocket connection dropped {where} (1006: no close frame)"
    who = "client" if ending.get("closed_by_client") else "server"
    return f"{who} closed the WebSocket {where} ({code}{' ' + reason if reason else ''})"


class Connection:
    """One LLM WebSocket as the writer knows it."""

    def __init__(self, socket_id: str, opening: dict[str, Any]) -> None:
        self.id = socket_id
        self.opening = opening
        route = opening["route"]
        self.tracker = tracker_for(route.family, opening.get("query") or "")
        self.cap = int(opening.get("capture_cap") or 10 * 1024 * 1024)
        self.sent = self.received = self.bytes_sent = self.bytes_received = 0
        self.binary_sent = self.binary_received = self.malformed = self.lost = self.turns = self.answered = 0
        self.audio = {True: MediaStripper(), False: MediaStripper()}  # by from_client
        self.client_since_turn = 0  # client messages since the last response began: they led to the next one
        self.counted: set[int] = set()  # turns that have their share of client messages
        self.last_client_message: bytes | None = None
        self.ending: dict[str, Any] | None = None
        self.errors: list[str] = []
        self.changed = True

    # --- messages in ---------------------------------------------------------------------------------------

    def feed(self, messages: list[tuple[float, bool, int, bytes, int]], lost: int) -> list[Turn]:
        if lost:
            self.lost += lost
            for turn in self.tracker.open_turns():
                turn.notes.append(f"{lost} WebSocket messages were not recorded (the writer's queue was full)")
        finished: list[Turn] = []
        for t, from_client, kind, payload, size in messages:
            finished += self._one(t, from_client, kind, payload, size)
        self.changed = True
        return finished

    def _one(self, t: float, from_client: bool, kind: int, payload: bytes, size: int) -> list[Turn]:
        if from_client:
            self.sent += 1
            self.bytes_sent += size
            self.binary_sent += kind != TEXT
            self.client_since_turn += 1
        else:
            self.received += 1
            self.bytes_received += size
            self.binary_received += kind != TEXT
        if kind == BINARY:  # audio or another binary format: counted above, never parsed or stored
            return []
        message: Any = None
        if len(payload) == size:
            try:
                message = json.loads(payload)
            except ValueError:
                self.malformed += 1
        else:
            self.malformed += 1  # cut at the capture cap: kept as text, not understood
        stripper = self.audio[from_client]
        if isinstance(message, dict):
            if isinstance(session := message.get("session"), dict):  # Realtime: which pcm each way
                for side, side_stripper in self.audio.items():
                    side_stripper.realtime_format = _realtime_format(session, side, side_stripper.realtime_format)
            if stripper.strip(message):
                payload = _compact(message)
        if from_client:
            self.last_client_message = payload
            finished = self.tracker.client(t, message)
        else:
            finished = self.tracker.server(t, message, payload)
            if not finished and isinstance(message, dict) and message.get("type") == "error":
                finished = [self._orphan_error(t, payload)]  # an error answering no response in progress
        for turn in [*self.tracker.open_turns(), *finished]:
            if id(turn) not in self.counted:
                self.counted.add(id(turn))
                turn.sent, self.client_since_turn = self.client_since_turn, 0
                turn.request_bytes = size if from_client else None
                turn.cap = self.cap
        for turn in finished:
            self.counted.discard(id(turn))
        self.answered += len(finished)
        return finished

    def _orphan_error(self, t: float, payload: bytes) -> Turn:
        request: Any = None
        if self.last_client_message is not None:
            try:
                request = json.loads(self.last_client_message)
            except ValueError:
                request = self.last_client_message[:2000].decode("utf-8", errors="replace")
        status = json.loads(payload).get("status")
        return Turn(t, request, events=[(t, payload)], t_end=t, status=status if isinstance(status, int) else None)

    # --- the end ----------------------------------------------------------------------------------------

    def end(self, ending: dict[str, Any]) -> list[Turn]:
        self.ending = ending
        self.changed = True
        open_turns = self.tracker.open_turns()
        t_end = ending.get("t_end") or time.time()
        finished = self.tracker.tick(float("inf"))  # a Live turn that only waited for its usage
        open_turns = [turn for turn in open_turns if turn not in finished]
        why = describe_end(ending, mid_response=bool(open_turns), answered=bool(self.answered or finished))
        for turn in open_turns:
            turn.t_end, turn.error = t_end, why
            finished.append(turn)
        if why and not open_turns and not self.answered and not finished:
            self.errors.append(why)
            request = None
            if self.last_client_message is not None:
                request = self.last_client_message[:2000].decode("utf-8", errors="replace")
            finished.append(Turn(t_end, request, sent=self.client_since_turn, t_end=t_end, error=why))
            self.client_since_turn = 0
        elif why:
            self.errors.append(why)
        return finished

    # --- out: exchanges and the connection's row ----------------------------------------------------------

    def exchange(self, turn: Turn) -> Exchange:
        self.turns += 1
        opening = self.opening
        chunks = [(t, data + b"\n") for t, data in turn.events]
        if isinstance(turn.request, str):
            body = turn.request.encode()
        else:
            body = _compact(turn.request) if turn.request is not None else b""
        return {
            **opening,
            "id": ulid(turn.t_start),
            "request_body": body,
            "request_bytes": len(body),  # the row takes the message as sent from `websocket` below
            "request_truncated": False,
            "t_request_start": turn.t_start,
            "t_sent": turn.t_start,
            "t_first_byte": turn.events[0][0] if turn.events else None,
            "chunks": chunks,
            "framing": "messages",
            "response_bytes": turn.received or sum(len(data) for _, data in turn.events),
            "truncated": turn.truncated,
            "t_end": turn.t_end or (turn.events[-1][0] if turn.events else turn.t_start),
            "error": turn.error,
            "websocket": {
                "connection_id": self.id,
                "url": self.url(),
                "sent": turn.sent,
                "received": len(turn.events),
                "status": turn.status,
                "notes": turn.notes,
                "request_bytes": turn.request_bytes,
            },
        }

    def url(self) -> str:
        opening = self.opening
        scheme = "wss" if opening.get("scheme") == "https" else "ws"
        port = opening.get("port")
        host = opening["host"] + (f":{port}" if port and port != (443 if scheme == "wss" else 80) else "")
        query = redact_query(opening.get("query") or "")
        return f"{scheme}://{host}{opening['path']}" + (f"?{query}" if query else "")

    def row(self) -> dict[str, Any]:
        opening, ending = self.opening, self.ending or {}
        route = opening["route"]
        t_open = opening.get("t_first_byte") or opening["t_request_start"]
        t_end = ending.get("t_end")
        closed_by = ending.get("closed_by_client")
        return {
            "id": self.id,
            "started_at": iso_utc(opening["t_request_start"]),
            "ended_at": iso_utc(t_end) if t_end else None,
            "duration_ms": round((t_end - t_open) * 1000, 3) if t_end else None,
            "project": opening.get("project"),
            "provider": route.provider,
            "operation": route.operation,
            "url": self.url(),
            "host": opening["host"],
            "path": opening["path"],
            "client": opening.get("client"),
            "status_code": opening.get("status_code"),
            "request_headers": json.dumps(redact_headers(opening.get("request_headers") or [])),
            "response_headers": json.dumps(redact_headers(opening.get("response_headers") or [])),
            "messages_sent": self.sent,
            "messages_received": self.received,
            "bytes_sent": self.bytes_sent,
            "bytes_received": self.bytes_received,
            "binary_messages_sent": self.binary_sent,
            "binary_messages_received": self.binary_received,
            "audio_ms_sent": round(self.audio[True].ms, 1) or None,
            "audio_ms_received": round(self.audio[False].ms, 1) or None,
            "malformed_messages": self.malformed,
            "lost_messages": self.lost,
            "responses": self.turns,
            "close_code": ending.get("close_code"),
            "close_reason": ending.get("close_reason") or None,
            "closed_by": None if closed_by is None else ("client" if closed_by else "server"),
            "error": "; ".join(dict.fromkeys(self.errors)) or None,
        }


def _realtime_format(session: dict, from_client: bool, current: str) -> str:
    """The pcm format a Realtime session streams in each direction (`audio.input.format` / `.output.format`)."""
    audio = session.get("audio")
    side = (audio or {}).get("input" if from_client else "output") if isinstance(audio, dict) else None
    fmt = side.get("format") if isinstance(side, dict) else None
    if isinstance(fmt, dict) and isinstance(fmt.get("type"), str):
        return fmt["type"] + (f";rate={fmt['rate']}" if fmt.get("rate") else "")
    legacy = session.get("input_audio_format" if from_client else "output_audio_format")  # beta sessions
    return legacy if isinstance(legacy, str) else current


class Sockets:
    """Every LLM WebSocket the writer has heard of, by connection id."""

    def __init__(self) -> None:
        self.open: dict[str, Connection] = {}
        self.to_write: dict[str, Connection] = {}

    def take(self, batch: tuple) -> list[Exchange]:
        _, socket_id, opening, messages, lost, ending = batch
        connection = self.open.get(socket_id)
        if connection is None:
            if opening is None:  # its first batch was lost: nothing to attach these messages to
                log.warning("r4u: WebSocket messages for unknown connection %s dropped", socket_id)
                return []
            connection = self.open[socket_id] = Connection(socket_id, opening)
        finished = connection.feed(messages, lost)
        if ending is not None:
            finished += connection.end(ending)
            del self.open[socket_id]
        self.to_write[socket_id] = connection
        return [connection.exchange(turn) for turn in finished]

    def tick(self, now: float | None = None) -> list[Exchange]:
        now = time.time() if now is None else now
        out = []
        for connection in self.open.values():
            out += [connection.exchange(turn) for turn in connection.tracker.tick(now)]
        return out

    def stop(self) -> list[Exchange]:
        """The writer stops: whatever is still open ends as the proxy stopping."""
        out = []
        for socket_id, connection in list(self.open.items()):
            ending = {"t_end": time.time(), "error": PROXY_STOPPED}
            out += [connection.exchange(turn) for turn in connection.end(ending)]
            self.to_write[socket_id] = connection
        self.open.clear()
        return out

    def write_connections(self, db: Any) -> None:
        if not self.to_write:
            return
        rows = [connection.row() for connection in self.to_write.values()]
        db["websocket_connections"].upsert_all(rows, pk="id")
        self.to_write.clear()


def websocket_columns(exchange: Exchange, row: dict[str, Any]) -> None:
    """The trace columns only a WebSocket response has (row.py calls this for exchanges from here)."""
    ws = exchange.get("websocket")
    if ws is None:
        return
    row["url"] = ws["url"]
    row["ws_connection_id"] = ws["connection_id"]
    row["ws_url"] = ws["url"]
    row["ws_messages_sent"] = ws["sent"]
    row["ws_messages_received"] = ws["received"]
    if ws.get("status"):
        row["status_code"] = ws["status"]
    if ws.get("request_bytes") is not None:
        row["request_bytes"] = ws["request_bytes"]  # the message as sent, not the request rebuilt from it
    if ws.get("notes"):
        row["parse_note"] = "; ".join([*filter(None, [row.get("parse_note")]), *ws["notes"]])


def upgrade_refused(exchange: Exchange, row: dict[str, Any]) -> None:
    """A plain HTTP answer to a WebSocket upgrade request (the upstream refused it): say so."""
    wants_socket = any(k.lower() == "upgrade" and v.lower() == "websocket" for k, v in exchange["request_headers"])
    if not wants_socket or exchange.get("websocket") is not None:
        return
    scheme = "wss" if exchange.get("scheme") == "https" else "ws"
    row["ws_url"] = scheme + row["url"].partition(":")[1] + row["url"].partition(":")[2]
    if (exchange.get("status_code") or 0) >= 400:
        said = f": {row['error']}" if row.get("error") else ""
        row["error"] = f"WebSocket upgrade refused (HTTP {exchange['status_code']}){said}"

