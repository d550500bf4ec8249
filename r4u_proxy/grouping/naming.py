"""Names for a template's variables, read from the text around each slot.

`<document>{document}</document>`, `"city": "{city}"`, `Language: {language}`, `lang={lang}` say what
the slot holds; anything else is `var1`, `var2`... in template order.
"""

from __future__ import annotations

import re

from r4u_proxy.grouping.template import Template

_XML_OPEN = re.compile(r"<([A-Za-z][\w-]{0,40})>\s*$")
_JSON_KEY = re.compile(r"\"([A-Za-z_][\w-]{0,40})\"\s*:\s*\"?$")
_ASSIGN = re.compile(r"\b([A-Za-z_][\w-]{0,40})=\"?$")
# `Label:` at the start of a line (or after a sentence): one to three words, then a colon and blanks.
_LABEL = re.compile(r"(?:^|[\n.!?]\s*)([A-Za-z][A-Za-z ]{0,40}?)\s*:[ \t]*\n?$")
_FENCE = re.compile(r"```([A-Za-z][\w-]{0,20})\n$")
_HEADING = re.compile(r"(?:^|\n)#{1,6}\s+([A-Za-z][A-Za-z ]{0,40})\s*\n+$")


def _snake(label: str) -> str | None:
    words = re.findall(r"[A-Za-z0-9]+", label.lower())
    if not words or len(words) > 3:
        return None
    return "_".join(words)


def _name_from(before: str, after: str) -> str | None:
    tail = before[-120:]
    match = _XML_OPEN.search(tail)
    if match and after.lstrip().startswith(f"</{match.group(1)}>"):
        return _snake(match.group(1).replace("-", " "))
    for pattern in (_FENCE, _JSON_KEY, _ASSIGN, _LABEL, _HEADING):
        match = pattern.search(tail)
        if match:
            name = _snake(match.group(1).replace("-", " "))
            if name:
                return name
    return None


def variable_names(template: Template) -> list[str]:
    consts = template.constants
    names: list[str] = []
    for index in range(template.variable_count):
        name = _name_from(consts[index], consts[index + 1]) or f"var{index + 1}"
        base, n = name, 2
        while name in names:
            name, n = f"{base}_{n}", n + 1
        names.append(name)
    return names
