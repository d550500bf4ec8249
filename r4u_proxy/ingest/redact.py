"""Secrets never reach disk: credentials become short fingerprints before storage.

A fingerprint (`sk-proj-…a1b2 #3f9c2e1d`) keeps what a developer needs to tell two keys apart — the
key's vendor prefix (only from the known list below: a prefix guessed from the key's own letters
can be most of the key), its last 4 characters and 32 bits of its hash — and nothing else.

Headers and query parameters that carry credentials are fingerprinted by name. Every stored text
(bodies, prompts, completions, other headers) is also searched for strings shaped like API keys
(`KEY_PATTERNS`), for the values of JSON fields named like secrets, and for the user's own patterns
(`r4u proxy start --redact REGEX`), which are fingerprinted where they stand; JSON stays valid, since
a fingerprint holds no quote or backslash.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlencode

SECRET_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "x-api-key",
        "api-key",
        "x-goog-api-key",
        "cookie",
        "set-cookie",
        "openai-organization-key",
        "x-amz-security-token",  # AWS temporary credentials (SigV4 signs with them; Authorization is above)
    }
)
# Query parameters that carry a credential: API keys, OAuth tokens, and AWS presigned-URL signing fields.
SECRET_QUERY_PARAMS = frozenset(
    {"key", "api_key", "api-key", "access_token", "x-amz-signature", "x-amz-credential", "x-amz-security-token"}
)
# Vendor prefixes a fingerprint may keep, longest first. They are the same for every key of the vendor.
VENDOR_PREFIXES = (
    "sk-svcacct-", "sk-admin-", "sk-proj-", "sk-ant-", "sk-or-v1-", "github_pat_", "sk_live_", "sk_test_",
    "nvapi-", "glpat-", "pplx-", "ya29.", "xai-", "csk-", "gsk_", "ghp_", "AKIA", "ASIA", "AIza", "hf_", "r8_", "fw_",
    "sk-",
)  # fmt: skip
MIN_TAIL_LENGTH = 16  # vendor keys with fewer random characters keep none of them
MIN_TAIL_LENGTH_UNKNOWN = 24  # a password or token of unknown shape needs to be longer still
_SCHEME = re.compile(r"^(Bearer|Token)\s+", re.IGNORECASE)
_BASIC = re.compile(r"^Basic\s+", re.IGNORECASE)

_KEY_BODY = r"[A-Za-z0-9_\-]{20,}"
# Key shapes, each behind the literal its matches start with: a text is searched only for the shapes
# whose literal it contains, and a literal-led pattern scans at hundreds of MB/s where one alternation
# of them all managed ~10 (measured on CPython 3.11).
KEY_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (literal, re.compile(pattern))
    for literal, pattern in (
        ("sk", rf"sk(?:-svcacct-|-admin-|-proj-|-ant-|-or-v1-|_live_|_test_|-){_KEY_BODY}"),
        *((p, re.escape(p) + _KEY_BODY) for p in ("github_pat_", "nvapi-", "glpat-", "pplx-", "xai-", "csk-")),
        *((p, re.escape(p) + _KEY_BODY) for p in ("gsk_", "ghp_", "hf_", "r8_", "fw_")),
        ("AIza", r"AIza[0-9A-Za-z_\-]{35}"),
        ("ya29.", r"ya29\.[0-9A-Za-z_\-]{20,}"),  # Google OAuth access tokens (Gemini CLI's Code Assist login)
        ("AKIA", r"AKIA[0-9A-Z]{16}"),
        ("ASIA", r"ASIA[0-9A-Z]{16}"),
        ("Bearer ", r"Bearer [A-Za-z0-9._~+/\-]{20,}=*"),
    )
)
# "api_key": "…" and friends inside JSON, whatever the value looks like; also inside a JSON string that
# holds JSON (tool-call arguments), where the quotes come escaped (\").
SECRET_FIELD = re.compile(
    r'\\?"(?:api[_-]?key|apikey|access[_-]?token|refresh[_-]?token|secret[_-]?key|client[_-]?secret|password)'
    r'\\?"\s*:\s*\\?"([^"\\]{8,})\\?"',
    re.IGNORECASE,
)
_FIELD_ENDINGS = ("key", "Key", "KEY", "token", "Token", "secret", "Secret", "password", "Password")
_WORD = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_user_patterns: list[re.Pattern[str]] = []


def configure(patterns: Iterable[str]) -> None:
    """Also redact these regular expressions (the user's `--redact`; compiled and checked by the CLI)."""
    _user_patterns[:] = [re.compile(p) for p in patterns]


_PREFIXES_BY_START = {c: tuple(p for p in VENDOR_PREFIXES if p[0] == c) for c in {p[0] for p in VENDOR_PREFIXES}}


def has_user_patterns() -> bool:
    """Whether `--redact` patterns are configured (they may match across anything: see redact_chunks.py)."""
    return bool(_user_patterns)


def known_prefix(secret: str) -> str:
    for prefix in _PREFIXES_BY_START.get(secret[:1], ()):
        if secret.startswith(prefix):
            return prefix
    return ""


def fingerprint(secret: str) -> str:
    scheme = ""
    keep_tail = True
    if " " in secret[:8]:
        if match := _SCHEME.match(secret):
            scheme, secret = match.group(0), secret[match.end() :]
        elif match := _BASIC.match(secret):  # base64 of user:password: its last characters are the password's
            scheme, secret, keep_tail = match.group(0), secret[match.end() :], False
    digest = hashlib.sha256(secret.encode()).hexdigest()[:8]
    prefix = known_prefix(secret)
    long_enough = len(secret) - len(prefix) >= (MIN_TAIL_LENGTH if prefix else MIN_TAIL_LENGTH_UNKNOWN)
    tail = secret[-4:] if keep_tail and long_enough else ""
    return f"{scheme}{prefix}…{tail} #{digest}"


def _key(match: re.Match[str]) -> str:
    text = match.string
    start, value = match.start(), match.group(0)
    if start and text[start - 1] in _WORD:  # inside a longer word: not a key of its own
        return value
    bearer = value.startswith("Bearer ")
    body = value[7:] if bearer else value[len(known_prefix(value)) :]
    classes = any(c.isdigit() for c in body) + any(c.isupper() for c in body) + any(c.islower() for c in body)
    if classes < 2:  # a lowercase slug like sk-some-long-branch-name, not a random key
        return value
    return "Bearer " + fingerprint(body) if bearer else fingerprint(value)


def _field(match: re.Match[str]) -> str:
    whole, value = match.group(0), match.group(1)
    if "…" in value and " #" in value:  # already a fingerprint
        return whole
    start, end = match.start(1) - match.start(0), match.end(1) - match.start(0)
    return whole[:start] + fingerprint(value) + whole[end:]


def redact_text(text: str | None) -> str | None:
    """`text` with every key-shaped string, secret JSON field and user pattern fingerprinted."""
    if not text:
        return text
    for literal, pattern in KEY_PATTERNS:
        if literal in text:
            text = pattern.sub(_key, text)
    if any(ending in text for ending in _FIELD_ENDINGS):
        text = SECRET_FIELD.sub(_field, text)
    for pattern in _user_patterns:
        text = pattern.sub(lambda m: fingerprint(m.group(0)), text)
    return text


# Browsers cannot set headers on a WebSocket, so the Realtime API takes the key as a subprotocol:
# `Sec-WebSocket-Protocol: realtime, openai-insecure-api-key.sk-...`.
_KEY_SUBPROTOCOL = re.compile(r"(openai-insecure-api-key\.)([^\s,]+)")


def redact_headers(headers: list[tuple[str, str]]) -> dict[str, str]:
    """Headers as a JSON-ready dict (repeated names joined with ', '), secrets fingerprinted."""
    out: dict[str, str] = {}
    for name, value in headers:
        key = name.lower()
        if key in SECRET_HEADERS:
            value = fingerprint(value)
        elif key == "sec-websocket-protocol":
            value = _KEY_SUBPROTOCOL.sub(lambda m: m.group(1) + fingerprint(m.group(2)), value)
        else:
            value = redact_text(value) or value
        out[key] = f"{out[key]}, {value}" if key in out else value
    return out


def redact_query(query: str) -> str:
    if not query:
        return query
    pairs = parse_qsl(query, keep_blank_values=True)
    if not any(name.lower() in SECRET_QUERY_PARAMS for name, _ in pairs):
        return query
    return urlencode(
        [(name, fingerprint(value) if name.lower() in SECRET_QUERY_PARAMS else value) for name, value in pairs]
    )
