"""What one LLM call cost, from the provider's reported usage and genai-prices' bundled price data.

r4u keeps no price table of its own: prices come from genai-prices (pydantic's maintained data,
bundled in the package, so it works offline), or from the user's `R4U_HOME/prices.toml` for
private deployments (see pricing/overrides.py). A call whose model has no known price costs
None (stored as NULL and listed as unpriced), never $0.

Token accounting follows r4u's normalised columns (docs/architecture.md), which happen to be
what genai-prices' `Usage` expects: `input_tokens` includes cache reads and writes, and
`output_tokens` includes reasoning/thinking tokens, which every provider bills at the output
rate. genai-prices subtracts the cache tokens from the input itself and applies tiered (by
prompt size) and dated prices.

`price()` runs in the writer process for every trace, so model lookups are cached. It never
parses a body: the parse step hands over the service tier and the 1-hour cache writes, which
the row stores in its own columns (`service_tier`, `cache_write_1h_tokens`).
"""

from __future__ import annotations

import functools
import inspect
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import genai_prices

from r4u_proxy.paths import Home
from r4u_proxy.pricing.overrides import NO_OVERRIDES, Overrides, load_overrides
from r4u_proxy.providers.common import anthropic_usage
from r4u_proxy.providers.common import service_tier as named_tier

log = logging.getLogger(__name__)

GENAI_PRICES_SOURCE = f"genai-prices {genai_prices.__version__}"
TOKEN_COLUMNS = (
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    # Audio (the Realtime API, Gemini Live): parts of the columns above, priced at their own rates.
    "input_audio_tokens",
    "output_audio_tokens",
    "cache_audio_read_tokens",
)

# r4u provider name -> genai-prices provider id, for the first-party APIs.
PROVIDER_IDS = {"openai": "openai", "anthropic": "anthropic", "gemini": "google"}

# Tiers that the first-party APIs bill at half the standard rate: OpenAI's Batch API and flex
# processing, Anthropic's Message Batches and Gemini's Batch Mode all publish a 50% discount
# (other sellers' "flex" is not a discount: Groq's costs the same as on-demand). genai-prices
# 0.0.61 has no tier data at all, so the discount is applied here; newer releases price flex
# and priority themselves when given the tier (see _calculate).
HALF_PRICE_TIERS = frozenset({"batch", "flex"})
# What providers call the ordinary rate; these mean "no adjustment".
STANDARD_TIERS = frozenset(
    {"auto", "default", "standard", "standard_only", "scale", "on_demand", "provisioned_throughput"}
)

# genai-prices added `price_context` (service-tier prices) after 0.0.61.
_SUPPORTS_PRICE_CONTEXT = "price_context" in inspect.signature(genai_prices.calc_price).parameters


@dataclass(frozen=True)
class Price:
    cost_usd: float | None  # None: unknown price or no usage reported, never a made-up 0
    priced_model: str | None  # the price entry that matched, e.g. "gpt-4o" for "gpt-4o-2024-08-06"
    source: str  # "genai-prices 0.0.61", "override:/home/me/.r4u/prices.toml", or why unpriced


# --- configuration -------------------------------------------------------------------------

_overrides: Overrides | None = None  # None until configured or first used


def configure(prices_file: str | Path | None) -> Overrides:
    """Load the user's price overrides once (call at proxy start); None disables overrides.

    Raises PricesFileError when the file exists but is broken, so the user hears about it
    at start instead of getting silently wrong costs.
    """
    global _overrides
    _overrides = load_overrides(prices_file) if prices_file is not None else NO_OVERRIDES
    return _overrides


def current_overrides() -> Overrides:
    global _overrides
    if _overrides is None:
        try:
            _overrides = load_overrides(Home.resolve().root / "prices.toml")
        except ValueError as exc:  # a broken file must not stop recording; the CLI reports it
            log.warning("price overrides ignored: %s", exc)
            _overrides = NO_OVERRIDES
    return _overrides


# --- service tier ----------------------------------------------------------------------------


def normal_tier(raw: Any) -> str | None:
    """A provider's tier name as r4u prices it: "flex", "priority", "batch", ... or None for standard.

    Vertex reports `usageMetadata.trafficType` ("ON_DEMAND", "ON_DEMAND_FLEX", ...) instead.
    """
    if not isinstance(raw, str) or not raw.strip():
        return None
    tier = raw.strip().lower()
    tier = tier.removeprefix("on_demand_")
    return None if tier in STANDARD_TIERS else tier


def service_tier(request: Mapping[str, Any] | None, response: Mapping[str, Any] | None) -> str | None:
    """The tier the call was billed on, or None for the standard rate.

    The response wins because it reports the tier actually used (OpenAI answers a request
    for "auto" with "default" or "priority"; Anthropic reports `usage.service_tier`).
    """
    for body in (response, request):
        if raw := named_tier(body):
            return normal_tier(raw)
    return None


# --- genai-prices lookup -----------------------------------------------------------------------


def _model_ref(model: str) -> str:
    # Gemini names models by resource path: "models/gemini-2.5-flash" or
    # "projects/p/locations/l/publishers/google/models/gemini-2.5-flash" on Vertex.
    return model.rsplit("models/", 1)[-1].strip()


def _candidates(provider: str, host: str | None) -> list[dict[str, str]]:
    """Ways to name the provider to genai-prices, most specific first."""
    found: list[dict[str, str]] = []
    if host:
        # The host names the real seller: Azure, Groq, OpenRouter, DeepSeek, ... each has an
        # api_pattern in genai-prices. An unknown host (a local server) matches nothing.
        found.append({"provider_api_url": f"https://{host.split(':')[0].lower()}"})
    if provider in PROVIDER_IDS:
        found.append({"provider_id": PROVIDER_IDS[provider]})
    return found


def _snapshot_key() -> int:
    # genai-prices swaps in a new data snapshot when its updater fetches fresh prices;
    # keying the cache on it makes lookups after an update see the new data.
    snapshots = getattr(genai_prices, "data_snapshot", None)
    try:
        return id(snapshots.get_snapshot()) if snapshots else 0
    except Exception:  # a future internal change must not break pricing
        return 0


@functools.lru_cache(maxsize=4096)
def _lookup(provider: str, host: str | None, model_ref: str, snapshot: int) -> dict[str, str] | None:
    """The calc_price keyword that finds this model, or None when genai-prices has no price.

    Misses are what make this cache worth having: genai-prices caches its hits itself, but an
    unknown model scans every provider's match rules on each call.
    """
    del snapshot  # only part of the cache key
    for where in _candidates(provider, host):
        try:
            genai_prices.calc_price(genai_prices.Usage(), model_ref, **where)  # type: ignore[arg-type]
        except LookupError:
            continue
        return where
    return None


def _rate(per_million: Any, total_input: int) -> Decimal | None:
    """A price field of genai-prices' ModelPrice at this prompt size: flat, or tiered by input tokens."""
    if per_million is None:
        return None
    tiers = getattr(per_million, "tiers", None)
    if tiers is None:
        return Decimal(per_million)
    rate = per_million.base
    for tier in sorted(tiers, key=lambda t: t.start):
        if total_input > tier.start:  # the whole prompt pays the highest tier it crosses
            rate = tier.price
    return Decimal(rate)


def _one_hour_cache_surcharge(model_price: Any, usage: genai_prices.Usage, one_hour_writes: int) -> Decimal:
    """What 1-hour cache writes cost beyond the cache-write rate genai-prices charged them.

    Anthropic bills 5-minute cache writes at 1.25x and 1-hour writes at 2x the base input price;
    the data has one cache-write price (the 5-minute one), so the difference is added here.
    """
    total_input = usage.input_tokens or 0
    base = _rate(getattr(model_price, "input_mtok", None), total_input)
    written = _rate(getattr(model_price, "cache_write_mtok", None), total_input)
    if not one_hour_writes or base is None or written is None:
        return Decimal(0)
    return one_hour_writes * (2 * base - written) / 1_000_000


def _calculate(
    usage: genai_prices.Usage,
    model_ref: str,
    where: dict[str, str],
    at: datetime,
    tier: str | None,
    first_party: bool,
    one_hour_writes: int = 0,
) -> tuple[Decimal, str, str]:
    """(dollars, matched model id, a note for the price source) from genai-prices."""
    calc_kwargs: dict[str, Any] = {"genai_request_timestamp": at, **where}
    calc = genai_prices.calc_price(usage, model_ref, **calc_kwargs)
    note = ""
    if tier in ("flex", "priority") and _SUPPORTS_PRICE_CONTEXT:
        tiered = genai_prices.calc_price(
            usage, model_ref, price_context={"service_tier": tier}, **calc_kwargs
        )
        if tiered.model_price != calc.model_price:  # the data has a price for this tier
            calc, note = tiered, f"{tier} price"
    total = calc.total_price + _one_hour_cache_surcharge(calc.model_price, usage, one_hour_writes)
    if tier is not None and not note:
        if tier in HALF_PRICE_TIERS and first_party:
            total, note = total / 2, f"{tier} tier: standard price x 0.5"
        else:  # e.g. Groq's flex tier, which costs the same as on-demand; or priority without data
            note = f"{tier} tier billed at the standard price: no {tier} price in the data"
    if calc.auto_update_timestamp is not None:
        note = "; ".join(filter(None, [f"prices fetched {calc.auto_update_timestamp:%Y-%m-%d %H:%M}", note]))
    return total, calc.model.id, note


# --- the interface -------------------------------------------------------------------------------


def _count(usage: Mapping[str, Any], key: str) -> int | None:
    value = usage.get(key)
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def price(
    provider: str,
    model: str | None,
    usage: Mapping[str, Any],
    request: Mapping[str, Any] | None = None,
    *,
    host: str | None = None,
    response: Mapping[str, Any] | None = None,
    at: datetime | None = None,
    tier: str | None = None,
) -> Price:
    """Price one call. Never raises: a problem yields cost None with the reason in `source`.

    provider: r4u's provider name; host: the API host (maps openai_compatible hosts such as
    api.groq.com to their price list, and lets overrides match by host). usage: the normalised
    token columns, plus optionally `cache_write_1h_tokens` (Anthropic's 1-hour cache writes, a
    part of cache_write_tokens billed higher). request/response: parsed bodies, read only for
    the service tier (batch, flex, priority); `tier` states it outright. at: when the call
    happened (prices change over time; default now).
    """
    if not model:
        return Price(None, None, "unpriced: no model name")
    input_tokens = _count(usage, "input_tokens")
    output_tokens = _count(usage, "output_tokens")
    cache_read = _count(usage, "cache_read_tokens") or 0
    cache_write = _count(usage, "cache_write_tokens") or 0
    one_hour_writes = min(_count(usage, "cache_write_1h_tokens") or 0, cache_write)
    used_tier = normal_tier(tier) if tier else service_tier(request, response)
    model_ref = _model_ref(model)
    try:
        override = current_overrides().find(provider, host, model_ref, used_tier)
        if override is not None:
            if input_tokens is None and output_tokens is None:
                return Price(None, override.name or override.match, "unpriced: no usage reported")
            dollars = override.cost(input_tokens or 0, cache_read, cache_write, output_tokens or 0)
            return Price(float(dollars), override.name or override.match, current_overrides().source)

        where = _lookup(provider, host, model_ref.lower(), _snapshot_key())
        if where is None:
            return Price(None, None, f"unpriced: {GENAI_PRICES_SOURCE} has no price for {model_ref!r}")
        input_audio = _count(usage, "input_audio_tokens") or None
        cache_audio_read = _count(usage, "cache_audio_read_tokens") or None
        if input_audio and cache_read and cache_audio_read is None:
            cache_audio_read = 0  # genai-prices 0.2 wants the audio part of the cache said outright
        usage_for_prices = genai_prices.Usage(
            input_tokens=input_tokens,
            cache_read_tokens=cache_read or None,
            cache_write_tokens=cache_write or None,
            output_tokens=output_tokens,
            input_audio_tokens=input_audio,
            cache_audio_read_tokens=cache_audio_read,
            output_audio_tokens=_count(usage, "output_audio_tokens") or None,
        )
        when = at or datetime.now(tz=UTC)
        first_party = provider in PROVIDER_IDS
        dollars, matched, note = _calculate(
            usage_for_prices, model_ref, where, when, used_tier, first_party, one_hour_writes
        )
        if input_tokens is None and output_tokens is None:
            return Price(None, matched, "unpriced: no usage reported")
        source = f"{GENAI_PRICES_SOURCE} ({note})" if note else GENAI_PRICES_SOURCE
        return Price(float(dollars), matched, source)
    except Exception as exc:  # bad numbers from a parser (e.g. cache > input) or a library change
        log.warning("pricing %s %s failed: %s", provider, model, exc)
        return Price(None, None, f"unpriced: {type(exc).__name__}: {exc}")


def _json(text: Any, *needles: str) -> Mapping[str, Any] | None:
    """Parse a stored body only when it can hold what we look for: request bodies can be
    megabytes of prompt, and price_row runs for every trace."""
    if not isinstance(text, str) or not text or not any(needle in text for needle in needles):
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, Mapping) else None


def one_hour_cache_writes(response: Mapping[str, Any] | None) -> int | None:
    """Anthropic's `usage.cache_creation.ephemeral_1h_input_tokens`, if the response has it."""
    usage = response.get("usage") if isinstance(response, Mapping) else None
    return anthropic_usage(usage).get("cache_write_1h_tokens")


def _started(text: Any) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def price_row(row: Mapping[str, Any]) -> Price:
    """Price a `traces` row (column name -> value): what `r4u reprice` runs for each trace.

    Tries the response's model name first (it is the exact version billed) and falls back
    to the request's when the response's is missing or unpriced.
    """
    usage = {key: row.get(key) for key in TOKEN_COLUMNS}
    # The writer's rows and the stored ones carry the tier and the 1-hour cache writes as columns.
    # A row from elsewhere that has only the bodies gets them read from the bodies.
    if "service_tier" in row:
        tier = row["service_tier"]
        usage["cache_write_1h_tokens"] = row.get("cache_write_1h_tokens")
    else:
        response = _json(row.get("response_body"), "service_tier", "trafficType", "ephemeral_1h")
        tier = service_tier(_json(row.get("request_body"), "service_tier"), response)
        usage["cache_write_1h_tokens"] = one_hour_cache_writes(response)
    common: dict[str, Any] = {"host": row.get("host"), "at": _started(row.get("started_at")), "tier": tier}
    provider = row.get("provider") or "unknown"
    models = [m for m in (row.get("response_model"), row.get("request_model")) if m]
    result = Price(None, None, "unpriced: no model name")
    for model in dict.fromkeys(models):  # dedupe, keep order
        result = price(provider, model, usage, **common)
        if result.priced_model is not None:
            break
    return result
