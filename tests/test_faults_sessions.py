"""A writer that dies is handed its unconfirmed traces again: each still gets its session exactly once.

On real agent traffic (tests/fixtures/agents: openai-agents, 20 turns, its session ids stripped so only
message-prefix inference is left), compared with a clean run of the writer's steps. Two ways a writer
can die: after its commit but before the proxy saw the confirmation (the same traces come again), and
between the session index writes and the rows' insert (nothing of that batch may stay).
"""

from __future__ import annotations

import copy
import multiprocessing
import sqlite3
from pathlib import Path

import pytest
from support import agent_recordings as recordings

from r4u_proxy.store.writer import WriterShared, _Loop

SESSION_FIELDS = "id, session_id, session_source, session_turn, previous_trace_id, resent_messages"


@pytest.fixture
def exchanges() -> list[dict]:
    calls = [recordings.without_ids(c) for c in recordings.load("openai_agents_20_turns")]
    return [recordings.exchange(c, 1_800_000_000.0 + 2 * i) for i, c in enumerate(calls)]


def _sessions(db: Path) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(f"select {SESSION_FIELDS} from traces order by id").fetchall()
    finally:
        conn.close()


def _index(db: Path) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("select kind, key, trace_id, session_id, turn, continued from session_index order by rowid").fetchall()
    finally:
        conn.close()


def _clean(tmp_path: Path, exchanges: list[dict]) -> tuple[list[tuple], list[tuple]]:
    db = tmp_path / "clean.db"
    recordings.replay(db, copy.deepcopy(exchanges))
    return _sessions(db), _index(db)


def _writer(db: Path) -> _Loop:
    """What a (re)started writer process runs, in this process: a fresh loop over the same file."""
    return _Loop(str(db), None, WriterShared(multiprocessing.get_context("spawn")), 200)


def _write(db: Path, exchanges: list[dict]) -> None:
    loop = _writer(db)
    loop._insert(*loop._rows(copy.deepcopy(exchanges)))
    loop.conn.close()


def test_traces_a_dead_writer_had_committed_are_not_given_sessions_again(tmp_path, exchanges):
    sessions, index = _clean(tmp_path, exchanges)
    assert len({s[1] for s in sessions}) == 1 and [s[3] for s in sessions] == list(range(1, 21))
    db = tmp_path / "traces.db"
    _write(db, exchanges[:12])
    # The writer committed these twelve and died before the proxy saw it: its successor gets them again,
    # followed by the rest of the conversation.
    _write(db, exchanges)
    assert _sessions(db) == sessions  # one session, turns 1..20: nothing became a fork of itself
    assert _index(db) == index  # and the index holds each call's entries once


def test_a_batch_cut_between_its_session_index_and_its_rows_leaves_neither(tmp_path, exchanges):
    sessions, index = _clean(tmp_path, exchanges)
    db = tmp_path / "traces.db"
    loop = _writer(db)
    tracker = loop.sessions
    real_assign = tracker.assign

    def assign_then_fail(rows, calls, *, commit=True):
        real_assign(rows, calls, commit=commit)  # the index entries are written...
        raise sqlite3.OperationalError("disk I/O error")  # ...and the disk fails before the rows are in

    tracker.assign = assign_then_fail
    loop._insert(*loop._rows(copy.deepcopy(exchanges[:12])))  # fails once, reconnects (a fresh tracker), writes
    assert loop.sessions is not tracker
    loop._insert(*loop._rows(copy.deepcopy(exchanges[12:])))
    loop.conn.close()
    assert _sessions(db) == sessions
    assert _index(db) == index
