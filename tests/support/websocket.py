"""Feed WebSocket messages to the writer's side as addons/websocket.py would, and read back the rows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from r4u_proxy.ids import ulid
from r4u_proxy.ingest.row import build_row
from r4u_proxy.ingest.websocket import BINARY, TEXT, Sockets
from r4u_proxy.providers import route
from r4u_proxy.sessions.tracker import SessionTracker
from r4u_proxy.simulator.fixtures import default_fixtures_dir
from r4u_proxy.store.migrations import open_db
from r4u_proxy.store.writer import SOCKET

WEBSOCKET_RECORDINGS = default_fixtures_dir() / "websocket"


def opening(host: str, path: str, query: str = "", headers: list | None = None, t: float = 1000.0) -> dict:
    """The handshake exchange addons/recorder.build_exchange makes for an upgrade answered 101."""
    return {
        "id": ulid(t), "route": route(host, path), "project": None, "tags": None, "client": "127.0.0.1:5000",
        "method": "GET", "scheme": "https", "host": host, "port": 443, "path": path, "query": query,
        "request_headers": headers or [("upgrade", "websocket"), ("authorization", "Bearer sk-test-abcdefghijklmnop")],
        "request_body": b"", "t_request_start": t, "t_sent": t, "status_code": 101,
        "response_headers": [("upgrade", "websocket")], "t_first_byte": t + 0.01, "chunks": [],
        "response_bytes": 0, "truncated": False, "t_end": t + 0.01, "error": None,
        "capture_cap": 10 * 1024 * 1024,
    }  # fmt: skip


def message(t: float, from_client: bool, payload: Any, kind: int = TEXT) -> tuple:
    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    if kind == BINARY:
        return (t, from_client, kind, data[:16], len(data))
    return (t, from_client, kind, data, len(data))


class Replay:
    """One connection's messages through `Sockets`, turned into trace rows as the writer does: `build_row`,
    then the sessions (a SessionTracker on a fresh in-memory traces.db)."""

    def __init__(self, open_exchange: dict) -> None:
        self.sockets = Sockets()
        self.sessions = SessionTracker(open_db(":memory:"))
        self.id = open_exchange["id"]
        self.opening: dict | None = open_exchange
        self.rows: list[dict] = []

    def feed(self, messages: list[tuple], ending: dict | None = None, lost: int = 0) -> list[dict]:
        exchanges = self.sockets.take((SOCKET, self.id, self.opening, messages, lost, ending))
        self.opening = None
        rows = [build_row(exchange) for exchange in exchanges]
        if rows:
            self.sessions.assign(rows, exchanges)
        self.rows += rows
        return rows

    def close(self, t: float, code: int | None = 1000, by_client: bool = True, reason: str = "") -> list[dict]:
        ending = {"t_end": t, "close_code": code, "close_reason": reason, "closed_by_client": by_client,
                  "error": None}  # fmt: skip
        return self.feed([], ending)

    def connection(self) -> dict:
        written: dict[str, Any] = {}

        class Table:
            def upsert_all(self, rows, pk):
                written.update({row["id"]: row for row in rows})

        self.sockets.write_connections({"websocket_connections": Table()})
        return written[self.id]


def transcript(name: str) -> tuple[dict, list[tuple], dict]:
    """A recorded WebSocket transcript (recordings/websocket/*.jsonl): (opening, messages, close)."""
    lines = [json.loads(line) for line in (WEBSOCKET_RECORDINGS / name).read_text().splitlines()]
    head, close = lines[0], lines[-1]
    t0 = 1000.0
    headers = [tuple(pair) for pair in head["request_headers"]]
    host = next(v for k, v in headers if k.lower() == "host")
    messages = [
        message(t0 + line["t"], line["from"] == "client", line["text"].encode())
        for line in lines[1:-1]
        if line["text"] is not None
    ]
    return opening(host, head["path"], head["query"], headers, t=t0), messages, close


def fixture_data_messages(path: Path) -> list[bytes]:
    from r4u_proxy.simulator.responses_socket import fixture_messages

    return fixture_messages(path.parent.parent, f"{path.parent.name}/{path.name}")
