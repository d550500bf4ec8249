"""Which price data genai-prices prices with: the newest r4u knows of, on every Python.

On Python 3.11 pip holds genai-prices at 0.0.61 (later releases need httpx2, which cannot sit beside
mitmproxy 11's h11 pin), so its bundled data is months old. The data needs none of that: r4u ships the
newest release's data as JSON (`data/genai_prices.json`, written by `make update-prices`) and loads it
into whichever genai-prices is installed — as is for releases that read that shape, trimmed to the price
fields an older release knows for 0.0.x (what it drops only prices usages r4u never reports: images,
audio hours, searches). Service-tier price variants, which 0.0.x cannot apply, are kept here for
prices.py. A genai-prices release newer than the snapshot keeps its own bundled data.

`--update-prices` data fetched by `r4u reprice` goes through the same loader (`install_raw`).
"""

from __future__ import annotations

import dataclasses
import json
import re
import urllib.request
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import genai_prices
from genai_prices import data_snapshot, types

SNAPSHOT_FILE = Path(__file__).resolve().parent / "data" / "genai_prices.json"
# Where `r4u reprice --update-prices` fetches from: genai-prices' current data, in the shape the snapshot has.
UPDATE_URL = (
    "https://raw.githubusercontent.com/pydantic/genai-prices/refs/heads/main/prices/new_data/v2/data.json"
)
# Releases that read the snapshot's shape themselves (price variants, any price unit).
_READS_CURRENT_SHAPE = hasattr(types, "_providers_from_raw")


@dataclass(frozen=True)
class PriceData:
    version: str  # the genai-prices release whose data is in force, e.g. "0.2.3"
    origin: str  # "bundled", "r4u snapshot" or "fetched"
    variants: dict[tuple[str, str], list[dict]]  # (provider id, model id) -> raw price variants (0.0.x only)

    @property
    def label(self) -> str:
        """What price_source says the price came from."""
        return f"genai-prices {self.version}"


_in_force: PriceData | None = None


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", version)[:3])


def current() -> PriceData:
    """The price data in force, loading r4u's snapshot the first time if it is newer than the bundled data."""
    global _in_force
    if _in_force is None:
        _in_force = _load_default()
    return _in_force


def _load_default() -> PriceData:
    bundled = genai_prices.__version__
    try:
        snapshot = json.loads(SNAPSHOT_FILE.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # a damaged install still prices, with whatever data genai-prices has
        return PriceData(bundled, "bundled", {})
    if _version_key(bundled) >= _version_key(snapshot["genai_prices_version"]):
        data_snapshot.set_custom_snapshot(None)
        return PriceData(bundled, "bundled", {})
    return install_raw(snapshot["providers"], snapshot["genai_prices_version"], "r4u snapshot")


def install_raw(raw_providers: list, version: str, origin: str, fetched: bool = False) -> PriceData:
    """Put genai-prices data in its JSON shape (the snapshot, or a fetched file) in force; raises ValueError
    when it does not load."""
    global _in_force
    providers = providers_for_engine(raw_providers)
    data_snapshot.set_custom_snapshot(
        data_snapshot.DataSnapshot(providers=providers, from_auto_update=fetched)
    )
    variants = {} if _READS_CURRENT_SHAPE else _variants_by_model(raw_providers)
    _in_force = PriceData(version, origin, variants)
    return _in_force


def fetch(url: str = UPDATE_URL, timeout: float = 30) -> PriceData:
    """Fetch genai-prices data (its JSON shape) and put it in force; raises OSError or ValueError.

    Plain urllib on purpose: genai-prices' own updater needs httpx2, which the 3.11 proxy cannot have.
    """
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - the user's --prices-url
        raw = json.loads(response.read())
    return install_raw(raw, current().version, "fetched", fetched=True)


def reset() -> None:
    """Back to the default data (after a fetched update that was meant for one command)."""
    global _in_force
    data_snapshot.set_custom_snapshot(None)
    _in_force = None
    current()


def providers_for_engine(raw_providers: list) -> list:
    if not isinstance(raw_providers, list):
        raise ValueError("expected a list of providers")
    if _READS_CURRENT_SHAPE:
        return types._providers_from_raw(raw_providers)
    from genai_prices.data import providers_schema  # 0.0.x keeps its schema beside the bundled data

    return providers_schema.validate_python([_for_old_engine(p) for p in raw_providers])


_OLD_PRICE_FIELDS = (
    frozenset(f.name for f in dataclasses.fields(types.ModelPrice))
    if dataclasses.is_dataclass(types.ModelPrice)
    else frozenset()
)


def _old_prices(prices: Any) -> Any:
    if isinstance(prices, dict):
        return {k: v for k, v in prices.items() if k in _OLD_PRICE_FIELDS}
    return prices


def _for_old_engine(provider: dict) -> dict:
    # Extractors map usage fields of API responses, which r4u parses itself; 0.0.x rejects the new units.
    trimmed = {k: v for k, v in provider.items() if k != "extractors"}
    models = []
    for model in provider.get("models") or []:
        model = {k: v for k, v in model.items() if k != "price_variants"}
        prices = model.get("prices")
        if isinstance(prices, list):
            model["prices"] = [{**c, "prices": _old_prices(c.get("prices"))} for c in prices]
        else:
            model["prices"] = _old_prices(prices)
        models.append(model)
    trimmed["models"] = models
    return trimmed


def _variants_by_model(raw_providers: list) -> dict[tuple[str, str], list[dict]]:
    return {
        (provider.get("id"), model.get("id")): model["price_variants"]
        for provider in raw_providers
        if isinstance(provider, dict)
        for model in provider.get("models") or []
        if isinstance(model, dict) and model.get("price_variants")
    }


def _active(constraint: Any, at: datetime) -> bool:
    if not isinstance(constraint, dict) or "start_date" not in constraint:
        return True  # time-of-day variants do not exist in the data; treat any other shape as always on
    return at.date() >= date.fromisoformat(str(constraint["start_date"]))


def variant_price(
    provider_id: str, model_id: str, context: dict[str, str], standard: Any, at: datetime
) -> Any:
    """For genai-prices 0.0.x: the model's price under `context` (e.g. {"service_tier": "flex"}) the way
    newer releases compute it, the standard price with the matching variants' prices over it; None when
    no variant matches."""
    overrides: dict[str, Any] = {}
    for variant in current().variants.get((provider_id, model_id), []):
        when = variant.get("when") or {}
        if not _active(variant.get("constraint"), at) or any(context.get(k) != v for k, v in when.items()):
            continue
        for key, price in _old_prices(variant.get("prices") or {}).items():
            overrides.setdefault(key, _price_value(price))
    if not overrides:
        return None
    return dataclasses.replace(standard, **overrides)


def _price_value(raw: Any) -> Any:
    """A price as the data writes it (a number, or `{"base", "tiers"}`) as genai-prices' own value."""
    if isinstance(raw, dict):
        tiers = [
            types.Tier(start=int(t["start"]), price=Decimal(str(t["price"]))) for t in raw.get("tiers") or []
        ]
        return types.TieredPrices(base=Decimal(str(raw["base"])), tiers=tiers)
    return Decimal(str(raw))
