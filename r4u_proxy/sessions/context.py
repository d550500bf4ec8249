"""What fills a call's context window: system prompt, tool definitions, earlier turns, new input, tool results.

Providers report one input token total. The split apportions it by the size (characters of canonical JSON)
of each part of the request, with the largest-remainder method, so the five numbers always add up to the
provider's `input_tokens` exactly. When the provider reported no input tokens (a stream without usage), the
split is estimated at 4 characters per token and says so (`"estimated": true`).

The context limit comes from genai-prices' model data (`context_window`) when it has the model, else from
`FALLBACK_LIMITS` below (first prefix that matches), else it is unknown (None).
"""

from __future__ import annotations

import functools
from typing import Any

PARTS = ("system", "tools", "earlier_turns", "new_input", "tool_results")
CHARS_PER_TOKEN = 4

# Model-name prefix -> context window in tokens, for models genai-prices does not list (newer or renamed
# ones). Longest prefixes first. Sources: each provider's model pages.
FALLBACK_LIMITS: list[tuple[str, int]] = [
    ("claude-", 200_000),
    ("gemini-", 1_048_576),
    ("gpt-4.1", 1_047_576),
    ("gpt-4o", 128_000),
    ("gpt-5", 400_000),
    ("o3", 200_000),
    ("o4", 200_000),
]


def apportion(total: int, sizes: dict[str, int]) -> dict[str, int]:
    """Split `total` in proportion to `sizes`; the parts are whole numbers that sum to `total`."""
    weight = sum(sizes.values())
    if weight <= 0 or total <= 0:  # nothing to weigh by: it was all new input
        return {name: max(total, 0) if name == "new_input" else 0 for name in sizes}
    exact = {name: total * size / weight for name, size in sizes.items()}
    parts = {name: int(value) for name, value in exact.items()}
    left = total - sum(parts.values())
    for name in sorted(exact, key=lambda n: exact[n] - parts[n], reverse=True)[:left]:
        parts[name] += 1
    return parts


def split(sizes: dict[str, int], input_tokens: int | None) -> dict[str, Any]:
    """`{"system": tokens, "tools": ..., "earlier_turns": ..., "new_input": ..., "tool_results": ...}`."""
    sizes = {name: max(sizes.get(name, 0), 0) for name in PARTS}
    if input_tokens is None:
        estimate = -(-sum(sizes.values()) // CHARS_PER_TOKEN)
        return {**apportion(estimate, sizes), "estimated": True}
    return {**apportion(input_tokens, sizes), "estimated": False}


def context_limit(provider: str | None, model: str | None) -> int | None:
    if not model:
        return None
    return _limit(provider or "", model.rsplit("models/", 1)[-1].lower())


@functools.lru_cache(maxsize=1024)
def _limit(provider: str, model: str) -> int | None:
    known = _genai_prices_limit(provider, model)
    if known:
        return known
    return next((limit for prefix, limit in FALLBACK_LIMITS if model.startswith(prefix)), None)


def _genai_prices_limit(provider: str, model: str) -> int | None:
    try:
        from genai_prices.data_snapshot import get_snapshot

        from r4u_proxy.pricing import snapshot
        from r4u_proxy.pricing.prices import PROVIDER_IDS

        snapshot.current()  # the price data pricing uses (r4u's snapshot on every Python), not only the bundled one
        _, info = get_snapshot().find_provider_model(model, None, PROVIDER_IDS.get(provider), None)
        return getattr(info, "context_window", None)
    except Exception:  # unknown model, or a genai-prices without model data: fall back to the table
        return None
