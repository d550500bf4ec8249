"""Which connections r4u looks into, and where they really go.

- Only LLM API hosts are TLS-intercepted (mitmproxy's allow_hosts); every other host
  is tunnelled untouched. Plain-HTTP requests always pass through mitmproxy's HTTP
  layer; the capture addon decides from the path whether they are LLM calls.
- `--resolve HOST=IP:PORT` sends connections for HOST elsewhere while the app, the
  TLS server name and the trace still say HOST.
"""

from __future__ import annotations

from collections.abc import Sequence

from mitmproxy import ctx, exceptions, http
from mitmproxy.proxy import server_hooks

from r4u_proxy.guard import guarded
from r4u_proxy.providers.hosts import BadHostSpec, intercept_regexes, parse_resolve


class Routing:
    def __init__(self) -> None:
        self.resolve: dict[str, tuple[str, int]] = {}
        self.logical: dict[str, tuple[str, int]] = {}  # server connection id -> HOST:PORT while connecting

    def load(self, loader) -> None:
        loader.add_option(
            "r4u_intercept", Sequence[str], [], "Extra host globs to intercept beside the built-in LLM hosts."
        )
        loader.add_option(
            "r4u_intercept_all", bool, False, "Intercept every host (debugging; needs the CA everywhere)."
        )
        loader.add_option("r4u_resolve", Sequence[str], [], "HOST=IP:PORT: connect to IP:PORT for HOST.")

    def configure(self, updated: set[str]) -> None:
        if updated & {"r4u_intercept", "r4u_intercept_all"}:
            try:
                allow = [] if ctx.options.r4u_intercept_all else intercept_regexes(ctx.options.r4u_intercept)
            except BadHostSpec as exc:
                raise exceptions.OptionsError(str(exc)) from None
            ctx.options.update(allow_hosts=allow)
        if "r4u_resolve" in updated:
            try:
                self.resolve = dict(parse_resolve(spec) for spec in ctx.options.r4u_resolve)
            except BadHostSpec as exc:
                raise exceptions.OptionsError(str(exc)) from None

    @guarded
    def server_connect(self, data: server_hooks.ServerConnectionHookData) -> None:
        if not self.resolve or not data.server.address:
            return
        host, port = data.server.address[:2]
        target = self.resolve.get(str(host).lower())
        if target is None:
            return
        if data.server.sni is None:
            data.server.sni = str(host)  # the certificate is still checked against HOST
        self.logical[data.server.id] = data.server.address
        data.server.address = target

    @guarded
    def server_connected(self, data: server_hooks.ServerConnectionHookData) -> None:
        # Once connected, the connection is known by HOST again, so that mitmproxy reuses it
        # for the next request to HOST instead of opening a new one for each request (which
        # also stalls every few requests with lazy connections). Server.__setattr__ refuses
        # address changes on open connections, so relabel it directly: where the socket goes
        # (peername) is unchanged.
        logical = self.logical.pop(data.server.id, None)
        if logical is not None:
            vars(data.server)["address"] = logical

    @guarded
    def http_connect_upstream(self, flow: http.HTTPFlow) -> None:
        # Through an upstream proxy the socket goes to that proxy; --resolve then names the target of
        # the CONNECT request r4u sends it.
        target = self.resolve.get(flow.request.host.lower()) if self.resolve else None
        if target is not None:
            flow.request.host, flow.request.port = target
            flow.request.authority = f"{target[0]}:{target[1]}"

    def server_disconnected(self, data: server_hooks.ServerConnectionHookData) -> None:
        self.logical.pop(data.server.id, None)

