"""The value pools the external prompt corpus is filled from: public text that ships with Python and the wheels.

- prose: paragraphs of CPython's documentation topics (`pydoc_data.topics`, PSF-2.0) and of the README texts
  (METADATA descriptions) of the prompt libraries' wheels, blank lines, lists and punctuation kept;
- sentences and questions: cut from the same paragraphs;
- code: fenced code blocks from those READMEs and indented examples from the documentation topics;
- languages: the language names in the standard library's `locale.locale_alias`;
- terms: words and two-word phrases that the same texts write capitalised (product names, concepts).
Every entry keeps the index of its source in `sources`.
"""

from __future__ import annotations

import email.parser
import locale
import random
import re
import sys
import zipfile
from pathlib import Path

_SENTENCE = re.compile(r"[A-Z][^.!?\n]{8,240}[.!?]")
_FENCE = re.compile(r"```[a-z]*\n(.*?)```", re.S)
_TERM = re.compile(r"\b[A-Z][a-z]{2,}(?: [A-Z][a-z]{2,})?\b")
_NOT_LANGUAGES = {"posix", "cextend", "universal", "japan", "american", "bokmål", "français", "dansk", "deutsch",
                  "eesti", "galego", "hrvatski", "nynorsk", "rumanian", "serbocroatian", "slovene", "bokmal"}  # fmt: skip
MAX_PARAGRAPHS = 2500
MAX_SENTENCES = 2000


def _paragraphs(text: str) -> list[str]:
    return [p.strip("\n") for p in re.split(r"\n\s*\n", text) if len(p.split()) >= 3]


def _code_blocks(text: str) -> list[str]:
    blocks = [b.strip("\n") for b in _FENCE.findall(text)]
    indented = re.findall(r"(?:^(?: {3,}|\t)\S.*\n){2,}", text, re.M)
    return [b for b in blocks + indented if 20 <= len(b) <= 1500]


def _readme(wheel: Path) -> str:
    with zipfile.ZipFile(wheel) as z:
        name = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
        message = email.parser.Parser().parsestr(z.read(name).decode("utf-8", "replace"))
    body = message.get_payload()
    return body if isinstance(body, str) else ""


def build_pools(wheels: dict[str, Path], packages: list[tuple[str, str]]) -> dict:
    import pydoc_data.topics as topics

    sources: list[str] = [
        f"CPython {sys.version_info.major}.{sys.version_info.minor} pydoc_data.topics (PSF-2.0)",
        "Python standard library locale.locale_alias (PSF-2.0)",
    ]
    texts: list[tuple[int, str]] = [(0, text) for _, text in sorted(topics.topics.items())]
    for dist, version in packages:
        readme = _readme(wheels[dist])
        if readme.strip():
            sources.append(f"{dist} {version} README (wheel METADATA description)")
            texts.append((len(sources) - 1, readme))

    paragraphs, sentences, questions, code, terms = [], [], [], [], {}
    for source, text in texts:
        for block in _code_blocks(text):
            code.append([source, block])
        prose_only = _FENCE.sub("", text)
        for paragraph in _paragraphs(prose_only):
            if "<img" in paragraph or "](http" in paragraph and len(paragraph) < 200:
                continue  # badges and logos, not text
            paragraphs.append([source, paragraph])
            for s in _SENTENCE.findall(paragraph):
                (questions if s.endswith("?") else sentences).append([source, s])
            for term in _TERM.findall(paragraph):
                terms.setdefault(term, source)
    rng = random.Random(0)  # the pools are thinned the same way on every rebuild
    paragraphs = _sample(rng, paragraphs, MAX_PARAGRAPHS)
    sentences = _sample(rng, sentences, MAX_SENTENCES)
    code = _sample(rng, code, 400)
    languages = sorted(k.capitalize() for k in locale.locale_alias if k.isalpha() and len(k) > 4 and k not in _NOT_LANGUAGES)
    common = {"The", "This", "That", "These", "You", "For", "When", "Use", "With", "See", "If", "In", "It"}
    term_list = sorted([[s, t] for t, s in terms.items() if t.split()[0] not in common], key=lambda x: x[1])
    return {
        "sources": sources,
        "pools": {
            "prose": paragraphs, "sentence": sentences, "question": questions, "code": code,
            "language": [[1, lang] for lang in languages], "term": _sample(rng, term_list, 1500),
        },
    }


def _sample(rng: random.Random, items: list, limit: int) -> list:
    if len(items) <= limit:
        return items
    keep = sorted(rng.sample(range(len(items)), limit))
    return [items[i] for i in keep]
