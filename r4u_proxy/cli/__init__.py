"""`r4u` command line: a thin click layer over the library.

Each command group lives in its own module and registers itself on `main`.
"""

from __future__ import annotations

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="r4u")
def main() -> None:
    """r4u: record every LLM API call your programs make."""


# Registration happens on import; keep these at the bottom.
from r4u_proxy.cli import cost as _cost  # noqa: E402,F401
from r4u_proxy.cli import env as _env  # noqa: E402,F401
from r4u_proxy.cli import export as _export  # noqa: E402,F401
from r4u_proxy.cli import insights as _insights  # noqa: E402,F401
from r4u_proxy.cli import proxy as _proxy  # noqa: E402,F401
from r4u_proxy.cli import tasks as _tasks  # noqa: E402,F401
from r4u_proxy.cli import ui as _ui  # noqa: E402,F401
