"""Card rules every dialect may use: Luhn, expiry, ABA routing numbers, and the generic test cards.

The test-card table holds the well-known processor test numbers (4242…, 4000 0000 0000 0002, …)
with their outcomes, as JustiFi publishes them (api-spec "Testing" section; error bodies of
docs/testing/card_payments.mdx); ReCharge's hosted page charges cards by the same table. Any
other number that passes the Luhn check and has a known brand approves, so a cashier can train
with any plausible card. What only JustiFi shows (its BIN details, network names, ACH test
accounts) is in ``justifi/cards.py``; Checkout.com's own cards are in ``checkout_com/cards.py``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datetime import datetime


@dataclass(frozen=True)
class Decline:
    """How a payment with this card fails: error code, decline code, message, network code."""

    code: str
    decline_code: str | None
    message: str
    network_error_code: str | None


@dataclass(frozen=True)
class TestCard:
    number: str
    brand: str  # lowercase: visa, mastercard, american_express, discover
    funding: str  # BIN funding source: Credit, Debit, Prepaid
    decline: Decline | None = None
    # 4000000000000101: the CVC check fails, but only when a CVC was given.
    declines_only_with_cvc: bool = False


GENERIC_DECLINE = Decline("card_declined", "generic_decline", "Your card was declined.", "005")
INVALID_CVC = Decline("invalid_cvc", "invalid_cvc", "Your card's security code is invalid.", "517")
INSUFFICIENT_FUNDS = Decline(
    "card_declined", "insufficient_funds", "Your card has insufficient funds.", "116"
)

TEST_CARDS: dict[str, TestCard] = {
    card.number: card
    for card in (
        # Approve.
        TestCard("4242424242424242", "visa", "Credit"),
        TestCard("4000056655665556", "visa", "Debit"),
        TestCard("5555555555554444", "mastercard", "Credit"),
        TestCard("2223003122003222", "mastercard", "Credit"),
        TestCard("5200828282828210", "mastercard", "Debit"),
        TestCard("5105105105105100", "mastercard", "Prepaid"),
        TestCard("378282246310005", "american_express", "Credit"),
        TestCard("371449635398431", "american_express", "Credit"),
        TestCard("6011000990139424", "discover", "Credit"),
        # Tokenize, then the payment fails.
        TestCard("4000000000000002", "visa", "Credit", GENERIC_DECLINE),
        TestCard("4000000000009995", "visa", "Credit", INSUFFICIENT_FUNDS),
        TestCard(
            "4000000000009987",
            "visa",
            "Credit",
            Decline("card_declined", "lost_card", "Your card has been reported lost.", "208"),
        ),
        TestCard(
            "4000000000009979",
            "visa",
            "Credit",
            Decline("card_declined", "stolen_card", "Your card has been reported stolen.", "209"),
        ),
        TestCard(
            "4000000000000069",
            "visa",
            "Credit",
            Decline("expired_card", "expired_card", "Your card has expired.", "101"),
        ),
        TestCard("4000000000000127", "visa", "Credit", INVALID_CVC),
        TestCard(
            "4000000000000119",
            "visa",
            "Credit",
            Decline(
                "gateway_error",
                None,
                "An error occurred while processing your payment. Please try again.",
                "963",
            ),
        ),
        TestCard(
            "4000000000000341",
            "visa",
            "Credit",
            Decline("card_declined", "do_not_honor", "Your card was declined.", "005"),
        ),
        TestCard("4000000000000101", "visa", "Credit", INVALID_CVC, declines_only_with_cvc=True),
    )
}

# 4242424242424241 (JustiFi's card_number_invalid test card) is simply a number that fails Luhn.

_SEPARATORS = re.compile(r"[\s-]+")


def normalize_number(raw: str) -> str:
    """Drop the spaces and dashes people type between digit groups."""
    return _SEPARATORS.sub("", raw)


def luhn_valid(number: str) -> bool:
    if not number.isdigit() or not 12 <= len(number) <= 19:
        return False
    total = 0
    for position, char in enumerate(reversed(number)):
        digit = int(char)
        if position % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def detect_brand(number: str) -> str | None:
    """Brand from the number's prefix (IIN ranges), for numbers outside the test table."""
    if number in TEST_CARDS:
        return TEST_CARDS[number].brand
    if number.startswith("4"):
        return "visa"
    if number[:2] in {"34", "37"}:
        return "american_express"
    if 51 <= int(number[:2] or 0) <= 55 or 2221 <= int(number[:4] or 0) <= 2720:
        return "mastercard"
    if number.startswith(("6011", "65")) or 644 <= int(number[:3] or 0) <= 649:
        return "discover"
    return None


def cvc_length(brand: str) -> int:
    return 4 if brand == "american_express" else 3


def payment_decline(number: str, *, cvc_given: bool) -> Decline | None:
    """What happens when a tokenized card is charged: None approves."""
    card = TEST_CARDS.get(number)
    if card is None or card.decline is None:
        return None
    if card.declines_only_with_cvc and not cvc_given:
        return None
    return card.decline


def parse_expiry(month: str, year: str) -> tuple[int, int] | None:
    """(month, four-digit year) from what a person or client sent, or None if malformed."""
    month, year = month.strip(), year.strip()
    if not (month.isdigit() and year.isdigit()) or len(year) not in (2, 4):
        return None
    month_number, year_number = int(month), int(year)
    if not 1 <= month_number <= 12:
        return None
    if len(year) == 2:
        year_number += 2000
    return month_number, year_number


def is_expired(month: int, year: int, now: datetime) -> bool:
    """A card is good through the last day of its expiry month."""
    return (year, month) < (now.year, now.month)


def routing_number_valid(routing: str) -> bool:
    """ABA routing number: nine digits with the 3-7-1 checksum."""
    if len(routing) != 9 or not routing.isdigit():
        return False
    digits = [int(c) for c in routing]
    weights = (3, 7, 1) * 3
    return sum(d * w for d, w in zip(digits, weights, strict=True)) % 10 == 0
