"""Prompt templates shipped in public prompt libraries, filled with public text, as grouping texts.

The templates and value pools are the grouping benchmark's external corpus (bench/data/prompt_templates/,
README and NOTICE there): strings out of langchain, llama-index, lm-eval... wheels, and paragraphs of
CPython's documentation and those wheels' READMEs.
"""

from __future__ import annotations

import json
import random
import string
from functools import cache
from pathlib import Path

from r4u_proxy.grouping.parts import grouping_text

DATA = Path(__file__).resolve().parents[2] / "bench" / "data" / "prompt_templates"


@cache
def template(template_id: str) -> str:
    with (DATA / "templates.jsonl").open(encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            if row["id"] == template_id:
                return row["template"]
    raise KeyError(template_id)


@cache
def _pool(kind: str) -> list[str]:
    return [text for _, text in json.loads((DATA / "values.json").read_text(encoding="utf-8"))["pools"][kind]]


def passage(rng: random.Random, low: int = 20, high: int = 200) -> str:
    """Consecutive paragraphs of real documentation, cut to a word count between `low` and `high`."""
    paragraphs = _pool("prose")
    start = rng.randrange(len(paragraphs))
    words = rng.randint(low, high)
    text = paragraphs[start]
    while len(text.split()) < words:
        start = (start + 1) % len(paragraphs)
        text += "\n\n" + paragraphs[start]
    return " ".join(text.split(" ")[:words])


def sentence(rng: random.Random) -> str:
    return rng.choice(_pool("sentence"))


def question(rng: random.Random) -> str:
    return rng.choice(_pool("question"))


def language(rng: random.Random) -> str:
    return rng.choice(_pool("language"))


def fields(text: str) -> list[str]:
    return list(dict.fromkeys(name for _, name, _, _ in string.Formatter().parse(text) if name))


def fill(template_id: str, rng: random.Random, **values: str) -> str:
    """The template filled in: the given values, a sentence or a passage for the other fields."""
    text = template(template_id)
    filled = {name: values.get(name) or (passage(rng) if rng.random() < 0.5 else sentence(rng)) for name in fields(text)}
    return text.format(**filled)


def call(template_id: str, rng: random.Random, **values: str) -> str:
    """One call's grouping text (a user message holding the filled template)."""
    return grouping_text({"turns": [{"role": "user", "text": fill(template_id, rng, **values)}]})


def constants(template_id: str) -> tuple[str, ...]:
    """The template's constant texts as the grouping text has them (what a perfect miner finds); a
    doubled brace is one literal brace in the text (`str.format` yields it as a literal piece of its own)."""
    found = [""]
    for literal, name, _, _ in string.Formatter().parse(template(template_id)):
        found[-1] += literal
        if name is not None:
            found.append("")
    found[0] = grouping_text({"turns": [{"role": "user", "text": found[0]}]})
    return tuple(found)
