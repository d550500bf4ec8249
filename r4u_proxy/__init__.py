"""r4u's proxy, store, UI and CLI. The stdlib-only app shim is the separate `r4u` package."""

__version__ = "0.1.0"
