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


# --- task names ------------------------------------------------------------------------------
# A task's name is the start of its constant text, each variable read as its name: "Translate the
# following text to language", "Support assistant for Acme Bank". Openers that say nothing about the
# task ("You are a", "Please", "Your task is to") are dropped; markup is dropped; when two tasks would
# get the same name, the one named later reads further into its text ("... Use a formal register").
NAME_WORDS = 6  # words in a name, when that already tells it from the other tasks
NAME_MAX_WORDS = 16  # ... the most it reads on to be told apart; then a number: "Summarize (2)"
_ROLE_LINE = re.compile(r"(?:^|\n)\[(?:system|user|developer)\]\n")
_MARKUP = re.compile(r"<[^<>\n]{1,40}>|```[\w-]*|[#*_`|>~=\[\]{}\\]+")
_OPENER = re.compile(
    r"^(?:(?:you are|you're|act as|as)(?: an?| the)?|your (?:task|job|goal|role) is(?: to)?|i want you to|"
    r"please|you will|you must|you|hello|hi)\b[\s,:]*",
    re.IGNORECASE,
)
_WORD = re.compile(r"[^\W_][\w'’-]*|[.,;:!?]")
_WEAK_END = frozenset("a an the of to and or for in on with by at as is are from that this your".split())


def _readable(template: Template, names: list[str]) -> list[str]:
    """The template's words in order (and its sentence marks), each variable as its name."""
    pieces = [template.constants[0]]
    for name, const in zip(names, template.constants[1:], strict=True):
        pieces += [f" {name.replace('_', ' ')} ", const]
    text = _MARKUP.sub(" ", _ROLE_LINE.sub("\n. ", "".join(pieces)))
    words = _WORD.findall(text)
    while words and not words[0][0].isalnum():
        words.pop(0)
    return words


def _phrase(words: list[str], count: int, whole: bool) -> str:
    """The first `count` words, ending at the first sentence's end once it has three words (unless
    `whole`), sentence marks kept between them; no weak last word ("... of the")."""
    out: list[str] = []
    taken = 0
    for word in words:
        if taken >= count:
            break
        if word[0].isalnum():
            taken += 1
            out.append(word if not out or out[-1] in ".!?:;" else " " + word)
        elif out and out[-1][-1:].isalnum():
            if word in ".!?:;" and taken >= 3 and not whole:
                break
            out.append(word)
    while out and (not out[-1][-1:].isalnum() or (out[-1].strip().lower() in _WEAK_END and len(out) > 2)):
        out.pop()
    text = re.sub(r"([.!?:;,])(?=\w)", r"\1 ", "".join(out)).strip()
    return text[:1].upper() + text[1:]


def task_name(template: Template, names: list[str], taken: set[str]) -> str:
    """A short, readable name for a task, different from every name in `taken`."""
    words = _readable(template, names)
    # Skip what opens most prompts without naming the task: the first sentence's opener.
    opening = " ".join(words[:8])
    stripped = _OPENER.sub("", opening, count=1)
    if stripped != opening and stripped:
        dropped = len(opening.split()) - len(stripped.split())
        words = words[dropped:]
    if not any(w[0].isalnum() for w in words):
        words = ["Prompt"]
    count = NAME_WORDS
    name = _phrase(words, count, whole=False)
    available = sum(1 for w in words if w[0].isalnum())
    if name in taken:
        while name in taken and count < NAME_MAX_WORDS and count < available:
            count += 2
            name = _phrase(words, count, whole=True)
        if name not in taken:  # two words more: the words that tell it apart, with some context
            name = _phrase(words, min(count + 2, NAME_MAX_WORDS), whole=True)
    base, number = name, 2
    while name in taken:
        name, number = f"{base} ({number})", number + 1
    return name
