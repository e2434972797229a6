"""ReCharge is charged with a token from the shop's card processor; for the sandbox reader,
that processor's fixed test tokens (Stripe's)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pos_app.providers.card_fields import TokenizeError
from pos_app.providers.types import PaymentSource, SourceKind

if TYPE_CHECKING:
    from collections.abc import Mapping

    from pos_app.providers.spec import Tokenizer

# Stripe's test cards (an approval, a generic decline) and the tokens Stripe gives for them.
PROCESSOR_TOKENS: Mapping[str, str] = {
    "4242424242424242": "tok_visa",
    "4000000000000002": "tok_chargeDeclined",
}


def tokenizer(api: str, values: Mapping[str, str]) -> Tokenizer:
    async def tokenize(card: str) -> PaymentSource:
        token = PROCESSOR_TOKENS.get(card)
        if token is None:
            raise TokenizeError("The card processor has no test token for this card")
        return PaymentSource(SourceKind.TOKEN, token)

    return tokenize
