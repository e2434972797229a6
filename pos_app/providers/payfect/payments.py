"""Payfect payments: a checkout read as a payment (the payment ref is the checkout id, see
mapping/__init__.py). PENDING while open, CAPTURED once paid; nothing else is offered."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pos_app.providers.errors import ResponseInvalidError
from pos_app.providers.payfect import mapping
from pos_app.providers.payfect.client import PayfectClient, checkout_path

if TYPE_CHECKING:
    from pos_app.providers.types import ProviderPayment


class Payments:
    def __init__(self, client: PayfectClient, *, crypto_currency: str) -> None:
        self._client = client
        self._crypto_currency = crypto_currency

    async def get(self, payment_ref: str) -> ProviderPayment:
        """The checkout ``payment_ref`` as a payment: PENDING while open, CAPTURED once paid."""
        payload = await self._client.call("GET", checkout_path(payment_ref))
        payment = mapping.payment_from_checkout(payload, crypto_currency=self._crypto_currency)
        if payment.provider_ref != payment_ref:
            raise ResponseInvalidError(
                "Payfect returned another checkout", provider=mapping.PROVIDER
            )
        return payment
