"""ReCharge's amount limits, on their own so start-up need not import the whole adapter."""

from __future__ import annotations

from pos_app.providers.types import AmountLimits

# ReCharge documents no minimum; a line item price is a decimal string with cents. The sandbox
# refuses prices above 1,000,000.00 (ReCharge itself publishes no maximum) - keep to that.
MINIMUM_MINOR = 1
MAXIMUM_MINOR = 100_000_000


def amount_limits(currency: str) -> AmountLimits:
    """One cent up to 1,000,000.00 (PROVIDERS.md §3; the upper bound is the sandbox's)."""
    return AmountLimits(currency, minimum=MINIMUM_MINOR, maximum=MAXIMUM_MINOR)
