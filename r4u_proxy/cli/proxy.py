"""`r4u proxy start | stop | status`."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import click
from pydantic import SecretStr

from r4u.upstream import NO_UPSTREAM, UPSTREAM_ENV, BadProxyURL, foreign_proxy, parse_upstream
from r4u_proxy.cli import main
from r4u_proxy.cli.export import export_line, headers_from_env, otlp_options
from r4u_proxy.cli.options import home_option
from r4u_proxy.config import ProxyConfig
from r4u_proxy.paths import DEFAULT_HOST, DEFAULT_PORT, DEFAULT_UI_PORT, Home, is_loopback
from r4u_proxy.providers.hosts import BadHostSpec, host_regex, parse_resolve
from r4u_proxy.service.ca import CAError, check_pem
from r4u_proxy.state import clear_state, pid_alive, read_export_stats, read_state, read_stats, running_state


class UserError(click.ClickException):
    """One line on stderr, exit code 2: bad input or a start that cannot happen."""

    exit_code = 2

    def show(self, file=None) -> None:
        click.echo(f"r4u: error: {self.format_message()}", err=True)


@main.group()
def proxy() -> None:
    """Start, stop and inspect the recording proxy."""


@proxy.command()
@click.option("--host", default=DEFAULT_HOST, show_default=True, envvar="R4U_HOST", help="Address the proxy listens on.")
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=int, envvar="R4U_PORT", help="Proxy port (0: any free one).")
@home_option
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path), help="SQLite file (default: HOME/traces.db).")
@click.option("--ui/--no-ui", default=True, show_default=True, help="Serve the Datasette UI beside the proxy.")
@click.option("--ui-host", default=DEFAULT_HOST, show_default=True, envvar="R4U_UI_HOST", help="Address the UI listens on.")
@click.option("--ui-port", default=DEFAULT_UI_PORT, show_default=True, type=int, envvar="R4U_UI_PORT", help="UI port (0: any free one).")
@click.option(
    "--upstream-ca", type=click.Path(dir_okay=False, path_type=Path), envvar="R4U_UPSTREAM_CA", show_envvar=True,
    help="Also trust this CA (PEM) upstream, e.g. a company proxy's that inspects TLS.",
)  # fmt: skip
@click.option(
    "--upstream-proxy", metavar="URL", envvar=UPSTREAM_ENV, show_envvar=True,
    help="Forward through this proxy, http://[user:password@]host:port ('none': connect directly). "
    "Default: the HTTPS_PROXY of r4u's own environment.",
)  # fmt: skip
@click.option("--resolve", multiple=True, metavar="HOST=IP:PORT", help="Connect to IP:PORT for HOST (repeatable).")
@click.option("--intercept", multiple=True, metavar="PATTERN", help="Also intercept these hosts, e.g. '*.internal.ai'.")
@click.option("--capture-cap", default="10MB", show_default=True, help="Bytes stored of each request and response body.")
@click.option("--queue-bytes", default="256MB", show_default=True, help="Traces held for the writer before drops.")
@click.option("--redact", multiple=True, metavar="REGEX", help="Also redact text matching REGEX before storage (repeatable).")
@click.option("--password", envvar="R4U_PROXY_PASSWORD", help="Proxy password (required beyond loopback; made up when not given).")
@click.option("--allow-private-upstream", is_flag=True, help="Beyond loopback, still relay to loopback and private addresses.")
@click.option("--no-grouping", is_flag=True, help="Do not run the task grouping process.")
@click.option("--detach", is_flag=True, help="Run in the background and return once the proxy listens.")
@otlp_options
def start(
    home: Path | None, detach: bool, upstream_proxy: str | None,
    otlp_endpoint: str | None, otlp_headers: tuple[tuple[str, str], ...], otlp_content: str, **options: Any,
) -> None:  # fmt: skip
    """Start the recording proxy (foreground unless --detach)."""
    paths = Home.resolve(home)
    config = _config(paths, **options)
    config.upstream_proxy = _upstream(upstream_proxy, options["host"], options["port"])
    headers = headers_from_env(os.environ.get("R4U_OTLP_HEADERS")) | dict(otlp_headers)
    config = config.model_copy(update={"otlp_endpoint": otlp_endpoint, "otlp_headers": headers, "otlp_content": otlp_content})
    if (state := running_state(paths)) is not None:
        click.echo(f"r4u proxy is already running (pid {state['pid']}) at {state['proxy_url']}")
        _print_ready(state)
        return
    if detach:
        _start_detached(config)
        return
    _run_foreground(config)


def _config(
    paths: Home, *, host: str, port: int, db: Path | None, ui: bool, ui_host: str, ui_port: int,
    upstream_ca: Path | None, resolve: tuple[str, ...], intercept: tuple[str, ...], capture_cap: str,
    queue_bytes: str, redact: tuple[str, ...], password: str | None, allow_private_upstream: bool, no_grouping: bool,
) -> ProxyConfig:  # fmt: skip
    try:
        for spec in resolve:
            parse_resolve(spec)
        for glob in intercept:
            host_regex(glob)
        ca = check_pem(upstream_ca) if upstream_ca else None
    except (BadHostSpec, CAError) as exc:
        raise UserError(str(exc)) from None
    if not 0 <= port <= 65535 or not 0 <= ui_port <= 65535:
        raise UserError("ports must be between 0 and 65535")
    for pattern in redact:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise UserError(f"--redact {pattern!r}: not a regular expression ({exc})") from None
    if not is_loopback(host) and not password:
        password = secrets.token_urlsafe(12)  # printed in the proxy URL once it listens
    return ProxyConfig(
        host=host, port=port, home=paths.root, db=(db.expanduser().resolve() if db else paths.db), ui=ui,
        ui_host=ui_host, ui_port=ui_port, upstream_ca=ca, resolve=list(resolve), intercept=list(intercept),
        capture_cap=_parse_size(capture_cap, "--capture-cap"), queue_bytes=_parse_size(queue_bytes, "--queue-bytes"),
        redact=list(redact), password=password or None, allow_private_upstream=allow_private_upstream,
        grouping=not no_grouping,
    )  # fmt: skip


def _upstream(option: str | None, host: str, port: int) -> SecretStr | None:
    """--upstream-proxy, else a proxy already in this environment's HTTPS_PROXY (never r4u's own address)."""
    if option is None:
        option = foreign_proxy(os.environ, own=f"http://{host}:{port}" if port else None)
    if option is None or option.strip().lower() in NO_UPSTREAM:
        return None
    try:
        parse_upstream(option)
    except BadProxyURL as exc:
        raise UserError(str(exc)) from None
    return SecretStr(option.strip())


def _parse_size(text: str, flag: str) -> int:
    units = {"": 1, "b": 1, "kb": 1024, "k": 1024, "mb": 1024**2, "m": 1024**2, "gb": 1024**3, "g": 1024**3}
    number = text.strip().lower().rstrip("ib") if text.lower().endswith("ib") else text.strip().lower()
    digits = "".join(ch for ch in number if ch.isdigit() or ch == ".")
    unit = number[len(digits) :].strip()
    if not digits or unit not in units:
        raise UserError(f"{flag} {text!r}: expected a size like 10MB or 500KB")
    return int(float(digits) * units[unit])


def _print_ready(state: dict, mask: bool = False) -> None:
    url = state["proxy_url"]
    if mask and "@" in url:  # output that goes to a file (a log) does not get the password
        url = re.sub(r"(//[^:/@]*:)[^@]*@", r"\1***@", url)
    click.echo(f"proxy:  {url}")
    click.echo(f"CA:     {state['ca_cert']}  (bundle for SSL_CERT_FILE: {state['ca_bundle']})")
    click.echo(f"UI:     {state.get('ui_url') or 'off (--no-ui)'}")
    click.echo(f"db:     {state['db']}")
    if state.get("upstream_proxy"):
        click.echo(f"via:    {state['upstream_proxy']} (upstream proxy)")
    click.echo('apps:   r4u run -- CMD ARGS…   (a shell: eval "$(r4u env)"; Python: r4u.enable())')


def _run_foreground(config: ProxyConfig) -> None:
    from r4u_proxy.service.proxy import StartError, serve

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("r4u").setLevel(logging.INFO)

    def ready(state: dict) -> None:
        _print_ready(state, mask=not sys.stdout.isatty())
        click.echo("recording; Ctrl-C to stop", err=True)
        sys.stdout.flush()

    try:
        asyncio.run(serve(config, on_ready=ready))
    except StartError as exc:
        raise UserError(str(exc)) from None
    except KeyboardInterrupt:
        pass
    from r4u_proxy.guard import COUNTERS

    dropped = COUNTERS.snapshot().get("dropped", 0)
    if dropped:
        click.echo(f"r4u proxy stopped; {dropped:,} captured traces were not written (see the log above)", err=True)
    else:
        click.echo("r4u proxy stopped; every captured trace was written", err=True)


def _foreground_args(config: ProxyConfig) -> list[str]:
    """The `r4u proxy start` arguments that run `config` in the foreground (the password goes by
    environment, not on a command line every local user can read)."""
    args = ["--host", config.host, "--port", str(config.port), "--home", str(config.home), "--db", str(config.db)]
    args += ["--ui" if config.ui else "--no-ui", "--ui-host", config.ui_host, "--ui-port", str(config.ui_port)]
    args += ["--capture-cap", str(config.capture_cap), "--queue-bytes", str(config.queue_bytes)]
    for pattern in config.redact:
        args += ["--redact", pattern]
    if config.allow_private_upstream:
        args.append("--allow-private-upstream")
    if config.upstream_ca:
        args += ["--upstream-ca", str(config.upstream_ca)]
    for spec in config.resolve:
        args += ["--resolve", spec]
    for glob in config.intercept:
        args += ["--intercept", glob]
    if not config.grouping:
        args.append("--no-grouping")
    if config.upstream_proxy is None:
        args += ["--upstream-proxy", "none"]  # the URL itself travels in the child's environment
    if config.otlp_endpoint:  # its headers go through the environment: they may hold credentials
        args += ["--otlp-endpoint", config.otlp_endpoint, "--otlp-content", config.otlp_content]
    return args


def _start_detached(config: ProxyConfig) -> None:
    paths = config.paths
    paths.log_dir.mkdir(parents=True, exist_ok=True)
    log_path = paths.log_dir / "proxy.log"
    args = _foreground_args(config)
    env = {**os.environ}
    if config.password:
        env["R4U_PROXY_PASSWORD"] = config.password
    if config.upstream_proxy is not None:
        env[UPSTREAM_ENV] = config.upstream_proxy.get_secret_value()
    if config.otlp_headers:
        env["R4U_OTLP_HEADERS"] = ",".join(f"{k}={quote(v)}" for k, v in config.otlp_headers.items())
    with open(log_path, "ab") as log_file:
        child = subprocess.Popen(
            [sys.executable, "-m", "r4u_proxy", "proxy", "start", *args],
            stdin=subprocess.DEVNULL, stdout=log_file, stderr=log_file, start_new_session=True, env=env,
        )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        state = read_state(paths)
        if state and state.get("pid") == child.pid:
            _print_ready(state)
            click.echo(f"log:    {log_path}")
            return
        if child.poll() is not None:
            lines = [ln for ln in log_path.read_text(errors="replace").splitlines() if ln.strip()]
            reason = next((ln for ln in reversed(lines) if "error" in ln.lower()), lines[-1] if lines else "")
            raise UserError(reason.removeprefix("r4u: error: ") or f"the proxy exited with code {child.returncode}")
        time.sleep(0.05)
    child.terminate()
    raise UserError(f"the proxy did not come up within 30 s; see {log_path}")


@proxy.command()
@home_option
@click.option("--timeout", default=30.0, show_default=True, help="Seconds to wait for the queue to flush.")
def stop(home: Path | None, timeout: float) -> None:
    """Stop the running proxy (it writes every queued trace first)."""
    paths = Home.resolve(home)
    state = read_state(paths)
    if not state or not pid_alive(int(state["pid"])):
        clear_state(paths)
        click.echo("r4u proxy is not running")
        return
    from r4u_proxy.service.reclaim import running

    pid = int(state["pid"])
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while running(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if running(pid):
        raise UserError(f"the proxy (pid {pid}) did not stop within {timeout:.0f} s")
    click.echo(f"r4u proxy stopped (pid {pid})")


def _mb(n: float) -> str:
    return f"{n / 1e6:.1f} MB"


def _print_stats(stats: dict[str, Any]) -> None:
    """The proxy's own view, a fraction of a second old (see r4u_proxy/store/supervisor.py)."""
    click.echo(
        f"traces: {stats.get('recorded', 0)} recorded, {stats.get('dropped', 0)} dropped, "
        f"{stats.get('queue_depth', 0)} queued ({_mb(stats.get('queue_bytes', 0))} of "
        f"{_mb(stats.get('queue_bytes_limit', 0))}); errors: {stats.get('addon_errors', 0)} in addons, "
        f"{stats.get('analysis_errors', 0)} in analysis, {stats.get('write_errors', 0)} in writes"
    )
    if stats.get("failing"):
        since = stats.get("failing_since") or time.time()
        click.echo(
            f"writer: writes failing for {time.time() - since:.0f} s, {stats['failing']} traces waiting; "
            f"retrying. Last error: {stats.get('last_write_error')}"
        )
    elif stats.get("last_write_error"):
        click.echo(f"writer: last write error: {stats['last_write_error']}")
    if stats.get("writer_restarts"):
        click.echo(f"writer: restarted {stats['writer_restarts']} time(s); now pid {stats.get('writer_pid')}")


@proxy.command()
@home_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def status(home: Path | None, as_json: bool) -> None:
    """Exit 0 and describe the proxy when it runs; exit 1 when it does not."""
    paths = Home.resolve(home)
    state = running_state(paths)
    stats = read_stats(paths) if state else {}
    export = read_export_stats(paths) if state else None
    if as_json:
        click.echo(json.dumps({"running": state is not None, **(state or {}), "stats": stats, "export": export}))
    elif state is None:
        click.echo("r4u proxy is not running")
    else:
        click.echo(f"r4u proxy is running (pid {state['pid']}, since {state['started_at']})")
        _print_ready(state)
        if stats:
            _print_stats(stats)
        if export:
            click.echo(export_line(export))
    sys.exit(0 if state else 1)
