"""Secrets never reach disk: credentials become short fingerprints before storage.

A fingerprint (`sk-…a1b2 #3f9c2e1d`) keeps what a developer needs to tell two keys
apart — the key's family prefix, its last 4 characters and a hash — without the key.
"""

from __future__ import annotations

import hashlib
import re
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
_SCHEME = re.compile(r"^(Bearer|Basic|Token)\s+", re.IGNORECASE)
_KEY_PREFIX = re.compile(r"^([A-Za-z]+[-_](?:[A-Za-z]+[-_])?)")


def fingerprint(secret: str) -> str:
    scheme = ""
    if match := _SCHEME.match(secret):
        scheme, secret = match.group(0), secret[match.end() :]
    digest = hashlib.sha256(secret.encode()).hexdigest()[:8]
    prefix_match = _KEY_PREFIX.match(secret)
    prefix = prefix_match.group(1) if prefix_match and len(secret) > 16 else ""
    tail = secret[-4:] if len(secret) >= 16 else ""
    return f"{scheme}{prefix}…{tail} #{digest}"


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
