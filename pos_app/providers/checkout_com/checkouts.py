"""Checkouts the customer pays on Checkout.com's pages: the Hosted Payments Page (``hpp_…``,
opened in the till's web view) and Payment Links (``pl_…``, shown as a QR code).

Checkout.com lists neither pages nor links, so one is found by our reference only once a
payment was attempted on it (``GET /payments?reference=…``); ``find`` then answers with that
payment, whose ``pay_…`` id ``get`` also accepts.
"""

from __future__ import annotations

import asyncio
from typing import Any

from pos_app.domain.payment import PaymentState
from pos_app.providers.checkout_com import mapping
from pos_app.providers.checkout_com.client import CkoClient, segment
from pos_app.providers.errors import OutcomeUnknownError, ProviderError, ResponseInvalidError
from pos_app.providers.types import CheckoutMode, CheckoutRequest, CheckoutSession, Decline


class Checkouts:
    def __init__(self, client: CkoClient, *, processing_channel_id: str, billing_country: str):
        self._client = client
        self._channel = processing_channel_id
        self._country = billing_country

    async def create(self, request: CheckoutRequest) -> CheckoutSession:
        if request.mode is CheckoutMode.LINK:
            path, prefix = "/payment-links", "pl_"
            body = mapping.build_link_body(
                request, processing_channel_id=self._channel, billing_country=self._country
            )
        else:
            path, prefix = "/hosted-payments", "hpp_"
            body = mapping.build_hosted_body(
                request, processing_channel_id=self._channel, billing_country=self._country
            )
        # Checkout.com's idempotency docs list neither pages nor links (the sandbox ignores
        # the key there), so a repeat could not be recognised: no key, hence no blind retry.
        # A lost answer is an unknown outcome for the service to look up.
        created = await self._client.call("POST", path, json=body)
        page_id, _ = mapping.parse_hosted_created(created, prefix)
        if isinstance(created, dict) and created.get("reference") not in (None, request.reference):
            raise ResponseInvalidError(
                "Checkout.com returned a page for another sale", provider=mapping.PROVIDER
            )
        # The 201 carries no amount: read the page back to check it is for what we asked.
        try:
            session = mapping.parse_hosted(
                await self._client.call("GET", f"{path}/{segment(page_id)}"),
                expected=request.amount,
            )
        except ResponseInvalidError:
            raise
        except ProviderError as error:
            raise OutcomeUnknownError(
                f"Checkout.com opened {page_id} but it could not be read back: {error.message}",
                provider=mapping.PROVIDER,
                status=error.status,
            ) from error
        if session.provider_ref != page_id or session.reference != request.reference:
            raise ResponseInvalidError(
                "Checkout.com returned a page for another sale", provider=mapping.PROVIDER
            )
        return session

    async def get(self, provider_ref: str) -> CheckoutSession:
        """A hosted page (``hpp_…``), a payment link (``pl_…``) or a payment found by reference
        (``pay_…``), with the card, the decline and the number of payment attempts made."""
        if provider_ref.startswith("pay_"):
            payment = await self._client.payment(provider_ref)
            reference = payment.get("reference")
            tries = await self._attempts(reference)
            return mapping.parse_payment_session(
                payment, decline=await self._decline_of(payment), attempts=max(len(tries), 1)
            )
        path = "/payment-links" if provider_ref.startswith("pl_") else "/hosted-payments"
        hosted = await self._client.call("GET", f"{path}/{segment(provider_ref)}")
        if not isinstance(hosted, dict) or hosted.get("id") != provider_ref:
            raise ResponseInvalidError(
                "Checkout.com returned another page", provider=mapping.PROVIDER
            )
        # A declined attempt leaves the page open and names no payment: find the attempts
        # by our reference (at the same time as the payment, when there is one: a slow
        # provider then costs the cashier one round trip less).
        payment_id = hosted.get("payment_id")
        if isinstance(payment_id, str) and payment_id:
            attempts, payment = await asyncio.gather(
                self._attempts(hosted.get("reference")), self._client.payment(payment_id)
            )
            return mapping.parse_hosted(hosted, payment=payment, attempts=attempts)
        attempts = await self._attempts(hosted.get("reference"))
        decline: Decline | None = None
        if hosted.get("status") in mapping.OPEN_STATUSES and attempts:
            decline = await self._decline_of(attempts[0])
        return mapping.parse_hosted(hosted, attempts=attempts, decline=decline)

    async def find(self, reference: str) -> CheckoutSession | None:
        payments = await self._client.payments_for(reference)
        if not payments:
            return None
        approved = [p for p in payments if p.get("approved") is True]
        chosen = approved[0] if approved else payments[0]
        return mapping.parse_payment_session(
            chosen, decline=await self._decline_of(chosen), attempts=len(payments)
        )

    async def _attempts(self, reference: Any) -> list[dict[str, Any]]:
        return await self._client.payments_for(reference) if isinstance(reference, str) else []

    async def _decline_of(self, payment: dict[str, Any]) -> Decline | None:
        """Why a declined payment was declined: PaymentDetails carry no response code, its
        authorization action does."""
        if mapping.payment_status(payment) is not PaymentState.DECLINED:
            return None
        payment_id = mapping.required_string(payment, "id")
        return mapping.decline_from_actions(await self._client.actions(payment_id))
