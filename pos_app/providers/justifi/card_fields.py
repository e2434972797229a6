"""JustiFi's card form, for the sandbox reader: the till mints a web component token scoped
to tokenizing for its sub-account, and the card fields post the card with it
(PROVIDERS.md §1.2). Loaded only when the reader reads (it needs httpx)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pos_app.domain.ids import new_idempotency_key
from pos_app.providers import card_fields
from pos_app.providers.card_fields import EXPIRY_MONTH, EXPIRY_YEAR, TokenizeError
from pos_app.providers.types import PaymentSource, SourceKind

if TYPE_CHECKING:
    from collections.abc import Mapping

    from pos_app.providers.spec import Tokenizer


def tokenizer(api: str, values: Mapping[str, str]) -> Tokenizer:
    """``values``: client_id, client_secret and sub_account."""
    client_id, client_secret = values["client_id"], values["client_secret"]
    sub_account = values["sub_account"]

    async def tokenize(card: str) -> PaymentSource:
        async with card_fields.client(api) as client:
            access = await card_fields.post(
                client, "/oauth/token", {"client_id": client_id, "client_secret": client_secret}
            )
            component = await card_fields.post(
                client,
                "/v1/web_component_tokens",
                {"resources": [f"write:tokenize:{sub_account}"]},
                headers={"Authorization": f"Bearer {card_fields.text(access, 'access_token')}"},
            )
            method = await card_fields.post(
                client,
                "/v1/payment_methods",
                {
                    "payment_method": {
                        "card": {
                            "name": "Sandbox Shopper",
                            "number": card,
                            "verification": "123",
                            "month": str(EXPIRY_MONTH),
                            "year": str(EXPIRY_YEAR),
                            "address_postal_code": "12345",
                        }
                    }
                },
                headers={
                    "Authorization": f"Bearer {card_fields.text(component, 'access_token')}",
                    "Sub-Account": sub_account,
                    "Idempotency-Key": new_idempotency_key(),
                },
            )
        data = method.get("data")
        card_data = data.get("card") if isinstance(data, dict) else None
        if not isinstance(card_data, dict):
            raise TokenizeError("JustiFi answered without a card")
        return PaymentSource(SourceKind.TOKEN, card_fields.text(card_data, "token"))

    return tokenize
