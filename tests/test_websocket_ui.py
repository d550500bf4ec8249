"""The trace page of a response that came over a WebSocket (through datasette.client)."""

from __future__ import annotations

import sqlite_utils
from support.ui import get, text_of
from support.websocket import Replay, message, opening

from r4u_proxy.store.migrations import open_db
from r4u_proxy.store.schema import trace_columns

RESPONSES = ("api.openai.com", "/v1/responses")


def test_trace_page_says_it_came_over_a_websocket_with_the_connections_facts(tmp_path):
    replay = Replay(opening(*RESPONSES, t=1000.0))
    for n, t in enumerate((1001.0, 1002.0)):
        final = {"id": f"resp_{n}", "object": "response", "model": "gpt-5", "status": "completed",
                 "output": [{"type": "message", "content": [{"type": "output_text", "text": f"answer {n}"}]}],
                 "usage": {"input_tokens": 10, "output_tokens": 3}}  # fmt: skip
        replay.feed([message(t, True, {"type": "response.create", "model": "gpt-5", "input": f"question {n}"}),
                     message(t + 0.2, False, {"type": "response.completed", "response": final})])  # fmt: skip
    replay.close(1004.5, code=1000, by_client=True)
    db_path = tmp_path / "traces.db"
    conn = open_db(db_path)
    columns = trace_columns(conn)  # as the writer inserts: every column the migrations made
    conn.close()
    db = sqlite_utils.Database(db_path)
    db["traces"].insert_all([{c: row.get(c) for c in columns} for row in replay.rows])
    db["websocket_connections"].insert(replay.connection())
    second = replay.rows[1]["id"]
    page = get(db_path, f"/-/r4u/trace/{second}")
    assert page.status_code == 200
    text = text_of(page.text)
    assert "websocket" in text.split("Conversation")[0]  # the badge in the heading
    assert "This response came over a WebSocket: wss://api.openai.com/v1/responses" in text
    assert "response 2 of 2 recorded on this connection" in text
    assert "1 messages sent, 1 received" in text  # this response
    assert "connection 2 messages sent (136 bytes), 2 received" in text
    assert "duration 4,490 ms" in text  # from the upgrade answered (1000.01) to the close (1004.5)
    assert "close 1000, by the client" in text
    first = text_of(get(db_path, f"/-/r4u/trace/{replay.rows[0]['id']}").text)
    assert "response 1 of 2" in first
