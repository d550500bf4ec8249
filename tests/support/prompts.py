"""Prompts from a few templates with random fillings, recorded as chat calls: the grouping tests' input.

`fill(rng, kind)` makes a request body from one of three templates (and the values it used); `insert(db,
body)` records it as an OpenAI chat call through the writer's row builder (support/rows.py), answered
by `{model}-2024` with 10 input and 5 output tokens.
"""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

from r4u_proxy.ingest.exchange import Exchange
from support.rows import OPENAI_CHAT, call, chat_response, write

SYLLABLES = "ka lo mi ne su ta re vo pi da fe gu ho ji ba".split()
WORDS = [a + b for a in SYLLABLES for b in SYLLABLES]
TRANSLATE = "Translate the following text to {language}. Keep the formatting.\n\n{text}"
EXTRACT = 'Extract the fields as JSON with keys "name", "city".\n\n<document>\n{document}\n</document>'
SUPPORT = "You are the support agent of {shop}. Be brief and friendly."


def parts(system: str | None, *turns: tuple[str, str], tools: tuple[str, ...] = ()) -> dict:
    """What a family's `prompt_parts` gives for this system prompt, these (role, text) turns and tool names."""
    return {"system": system, "turns": [{"role": r, "text": t} for r, t in turns], "tools": list(tools)}


def prose(rng: random.Random, low: int, high: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(low, high))) + rng.choice([".", "!", "?", ""])


def chat_body(system: str | None, user: str, model: str = "gpt-4o-mini", later: int = 0) -> dict:
    messages = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": user}]
    for i in range(later):
        messages += [{"role": "assistant", "content": f"reply {i}"}, {"role": "user", "content": f"more {i}"}]
    return {"model": model, "messages": messages}


def fill(rng: random.Random, kind: str) -> tuple[dict, dict[str, str]]:
    if kind == "translate":
        values = {"language": rng.choice(["French", "German", "Polish"]), "text": prose(rng, 5, 600)}
        return chat_body(None, TRANSLATE.format(**values)), values
    if kind == "extract":
        values = {"document": prose(rng, 20, 900)}
        return chat_body("You extract data.", EXTRACT.format(**values)), values
    values = {"shop": rng.choice(["Acme", "Globex", "Initech", "Hooli"]), "message": prose(rng, 2, 30)}
    return chat_body(SUPPORT.format(**values), values["message"], later=rng.choice([0, 0, 2])), values


def recorded(body: dict, *, latency: float = 100.0, error: str | None = None, t: float = 1.8e9) -> Exchange:
    """The call with this request body, started at `t`, taking `latency` ms."""
    answer = chat_response("ok", usage=(10, 5), model=body["model"] + "-2024")
    return call(OPENAI_CHAT, body, answer, at=t, latency_ms=latency, ttft_ms=latency, error=error)


def insert(
    db: str | Path,
    body: dict,
    *,
    latency: float = 100.0,
    error: str | None = None,
    t: float = 1.8e9,
    prices: Path | None = None,
) -> None:
    """Record one call (see `recorded`), in a transaction of its own as the writer's smallest batch."""
    insert_all(db, [recorded(body, latency=latency, error=error, t=t)], prices)


def insert_all(db: str | Path, exchanges: list[Exchange], prices: Path | None = None) -> None:
    conn = sqlite3.connect(db, timeout=30)
    try:
        write(conn, exchanges, prices)
    finally:
        conn.close()
