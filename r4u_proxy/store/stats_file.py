"""R4U_HOME/proxy-stats.json: the proxy's counters and queue, for `r4u proxy status`.

Rewritten in place, a few times a second, into a file whose blocks were allocated when it was
created: on a full disk a new file (write + rename) cannot be made, and status must tell the truth
exactly then. A reader can catch a write half-way; `read_stats` reads again when the JSON is torn.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

SIZE = 4096  # the file's fixed length; the JSON is padded with spaces (valid trailing whitespace)


class StatsFile:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.fd: int | None = None
        self._failed = False

    def publish(self, stats: dict[str, Any]) -> bool:
        text = json.dumps(stats, separators=(",", ":"))
        if len(text) > SIZE:
            stats = {**stats, "last_write_error": (stats.get("last_write_error") or "")[:200]}
            text = json.dumps(stats, separators=(",", ":"))[:SIZE]
        try:
            if self.fd is None:
                self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
                os.pwrite(self.fd, b" " * SIZE, 0)  # allocate the blocks now, while there is room
            os.pwrite(self.fd, text.encode().ljust(SIZE), 0)
            self._failed = False
            return True
        except OSError:
            self._failed = True
            return False

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def read_stats(path: str | Path) -> dict[str, Any]:
    for _ in range(5):
        try:
            data = json.loads(Path(path).read_bytes())
            return data if isinstance(data, dict) else {}
        except FileNotFoundError:
            return {}
        except (ValueError, OSError):
            time.sleep(0.01)  # caught mid-write
    return {}
