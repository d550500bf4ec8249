"""WebSocket message batches under the supervised writer: held like exchanges, written in the same
transactions, on a recorded Codex transcript (r4u_proxy/simulator/recordings/websocket)."""

from __future__ import annotations

import multiprocessing
import sqlite3

from support.websocket import transcript

from r4u_proxy.store.held import HeldTraces
from r4u_proxy.store.writer import SOCKET, WriterShared, _Loop

CODEX = "codex_0171_exec_hello.jsonl"


def _batches() -> list[tuple]:
    """The transcript as the addon hands it over: the opening with the first batch, the close with the last."""
    opening, messages, close = transcript(CODEX)
    ending = {"t_end": messages[-1][0] + 0.1, "close_code": close["close_code"], "close_reason": None,
              "closed_by_client": True, "error": None}  # fmt: skip
    half = len(messages) // 2
    return [(SOCKET, opening["id"], opening, messages[:half], 0, None), (SOCKET, opening["id"], None, messages[half:], 0, ending)]


def test_a_later_batch_of_the_same_connection_stays_held_when_an_earlier_one_is_confirmed():
    held = HeldTraces(10**8)
    first, second = _batches()
    held.add(f"{first[1]}/0", 1, (1, SOCKET, first), 4096, finished=True, now=0.0)
    held.add(f"{second[1]}/1", 2, (2, SOCKET, second), 4096, finished=True, now=0.0)
    held.lighten(2)  # the writer received both: socket batches keep their messages all the same
    assert held.release(1) == 1
    messages, _ = held.for_resend(3)
    assert [m[1] for m in messages] == [(2, SOCKET, second)]  # what a new writer gets: the unconfirmed one, whole


def test_the_writer_loop_turns_socket_batches_into_traces_and_a_connection_row(tmp_path):
    db = tmp_path / "traces.db"
    loop = _Loop(str(db), None, WriterShared(multiprocessing.get_context("spawn")), 200)
    exchanges, batches = [], _batches()
    for seq, batch in enumerate(batches, 1):
        exchanges += loop._take((seq, SOCKET, batch))
    assert exchanges, "the Codex transcript holds finished responses"
    loop._insert(*loop._rows(exchanges))
    loop._write_connections()
    loop._insert(*loop._rows(exchanges))  # handed over again (a writer died before its ack): not twice
    loop.conn.close()
    conn = sqlite3.connect(db)
    traces = conn.execute("select ws_connection_id, session_id, request_bytes from traces").fetchall()
    assert len(traces) == len(exchanges)
    connection_id = batches[0][1]
    assert {t[0] for t in traces} == {connection_id} and all(t[1] for t in traces) and all(t[2] for t in traces)
    assert conn.execute("select id from websocket_connections").fetchall() == [(connection_id,)]
    conn.close()
