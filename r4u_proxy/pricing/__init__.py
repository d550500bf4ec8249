"""What a call cost: genai-prices data (`prices`), the user's overrides (`overrides`), recomputing stored
costs (`reprice`)."""

from r4u_proxy.pricing.prices import Price, configure, price, price_row

__all__ = ["Price", "configure", "price", "price_row"]
