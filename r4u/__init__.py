"""r4u: record every LLM call a program makes. `import r4u; r4u.enable()`.

This package is the in-app shim and imports only the standard library: it finds (or
starts) the r4u proxy and points the process's HTTP clients at it through the
environment. The proxy itself is the `r4u` command (`pip install 'r4u[proxy]'`).
"""

from typing import TYPE_CHECKING

__all__ = ["disable", "enable", "is_enabled"]

if TYPE_CHECKING:
    from .activation import disable, enable, is_enabled


def __getattr__(name: str):
    # Imported on first use: `r4u run` and `r4u env` use r4u.environment without the aiohttp support.
    if name in __all__:
        from . import activation

        return getattr(activation, name)
    raise AttributeError(f"module 'r4u' has no attribute {name!r}")
