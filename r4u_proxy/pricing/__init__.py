"""What a call cost: genai-prices data (`prices`), the user's overrides (`overrides`), recomputing stored
costs (`reprice`).

`Price`, `configure`, `price` and `price_row` are loaded on first use: importing genai-prices takes
about half a second, which commands that only read stored costs (`r4u tasks`, `r4u stats`) and the
migrations (`pricing.schema`) must not pay.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from r4u_proxy.pricing.prices import Price, configure, price, price_row

__all__ = ["Price", "configure", "price", "price_row"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module("r4u_proxy.pricing.prices"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
