"""Checkout.com's amount limits, on their own so start-up need not import the whole adapter."""

from __future__ import annotations

from pos_app.domain.money import MoneyError, currency_exponent
from pos_app.providers.errors import ConfigurationError
from pos_app.providers.types import AmountLimits

# The spec only says ``amount`` is an integer >= 1 in minor units; no maximum is published.
# 9,999,999,999 minor units is the ceiling the sandbox enforces [inferred, not in the spec].
MAXIMUM_MINOR = 9_999_999_999


def amount_limits(currency: str) -> AmountLimits:
    """Amounts are whole minor units of the currency's ISO exponent, at least one unit.

    For three-decimal currencies (BHD, KWD, OMR, JOD, TND, IQD, LYD) Checkout.com's
    "calculating the amount" page asks for a value ending in 0 [UNCONFIRMED: from memory of
    the docs]; AmountLimits cannot say "multiple of 10", so the minimum there is 10.
    """
    try:
        exponent = currency_exponent(currency)
    except MoneyError as exc:
        raise ConfigurationError(
            f"Checkout.com currency {currency!r} is unknown", provider="checkout_com"
        ) from exc
    minimum = 10 if exponent == 3 else 1
    return AmountLimits(currency.upper(), minimum=minimum, maximum=MAXIMUM_MINOR)
