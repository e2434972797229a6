"""JustiFi's amount limits, on their own so start-up need not import the whole adapter."""

from __future__ import annotations

from pos_app.providers.types import AmountLimits


def amount_limits(currency: str) -> AmountLimits:
    """Checkout amounts must be > 50 and < 100,000,000 cents (PROVIDERS.md §1.3)."""
    return AmountLimits(currency, minimum=51, maximum=99_999_999)
