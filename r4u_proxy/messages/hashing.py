"""Hash every message of a request body, incrementally, so an agent's 200th turn costs what its 1st did.

`RequestHasher.hash_request(family, text)` reads the body text and returns a `HashedRequest`: for each
resent message (the family's list: `messages`, `input` or `contents`) its canonical hash and size, the chain
hash of every prefix, and the spans of the other top-level values (system prompt, tools, ids).

Why incremental: an agent resends its whole conversation on every call. Canonicalising and hashing it all
again makes turn 200 cost 200x turn 1. The hasher keeps the last bodies it saw (bounded by count and bytes);
a new body that starts with the same text as one of them, up to the end of message *j*, reuses that body's
hashes for messages 0..j and only parses the messages after it. Checking the shared prefix is one string
comparison at memory speed; everything else is per new message. The result is exact: nothing is reused
unless the text it came from is identical.
"""

from __future__ import annotations

import json
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from r4u_proxy.messages.canonical import Message, canonical_json, digest, is_tool_result
from r4u_proxy.providers import FAMILIES

CHAIN_SEED = digest(b"r4u message chain v1")
_WS = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()
REUSE_CANDIDATES = 8  # recent bodies of the same family tried for a shared prefix
KEEP_BODIES = 32
KEEP_CHARS = 64 * 1024 * 1024


def chain(previous: bytes, message_hash: bytes) -> bytes:
    """The prefix hash after one more message: p(k+1) = H(p(k) + h(m_k))."""
    return digest(previous + message_hash)


def message_hash(message: Message) -> bytes:
    """128-bit blake2b of the canonical JSON of a canonical message (the API issue 20 stores by)."""
    return digest(canonical_json(message))


@dataclass
class HashedRequest:
    family: str
    messages_key: str | None
    hashes: list[bytes] = field(default_factory=list)  # per message, canonical
    sizes: list[int] = field(default_factory=list)  # characters of canonical JSON per message
    roles: list[str] = field(default_factory=list)
    tool_results: list[bool] = field(default_factory=list)  # the message only carries tool results
    texts: list[list[str]] = field(default_factory=list)  # text parts of the first user message only
    prefixes: list[bytes] = field(default_factory=list)  # prefixes[k] = chain hash of messages[:k]
    values: dict[str, tuple[int, int]] = field(default_factory=dict)  # other top-level key -> (start, end)
    text: str = ""
    ends: list[int] = field(default_factory=list)  # end offset of each message in text
    list_end: int = 0  # offset just after the message list's closing bracket
    system_sizes: list[int] = field(default_factory=lambda: [0])  # running total of system-role message sizes
    other_sizes: list[int] = field(default_factory=lambda: [0])  # running total of all other message sizes
    reused: int = 0  # messages whose hashes came from an earlier body

    def value(self, key: str) -> Any:
        """A small top-level value (an id, metadata), parsed on demand."""
        span = self.values.get(key)
        if span is None:
            return None
        try:
            return json.loads(self.text[span[0] : span[1]])
        except ValueError:
            return None

    def value_size(self, key: str) -> int:
        span = self.values.get(key)
        return span[1] - span[0] if span else 0


def hash_messages(family: str, messages: list[Any]) -> list[bytes]:
    """Canonical hashes of already-parsed messages (no body text needed)."""
    module = FAMILIES[family]
    hashes = []
    for item in messages:
        canonical = module.canonical_message(item)
        if canonical is not None:
            hashes.append(message_hash(canonical))
    return hashes


def prefix_hashes(hashes: list[bytes], start: bytes = CHAIN_SEED) -> list[bytes]:
    """[p(0), p(1), ..., p(n)] for a list of message hashes."""
    prefixes = [start]
    for h in hashes:
        prefixes.append(chain(prefixes[-1], h))
    return prefixes


class RequestHasher:
    """Keeps recent bodies so the next turn of a conversation only hashes what it added."""

    def __init__(self, keep_bodies: int = KEEP_BODIES, keep_chars: int = KEEP_CHARS) -> None:
        self.keep_bodies = keep_bodies
        self.keep_chars = keep_chars
        self._recent: OrderedDict[int, HashedRequest] = OrderedDict()
        self._chars = 0
        self._next = 0

    def hash_request(self, family: str, text: str) -> HashedRequest | None:
        """None when the family has no message list or the text is not a JSON object."""
        module = FAMILIES.get(family)
        key = getattr(module, "MESSAGES_KEY", None)
        if module is None or key is None or not text.lstrip().startswith("{"):
            return None
        result = HashedRequest(family, key, text=text)
        base = self._shared_prefix(family, text)
        try:
            _scan(module, text, result, base)
        except (ValueError, IndexError):
            return None
        self._remember(result)
        return result

    def _shared_prefix(self, family: str, text: str) -> tuple[HashedRequest, int] | None:
        """The recent body sharing the longest text prefix with `text`, and how many messages that covers."""
        best: tuple[HashedRequest, int] | None = None
        tried = 0
        for old in reversed(self._recent.values()):
            if old.family != family or not old.ends:
                continue
            tried += 1
            count = _messages_in_common(old, text)
            if count and (best is None or count > best[1]):
                best = (old, count)
            if count == len(old.ends) or tried >= REUSE_CANDIDATES:  # all of it repeated: none does better
                break
        return best

    def _remember(self, result: HashedRequest) -> None:
        self._next += 1
        self._recent[self._next] = result
        self._chars += len(result.text)
        while self._recent and (len(self._recent) > self.keep_bodies or self._chars > self.keep_chars):
            _, dropped = self._recent.popitem(last=False)
            self._chars -= len(dropped.text)


def _messages_in_common(old: HashedRequest, text: str) -> int:
    """How many of `old`'s messages `text` repeats byte for byte, from the start of the body."""
    ends = old.ends
    if not text.startswith(old.text[: ends[0]]):
        return 0
    # Usually only the last message or two differ (a moved cache_control): try those first, then bisect.
    for count in range(len(ends), max(len(ends) - 3, 1), -1):
        if text.startswith(old.text[: ends[count - 1]]):
            return count
    low, high = 1, max(len(ends) - 3, 1)  # low is known to match
    while low < high:
        middle = (low + high + 1) // 2
        if text.startswith(old.text[: ends[middle - 1]]):
            low = middle
        else:
            high = middle - 1
    return low


def _skip(text: str, at: int) -> int:
    return _WS.match(text, at).end()  # type: ignore[union-attr]


def _scan(module: Any, text: str, result: HashedRequest, base: tuple[HashedRequest, int] | None) -> None:
    """Walk the top-level object; hash the message list element by element, reusing `base` where it matches."""
    if base is not None:
        old, count = base
        for name in ("hashes", "sizes", "roles", "tool_results"):
            getattr(result, name).extend(getattr(old, name)[:count])
        result.system_sizes, result.other_sizes = old.system_sizes[: count + 1], old.other_sizes[: count + 1]
        result.ends = old.ends[:count]
        result.prefixes = old.prefixes[: count + 1]
        result.texts = old.texts
        result.values = {k: v for k, v in old.values.items() if v[1] <= old.ends[0]}
        result.reused = count
        at = _skip(text, old.ends[count - 1])
        at = result.list_end = _messages(module, text, at, result, resume=True)
        if text[at - 1 :] == old.text[old.list_end - 1 :]:  # the same keys after the list: shift their spans
            shift = at - old.list_end
            result.values.update({k: (a + shift, b + shift) for k, (a, b) in old.values.items() if a >= old.list_end})
            return
    else:
        result.prefixes = [CHAIN_SEED]
        at = _skip(text, 1)
    while at < len(text) and text[at] != "}":
        if text[at] == ",":
            at = _skip(text, at + 1)
        name, at = _DECODER.raw_decode(text, at)
        at = _skip(text, at)
        if text[at] != ":":
            raise ValueError("expected ':'")
        at = _skip(text, at + 1)
        if name == result.messages_key and text[at] == "[" and not result.ends:
            at = result.list_end = _messages(module, text, _skip(text, at + 1), result, resume=False)
        elif name == result.messages_key and text[at] == '"':  # Responses: `input` may be a plain string
            value, end = _DECODER.raw_decode(text, at)
            _add(module, value, end, result)
            at = _skip(text, end)
        else:
            _, end = _DECODER.raw_decode(text, at)
            result.values[name] = (at, end)
            at = _skip(text, end)


def _messages(module: Any, text: str, at: int, result: HashedRequest, resume: bool) -> int:
    """Hash list elements from `at` up to the closing bracket; returns the offset after the list."""
    if resume and text[at] == ",":
        at = _skip(text, at + 1)
    while text[at] != "]":
        if text[at] == ",":
            at = _skip(text, at + 1)
            continue
        item, end = _DECODER.raw_decode(text, at)
        _add(module, item, end, result)
        at = _skip(text, end)
    return _skip(text, at + 1)


def _add(module: Any, item: Any, end: int, result: HashedRequest) -> None:
    canonical = module.canonical_message(item) or {"role": "unknown", "parts": [{"type": "other", "value": item}]}
    encoded = canonical_json(canonical)
    h = digest(encoded)
    if not result.hashes and canonical["role"] == "user":
        result.texts = [[p["text"].strip() for p in canonical["parts"] if p["type"] == "text"]]
    result.hashes.append(h)
    result.sizes.append(len(encoded))
    result.roles.append(canonical["role"])
    result.tool_results.append(is_tool_result(canonical))
    system = canonical["role"] == "system"
    result.system_sizes.append(result.system_sizes[-1] + (len(encoded) if system else 0))
    result.other_sizes.append(result.other_sizes[-1] + (0 if system else len(encoded)))
    result.ends.append(end)
    result.prefixes.append(chain(result.prefixes[-1], h))
