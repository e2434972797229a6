"""JustiFi payments: charge, look up, find, capture, refund, void (PROVIDERS.md §1.4-§1.5).

Money-safety rules: every mutation carries the caller's Idempotency-Key; capture, refund and
void look the payment up first and refuse what cannot be right (more than authorized, more
than refundable, a captured payment voided) before anything is sent; every accepted action
is confirmed by a second lookup, which must show it.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from pos_app.domain.payment import PaymentState
from pos_app.providers.errors import (
    ConfigurationError,
    InvalidRequestError,
    NotSupportedError,
    ProviderError,
    ResponseInvalidError,
)
from pos_app.providers.justifi import mapping
from pos_app.providers.justifi.client import JustifiClient, list_items
from pos_app.providers.justifi.mapping import balance as balance_mapping
from pos_app.providers.justifi.mapping import payments as payment_mapping
from pos_app.providers.types import (
    ActionResult,
    CaptureRequest,
    ChargeRequest,
    PaymentAction,
    ProviderPayment,
    RefundRequest,
    SourceKind,
    VoidRequest,
)

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)

FIND_PAGES = 5
PAGE_SIZE = 100
REFUNDABLE = (PaymentState.CAPTURED, PaymentState.PARTIALLY_REFUNDED)


def _path(payment_id: str, action: str = "") -> str:
    suffix = f"/{action}" if action else ""
    return f"/v1/payments/{quote(payment_id, safe='')}{suffix}"


def _refused(message: str) -> InvalidRequestError:
    return InvalidRequestError(message, provider=mapping.PROVIDER)


def _unconfirmed(message: str) -> ResponseInvalidError:
    return ResponseInvalidError(message, provider=mapping.PROVIDER)


class Payments:
    def __init__(self, api: JustifiClient, currency: str) -> None:
        self._api = api
        self._currency = currency

    # -- charging ------------------------------------------------------------------------

    async def charge(self, request: ChargeRequest) -> ProviderPayment:
        if request.source.kind is SourceKind.CUSTOMER:
            raise NotSupportedError(
                "JustiFi charges a payment method token, not a customer", provider=mapping.PROVIDER
            )
        if request.amount.currency != self._currency:
            raise ConfigurationError(
                f"This JustiFi account takes {self._currency}, not {request.amount.currency}",
                provider=mapping.PROVIDER,
            )
        if request.checkout_ref:
            return await self._complete_checkout(request, request.checkout_ref)
        response = await self._api.send(
            "POST",
            "/v1/payments",
            json=payment_mapping.build_payment_body(request),
            idempotency_key=request.idempotency_key,
            sub_account=True,
        )
        if response.status_code == 402:
            decline = mapping.decline_from_error(_json_or_none(response))
            ref = await self._failed_payment_ref(reference=request.reference)
            return payment_mapping.declined_payment(ref, request.amount, request.reference, decline)
        payload = self._api.payload_or_raise(response, mutating=True)
        payment = payment_mapping.parse_payment(
            mapping.unwrap(payload, "payment"), expected=request.amount
        )
        if payment.reference != request.reference:
            raise _unconfirmed("JustiFi returned a payment for another sale")
        return payment

    async def _complete_checkout(self, request: ChargeRequest, checkout_id: str) -> ProviderPayment:
        """Pay a checkout with a token through the API (what the web component does)."""
        if not request.capture:
            raise NotSupportedError(
                "A JustiFi checkout is always captured when it completes; "
                "authorize-only works with a direct payment",
                provider=mapping.PROVIDER,
            )
        path = f"/v1/checkouts/{quote(checkout_id, safe='')}"
        checkout = mapping.parse_checkout(
            mapping.unwrap(await self._api.call("GET", path), "checkout"), None
        )
        # Refused before sending: completing charges the checkout's amount, whatever we think.
        if checkout.amount != request.amount:
            raise _refused(
                f"Checkout {checkout_id} is for {checkout.amount.plain()}, "
                f"not {request.amount.plain()}"
            )
        if checkout.reference not in (None, request.reference):
            raise _refused(f"Checkout {checkout_id} belongs to another sale")
        response = await self._api.send(
            "POST",
            f"{path}/complete",
            json={"payment_token": request.source.value, "payment_mode": "ecom"},
            idempotency_key=request.idempotency_key,
            sub_account=True,
        )
        if response.status_code == 402:
            decline = mapping.decline_from_error(_json_or_none(response))
            ref = await self._failed_payment_ref(checkout_id=checkout_id)
            return payment_mapping.declined_payment(ref, request.amount, request.reference, decline)
        payload = self._api.payload_or_raise(response, mutating=True)
        completion = mapping.unwrap(payload, "checkout_completion")
        if completion.get("checkout_id") not in (None, checkout_id):
            raise _unconfirmed("JustiFi completed another checkout")
        payment = payment_mapping.parse_completion(
            completion, expected=request.amount, reference=request.reference
        )
        if payment.reference != request.reference:
            raise _unconfirmed("JustiFi's checkout payment belongs to another sale")
        if not payment.provider_ref:
            payment = replace(
                payment, provider_ref=await self._failed_payment_ref(checkout_id=checkout_id)
            )
        return payment

    async def _failed_payment_ref(
        self, *, reference: str | None = None, checkout_id: str | None = None
    ) -> str:
        """The id of the failed payment a decline left behind (JustiFi's 402 gives none).

        Only for the record: the decline itself is certain, so a failed search is logged and
        the decline returned without an id.
        """
        try:
            payload = await self._api.call(
                "GET",
                "/v1/payments",
                params={"limit": PAGE_SIZE, "payment_status": "failed"},
                sub_account=True,
            )
            items, _ = list_items(payload, "payment")
        except ProviderError as error:
            log.warning("Could not find the declined JustiFi payment: %s", error.message)
            return ""
        for item in items:
            metadata = item.get("metadata")
            mine = (checkout_id is not None and item.get("checkout_id") == checkout_id) or (
                reference is not None
                and isinstance(metadata, dict)
                and metadata.get(mapping.REFERENCE_METADATA_KEY) == reference
            )
            if mine and isinstance(item.get("id"), str):
                return str(item["id"])
        return ""

    # -- lookups -------------------------------------------------------------------------

    async def get(self, payment_id: str) -> ProviderPayment:
        data = mapping.unwrap(await self._api.call("GET", _path(payment_id)), "payment")
        if data.get("id") != payment_id:
            raise _unconfirmed("JustiFi returned another payment")
        return payment_mapping.parse_payment(data)

    async def balance_transactions(self, payment_id: str) -> tuple[PaymentAction, ...]:
        """The payment's credits and debits (payment, fees, refunds…), oldest first.

        One GET for any payment with up to PAGE_SIZE rows; more pages only when JustiFi says so.
        """
        items: list[dict[str, Any]] = []
        cursor: str | None = None
        for _ in range(FIND_PAGES):
            params: dict[str, str | int] = {"limit": PAGE_SIZE}
            if cursor:
                params["after_cursor"] = cursor
            payload = await self._api.call(
                "GET", _path(payment_id, "payment_balance_transactions"), params=params
            )
            page, cursor = list_items(payload, "balance transaction")
            items.extend(page)
            if cursor is None:
                return balance_mapping.parse_balance_transactions(
                    items, payment_id=payment_id, currency=self._currency
                )
        raise _unconfirmed(f"JustiFi lists too many balance transactions for {payment_id}")

    async def find(self, reference: str) -> ProviderPayment | None:
        """The newest payment carrying our reference (a retried sale may have declines too)."""
        cursor: str | None = None
        for _ in range(FIND_PAGES):
            params: dict[str, str | int] = {"limit": PAGE_SIZE}
            if cursor:
                params["after_cursor"] = cursor
            payload = await self._api.call("GET", "/v1/payments", params=params, sub_account=True)
            items, cursor = list_items(payload, "payment")
            for item in items:
                metadata = item.get("metadata")
                if (
                    isinstance(metadata, dict)
                    and metadata.get(mapping.REFERENCE_METADATA_KEY) == reference
                ):
                    return payment_mapping.parse_payment(item)
            if cursor is None:
                return None
        return None

    # -- actions -------------------------------------------------------------------------

    async def capture(self, request: CaptureRequest) -> ActionResult:
        before = await self.get(request.payment_ref)
        if before.state is not PaymentState.AUTHORIZED:
            raise _refused(
                f"Only an authorized payment can be captured; this one is {before.state}"
            )
        if request.amount is not None and (
            request.amount.currency != before.amount.currency or request.amount > before.amount
        ):
            raise _refused(
                f"Cannot capture {request.amount.plain()} {request.amount.currency} of an "
                f"authorization for {before.amount.plain()} {before.amount.currency}"
            )
        if not payment_mapping.capture_amount_ok(request, before):
            raise NotSupportedError(
                "JustiFi captures the whole authorization; a partial capture is not possible",
                provider=mapping.PROVIDER,
            )
        payload = await self._api.call(
            "POST", _path(request.payment_ref, "capture"), idempotency_key=request.idempotency_key
        )
        captured = payment_mapping.parse_payment(
            mapping.unwrap(payload, "payment"), expected=before.amount
        )
        if captured.provider_ref != request.payment_ref:
            raise _unconfirmed("JustiFi captured another payment")
        after = await self.get(request.payment_ref)
        if after.captured != before.amount:
            raise _unconfirmed(
                f"JustiFi accepted the capture but {after.provider_ref} is {after.state}"
            )
        return ActionResult(request.payment_ref, after)

    async def refund(self, request: RefundRequest) -> ActionResult:
        before = await self.get(request.payment_ref)
        if before.state not in REFUNDABLE:
            raise _refused(f"Only a captured payment can be refunded; this one is {before.state}")
        refundable = before.captured - before.refunded
        if request.amount.currency != refundable.currency or not request.amount.is_positive:
            raise _refused(f"A refund must be a positive amount in {refundable.currency}")
        if request.amount > refundable:
            raise _refused(
                f"Only {refundable.plain()} {refundable.currency} of this payment can still be "
                f"refunded, not {request.amount.plain()}"
            )
        payload = await self._api.call(
            "POST",
            _path(request.payment_ref, "refunds"),
            json=payment_mapping.build_refund_body(request),
            idempotency_key=request.idempotency_key,
        )
        data = mapping.unwrap(payload, "refund")
        refund = payment_mapping.parse_refund(data, refundable.currency)
        if refund.amount != request.amount or data.get("payment_id") != request.payment_ref:
            raise _unconfirmed(
                f"JustiFi refund {refund.provider_ref} is not the "
                f"{request.amount.plain()} asked for"
            )
        after = await self.get(request.payment_ref)
        if not any(
            a.kind == "refund" and a.provider_ref == refund.provider_ref for a in after.actions
        ):
            raise _unconfirmed(
                f"JustiFi accepted refund {refund.provider_ref} but its payment lacks it"
            )
        return ActionResult(refund.provider_ref, after)

    async def void(self, request: VoidRequest) -> ActionResult:
        before = await self.get(request.payment_ref)
        # Our rule (DESIGN §2): void only before capture. JustiFi would also cancel a captured
        # payment within 25 minutes, but that is a refund in our books. The window itself is
        # JustiFi's to judge (payment_outside_void_window).
        if before.state is not PaymentState.AUTHORIZED:
            raise _refused(
                f"Only an uncaptured authorization can be voided; this one is {before.state}"
            )
        payload = await self._api.call(
            "POST", _path(request.payment_ref, "void"), idempotency_key=request.idempotency_key
        )
        voided = payment_mapping.parse_payment(mapping.unwrap(payload, "payment"))
        if voided.provider_ref != request.payment_ref:
            raise _unconfirmed("JustiFi voided another payment")
        after = await self.get(request.payment_ref)
        if after.state is not PaymentState.VOIDED:
            raise _unconfirmed(
                f"JustiFi accepted the void but {after.provider_ref} is {after.state}"
            )
        return ActionResult(request.payment_ref, after)


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
