"""`r4u env` (the variables to eval in a shell) and `r4u run -- CMD` (run CMD with them).

The variables come from `r4u.environment`, the same code `r4u.enable()` runs inside an
app, so a shell, a child process and an enabled Python process are configured alike.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
from collections.abc import Callable, Mapping
from typing import Any

import click

from r4u.environment import Recording, describe, prepare_recording
from r4u.launch import launch_profile
from r4u.proxy_locator import ProxyUnavailable, r4u_home
from r4u_proxy.cli import main

SHELLS = ("sh", "bash", "zsh", "fish", "powershell", "pwsh")
# Signals a terminal or a supervisor sends that the child should see too (Windows path only;
# on POSIX `run` execs the command, so it receives them directly).
FORWARDED_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGBREAK")


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


def _recording_or_exit(project: str | None, include_local: bool, home: str | None, start: bool) -> Recording:
    try:
        recording = prepare_recording(project=project, start=start, include_local=include_local, home=home)
    except (ProxyUnavailable, OSError) as exc:
        raise click.ClickException(str(exc)) from None
    if home:  # so that `r4u.enable()` in the program finds the same proxy
        recording.values["R4U_HOME"] = str(r4u_home(home).resolve())
    for warning in recording.warnings:
        click.echo(f"r4u: warning: {warning}", err=True)
    return recording


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
    values = _recording_or_exit(project, include_local, home, start).values
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
    values = _recording_or_exit(project, include_local, home, start=True).values
    for problem in launch_profile(command, values, os.environ).problems:
        click.echo(f"r4u run: warning: {problem}", err=True)
    env = {**os.environ, **values}
    sys.stdout.flush()
    sys.stderr.flush()
    if os.name == "posix":
        # Become the command: its exit status and every signal sent to us are its own.
        try:
            os.execvpe(command[0], list(command), env)
        except OSError as exc:
            click.echo(f"r4u run: cannot run {command[0]}: {exc.strerror or exc}", err=True)
            sys.exit(127 if isinstance(exc, FileNotFoundError) else 126)
    sys.exit(_run_and_forward_signals(list(command), env))


def _run_and_forward_signals(command: list[str], env: Mapping[str, str]) -> int:
    """Where exec is not available (Windows): run a child, pass signals on, return its status."""
    try:
        child = subprocess.Popen(command, env=dict(env))
    except OSError as exc:
        click.echo(f"r4u run: cannot run {command[0]}: {exc.strerror or exc}", err=True)
        return 127 if isinstance(exc, FileNotFoundError) else 126

    def forward(signum: int, _frame: object) -> None:
        child.send_signal(signum)

    for name in FORWARDED_SIGNALS:
        signum = getattr(signal, name, None)
        if signum is not None:
            signal.signal(signum, forward)
    status = child.wait()
    return status if status >= 0 else 128 - status  # killed by signal N: the shell convention 128+N
