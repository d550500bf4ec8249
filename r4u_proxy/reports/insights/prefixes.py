"""Long stable prompt prefixes that miss the provider's prompt cache, and what caching would save.

Per task, model and provider (calls without a task are grouped by model and provider alone), the
longest common prefix of the prompt text over a sample of recent calls is the part a prompt cache
could serve. A group is flagged when that prefix is at least the provider's cache minimum and
the calls read (almost) nothing from the cache.

The estimate is deliberately plain arithmetic:
- prefix tokens = the call's input tokens x (prefix characters / prompt characters), the smallest
  over the sample (the prompt text leaves out tools and images, so this stays on the low side);
- a call can read the cache only when the previous call of the group came within CACHE_LIFETIME_S
  (the default lifetime at OpenAI and Anthropic is 5 minutes); these are the "warm" calls;
- saving = warm calls x (cost of a typical call − the same call with the prefix read from cache),
  both priced by `r4u_proxy.pricing.prices.price`, so tiered prices and cache-read rates come from the same
  data as the recorded costs. Anthropic's one-off cache-write premium is left out.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from datetime import datetime

CACHE_LIFETIME_S = 300
# Cache reads below this share of the input tokens count as "not caching".
CACHED_SHARE_THRESHOLD = 0.05
DEFAULT_SAMPLE = 20
# Groups (by input tokens) whose prompts are read; the rest of a long tail is not worth the I/O.
GROUPS_TO_READ = 50

ADVICE = {
    "openai": "automatic above 1024 tokens: reads missing means calls further apart than the cache "
    "lifetime or a prefix that differs before the text (tools, images); try prompt_cache_key",
    "anthropic": "add a cache_control breakpoint at the end of the stable prefix",
    "gemini": "implicit caching applies to Gemini 2.5+; or create an explicit cachedContent",
}
DEFAULT_ADVICE = "check whether this provider offers prompt caching"


def cache_minimum(provider: str | None, model: str | None) -> int:
    """The fewest prompt tokens the provider caches, from its documentation (an estimate for others)."""
    name = (model or "").lower()
    if provider == "anthropic":
        if "haiku-4-5" in name or "opus-4-5" in name:
            return 4096
        if "haiku" in name:
            return 2048
        return 1024
    if provider == "gemini":
        return 2048 if "pro" in name else 1024
    return 1024  # OpenAI; also assumed for OpenAI-compatible hosts


@dataclass
class PrefixFinding:
    task_id: str | None
    provider: str | None
    model: str | None
    calls: int
    warm_calls: int  # calls within CACHE_LIFETIME_S of the previous one: could have read the cache
    sampled_calls: int
    prefix_chars: int
    prefix_tokens: int  # estimated
    cache_minimum: int
    cached_share: float  # cache_read_tokens / input_tokens over the group
    saving_usd: float | None  # None: the model has no price
    note: str  # advice, or why there is no saving figure
    prefix_preview: str


def _seconds(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def warm_calls(started: list[str]) -> int:
    """Calls that came within CACHE_LIFETIME_S of the call before them (times in any order)."""
    times = sorted(_seconds(s) for s in started if s)
    return sum(
        1 for before, after in zip(times, times[1:], strict=False) if after - before <= CACHE_LIFETIME_S
    )


def saving_per_call(
    provider: str | None, model: str | None, host: str | None, input_tokens: int, prefix_tokens: int
) -> tuple[float | None, str]:
    """(dollars one call saves by reading the prefix from cache, a note when there is no figure)."""
    # genai-prices takes a while to import, and `r4u --help` imports this module
    from r4u_proxy.pricing.prices import price

    usage = {"input_tokens": input_tokens, "output_tokens": 0}
    full = price(provider or "unknown", model, usage, host=host)
    cached = price(provider or "unknown", model, {**usage, "cache_read_tokens": prefix_tokens}, host=host)
    if full.cost_usd is None or cached.cost_usd is None:
        return None, f"no price for {model}"
    if full.cost_usd - cached.cost_usd <= 0:
        return None, f"no cache-read price for {full.priced_model or model} in the price data"
    return full.cost_usd - cached.cost_usd, ""


def _window(cutoff: str | None) -> tuple[str, list[str]]:
    return ("AND started_at >= ?", [cutoff]) if cutoff else ("", [])


_MODEL = "coalesce(request_model, response_model)"


def find_uncached_prefixes(
    conn: sqlite3.Connection, cutoff: str | None, limit: int, sample: int = DEFAULT_SAMPLE
) -> list[PrefixFinding]:
    since, params = _window(cutoff)
    groups = conn.execute(
        f"""SELECT task_id, provider, {_MODEL} AS model, max(host), count(*), sum(input_tokens),
                   sum(coalesce(cache_read_tokens, 0)), min(input_tokens)
            FROM traces WHERE input_tokens > 0 {since}
            GROUP BY task_id, provider, model HAVING count(*) > 1
            ORDER BY sum(input_tokens) DESC LIMIT ?""",
        [*params, GROUPS_TO_READ],
    ).fetchall()
    findings = []
    for task_id, provider, model, host, calls, input_sum, cache_sum, input_min in groups:
        minimum = cache_minimum(provider, model)
        cached_share = cache_sum / input_sum
        if cached_share >= CACHED_SHARE_THRESHOLD or input_min < minimum:
            continue  # caching already works, or no call is long enough to cache
        same_group = f"task_id IS ? AND provider IS ? AND {_MODEL} IS ? AND input_tokens > 0 {since}"
        group_params = [task_id, provider, model, *params]
        rows = conn.execute(
            f"""SELECT prompt_text, input_tokens FROM traces WHERE {same_group}
                ORDER BY started_at DESC LIMIT ?""",
            [*group_params, sample],
        ).fetchall()
        texts = [text for text, _ in rows if text]
        if len(texts) < 2:
            continue
        prefix = os.path.commonprefix(texts)
        prefix_tokens = min(tokens * len(prefix) // len(text) for text, tokens in rows if text)
        if prefix_tokens < minimum:
            continue
        started = [
            r[0] for r in conn.execute(f"SELECT started_at FROM traces WHERE {same_group}", group_params)
        ]
        warm = warm_calls(started)
        per_call, why = saving_per_call(provider, model, host, input_sum // calls, prefix_tokens)
        findings.append(
            PrefixFinding(
                task_id=task_id,
                provider=provider,
                model=model,
                calls=calls,
                warm_calls=warm,
                sampled_calls=len(texts),
                prefix_chars=len(prefix),
                prefix_tokens=prefix_tokens,
                cache_minimum=minimum,
                cached_share=cached_share,
                saving_usd=None if per_call is None else per_call * warm,
                note=why or ADVICE.get(provider or "", DEFAULT_ADVICE),
                prefix_preview=" ".join(prefix.split())[:120],
            )
        )
    findings.sort(key=lambda f: (-(f.saving_usd or 0.0), -f.prefix_tokens * f.calls))
    return findings[:limit]
