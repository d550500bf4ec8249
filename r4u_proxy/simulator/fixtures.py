"""Recorded response bodies (`x-sim-fixture`), cut into writes without changing a byte.

The recordings keep their quirks (CRLF or LF, `:` comments, no final newline), and the simulator must send
them exactly as recorded; cutting only decides where the writes (and the gaps) fall: after each blank line
of an event stream (`.sse`), after each line of NDJSON (`.ndjson`), after each message of an AWS event
stream (`.eventstream`, length-prefixed binary); a JSON body (`.json`) is one write. The extension also
gives the reply's content type.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

_BLANK_LINES = (b"\n", b"\r\n", b"\r")
CONTENT_TYPES = {
    ".sse": "text/event-stream; charset=utf-8",
    ".ndjson": "application/x-ndjson",
    ".eventstream": "application/vnd.amazon.eventstream",
    ".json": "application/json",
}


# Shipped as package data, so an installed r4u (and `r4u demo`) has them; sources and licences in its README.
RECORDINGS_DIR = Path(__file__).resolve().parent / "recordings"


def default_fixtures_dir() -> Path:
    """`R4U_SIM_FIXTURES`, else the recorded streams shipped inside this package."""
    configured = os.environ.get("R4U_SIM_FIXTURES")
    return Path(configured) if configured else RECORDINGS_DIR


def split_events(raw: bytes) -> list[bytes]:
    """Cut an event stream after each blank line; joining the pieces gives `raw` back exactly."""
    events: list[bytes] = []
    current: list[bytes] = []
    # bytes.splitlines knows exactly the SSE line endings (\r\n, \n, \r) and keeps them with keepends.
    for line in raw.splitlines(keepends=True):
        current.append(line)
        if line in _BLANK_LINES:
            events.append(b"".join(current))
            current = []
    if current:  # a last event with no blank line after it (some recordings end that way)
        events.append(b"".join(current))
    return events


def split_messages(raw: bytes) -> list[bytes]:
    """Cut an AWS event stream after each message (each starts with its total length, 4 bytes big-endian)."""
    pieces, at = [], 0
    while at < len(raw):
        length = int.from_bytes(raw[at : at + 4], "big") if len(raw) - at >= 4 else len(raw) - at
        pieces.append(raw[at : at + max(length, 1)])
        at += max(length, 1)
    return pieces


def fixture_content_type(name: str) -> str:
    return CONTENT_TYPES.get(Path(name).suffix, CONTENT_TYPES[".sse"])


def split_fixture(name: str, raw: bytes) -> list[bytes]:
    """A recording cut into the writes the simulator sends (joined, they are `raw` again)."""
    suffix = Path(name).suffix
    if suffix == ".eventstream":
        return split_messages(raw)
    if suffix == ".ndjson":
        return raw.splitlines(keepends=True)
    if suffix == ".json":
        return [raw]
    return split_events(raw)


class FixtureNotFound(LookupError):
    pass


@lru_cache(maxsize=256)
def _load(path: Path, mtime_ns: int) -> tuple[bytes, ...]:
    return tuple(split_fixture(path.name, path.read_bytes()))


def load_fixture(fixtures_dir: Path, name: str) -> list[bytes]:
    """The events of fixture `name` (relative to `fixtures_dir`); refuses paths that leave the dir."""
    root = fixtures_dir.resolve()
    path = (root / name).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise FixtureNotFound(f"no fixture {name!r} under {root}")
    return list(_load(path, path.stat().st_mtime_ns))
