"""Faults under the writer: killed mid-load, a database locked longer than any timeout, a full disk.

Each test runs real clients (httpx in the app venv, 32 in flight) through a real proxy to the
simulator, breaks the writer's world, and checks what a user would: every call the app got an answer
for is in the database, `r4u proxy status` said what was happening while it happened, and what the
byte bound could not hold was counted, not lost silently.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time

import pytest
from support.faults import finish_load, recorded_ids, start_load, stats, status_json, wait_for
from support.proxy import r4u_cmd, simulator_args, start_proxy

# The lock test holds an exclusive lock this long: several of the writer's 2 s busy timeouts (the old
# writer lost its batch after three 30 s ones). R4U_FAULT_LOCK_S=120 runs the full two minutes.
LOCK_S = float(os.environ.get("R4U_FAULT_LOCK_S", "8"))
CALLS = 600  # per fault, 32 in flight


@pytest.fixture(scope="module")
def supervised(sim, tmp_path_factory):
    """One proxy for the kill and the lock: each test counts from where the other left it."""
    proxy = start_proxy(tmp_path_factory.mktemp("supervised") / "home", "--no-ui", "--no-grouping",
                        *simulator_args(sim))  # fmt: skip
    yield proxy
    proxy.stop()


def _settled(proxy) -> dict:
    return wait_for(lambda: (s := status_json(proxy.home)["stats"])["queue_depth"] == 0 and s, 30)


def test_kill_9_of_the_writer_mid_load_loses_no_acknowledged_call(supervised):
    proxy = supervised
    before = _settled(proxy)
    first_writer = before["writer_pid"]
    load = start_load(proxy.env(), "kill", CALLS, 32)
    # Kill it once it is busy: some traces written, many in flight or handed over and not yet confirmed.
    assert wait_for(lambda: len(recorded_ids(proxy.db, "kill")) >= CALLS // 5, 60)
    os.kill(first_writer, signal.SIGKILL)
    acknowledged = finish_load(load)
    assert len(acknowledged) == CALLS  # the app never noticed
    assert wait_for(lambda: recorded_ids(proxy.db, "kill") >= set(acknowledged), 60), (
        f"{len(set(acknowledged) - recorded_ids(proxy.db, 'kill'))} acknowledged calls lost; {proxy.log_tail()}"
    )
    conn = sqlite3.connect(proxy.db)
    rows = conn.execute("select count(*) from traces where id > ''").fetchone()[0]
    status = _settled(proxy)
    assert rows == before["recorded"] + CALLS  # none twice, although the unconfirmed ones went again
    # Each call (a conversation of its own) got its session once: no trace without one, none indexed twice.
    assert conn.execute("select count(*) from traces where session_id is null").fetchone()[0] == 0
    assert conn.execute("select count(*), count(distinct trace_id) from session_index where kind = 'tip'").fetchone() == (rows, rows)
    conn.close()
    assert status["writer_restarts"] == before["writer_restarts"] + 1
    assert status["writer_pid"] not in (None, first_writer)
    assert status["recorded"] == rows and status["dropped"] == 0 and status["write_errors"] == 0
    assert "writer process exited" in proxy.log_tail(200)


def test_a_lock_longer_than_every_timeout_is_shown_at_once_and_loses_nothing(supervised):
    proxy = supervised
    before = _settled(proxy)
    blocker = sqlite3.connect(proxy.db, timeout=30, check_same_thread=False)
    blocker.execute("begin exclusive")
    locked_at = time.monotonic()
    try:
        load = start_load(proxy.env(), "lock", CALLS // 2, 32)
        # Status tells at once, from the proxy's side: calls are waiting, nothing is written.
        waiting = wait_for(lambda: (s := stats(proxy.home)).get("queue_depth", 0) >= 50 and s, 20)
        assert waiting and waiting["queue_bytes"] > 50 * 2048 and waiting["recorded"] == before["recorded"]
        # Within the writer's busy timeout (2 s) plus a publish, the failing write itself shows.
        failing = wait_for(lambda: (s := stats(proxy.home)).get("failing") and s, 10)
        assert failing and "locked" in failing["last_write_error"]
        assert len(finish_load(load)) == CALLS // 2 and status_json(proxy.home)["stats"]["dropped"] == 0
        time.sleep(max(0.0, LOCK_S - (time.monotonic() - locked_at)))
        assert stats(proxy.home)["failing"] and stats(proxy.home)["queue_depth"] == CALLS // 2
    finally:
        blocker.rollback()
        blocker.close()
    assert wait_for(lambda: len(recorded_ids(proxy.db, "lock")) == CALLS // 2, 30)
    after = _settled(proxy)
    assert after["failing"] == 0 and after["dropped"] == 0
    assert after["recorded"] == before["recorded"] + CALLS // 2


def test_overflow_of_the_byte_bound_is_counted_exactly(sim, tmp_path):
    # 1 MB of room; each call carries ~20 KB: about 45 fit while the database is locked, the rest are
    # dropped and counted, and each one the app got an answer for is either recorded or counted.
    proxy = start_proxy(tmp_path / "home", "--no-ui", "--no-grouping", "--queue-bytes", "1MB", *simulator_args(sim))
    blocker = sqlite3.connect(proxy.db, timeout=30, check_same_thread=False)
    try:
        blocker.execute("begin exclusive")
        acknowledged = finish_load(start_load(proxy.env(), "over", 150, 32, pad="x" * 20_000))
        assert len(acknowledged) == 150  # the app is never slowed or failed by r4u's bound
        # The counters are published every housekeeping round: the last answers' count may be one behind.
        assert wait_for(lambda: sum(map(stats(proxy.home).get, ("queue_depth", "dropped"))) == 150, 10), stats(proxy.home)
        held = stats(proxy.home)
        assert held["queue_bytes"] <= 1024 * 1024 and held["dropped"] > 0
    finally:
        blocker.rollback()
        blocker.close()
    assert wait_for(lambda: stats(proxy.home)["queue_depth"] == 0, 30)
    final = status_json(proxy.home)["stats"]
    assert len(recorded_ids(proxy.db, "over")) == 150 - final["dropped"] == final["recorded"]
    proxy.stop()
    assert "dropped" in proxy.log_tail(200)


def _mount_tmpfs(path, size: str) -> bool:
    path.mkdir()
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(path)],
                          capture_output=True).returncode == 0  # fmt: skip


class _FullDisk:
    """A disk with no room left: a small tmpfs filled to its last block where mounting is allowed (root);
    elsewhere a file size limit on the writer process, which makes SQLite's writes fail alike (as a
    disk I/O error rather than SQLITE_FULL)."""

    def __init__(self, tmp_path) -> None:
        self.dir = tmp_path / "disk"
        self.tmpfs = _mount_tmpfs(self.dir, "6m")
        self.filler = self.dir / "filler"
        self.limited: int | None = None
        self.message = "full" if self.tmpfs else "disk i/o error"

    def fill(self, writer_pid: int) -> None:
        if self.tmpfs:
            subprocess.run(["sh", "-c", f"cat /dev/zero > {self.filler}"], capture_output=True)
        else:
            size = max(f.stat().st_size for f in self.dir.iterdir())
            subprocess.run(["prlimit", "--pid", str(writer_pid), f"--fsize={size}"], check=True)
            self.limited = writer_pid

    def free(self) -> None:
        if self.tmpfs:
            self.filler.unlink()
        elif self.limited:
            subprocess.run(["prlimit", "--pid", str(self.limited), "--fsize=unlimited"], check=True)

    def remove(self) -> None:
        if self.tmpfs:
            subprocess.run(["umount", "-l", str(self.dir)], capture_output=True)


def test_a_full_disk_is_shown_at_once_and_nothing_is_lost_once_there_is_room(sim, tmp_path):
    disk = _FullDisk(tmp_path)
    try:
        proxy = start_proxy(tmp_path / "home", "--no-ui", "--no-grouping", "--db", str(disk.dir / "traces.db"),
                            *simulator_args(sim))  # fmt: skip
        try:
            finish_load(start_load(proxy.env(), "warm", 20, 4))
            assert wait_for(lambda: len(recorded_ids(proxy.db, "warm")) == 20, 20)
            disk.fill(stats(proxy.home)["writer_pid"])
            acknowledged = finish_load(start_load(proxy.env(), "full", 200, 32, pad="y" * 2000))
            assert len(acknowledged) == 200
            failing = wait_for(lambda: (s := stats(proxy.home)).get("failing") and s, 15)
            assert failing and disk.message in failing["last_write_error"].lower(), stats(proxy.home)
            assert failing["queue_depth"] > 0 and failing["dropped"] == 0
            text = subprocess.run(r4u_cmd("proxy", "status", "--home", str(proxy.home)), capture_output=True, text=True)
            assert "failing" in text.stdout and disk.message in text.stdout.lower()
            disk.free()  # room again: everything held is written
            assert wait_for(lambda: len(recorded_ids(proxy.db, "full")) == 200, 60), proxy.log_tail()
            assert wait_for(lambda: stats(proxy.home)["failing"] == 0, 10)
            assert status_json(proxy.home)["stats"]["dropped"] == 0
        finally:
            proxy.stop()
    finally:
        disk.remove()
