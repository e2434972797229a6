"""JustiFi payloads to and from our types. Pure: no I/O, testable on recorded payloads.

Every JustiFi status maps to exactly one PaymentState through the tables below;
an unknown status is a ResponseInvalidError, never a guess.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pos_app.domain.money import Money, MoneyError
from pos_app.domain.payment import PaymentState
from pos_app.providers.errors import (
    ProviderError,
    ResponseInvalidError,
    error_for_status,
)
from pos_app.providers.types import (
    CardSummary,
    CheckoutRequest,
    CheckoutSession,
    Decline,
    DeclineCode,
)

PROVIDER = "justifi"
REFERENCE_METADATA_KEY = "pos_reference"
CHECKOUT_LIFETIME = timedelta(days=7)

# Checkout.status -> our state. "attempted" means the latest payment attempt failed;
# the checkout itself could still be paid, which the service handles.
CHECKOUT_STATUS: dict[str, PaymentState] = {
    "created": PaymentState.PENDING,
    "attempted": PaymentState.DECLINED,
    "completed": PaymentState.CAPTURED,
    "expired": PaymentState.EXPIRED,
}

# CheckoutCompletion.payment_status -> our state.
COMPLETION_PAYMENT_STATUS: dict[str, PaymentState] = {
    "succeeded": PaymentState.CAPTURED,
    "failed": PaymentState.DECLINED,
    "pending": PaymentState.PENDING,
    "canceled": PaymentState.VOIDED,
    "skipped": PaymentState.PENDING,
}

# Payment.status -> our state (used by lookups of py_ payments).
PAYMENT_STATUS: dict[str, PaymentState] = {
    "pending": PaymentState.PENDING,
    "authorized": PaymentState.AUTHORIZED,
    "succeeded": PaymentState.CAPTURED,
    "failed": PaymentState.DECLINED,
    "canceled": PaymentState.VOIDED,
    "partially_refunded": PaymentState.PARTIALLY_REFUNDED,
    "fully_refunded": PaymentState.REFUNDED,
    # A dispute does not move money back by itself; the payment stays captured.
    "disputed": PaymentState.CAPTURED,
}

# JustiFi decline codes (error.code / decline_code) -> our vocabulary.
DECLINE_CODES: dict[str, DeclineCode] = {
    "card_declined": DeclineCode.DECLINED,
    "do_not_honor": DeclineCode.DECLINED,
    "generic_decline": DeclineCode.DECLINED,
    "restricted_card": DeclineCode.DECLINED,
    "card_blocked": DeclineCode.DECLINED,
    "insufficient_funds": DeclineCode.INSUFFICIENT_FUNDS,
    "expired_card": DeclineCode.EXPIRED_CARD,
    "invalid_cvc": DeclineCode.INCORRECT_CVC,
    "incorrect_cvc": DeclineCode.INCORRECT_CVC,
    "cvc_check_failed": DeclineCode.INCORRECT_CVC,
    "lost_card": DeclineCode.LOST_OR_STOLEN,
    "stolen_card": DeclineCode.LOST_OR_STOLEN,
    "card_number_invalid": DeclineCode.INVALID_CARD,
    "invalid_card_number": DeclineCode.INVALID_CARD,
    "incorrect_number": DeclineCode.INVALID_CARD,
    "incorrect_pin": DeclineCode.DECLINED,
    "exceeds_card_limit": DeclineCode.LIMIT_EXCEEDED,
    "gateway_error": DeclineCode.PROCESSING_ERROR,
    "processing_error": DeclineCode.PROCESSING_ERROR,
    "gateway_timeout": DeclineCode.TRY_AGAIN,
    "fraudulent": DeclineCode.FRAUD_SUSPECTED,
}


def build_checkout_body(request: CheckoutRequest) -> dict[str, Any]:
    body: dict[str, Any] = {
        "amount": request.amount.minor,
        "description": request.description,
        "metadata": {REFERENCE_METADATA_KEY: request.reference},
        # The payment the checkout creates carries our reference too, so find_payment works.
        "payment": {"metadata": {REFERENCE_METADATA_KEY: request.reference}},
    }
    if request.origin_url:
        body["origin_url"] = request.origin_url
    return body


def unwrap(payload: Any, expected_type: str) -> dict[str, Any]:
    """The `data` of a JustiFi envelope, after checking it is the envelope we expect."""
    if not isinstance(payload, dict) or not isinstance(payload.get("data"), dict):
        raise ResponseInvalidError("JustiFi answered without an envelope", provider=PROVIDER)
    if payload.get("type") != expected_type:
        raise ResponseInvalidError(
            f"JustiFi answered a {payload.get('type')!r} where a {expected_type!r} was expected",
            provider=PROVIDER,
        )
    data: dict[str, Any] = payload["data"]
    return data


def parse_checkout(
    data: dict[str, Any], hosted_url: str | None, *, expected: Money | None = None
) -> CheckoutSession:
    checkout_id = text_field(data, "id")
    status = text_field(data, "status")
    if status not in CHECKOUT_STATUS:
        raise ResponseInvalidError(f"Unknown JustiFi checkout status {status!r}", provider=PROVIDER)
    amount = money_field(data, "payment_amount", data.get("payment_currency") or "USD")
    if expected is not None and amount != expected:
        raise ResponseInvalidError(
            f"JustiFi checkout {checkout_id} is for {amount.plain()} {amount.currency}, "
            f"not the {expected.plain()} {expected.currency} asked for",
            provider=PROVIDER,
        )
    completions = data.get("completions") or []
    if not isinstance(completions, list):
        raise ResponseInvalidError("JustiFi completions is not a list", provider=PROVIDER)
    latest = _latest_completion(completions)
    state = CHECKOUT_STATUS[status]
    decline = None
    card = None
    if latest is not None:
        payment_status = _completion_payment_status(latest)
        if status == "attempted" and payment_status is not None:
            state = COMPLETION_PAYMENT_STATUS[payment_status]
        if status == "attempted" and payment_status in (None, "failed"):
            decline = decline_from(
                _decline_code_of(latest), str(latest.get("payment_error_description") or "")
            )
        card = _card_of(latest)
    metadata = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
    reference = metadata.get(REFERENCE_METADATA_KEY) if metadata else None
    return CheckoutSession(
        provider_ref=checkout_id,
        state=state,
        provider_status=status,
        amount=amount,
        reference=str(reference) if reference else None,
        hosted_url=hosted_url,
        expires_at=time_field(data) + CHECKOUT_LIFETIME,
        payment_ref=data.get("successful_payment_id") or None,
        decline=decline if state is PaymentState.DECLINED else None,
        card=card,
        attempts=len(completions),
        # An attempted checkout takes another card until it expires (JustiFi's page shows
        # the decline and the card form again).
        still_payable=status in ("created", "attempted"),
    )


def decline_from(provider_code: str, message: str) -> Decline:
    return Decline(DECLINE_CODES.get(provider_code, DeclineCode.OTHER), provider_code, message)


def error_from_response(status: int, payload: Any, *, mutating: bool) -> ProviderError:
    """Map a non-2xx JustiFi answer onto the error tree."""
    error = payload.get("error") if isinstance(payload, dict) else None
    code = str(error.get("code")) if isinstance(error, dict) and error.get("code") else None
    message = (
        str(error.get("message"))
        if isinstance(error, dict) and error.get("message")
        else f"JustiFi answered HTTP {status}"
    )
    # 403 (an AuthenticationError): the credentials work but may not act for this sub-account.
    return error_for_status(
        status,
        message,
        provider=PROVIDER,
        mutating=mutating,
        provider_code=code,
        idempotency_conflict=status == 409 or (code or "").startswith("idempotency_"),
    )


# CheckoutCompletion.status (succeeded/failed/processing) as a fallback when
# payment_status is absent, as in some of JustiFi's own list payloads.
_COMPLETION_STATUS_FALLBACK = {
    "succeeded": "succeeded",
    "failed": "failed",
    "processing": "pending",
}


def _completion_payment_status(completion: dict[str, Any]) -> str | None:
    """The attempt's payment status; None when JustiFi did not say."""
    value = completion.get("payment_status")
    if value is None:
        fallback = completion.get("status")
        if fallback is None:
            return None
        if fallback not in _COMPLETION_STATUS_FALLBACK:
            raise ResponseInvalidError(
                f"Unknown JustiFi completion status {fallback!r}", provider=PROVIDER
            )
        return _COMPLETION_STATUS_FALLBACK[fallback]
    if value not in COMPLETION_PAYMENT_STATUS:
        raise ResponseInvalidError(f"Unknown JustiFi payment status {value!r}", provider=PROVIDER)
    return str(value)


def _decline_code_of(completion: dict[str, Any]) -> str:
    """The most specific reason given: error.decline_code (e.g. lost_card) over the
    general payment_error_code (card_declined)."""
    response = completion.get("payment_response")
    error = response.get("error") if isinstance(response, dict) else None
    if (
        isinstance(error, dict)
        and isinstance(error.get("decline_code"), str)
        and error["decline_code"]
    ):
        return str(error["decline_code"])
    return str(completion.get("payment_error_code") or "card_declined")


def _latest_completion(completions: list[Any]) -> dict[str, Any] | None:
    dicts = [c for c in completions if isinstance(c, dict)]
    if not dicts:
        return None
    return max(dicts, key=lambda c: str(c.get("created_at") or ""))


def _card_of(completion: dict[str, Any]) -> CardSummary | None:
    response = completion.get("payment_response")
    payment = response.get("data") if isinstance(response, dict) else None
    method = payment.get("payment_method") if isinstance(payment, dict) else None
    card = method.get("card") if isinstance(method, dict) else None
    if isinstance(card, dict) and card.get("acct_last_four"):
        return CardSummary(str(card.get("brand") or "card"), str(card["acct_last_four"]))
    return None


def text_field(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise ResponseInvalidError(
            f"JustiFi field {key!r} is missing or not text", provider=PROVIDER
        )
    return value


def money_field(data: dict[str, Any], key: str, currency: Any) -> Money:
    value = data.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ResponseInvalidError(
            f"JustiFi field {key!r} is not an integer amount: {value!r}", provider=PROVIDER
        )
    try:
        return Money(value, str(currency).upper())
    except MoneyError as exc:
        raise ResponseInvalidError(f"JustiFi amount is unusable: {exc}", provider=PROVIDER) from exc


def time_field(data: dict[str, Any], key: str = "created_at") -> datetime:
    raw = text_field(data, key)
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ResponseInvalidError(
            f"JustiFi {key} {raw!r} is not a time", provider=PROVIDER
        ) from exc


def decline_from_error(payload: Any, fallback_message: str = "") -> Decline:
    """A 402 body ``{"error": {code, decline_code, message}}`` as a Decline.

    ``decline_code`` (insufficient_funds, lost_card) is more specific than ``code``
    (card_declined), so it wins when JustiFi gives one.
    """
    error = payload.get("error") if isinstance(payload, dict) else None
    if not isinstance(error, dict):
        return decline_from("card_declined", fallback_message)
    specific = error.get("decline_code")
    code = specific if isinstance(specific, str) and specific else error.get("code")
    message = error.get("message")
    return decline_from(
        str(code) if isinstance(code, str) and code else "card_declined",
        str(message) if isinstance(message, str) else fallback_message,
    )
