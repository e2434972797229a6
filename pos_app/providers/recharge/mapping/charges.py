"""ReCharge charges and payments: pure build/parse for ``POST /checkouts/{token}/charge``.

**The payment ref is the checkout token.** ReCharge's Checkouts API can look a checkout up by
its token and nothing else (no charge lookup is served), and a checkout is charged at most
once, so the charged checkout *is* the payment: ``get_payment(token)`` reads it, and the
``charge_id`` appears as the payment's one action. ``CheckoutSession.payment_ref`` of a paid
checkout is that token too, so whatever the service records can be looked up again.

A checkout is open (PENDING) until ``completed_at`` and ``charge_id`` are set (CAPTURED);
ReCharge charges at once, so there is no authorization, capture, refund or void here.
A declined charge is HTTP 402 ``{"errors": "<message>"}`` and leaves the checkout open: the
decline belongs to that charge attempt only (DECLINED), not to the checkout.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from pos_app.domain.money import Money
from pos_app.domain.payment import PaymentState
from pos_app.providers.errors import ResponseInvalidError
from pos_app.providers.recharge import mapping
from pos_app.providers.types import (
    ChargeRequest,
    Decline,
    DeclineCode,
    PaymentAction,
    ProviderPayment,
)

PROVIDER: Final = mapping.PROVIDER
PROCESSORS: Final = ("stripe", "braintree", "authorize", "mollie")
PAYMENT_TYPES: Final = ("CREDIT_CARD", "PAYPAL", "APPLE_PAY", "GOOGLE_PAY", "SEPA_DEBIT")

# checkout_charge.status -> our state. Only "success" is seen with HTTP 200 (a decline is a
# 402); ReCharge publishes no list, so any other status is refused rather than guessed.
CHARGE_STATUS: Final[dict[str, PaymentState]] = {"success": PaymentState.CAPTURED}

# The processors' standard decline messages (ReCharge passes the processor's text through
# and sends no code with it) -> our vocabulary; anything else is a plain DECLINED.
DECLINE_MESSAGES: Final[dict[str, DeclineCode]] = {
    "your card was declined.": DeclineCode.DECLINED,
    "your card has insufficient funds.": DeclineCode.INSUFFICIENT_FUNDS,
    "your card has expired.": DeclineCode.EXPIRED_CARD,
    "your card's security code is invalid.": DeclineCode.INCORRECT_CVC,
    "your card's security code is incorrect.": DeclineCode.INCORRECT_CVC,
    "your card has been reported lost.": DeclineCode.LOST_OR_STOLEN,
    "your card has been reported stolen.": DeclineCode.LOST_OR_STOLEN,
    "your card number is incorrect.": DeclineCode.INVALID_CARD,
    "an error occurred while processing your card.": DeclineCode.PROCESSING_ERROR,
}


def build_charge_body(token: str, *, processor: str, payment_type: str) -> dict[str, Any]:
    """The documented (unwrapped) body: processor, its token, and the payment type."""
    return {"payment_processor": processor, "payment_token": token, "payment_type": payment_type}


def parse_charge(payload: Any) -> str:
    """The ``charge_id`` of a successful ``{"checkout_charge": {...}}`` answer."""
    if not isinstance(payload, dict) or not isinstance(payload.get("checkout_charge"), dict):
        raise ResponseInvalidError("ReCharge answered without a checkout_charge", **_kw())
    charge: dict[str, Any] = payload["checkout_charge"]
    status = charge.get("status")
    if not isinstance(status, str) or status not in CHARGE_STATUS:
        raise ResponseInvalidError(f"Unknown ReCharge charge status {status!r}", **_kw())
    return _charge_id(charge.get("charge_id"))


def decline_from(payload: Any) -> Decline:
    """A 402 answer to the charge as a Decline (data, not an error)."""
    message, code = mapping.error_message(payload)
    text = message or "The card was declined"
    normalized = DECLINE_MESSAGES.get(text.strip().lower(), DeclineCode.DECLINED)
    return Decline(code=normalized, provider_code=code or "402", provider_message=text)


def declined_payment(request: ChargeRequest, token: str, decline: Decline) -> ProviderPayment:
    """The declined attempt: no money moved; the checkout stays open for another card."""
    zero = Money(0, request.amount.currency)
    return ProviderPayment(
        provider_ref=token,
        state=PaymentState.DECLINED,
        provider_status="declined",
        amount=request.amount,
        captured=zero,
        refunded=zero,
        reference=request.reference,
        decline=decline,
    )


def payment_from_checkout(
    data: dict[str, Any], *, version: str, currency: str, expected: Money | None = None
) -> ProviderPayment:
    """A checkout (already unwrapped) as the payment it is, after every check of
    ``mapping.parse_checkout`` (totals, currency, state, and ``expected`` when given)."""
    session = mapping.parse_checkout(
        data, version=version, currency=currency, hosted_url=None, expected=expected
    )
    zero = Money(0, currency)
    actions: tuple[PaymentAction, ...] = ()
    if session.state is PaymentState.CAPTURED:
        actions = (
            PaymentAction(
                kind="charge",
                provider_ref=_charge_id(data.get("charge_id")),
                amount=session.amount,
                approved=True,
                at=parse_time(data.get("completed_at"), "completed_at"),
            ),
        )
    return ProviderPayment(
        provider_ref=session.provider_ref,
        state=session.state,
        provider_status=session.provider_status,
        amount=session.amount,
        captured=session.amount if session.state is PaymentState.CAPTURED else zero,
        refunded=zero,
        reference=session.reference,
        created_at=parse_time(data.get("created_at"), "created_at"),
        actions=actions,
    )


def charge_id_of(payment: ProviderPayment) -> str | None:
    """The ReCharge charge behind a payment read by ``payment_from_checkout``."""
    return next((a.provider_ref for a in payment.actions if a.kind == "charge"), None)


def parse_time(value: Any, field: str) -> datetime | None:
    """2021-01 writes naive UTC times, 2021-11 adds ``+00:00``; absent is None."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ResponseInvalidError(f"ReCharge {field} is not a time: {value!r}", **_kw())
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ResponseInvalidError(f"ReCharge {field} is not a time: {value!r}", **_kw()) from exc
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _charge_id(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | str) or value == "":
        raise ResponseInvalidError(f"ReCharge charge_id is not an id: {value!r}", **_kw())
    return str(value)


def _kw() -> dict[str, Any]:
    return {"provider": PROVIDER}
