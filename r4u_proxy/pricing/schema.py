"""The trace columns pricing reads besides the token counts: migration `pricing_inputs_v1`.

The tier a call was billed on and Anthropic's 1-hour cache writes used to be read out of the stored
bodies on every reprice (JSON paths in SQL). The parse step now hands them over and the row stores
them; this migration adds the columns and fills them once for the rows written before.
"""

from __future__ import annotations

import sqlite3

PRICING_INPUT_COLUMNS: dict[str, str] = {
    "service_tier": "TEXT",  # as the provider named it: "default", "flex", "priority", "batch", "ON_DEMAND_FLEX", ...
    "cache_write_1h_tokens": "INTEGER",  # the part of cache_write_tokens kept for an hour (Anthropic)
}


def _json(body: str, path: str) -> str:
    # json_extract raises on malformed JSON (a truncated body), so guard it with json_valid.
    return f"CASE WHEN json_valid({body}) THEN json_extract({body}, '{path}') END"


# Where the bodies name them (providers/common.py: service_tier, anthropic_usage); the response's
# tier wins over the request's.
_TIER = "COALESCE({}, {}, {}, {})".format(
    _json("response_body", "$.service_tier"),
    _json("response_body", "$.usage.service_tier"),
    _json("response_body", "$.usageMetadata.trafficType"),
    _json("request_body", "$.service_tier"),
)
_ONE_HOUR_WRITES = _json("response_body", "$.usage.cache_creation.ephemeral_1h_input_tokens")
# Only rows whose bodies mention them are parsed: request bodies can be megabytes of prompt.
_MENTIONS = (
    "instr(response_body, 'service_tier') OR instr(response_body, 'trafficType') "
    "OR instr(response_body, 'ephemeral_1h') OR instr(request_body, 'service_tier')"
)


def pricing_inputs_v1(conn: sqlite3.Connection) -> None:
    existing = {row[1] for row in conn.execute("PRAGMA table_info(traces)")}
    for column, decl in PRICING_INPUT_COLUMNS.items():
        if column not in existing:
            conn.execute(f"ALTER TABLE traces ADD COLUMN [{column}] {decl}")
    conn.execute(
        f"UPDATE traces SET service_tier = {_TIER}, cache_write_1h_tokens = {_ONE_HOUR_WRITES} WHERE {_MENTIONS}"
    )
