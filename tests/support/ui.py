"""Fetch r4u's Datasette pages in-process, as the UI tests do."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from datasette.app import Datasette


def get(path: str | Path, url: str):
    """GET `url` from a fresh Datasette on the file at `path` (through datasette.client)."""

    async def fetch():
        return await Datasette([str(path)]).client.get(url)

    return asyncio.run(fetch())


def text_of(html: str) -> str:
    """Visible text, roughly: tags dropped, whitespace collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())
