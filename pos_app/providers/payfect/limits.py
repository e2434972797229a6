"""Payfect's amount limits, on their own so start-up need not import the whole adapter."""

from __future__ import annotations

from pos_app.providers.types import AmountLimits


def amount_limits(currency: str = "USD") -> AmountLimits:
    """Payfect documents no limits. A unit amount has two decimals, so 0.01 is the least
    it can express; the most is the sandbox's bound of 9,999,999,999.99 [sandbox], until
    Payfect says otherwise. Amounts are USD sales invoiced 1:1 in USDT (see mapping.py)."""
    return AmountLimits(currency, minimum=1, maximum=999_999_999_999)
