"""Checkout.com payments: direct charges, lookups, captures, refunds and voids.

Captures, refunds and voids answer 202 Accepted and are processed afterwards, so each is
confirmed by reading the payment back; the answer is that lookup, even when it still shows
the action unprocessed (its ``act_`` id is then absent from ``payment.actions``). Each is
checked against the payment's balances first, so asking for more than is there is refused
without sending anything.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from pos_app.domain.payment import PaymentState
from pos_app.providers.checkout_com import mapping
from pos_app.providers.checkout_com.client import CkoClient, segment
from pos_app.providers.checkout_com.mapping import payments as pm
from pos_app.providers.errors import (
    ConfigurationError,
    InvalidRequestError,
    NotSupportedError,
    OutcomeUnknownError,
    ProviderError,
    ResponseInvalidError,
)
from pos_app.providers.types import (
    ActionResult,
    AmountLimits,
    CaptureRequest,
    ChargeRequest,
    ProviderPayment,
    RefundRequest,
    VoidRequest,
)

if TYPE_CHECKING:
    from pos_app.domain.money import Money


class Payments:
    def __init__(
        self, client: CkoClient, *, processing_channel_id: str, limits: AmountLimits
    ) -> None:
        self._client = client
        self._channel = processing_channel_id
        self._limits = limits

    async def charge(self, request: ChargeRequest) -> ProviderPayment:
        if request.checkout_ref is not None:
            raise NotSupportedError(
                "Checkout.com pages are paid by the customer, not completed by a charge",
                provider=mapping.PROVIDER,
            )
        self._check_amount(request.amount)
        body = pm.build_payment_body(request, processing_channel_id=self._channel)
        status, payload = await self._client.send(
            "POST", "/payments", json=body, idempotency_key=request.idempotency_key
        )
        if status == 202:
            return await self._accepted(payload, request)
        payment = pm.parse_payment(payload, expected=request.amount, reference=request.reference)
        if payment.state is PaymentState.AUTHORIZED and request.capture:
            # Checkout.com captures a sale after answering; the lookup says whether it has.
            try:
                return await self._lookup(
                    payment.provider_ref, expected=request.amount, reference=request.reference
                )
            except ResponseInvalidError:
                raise
            except ProviderError:
                return payment  # the 201 is true, only not the latest word
        return payment

    async def get(self, payment_ref: str) -> ProviderPayment:
        return await self._lookup(payment_ref)

    async def find(self, reference: str) -> ProviderPayment | None:
        """The approved payment for our reference, else the newest attempt, else None."""
        payments = await self._client.payments_for(reference)
        if not payments:
            return None
        approved = [p for p in payments if p.get("approved") is True]
        chosen = approved[0] if approved else payments[0]
        return await self._lookup(mapping.required_string(chosen, "id"), reference=reference)

    async def capture(self, request: CaptureRequest) -> ActionResult:
        payment, balances = await self._read(request.payment_ref)
        amount = pm.capture_amount(payment, balances, request.amount)
        return await self._act(
            payment,
            "captures",
            pm.capture_body(amount, final=request.final),
            request.idempotency_key,
        )

    async def refund(self, request: RefundRequest) -> ActionResult:
        payment, balances = await self._read(request.payment_ref)
        pm.check_refund(payment, balances, request.amount)
        return await self._act(payment, "refunds", pm.refund_body(request), request.idempotency_key)

    async def void(self, request: VoidRequest) -> ActionResult:
        payment, balances = await self._read(request.payment_ref)
        pm.check_void(payment, balances)
        return await self._act(
            payment, "voids", pm.void_body(request.reason), request.idempotency_key
        )

    # -- plumbing -------------------------------------------------------------------------

    def _check_amount(self, amount: Money) -> None:
        if amount.currency != self._limits.currency:
            raise ConfigurationError(
                f"This Checkout.com account takes {self._limits.currency}, not {amount.currency}",
                provider=mapping.PROVIDER,
            )
        refused = self._limits.check(amount)
        if refused is not None:
            raise InvalidRequestError(refused, provider=mapping.PROVIDER)

    async def _accepted(self, payload: Any, request: ChargeRequest) -> ProviderPayment:
        """A 202: the customer must authenticate (or Checkout.com is still at work). It names
        no amount, so read it back."""
        payment_id, redirect = pm.parse_accepted(payload, reference=request.reference)
        try:
            payment = await self._lookup(
                payment_id, expected=request.amount, reference=request.reference
            )
        except ResponseInvalidError:
            raise
        except ProviderError as error:
            raise OutcomeUnknownError(
                f"Checkout.com accepted payment {payment_id} but it could not be read back: "
                f"{error.message}",
                provider=mapping.PROVIDER,
                status=error.status,
            ) from error
        if payment.state is PaymentState.PENDING and redirect is not None:
            return replace(payment, state=PaymentState.REQUIRES_ACTION, action_url=redirect)
        return payment

    async def _lookup(
        self, payment_ref: str, *, expected: Money | None = None, reference: str | None = None
    ) -> ProviderPayment:
        details = await self._client.payment(payment_ref)
        actions = await self._client.actions(mapping.required_string(details, "id"))
        return pm.parse_payment(details, actions=actions, expected=expected, reference=reference)

    async def _read(self, payment_ref: str) -> tuple[ProviderPayment, pm.Balances]:
        """The payment and its balances, to check an action against before sending it."""
        details = await self._client.payment(payment_ref)
        actions = None
        if details.get("balances") is None:
            actions = await self._client.actions(mapping.required_string(details, "id"))
        return pm.read_payment(details, actions=actions)

    async def _act(
        self, payment: ProviderPayment, kind: str, body: dict[str, Any], key: str
    ) -> ActionResult:
        """Send a capture/refund/void, then confirm it by looking the payment up."""
        payment_id = payment.provider_ref
        payload = await self._client.call(
            "POST", f"/payments/{segment(payment_id)}/{kind}", json=body, idempotency_key=key
        )
        action_id = pm.parse_action_accepted(payload)
        try:
            confirmed = await self._lookup(payment_id)
        except ResponseInvalidError:
            raise
        except ProviderError as error:
            raise OutcomeUnknownError(
                f"Checkout.com accepted {kind} {action_id} on {payment_id} but the payment "
                f"could not be read back: {error.message}",
                provider=mapping.PROVIDER,
                status=error.status,
            ) from error
        return ActionResult(action_id, confirmed)
