"""`r4u env` (the variables to eval in a shell) and `r4u run -- CMD` (run CMD with them).

The variables come from `r4u.environment`, the same code `r4u.enable()` runs inside an
app, so a shell, a child process and an enabled Python process are configured alike.
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Callable
from typing import Any

import click

from r4u.environment import describe
from r4u.run import CannotRecord, recording_values, run_recorded
from r4u_proxy.cli import main

SHELLS = ("sh", "bash", "zsh", "fish", "powershell", "pwsh")


def export_line(shell: str, name: str, value: str) -> str:
    if shell == "fish":
        escaped = value.replace("\\", "\\\\").replace("'", "\\'")
        return f"set -gx {name} '{escaped}';"
    if shell in ("powershell", "pwsh"):
        escaped = value.replace("'", "''")
        return f"$env:{name} = '{escaped}'"
    return f"export {name}={shlex.quote(value)}"


def default_shell() -> str:
    name = os.path.basename(os.environ.get("SHELL", "")).lower()
    if name in SHELLS:
        return name
    return "powershell" if os.name == "nt" else "sh"


def _values_or_exit(project: str | None, include_local: bool, home: str | None, start: bool) -> dict[str, str]:
    try:
        return recording_values(project, include_local, home, start)
    except CannotRecord as exc:
        raise click.ClickException(str(exc)) from None


def _common_options(command: Callable[..., Any]) -> Callable[..., Any]:
    command = click.option("--home", type=click.Path(file_okay=False), help="R4U_HOME (default ~/.r4u).")(command)
    command = click.option(
        "--include-local", is_flag=True,
        help="Also record calls to localhost (Ollama, vLLM, LM Studio): keep localhost out of NO_PROXY.",
    )(command)
    command = click.option("--project", help="Tag every trace with this project name.")(command)
    return command


@main.command("env")
@_common_options
@click.option("--shell", type=click.Choice(SHELLS), help="Syntax of the lines (default: from $SHELL).")
@click.option("--start/--no-start", default=True, show_default=True,
              help="Start a detached proxy when none runs.")
def env_command(project: str | None, include_local: bool, home: str | None, shell: str | None,
                start: bool) -> None:
    """Print the variables that route a shell's programs through r4u.

    \b
    sh/bash/zsh:  eval "$(r4u env)"
    fish:         r4u env --shell fish | source
    PowerShell:   r4u env --shell powershell | Invoke-Expression
    """
    values = _values_or_exit(project, include_local, home, start)
    shell = shell or default_shell()
    for name, value in values.items():
        click.echo(export_line(shell, name, value))
    click.echo(describe(values), err=True)


@main.command("run", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@_common_options
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def run_command(project: str | None, include_local: bool, home: str | None, command: tuple[str, ...]) -> None:
    """Run COMMAND with its LLM calls recorded: r4u run [--project P] -- CMD ARGS…

    Starts a detached proxy when none runs. The exit status of COMMAND is r4u's. When COMMAND's calls
    cannot be recorded (a runtime that ignores the proxy), r4u says so and how to fix it, then runs it.
    """
    sys.exit(run_recorded(command, _values_or_exit(project, include_local, home, start=True)))
