"""R4U_HOME and everything in it are the owner's alone: folders 0700, files 0600, whatever the umask.

The database holds every prompt; its WAL and SHM files, the logs, proxy.json (with the proxy
password, when there is one), the stats file and the CA key are no less private. `private_umask()`
makes every file the process (and its children: writer, grouping, UI) creates owner-only from the
start; `tighten()` repairs a home made by an older r4u or under a looser umask.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

PRIVATE_UMASK = 0o077
DIR_MODE = 0o700
FILE_MODE = 0o600


def private_umask() -> None:
    os.umask(PRIVATE_UMASK)


def _chmod(path: Path, mode: int) -> None:
    with contextlib.suppress(OSError):  # a file that vanished, or one owned by someone else: not ours to fix
        st = os.lstat(path)
        if stat.S_ISLNK(st.st_mode) or st.st_uid != os.getuid():
            return
        if stat.S_IMODE(st.st_mode) & ~mode:
            os.chmod(path, stat.S_IMODE(st.st_mode) & mode)


def tighten(root: Path, *extra_files: Path) -> None:
    """Make `root` and everything under it owner-only (symlinks are not followed), and the files
    `extra_files` too (a --db outside the home, with its -wal and -shm)."""
    root.mkdir(parents=True, exist_ok=True)
    _chmod(root, DIR_MODE)
    for folder, dirs, files in os.walk(root):
        for name in dirs:
            _chmod(Path(folder) / name, DIR_MODE)
        for name in files:
            _chmod(Path(folder) / name, FILE_MODE)
    tighten_files(*extra_files)


def tighten_files(*databases: Path) -> None:
    """Make each database file owner-only, with its -wal, -shm and -journal."""
    for path in databases:
        for candidate in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
            _chmod(candidate, FILE_MODE)
