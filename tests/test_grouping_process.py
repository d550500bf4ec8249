"""The grouping child process: picks up traces by itself, survives being killed, stops with its owner."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import time

from support.prompts import fill, insert, insert_all, recorded

from r4u_proxy.grouping.process import GroupingProcess
from r4u_proxy.store.migrations import open_db


def grouped(db) -> tuple[int, int]:
    conn = sqlite3.connect(db, timeout=30)
    try:
        return conn.execute("SELECT COUNT(task_id), COUNT(*) FROM traces").fetchone()
    finally:
        conn.close()


def wait_all_grouped(db, expected: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if grouped(db) == (expected, expected):
            return
        time.sleep(0.1)
    raise AssertionError(f"grouped {grouped(db)}, wanted {expected}")


def logged_batches(log, total: int, timeout: float = 30) -> list[int]:
    """The batch sizes the child logged, once they add up to `total` (or what they are at the timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        lines = log.read_text().splitlines() if log.exists() else []
        batches = [int(line.split("grouped ")[1].split()[0]) for line in lines if "grouped " in line]
        if sum(batches) >= total or time.monotonic() > deadline:
            return batches
        time.sleep(0.1)


def test_child_groups_bursts_survives_kill_and_stops(tmp_path):
    db = tmp_path / "traces.db"
    open_db(db).close()
    log = tmp_path / "logs" / "grouping.log"
    rng = random.Random(4)
    process = GroupingProcess(str(db), str(log))
    process.start()
    try:
        for _ in range(600):  # a burst: worked off in batches
            insert(db, fill(rng, rng.choice(["translate", "extract", "support"]))[0])
        process.notify()
        wait_all_grouped(db, 600)
        batches = logged_batches(log, 600)  # the child logs a batch just after committing it
        assert sum(batches) == 600 and max(batches) <= 200

        first_pid = process.pid
        while_dead = [recorded(fill(rng, "translate")[0]) for _ in range(50)]
        os.kill(first_pid, signal.SIGKILL)
        # Recorded while the child is dead, in one quick batch: a child forked while this process is
        # inside SQLite would inherit its lock state and wait for a lock nobody holds.
        insert_all(db, while_dead)
        deadline = time.monotonic() + 30
        while not (process.alive and process.pid != first_pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert process.alive and process.pid != first_pid and process.restarts == 1
        wait_all_grouped(db, 650)
        assert "restarting" in log.read_text()
    finally:
        process.stop(10)
    assert not process.alive
    insert(db, fill(rng, "translate")[0])
    time.sleep(1.5)
    assert grouped(db) == (650, 651)  # stopped means stopped
