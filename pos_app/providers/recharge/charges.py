"""ReCharge charges: a checkout charged with a processor token, and the checkout as a payment.

The payment ref is the checkout token (see mapping/charges.py).

**Charging** a checkout (``charge``): the checkout is looked up first (its amount and our
reference must be what the request says, and it must still be open), then
``POST /checkouts/{token}/charge`` is sent once. A charge whose answer is lost is settled by
looking the checkout up, never by sending it again: ``completed_at``/``charge_id`` say whether
it was charged. Only when that lookup fails too is it OutcomeUnknownError. A checkout is
charged at most once by ReCharge, which is what makes the lookup decisive.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from pos_app.domain.payment import PaymentState
from pos_app.providers.errors import (
    InvalidRequestError,
    NotSupportedError,
    OutcomeUnknownError,
    ProviderError,
    ResponseInvalidError,
)
from pos_app.providers.recharge import mapping
from pos_app.providers.recharge.client import RechargeClient, segment
from pos_app.providers.recharge.mapping import charges as cm
from pos_app.providers.types import ChargeRequest, ProviderPayment, SourceKind

if TYPE_CHECKING:
    import httpx

    from pos_app.domain.money import Money

log = logging.getLogger(__name__)


def not_supported(what: str) -> NotSupportedError:
    return NotSupportedError(f"ReCharge does not offer {what}", provider=mapping.PROVIDER)


class Charges:
    def __init__(
        self,
        client: RechargeClient,
        *,
        api_version: str,
        currency: str,
        payment_processor: str,
        payment_type: str,
    ) -> None:
        self._client = client
        self._version = api_version
        self._currency = currency
        self._processor = payment_processor
        self._payment_type = payment_type

    async def charge(self, request: ChargeRequest) -> ProviderPayment:
        """Charge an open checkout with a processor token (``source.value``)."""
        token = self._check_charge(request)
        before = await self.get(token, expected=None)
        # The checkout is ReCharge's answer: one for another sale or amount is not to be trusted.
        if before.reference != request.reference:
            raise ResponseInvalidError(
                f"ReCharge checkout {token} belongs to another sale", provider=mapping.PROVIDER
            )
        if before.amount != request.amount:
            raise ResponseInvalidError(
                f"ReCharge checkout {token} is for {before.amount.plain()}, not the "
                f"{request.amount.plain()} {request.amount.currency} asked for",
                provider=mapping.PROVIDER,
            )
        if before.state is not PaymentState.PENDING:
            raise InvalidRequestError(
                f"ReCharge checkout {token} is already paid", provider=mapping.PROVIDER
            )
        body = cm.build_charge_body(
            request.source.value, processor=self._processor, payment_type=self._payment_type
        )
        path = f"/checkouts/{segment(token)}/charge"
        try:
            # No idempotency key exists: sent once (429s aside), never blindly repeated.
            response = await self._client.send("POST", path, json=body)
            if response.status_code == 402:
                decline = cm.decline_from(_json_or_none(response))
                return cm.declined_payment(request, token, decline)
            charge_id = cm.parse_charge(self._client.payload_or_raise(response, mutating=True))
        except OutcomeUnknownError as lost:
            return await self._settle_lost_charge(token, request, lost)
        after = await self.get(token, expected=request.amount)
        if after.state is not PaymentState.CAPTURED or cm.charge_id_of(after) != charge_id:
            raise ResponseInvalidError(
                f"ReCharge accepted charge {charge_id} but checkout {token} does not show it",
                provider=mapping.PROVIDER,
            )
        return after

    async def get(self, token: str, *, expected: Money | None = None) -> ProviderPayment:
        """The checkout ``token`` as a payment: PENDING until charged."""
        data = await self._client.checkout(token)
        return cm.payment_from_checkout(
            data, version=self._version, currency=self._currency, expected=expected
        )

    def _check_charge(self, request: ChargeRequest) -> str:
        """What can be refused before anything is sent; returns the checkout token."""
        if not request.capture:
            raise not_supported("authorizing without capture")
        if request.source.kind is not SourceKind.TOKEN:
            raise not_supported(f"charging a {request.source.kind.value}")
        if not request.checkout_ref:
            raise InvalidRequestError(
                "ReCharge charges a checkout: the request names none", provider=mapping.PROVIDER
            )
        if not request.source.value:
            raise InvalidRequestError(
                "The charge has no processor token", provider=mapping.PROVIDER
            )
        if request.amount.currency != self._currency:
            raise InvalidRequestError(
                f"This ReCharge account takes {self._currency}, not {request.amount.currency}",
                provider=mapping.PROVIDER,
            )
        return request.checkout_ref

    async def _settle_lost_charge(
        self, token: str, request: ChargeRequest, lost: OutcomeUnknownError
    ) -> ProviderPayment:
        """The charge may or may not have happened: the checkout says which.

        CAPTURED: it went through (once: ReCharge charges a checkout only once). PENDING: no
        money was taken, whether the charge was declined or never arrived; the checkout is
        still open. Only a lookup that fails too leaves the outcome unknown.
        """
        log.warning("ReCharge charge of %s lost its answer (%s); looking it up", token, lost)
        try:
            return await self.get(token, expected=request.amount)
        except ProviderError as exc:
            raise OutcomeUnknownError(
                f"ReCharge did not answer the charge of checkout {token}, and looking it up "
                f"failed too ({exc.message}): check it before charging again",
                provider=mapping.PROVIDER,
                status=lost.status,
            ) from exc


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
