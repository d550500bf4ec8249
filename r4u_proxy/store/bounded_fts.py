"""Migration `bounded_fts_v1`: the full-text index sees a bounded head of each prompt and completion.

The FTS5 table stays external-content over `traces` (Datasette's `?_search=` finds it that way), but
its triggers feed it only the first FTS_CHARS characters of each column: a 50 MB prompt once added
its whole text to the index, and FTS5's snippet() is quadratic in the length of the text it reads
(measured: 16k characters 2 ms, 64k 81 ms, 256k 1.5 s, 1M 20 s). Nothing calls snippet() on this
table any more; excerpts are cut from the same bounded head in Python (datasette_plugins/snippets.py).
"""

from __future__ import annotations

import sqlite3

FTS_CHARS = 65_536


def _values(row: str) -> str:
    return f"{row}.rowid, substr({row}.[prompt_text], 1, {FTS_CHARS}), substr({row}.[completion_text], 1, {FTS_CHARS})"


TRIGGERS = [
    f"""CREATE TRIGGER [traces_ai] AFTER INSERT ON [traces] BEGIN
  INSERT INTO [traces_fts] (rowid, [prompt_text], [completion_text]) VALUES ({_values("new")});
END""",
    f"""CREATE TRIGGER [traces_ad] AFTER DELETE ON [traces] BEGIN
  INSERT INTO [traces_fts] ([traces_fts], rowid, [prompt_text], [completion_text]) VALUES ('delete', {_values("old")});
END""",
    f"""CREATE TRIGGER [traces_au] AFTER UPDATE OF [prompt_text], [completion_text] ON [traces] BEGIN
  INSERT INTO [traces_fts] ([traces_fts], rowid, [prompt_text], [completion_text]) VALUES ('delete', {_values("old")});
  INSERT INTO [traces_fts] (rowid, [prompt_text], [completion_text]) VALUES ({_values("new")});
END""",
]


def bounded_fts_v1(conn: sqlite3.Connection) -> None:
    for name in ("traces_ai", "traces_ad", "traces_au"):
        conn.execute(f"DROP TRIGGER IF EXISTS [{name}]")
    for statement in TRIGGERS:
        conn.execute(statement)
    # Index what is already stored again, bounded ('rebuild' would read the whole columns).
    conn.execute("INSERT INTO [traces_fts] ([traces_fts]) VALUES ('delete-all')")
    conn.execute(
        "INSERT INTO [traces_fts] (rowid, [prompt_text], [completion_text]) "
        f"SELECT {_values('traces')} FROM traces"
    )
