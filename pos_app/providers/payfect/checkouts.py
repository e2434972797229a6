"""Payfect checkouts: a hosted page (its ``url``, also shown as a QR code for pay-by-link)
where the customer pushes a USD stablecoin.

``find`` returns None: Payfect documents no list or search endpoint.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pos_app.providers.errors import ConfigurationError, ResponseInvalidError
from pos_app.providers.payfect import mapping
from pos_app.providers.payfect.client import CHECKOUTS_PATH, PayfectClient, checkout_path

if TYPE_CHECKING:
    from pos_app.providers.types import CheckoutRequest, CheckoutSession


class Checkouts:
    def __init__(
        self,
        client: PayfectClient,
        *,
        sale_currency: str,
        crypto_currency: str,
        network: str,
        callback_url: str | None,
    ) -> None:
        self._client = client
        self._sale_currency = sale_currency
        self._crypto_currency = crypto_currency
        self._network = network
        self._callback_url = callback_url

    async def create(self, request: CheckoutRequest) -> CheckoutSession:
        if request.amount.currency != self._sale_currency:
            raise ConfigurationError(
                f"This Payfect profile sells in {self._sale_currency}, "
                f"not {request.amount.currency}",
                provider=mapping.PROVIDER,
            )
        body = mapping.build_checkout_body(
            request,
            crypto_currency=self._crypto_currency,
            network=self._network,
            callback_url=self._callback_url,
        )
        # Deliberately no idempotency_key: Payfect would ignore it, and passing one would let
        # the HTTP client repeat the create on a timeout or 5xx.
        payload = await self._client.call("POST", CHECKOUTS_PATH, json=body)
        session = mapping.parse_checkout(
            payload, crypto_currency=self._crypto_currency, expected=request.amount
        )
        if session.reference != request.reference:
            raise ResponseInvalidError(
                "Payfect returned a checkout for another sale", provider=mapping.PROVIDER
            )
        if session.hosted_url is None:
            raise ResponseInvalidError(
                "Payfect returned a checkout without a url", provider=mapping.PROVIDER
            )
        return session

    async def get(self, provider_ref: str) -> CheckoutSession:
        payload = await self._client.call("GET", checkout_path(provider_ref))
        session = mapping.parse_checkout(payload, crypto_currency=self._crypto_currency)
        if session.provider_ref != provider_ref:
            raise ResponseInvalidError(
                "Payfect returned another checkout", provider=mapping.PROVIDER
            )
        return session

    async def find(self, reference: str) -> CheckoutSession | None:
        """Always None: Payfect documents no list or search endpoint.

        The service must keep the checkout id: it records ``provider_ref`` from the create
        response. A create whose outcome is unknown (no response) therefore cannot be found
        here and stays ``in_doubt`` for a human to settle from the Payfect dashboard.
        """
        return None
