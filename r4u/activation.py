"""`enable()` / `disable()`: point this process's HTTP clients at the r4u proxy, and back.

Everything works through the environment, which clients read when they build a
connection pool (httpx, openai, anthropic), per request (requests, urllib) or at import
(aiohttp: see aiohttp_support.py). `enable()` never raises into the app: when no proxy
can be found or started it warns once and changes nothing.
"""

from __future__ import annotations

import logging
import os
import threading
import warnings

from .aiohttp_support import patch_aiohttp, unpatch_aiohttp
from .environment import MANAGED_VARS, describe, prepare_recording

log = logging.getLogger("r4u")

_lock = threading.RLock()
_saved_env: dict[str, str | None] | None = None  # the values before the first enable(); None: disabled
_warned = False


def enable(
    project: str | None = None,
    proxy_url: str | None = None,
    start: bool = True,
    *,
    include_local: bool = False,
) -> bool:
    """Record this process's LLM calls. Returns True when recording is on.

    project: tags every trace of this process (sent as the proxy URL's user part).
    proxy_url: use this proxy instead of the one in R4U_HOME/proxy.json.
    start: start a detached proxy when none runs.
    include_local: also send calls to localhost (Ollama, vLLM, LM Studio) through the proxy.
    """
    with _lock:
        try:
            recording = prepare_recording(
                project=project, proxy_url=proxy_url, start=start,
                include_local=include_local, base_env=_environment_before_r4u(),
            )
        except Exception as exc:  # no proxy, unwritable home, …: the app must keep running
            _warn_once(f"r4u: LLM calls of this process are not recorded: {exc}")
            return False
        values = recording.values
        for warning in recording.warnings:
            log.warning("r4u: %s", warning)
        try:
            _apply(values)
            patch_aiohttp()
        except Exception as exc:
            disable()
            _warn_once(f"r4u: LLM calls of this process are not recorded: could not configure clients: {exc}")
            return False
        log.info(describe(values))
        return True


def disable() -> None:
    """Restore the environment and the aiohttp defaults that `enable()` changed."""
    global _saved_env
    with _lock:
        for name, value in (_saved_env or {}).items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        _saved_env = None
        unpatch_aiohttp()  # after the environment: aiohttp's context is rebuilt from it


def is_enabled() -> bool:
    return _saved_env is not None


def _environment_before_r4u() -> dict[str, str]:
    """os.environ as it was before enable(), so enabling twice builds on the app's own settings."""
    env = dict(os.environ)
    for name, value in (_saved_env or {}).items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def _apply(values: dict[str, str]) -> None:
    global _saved_env
    if _saved_env is None:
        _saved_env = {name: os.environ.get(name) for name in MANAGED_VARS}
    os.environ.update(values)


def _warn_once(message: str) -> None:
    global _warned
    if _warned:
        log.debug(message)
        return
    _warned = True
    log.warning(message)
    warnings.warn(message, RuntimeWarning, stacklevel=3)
