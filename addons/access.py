"""Beyond loopback: who may use the proxy, and where it may take them.

Loaded only when the proxy listens on a non-loopback address (`r4u proxy start --host 0.0.0.0`):
on loopback, every client is a process of this machine and all of this stays out of the way.

- **Password** (proxy auth): a client sends it as the password of the proxy URL,
  `http://PROJECT:PASSWORD@host:4848`; the user part stays the project (addons/project.py), any
  name will do. A CONNECT that passes authenticates its connection, as browsers and SDKs expect; a
  request without it gets 407 with a Basic challenge.
- **No relaying into the machine or its network**: a call whose target resolves to a loopback,
  link-local, private or otherwise non-public address is refused (403), unless
  `--allow-private-upstream`; `--resolve` targets and the `--upstream-proxy` (often a company proxy on
  a private address) are the user's own choice and always allowed.
  The address checked is the address dialled (it is pinned in `server_connect`), so a name that
  resolves to a public address for the check and to 127.0.0.1 for the connection gains nothing.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import ipaddress
import socket
from urllib.parse import urlsplit

from mitmproxy import ctx, http
from mitmproxy.proxy import server_hooks

from r4u_proxy.providers.hosts import parse_resolve

REALM = 'Basic realm="r4u"'


def password_of(value: str | None) -> str | None:
    scheme, _, encoded = (value or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        return base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")[2]
    except (binascii.Error, UnicodeDecodeError):
        return None


def public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def _refusal(status: int, text: str, headers: dict[str, str] | None = None) -> http.Response:
    return http.Response.make(status, f"r4u: {text}\n".encode(), {"content-type": "text/plain", **(headers or {})})


class Access:
    def __init__(self) -> None:
        self.authenticated: set[str] = set()  # client connection ids that passed a CONNECT
        self.chosen_by_user: set[str] = set()  # --resolve names and the --upstream-proxy host
        self.via_upstream = False  # --upstream-proxy: that proxy resolves and dials the targets
        self.logical: dict[str, tuple[str, int]] = {}  # server connection id -> HOST:PORT while connecting

    def load(self, loader) -> None:
        loader.add_option("r4u_password", str, "", "Proxy password clients must send (proxy auth).")
        loader.add_option("r4u_allow_private_upstream", bool, False, "Relay to loopback and private addresses too.")

    def configure(self, updated: set[str]) -> None:
        if "r4u_resolve" in updated or "mode" in updated:
            upstream = [m.partition(":")[2] for m in ctx.options.mode if m.startswith("upstream:")]
            self.via_upstream = bool(upstream)
            self.chosen_by_user = {parse_resolve(spec)[0] for spec in ctx.options.r4u_resolve} | {
                (urlsplit(url).hostname or "").lower() for url in upstream
            }

    # --- the password --------------------------------------------------------------------
    def _authorized(self, flow: http.HTTPFlow) -> bool:
        expected = ctx.options.r4u_password
        if not expected or flow.client_conn.id in self.authenticated:
            return True
        given = password_of(flow.request.headers.get("proxy-authorization"))
        return given is not None and hmac.compare_digest(given.encode(), expected.encode())

    async def http_connect(self, flow: http.HTTPFlow) -> None:
        if not self._authorized(flow):
            flow.response = _refusal(407, "proxy password required", {"proxy-authenticate": REALM})
            return
        self.authenticated.add(flow.client_conn.id)
        await self._refuse_private(flow)

    async def requestheaders(self, flow: http.HTTPFlow) -> None:
        if not self._authorized(flow):
            flow.response = _refusal(407, "proxy password required", {"proxy-authenticate": REALM})
        elif flow.client_conn.id not in self.authenticated:  # plain HTTP through the proxy, not in a tunnel
            await self._refuse_private(flow)

    async def _refuse_private(self, flow: http.HTTPFlow) -> None:
        """A clear 403 before anything is dialled (server_connect checks again, on what it dials)."""
        try:
            reason, _ = await self._why_not(flow.request.host, flow.request.port)
        except Exception:  # r4u's check failing must not decide the call: server_connect still guards
            return
        if reason:
            flow.response = _refusal(403, reason)

    def client_disconnected(self, client) -> None:
        self.authenticated.discard(client.id)

    # --- where to -----------------------------------------------------------------------
    async def _addresses(self, host: str, port: int) -> list[str]:
        try:
            ipaddress.ip_address(host.split("%")[0])
            return [host]
        except ValueError:
            pass
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        return [info[4][0] for info in infos]

    async def _why_not(self, host: str, port: int) -> tuple[str | None, list[str]]:
        """Why the proxy must not relay to HOST:PORT (None: it may), and the addresses checked."""
        if ctx.options.r4u_allow_private_upstream or host.lower() in self.chosen_by_user:
            return None, []
        try:
            addresses = await self._addresses(host, port)
        except OSError as exc:
            # Behind an upstream proxy, names this machine cannot resolve are the upstream's to resolve;
            # it dials them from its own network, never into this machine's loopback.
            return (None if self.via_upstream else f"cannot resolve {host}: {exc}"), []
        if not addresses or not all(public(a) for a in addresses):
            return f"refusing to relay to {host} ({', '.join(addresses)}): not a public address", addresses
        return None, addresses

    async def server_connect(self, data: server_hooks.ServerConnectionHookData) -> None:
        if not data.server.address:
            return
        host, port = str(data.server.address[0]), int(data.server.address[1])
        reason, addresses = await self._why_not(host, port)
        if reason:
            data.server.error = f"r4u: {reason}"
            return
        if addresses and addresses[0] != host:  # dial exactly the address that was checked
            if data.server.sni is None:
                data.server.sni = host
            self.logical[data.server.id] = data.server.address
            data.server.address = (addresses[0], port)

    def server_connected(self, data: server_hooks.ServerConnectionHookData) -> None:
        logical = self.logical.pop(data.server.id, None)
        if logical is not None:  # known by HOST again, for connection reuse (see addons/routing.py)
            vars(data.server)["address"] = logical

    def server_disconnected(self, data: server_hooks.ServerConnectionHookData) -> None:
        self.logical.pop(data.server.id, None)

