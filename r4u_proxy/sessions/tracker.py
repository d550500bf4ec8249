"""`SessionTracker`: gives every trace its session, turn and context split, in the writer process.

For each new row, in arrival order (docs/sessions.md has the whole story):
1. hash the request's messages (incrementally, r4u_proxy/messages/hashing.py) and the response's output;
2. look the prefixes of the input up in `session_index` (only the last LOOKBACK positions, one query): the
   longest one that is an earlier call's input + output, same project and client, within TIP_WINDOW_S, is
   the call this one continues;
3. decide the session: an explicit id the client sent, else the WebSocket connection it came over
   (sessions/explicit.py), wins; else a Responses `previous_response_id`; else the continued call's
   session — or a new *fork* session when another call already continued that turn; else a *sub-agent*
   session when the first user message is a prompt an earlier tool call carried; else `prompt_cache_key`;
   else a new session;
4. record this call's own input + output hash (and spawn prompts, response id) for the calls after it.
A fixed number of statements per call, whatever the session's length.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Mapping
from typing import Any

from r4u_proxy.guard import COUNTERS, log
from r4u_proxy.messages.canonical import digest
from r4u_proxy.messages.hashing import HashedRequest, RequestHasher, chain, message_hash
from r4u_proxy.providers import FAMILIES, conversation
from r4u_proxy.providers.common import stored_json
from r4u_proxy.sessions import context
from r4u_proxy.sessions.explicit import connection_session, explicit_session

LOOKBACK = 32  # a turn adds at most this many messages (parallel tool results included)
FIRST_LOOK = 4
TIP_WINDOW_S = 6 * 3600
SPAWN_WINDOW_S = 3600
MIN_SPAWN_PROMPT = 16  # shorter tool arguments are not sub-agent prompts
SYSTEM_KEYS = ("system", "instructions", "systemInstruction", "system_instruction")
TOOL_KEYS = ("tools", "functions")
_WHITESPACE = re.compile(r"\s")
# Left to itself SQLite reads these lookups through (kind, at): every row of the last hours instead of one seek.
BY_KEY = "session_index indexed by idx_session_index_key"


def _headers(pairs: Any) -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in pairs or []}


def _key_list(keys: list[bytes]) -> str:
    return ",".join("?" * len(keys))


class SessionTracker:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.hasher = RequestHasher()
        self.hashed: dict[str, HashedRequest | None] = {}  # this batch's hashed requests by trace id (content store)

    def assign(self, rows: list[dict[str, Any]], exchanges: list[Mapping[str, Any]], *, commit: bool = True) -> None:
        """Fill the session columns of `rows` (before they are inserted). Never raises, unless
        `commit=False`: then the caller owns the transaction (the writer commits the index, the contents
        and the rows together, store/batch.py) and a database error (locked, full) is raised for it to retry."""
        self.hashed = {r["id"]: self.hashed[r["id"]] for r in rows if r["id"] in self.hashed}
        for row, exchange in zip(rows, exchanges, strict=True):
            try:
                self._assign(row, exchange)
            except Exception as exc:
                if not commit and isinstance(exc, sqlite3.OperationalError):
                    raise
                COUNTERS.add("analysis_errors")
                log.exception("r4u: session inference failed for trace %s", row.get("id"))
        if not commit:
            return
        try:
            self.conn.commit()  # its own transaction: the batch insert that follows opens one of its own
        except sqlite3.Error:
            log.exception("r4u: could not store the session index")

    def hash_request(self, trace_id: str, family: str | None, text: str | None) -> HashedRequest | None:
        """Hash a request before its row is built (store/batch.py); `assign` then uses this."""
        hashed = self.hasher.hash_request(family, text) if family and text else None
        if hashed is not None:
            self.hashed[trace_id] = hashed
        return hashed

    # --- one call ---------------------------------------------------------------------------------

    def _assign(self, row: dict[str, Any], exchange: Mapping[str, Any]) -> None:
        route = exchange.get("route")
        family = getattr(route, "family", None)
        headers = _headers(exchange.get("request_headers"))
        if row["id"] in self.hashed:  # hashed already (store/batch.py), or not to be (a truncated body)
            hashed = self.hashed[row["id"]]
        else:
            hashed = self.hash_request(row["id"], family, row.get("request_body"))
        value = hashed.value if hashed else (lambda key: None)
        explicit = explicit_session(exchange.get("session_hint"), headers, value) or connection_session(exchange)
        scope = f"{row.get('project') or ''}|{row.get('client_name') or ''}"
        at = float(exchange.get("t_request_start") or 0.0)
        if hashed is None:
            if explicit:
                row.update(session_id=explicit[0], session_source=explicit[1], session_turn=None)
                self._remember_session(row, scope, at)
            return

        previous = self._continued_call(hashed, scope, at)
        by_response = self._by_response(value("previous_response_id"))
        spawn = None if previous or by_response else self._spawned_by(hashed, scope, at)
        if explicit and previous is None and by_response is not None:
            previous = by_response  # only the new input, after a response by id (Codex over a WebSocket)
        trace_id = row["id"]
        resent = previous["k"] if previous else 0
        turn = previous["turn"] + 1 if previous else 1
        parent = None
        if explicit:
            session, source = explicit
            if previous and _derived(previous["session_id"], session):
                session = previous["session_id"]  # a sub-agent or fork under the same client id
            elif spawn and _derived(spawn["session_id"], session):
                session, source, parent, turn = f"{session}:agent-{trace_id}", "subagent", spawn["session_id"], 1
            elif (previous or spawn) and not self._session_known(session):
                parent = (previous or spawn)["session_id"]  # e.g. `claude --resume --fork-session`
        elif by_response:
            session, source, turn, resent = by_response["session_id"], "previous_response_id", by_response["turn"] + 1, 0
            previous = by_response
        elif previous and previous["continued"]:
            session, source, parent = f"r4u-{trace_id}", "fork", previous["session_id"]
        elif previous:
            session, source = previous["session_id"], "prefix"
        elif spawn:
            session, source, parent = f"r4u-{trace_id}", "subagent", spawn["session_id"]
        elif isinstance(value("prompt_cache_key"), str) and value("prompt_cache_key"):
            session, source = value("prompt_cache_key"), "prompt_cache_key"
        else:
            session, source = f"r4u-{trace_id}", "new"
        if parent is None:  # every turn of a fork or sub-agent session names the session it came from
            parent = self._known_parent(session)
        row.update(
            session_id=session,
            session_source=source,
            parent_session_id=parent,
            session_turn=turn,
            previous_trace_id=previous["trace_id"] if previous else None,
            new_messages=len(hashed.hashes) - resent,
            resent_messages=resent,
        )
        self._context(row, hashed, resent, route)
        self._remember(row, hashed, scope, at, previous)

    # --- lookups ----------------------------------------------------------------------------------

    def _continued_call(self, hashed: HashedRequest, scope: str, at: float) -> dict[str, Any] | None:
        # Most turns add one to three messages: look there first, then further back (parallel tool results).
        n = len(hashed.hashes)
        near = self._tip(hashed, range(n, max(n - FIRST_LOOK, 0), -1), scope, at)
        return near or self._tip(hashed, range(n - FIRST_LOOK, max(n - LOOKBACK, 0), -1), scope, at)

    def _tip(self, hashed: HashedRequest, ks: range, scope: str, at: float) -> dict[str, Any] | None:
        positions = {hashed.prefixes[k]: k for k in ks}
        if not positions:
            return None
        # Only each key's latest row: a prompt repeated word for word (an eval, a health check) leaves one tip
        # row per call, and reading them all made every repeat cost more than the one before.
        latest = f"""select * from (select key, trace_id, session_id, turn, continued, rowid from {BY_KEY}
                    where key = ? and kind = 'tip' and scope = ? and at >= ? order by rowid desc limit 1)"""
        since = at - TIP_WINDOW_S
        found = self.conn.execute(
            " union all ".join([latest] * len(positions)), [v for key in positions for v in (key, scope, since)]
        ).fetchall()
        if not found:
            return None
        key, trace_id, session_id, turn, continued, rowid = max(found, key=lambda r: positions[bytes(r[0])])
        return {"k": positions[bytes(key)], "trace_id": trace_id, "session_id": session_id,
                "turn": turn or 0, "continued": continued, "rowid": rowid}  # fmt: skip

    def _by_response(self, response_id: Any) -> dict[str, Any] | None:
        if not isinstance(response_id, str) or not response_id:
            return None
        found = self.conn.execute(
            "select trace_id, session_id, turn from session_index where key = ? and kind = 'response'",
            [response_id.encode()],
        ).fetchone()
        return {"trace_id": found[0], "session_id": found[1], "turn": found[2] or 0, "k": 0} if found else None

    def _spawned_by(self, hashed: HashedRequest, scope: str, at: float) -> dict[str, Any] | None:
        texts = [t for t in (hashed.texts[0] if hashed.texts else []) if _could_be_prompt(t)]
        if not texts:
            return None
        keys = [digest(t) for t in texts]
        found = self.conn.execute(
            f"""select trace_id, session_id from {BY_KEY}
                where key in ({_key_list(keys)}) and kind = 'spawn' and scope = ? and at >= ?
                order by at desc limit 1""",
            [*keys, scope, at - SPAWN_WINDOW_S],
        ).fetchone()
        return {"trace_id": found[0], "session_id": found[1]} if found else None

    def _session_known(self, session: str) -> bool:
        return self._known_parent(session, exists=True) is not None

    def _known_parent(self, session: str, exists: bool = False) -> Any:
        found = self.conn.execute(
            "select parent_session_id from session_index where key = ? and kind = 'session'", [session.encode()]
        ).fetchone()
        if found is None:
            return None
        return True if exists else found[0]

    # --- what this call leaves for the next ones --------------------------------------------------

    def _remember(
        self, row: dict[str, Any], hashed: HashedRequest, scope: str, at: float, previous: dict | None
    ) -> None:
        module = FAMILIES[hashed.family]
        output = conversation.output_messages(module, stored_json(row.get("response_body")))
        tip = hashed.prefixes[-1]
        for message in output:
            tip = chain(tip, message_hash(message))
        values = (scope, at, row["id"], row["session_id"], row.get("parent_session_id"), row["session_turn"])
        insert = """insert into session_index (kind, key, scope, at, trace_id, session_id, parent_session_id, turn)
                    values (?, ?, ?, ?, ?, ?, ?, ?)"""
        self.conn.execute(insert, ["tip", tip, *values])
        if previous and "rowid" in previous:
            self.conn.execute("update session_index set continued = 1 where rowid = ?", [previous["rowid"]])
        self._remember_session(row, scope, at)
        for prompt in _spawn_prompts(output):
            self.conn.execute(insert, ["spawn", digest(prompt), *values])
        response_id = (stored_json(row.get("response_body")) or {}).get("id")
        if hashed.family == "openai_responses" and isinstance(response_id, str):
            self.conn.execute(insert, ["response", response_id.encode(), *values])

    def _remember_session(self, row: dict[str, Any], scope: str, at: float) -> None:
        """One ("session", id) row per session: its parent, and where the Sessions list pages from."""
        if not self._session_known(row["session_id"]):
            self.conn.execute(
                """insert into session_index (kind, key, scope, at, trace_id, session_id, parent_session_id, turn)
                   values ('session', ?, ?, ?, ?, ?, ?, ?)""",
                [row["session_id"].encode(), scope, at, row["id"], row["session_id"], row.get("parent_session_id"),
                 row.get("session_turn")],
            )  # fmt: skip

    def _context(self, row: dict[str, Any], hashed: HashedRequest, resent: int, route: Any) -> None:
        sizes = dict.fromkeys(context.PARTS, 0)
        sizes["system"] = sum(hashed.value_size(k) for k in SYSTEM_KEYS)
        sizes["tools"] = sum(hashed.value_size(k) for k in TOOL_KEYS)
        # Running totals cover the resent messages, so this costs per new message, not per message.
        sizes["system"] += hashed.system_sizes[resent]
        sizes["earlier_turns"] = hashed.other_sizes[resent]
        for i in range(resent, len(hashed.sizes)):
            if hashed.roles[i] == "system":
                part = "system"
            else:
                part = "tool_results" if hashed.tool_results[i] else "new_input"
            sizes[part] += hashed.sizes[i]
        row["context_tokens"] = json.dumps(context.split(sizes, row.get("input_tokens")))
        model = row.get("response_model") or row.get("request_model")
        row["context_limit"] = context.context_limit(getattr(route, "provider", None), model)


def _derived(session: str | None, explicit: str) -> bool:
    return bool(session) and (session == explicit or session.startswith(explicit + ":"))



def _could_be_prompt(text: str) -> bool:
    # A sub-agent is told what to do in words; a path, id, URL or single token (most tool arguments) is
    # never its first message, and remembering each of them cost a session_index row per tool call.
    return len(text) >= MIN_SPAWN_PROMPT and _WHITESPACE.search(text) is not None


def _spawn_prompts(output: list[dict]) -> list[str]:
    """String arguments of the tool calls in a call's output, long enough to be a sub-agent's prompt."""
    prompts = []
    for message in output:
        for part in message["parts"]:
            arguments = part.get("arguments") if part["type"] == "tool_call" else None
            if isinstance(arguments, dict):
                prompts += [v.strip() for v in arguments.values() if isinstance(v, str) and _could_be_prompt(v.strip())]
    return prompts
