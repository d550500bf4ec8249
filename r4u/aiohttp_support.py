"""Make aiohttp honour the proxy and the CA bundle, whenever it was imported.

aiohttp differs from the other clients in two ways:
- `ClientSession(trust_env=False)` is its default, so it ignores HTTPS_PROXY;
- its default SSL context (`aiohttp.connector._SSL_CONTEXT_VERIFIED`) is built once, at
  import, from whatever SSL_CERT_FILE said then.
So `enable()` makes `trust_env=True` the default (an explicit `trust_env=False` still
wins) and rebuilds that context. If aiohttp is not imported yet, an import hook does both
right after its import. `disable()` undoes everything. The private name is looked up
defensively: on an aiohttp without it the proxy still applies, only the CA refresh is skipped.
"""

from __future__ import annotations

import functools
import logging
import ssl
import sys
import threading
from types import ModuleType
from typing import Any

log = logging.getLogger("r4u")

_lock = threading.RLock()
_patched_connector: ModuleType | None = None  # aiohttp.connector, once we replaced its default context
# The context aiohttp built before enable(); None when aiohttp was imported after enable() (its own
# context already trusted r4u then), in which case disable() rebuilds it from the restored environment.
_original_context: Any = None


def patch_aiohttp() -> None:
    with _lock:
        module = sys.modules.get("aiohttp")
        if module is not None and hasattr(module, "ClientSession"):
            _patch(module, imported_after_enable=False)
        elif not any(isinstance(finder, _PatchAfterImport) for finder in sys.meta_path):
            sys.meta_path.insert(0, _PatchAfterImport())


def unpatch_aiohttp() -> None:
    """Undo patch_aiohttp(); call it after the environment is restored."""
    global _original_context, _patched_connector
    with _lock:
        sys.meta_path[:] = [finder for finder in sys.meta_path if not isinstance(finder, _PatchAfterImport)]
        module = sys.modules.get("aiohttp")
        session_cls = getattr(module, "ClientSession", None)
        original_init = getattr(getattr(session_cls, "__init__", None), "__r4u_original__", None)
        if session_cls is not None and original_init is not None:
            session_cls.__init__ = original_init
        if _patched_connector is not None:
            original = _original_context or _new_default_context(_patched_connector)
            _patched_connector._SSL_CONTEXT_VERIFIED = original
        _original_context = _patched_connector = None


def _patch(module: ModuleType, imported_after_enable: bool) -> None:
    _default_trust_env(module.ClientSession)
    _refresh_default_ssl_context(imported_after_enable)


def _default_trust_env(session_cls: type) -> None:
    original = session_cls.__init__
    if hasattr(original, "__r4u_original__"):
        return  # already patched: enable() is idempotent

    @functools.wraps(original)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("trust_env", True)
        original(self, *args, **kwargs)

    __init__.__r4u_original__ = original  # type: ignore[attr-defined]
    session_cls.__init__ = __init__  # type: ignore[misc]


def _refresh_default_ssl_context(imported_after_enable: bool) -> None:
    """Rebuild aiohttp's verified context now that SSL_CERT_FILE names the r4u bundle."""
    global _original_context, _patched_connector
    connector = sys.modules.get("aiohttp.connector")
    if connector is None or not hasattr(connector, "_SSL_CONTEXT_VERIFIED"):
        log.debug("r4u: aiohttp has no _SSL_CONTEXT_VERIFIED; its CA trust is left as it is")
        return
    if _patched_connector is None:
        _patched_connector = connector
        _original_context = None if imported_after_enable else connector._SSL_CONTEXT_VERIFIED
    connector._SSL_CONTEXT_VERIFIED = _new_default_context(connector)


def _new_default_context(connector: ModuleType) -> ssl.SSLContext:
    """What aiohttp builds at import, from the current environment."""
    make_context = getattr(connector, "_make_ssl_context", None)
    if callable(make_context):
        return make_context(True)
    context = ssl.create_default_context()
    context.set_alpn_protocols(("http/1.1",))
    return context


class _PatchAfterImport:
    """A meta-path finder that patches aiohttp as soon as its package has been executed."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname != "aiohttp":
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        if spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _PatchingLoader(spec.loader)
        return spec


class _PatchingLoader:
    """Runs aiohttp's own loader, then patches; everything else is delegated to that loader."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def create_module(self, spec: Any) -> ModuleType | None:
        return self._inner.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._inner.exec_module(module)
        with _lock:
            sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _PatchAfterImport)]
            try:
                _patch(module, imported_after_enable=True)
            except Exception:  # never break the app's import
                log.warning("r4u: could not patch aiohttp after import", exc_info=True)

    def __getattr__(self, name: str) -> Any:  # get_resource_reader, is_package, …
        return getattr(self._inner, name)
