"""Reading parts of a stored request without rebuilding its body (the session page, per turn).

`traces.request_body` rebuilds a whole request: a 200-turn session's last call walks 400 message nodes and
concatenates ~200 KB. A page that shows each turn's *new* messages needs only the last few nodes of each
call's path in `message_nodes` (schema.py), so it reads those.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from r4u_proxy.store.content.schema import RESPONSE_BODY, TRACE_TABLE, expand

_LAST_MESSAGES = f"""with recursive walk(node, depth) as (
  select :tip, 0
  union all select n.parent, walk.depth + 1 from message_nodes n join walk on n.id = walk.node
    where n.parent > 0 and walk.depth + 1 < :count)
select {expand("c")} from walk join message_nodes n on n.id = walk.node join contents c on c.id = n.content
order by walk.depth desc"""


def last_messages(conn: sqlite3.Connection, trace_id: str, count: int) -> list[Any] | None:
    """The last `count` messages a call sent, parsed, oldest first; None when its request is not stored as a
    message list (no message hooks for its family, a body written before content storage or through the
    view, a pruned call): then only its whole body has them."""
    found = conn.execute(f"select request_tip from {TRACE_TABLE} where id = ?", [trace_id]).fetchone()
    if found is None or found[0] is None:
        return None
    tip = found[0]
    if tip == 0 or count <= 0:
        return []
    texts = [r[0] for r in conn.execute(_LAST_MESSAGES, {"tip": tip, "count": count})]
    return [json.loads(text) for text in texts]


def response_body(conn: sqlite3.Connection, trace_id: str) -> str | None:
    """The call's response body, as `traces.response_body` reads it (without the view's other columns)."""
    found = conn.execute(f"select {RESPONSE_BODY} from {TRACE_TABLE} r where r.id = ?", [trace_id]).fetchone()
    return found[0] if found else None
