"""JustiFi's legacy hosted flow (payment intent + checkout session) as CheckoutSessions. Pure.

The intent is what the API can look up, so its ``pi_`` id is the checkout's provider_ref. A
session page lives 24 hours; JustiFi cannot list or fetch sessions, so lookups have no URL.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from pos_app.domain.payment import PaymentState
from pos_app.providers.errors import ResponseInvalidError
from pos_app.providers.justifi.mapping import (
    PROVIDER,
    REFERENCE_METADATA_KEY,
    money_field,
    text_field,
    time_field,
)
from pos_app.providers.justifi.mapping.payments import parse_payment
from pos_app.providers.types import CheckoutRequest, CheckoutSession

if TYPE_CHECKING:
    from pos_app.domain.money import Money

SESSION_LIFETIME = timedelta(hours=24)

# PaymentIntent.status -> our state. An intent waiting for a payment method after a failed
# attempt is reported as DECLINED by parse_intent (like a checkout's "attempted").
INTENT_STATUS: dict[str, PaymentState] = {
    "requires_payment_method": PaymentState.PENDING,
    "requires_capture": PaymentState.PENDING,
    "pending": PaymentState.PENDING,
    "succeeded": PaymentState.CAPTURED,
    "canceled": PaymentState.VOIDED,
}


def build_intent_body(request: CheckoutRequest) -> dict[str, Any]:
    return {
        "amount": request.amount.minor,
        "currency": request.amount.currency.lower(),
        "description": request.description,
        "metadata": {REFERENCE_METADATA_KEY: request.reference},
    }


def build_session_body(intent_id: str, after_payment_url: str) -> dict[str, Any]:
    return {"payment_intent_id": intent_id, "after_payment_url": after_payment_url}


def session_id_of(data: dict[str, Any]) -> str:
    return text_field(data, "checkout_session_id")


def parse_intent(
    data: dict[str, Any],
    hosted_url: str | None,
    *,
    now: datetime,
    expected: Money | None = None,
    payments: list[dict[str, Any]] | None = None,
) -> CheckoutSession:
    """``payments`` (newest first) are the intent's attempts, when they were looked up."""
    intent_id = text_field(data, "id")
    status = text_field(data, "status")
    if status not in INTENT_STATUS:
        raise ResponseInvalidError(f"Unknown JustiFi intent status {status!r}", provider=PROVIDER)
    amount = money_field(data, "amount", text_field(data, "currency").upper())
    if expected is not None and amount != expected:
        raise ResponseInvalidError(
            f"JustiFi payment intent {intent_id} is for {amount.plain()} {amount.currency}, "
            f"not the {expected.plain()} {expected.currency} asked for",
            provider=PROVIDER,
        )
    expires_at = time_field(data) + SESSION_LIFETIME
    state = INTENT_STATUS[status]
    attempts = [parse_payment(p) for p in payments or []]
    latest = attempts[0] if attempts else None
    decline = None
    if status == "requires_payment_method" and latest and latest.decline is not None:
        state, decline = PaymentState.DECLINED, latest.decline
    elif state is PaymentState.PENDING and now >= expires_at:
        # The session page is gone; nobody can pay this intent through it any more.
        state = PaymentState.EXPIRED
    metadata = data.get("metadata")
    reference = metadata.get(REFERENCE_METADATA_KEY) if isinstance(metadata, dict) else None
    paid = data.get("successful_payment_id")
    return CheckoutSession(
        provider_ref=intent_id,
        state=state,
        provider_status=status,
        amount=amount,
        reference=str(reference) if reference else None,
        hosted_url=hosted_url,
        expires_at=expires_at,
        payment_ref=paid if isinstance(paid, str) and paid else None,
        decline=decline,
        card=latest.card if latest else None,
        attempts=len(attempts),
    )
