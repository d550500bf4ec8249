"""`r4u stats` sums and ranks in SQL per (model, project, task) combination and folds the combinations into
groups: every figure must equal what metrics.py's row-by-row definitions give over the same rows, for
groups that span many combinations, a model named only in response_model, NULL keys, unpriced calls and
latencies a 15-digit text would round."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from r4u_proxy.cli import main
from r4u_proxy.reports import metrics
from r4u_proxy.reports.stats import TOKENS, collect_stats
from r4u_proxy.reports.timewindow import iso_utc
from r4u_proxy.store.migrations import MIGRATIONS, connect, migrate, open_db
from r4u_proxy.store.stats_rollup import BOUNDS

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
COLUMNS = ("id", "started_at", "provider", "host", "request_model", "response_model", "project", "task_id",
           "status_code", "error", "cost_usd", "price_source", "latency_ms", "ttft_ms", *TOKENS)  # fmt: skip


def _rows(n: int) -> list[dict]:
    rng = random.Random(20)
    rows = []
    for i in range(n):
        request_model = rng.choice(["gpt-4o", "claude-sonnet-4", None])
        failed = rng.random() < 0.1
        row = {
            "id": f"t{i:04}", "started_at": iso_utc(NOW - timedelta(hours=rng.uniform(0, 24 * 10))),
            "provider": "openai", "host": "api.openai.com", "request_model": request_model,
            # a model named only in the response, and one named differently in request and response
            "response_model": rng.choice([request_model, "gpt-4o", None]),
            "project": rng.choice(["shop", "blog", None]), "task_id": rng.choice(["task_a", "task_b", None]),
            "status_code": rng.choice([500, 429]) if failed else 200, "error": "stream cut" if i % 37 == 0 else None,
            "cost_usd": None if rng.random() < 0.15 else rng.uniform(0, 0.02), "price_source": None,
            # 0.1 + 0.2 style values need 17 digits to read back the same double
            "latency_ms": None if i % 11 == 0 else rng.uniform(50, 20_000) + 0.1 + 0.2,
            "ttft_ms": None if i % 3 == 0 else rng.uniform(10, 900),
        }  # fmt: skip
        if i % 13 == 0:  # on a bucket's bound: it belongs to the bucket above (store/stats_rollup.py)
            row["latency_ms"] = float(BOUNDS[i % len(BOUNDS)])
        for name in TOKENS:
            row[name] = None if rng.random() < 0.2 else rng.randrange(5000)
        rows.append(row)
    return rows


def _expected(rows: list[dict], key) -> dict:
    """The group figures the definitions in metrics.py give, one row at a time."""
    out: dict = {}
    for row in rows:
        g = out.setdefault(key(row), {"calls": 0, "errors": 0, "spend": None, "unpriced": 0, "lat": [], "ttft": [],
                                      **dict.fromkeys(TOKENS, 0)})  # fmt: skip
        g["calls"] += 1
        g["errors"] += metrics.is_error(row["status_code"], row["error"])
        if row["cost_usd"] is not None:
            g["spend"] = (g["spend"] or 0) + row["cost_usd"]
        g["unpriced"] += metrics.is_unpriced(row)
        for name in TOKENS:
            g[name] += row[name] or 0
        for column, values in (("latency_ms", g["lat"]), ("ttft_ms", g["ttft"])):
            if row[column] is not None:
                values.append(row[column])
    return out


def _check(group, want) -> None:
    assert (group.calls, group.errors, group.unpriced_calls) == (
        want["calls"],
        want["errors"],
        want["unpriced"],
    )
    assert group.spend_usd == pytest.approx(want["spend"], rel=1e-12)
    assert {name: getattr(group, name) for name in TOKENS} == {name: want[name] for name in TOKENS}
    assert {"p50": group.latency_p50_ms, "p95": group.latency_p95_ms} == metrics.percentiles(want["lat"])
    assert {"p50": group.ttft_p50_ms, "p95": group.ttft_p95_ms} == metrics.percentiles(want["ttft"])


KEYS = {
    "model": lambda r: r["request_model"] or r["response_model"],
    "project": lambda r: r["project"],
    "task": lambda r: r["task_id"],
}


def _insert(path, rows: list[dict]):
    conn = open_db(path)
    with conn:
        conn.executemany(
            f"INSERT INTO traces ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})",
            [[row[c] for c in COLUMNS] for row in rows],
        )
    return conn


def _check_report(report, rows: list[dict]) -> None:
    window = [r for r in rows if report.since is None or r["started_at"] >= report.since]
    assert 0 < len(window) <= len(rows)
    _check(report.total, _expected(window, lambda r: None)[None])
    for grouping, key in KEYS.items():
        expected = _expected(window, key)
        got = {g.key: g for g in report.groups[grouping]}
        assert set(got) == set(expected)
        for k, want in expected.items():
            _check(got[k], want)


@pytest.mark.parametrize("method", ["read", "walk"])
# 6h: a few of the rollup's hours, read by its hour index; 2d: scanned; 9d of 10: all history less the first day
@pytest.mark.parametrize("since", [None, "6h", "2d", "9d"])
def test_stats_figures_equal_the_row_by_row_definitions(tmp_path, since, method):
    path = tmp_path / "traces.db"
    rows = _rows(600)
    _insert(path, rows).close()
    report = collect_stats(path, since, now=NOW, method=method)
    _check_report(report, rows)
    assert {g.key for g in report.groups["model"]} == {"gpt-4o", "claude-sonnet-4", None}


@pytest.mark.parametrize("method", ["read", "walk"])
def test_stats_stay_exact_when_grouping_moves_calls_and_prune_deletes_them(tmp_path, method):
    # the sums come from an hourly rollup kept by triggers: moving a call to another task (grouping
    # merging tasks), repricing it or deleting it (r4u prune) must show in every figure
    path = tmp_path / "traces.db"
    rows = _rows(400)
    conn = _insert(path, rows)
    with conn:
        conn.execute("UPDATE trace_rows SET task_id = 'task_b' WHERE task_id = 'task_a'")
        conn.execute("UPDATE trace_rows SET cost_usd = 0.5 WHERE id IN ('t0001', 't0002', 't0003')")
        conn.execute("DELETE FROM trace_rows WHERE id IN (SELECT id FROM trace_rows ORDER BY id LIMIT 50)")
    conn.close()
    for row in rows:
        if row["task_id"] == "task_a":
            row["task_id"] = "task_b"
        if row["id"] in ("t0001", "t0002", "t0003"):
            row["cost_usd"] = 0.5
    rows = sorted(rows, key=lambda r: r["id"])[50:]
    for since in (None, "2d"):
        report = collect_stats(path, since, now=NOW, method=method)
        _check_report(report, rows)
        assert "task_a" not in {g.key for g in report.groups["task"]}  # no empty group left behind


def test_a_file_from_before_the_stats_rollup_is_summed_in_full_once_migrated(tmp_path):
    path = tmp_path / "traces.db"
    rows = _rows(300)
    conn = connect(path)
    migrate(conn, MIGRATIONS.before("stats_rollup_v1"))
    with conn:
        conn.executemany(
            f"INSERT INTO traces ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})",
            [[row[c] for c in COLUMNS] for row in rows],
        )
    conn.execute("ANALYZE")  # as ui_indexes_v1 does: the new indexes then get statistics of their own
    migrate(conn)
    percentile_indexes = [f"idx_stats_{g}_{m}" for g in ("model", "project", "task") for m in ("latency", "ttft")]
    have = {idx for (idx,) in conn.execute("SELECT idx FROM sqlite_stat1")}
    assert set(percentile_indexes) <= have  # planned with statistics, not blind
    conn.close()
    for method in ("read", "walk"):
        _check_report(collect_stats(path, None, now=NOW, method=method), rows)


def test_calls_with_no_project_or_task_take_no_room_in_their_percentile_indexes_and_stay_exact(tmp_path):
    """The first release of stats_rollup_v1 gave every call an entry under project and task, NULL ones too:
    migrated, those indexes hold only calls that have one, and the '' groups are ranked along the total's."""
    path = tmp_path / "traces.db"
    rows = _rows(400)
    for row in rows[100:]:
        row["project"] = None  # most calls name no project, as when no one sets R4U_PROJECT
    conn = connect(path)
    migrate(conn, MIGRATIONS.before("stats_indexes_v2"))
    for grouping, column in (("project", "project"), ("task", "task_id")):
        for metric in ("latency", "ttft"):  # as the release built them
            conn.execute(f"DROP INDEX idx_stats_{grouping}_{metric}")
            conn.execute(f"CREATE INDEX idx_stats_{grouping}_{metric} ON trace_rows({column}, {metric}_ms, started_at)")
    with conn:
        conn.executemany(
            f"INSERT INTO traces ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})",
            [[row[c] for c in COLUMNS] for row in rows],
        )

    def entries(name: str) -> int:
        return conn.execute("SELECT sum(ncell) FROM dbstat WHERE name = ?", [name]).fetchone()[0]

    assert entries("idx_stats_project_latency") == 400
    migrate(conn)
    named = sum(1 for row in rows if row["project"] is not None)
    assert entries("idx_stats_project_latency") == entries("idx_stats_project_ttft") == named
    assert entries("idx_stats_task_latency") == sum(1 for row in rows if row["task_id"] is not None)
    conn.close()
    for since in (None, "2d"):
        for method in ("read", "walk"):
            report = collect_stats(path, since, now=NOW, method=method)
            _check_report(report, rows)


# what the proxies of earlier releases left: before the stats rollups, and before their hour index
@pytest.mark.parametrize("release", ["stats_rollup_v1", "stats_indexes_v2"])
def test_r4u_stats_on_a_file_from_the_release_before_upgrades_it_once(tmp_path, release):
    path = tmp_path / "traces.db"
    rows = _rows(100)
    conn = connect(path)
    migrate(conn, MIGRATIONS.before(release))
    with conn:
        conn.executemany(
            f"INSERT INTO traces ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})",
            [[row[c] for c in COLUMNS] for row in rows],
        )
    conn.close()
    result = CliRunner().invoke(main, ["stats", "--db", str(path), "--json"])
    assert result.exit_code == 0, result.output
    assert "upgrading" in result.stderr
    assert json.loads(result.stdout)["total"]["calls"] == 100
    again = CliRunner().invoke(main, ["stats", "--db", str(path), "--json", "--since", "90d"])  # reads the rollup
    assert again.exit_code == 0 and "upgrading" not in again.stderr, again.output
    assert json.loads(again.stdout)["total"]["calls"] == 100


def test_stats_limit_keeps_the_most_expensive_groups_and_counts_the_rest(tmp_path):
    path = tmp_path / "traces.db"
    rows = _rows(300)
    _insert(path, rows).close()
    full = collect_stats(path, now=NOW)
    top = collect_stats(path, now=NOW, limit=2)
    for grouping in KEYS:
        assert [g.as_dict() for g in top.groups[grouping]] == [g.as_dict() for g in full.groups[grouping][:2]]
        assert top.more[grouping] == len(full.groups[grouping]) - 2
    assert top.total == full.total
