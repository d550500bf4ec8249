"""Open traces.db and bring its schema up to date with named migrations.

Each migration is a function `(conn) -> None` with a name. `migrate()` runs, in the order of
`MIGRATIONS` below, every one the file has not recorded yet, and records it in the
`_r4u_migrations` table (name, applied_at), each in its own write transaction, so a file
tells exactly which changes it has (like llm's `_llm_migrations` or sqlite-migrate's table).

How to add a migration:

1. Write the function in the module of the feature that needs it (the contract tables live in
   `store/schema.py`, grouping's in `grouping/schema.py`, the UI's in `store/ui_indexes.py`):
   `def sessions_v1(conn: sqlite3.Connection) -> None: conn.execute("ALTER TABLE ...")`.
   It may assume every migration listed before it has run; it must not commit.
2. Append one line at the end of the list below: `MIGRATIONS.add("sessions_v1", sessions_v1)`.
   Never reorder, rename or remove a line: the names are what files on users' disks record.
   (A temporary migration that a named one replaces goes into `RETIRED` instead: files that ran it
   keep opening, and the named one runs on them too, so it must not assume the change is missing.)

Files written before migrations had names (PRAGMA user_version 1..3, no `_r4u_migrations`
table) are recognised: user_version N means the first N migrations below ran. After every
migration `PRAGMA user_version` is set to the number applied, so a release that only knows
user_version refuses a file newer than itself instead of damaging it.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from r4u_proxy.export.schema import export_v1
from r4u_proxy.grouping.schema import grouping_v1, task_names_v1
from r4u_proxy.ids import iso_utc
from r4u_proxy.pricing.schema import pricing_inputs_v1
from r4u_proxy.sessions.schema import sessions_v1
from r4u_proxy.store.bounded_fts import bounded_fts_v1
from r4u_proxy.store.content.schema import content_store_v1
from r4u_proxy.store.planner_stats import planner_stats_v1
from r4u_proxy.store.schema import contract_v1
from r4u_proxy.store.stats_rollup import stats_indexes_v2, stats_rollup_v1
from r4u_proxy.store.task_rollup import task_rollup_v1
from r4u_proxy.store.ui_indexes import add_ui_indexes, add_unpriced_index, rebuild_rollup
from r4u_proxy.store.websocket_schema import websocket_v1

MIGRATIONS_TABLE = "_r4u_migrations"
# What PRAGMA user_version 1, 2 and 3 meant before migrations were recorded by name.
USER_VERSION_NAMES = ("contract_v1", "grouping_v1", "ui_indexes_v1")


class SchemaTooNew(RuntimeError):
    pass


@dataclass(frozen=True)
class Migration:
    name: str
    apply: Callable[[sqlite3.Connection], None]


class Migrations:
    """An ordered list of named migrations; `add` appends (names are unique)."""

    def __init__(self, *migrations: Migration) -> None:
        self._items: list[Migration] = []
        for migration in migrations:
            self.add(migration.name, migration.apply)

    def add(self, name: str, apply: Callable[[sqlite3.Connection], None]) -> None:
        if any(m.name == name for m in self._items):
            raise ValueError(f"migration {name!r} is already registered")
        self._items.append(Migration(name, apply))

    def __call__(self, name: str) -> Callable[[Callable[[sqlite3.Connection], None]], Callable]:
        """Decorator form of `add`, for a migration written next to the list."""

        def register(apply: Callable[[sqlite3.Connection], None]) -> Callable[[sqlite3.Connection], None]:
            self.add(name, apply)
            return apply

        return register

    def __iter__(self) -> Iterator[Migration]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def names(self) -> list[str]:
        return [m.name for m in self._items]

    def until(self, name: str) -> Migrations:
        """The list up to and including `name`: what a file of the release that ended there has."""
        names = self.names()
        return Migrations(*self._items[: names.index(name) + 1])

    def before(self, name: str) -> Migrations:
        """The list up to `name`, without it: a file made by the release before that migration."""
        names = self.names()
        return Migrations(*self._items[: names.index(name)])


# The order every traces.db goes through. Append only (see the module docstring).
MIGRATIONS = Migrations()
MIGRATIONS.add("contract_v1", contract_v1)  # store/schema.py: traces and tasks with the contract columns
MIGRATIONS.add("grouping_v1", grouping_v1)  # grouping/schema.py: task stats columns, grouping bookmark
MIGRATIONS.add("ui_indexes_v1", add_ui_indexes)  # store/ui_indexes.py: dashboard indexes, rollup, FTS
MIGRATIONS.add("rollup_v2", rebuild_rollup)  # store/ui_indexes.py: the hourly rollup sums unpriced calls
MIGRATIONS.add("pricing_inputs_v1", pricing_inputs_v1)  # pricing/schema.py: service_tier, cache_write_1h_tokens
MIGRATIONS.add("sessions_v1", sessions_v1)  # sessions/schema.py: session columns, client_name, session_index
MIGRATIONS.add("export_v1", export_v1)  # export/schema.py: the live exporter's watermark and session root spans
MIGRATIONS.add("websocket_v1", websocket_v1)  # store/websocket_schema.py: audio tokens, WebSocket columns, connections
MIGRATIONS.add("task_names_v1", task_names_v1)  # grouping/schema.py: tasks.name, a readable name per task
MIGRATIONS.add("bounded_fts_v1", bounded_fts_v1)  # store/bounded_fts.py: the FTS index sees 64k characters a text
MIGRATIONS.add("unpriced_index_v1", add_unpriced_index)  # store/ui_indexes.py: unpriced calls by reason
# store/content/schema.py: traces becomes a view over trace_rows, request content stored once, the FTS index
# fed what each call sent first (bounded). A migration after this one adds a traces column with
# add_trace_column() (ALTER TABLE on trace_rows, view rebuilt).
MIGRATIONS.add("content_store_v1", content_store_v1)
MIGRATIONS.add("task_rollup_v1", task_rollup_v1)  # store/task_rollup.py: per-task totals for the tasks list
MIGRATIONS.add("stats_rollup_v1", stats_rollup_v1)  # store/stats_rollup.py: r4u stats reads rollups, ranks by index
MIGRATIONS.add("stats_indexes_v2", stats_indexes_v2)  # store/stats_rollup.py: no entries for no project/task
MIGRATIONS.add("planner_stats_v1", planner_stats_v1)  # store/planner_stats.py: sqlite_stat1 of a million-call file

# Names a file may record that no longer run: temporary migrations whose change a named one now makes.
# tasknames_temp (between export_v1 and websocket_v1) added tasks.name before task_names_v1 existed;
# task_names_v1 adds it only if missing. stats_index_v1 (after task_rollup_v1, never released) built an
# index stats_rollup_v1 drops.
RETIRED = frozenset({"tasknames_temp", "stats_index_v1"})

SCHEMA_VERSION = len(MIGRATIONS)


def connect(path: str | Path, *, check_same_thread: bool = True) -> sqlite3.Connection:
    """A connection in WAL mode with sane settings for a file shared with readers (Datasette)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    new = not Path(path).exists() or Path(path).stat().st_size == 0
    conn = sqlite3.connect(str(path), check_same_thread=check_same_thread, timeout=30)
    if new:  # lets `r4u prune` give freed pages back; only before WAL mode writes the header (else a VACUUM)
        conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
    _enter_wal(conn)
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


def _enter_wal(conn: sqlite3.Connection, patience_s: float = 30.0) -> None:
    # Switching a fresh file to WAL needs a lock SQLite does not wait for (the busy handler is not
    # called there): processes opening a new file at once would fail with "database is locked".
    deadline = time.monotonic() + patience_s
    pause = 0.005
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.2)


def applied_migrations(conn: sqlite3.Connection) -> list[str]:
    """The names this file records as applied, oldest first (a file from before names: by user_version)."""
    if _has_table(conn):
        rows = conn.execute(f"SELECT name FROM [{MIGRATIONS_TABLE}] ORDER BY rowid")
        return [name for (name,) in rows if name not in RETIRED]
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > len(USER_VERSION_NAMES):
        raise SchemaTooNew(_too_new(f"schema version {version}"))
    return list(USER_VERSION_NAMES[:version])


def _has_table(conn: sqlite3.Connection) -> bool:
    query = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
    return conn.execute(query, (MIGRATIONS_TABLE,)).fetchone() is not None


def _too_new(what: str) -> str:
    return f"traces.db has {what}, newer than this r4u knows ({SCHEMA_VERSION} migrations); upgrade r4u"


def _check_known(conn: sqlite3.Connection, applied: list[str], known: Migrations) -> None:
    unknown = [name for name in applied if name not in known.names()]
    if unknown:
        raise SchemaTooNew(_too_new(f"migrations {', '.join(unknown)}"))
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > len(known):
        raise SchemaTooNew(_too_new(f"schema version {version}"))


def _record(conn: sqlite3.Connection, names: list[str], applied_at: str | None) -> None:
    conn.execute(f"CREATE TABLE IF NOT EXISTS [{MIGRATIONS_TABLE}] (name TEXT PRIMARY KEY, applied_at TEXT)")
    conn.executemany(
        f"INSERT OR IGNORE INTO [{MIGRATIONS_TABLE}] (name, applied_at) VALUES (?, ?)",
        [(name, applied_at) for name in names],
    )


def migrate(conn: sqlite3.Connection, migrations: Migrations | None = None) -> int:
    """Apply the migrations this file has not recorded yet; return how many it has now.

    Each runs in its own IMMEDIATE transaction together with its record, and the list is read
    again under that lock: the proxy's writer, grouping and UI processes may all open the file at
    once, and each migration still runs exactly once. A file from before names first gets its old
    migrations recorded (applied_at NULL: when they ran is unknown).
    """
    known = migrations if migrations is not None else MIGRATIONS
    applied = applied_migrations(conn)
    _check_known(conn, applied, known)
    pending = [m for m in known if m.name not in applied]
    if not pending and _has_table(conn):
        return len(applied)
    with _write_lock(conn):
        _record(conn, applied_migrations(conn), None)
    for migration in pending:
        with _write_lock(conn):
            applied = applied_migrations(conn)
            if migration.name in applied:
                continue  # another process got there first
            migration.apply(conn)
            _record(conn, [migration.name], iso_utc(time.time()))
            conn.execute(f"PRAGMA user_version={len(applied) + 1}")
    return len(applied_migrations(conn))


@contextlib.contextmanager
def _write_lock(conn: sqlite3.Connection) -> Iterator[None]:
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.rollback()
        raise
    conn.commit()


def open_db(path: str | Path, *, check_same_thread: bool = True) -> sqlite3.Connection:
    conn = connect(path, check_same_thread=check_same_thread)
    migrate(conn)
    return conn
