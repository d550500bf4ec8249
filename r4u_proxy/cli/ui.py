"""`r4u ui` (the Datasette UI alone, in the foreground) and `r4u demo` (a populated UI in one command)."""

from __future__ import annotations

import signal
from pathlib import Path

import click

from r4u_proxy.cli import main
from r4u_proxy.cli.options import db_options, db_path
from r4u_proxy.paths import DEFAULT_HOST, DEFAULT_UI_PORT, Home


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def serve_foreground(db: Path, host: str, port: int) -> None:
    """Serve db until Ctrl-C; exits non-zero if Datasette does not come up."""
    from r4u_proxy.service.file_modes import private_umask, tighten_files
    from r4u_proxy.service.ui_server import port_in_use, start_ui

    private_umask()  # a database the UI creates, and its WAL, are the owner's alone
    tighten_files(db)
    if port and port_in_use(host, port):
        raise click.ClickException(f"UI port {host}:{port} is already in use (pick another with --port)")
    server = start_ui(db, host, port)
    # The Datasette child runs in its own session; make `kill` (SIGTERM) stop it like Ctrl-C does.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        if not server.wait_ready():
            raise click.ClickException(f"Datasette did not start on {server.url} (try `datasette serve {db}`)")
        click.echo(f"r4u UI: {server.url}  (database {db}; Ctrl-C to stop)")
        server.process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


@main.command()
@db_options
@click.option("--host", default=DEFAULT_HOST, show_default=True, help="Address the UI listens on.")
@click.option("--port", default=DEFAULT_UI_PORT, show_default=True, type=int, help="UI port (0: any free one).")
def ui(db: Path | None, home: Path | None, host: str, port: int) -> None:
    """Serve the traces database in the Datasette UI (without the proxy)."""
    serve_foreground(db_path(home, db), host, port)


@main.command()
@click.option(
    "--home", type=click.Path(file_okay=False, path_type=Path),
    help="Where the demo keeps its own proxy, CA and database (default: R4U_HOME/demo).",
)  # fmt: skip
@click.option("--python", "python", type=click.Path(dir_okay=False), help="Interpreter that runs the demo calls.")
@click.option("--port", default=DEFAULT_UI_PORT, show_default=True, type=int, help="UI port (0: any free one).")
@click.option("--serve/--no-serve", default=True, show_default=True, help="Serve the UI when the calls are done.")
def demo(home: Path | None, python: str | None, port: int, serve: bool) -> None:
    """Record a few dozen realistic calls against a built-in simulator, then open the UI.

    Needs no API key and no network: the OpenAI/Anthropic SDKs (or plain httpx when
    they are not installed) talk to a local simulator through a real r4u proxy.
    """
    from r4u_proxy.demo import DemoError, default_python, run_demo

    demo_home = Home.resolve(home) if home else Home(Home.resolve().root / "demo")
    try:
        summary = run_demo(demo_home, python=python or default_python(), echo=click.echo)
    except DemoError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(summary)
    if serve:
        from r4u_proxy.service.ui_server import port_in_use

        if port and port_in_use(DEFAULT_HOST, port):
            click.echo(f"r4u demo: port {port} is busy (another r4u UI?); serving on a free port instead")
            port = 0
        serve_foreground(demo_home.db, DEFAULT_HOST, port)
    else:
        click.echo(f"See it with: r4u ui --home {demo_home.root}")
