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
from r4u_proxy.pricing import snapshot
from r4u_proxy.pricing.overrides import NO_OVERRIDES, Overrides, load_overrides
from r4u_proxy.pricing.tiers import HALF_PRICE_TIERS, normal_tier, service_tier, tier_calc
from r4u_proxy.providers.common import anthropic_usage
from r4u_proxy.reports.metrics import NO_MODEL, NO_PRICE, NO_USAGE, PRICING_FAILED, unpriced_source

log = logging.getLogger(__name__)

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

# r4u provider name -> genai-prices provider id, for APIs with a price list of their own (gateways and
# compatible vendors are found by their host instead).
PROVIDER_IDS = {
    "openai": "openai",
    "anthropic": "anthropic",
    "gemini": "google",
    "vertex": "google",
    "azure": "azure",
    "bedrock": "aws",
    "cohere": "cohere",
    "mistral": "mistral",
}
# Where the request's model id is what is billed and the response's name drops part of it: Bedrock's
# `us.`/`global.` inference profiles are priced apart, the body says only "claude-sonnet-4-5-20250929".
REQUEST_MODEL_FIRST = frozenset({"bedrock"})
# The first-party APIs whose batch and flex tiers are half price.
FIRST_PARTY = frozenset({"openai", "anthropic", "gemini", "vertex"})


@dataclass(frozen=True)
class Price:
    cost_usd: float | None  # None: unknown price or no usage reported, never a made-up 0
    priced_model: str | None  # the price entry that matched, e.g. "gpt-4o" for "gpt-4o-2024-08-06"
    # "genai-prices 0.2.3", "override:/home/me/.r4u/prices.toml", or why unpriced: one of reports/metrics.py's
    # UNPRICED_REASONS, the one list of reasons pricing, `r4u stats`, the UI and exports share (unpriced_source)
    source: str


def data_source() -> str:
    """The price data prices come from, as price_source names it: "genai-prices 0.2.3"."""
    return snapshot.current().label


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
) -> tuple[Decimal, Any, str]:
    """(dollars, the genai-prices calculation, a note for the price source)."""
    calc_kwargs: dict[str, Any] = {"genai_request_timestamp": at, **where}
    calc = genai_prices.calc_price(usage, model_ref, **calc_kwargs)
    note = ""
    if tier is not None and (tiered := tier_calc(usage, model_ref, calc, tier, calc_kwargs)) is not None:
        calc, note = tiered, f"{tier} price"
    total = calc.total_price + _one_hour_cache_surcharge(calc.model_price, usage, one_hour_writes)
    if tier is not None and not note:
        if tier in HALF_PRICE_TIERS and first_party:
            total, note = total / 2, f"{tier} tier: standard price x 0.5"
        else:  # e.g. Groq's flex tier, which costs the same as on-demand; or priority without data
            note = f"{tier} tier billed at the standard price: no {tier} price in the data"
    if calc.auto_update_timestamp is not None:
        note = "; ".join(filter(None, [f"prices fetched {calc.auto_update_timestamp:%Y-%m-%d %H:%M}", note]))
    return total, calc, note


def _has_token_price(model_price: Any) -> bool:
    return any(getattr(model_price, key, None) is not None for key in ("input_mtok", "output_mtok"))


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
        return Price(None, None, unpriced_source(NO_MODEL))
    input_tokens = _count(usage, "input_tokens")
    output_tokens = _count(usage, "output_tokens")
    no_usage = input_tokens is None and output_tokens is None
    cache_read = _count(usage, "cache_read_tokens") or 0
    cache_write = _count(usage, "cache_write_tokens") or 0
    one_hour_writes = min(_count(usage, "cache_write_1h_tokens") or 0, cache_write)
    used_tier = normal_tier(tier) if tier else service_tier(request, response)
    model_ref = _model_ref(model)
    try:
        override = current_overrides().find(provider, host, model_ref, used_tier)
        if override is not None:
            if no_usage:
                return Price(None, override.name or override.match, unpriced_source(NO_USAGE))
            dollars = override.cost(input_tokens or 0, cache_read, cache_write, output_tokens or 0)
            return Price(float(dollars), override.name or override.match, current_overrides().source)

        label = data_source()
        where = _lookup(provider, host, model_ref.lower(), _snapshot_key())
        if where is None:
            if no_usage:
                return Price(None, None, unpriced_source(NO_USAGE))
            return Price(None, None, unpriced_source(NO_PRICE, f" ({label}): {model_ref!r}"))
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
        dollars, calc, note = _calculate(
            usage_for_prices, model_ref, where, when, used_tier, provider in FIRST_PARTY, one_hour_writes
        )
        matched = calc.model.id
        if no_usage:
            return Price(None, matched, unpriced_source(NO_USAGE))
        if not dollars and (input_tokens or output_tokens) and not _has_token_price(calc.model_price):
            # e.g. a model priced per image or per request only: $0 would claim the tokens were free.
            return Price(None, matched, unpriced_source(NO_PRICE, f" ({label}): no token price for {matched!r}"))
        return Price(float(dollars), matched, f"{label} ({note})" if note else label)
    except Exception as exc:  # bad numbers from a parser (e.g. cache > input) or a library change
        log.warning("pricing %s %s failed: %s", provider, model, exc)
        return Price(None, None, unpriced_source(PRICING_FAILED, f": {type(exc).__name__}: {exc}"))


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
    to the request's when the response's is missing or unpriced (Bedrock: the other way round).
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
    if provider in REQUEST_MODEL_FIRST:
        models.reverse()
    result = Price(None, None, unpriced_source(NO_MODEL))
    for model in dict.fromkeys(models):  # dedupe, keep order
        result = price(provider, model, usage, **common)
        if result.priced_model is not None:
            break
    return result
