"""Content storage without a proxy: recorded agent sessions through the writer's steps (store/batch.py).

Search finds the call that first sent a text, not its resends; a database written by the previous layout
migrates in place and converts resumably; `r4u prune` keeps what it promises; writes through the traces
view keep the full-text index consistent.
"""

from __future__ import annotations

import gzip
import json
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from support.agent_recordings import agent_session, exchange, load, long_session, replay

from datasette_plugins import prepare_connection
from datasette_plugins.search_page import search_data as page_search
from r4u_proxy.cli import main
from r4u_proxy.ids import iso_utc
from r4u_proxy.store.batch import BatchWriter
from r4u_proxy.store.content import convert
from r4u_proxy.store.content.convert import Converter
from r4u_proxy.store.content.prune import prune as run_prune
from r4u_proxy.store.migrations import MIGRATIONS, open_db
from r4u_proxy.store.supervisor import TraceWriter

PHRASE = "quarterly reconciliation of the zebra ledger"
AGENTS = ("claude_code_20_turns", "openai_agents_20_turns", "pydantic_ai_20_turns", "langchain_20_turns",
          "llm_conversation_20_turns")  # fmt: skip


def search_data(conn: sqlite3.Connection, query: str) -> list[dict]:
    """What the Search page runs, on a connection prepared as Datasette prepares it (r4u_snippet)."""
    prepare_connection(conn)
    return page_search(conn, query)


def _read(db: Path, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def _with_phrase_at_turn_3(calls: list[dict]) -> list[dict]:
    """The message turn 3 adds to the conversation (a tool result) carries PHRASE, in every later turn too."""
    at = len(json.loads(calls[2]["request_body"])["messages"]) - 1
    out = []
    for call in calls:
        body = json.loads(call["request_body"])
        if len(body["messages"]) > at:
            block = body["messages"][at]["content"][0]
            block["content"] = f"{block['content']}\n{PHRASE}" if isinstance(block["content"], str) else [
                *block["content"], {"type": "text", "text": PHRASE}]  # fmt: skip
        out.append({**call, "request_body": json.dumps(body, ensure_ascii=False)})
    return out


def test_a_phrase_first_sent_in_turn_3_of_50_finds_that_turn_and_its_session(tmp_path):
    calls = _with_phrase_at_turn_3(long_session(50, seed=7))
    rows = replay(tmp_path / "t.db", [exchange(c, 1_800_000_000.0 + 10 * i) for i, c in enumerate(calls)])
    assert [r["session_turn"] for r in rows] == list(range(1, 51))
    assert all(PHRASE in r["prompt_text"] for r in rows[2:]) and PHRASE not in rows[1]["prompt_text"]
    conn = sqlite3.connect(tmp_path / "t.db")
    conn.row_factory = sqlite3.Row
    found = search_data(conn, PHRASE)  # what the Search page runs
    assert [r["id"] for r in found] == [rows[2]["id"]]  # turn 3, not the 47 calls that resent it
    assert "zebra" in str(found[0]["prompt_snippet"])
    session = conn.execute("select session_id from traces where id = ?", [found[0]["id"]]).fetchone()[0]
    assert session == rows[-1]["session_id"]
    # The system prompt and the tools are stored once for the whole session; every turn reads back whole.
    assert conn.execute("select count(*) from contents where kind = 'shape'").fetchone()[0] == 1
    for call, row in zip(calls, rows, strict=True):
        assert json.loads(row["request_body"]) == json.loads(call["request_body"])


RELEASE_DB = Path(__file__).parent / "fixtures" / "release_db" / "traces-92fc8ef.db.gz"  # main before content storage


def test_a_database_the_release_wrote_migrates_in_place_and_converts_resumably(tmp_path, monkeypatch):
    db = tmp_path / "traces.db"
    db.write_bytes(gzip.decompress(RELEASE_DB.read_bytes()))
    release = [dict(r) for r in _read(db, "select * from traces order by id")]
    totals = _read(db, "select count(*), sum(cost_usd), sum(input_tokens) from traces_rollup")[0]
    assert _read(db, "select count(*) from traces_fts where traces_fts match 'weather'")[0][0]  # the release's own index
    conn = open_db(db)  # content_store_v1: quick, bodies untouched yet
    applied = [r[0] for r in conn.execute("select name from _r4u_migrations order by rowid")]
    names = [m.name for m in MIGRATIONS]
    assert applied[-(len(names) - names.index("content_store_v1")) :] == names[names.index("content_store_v1") :]

    def same_as_the_release() -> None:  # every column the release had reads the same through the view
        now = [dict(r) for r in _read(db, "select * from traces order by id")]
        assert [r["id"] for r in now] == [r["id"] for r in release]
        for old, new in zip(release, now, strict=True):
            for column in old:
                if column == "request_body" and old[column] is not None:
                    assert json.loads(new[column]) == json.loads(old[column]), old["id"]
                else:
                    assert new[column] == old[column], (old["id"], column)
        assert tuple(_read(db, "select count(*), sum(cost_usd), sum(input_tokens) from traces_rollup")[0]) == tuple(totals)

    same_as_the_release()
    assert search_data(_row_conn(db), "weather") == []  # unconverted calls join the index as they convert

    monkeypatch.setattr(convert, "BATCH", 25)
    converter = Converter(conn)
    assert converter.run_batch() == 25 and converter.run_batch() == 25
    original = converter._convert
    calls_made = []

    def crash_on_the_third(*args):
        calls_made.append(args)
        if len(calls_made) == 3:
            raise KeyboardInterrupt  # killed mid-batch
        original(*args)

    monkeypatch.setattr(converter, "_convert", crash_on_the_third)
    with pytest.raises(KeyboardInterrupt):
        converter.run_batch()
    conn.close()  # the interrupted batch rolled back; the first two stay converted

    conn = open_db(db)
    assert conn.execute("select value from content_state where key = 'converted_rowid'").fetchone()[0] == 50
    writer = BatchWriter(conn)  # the writer process converts the rest when idle
    while writer.converter.remaining():
        writer.idle()
    conn.close()
    same_as_the_release()
    left = _read(db, "select count(*) from trace_rows where legacy_request_body is not null or legacy_prompt_text is not null")
    assert left[0][0] == 0
    assert _read(db, "select count(*) from contents where kind = 'shape'")[0][0] >= len(AGENTS)
    assert search_data(_row_conn(db), "weather")  # searchable once converted
    _read(db, "insert into traces_fts (traces_fts) values ('integrity-check')")


def _row_conn(db: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    return conn


NOW = time.time()
CUTOFF = iso_utc(NOW - 30 * 86400)


def _days_old(call: dict, day: int, i: int) -> dict:
    return exchange(call, NOW - day * 86400 - 3600 + i)


def _pruned_db(tmp_path: Path) -> tuple[Path, list[dict], list[dict]]:
    """Two Claude Code sessions: one 40 days old, one from today (sharing the system prompt)."""
    old, new = load("claude_code_20_turns"), long_session(10, seed=3)
    db = tmp_path / "traces.db"
    replay(db, [_days_old(c, 40, i) for i, c in enumerate(old)] + [_days_old(c, 0, i) for i, c in enumerate(new)])
    return db, old, new


def test_prune_older_than_removes_old_calls_and_their_content_keeps_the_rest(tmp_path):
    db, old, new = _pruned_db(tmp_path)
    size = db.stat().st_size
    result = CliRunner().invoke(main, ["prune", "--db", str(db), "--older-than", "30d"])
    assert result.exit_code == 0, result.output
    assert f"removed {len(old)} calls" in result.output
    rows = _read(db, "select * from traces order by id")
    assert len(rows) == len(new)
    for call, row in zip(new, rows, strict=True):
        assert json.loads(row["request_body"]) == json.loads(call["request_body"])  # shared content kept
    assert _read(db, "select count(*) from session_index where kind = 'session'")[0][0] == 1
    rollup = _read(db, "select sum(calls) from traces_rollup")[0][0]
    assert rollup == len(new)
    assert db.stat().st_size < size  # incremental vacuum gave pages back
    # Nothing left behind that no call refers to; the search index matches what is left.
    again = CliRunner().invoke(main, ["prune", "--db", str(db), "--older-than", "30d", "--json"])
    assert json.loads(again.output)["contents"] == 0
    _read(db, "insert into traces_fts (traces_fts) values ('integrity-check')")


@pytest.mark.parametrize("keep_stats", [False, True])
def test_what_a_pruned_call_sent_first_is_found_in_the_oldest_call_left_that_sends_it(tmp_path, keep_stats):
    """A session straddles the cutoff: its first turns go, the rest read back whole and stay searchable."""
    calls = long_session(10, seed=5)  # turn 1 sends "(bench session 5)"; every later turn resends it
    db = tmp_path / "traces.db"
    replay(db, [_days_old(c, 31 if i < 4 else 0, i) for i, c in enumerate(calls)])
    ids = [r["id"] for r in _read(db, "select id from traces order by started_at")]
    assert [r["id"] for r in search_data(_row_conn(db), "bench session 5")] == ids[:1]
    totals = _read(db, "select count(*), sum(input_tokens), sum(cost_usd) from traces")[0]
    args = ["prune", "--db", str(db), "--older-than", "30d", "--json", *(["--keep-stats"] if keep_stats else [])]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert (report["emptied"], report["deleted"]) == ((4, 0) if keep_stats else (0, 4))
    rows = _read(db, "select id, request_body, prompt_text, response_body, pruned_at from traces order by started_at")
    kept = [r for r in rows if r["request_body"] is not None]
    assert [r["id"] for r in kept] == ids[4:]
    for call, row in zip(calls[4:], kept, strict=True):
        assert json.loads(row["request_body"]) == json.loads(call["request_body"]) and row["pruned_at"] is None
    if keep_stats:  # rows, tokens and cost stay; only the bodies went
        assert tuple(_read(db, "select count(*), sum(input_tokens), sum(cost_usd) from traces")[0]) == tuple(totals)
        assert [r["id"] for r in rows if r["pruned_at"]] == ids[:4]
        assert all(r["prompt_text"] is None and r["response_body"] is None for r in rows[:4])
    assert [r["id"] for r in search_data(_row_conn(db), "bench session 5")] == [ids[4]]
    _read(db, "insert into traces_fts (traces_fts) values ('integrity-check')")


def test_max_db_size_empties_the_oldest_sessions_bodies_first_and_keeps_rows_and_totals(tmp_path):
    sessions = {day: agent_session(8, seed=day) for day in (3, 2, 1)}
    exchanges = [_days_old(c, day, i) for day, calls in sessions.items() for i, c in enumerate(calls)]
    db = tmp_path / "traces.db"
    replay(db, exchanges)
    totals = _read(db, "select count(*), sum(input_tokens), sum(cost_usd) from traces")[0]
    # The size left once the oldest session's bodies are gone (measured on a copy), and a little more.
    copy = tmp_path / "copy.db"
    copy.write_bytes(db.read_bytes())
    day_2 = (datetime.fromtimestamp(NOW - 2 * 86400 - 7200, UTC)).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    measured = CliRunner().invoke(main, ["prune", "--db", str(copy), "--older-than", day_2, "--keep-stats", "--json"])
    target = json.loads(measured.output)["bytes_after"] + 16_384
    assert target < db.stat().st_size

    result = CliRunner().invoke(main, ["prune", "--db", str(db), "--max-db-size", str(target), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["bytes_after"] <= target and not report["notes"]
    rows = _read(db, "select id, started_at, request_body, pruned_at from traces order by started_at")
    emptied = [r["id"] for r in rows if r["pruned_at"]]
    assert emptied == [r["id"] for r in rows[: len(emptied)]]  # oldest first
    assert len(sessions[3]) <= len(emptied) < len(sessions[3]) + len(sessions[2])  # day 3 went, day 1 stayed
    kept = {r["id"]: r for r in rows if r["pruned_at"] is None}
    for sent, call in zip(exchanges, [c for calls in sessions.values() for c in calls], strict=True):
        if sent["id"] in kept:
            assert json.loads(kept[sent["id"]]["request_body"]) == json.loads(call["request_body"])
    assert tuple(_read(db, "select count(*), sum(input_tokens), sum(cost_usd) from traces")[0]) == tuple(totals)
    assert CliRunner().invoke(main, ["prune", "--db", str(db), "--keep-stats"]).exit_code == 2
    assert CliRunner().invoke(main, ["prune", "--db", str(db), "--max-db-size", "lots"]).exit_code == 2


def test_a_call_written_after_a_prune_swept_what_the_writer_remembered_reads_back_whole(tmp_path):
    """The writer keeps node ids of the bodies it wrote; a prune deletes those nodes between two batches."""
    calls = long_session(8, seed=9)
    db = tmp_path / "traces.db"
    conn = open_db(db)
    writer = BatchWriter(conn)  # one writer for both batches, as the writer process is
    other = load("llm_conversation_20_turns")[:2]
    writer.write([_days_old(c, 1, i) for i, c in enumerate(other)])
    writer.write([_days_old(c, 40, i) for i, c in enumerate(calls[:5])])
    writer.write([_days_old(other[1], 0, 0)])  # newer ids stay: SQLite will not hand the swept ones out again
    result = CliRunner().invoke(main, ["prune", "--db", str(db), "--older-than", "30d", "--json"])
    assert json.loads(result.output)["nodes"] > 0  # the first turns' messages are gone from the file
    writer.write([_days_old(c, 0, i) for i, c in enumerate(calls[5:])])
    conn.close()
    rows = _read(db, "select request_body from traces order by started_at")
    sent = [*other, other[1], *calls[5:]]
    assert [json.loads(r["request_body"]) for r in rows] == [json.loads(c["request_body"]) for c in sent]


def test_writes_through_the_traces_view_stay_searchable_and_consistent(tmp_path):
    db = tmp_path / "traces.db"
    replay(db, [exchange(c, 1_800_000_000.0 + i) for i, c in enumerate(load("llm_conversation_20_turns"))])
    conn = open_db(db)
    conn.execute("insert into traces (id, started_at, provider, request_body, prompt_text, completion_text) "
                 "values ('x1', '2026-12-01T00:00:00.000Z', 'openai', '{\"a\": 1}', 'user: a purple walrus', 'fine')")  # fmt: skip
    first = conn.execute("select id from traces order by id limit 1").fetchone()[0]
    conn.execute("update traces set cost_usd = 1.5, completion_text = 'an orange heron' where id = ?", [first])
    conn.execute("update traces set request_body = '{\"b\": 2}', prompt_text = 'user: a grey seal' where id = 'x1'")
    conn.execute("delete from traces where id = (select id from traces order by id desc limit 1 offset 1)")
    conn.commit()
    assert conn.execute("select request_body, cost_usd from traces where id = 'x1'").fetchone() == ('{"b": 2}', None)
    conn.row_factory = sqlite3.Row
    assert [r["id"] for r in search_data(conn, "grey seal")] == ["x1"] and not search_data(conn, "purple walrus")
    assert [r["id"] for r in search_data(conn, "orange heron")] == [first]
    conn.execute("update traces set id = 'x2' where id = 'x1'")  # renamed: what it sent first goes with it
    conn.execute("update traces set id = 'Z' || substr(id, 2) where id = ?", [first])
    assert [r["id"] for r in search_data(conn, "grey seal")] == ["x2"]
    assert [r["id"] for r in search_data(conn, "orange heron")] == ["Z" + first[1:]]
    conn.execute("insert into traces_fts (traces_fts) values ('integrity-check')")
    conn.close()


def test_prune_while_the_writer_process_writes_loses_no_call(tmp_path):
    """The real writer process keeps writing one session's turns while prunes run beside it."""
    calls = long_session(24, seed=13)
    db = tmp_path / "traces.db"
    writer = TraceWriter(db, batch_size=2)
    writer.start()
    for i, call in enumerate(calls[:8]):  # the session's start, 40 days ago
        writer.submit(_days_old(call, 40, i))
    conn = open_db(db)
    deadline = time.monotonic() + 60
    while conn.execute("select count(*) from traces").fetchone()[0] < 8 and time.monotonic() < deadline:
        time.sleep(0.05)
    pruned = 0
    for i, call in enumerate(calls[8:]):
        writer.submit(_days_old(call, 0, i))
        if i % 4 == 0:
            pruned += run_prune(conn, older_than=CUTOFF).deleted
        time.sleep(0.02)
    writer.close()
    pruned += run_prune(conn, older_than=CUTOFF).deleted
    conn.close()
    assert pruned == 8
    rows = _read(db, "select request_body from traces order by started_at")
    assert [json.loads(r["request_body"]) for r in rows] == [json.loads(c["request_body"]) for c in calls[8:]]
    _read(db, "insert into traces_fts (traces_fts) values ('integrity-check')")


def test_headers_with_a_long_value_read_back_whole(tmp_path):
    """A client's shared headers are one content; a long value in them is cut out as a string (Codex sends one)."""
    call = load("llm_conversation_20_turns")[0]
    headers = {**call["request_headers"], "x-long-context": "z" * 5000}
    rows = replay(tmp_path / "t.db", [exchange({**call, "request_headers": headers}, 1_800_000_000.0)])
    assert json.loads(rows[0]["request_headers"])["x-long-context"] == "z" * 5000


def test_a_body_cut_at_the_capture_cap_is_stored_in_chunks_and_reads_back_whole(tmp_path):
    """The head of a huge body (not JSON, no string to cut out) is stored in pieces no bigger than a chunk
    (the writer then never hands SQLite one huge value), survives a prune of other calls, and reads back
    byte for byte; a second call with the same head adds no chunk."""
    from r4u_proxy.store.content.store import CHUNK_CHARS

    call = load("llm_conversation_20_turns")[0]
    head = ('{"model": "gpt-4o", "messages": [{"role": "user", "content": "' + "".join(
        f"line {i} of a very long tool output é\\n" for i in range(120_000)))[: int(2.5 * CHUNK_CHARS)]  # fmt: skip
    db = tmp_path / "t.db"
    calls = [exchange({**call, "request_body": head}, 1_800_000_000.0 + i, request_truncated=True) for i in range(2)]
    calls.append(exchange(call, 1_000_000_000.0))  # an old call for the prune below
    rows = replay(db, calls)
    assert [r["request_body"] for r in rows if r["request_body"] == head] == [head, head]
    conn = sqlite3.connect(db)
    biggest = conn.execute("select max(length(body)), max(length(pieces)) from contents").fetchone()
    assert biggest[0] <= CHUNK_CHARS and biggest[1] < 1000, biggest
    assert conn.execute("select count(*) from contents where kind = 'chunk'").fetchone()[0] == 3
    conn.close()
    assert CliRunner().invoke(main, ["prune", "--db", str(db), "--older-than", "30d"]).exit_code == 0
    assert [r["request_body"] for r in _read(db, "select request_body from traces")] == [head, head]
