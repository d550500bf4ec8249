"""`r4u run -- CMD`: compute the recording environment, say what cannot be recorded, become CMD.

Standard library only, so that the console script serves the common `r4u run [--project P]
[--include-local] [--home DIR] -- CMD ARGS…` without importing click (`fast_run`): `r4u run` sits in
front of many short-lived programs and its start-up is theirs. Anything else (help, a typo, an option
this parser does not know) goes to the click command in r4u_proxy/cli/env.py, which documents the
options, reports usage errors and calls the same functions.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Mapping, Sequence

from .environment import prepare_recording
from .launch import launch_profile
from .proxy_locator import ProxyUnavailable, r4u_home

# Signals a terminal or a supervisor sends that the child should see too (Windows path only;
# on POSIX `run` execs the command, so it receives them directly).
FORWARDED_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGBREAK")


class CannotRecord(Exception):
    """No proxy runs and none can be started, or the CA bundle cannot be written: the command is not run."""


def recording_values(project: str | None, include_local: bool, home: str | None, start: bool) -> dict[str, str]:
    """The variables for the command; warnings (a company proxy the r4u proxy would bypass) go to stderr."""
    try:
        recording = prepare_recording(project=project, start=start, include_local=include_local, home=home)
    except (ProxyUnavailable, OSError) as exc:
        raise CannotRecord(str(exc)) from None
    if home:  # so that `r4u.enable()` in the program finds the same proxy
        recording.values["R4U_HOME"] = str(r4u_home(home).resolve())
    for warning in recording.warnings:
        print(f"r4u: warning: {warning}", file=sys.stderr)
    return recording.values


def run_recorded(command: Sequence[str], values: Mapping[str, str]) -> int:
    """Run `command` with `values` on top of this environment. On POSIX this process becomes the command."""
    for problem in launch_profile(command, values, os.environ).problems:
        print(f"r4u run: warning: {problem}", file=sys.stderr)
    env = {**os.environ, **values}
    sys.stdout.flush()
    sys.stderr.flush()
    if os.name == "posix":
        # Become the command: its exit status and every signal sent to us are its own.
        try:
            os.execvpe(command[0], list(command), env)
        except OSError as exc:
            print(f"r4u run: cannot run {command[0]}: {exc.strerror or exc}", file=sys.stderr)
            return 127 if isinstance(exc, FileNotFoundError) else 126
    return run_and_forward_signals(list(command), env)


def run_and_forward_signals(command: list[str], env: Mapping[str, str]) -> int:
    """Where exec is not available (Windows): run a child, pass signals on, return its status."""
    import subprocess

    try:
        child = subprocess.Popen(command, env=dict(env))
    except OSError as exc:
        print(f"r4u run: cannot run {command[0]}: {exc.strerror or exc}", file=sys.stderr)
        return 127 if isinstance(exc, FileNotFoundError) else 126

    def forward(signum: int, _frame: object) -> None:
        child.send_signal(signum)

    for name in FORWARDED_SIGNALS:
        signum = getattr(signal, name, None)
        if signum is not None:
            signal.signal(signum, forward)
    status = child.wait()
    return status if status >= 0 else 128 - status  # killed by signal N: the shell convention 128+N


def parse_run_args(args: Sequence[str]) -> tuple[dict[str, object], list[str]] | None:
    """`[--project P] [--include-local] [--home DIR] [--] CMD ARGS…` → (options, command); None for the rest."""
    options: dict[str, object] = {"project": None, "include_local": False, "home": None}
    index = 0
    while index < len(args):
        arg = args[index]
        name, has_value, value = arg.partition("=")
        if arg == "--":
            index += 1
            break
        if arg == "--include-local":
            options["include_local"] = True
        elif name in ("--project", "--home"):
            if not has_value:
                if index + 1 >= len(args):
                    return None
                index, value = index + 1, args[index + 1]
            if not value:
                return None
            options[name[2:]] = value
        elif arg.startswith("-"):
            return None  # --help, a typo: click explains
        else:
            break  # the command starts (click stops at the first argument too)
        index += 1
    command = list(args[index:])
    return (options, command) if command else None


def fast_run(args: Sequence[str]) -> None:
    """Serve `r4u run ARGS` and exit, or return (having done nothing) for click to handle them."""
    parsed = parse_run_args(args)
    if parsed is None:
        return
    options, command = parsed
    project, home = options["project"], options["home"]
    try:
        values = recording_values(
            str(project) if project else None, bool(options["include_local"]), str(home) if home else None, True
        )
    except CannotRecord as exc:
        print(f"Error: {exc}", file=sys.stderr)  # as click reports it
        sys.exit(1)
    sys.exit(run_recorded(command, values))
