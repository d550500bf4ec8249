"""Service tiers: which tier a call was billed on, and its price when the data has one.

Tiers come from the bodies (`service_tier`, Anthropic's `usage.service_tier`, Vertex's
`usageMetadata.trafficType`). The price data gives some models a price per tier as *variants*
(`service_tier: flex|priority`, `processing: batch`); genai-prices releases after 0.0.61 apply them
given a `price_context`, and for 0.0.x r4u applies the snapshot's variants itself, so both price a
tier alike. Without a variant, the first-party batch and flex tiers are half price (prices.py).
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Mapping
from typing import Any

import genai_prices

from r4u_proxy.pricing import snapshot
from r4u_proxy.providers.common import service_tier as named_tier

# Tiers that the first-party APIs bill at half the standard rate: OpenAI's Batch API and flex
# processing, Anthropic's Message Batches and Gemini's Batch Mode all publish a 50% discount
# (other sellers' "flex" is not a discount: Groq's costs the same as on-demand). genai-prices
# data names few batch prices, so the discount is applied here when the data has no price for the
# tier (see tier_calc).
HALF_PRICE_TIERS = frozenset({"batch", "flex"})
# What providers call the ordinary rate; these mean "no adjustment".
STANDARD_TIERS = frozenset(
    {"auto", "default", "standard", "standard_only", "scale", "on_demand", "provisioned_throughput"}
)

# genai-prices added `price_context` (service-tier prices) after 0.0.61.
_SUPPORTS_PRICE_CONTEXT = "price_context" in inspect.signature(genai_prices.calc_price).parameters


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


# A tier as the price data's variant conditions name it.
_TIER_CONTEXTS = {
    "flex": {"service_tier": "flex"},
    "priority": {"service_tier": "priority"},
    "batch": {"processing": "batch"},
}


def tier_calc(usage: genai_prices.Usage, model_ref: str, calc: Any, tier: str, calc_kwargs: dict) -> Any:
    """The tier's own price from the data's variants, or None when the data has none for this model."""
    context = _TIER_CONTEXTS.get(tier)
    if context is None:
        return None
    if _SUPPORTS_PRICE_CONTEXT:
        tiered = genai_prices.calc_price(usage, model_ref, price_context=context, **calc_kwargs)
        return tiered if tiered.model_price != calc.model_price else None
    # genai-prices 0.0.x cannot apply variants: r4u applies the snapshot's, the way newer releases do.
    variant = snapshot.variant_price(
        calc.provider.id, calc.model.id, context, calc.model_price, calc_kwargs["genai_request_timestamp"]
    )
    if variant is None:
        return None
    return dataclasses.replace(calc, model_price=variant, **variant.calc_price(usage))
