"""Checkout.com's Frames, for the sandbox reader: the card goes to ``POST /tokens`` with the
public key. Loaded only when the reader reads (it needs httpx)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pos_app.providers import card_fields
from pos_app.providers.card_fields import EXPIRY_MONTH, EXPIRY_YEAR
from pos_app.providers.types import PaymentSource, SourceKind

if TYPE_CHECKING:
    from collections.abc import Mapping

    from pos_app.providers.spec import Tokenizer


def tokenizer(api: str, values: Mapping[str, str]) -> Tokenizer:
    """``values``: public_key."""
    public_key = values["public_key"]

    async def tokenize(card: str) -> PaymentSource:
        async with card_fields.client(api) as client:
            answer = await card_fields.post(
                client,
                "/tokens",
                {
                    "type": "card",
                    "number": card,
                    "expiry_month": EXPIRY_MONTH,
                    "expiry_year": EXPIRY_YEAR,
                    "cvv": "100",
                },
                headers={"Authorization": f"Bearer {public_key}"},
            )
        return PaymentSource(SourceKind.TOKEN, card_fields.text(answer, "token"))

    return tokenize
