"""The proxy a program used before r4u (a company proxy in HTTPS_PROXY): r4u forwards through it.

`r4u run`, `r4u env` and `enable()` replace HTTPS_PROXY with the r4u proxy's address. If the variable
already named another proxy, that proxy becomes the r4u proxy's upstream: a proxy started by the shim
gets it in R4U_UPSTREAM_PROXY (the environment, never the command line: the URL may hold credentials,
and other users can read a command line), and `r4u proxy start` reads the same variable, or its own
HTTPS_PROXY. R4U_PROXY, set beside HTTPS_PROXY, marks a value r4u wrote itself, so running r4u inside
an r4u-configured shell never chains the proxy to itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import unquote, urlsplit

UPSTREAM_ENV = "R4U_UPSTREAM_PROXY"
MARKER_ENV = "R4U_PROXY"
# The variables a program's HTTPS calls take their proxy from, in the order clients prefer them.
HTTPS_PROXY_VARS = ("https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY")
NO_UPSTREAM = ("none", "direct", "")
_LOOPBACK_NAMES = {"localhost": "127.0.0.1", "::1": "127.0.0.1", "0:0:0:0:0:0:0:1": "127.0.0.1"}


class BadProxyURL(ValueError):
    pass


def proxy_from_env(env: Mapping[str, str]) -> str | None:
    return next((env[name].strip() for name in HTTPS_PROXY_VARS if env.get(name, "").strip()), None)


def host_port(url: str) -> tuple[str, int] | None:
    """("127.0.0.1", 3128) for http://user:pw@localhost:3128; None when no host can be read."""
    try:
        parts = urlsplit(url if "://" in url else f"http://{url}")
        host, port = parts.hostname, parts.port
    except ValueError:
        return None
    if not host:
        return None
    host = _LOOPBACK_NAMES.get(host.lower(), host.lower())
    return host, port or (443 if parts.scheme == "https" else 80)


def parse_upstream(url: str) -> tuple[str, str | None]:
    """`http://user:pw@proxy:3128` → ("http://proxy:3128", "user:pw"): the address and the credentials.

    Raises BadProxyURL for anything mitmproxy cannot chain to (only http:// and https:// proxies)."""
    parts = urlsplit(url if "://" in url else f"http://{url}")
    if parts.scheme not in ("http", "https"):
        raise BadProxyURL(f"upstream proxy {redact(url)!r}: only http:// and https:// proxies can be chained")
    try:
        port = parts.port
    except ValueError:
        raise BadProxyURL(f"upstream proxy {redact(url)!r}: the port is not a number from 1 to 65535") from None
    if not parts.hostname:
        raise BadProxyURL(f"upstream proxy {redact(url)!r}: no host name")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    address = f"{parts.scheme}://{host}:{port or (443 if parts.scheme == 'https' else 80)}"
    auth = None
    if parts.username is not None:
        auth = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
    return address, auth


def redact(url: str) -> str:
    """The URL without its password, for messages and state files."""
    parts = urlsplit(url if "://" in url else f"http://{url}")
    netloc = parts.netloc.rpartition("@")[2]
    user = f"{parts.username}:***@" if parts.password else (f"{parts.username}@" if parts.username else "")
    return f"{parts.scheme}://{user}{netloc}"


def same_proxy(a: str | None, b: str | None) -> bool:
    return bool(a and b) and host_port(a or "") == host_port(b or "")


def foreign_proxy(env: Mapping[str, str], own: str | None = None) -> str | None:
    """The proxy in `env`'s HTTPS_PROXY when it is someone else's (not r4u's own), else None."""
    value = proxy_from_env(env)
    if not value or host_port(value) is None:
        return None
    if same_proxy(value, env.get(MARKER_ENV)) or same_proxy(value, own):
        return None
    return value


def upstream_mismatch(wanted: str | None, running: str | None) -> str | None:
    """A one-line warning when the running proxy does not forward where the program's HTTPS_PROXY did."""
    if not wanted or same_proxy(wanted, running):
        return None
    how = f"forwards to {running}" if running else "connects to the providers directly"
    return (
        f"your HTTPS_PROXY ({redact(wanted)}) is not used: the running r4u proxy {how}. To forward through "
        "it, stop the r4u proxy (r4u proxy stop) and run this again: r4u then starts it with your proxy upstream"
    )
