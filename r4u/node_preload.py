"""NODE_OPTIONS for r4u's Node preload (`r4u/node/preload.cjs`, see the comment at its top).

The preload is copied into R4U_HOME/bundles under a name derived from its content, like the CA bundles:
an environment exported earlier keeps pointing at a file that exists even after r4u is upgraded or
reinstalled elsewhere (a missing --require file would stop every Node program from starting).
"""

from __future__ import annotations

from pathlib import Path

from .ca_bundle import write_bundle

PRELOAD_SOURCE = Path(__file__).with_name("node") / "preload.cjs"
PRELOAD_STEM = "r4u-node-preload"


def installed_preload(home: Path) -> Path:
    return write_bundle(PRELOAD_SOURCE.read_bytes(), home, stem=PRELOAD_STEM, suffix=".cjs")


def split_node_options(value: str) -> list[str]:
    """NODE_OPTIONS as Node splits it: on whitespace, with "double quotes" and backslash escapes inside them."""
    words: list[str] = []
    current: list[str] = []
    in_word = in_quotes = False
    chars = iter(value)
    for char in chars:
        if in_quotes and char == "\\":
            current.append(next(chars, ""))
        elif char == '"':
            in_quotes, in_word = not in_quotes, True
        elif char.isspace() and not in_quotes:
            if in_word:
                words.append("".join(current))
            current, in_word = [], False
        else:
            current.append(char)
            in_word = True
    if in_word:
        words.append("".join(current))
    return words


def _quote(word: str) -> str:
    if word and not any(c.isspace() or c in '"\\' for c in word):
        return word
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'


def node_options(existing: str, preload: Path) -> str:
    """The program's own NODE_OPTIONS plus `--require <preload>`, with any earlier r4u preload removed."""
    kept: list[str] = []
    words = split_node_options(existing)
    skip_next = False
    for index, word in enumerate(words):
        if skip_next:
            skip_next = False
            continue
        if word in ("--require", "-r") and index + 1 < len(words) and PRELOAD_STEM in words[index + 1]:
            skip_next = True
            continue
        if word.startswith("--require=") and PRELOAD_STEM in word:
            continue
        kept.append(word)
    return " ".join(_quote(word) for word in [*kept, "--require", str(preload)])
