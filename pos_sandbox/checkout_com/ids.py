"""Where Checkout.com's API lives in the sandbox, and its ids (``pay_`` + 26 base32 letters)."""

from __future__ import annotations

import re
import secrets

PREFIX = "/checkout-com"

_B32 = "abcdefghijklmnopqrstuvwxyz234567"
_ID26 = re.compile(r"^\w{26}$")


def cko_id(prefix: str) -> str:
    """``pay_`` + 26 lower-case base32 characters, as Checkout.com's ids look."""
    return prefix + "".join(secrets.choice(_B32) for _ in range(26))


def matches(value: str, prefix: str) -> bool:
    """``value`` is ``prefix`` followed by 26 word characters, as Checkout.com's ids are."""
    return value.startswith(prefix) and bool(_ID26.match(value[len(prefix) :]))
