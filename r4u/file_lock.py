"""An advisory lock on a file, shared by processes of one user (standard library only: the shim uses it)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def exclusive(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on `path` (created if missing) for the `with` block.

    On Windows the standard library has no advisory locks: the block runs unlocked, and a lost race
    shows as the caller's own error (a busy port, a certificate written twice)."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    # 0600 whatever the umask: files under R4U_HOME are the owner's alone (docs/faults.md).
    with os.fdopen(os.open(path, os.O_RDWR | os.O_CREAT, 0o600), "r+b") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)
