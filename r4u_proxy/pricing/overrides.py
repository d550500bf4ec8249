"""User price overrides: `R4U_HOME/prices.toml`, for models genai-prices does not know.

Private deployments (a vLLM box, a company gateway, a fine-tune with its own rate) have prices
no public table can hold. The file is read once when pricing is configured and is consulted
before genai-prices, so an override also wins over a public price. Format (USD per million
tokens; see docs/cost.md):

    [[model]]
    match = "llama-3.1-70b*"          # model name, case-insensitive; * and ? are wildcards
    host = "llm.internal.example"     # optional: only calls to this host
    provider = "openai_compatible"    # optional: only calls r4u filed under this provider
    service_tier = "priority"         # optional: only calls on this tier
    name = "internal-llama-70b"       # optional: what `priced_model` records (default: match)
    input = 0.60
    output = 0.80
    cache_read = 0.06                 # optional, default: input
    cache_write = 0.75                # optional, default: input

The first entry that matches wins, in file order.
"""

from __future__ import annotations

import fnmatch
import tomllib
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

PRICE_FIELDS = ("input", "output", "cache_read", "cache_write")
MATCH_FIELDS = ("match", "host", "provider", "service_tier", "name")


class PricesFileError(ValueError):
    """prices.toml exists but cannot be used; the message says which entry and why."""


@dataclass(frozen=True)
class PriceOverride:
    match: str
    input: Decimal
    output: Decimal
    cache_read: Decimal
    cache_write: Decimal
    host: str | None = None
    provider: str | None = None
    service_tier: str | None = None
    name: str | None = None

    def applies_to(self, provider: str, host: str | None, model: str, service_tier: str | None) -> bool:
        if self.host is not None and (host or "").lower() != self.host.lower():
            return False
        if self.provider is not None and provider != self.provider:
            return False
        if self.service_tier is not None and (service_tier or "").lower() != self.service_tier.lower():
            return False
        return fnmatch.fnmatchcase(model.lower(), self.match.lower())

    def cost(self, input_tokens: int, cache_read: int, cache_write: int, output_tokens: int) -> Decimal:
        """Dollars for one call; input_tokens includes the cache tokens (r4u's normalised columns)."""
        uncached = input_tokens - cache_read - cache_write
        if uncached < 0:
            raise ValueError("cache tokens exceed input tokens")
        per_million = (
            uncached * self.input
            + cache_read * self.cache_read
            + cache_write * self.cache_write
            + output_tokens * self.output
        )
        return per_million / 1_000_000


@dataclass(frozen=True)
class Overrides:
    entries: tuple[PriceOverride, ...] = ()
    path: Path | None = None

    def find(
        self, provider: str, host: str | None, model: str, service_tier: str | None
    ) -> PriceOverride | None:
        for entry in self.entries:
            if entry.applies_to(provider, host, model, service_tier):
                return entry
        return None

    @property
    def source(self) -> str:
        return f"override:{self.path}" if self.path else "override"


NO_OVERRIDES = Overrides()


def _decimal(value: Any, where: str) -> Decimal:
    # bool is an int in Python; `input = true` is a typo, not a price.
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise PricesFileError(f"{where}: expected a number of USD per million tokens, got {value!r}")
    try:
        number = Decimal(str(value))
    except ArithmeticError as exc:
        raise PricesFileError(f"{where}: {value!r} is not a number") from exc
    if number < 0:
        raise PricesFileError(f"{where}: a price cannot be negative")
    return number


def _entry(raw: Any, index: int, path: Path) -> PriceOverride:
    where = f"{path} [[model]] #{index + 1}"
    if not isinstance(raw, dict):
        raise PricesFileError(f"{where}: expected a table")
    unknown = set(raw) - set(PRICE_FIELDS) - set(MATCH_FIELDS)
    if unknown:
        raise PricesFileError(f"{where}: unknown keys {sorted(unknown)}")
    for key in ("match", "input", "output"):
        if key not in raw:
            raise PricesFileError(f"{where}: `{key}` is required")
    for key in MATCH_FIELDS:
        if key in raw and not isinstance(raw[key], str):
            raise PricesFileError(f"{where}: `{key}` must be a string")
    input_price = _decimal(raw["input"], f"{where} input")
    return PriceOverride(
        match=raw["match"],
        input=input_price,
        output=_decimal(raw["output"], f"{where} output"),
        cache_read=_decimal(raw.get("cache_read", raw["input"]), f"{where} cache_read"),
        cache_write=_decimal(raw.get("cache_write", raw["input"]), f"{where} cache_write"),
        host=raw.get("host"),
        provider=raw.get("provider"),
        service_tier=raw.get("service_tier"),
        name=raw.get("name"),
    )


def load_overrides(path: str | Path) -> Overrides:
    """Read prices.toml; a missing file means no overrides, a broken one raises PricesFileError."""
    path = Path(path)
    if not path.exists():
        return NO_OVERRIDES
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise PricesFileError(f"{path}: {exc}") from exc
    unknown = set(data) - {"model"}
    if unknown:
        raise PricesFileError(f"{path}: unknown top-level keys {sorted(unknown)}; use [[model]] tables")
    models = data.get("model", [])
    if not isinstance(models, list):
        raise PricesFileError(f"{path}: `model` must be an array of tables ([[model]])")
    return Overrides(tuple(_entry(raw, i, path) for i, raw in enumerate(models)), path.resolve())
