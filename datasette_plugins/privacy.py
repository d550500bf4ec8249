"""The UI answers its owner's browser only, and goes away with the proxy that started it.

- **Host**, on every request: loopback names, and the address the UI was told to listen on
  (`R4U_UI_ALLOWED_HOSTS`, set by `start_ui`). DNS rebinding is a web page at evil.example whose
  name the attacker then points at 127.0.0.1: the user's browser sends it to the UI, but with
  `Host: evil.example`, which is refused here, so the page never reads a trace.
- **Origin**, when a browser sends one: the same names, so no other site's page can post to the UI.
- **Introspection pages** under `/-/` (databases with their file paths, threads, settings, plugins,
  versions, ...) answer 404; r4u's own pages and the static files stay.
- **Lifeline**: with `R4U_PARENT_PID` set, a thread watches the parent and stops the server once
  it is gone (a proxy killed with -9 must not leave its UI holding the port).
"""

from __future__ import annotations

import ipaddress
import os
import signal
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

ALLOWED_HOSTS_ENV = "R4U_UI_ALLOWED_HOSTS"  # comma-separated host names or addresses
PARENT_ENV = "R4U_PARENT_PID"
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
WILDCARDS = frozenset({"0.0.0.0", "::", ""})
OPEN_PREFIXES = ("/-/static/", "/-/static-plugins/", "/-/r4u/")

ASGIApp = Callable[[dict, Callable[[], Awaitable[dict]], Callable[[dict], Awaitable[None]]], Awaitable[None]]


def host_name(authority: str) -> str:
    """`[::1]:8484` → `::1`, `Example.test:80` → `example.test`."""
    authority = authority.strip().lower()
    if authority.startswith("["):
        return authority[1 : authority.find("]")] if "]" in authority else authority
    if authority.count(":") == 1:
        return authority.partition(":")[0]
    return authority  # a bare IPv6 address, or a name without port


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


class HostPolicy:
    def __init__(self, configured: str = "") -> None:
        names = {host_name(h) for h in configured.split(",") if h.strip()}
        # Bound to every interface: any address of the machine is legitimate, names still are not
        # (an IP literal cannot be rebound by DNS).
        self.any_ip = bool(names & WILDCARDS)
        self.names = (names - WILDCARDS) | LOOPBACK_NAMES

    def allows(self, authority: str) -> bool:
        name = host_name(authority)
        return name in self.names or name.endswith(".localhost") or (self.any_ip and _is_ip(name))


async def _refuse(send: Callable[[dict], Awaitable[None]], status: int, message: str) -> None:
    body = message.encode()
    headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def guard(app: ASGIApp, policy: HostPolicy) -> ASGIApp:
    async def guarded(scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        host = headers.get(b"host", b"").decode("latin-1")
        if not policy.allows(host):
            await _refuse(send, 403, f"r4u: this UI does not answer for host {host!r}; open it at localhost\n")
            return
        origin = headers.get(b"origin")
        if origin is not None and not policy.allows(urlsplit(origin.decode("latin-1")).netloc or "null"):
            await _refuse(send, 403, "r4u: requests from other sites' pages are refused\n")
            return
        path = scope.get("path") or ""
        if path.startswith("/-/") and not path.startswith(OPEN_PREFIXES):
            await _refuse(send, 404, "Not found\n")
            return
        await app(scope, receive, send)

    return guarded


def watch_parent(parent_pid: int, interval: float = 0.5, grace: float = 5.0) -> threading.Thread:
    """Stop this process (SIGTERM, then exit after `grace`) once its parent is no longer `parent_pid`."""

    def run() -> None:
        while os.getppid() == parent_pid:
            time.sleep(interval)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(grace)
        os._exit(1)

    thread = threading.Thread(target=run, name="r4u-lifeline", daemon=True)
    thread.start()
    return thread
