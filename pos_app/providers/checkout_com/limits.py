"""Checkout.com's amount limits, on their own so start-up need not import the whole adapter."""

from __future__ import annotations

from typing import Final

from pos_app.domain.money import MoneyError, currency_exponent
from pos_app.providers.errors import ConfigurationError
from pos_app.providers.types import AmountLimits

# The spec only says ``amount`` is an integer >= 1 in minor units; no maximum is published.
# 9,999,999,999 minor units is the ceiling the sandbox enforces [inferred, not in the spec].
MAXIMUM_MINOR = 9_999_999_999

# "Format the amount value" (checkout.com/docs/payments/accept-payments/format-the-amount-value,
# updated 2025-12-17): these currencies take the full amount, these are divided by 1000, and
# every other currency is divided by 100.
FULL_VALUE: Final = frozenset(
    {"BIF", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG"}
    | {"RWF", "UGX", "VUV", "VND", "XAF", "XOF", "XPF"}
)
DIVIDED_BY_1000: Final = frozenset({"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"})


def documented_exponent(currency: str) -> int:
    """The decimal places Checkout.com counts ``currency`` in (upper-case code)."""
    if currency in FULL_VALUE:
        return 0
    return 3 if currency in DIVIDED_BY_1000 else 2


def amount_limits(currency: str) -> AmountLimits:
    """Amounts are whole minor units of the currency's ISO exponent, at least one unit.

    A currency Checkout.com counts differently from ISO 4217 (CLP, CLF, UYI, UYW) is refused
    rather than rescaled: an amount sent in the wrong exponent is a hundredfold error.
    For three-decimal currencies the last digit must be 0 (same page); AmountLimits cannot
    say "multiple of 10", so the minimum there is 10.
    """
    try:
        exponent = currency_exponent(currency)
    except MoneyError as exc:
        raise ConfigurationError(
            f"Checkout.com currency {currency!r} is unknown", provider="checkout_com"
        ) from exc
    code = currency.upper()
    if documented_exponent(code) != exponent:
        raise ConfigurationError(
            f"Checkout.com counts {code} in {documented_exponent(code)} decimal places and "
            f"ISO 4217 in {exponent}; this till does not take {code} through Checkout.com",
            provider="checkout_com",
        )
    minimum = 10 if exponent == 3 else 1
    return AmountLimits(code, minimum=minimum, maximum=MAXIMUM_MINOR)
