"""Tables, views and triggers of content storage, and its migration (`content_store_v1`).

    trace_rows      one row per call, what the writer inserts: every `traces` column except the bodies,
                    plus request_content / request_tip / response_content (references below)
    contents        each distinct piece of content once, keyed by a hash of its exact JSON text:
                    message | value (system prompt, tools, other big top-level values) | shape (a request
                    body with its message list and values cut out) | body (a whole body, for families
                    without message hooks) | string (a long JSON string, as plain text; with a media_type
                    it is a base64 payload: image, audio, embedding) | response (one with a long string) |
                    chunk (a slice of a text too long to insert whole: store.py CHUNK_CHARS)
    message_nodes   conversations as a trie: (parent node, message content) -> node; a request's message
                    list is the path from its `request_tip` to the root
    traces          a VIEW: trace_rows with request_body, prompt_text and response_body rebuilt in plain
                    SQL (JSON1 json_each, a recursive walk up message_nodes, group_concat). Writes through
                    it work too (INSTEAD OF triggers) for tools and tests; r4u itself writes trace_rows.
    traces_fts      FTS5 over `trace_search`: per call, only the text it was the first to send (new
                    messages, a system prompt no call sent before) and its completion, bounded: the
                    first FTS_CHARS characters of each message (and of the completion), FTS_TRACE_CHARS
                    of a call's prompt in all. Each message is indexed once, by the call that sent it
                    first, and no call feeds the index more than that (store/bounded_fts.py says why)

Pieces (`contents.pieces`, a JSON array) hold JSON text with other contents cut out of it: a string is
literal text, an integer the id of the content that goes there (a string content as json_quote(text)),
null (shapes only) the message list. `text_pieces` do the same for the readable text (strings as they
are). Concatenated, they give back the JSON value that was stored (strings.py says why not the bytes).
"""

from __future__ import annotations

import sqlite3

from r4u_proxy.store.bounded_fts import FTS_CHARS

# The most prompt text the index sees of one call (FTS_CHARS per message): a call that opens a long
# conversation (a resumed session) sends many messages first; excerpts are cut from the same text.
FTS_TRACE_CHARS = 4 * FTS_CHARS
TRACE_TABLE = "trace_rows"
# traces column -> the trace_rows column holding it for rows written before content storage
LEGACY_COLUMNS = {"request_body": "legacy_request_body", "prompt_text": "legacy_prompt_text"}
REFERENCE_COLUMNS = {
    "request_content": "INTEGER",  # contents.id: the request's shape (or whole body)
    "request_tip": "INTEGER",  # message_nodes.id of the last message; 0 for an empty list, NULL for none
    "response_content": "INTEGER",  # contents.id when the response body had long strings (kept once) cut out
    "request_headers_content": "INTEGER",  # contents.id of the headers a session sends on every call
    "response_raw_content": "INTEGER",  # contents.id (a string) of a long raw event stream
    "pruned_at": "TEXT",  # when `r4u prune --keep-stats` or --max-db-size removed this call's bodies
}
HIDDEN_COLUMNS = {
    "request_content", "request_tip", "response_content", "request_headers_content", "response_raw_content",
}  # fmt: skip

TABLES = [
    """CREATE TABLE IF NOT EXISTS contents (
  id INTEGER PRIMARY KEY,
  hash BLOB UNIQUE,          -- 16-byte blake2b of the full JSON text; NULL for bodies written through the view and raw event streams
  kind TEXT NOT NULL,        -- message | value | shape | body | string | response | headers | chunk
  body TEXT,                 -- the JSON text exactly as sent; NULL when `pieces` holds it
  pieces TEXT,               -- JSON array: literal text, ids of contents cut out, null = the message list
  text TEXT,                 -- what prompt_text shows of it ("user: ..."); strings: the string itself
  text_pieces TEXT,          -- `text` with long strings cut out (pieces as above), when text is NULL
  media_type TEXT,           -- strings that are base64 payloads: image/png, audio/wav, application/pdf, base64
  bytes INTEGER,             -- characters of the full JSON text (payloads: decoded bytes)
  trace_id TEXT              -- the call that sent it first
)""",
    """CREATE TABLE IF NOT EXISTS message_nodes (
  id INTEGER PRIMARY KEY,
  parent INTEGER NOT NULL,   -- 0 at the start of a conversation
  content INTEGER NOT NULL,  -- contents.id of the message
  trace_id TEXT,             -- the call that sent this conversation prefix first
  UNIQUE (parent, content)
)""",
    "CREATE TABLE IF NOT EXISTS content_state (key TEXT PRIMARY KEY, value)",
]

NL2 = "char(10) || char(10)"  # prompt_text joins its blocks with a blank line, as ingest/parse.py does


def expand(alias: str) -> str:
    """The JSON text of content row `alias`: its body, or its pieces with the strings put back."""
    return (
        f"coalesce({alias}.body, (select group_concat(case when x.id is null then p.value "
        "else coalesce(x.body, json_quote(x.text)) end, '') "
        f"from json_each({alias}.pieces) p left join contents x on p.type = 'integer' and x.id = p.value))"
    )


def readable(alias: str) -> str:
    """The readable text of content row `alias` (NULL when it has none)."""
    return (
        f"coalesce({alias}.text, (select group_concat(coalesce(x.text, p.value), '') "
        f"from json_each({alias}.text_pieces) p left join contents x on p.type = 'integer' and x.id = p.value))"
    )


def _walk(tip: str, only_trace: str | None = None) -> str:
    """A recursive CTE `walk(node, depth)` from node `tip` up to the root (depth 0 = the last message).

    With `only_trace`, it stops at the first node another call sent first: the messages this call added.
    """
    if only_trace is None:
        start, step = f"where {tip} > 0", "where n.parent > 0"
    else:
        first = "(select trace_id from message_nodes where id = {node})"
        start = f"where {tip} > 0 and {first.format(node=tip)} = {only_trace}"
        step = f"where n.parent > 0 and {first.format(node='n.parent')} = {only_trace}"
    return (
        f"with recursive walk(node, depth) as (select {tip}, 0 {start} "
        f"union all select n.parent, walk.depth + 1 from message_nodes n join walk on n.id = walk.node {step})"
    )


def messages_json(tip: str) -> str:
    return (
        f"({_walk(tip)} select '[' || coalesce(group_concat(m, ','), '') || ']' from ("
        f"select {expand('c')} as m from walk join message_nodes n on n.id = walk.node "
        "join contents c on c.id = n.content order by walk.depth desc))"
    )


REQUEST_BODY = f"""case when r.request_content is null then r.legacy_request_body else (
  select case when s.kind = 'shape' then (
      select group_concat(case when p.type = 'null' then {messages_json("r.request_tip")}
                               else coalesce({expand("v")}, p.value) end, '')
      from json_each(s.pieces) p left join contents v on p.type = 'integer' and v.id = p.value)
    else {expand("s")} end
  from contents s where s.id = r.request_content) end"""


def _prompt(only_new: bool) -> str:
    """prompt_text: the texts of the shape's values (system prompt), then of each message, a blank line apart.

    only_new: just what this call sent first (what traces_fts indexes for it)."""
    mine = " and v.trace_id = r.id" if only_new else ""

    def block(alias: str) -> str:  # what the index sees of one message or value
        return f"substr({readable(alias)}, 1, {FTS_CHARS})" if only_new else readable(alias)

    whole_body = f"case when s.trace_id = r.id then {block('s')} end" if only_new else readable("s")
    return f"""case when r.request_content is null then r.legacy_prompt_text else (
  select case when s.kind = 'shape' then (
      {_walk("r.request_tip", "r.id" if only_new else None)}
      select group_concat(t, {NL2}) from (
        select {block("v")} as t, 0 as part, p.key as k from json_each(s.pieces) p
          left join contents v on p.type = 'integer' and v.id = p.value
          where (v.text is not null or v.text_pieces is not null){mine}
        union all
        select {block("c")}, 1, -walk.depth from walk join message_nodes n on n.id = walk.node
          join contents c on c.id = n.content where c.text is not null or c.text_pieces is not null
        order by 2, 3))
    else {whole_body} end
  from contents s where s.id = r.request_content) end"""


PROMPT_TEXT = _prompt(only_new=False)
# What traces_fts indexes of a call's prompt; a row written before content storage (legacy_prompt_text,
# indexed once converted) or through the view (one 'body' content) is bounded as a whole.
NEW_PROMPT_TEXT = f"substr({_prompt(only_new=True)}, 1, {FTS_TRACE_CHARS})"
RESPONSE_BODY = f"""case when r.response_content is null then r.response_body else (
  select {expand("s")} from contents s where s.id = r.response_content) end"""
# A long raw event stream is a string content: kept in the row it made the row span a page of its own.
RESPONSE_RAW = """case when r.response_raw_content is null then r.response_raw else (
  select text from contents where id = r.response_raw_content) end"""
# The headers every call of a client sends alike are a content; trace_rows.request_headers keeps the ones
# that change per call (store.PER_CALL_HEADERS). json_patch puts those back (at the end: same object).
REQUEST_HEADERS = f"""case when r.request_headers_content is null then r.request_headers else json_patch(
  (select {expand("h")} from contents h where h.id = r.request_headers_content), coalesce(r.request_headers, '{{}}')) end"""

# A row written before content storage whose bodies the converter has not reached yet (convert.py). It is
# left out of traces_fts until converted; the converter indexes it then. So is a row whose bodies a prune
# removed: it has nothing left to find.
PENDING = "{row}.request_content is null and ({row}.legacy_request_body is not null or {row}.legacy_prompt_text is not null)"
INDEXED = "not (" + PENDING + ") and {row}.pruned_at is null"
FTS_WATCHED = "id, request_content, request_tip, legacy_request_body, legacy_prompt_text, completion_text, pruned_at"
# A call whose id changes keeps what it sent first: its contents and message nodes follow it, before it is
# indexed again under its new state (traces_fts indexes per call what it sent first).
MOVE_FIRST_SENT = "".join(
    f"update {table} set trace_id = new.id where new.id is not old.id and trace_id = old.id; "
    for table in ("contents", "message_nodes")
)


def _fts_statements() -> list[str]:
    add = (
        "insert into traces_fts (rowid, prompt_text, completion_text) "
        "select rowid, prompt_text, completion_text from trace_search where rowid = {row}.rowid;"
    )
    remove = (
        "insert into traces_fts (traces_fts, rowid, prompt_text, completion_text) "
        "select 'delete', rowid, prompt_text, completion_text from trace_search where rowid = {row}.rowid;"
    )
    return [
        f"""CREATE VIEW IF NOT EXISTS trace_search AS SELECT r.rowid AS rowid, {NEW_PROMPT_TEXT} AS prompt_text,
  substr(r.completion_text, 1, {FTS_CHARS}) AS completion_text FROM {TRACE_TABLE} r""",
        "CREATE VIRTUAL TABLE IF NOT EXISTS traces_fts USING FTS5 (prompt_text, completion_text, content=trace_search)",
        f"CREATE TRIGGER IF NOT EXISTS trace_rows_fts_ai AFTER INSERT ON {TRACE_TABLE} "
        f"WHEN {INDEXED.format(row='new')} BEGIN {add.format(row='new')} END",
        f"CREATE TRIGGER IF NOT EXISTS trace_rows_fts_bd BEFORE DELETE ON {TRACE_TABLE} "
        f"WHEN {INDEXED.format(row='old')} BEGIN {remove.format(row='old')} END",
        f"CREATE TRIGGER IF NOT EXISTS trace_rows_fts_bu BEFORE UPDATE OF {FTS_WATCHED} ON {TRACE_TABLE} "
        f"WHEN {INDEXED.format(row='old')} BEGIN {remove.format(row='old')} END",
        f"CREATE TRIGGER IF NOT EXISTS trace_rows_fts_au AFTER UPDATE OF {FTS_WATCHED} ON {TRACE_TABLE} BEGIN "
        f"{MOVE_FIRST_SENT}{add.format(row='new')[:-1]} and {INDEXED.format(row='new')}; END",
    ]


def _base_columns(conn: sqlite3.Connection) -> list[str]:
    return [row[1] for row in conn.execute(f"PRAGMA table_info([{TRACE_TABLE}])")]


def view_columns(conn: sqlite3.Connection) -> list[str]:
    """The columns of `traces`, in trace_rows' order, the bodies under their contract names."""
    legacy = {v: k for k, v in LEGACY_COLUMNS.items()}
    return [legacy.get(c, c) for c in _base_columns(conn) if c not in HIDDEN_COLUMNS]


def _view_sql(conn: sqlite3.Connection) -> str:
    computed = {
        "request_body": REQUEST_BODY, "prompt_text": PROMPT_TEXT, "response_body": RESPONSE_BODY,
        "request_headers": REQUEST_HEADERS, "response_raw": RESPONSE_RAW,
    }  # fmt: skip
    select = ["r.rowid AS rowid"]  # a view has no rowid of its own; search and tools join on this one
    select += [f"{computed[c]} AS [{c}]" if c in computed else f"r.[{c}]" for c in view_columns(conn)]
    return f"CREATE VIEW traces AS SELECT {', '.join(select)} FROM {TRACE_TABLE} r"


def _write_triggers(conn: sqlite3.Connection) -> list[str]:
    """INSTEAD OF triggers: `traces` stays writable. A body written this way is stored whole (not split into
    messages), in one `contents` row of kind 'body' with no hash, and is searchable at once."""
    plain = [c for c in view_columns(conn) if c not in ("request_body", "prompt_text")]
    body_row = (
        "insert into contents (kind, body, text, bytes, trace_id) select 'body', new.request_body, new.prompt_text, "
        "length(new.request_body), new.id where {changed};"
    )
    insert = f"""CREATE TRIGGER traces_insert INSTEAD OF INSERT ON traces BEGIN
  {body_row.format(changed="new.request_body is not null or new.prompt_text is not null")}
  insert into {TRACE_TABLE} ({", ".join(f"[{c}]" for c in plain)}, request_content)
  values ({", ".join(f"new.[{c}]" for c in plain)},
          case when new.request_body is not null or new.prompt_text is not null then last_insert_rowid() end);
END"""
    changed = "(new.request_body is not old.request_body or new.prompt_text is not old.prompt_text)"
    sets = [f"[{c}] = new.[{c}]" for c in plain if c != "response_body"]
    sets += [
        "response_body = new.response_body",
        "response_content = case when new.response_body is old.response_body then response_content end",
        "request_headers_content = case when new.request_headers is old.request_headers then request_headers_content end",
        "response_raw_content = case when new.response_raw is old.response_raw then response_raw_content end",
        f"request_content = case when {changed} then last_insert_rowid() else request_content end",
        f"request_tip = case when {changed} then null else request_tip end",
        f"legacy_request_body = case when {changed} then null else legacy_request_body end",
        f"legacy_prompt_text = case when {changed} then null else legacy_prompt_text end",
    ]
    update = f"""CREATE TRIGGER traces_update INSTEAD OF UPDATE ON traces BEGIN
  {body_row.format(changed=changed)}
  update {TRACE_TABLE} set {", ".join(sets)} where rowid = old.rowid;
END"""
    delete = f"CREATE TRIGGER traces_delete INSTEAD OF DELETE ON traces BEGIN delete from {TRACE_TABLE} where rowid = old.rowid; END"
    return [insert, update, delete]


def create_traces_view(conn: sqlite3.Connection) -> None:
    """(Re)create the `traces` view and its write triggers from trace_rows' current columns."""
    conn.execute("DROP VIEW IF EXISTS traces")  # its INSTEAD OF triggers go with it
    conn.execute(_view_sql(conn))
    for statement in _write_triggers(conn):
        conn.execute(statement)


def add_trace_column(conn: sqlite3.Connection, name: str, decl: str) -> None:
    """Add a column to traces (for migrations after content_store_v1: `traces` is a view by then)."""
    if name not in _base_columns(conn):
        conn.execute(f"ALTER TABLE {TRACE_TABLE} ADD COLUMN [{name}] {decl}")
    create_traces_view(conn)


def content_store_v1(conn: sqlite3.Connection) -> None:
    """`traces` becomes a view over `trace_rows`; bodies move into `contents` (convert.py does the rows).

    Idempotent: on a file that has it already, only what is missing is added."""
    if not conn.execute(f"SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '{TRACE_TABLE}'").fetchone():
        for trigger in ("traces_ai", "traces_ad", "traces_au"):  # the per-call prompt index of add_ui_indexes
            conn.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        conn.execute("DROP TABLE IF EXISTS traces_fts")
        conn.execute(f"ALTER TABLE traces RENAME TO {TRACE_TABLE}")
        for column, legacy in LEGACY_COLUMNS.items():
            conn.execute(f"ALTER TABLE {TRACE_TABLE} RENAME COLUMN [{column}] TO [{legacy}]")
    existing = set(_base_columns(conn))
    for column, decl in REFERENCE_COLUMNS.items():
        if column not in existing:
            conn.execute(f"ALTER TABLE {TRACE_TABLE} ADD COLUMN [{column}] {decl}")
    for statement in TABLES:
        conn.execute(statement)
    conn.execute("INSERT OR IGNORE INTO content_state (key, value) VALUES ('generation', 0)")
    # Rows up to here hold their bodies themselves until convert.py reaches them.
    conn.execute(
        f"INSERT OR IGNORE INTO content_state (key, value) SELECT 'legacy_max_rowid', max(rowid) FROM {TRACE_TABLE}"
    )
    create_traces_view(conn)
    for statement in _fts_statements():
        conn.execute(statement)
