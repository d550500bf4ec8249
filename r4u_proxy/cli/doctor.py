"""`r4u doctor [-- CMD ARGS…]`: would the calls be recorded? One line per check, a fix under each problem."""

from __future__ import annotations

import os
import sys

import click

from r4u.proxy_locator import r4u_home
from r4u_proxy.cli import main

MARKS = {"ok": "ok  ", "warn": "warn", "fail": "FAIL"}


@main.command("doctor", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.option("--home", type=click.Path(file_okay=False), help="R4U_HOME (default ~/.r4u).")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
def doctor(home: str | None, command: tuple[str, ...]) -> None:
    """Check that LLM calls (of COMMAND, when given) would be recorded.

    Checks the proxy, that Python, curl and Node go through it and trust its CA, COMMAND's runtime,
    the upstream proxy and DNS. Exit status 1 when something would leave calls unrecorded.
    """
    from r4u_proxy.diagnose import diagnose

    home_dir = r4u_home(home)
    result = diagnose(home_dir, os.environ, command)
    click.echo(f"r4u doctor: checking {result.mode} (R4U_HOME={home_dir})")
    for check in result.checks:
        click.echo(f"  {MARKS[check.status]}  {check.name:<16} {check.detail}")
        if check.fix and check.status != "ok":
            click.echo(f"        {'':<16} fix: {check.fix}")
    if result.failed:
        click.echo("r4u doctor: some calls would not be recorded (see FAIL above)", err=True)
    sys.exit(1 if result.failed else 0)
