"""The writer's side of content storage: a row's request body becomes references (`ContentStore`).

For a body whose family has message hooks (r4u_proxy/messages), hashed by `RequestHasher`:
- each message's exact text (its span in the body, `HashedRequest.starts/ends`) is a `contents` row, found
  by the blake2b hash of that text; the message list is a path in `message_nodes` (parent, content);
- the system prompt and any top-level value of VALUE_MIN characters or more (tools, schemas) are contents;
- what is left (model, max_tokens, stream, ...) with the holes marked is the request's *shape*, a content too,
  so a session's turns share one shape.
Messages the hasher reused from an earlier body (`HashedRequest.reused`) reuse that body's node ids as
well, so a turn costs what it adds, not what it resends. Any other body is stored whole, by hash.

Cached ids are only valid while nothing deletes contents: `begin()`, called inside the write transaction,
drops them (and the hashers' memory) when a prune has bumped the generation since.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from r4u_proxy.ingest.parse import prompt_text
from r4u_proxy.messages.canonical import HASH_BYTES
from r4u_proxy.messages.hashing import HashedRequest, RequestHasher
from r4u_proxy.providers import FAMILIES
from r4u_proxy.sessions.tracker import SYSTEM_KEYS
from r4u_proxy.store.content import strings

VALUE_MIN = 256  # characters: shorter top-level values (and header sets) stay where they are
# Request headers whose value changes from call to call; the others a client sends alike every time.
PER_CALL_HEADERS = frozenset({
    "content-length", "x-client-request-id", "x-request-id", "request-id", "idempotency-key", "traceparent",
    "tracestate", "baggage", "sentry-trace", "x-amzn-trace-id", "x-stainless-retry-count", "date",
})  # fmt: skip
CACHE_ENTRIES = 100_000
DIGEST_SLICE = 1 << 20  # characters hashed at a time
# Longer texts with no long string to cut out (a body cut at the capture cap) are stored in chunks of this
# many characters: SQLite copies every value it binds and again into the row it builds, so one 10 MB value
# costs the writer 20 MB beyond its own string; a chunk costs twice the chunk.
CHUNK_CHARS = 1 << 20


class _LRU(OrderedDict):
    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def remember(self, key: Any, value: int) -> int:
        self[key] = value
        if len(self) > self.size:
            self.popitem(last=False)
        return value

    def recall(self, key: Any) -> int | None:
        value = self.get(key)
        if value is not None:
            self.move_to_end(key)
        return value


class ContentStore:
    def __init__(self, conn: sqlite3.Connection, hashers: list[RequestHasher] | None = None) -> None:
        self.conn = conn
        self.hashers = hashers or []  # their remembered node ids die with ours
        self._contents = _LRU(CACHE_ENTRIES)
        self._nodes = _LRU(CACHE_ENTRIES)
        self._generation: Any = None

    # --- cache validity ---------------------------------------------------------------------------

    def begin(self) -> bool:
        """Call inside the write transaction, before storing: a prune since last time drops every cached id.

        True when it did: node ids already copied into this batch's HashedRequests are stale too."""
        found = self.conn.execute("SELECT value FROM content_state WHERE key = 'generation'").fetchone()
        generation = found[0] if found else None
        if generation == self._generation:
            return False
        self.forget()
        self._generation = generation
        return True

    def forget(self) -> None:
        """After a rollback or a prune: ids remembered may no longer exist."""
        self._contents.clear()
        self._nodes.clear()
        for hasher in self.hashers:
            hasher.forget()

    # --- one row ----------------------------------------------------------------------------------

    def store_row(self, row: dict[str, Any], family: str | None, hashed: HashedRequest | None) -> None:
        """Swap the row's request_body / prompt_text (and a response body with long strings) for references."""
        body = row.pop("request_body", None)
        prompt = row.pop("prompt_text", None)
        trace_id = row["id"]
        module = FAMILIES.get(family or "")
        if body is not None and hashed is not None and module is not None and hashed.text == body:
            stored = self._store_shape(hashed, module, trace_id)
            if stored is not None:
                row["request_content"], row["request_tip"] = stored
        if row.get("request_content") is None and (body is not None or prompt is not None):
            if prompt is None and hashed is not None and module is not None:  # analyze left it to us
                prompt = _readable(module, "", body or "", single=True, whole=True)()
            row["request_content"] = self._content_of_body(body, prompt, trace_id)
        self._split_headers(row)
        raw = row.get("response_raw")
        if isinstance(raw, str) and len(raw) >= strings.STRING_MIN:
            row["response_raw_content"], row["response_raw"] = self._own_string(raw, trace_id), None
        response = row.get("response_body")
        if isinstance(response, str) and strings.long_strings(response):  # shares them with the next turn
            row["response_content"] = self.content("response", response, trace_id)
            row["response_body"] = None

    def _split_headers(self, row: dict[str, Any]) -> None:
        """The headers a client sends alike on every call become a content; the row keeps the rest."""
        text = row.get("request_headers")
        if not isinstance(text, str) or len(text) < VALUE_MIN:
            return
        try:
            headers = json.loads(text)
        except ValueError:
            return
        if not isinstance(headers, dict):
            return
        shared = {k: v for k, v in headers.items() if k not in PER_CALL_HEADERS}
        own = {k: v for k, v in headers.items() if k in PER_CALL_HEADERS}
        row["request_headers_content"] = self.content("headers", _json(shared), row["id"])
        row["request_headers"] = _json(own) if own else None

    def _content_of_body(self, body: str | None, prompt: str | None, trace_id: str) -> int:
        if body is None:  # a prompt with no body: nothing to hash it by
            cursor = self.conn.execute(
                "INSERT INTO contents (kind, text, trace_id) VALUES ('body', ?, ?)", [prompt, trace_id]
            )
            return int(cursor.lastrowid or 0)
        return self.content("body", body, trace_id, lambda: prompt)

    def _store_shape(self, hashed: HashedRequest, module: Any, trace_id: str) -> tuple[int, int] | None:
        text = hashed.text
        if hashed.list_start is None or text[hashed.list_start] != "[":
            return None  # no message list (Responses `input` as one string): stored whole
        list_end = hashed.list_end
        while list_end > hashed.list_start and text[list_end - 1] in " \t\r\n":
            list_end -= 1
        if text[list_end - 1] != "]":
            return None
        tip = self._store_messages(hashed, module, trace_id)
        cuts: list[tuple[int, int, str | None]] = [(hashed.list_start, list_end, None)]
        for key, (start, end) in hashed.values.items():
            if key in SYSTEM_KEYS or end - start >= VALUE_MIN:
                cuts.append((start, end, key))
        pieces: list[Any] = []
        at = 0
        for start, end, key in sorted(cuts):
            if start > at:
                pieces.append(text[at:start])
            if key is None:
                pieces.append(None)
            else:
                value = text[start:end]
                pieces.append(self.content("value", value, trace_id, _readable(module, key, value, single=True)))
            at = end
        if at < len(text):
            pieces.append(text[at:])
        shape = _json(pieces)
        key = _digest(shape, "\x00shape\x00")
        found = self._known(key)
        if found is None:
            found = self._content_row("shape", key, None, shape, None, None, None, len(shape), trace_id)
        return found, tip

    def _store_messages(self, hashed: HashedRequest, module: Any, trace_id: str) -> int:
        """Node ids for every message (reused ones copied from the body the hasher matched); the last one."""
        nodes = hashed.nodes
        del nodes[min(len(nodes), hashed.reused) :]  # only the reused prefix is known to match this text
        parent = nodes[-1] if nodes else 0
        key = module.MESSAGES_KEY
        for start, end in zip(hashed.starts[len(nodes) :], hashed.ends[len(nodes) :], strict=True):
            message = hashed.text[start:end]
            content = self.content("message", message, trace_id, _readable(module, key, message, single=False))
            parent = self._node(parent, content, trace_id)
            nodes.append(parent)
        return parent

    # --- rows of contents and message_nodes -------------------------------------------------------

    def content(self, kind: str, text: str, trace_id: str, readable: Callable[[], str | None] | None = None) -> int:
        """The id of the content with exactly this JSON text, stored now if it is new."""
        key = _digest(text)
        found = self._known(key)
        if found is not None:
            return found
        cuts = strings.long_strings(text)
        body = pieces = text_pieces = None
        words = readable() if readable is not None else None
        if cuts:
            refs = [(value, self._string(value, trace_id)) for _, _, value in cuts]
            parts: list[Any] = []
            at = 0
            for (start, end, _), (_, ref) in zip(cuts, refs, strict=True):
                if start > at:
                    parts.append(text[at:start])
                parts.append(ref)
                at = end
            if at < len(text):
                parts.append(text[at:])
            pieces = _json(parts)
            readable_refs = [(value, ref) for value, ref in refs if strings.payload(value) is None]
            cut = strings.cut_text(words, readable_refs) if words else None
            if cut is not None:
                text_pieces, words = _json(cut), None
        elif len(text) > CHUNK_CHARS:
            pieces = _json([self._chunk(text[at : at + CHUNK_CHARS], trace_id) for at in range(0, len(text), CHUNK_CHARS)])
        else:
            body = text
        return self._content_row(kind, key, body, pieces, words, text_pieces, None, len(text), trace_id)

    def _chunk(self, part: str, trace_id: str) -> int:
        key = _digest(part, "\x00chunk\x00")
        found = self._known(key)
        if found is not None:
            return found
        return self._content_row("chunk", key, part, None, None, None, None, len(part), trace_id)

    def _string(self, value: str, trace_id: str) -> int:
        key = _digest(value, "\x00string\x00")
        found = self._known(key)
        if found is not None:
            return found
        media = strings.payload(value)
        media_type, size = media if media else (None, len(value))
        return self._content_row("string", key, None, None, value, None, media_type, size, trace_id)

    def _own_string(self, value: str, trace_id: str) -> int:
        # A raw event stream carries its response's id: no other call sends it again, so looking it up by
        # hash would find nothing and keeping the hash would cost its index entry on every streamed call.
        cursor = self.conn.execute(
            "INSERT INTO contents (kind, text, bytes, trace_id) VALUES ('string', ?, ?, ?)", [value, len(value), trace_id]
        )
        return int(cursor.lastrowid or 0)

    def _known(self, key: bytes) -> int | None:
        found = self._contents.recall(key)
        if found is not None:
            return found
        row = self.conn.execute("SELECT id FROM contents WHERE hash = ?", [key]).fetchone()
        return self._contents.remember(key, row[0]) if row is not None else None

    def _content_row(
        self, kind: str, key: bytes, body: str | None, pieces: str | None, text: str | None,
        text_pieces: str | None, media_type: str | None, size: int, trace_id: str,
    ) -> int:  # fmt: skip
        cursor = self.conn.execute(
            "INSERT INTO contents (hash, kind, body, pieces, text, text_pieces, media_type, bytes, trace_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [key, kind, body, pieces, text, text_pieces, media_type, size, trace_id],
        )
        return self._contents.remember(key, int(cursor.lastrowid or 0))

    def _node(self, parent: int, content: int, trace_id: str) -> int:
        found = self._nodes.recall((parent, content))
        if found is not None:
            return found
        row = self.conn.execute(
            "SELECT id FROM message_nodes WHERE parent = ? AND content = ?", [parent, content]
        ).fetchone()
        if row is None:
            cursor = self.conn.execute(
                "INSERT INTO message_nodes (parent, content, trace_id) VALUES (?, ?, ?)", [parent, content, trace_id]
            )
            row = (cursor.lastrowid,)
        return self._nodes.remember((parent, content), row[0])


def _digest(text: str, prefix: str = "") -> bytes:
    """messages.canonical.digest(prefix + text), hashed a slice at a time: a 10 MB body costs no second
    10 MB copy (the concatenation, its UTF-8 bytes) in the writer while it is stored."""
    hasher = hashlib.blake2b(prefix.encode(), digest_size=HASH_BYTES)
    for at in range(0, len(text), DIGEST_SLICE):
        hasher.update(text[at : at + DIGEST_SLICE].encode())
    return hasher.digest()


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _readable(module: Any, key: str, text: str, single: bool, whole: bool = False) -> Callable[[], str | None]:
    """What prompt_text shows of one message (`single=False`), one top-level value or a `whole` body,
    parsed only when the content is new."""

    def readable() -> str | None:
        try:
            value = json.loads(text)
        except ValueError:
            return None
        if whole:
            return prompt_text(module.prompt_parts(value)) if isinstance(value, dict) else None
        return prompt_text(module.prompt_parts({key: value if single else [value]}))

    return readable
