"""r4u: record every LLM call a program makes. `import r4u; r4u.enable()`.

This package is the in-app shim and imports only the standard library: it finds (or
starts) the r4u proxy and points the process's HTTP clients at it through the
environment. The proxy itself is the `r4u` command (`pip install 'r4u[proxy]'`).
"""

from .activation import disable, enable, is_enabled

__all__ = ["disable", "enable", "is_enabled"]
