"""`r4u` command line: a thin click layer over the library.

Each command group lives in its own module and registers itself on `main` when imported. Modules are
imported only for the command being run: `r4u run -- CMD` starts many short-lived programs, and importing
every command (pricing data, pydantic, mitmproxy's certificates) would cost it several hundred ms.
"""

from __future__ import annotations

import importlib

import click

# command name -> the module that defines it
COMMAND_MODULES = {
    "env": "r4u_proxy.cli.env",
    "export": "r4u_proxy.cli.export",
    "run": "r4u_proxy.cli.env",
    "doctor": "r4u_proxy.cli.doctor",
    "proxy": "r4u_proxy.cli.proxy",
    "stats": "r4u_proxy.cli.cost",
    "reprice": "r4u_proxy.cli.cost",
    "insights": "r4u_proxy.cli.insights",
    "sessions": "r4u_proxy.cli.sessions",
    "tasks": "r4u_proxy.cli.tasks",
    "ui": "r4u_proxy.cli.ui",
    "demo": "r4u_proxy.cli.ui",
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported when asked for (run, help, completion)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *COMMAND_MODULES})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMAND_MODULES:
            importlib.import_module(COMMAND_MODULES[cmd_name])  # registers itself on `main`
        return super().get_command(ctx, cmd_name)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="r4u")
def main() -> None:
    """r4u: record every LLM API call your programs make."""
