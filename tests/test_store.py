"""Schema migrations and the writer process: named upgrades, batching, drops counted, flush on close."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from r4u_proxy.guard import COUNTERS
from r4u_proxy.providers import route
from r4u_proxy.store import migrations
from r4u_proxy.store.content.schema import add_trace_column
from r4u_proxy.store.migrations import MIGRATIONS, Migration, Migrations, SchemaTooNew, migrate, open_db
from r4u_proxy.store.supervisor import TraceWriter, exchange_bytes


def test_fresh_file_gets_every_contract_column_in_wal_mode(tmp_path):
    conn = open_db(tmp_path / "t.db")
    columns = {row[1] for row in conn.execute("pragma table_info(traces)")}
    contract = """id started_at project provider operation method url host path status_code request_model
    response_model stream request_headers response_headers request_body response_body latency_ms ttft_ms
    input_tokens output_tokens cache_read_tokens cache_write_tokens reasoning_tokens cost_usd finish_reason
    error prompt_text completion_text task_id""".split()
    assert set(contract) <= columns
    assert {"id", "template", "trace_count", "first_seen", "last_seen"} <= {
        row[1] for row in conn.execute("pragma table_info(tasks)")
    }
    assert conn.execute("pragma journal_mode").fetchone()[0] == "wal"
    assert conn.execute("pragma user_version").fetchone()[0] == migrations.SCHEMA_VERSION


def test_migrations_upgrade_an_old_file_and_keep_its_rows(tmp_path, monkeypatch):
    path = tmp_path / "t.db"
    conn = open_db(path)
    conn.execute("insert into traces (id, provider) values ('01OLD', 'openai')")
    conn.commit()
    conn.close()

    def v_next(c: sqlite3.Connection) -> None:  # traces is a view by now: a column goes on trace_rows
        add_trace_column(c, "example_new_column", "TEXT")

    monkeypatch.setattr(migrations, "MIGRATIONS", Migrations(*MIGRATIONS, Migration("example_v_next", v_next)))
    monkeypatch.setattr(migrations, "SCHEMA_VERSION", len(migrations.MIGRATIONS))
    conn = sqlite3.connect(path)
    assert migrate(conn) == len(migrations.MIGRATIONS)
    assert conn.execute("select id, example_new_column from traces").fetchall() == [("01OLD", None)]
    assert migrate(conn) == len(migrations.MIGRATIONS)  # idempotent


def test_a_newer_file_is_refused_not_damaged(tmp_path):
    path = tmp_path / "t.db"
    open_db(path).execute(f"pragma user_version={migrations.SCHEMA_VERSION + 5}")
    with pytest.raises(SchemaTooNew):
        open_db(path)


def _legacy_file(path, version: int) -> None:
    """A traces.db as the release before named migrations left it: the first `version` migrations run
    by its loop (each function, then PRAGMA user_version), and a trace recorded."""
    conn = sqlite3.connect(path)
    for number, migration in enumerate(list(MIGRATIONS)[:version]):
        with conn:
            migration.apply(conn)
            conn.execute(f"PRAGMA user_version={number + 1}")
    with conn:
        conn.execute("insert into traces (id, provider) values ('01OLD', 'openai')")
    conn.close()


@pytest.mark.parametrize("version", [1, 2, 3])
def test_a_file_from_before_named_migrations_is_upgraded_without_rerunning_its_migrations(tmp_path, version):
    path = tmp_path / "t.db"
    _legacy_file(path, version)
    ran: list[str] = []

    def counted(migration: Migration) -> Migration:
        def apply(conn: sqlite3.Connection) -> None:
            ran.append(migration.name)
            migration.apply(conn)

        return Migration(migration.name, apply)

    conn = sqlite3.connect(path)
    assert migrate(conn, Migrations(*map(counted, MIGRATIONS))) == len(MIGRATIONS)
    assert ran == MIGRATIONS.names()[version:]
    recorded = conn.execute("select name, applied_at from _r4u_migrations order by rowid").fetchall()
    assert [name for name, _ in recorded] == MIGRATIONS.names()
    assert all(at is None for _, at in recorded[:version])  # ran before names were recorded
    assert all(at and at.endswith("Z") for _, at in recorded[version:])
    assert conn.execute("pragma user_version").fetchone()[0] == len(MIGRATIONS)
    assert conn.execute("select id from traces").fetchall() == [("01OLD",)]
    # The upgraded file is whole: the UI's full-text index holds the old row too.
    assert conn.execute("select count(*) from traces_fts").fetchone()[0] == 1
    assert migrate(conn, Migrations(*map(counted, MIGRATIONS))) == len(MIGRATIONS)
    assert ran == MIGRATIONS.names()[version:]  # nothing ran twice


def test_a_file_with_a_migration_this_release_does_not_know_is_refused(tmp_path):
    path = tmp_path / "t.db"
    open_db(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("insert into _r4u_migrations (name, applied_at) values ('from_the_future_v1', 'x')")
    with pytest.raises(SchemaTooNew, match="from_the_future_v1"):
        open_db(path)


def test_a_file_that_ran_the_temporary_task_names_migration_keeps_opening_and_gets_task_names_v1(tmp_path):
    # Before task_names_v1 existed, main shipped `tasknames_temp` (it added tasks.name) after export_v1.
    path = tmp_path / "t.db"

    def tasknames_temp(c: sqlite3.Connection) -> None:
        c.execute("alter table tasks add column name text")

    before = Migrations()
    for migration in MIGRATIONS.before("task_names_v1"):  # what main shipped then
        before.add(migration.name, migration.apply)
        if migration.name == "export_v1":
            before.add("tasknames_temp", tasknames_temp)
    conn = migrations.connect(path)
    migrate(conn, before)
    conn.execute("insert into tasks (id, template, name) values ('task_A', 'Translate {text}', 'Translate text')")
    conn.commit()
    conn.close()

    for _ in range(2):  # and again once upgraded
        conn = open_db(path)
        assert migrations.applied_migrations(conn) == MIGRATIONS.names()
        assert conn.execute("pragma user_version").fetchone()[0] == migrations.SCHEMA_VERSION
        assert conn.execute("select id, name from tasks").fetchall() == [("task_A", "Translate text")]
        indexes = {row[1] for row in conn.execute("pragma index_list(tasks)")}
        assert "idx_tasks_name" in indexes
        conn.close()


def test_processes_opening_a_new_file_at_once_run_each_migration_once(tmp_path):
    path = tmp_path / "t.db"
    ran: list[str] = []
    lock = threading.Lock()

    def slow(name: str) -> Migration:
        def apply(conn: sqlite3.Connection) -> None:
            with lock:
                ran.append(name)
            time.sleep(0.05)  # long enough for the others to reach the lock
            conn.execute(f"create table [{name}] (x)")

        return Migration(name, apply)

    known = Migrations(*MIGRATIONS, slow("example_a"), slow("example_b"))
    assert _at_once(4, lambda: migrate(migrations.connect(path), known)) == []
    assert sorted(ran) == ["example_a", "example_b"]


def _at_once(n: int, open_file: Callable[[], object]) -> list[BaseException]:
    """Run open_file in n threads released together; the errors they raised."""
    errors: list[BaseException] = []
    start = threading.Barrier(n)

    def run() -> None:
        start.wait()
        try:
            open_file()
        except BaseException as exc:  # noqa: BLE001 - reported by the caller
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_many_connections_opening_one_new_file_at_once_all_get_wal(tmp_path):
    # SQLite does not wait for the lock that switching a fresh file to WAL needs: before connect()
    # retried it, a few of 50 rounds of 16 openers failed with "database is locked".
    errors: list[BaseException] = []
    modes: list[str] = []
    for round_ in range(50):

        def open_new(path: Path = tmp_path / f"{round_}.db") -> None:
            conn = migrations.connect(path)
            modes.append(conn.execute("PRAGMA journal_mode").fetchone()[0])
            conn.close()

        errors += _at_once(16, open_new)
    assert errors == []
    assert set(modes) == {"wal"} and len(modes) == 50 * 16


def _exchange(n: int) -> dict:
    body = b'{"model":"gpt-4o","messages":[{"role":"user","content":"hi %d"}]}' % n
    now = time.time()
    return {
        "id": f"01TEST{n:020d}", "route": route("api.openai.com", "/v1/chat/completions"), "project": None,
        "tags": None, "client": "127.0.0.1:1", "method": "POST", "scheme": "https", "host": "api.openai.com",
        "port": 443, "path": "/v1/chat/completions", "query": "", "request_headers": [("content-type", "application/json")],
        "request_body": body, "request_bytes": len(body), "request_truncated": False,
        "t_request_start": now, "t_sent": now, "status_code": 200,
        "response_headers": [("content-type", "application/json")], "t_first_byte": now + 0.01,
        "chunks": [(now + 0.02, b'{"model":"gpt-4o-2024-08-06","choices":[{"message":{"role":"assistant","content":"yo"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1}}')],
        "response_bytes": 120, "truncated": False, "t_end": now + 0.02, "error": None, "bodies_lost": 0,
        "session_hint": None,
    }  # fmt: skip


def test_writer_batches_and_flushes_everything_on_close(tmp_path):
    db = tmp_path / "t.db"
    writer = TraceWriter(db, stats_file=tmp_path / "stats.json")
    writer.start()
    for n in range(500):
        assert writer.submit(_exchange(n))
    writer.close()
    conn = sqlite3.connect(db)
    assert conn.execute("select count(*) from traces").fetchone()[0] == 500
    model, text, tokens = conn.execute(
        "select response_model, completion_text, output_tokens from traces limit 1"
    ).fetchone()
    assert (model, text, tokens) == ("gpt-4o-2024-08-06", "yo", 1)
    assert '"recorded"' in (tmp_path / "stats.json").read_text()


def test_full_queue_drops_and_counts_instead_of_blocking(tmp_path):
    size = exchange_bytes(_exchange(0))
    writer = TraceWriter(tmp_path / "t.db", queue_bytes=5 * size + size // 2)
    # No writer started: nothing confirms what is handed over, as when the disk stalls.
    before = COUNTERS.snapshot()["dropped"]
    started = time.perf_counter()
    accepted = [writer.submit(_exchange(n)) for n in range(20)]
    assert time.perf_counter() - started < 0.5  # never waits
    assert accepted.count(True) == 5 and accepted.count(False) == 15
    assert COUNTERS.snapshot()["dropped"] - before == 15
    assert writer.stats()["queue_depth"] == 5 and writer.stats()["queue_bytes"] == 5 * size


def test_writer_survives_a_locked_database(tmp_path):
    db = tmp_path / "t.db"
    open_db(db).close()
    blocker = sqlite3.connect(db, check_same_thread=False)
    blocker.execute("begin exclusive")
    writer = TraceWriter(db)
    writer.start()
    writer.submit(_exchange(1))
    threading.Timer(1.0, blocker.rollback).start()  # a reader/writer elsewhere holds the lock for 1 s
    writer.close()
    assert sqlite3.connect(db).execute("select count(*) from traces").fetchone()[0] == 1


BOOKKEEPING_TABLES = {"_r4u_migrations", "content_state", "export_state", "export_sessions", "grouping_state"}


def test_every_index_has_the_planner_statistics_of_a_million_call_file(tmp_path):
    from r4u_proxy.store.planner_stats import TABLES, index_stats

    conn = open_db(tmp_path / "traces.db")
    stats = {(tbl, idx): stat for tbl, idx, stat in conn.execute("SELECT tbl, idx, stat FROM sqlite_stat1")}
    tables = [name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    indexed = {t for t in tables if conn.execute(f"PRAGMA index_list([{t}])").fetchall() and "_fts_" not in t}
    assert indexed - BOOKKEEPING_TABLES == set(TABLES)  # an indexed table not listed would be planned blind
    for table in TABLES:
        for _, name, _, origin, partial in conn.execute(f"PRAGMA index_list([{table}])"):
            filed = table if (table, table) in stats and origin == "pk" else name
            width = sum(1 for row in conn.execute(f"PRAGMA index_xinfo([{name}])") if row[5])
            line = stats[(table, filed)]
            assert line == index_stats(conn, table, name) and len(line.split()) == 1 + width
            assert int(line.split()[0]) < 1_000_000 if partial else int(line.split()[0]) >= 1_000


def test_a_table_page_filtered_by_provider_reads_in_time_order_instead_of_sorting_the_provider(tmp_path):
    """Datasette's `traces?provider=anthropic&_sort_desc=started_at`: with no statistics SQLite took the
    provider index and sorted every call of the provider (0.4 s on a million calls, docs/benchmarks.md)."""
    conn = open_db(tmp_path / "traces.db")
    with conn:
        conn.executemany(
            "INSERT INTO traces (id, started_at, provider) VALUES (?, ?, 'anthropic')",
            [(f"t{i:05}", f"2026-11-{1 + i % 28:02}T00:00:{i % 60:02}.000Z") for i in range(2_000)],
        )
    conn.close()
    reader = sqlite3.connect(tmp_path / "traces.db")  # a new connection, as Datasette's are
    plan = " ".join(
        row[3]
        for row in reader.execute(
            "EXPLAIN QUERY PLAN SELECT rowid, id FROM traces WHERE provider = ? ORDER BY started_at DESC LIMIT 51",
            ["anthropic"],
        )
    )
    assert "TEMP B-TREE" not in plan, plan
