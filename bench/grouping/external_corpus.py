"""The external prompt corpus: real templates from public prompt libraries, filled with public text.

Templates and value pools: bench/data/prompt_templates/ (built by build_templates.py; README there). Each
template is called a number of times drawn log-uniformly from 3 to 40 (most tasks are small, a few busy);
each field gets a value by what its name says: long text for `context`/`text`/`history`... (1 to 300 words
of real paragraphs, blank lines and punctuation kept), a question for `question`/`query`, a number for
`top_k`/`max_score`, a language for `language`, a term or a sentence otherwise. Templates listed as
near-twins of one another are always taken together. Calls are shuffled, as traffic is.

`generate(templates=150, seed=7)` returns `corpus.Sample`s (the prompt as a user message of an OpenAI chat
call, the true template's id) and each template's true constants as the grouping text has them.
"""

from __future__ import annotations

import json
import math
import random
import re
import string
from functools import cache
from pathlib import Path

from corpus import Sample

from r4u_proxy.grouping.parts import grouping_text

DATA = Path(__file__).resolve().parents[1] / "data" / "prompt_templates"

_NUMBER = re.compile(r"(^|_)(k|n|i|num|count|max|min|score|top|width|height|limit|number|size|length|step|level)(_|$)", re.I)
_LANGUAGE = re.compile(r"lang", re.I)
_QUESTION = re.compile(r"question|query|ask|problem|statement|claim|request|input$|objective|goal|instruction", re.I)
_CODE = re.compile(r"code|sql|cypher|sparql|schema|json|table_info|snippet|script|function", re.I)
_LONG = re.compile(
    r"context|text|content|document|passage|history|conversation|chat|summary|answer|response|output|trace|"
    r"examples|article|story|report|result|observation|scratchpad|feedback|critique|info|data|description|"
    r"tools|messages|transcript|review|reason|essay|page|chunk|source|evidence|steps|plan",
    re.I,
)


@cache
def templates() -> list[dict]:
    with (DATA / "templates.jsonl").open(encoding="utf-8") as f:
        return [json.loads(line) for line in f]


@cache
def pools() -> dict[str, list[str]]:
    raw = json.loads((DATA / "values.json").read_text(encoding="utf-8"))["pools"]
    return {kind: [text for _, text in entries] for kind, entries in raw.items()}


def _log_uniform(rng: random.Random, low: int, high: int) -> int:
    return int(math.exp(rng.uniform(math.log(low), math.log(high + 1))))


def prose(rng: random.Random, words: int) -> str:
    """`words` words of real text from a random place in the prose pool, its blanks and marks kept."""
    paragraphs = pools()["prose"]
    start = rng.randrange(len(paragraphs))
    text = paragraphs[start]
    i = start
    while len(text.split()) < words:
        i = (i + 1) % len(paragraphs)
        text += "\n\n" + paragraphs[i]
    cut = [m.end() for m in re.finditer(r"\S+", text)]
    return text[: cut[words - 1]]


def value(rng: random.Random, name: str) -> str:
    p = pools()
    if _NUMBER.search(name):
        return str(rng.choice([rng.randint(1, 10), rng.randint(1, 100), rng.randint(100, 5000)]))
    if _LANGUAGE.search(name):
        return rng.choice(p["language"])
    if _CODE.search(name):
        return rng.choice(p["code"])
    if _QUESTION.search(name):
        return rng.choice(p["question"] if rng.random() < 0.3 else p["sentence"])
    if _LONG.search(name):
        return prose(rng, _log_uniform(rng, 1, 300))
    roll = rng.random()
    if roll < 0.35:
        return rng.choice(p["term"])
    if roll < 0.7:
        return rng.choice(p["sentence"])
    return prose(rng, _log_uniform(rng, 1, 300))


def fields(template: str) -> list[str]:
    return [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]


def true_constants(template: str) -> tuple[str, ...]:
    """The template's constants in the grouping text (`[user]` line first), as a perfect miner finds them.
    A doubled brace is one literal brace in the text (`str.format` yields it as a literal piece of its own)."""
    constants = [""]
    for literal, name, _, _ in string.Formatter().parse(template):
        constants[-1] += literal
        if name is not None:
            constants.append("")
    constants[0] = grouping_text({"turns": [{"role": "user", "text": constants[0]}]})
    return tuple(constants)


def choose(count: int, seed: int) -> list[dict]:
    """`count` templates, near-twins taken with their twin (so pairs stay pairs)."""
    rows = templates()
    by_id = {r["id"]: r for r in rows}
    twins: dict[str, list[str]] = {}
    for r in rows:
        if r.get("twin_of"):
            twins.setdefault(r["twin_of"], []).append(r["id"])
    rng = random.Random(seed)
    order = [r["id"] for r in rows]
    rng.shuffle(order)
    chosen: list[str] = []
    for tid in order:
        if len(chosen) >= count:
            break
        if tid in chosen:
            continue
        group = [tid, *twins.get(tid, [])]
        if by_id[tid].get("twin_of"):
            group.append(by_id[tid]["twin_of"])
        chosen.extend(t for t in group if t not in chosen)
    return [by_id[t] for t in chosen]


def generate(templates_n: int = 150, seed: int = 7, calls: tuple[int, int] = (3, 40)) -> tuple[list[Sample], dict[str, tuple[str, ...]]]:
    rng = random.Random(seed)
    chosen = choose(templates_n, seed)
    samples: list[Sample] = []
    for row in chosen:
        names = sorted(set(fields(row["template"])))
        for _ in range(_log_uniform(rng, *calls) if calls[0] < calls[1] else calls[0]):
            values = {name: value(rng, name) for name in names}
            text = row["template"].format(**values)
            parts = {"system": None, "turns": [{"role": "user", "text": text}], "tools": []}
            samples.append(Sample(row["id"], "openai", "chat", parts, values))
    rng.shuffle(samples)
    truth = {row["id"]: true_constants(row["template"]) for row in chosen}
    return samples, truth
