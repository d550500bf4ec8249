"""Run the recording proxy: mitmproxy embedded with r4u's addons, plus its children (the Datasette
UI, the grouping process and, with --otlp-endpoint, the live exporter), until Ctrl-C or `r4u proxy stop`.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import signal
import socket
import time
from typing import Any

from mitmproxy import exceptions
from mitmproxy.addons import block, core, disable_h2c, next_layer, proxyserver, tlsconfig
from mitmproxy.master import Master
from mitmproxy.options import Options

from r4u.environment import NO_PROJECT_USER
from r4u.upstream import parse_upstream
from r4u_proxy import __version__, pricing
from r4u_proxy.addons import default_addons
from r4u_proxy.config import ProxyConfig
from r4u_proxy.ids import iso_utc
from r4u_proxy.memory import return_big_buffers
from r4u_proxy.paths import is_loopback
from r4u_proxy.pricing.overrides import PricesFileError
from r4u_proxy.service.ca import ensure_ca, write_client_bundle, write_upstream_bundle
from r4u_proxy.service.file_modes import private_umask, tighten
from r4u_proxy.service.reclaim import identity, reclaim, start_time
from r4u_proxy.state import clear_state, write_state

log = logging.getLogger("r4u")


class StartError(Exception):
    """The proxy could not start; the message is meant for the user, on one line."""


def check_port_free(host: str, port: int, what: str, flag: str = "--port") -> None:
    if port == 0:
        return
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise StartError(f"{what} port {host}:{port} is already in use (pick another with {flag})") from None
            raise StartError(f"cannot listen on {host}:{port} for the {what}: {exc.strerror}") from None


def mitmproxy_addons() -> list[Any]:
    """The few mitmproxy addons a recording proxy needs, instead of mitmdump's ~35.

    mitmproxy hands every event of every flow to every addon; with the full set that dispatch was
    the largest single cost per request (see docs/benchmarks.md). Features r4u does not expose
    (replay, map/modify, scripts, saving, the mitm.it page, DNS mode) are left out.
    """
    return [
        core.Core(),  # option checks and core commands
        block.Block(),  # refuse clients from public addresses when bound beyond loopback
        disable_h2c.DisableH2C(),  # plain-HTTP upgrade to HTTP/2 is not interceptable: refuse it
        proxyserver.Proxyserver(),
        next_layer.NextLayer(),  # decides per connection: intercept TLS, tunnel, or plain HTTP
        tlsconfig.TlsConfig(),  # mints the per-host certificates from r4u's CA
    ]


def _make_master(config: ProxyConfig) -> Master:
    home = config.paths
    opts = Options(listen_host=config.host, listen_port=config.port, confdir=str(home.ca_dir))
    master = Master(opts)
    master.addons.add(*mitmproxy_addons())
    beyond_loopback = not is_loopback(config.host)
    master.addons.add(*default_addons(beyond_loopback=beyond_loopback))
    updates: dict[str, Any] = {
        "r4u_db": str(config.db),
        "r4u_stats_file": str(home.stats_file),
        "r4u_queue_bytes": config.queue_bytes,
        "r4u_redact": list(config.redact),
        "r4u_capture_cap": config.capture_cap,
        "r4u_resolve": list(config.resolve),
        "r4u_intercept": list(config.intercept),
        "connection_strategy": "lazy",  # connect upstream only for requests we forward
    }
    if beyond_loopback:
        updates["r4u_password"] = config.password or ""
        updates["r4u_allow_private_upstream"] = config.allow_private_upstream
    if config.upstream_ca:
        updates["ssl_verify_upstream_trusted_ca"] = str(write_upstream_bundle(home, config.upstream_ca))
    if config.upstream_proxy is not None:
        address, auth = parse_upstream(config.upstream_proxy.get_secret_value())
        updates["mode"] = [f"upstream:{address}"]
        updates["upstream_auth"] = auth
    try:
        master.options.update(**updates)
    except exceptions.OptionsError as exc:
        raise StartError(str(exc)) from None
    return master


async def _wait_listening(master: Master, task: asyncio.Task, timeout: float = 15) -> tuple[str, int]:
    proxyserver = master.addons.get("proxyserver")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if task.done():
            break
        addrs = proxyserver.listen_addrs()
        if addrs:
            return addrs[0][0], addrs[0][1]
        await asyncio.sleep(0.02)
    raise StartError("the proxy did not start listening (see the log above)")


GRACE_S = 3.0  # on stop, LLM calls in flight get this long to finish before they are cut


class Children:
    """The UI, grouping and live-export processes: started after the proxy listens, stopped with it.
    None inherits the listening socket (the UI is exec'd, grouping and the exporter are spawned), all
    obey SIGTERM and all exit by themselves once the proxy is gone."""

    def __init__(self, config: ProxyConfig) -> None:
        self.config = config
        self.ui: Any = None
        self.ui_url: str | None = None
        self.grouping: Any = None
        self.exporter: Any = None

    def start(self) -> None:
        home = self.config.paths
        home.log_dir.mkdir(parents=True, exist_ok=True)
        if self.config.ui:
            from r4u_proxy.service.ui_server import start_ui

            self.ui = start_ui(self.config.db, self.config.ui_host, self.config.ui_port, home.log_dir / "ui.log")
        if self.config.grouping:
            from r4u_proxy.grouping.process import GroupingProcess

            self.grouping = GroupingProcess(str(self.config.db), str(home.log_dir / "grouping.log"))
            self.grouping.start()
        home.export_stats_file.unlink(missing_ok=True)  # a previous run's counters are not this run's
        if self.config.otlp_endpoint:
            from r4u_proxy.export.live import LiveConfig, LiveExporter

            live = LiveConfig.from_env(self.config.otlp_endpoint, self.config.otlp_headers, self.config.otlp_content)
            self.exporter = LiveExporter(self.config.db, live, home.export_stats_file, home.log_dir / "export.log")
            self.exporter.start()

    def wait_ui(self) -> None:
        """Block until the UI answers (a few hundred ms); a UI that fails leaves the proxy running."""
        if self.ui is None:
            return
        if self.ui.wait_ready(30):
            self.ui_url = self.ui.url
        else:
            log.warning("r4u: the UI did not start; see %s", self.config.paths.log_dir / "ui.log")

    def identities(self) -> list[dict[str, Any]]:
        """pid and start time of each child, for `proxy start` to reclaim them if this proxy dies."""
        found = [
            identity(self.ui.process.pid if self.ui else None, "ui"),
            identity(self.grouping.pid if self.grouping else None, "grouping"),
            identity(self.exporter.pid if self.exporter else None, "export"),
        ]
        return [entry for entry in found if entry]

    def stop(self) -> None:
        for child in (self.grouping, self.ui, self.exporter):
            if child is None:
                continue
            try:
                child.stop()
            except Exception:
                log.exception("r4u: could not stop %r cleanly", child)


def prepare(config: ProxyConfig) -> None:
    """Everything that can fail before anything is started: ports, CA, bundles, db."""
    home = config.paths
    private_umask()
    return_big_buffers()
    reclaim(home)  # what a proxy of this home that died without stopping left running
    check_port_free(config.host, config.port, "proxy")
    if config.ui:
        check_port_free(config.ui_host, config.ui_port, "UI", "--ui-port")
    tighten(home.root, config.db)
    ensure_ca(home)
    write_client_bundle(home)
    try:
        pricing.configure(home.root / "prices.toml")
    except PricesFileError as exc:
        raise StartError(str(exc)) from None
    from r4u_proxy.store.migrations import open_db

    try:
        open_db(config.db).close()
        if config.otlp_endpoint:
            from r4u_proxy.export.live import start_watermark

            start_watermark(config.db, config.otlp_endpoint)
    except Exception as exc:
        raise StartError(f"cannot open the database {config.db}: {exc}") from None


def _proxy_url(config: ProxyConfig, host: str, port: int) -> str:
    name = f"[{host}]" if ":" in host else host
    credentials = f"{NO_PROJECT_USER}:{config.password}@" if config.password else ""  # no project, a password
    return f"http://{credentials}{name}:{port}"


def upstream_address(config: ProxyConfig) -> str | None:
    return parse_upstream(config.upstream_proxy.get_secret_value())[0] if config.upstream_proxy else None


async def _drain(master: Master, grace: float) -> None:
    """Stop listening, then give the LLM calls in flight up to `grace` seconds to finish."""
    proxyserver = master.addons.get("proxyserver")
    await proxyserver.servers.update([])
    recording = master.addons.get("recorder")
    deadline = time.monotonic() + grace
    while recording is not None and recording.inflight and time.monotonic() < deadline:
        await asyncio.sleep(0.05)


async def _close_connections(master: Master) -> None:
    """End what is still connected (idle keep-alives, tunnels) the way mitmproxy ends an idle client
    (cancelling its connection task), so none is left for asyncio.run to cancel on the way out."""
    for handler in list(master.addons.get("proxyserver").connections.values()):
        with contextlib.suppress(Exception):
            client = handler.transports.get(handler.client)
            if client is not None and client.handler is not None:
                client.handler.cancel("r4u proxy stopped")
    deadline = time.monotonic() + 1.0
    while master.addons.get("proxyserver").connections and time.monotonic() < deadline:
        await asyncio.sleep(0.02)


async def serve(config: ProxyConfig, on_ready=None) -> None:
    """Run until stopped. `on_ready(state)` is called once the proxy listens."""
    prepare(config)
    master = _make_master(config)
    loop = asyncio.get_running_loop()
    stop_requested = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop_requested.set)
    task = asyncio.create_task(master.run())
    children = Children(config)
    home = config.paths
    stopping_children: asyncio.Future | None = None
    try:
        host, port = await _wait_listening(master, task)
        children.start()
        await asyncio.to_thread(children.wait_ui)
        state = {
            "pid": os.getpid(),
            "pid_started": start_time(os.getpid()),
            "host": host,
            "port": port,
            "proxy_url": _proxy_url(config, host, port),
            "ui_url": children.ui_url,
            "db": str(config.db),
            "home": str(home.root),
            "ca_cert": str(home.ca_cert),
            "ca_bundle": str(home.ca_bundle),
            "upstream_proxy": upstream_address(config),  # without credentials
            "resolve": list(config.resolve),
            "started_at": iso_utc(time.time()),
            "version": __version__,
            "children": children.identities(),
        }
        write_state(home, state)
        if on_ready:
            on_ready(state)
        waiter = asyncio.create_task(stop_requested.wait())
        await asyncio.wait([task, waiter], return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        if not task.done():
            began = time.monotonic()
            stopping_children = asyncio.ensure_future(asyncio.to_thread(children.stop))
            await _drain(master, GRACE_S)
            log.info("r4u: stopping; calls in flight done or cut after %.1f s", time.monotonic() - began)
            master.shutdown()  # the recorder's done(): what is still in flight is recorded, the writer flushes
            await task
            await _close_connections(master)
            await stopping_children
            log.info("r4u: stopped in %.1f s", time.monotonic() - began)
    except BaseException:
        master.shutdown()
        if not task.done():
            await asyncio.wait_for(task, 60)
        raise
    finally:
        if stopping_children is None:
            children.stop()
        elif not stopping_children.done():
            await stopping_children
        clear_state(home, os.getpid())
