"""Which card reader a profile gets, and how the simulated one turns a card into a token.

None of our providers offers card-present payments yet, so every profile gets an
``UnavailableReader`` except one on the built-in sandbox whose provider takes direct
charges: that gets a ``SimulatedReader`` whose "read" tokenizes the sandbox test card the
way the provider's own card fields do (JustiFi's web component, Checkout.com's Frames,
ReCharge's card processor). Like registry.py this is composition, used by app.py only: the
simulator's published public key comes in with its credentials (only app.py imports the sandbox).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from pos_app.config.registry import SandboxCredentials, endpoints, uses_builtin_sandbox
from pos_app.config.settings import ProviderProfile
from pos_app.domain.ids import new_idempotency_key
from pos_app.providers.base import PaymentProvider
from pos_app.providers.types import Capability, PaymentSource, SourceKind
from pos_app.services.reader import (
    APPROVED_CARD,
    DECLINING_CARD,
    SimulatedReader,
    Tokenizer,
    UnavailableReader,
)

Reader = SimulatedReader | UnavailableReader

TIMEOUT_S = 15.0
# The test card's other details, as a customer would type them into the card fields.
_EXPIRY_MONTH, _EXPIRY_YEAR = 12, 2030
# Checkout.com's test card for a decline (response code 20051, insufficient funds).
CHECKOUT_COM_DECLINING_CARD = "4544249167673670"
# ReCharge is charged with a token from the shop's card processor (Stripe's test tokens).
RECHARGE_PROCESSOR_TOKENS: Mapping[str, str] = {
    APPROVED_CARD: "tok_visa",
    DECLINING_CARD: "tok_chargeDeclined",
}


class TokenizeError(Exception):
    """The sandbox would not tokenize the card; the message says what it answered."""


def build_reader(
    profile: ProviderProfile,
    provider: PaymentProvider,
    *,
    sandbox_url: str | None,
    credentials: SandboxCredentials | None,
) -> Reader:
    """The reader the cashier's F8 screen uses for ``profile`` (with its adapter)."""
    kind = profile.kind
    simulated = (
        kind is not None
        and uses_builtin_sandbox(profile)
        and sandbox_url is not None
        and credentials is not None
        and Capability.DIRECT_CHARGE in provider.capabilities
    )
    if not simulated:
        return UnavailableReader(profile.provider_name)
    assert kind is not None and sandbox_url is not None and credentials is not None
    api = endpoints(profile, sandbox_url).api
    if kind.key == "justifi":
        return SimulatedReader(
            justifi_tokenizer(
                api,
                client_id=profile.client_id or credentials.justifi_client_id,
                client_secret=credentials.justifi_client_secret,
                sub_account=profile.sub_account or credentials.justifi_sub_account,
            )
        )
    if kind.key == "checkout_com":
        return SimulatedReader(
            checkout_com_tokenizer(api, credentials.checkout_com_public_key),
            declining_card=CHECKOUT_COM_DECLINING_CARD,
        )
    if kind.key == "recharge":
        # A ReCharge charge always pays an open checkout.
        return SimulatedReader(recharge_tokenizer(), pays_open_checkout=True)
    return UnavailableReader(profile.provider_name)


def justifi_tokenizer(
    api: str, *, client_id: str, client_secret: str, sub_account: str
) -> Tokenizer:
    """Like JustiFi's card form: the till mints a web component token scoped to tokenizing
    for its sub-account, and the card fields post the card with it (PROVIDERS.md §1.2)."""

    async def tokenize(card: str) -> PaymentSource:
        async with httpx.AsyncClient(base_url=api, timeout=TIMEOUT_S, trust_env=False) as client:
            access = await _post(
                client, "/oauth/token", {"client_id": client_id, "client_secret": client_secret}
            )
            component = await _post(
                client,
                "/v1/web_component_tokens",
                {"resources": [f"write:tokenize:{sub_account}"]},
                headers={"Authorization": f"Bearer {_text(access, 'access_token')}"},
            )
            method = await _post(
                client,
                "/v1/payment_methods",
                {
                    "payment_method": {
                        "card": {
                            "name": "Sandbox Shopper",
                            "number": card,
                            "verification": "123",
                            "month": str(_EXPIRY_MONTH),
                            "year": str(_EXPIRY_YEAR),
                            "address_postal_code": "12345",
                        }
                    }
                },
                headers={
                    "Authorization": f"Bearer {_text(component, 'access_token')}",
                    "Sub-Account": sub_account,
                    "Idempotency-Key": new_idempotency_key(),
                },
            )
        data = method.get("data")
        card_data = data.get("card") if isinstance(data, dict) else None
        if not isinstance(card_data, dict):
            raise TokenizeError("JustiFi answered without a card")
        return PaymentSource(SourceKind.TOKEN, _text(card_data, "token"))

    return tokenize


def checkout_com_tokenizer(api: str, public_key: str) -> Tokenizer:
    """Like Checkout.com's Frames: the card goes to ``POST /tokens`` with the public key."""

    async def tokenize(card: str) -> PaymentSource:
        async with httpx.AsyncClient(base_url=api, timeout=TIMEOUT_S, trust_env=False) as client:
            answer = await _post(
                client,
                "/tokens",
                {
                    "type": "card",
                    "number": card,
                    "expiry_month": _EXPIRY_MONTH,
                    "expiry_year": _EXPIRY_YEAR,
                    "cvv": "100",
                },
                headers={"Authorization": f"Bearer {public_key}"},
            )
        return PaymentSource(SourceKind.TOKEN, _text(answer, "token"))

    return tokenize


def recharge_tokenizer() -> Tokenizer:
    """ReCharge takes the card processor's token; in the sandbox, its fixed test tokens."""

    async def tokenize(card: str) -> PaymentSource:
        token = RECHARGE_PROCESSOR_TOKENS.get(card)
        if token is None:
            raise TokenizeError("The card processor has no test token for this card")
        return PaymentSource(SourceKind.TOKEN, token)

    return tokenize


async def _post(
    client: httpx.AsyncClient,
    path: str,
    body: dict[str, Any],
    *,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    # A tokenization mints a new token each time, harmlessly: sent once, never retried.
    try:
        answer = await client.post(path, json=body, headers=headers)
    except httpx.HTTPError as error:
        raise TokenizeError(f"The sandbox could not be reached ({type(error).__name__})") from error
    if not answer.is_success:
        raise TokenizeError(f"The sandbox answered {answer.status_code} to {path}")
    try:
        payload = answer.json()
    except ValueError:
        raise TokenizeError(f"The sandbox's answer to {path} was not JSON") from None
    if not isinstance(payload, dict):
        raise TokenizeError(f"The sandbox's answer to {path} was not an object")
    return payload


def _text(payload: dict[str, Any], key: str) -> str:
    value = payload.get(key)
    if not isinstance(value, str) or not value:
        raise TokenizeError(f"The sandbox answered without a {key}")
    return value
