"""`make update-prices`: copy the newest genai-prices release's price data into r4u, as JSON.

Run with a Python whose genai-prices is the newest release (3.12+; on 3.11 pip is held at 0.0.61, see
snapshot.py). Writes two files:

- `r4u_proxy/pricing/data/genai_prices.json`: every provider and model of the installed release, in the
  shape genai-prices' own loader reads (`types._providers_from_raw`), minus prose (descriptions, comments,
  pricing page links). snapshot.py loads it into whichever genai-prices the running Python has.
- `tests/data/genai_prices_reference.json`: what the installed release itself charges for every model at
  two usages, the yardstick tests/test_price_data.py holds r4u's pricing to on every Python.

The file is checked by loading it back with the same release and comparing with its bundled data.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import genai_prices
from genai_prices import data, types

REPO = Path(__file__).resolve().parents[2]
SNAPSHOT_FILE = Path(__file__).resolve().parent / "data" / "genai_prices.json"
REFERENCE_FILE = REPO / "tests" / "data" / "genai_prices_reference.json"
# Prose the price calculation never reads.
_DROPPED_FIELDS = frozenset({"description", "price_comments", "pricing_urls"})
# The usages the reference prices: a small call, and one past the 200k-token tiers with cache traffic.
REFERENCE_USAGES = (
    {"input_tokens": 1000, "output_tokens": 500},
    {
        "input_tokens": 300_000,
        "cache_read_tokens": 100_000,
        "cache_write_tokens": 20_000,
        "output_tokens": 2000,
    },
)


def to_plain(value: Any) -> Any:
    """genai-prices' data classes as JSON values, under the names its loader expects."""
    if isinstance(value, types.ModelPrice):
        return {k: to_plain(v) for k, v in vars(value).items() if not k.startswith("_") and v is not None}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        plain = {}
        for field in dataclasses.fields(value):
            item = getattr(value, field.name)
            if field.name.startswith("_") or field.name in _DROPPED_FIELDS or item is None:
                continue
            plain[field.name.rstrip("_")] = to_plain(item)  # ClauseOr.or_ is read as "or"
        return plain
    if isinstance(value, Decimal):
        return str(value)  # exact; the loader reads strings as Decimals
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [to_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: to_plain(v) for k, v in value.items()}
    return value


def _without_prose(providers: list) -> list:
    def strip(item: Any) -> Any:
        if dataclasses.is_dataclass(item) and not isinstance(item, type):
            changes = {f.name: None for f in dataclasses.fields(item) if f.name in _DROPPED_FIELDS and f.init}
            models = getattr(item, "models", None)
            if isinstance(models, list):
                changes["models"] = [strip(m) for m in models]
            return dataclasses.replace(item, **changes) if changes else item
        return item

    return [strip(p) for p in providers]


def reference_prices(at: dt.datetime) -> dict[str, list[str | None]]:
    """`{"provider/model": [cost at each REFERENCE_USAGES or None]}` as the installed release computes it."""
    prices: dict[str, list[str | None]] = {}
    for provider in data.providers:
        for model in provider.models:
            costs: list[str | None] = []
            for usage in REFERENCE_USAGES:
                try:
                    calc = genai_prices.calc_price(
                        genai_prices.Usage(**usage),
                        model.id,
                        provider_id=provider.id,
                        genai_request_timestamp=at,
                    )
                except Exception:  # models priced only per request or per image, or matched elsewhere
                    costs.append(None)
                    continue
                costs.append(str(calc.total_price) if calc.model.id == model.id else None)
            prices[f"{provider.id}/{model.id}"] = costs
    return prices


def main() -> int:
    if not hasattr(types, "_providers_from_raw"):
        print(
            f"genai-prices {genai_prices.__version__} is too old to copy from; run on Python 3.12+",
            file=sys.stderr,
        )
        return 2
    providers = to_plain(data.providers)
    loaded = types._providers_from_raw(json.loads(json.dumps(providers)))
    if loaded != _without_prose(data.providers):
        print("the JSON does not load back to the same data; the loader changed shape", file=sys.stderr)
        return 1
    SNAPSHOT_FILE.parent.mkdir(parents=True, exist_ok=True)
    snapshot = {"genai_prices_version": genai_prices.__version__, "providers": providers}
    # One provider per line keeps a price update reviewable as a diff.
    lines = ",\n".join(json.dumps(p, ensure_ascii=False, separators=(",", ":")) for p in providers)
    SNAPSHOT_FILE.write_text(
        '{"genai_prices_version":'
        + json.dumps(snapshot["genai_prices_version"])
        + ',"providers":[\n'
        + lines
        + "\n]}\n"
    )
    at = dt.datetime.now(tz=dt.UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    reference = {
        "genai_prices_version": genai_prices.__version__,
        "priced_at": at.isoformat(),
        "usages": list(REFERENCE_USAGES),
        "prices": reference_prices(at),
    }
    REFERENCE_FILE.parent.mkdir(parents=True, exist_ok=True)
    head = {k: v for k, v in reference.items() if k != "prices"}
    rows = ",\n".join(f"{json.dumps(k)}:{json.dumps(v)}" for k, v in sorted(reference["prices"].items()))
    REFERENCE_FILE.write_text(json.dumps(head)[:-1] + ',"prices":{\n' + rows + "\n}}\n")
    models = sum(len(p["models"]) for p in providers)
    print(
        f"genai-prices {genai_prices.__version__}: {len(providers)} providers, {models} models -> {SNAPSHOT_FILE}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
