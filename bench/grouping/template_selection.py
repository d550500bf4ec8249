"""Which extracted templates go into the external corpus (build_templates.py): duplicates once, a sample of
the biggest package, and two members of each family of near-identical templates (a near-twin pair)."""

from __future__ import annotations

import difflib
import random
import re
import string

# lm-eval's task files hold over a thousand prompts, mostly one template per language: keep a sample.
MAX_PER_PACKAGE = {"lm-eval": 800}
# Three or more templates that differ only in the same few words (a language name, a dialect) are, to
# anyone reading the traffic, one template with a variable: each such family keeps two members, a
# near-twin pair. "The same few words": they differ in at most FAMILY_PLACES places, each at most
# FAMILY_RUN tokens on either side ("Northern Sotho" for "Igbo", twice).
FAMILY_KEEP = 2
FAMILY_PLACES = 3
FAMILY_RUN = 4
# Family candidates are found through shared runs of GRAM tokens: short enough that two short templates
# differing in a few words ("English: {s} \nNorthern Sotho: ", "English: {s} \nLuba-Kasai: ") share one.
GRAM = 2


def constants(text: str) -> list[str]:
    """The literal text of a str.format template, between its fields."""
    return [literal for literal, _, _, _ in string.Formatter().parse(text)]


_TOKEN = re.compile(r"\w+|\x00|[^\w\s]")


def _differ_in_a_few_words(a: list[str], b: list[str]) -> bool:
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    runs = [(i2 - i1, j2 - j1) for op, i1, i2, j1, j2 in matcher.get_opcodes() if op != "equal"]
    if not 0 < len(runs) <= FAMILY_PLACES or any(max(r) > FAMILY_RUN for r in runs):
        return False
    # Short templates: the few words must be the lesser part ("Key findings about {topic}." and "The
    # original query is: {task_prompt}." share a field and a full stop, not a template).
    shared = len(a) - sum(r[0] for r in runs)
    return shared > max(sum(r[0] for r in runs), sum(r[1] for r in runs))


def _families(rows: list[dict]) -> list[int]:
    """A family id per template: templates that differ in a few words only are one family."""
    # Field names do not reach the traffic: compare the constant text, each field one placeholder.
    tokens = [_TOKEN.findall(" \x00 ".join(constants(r["template"]))) for r in rows]
    parent = list(range(len(rows)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    postings: dict[tuple[str, ...], list[int]] = {}
    for i, toks in enumerate(tokens):
        for gram in {tuple(toks[k : k + GRAM]) for k in range(max(1, len(toks) - GRAM + 1))}:
            postings.setdefault(gram, []).append(i)
    checked: set[tuple[int, int]] = set()
    limit = FAMILY_PLACES * FAMILY_RUN
    for ids in postings.values():
        if len(ids) > 400:
            continue  # a phrase every other prompt has says nothing about families
        for a_index, a in enumerate(ids):
            for b in ids[a_index + 1 :]:
                if (a, b) in checked or find(a) == find(b) or abs(len(tokens[a]) - len(tokens[b])) > limit:
                    continue
                checked.add((a, b))
                if _differ_in_a_few_words(tokens[a], tokens[b]):
                    parent[find(a)] = find(b)
    return [find(i) for i in range(len(rows))]


def select(rows: list[dict]) -> list[dict]:
    """Duplicates (also under other field names) once; two members per family; at most MAX_PER_PACKAGE from one package (seeded)."""
    unique: list[dict] = []
    seen: dict[str, dict] = {}
    for row in rows:
        # The same text with other field names is the same template to anyone reading the traffic.
        key = " ".join("\x00".join(constants(row["template"])).split())
        if key in seen:
            seen[key].setdefault("also_in", []).append(f"{row['package']}:{row['module']}")
            continue
        seen[key] = row
        unique.append(row)
    rng = random.Random(0)
    for package, cap in MAX_PER_PACKAGE.items():
        mine = [r for r in unique if r["package"] == package]
        if len(mine) > cap:
            drop = {id(r) for r in rng.sample(mine, len(mine) - cap)}
            unique = [r for r in unique if id(r) not in drop]
    kept, per_family = [], {}
    for row, family in zip(unique, _families(unique), strict=True):
        per_family[family] = per_family.get(family, 0) + 1
        if per_family[family] <= FAMILY_KEEP:
            row["family"] = family
            kept.append(row)
    firsts: dict[int, dict] = {}
    for row in kept:  # the second member of a family names the first
        family = row.pop("family")
        row["twin_of"] = firsts.get(family)
        firsts.setdefault(family, row)
    return kept
