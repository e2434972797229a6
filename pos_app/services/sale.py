"""Checking what the cashier typed before anything is recorded or sent."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pos_app.domain.money import Money, MoneyError, parse_amount

if TYPE_CHECKING:
    from pos_app.providers.types import AmountLimits

MAX_DESCRIPTION = 200


class SaleInputError(ValueError):
    """A specific, user-facing reason the sale cannot be charged yet."""

    def __init__(self, field: str, code: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Sale:
    amount: Money
    description: str


def parse_description(text: str) -> str:
    cleaned = " ".join(text.split())
    if not cleaned:
        raise SaleInputError("description", "empty", "Enter a description of what is being sold.")
    if len(cleaned) > MAX_DESCRIPTION:
        raise SaleInputError(
            "description",
            "too_long",
            f"Keep the description under {MAX_DESCRIPTION} characters (it has {len(cleaned)}).",
        )
    # Control and bidi-override characters (category C*) can disguise text on receipts.
    if any(unicodedata.category(ch).startswith("C") for ch in cleaned):
        raise SaleInputError(
            "description",
            "control_characters",
            "The description contains invisible control characters; retype it.",
        )
    return cleaned


def parse_sale_amount(text: str, *, limits: AmountLimits, locale: str) -> Money:
    try:
        amount = parse_amount(text, limits.currency, locale=locale)
    except MoneyError as exc:
        raise SaleInputError("amount", exc.code, str(exc)) from exc
    problem = limits.check(amount)
    if problem is not None:
        raise SaleInputError("amount", "outside_limits", problem)
    return amount


def parse_sale(amount_text: str, description: str, *, limits: AmountLimits, locale: str) -> Sale:
    """Both fields checked; raises SaleInputError for the first problem found."""
    return Sale(
        parse_sale_amount(amount_text, limits=limits, locale=locale), parse_description(description)
    )
