"""Checkout.com payloads to and from our types. Pure: no I/O, testable on recorded payloads.

Every Hosted Payments Page status and every payment status maps to exactly one PaymentState
through the tables below; an unknown status is a ResponseInvalidError, never a guess.

Failure and cancel URLs: the Hosted Payments Page needs three return URLs. We give the
request's ``success_url`` for success and the same URL with ``outcome=failure`` /
``outcome=cancel`` added to its query for the other two, so the app intercepts one URL and
tells the cases apart by that parameter. Whatever the URL says, only a lookup decides.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pos_app.domain.money import Money, MoneyError
from pos_app.domain.payment import PaymentState
from pos_app.providers.errors import (
    InvalidRequestError,
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

PROVIDER = "checkout_com"
OUTCOME_PARAMETER = "outcome"
DESCRIPTION_MAX = 100  # HostedPaymentsRequest.description maxLength

# GET /hosted-payments/{id} status -> our state (spec GetHostedPaymentsResponse.status).
# "Payment Received" is refined by the payment itself (captured, or only authorized).
HPP_STATUS: dict[str, PaymentState] = {
    "Payment Pending": PaymentState.PENDING,
    "Payment Received": PaymentState.CAPTURED,
    "Expired": PaymentState.EXPIRED,
}

# GET /payment-links/{id} status -> our state (spec GetPaymentLinkResponse.status). "Active"
# may follow declined attempts; like a pending page, it is refined by the attempts.
LINK_STATUS: dict[str, PaymentState] = {
    "Active": PaymentState.PENDING,
    "Payment Received": PaymentState.CAPTURED,
    "Expired": PaymentState.EXPIRED,
}
# The status of a page or link the customer can still pay.
OPEN_STATUSES = frozenset({"Payment Pending", "Active"})

# PaymentDetails.status -> our state (spec nas-2023-10-16 PaymentDetails.status, all 12).
PAYMENT_STATUS: dict[str, PaymentState] = {
    "Pending": PaymentState.PENDING,  # e.g. waiting for 3-D Secure
    "Authorized": PaymentState.AUTHORIZED,
    # A zero-amount verification moves no money: for a sale nothing was charged.
    "Card Verified": PaymentState.FAILED,
    "Voided": PaymentState.VOIDED,
    "Partially Captured": PaymentState.PARTIALLY_CAPTURED,
    "Captured": PaymentState.CAPTURED,
    "Partially Refunded": PaymentState.PARTIALLY_REFUNDED,
    "Refunded": PaymentState.REFUNDED,
    "Declined": PaymentState.DECLINED,
    # A scheduled payment (or retry) cancelled before it was sent: no money moved.
    "Canceled": PaymentState.VOIDED,
    "Expired": PaymentState.EXPIRED,
    "Paid": PaymentState.CAPTURED,  # alternative payment methods that settle at once
}

APPROVED_CODE = "10000"

# Checkout.com response_code -> our vocabulary (docs: resources/codes/response-codes and the
# test-card table in PROVIDERS.md §2.8). Codes not listed map to OTHER.
RESPONSE_CODES: dict[str, DeclineCode] = {
    # 20xxx soft declines
    "20001": DeclineCode.DECLINED,  # refer to card issuer
    "20002": DeclineCode.DECLINED,  # refer to card issuer - special conditions
    "20003": DeclineCode.PROCESSING_ERROR,  # invalid merchant
    "20005": DeclineCode.DECLINED,  # do not honour
    "20006": DeclineCode.PROCESSING_ERROR,  # error / invalid request parameters
    "20012": DeclineCode.DECLINED,  # invalid transaction
    "20013": DeclineCode.DECLINED,  # invalid value/amount
    "20014": DeclineCode.INVALID_CARD,  # invalid account number (no such number)
    "20019": DeclineCode.TRY_AGAIN,  # re-enter transaction
    "20046": DeclineCode.DECLINED,  # closed account
    "20051": DeclineCode.INSUFFICIENT_FUNDS,
    "20054": DeclineCode.EXPIRED_CARD,
    "20055": DeclineCode.INCORRECT_CVC,  # incorrect PIN
    "20057": DeclineCode.DECLINED,  # transaction not permitted to cardholder
    "20058": DeclineCode.DECLINED,  # transaction not permitted to terminal
    "20059": DeclineCode.FRAUD_SUSPECTED,
    "20061": DeclineCode.LIMIT_EXCEEDED,  # activity amount limit exceeded
    "20062": DeclineCode.DECLINED,  # restricted card
    "20063": DeclineCode.FRAUD_SUSPECTED,  # security violation
    "20065": DeclineCode.LIMIT_EXCEEDED,  # activity count limit exceeded
    "20068": DeclineCode.TRY_AGAIN,  # response received too late / timeout
    "20075": DeclineCode.DECLINED,  # PIN tries exceeded
    "20078": DeclineCode.DECLINED,  # blocked, first used
    "20082": DeclineCode.INCORRECT_CVC,  # CVV/CVC validation failed
    "20087": DeclineCode.INVALID_CARD,  # bad track data
    "20091": DeclineCode.TRY_AGAIN,  # issuer unavailable
    "20096": DeclineCode.PROCESSING_ERROR,  # system malfunction
    "20150": DeclineCode.DECLINED,  # card not 3-D Secure enabled
    "20151": DeclineCode.DECLINED,  # cardholder failed 3-D Secure authentication
    "20154": DeclineCode.DECLINED,  # 3-D Secure authentication required
    "200N7": DeclineCode.INCORRECT_CVC,  # decline for CVV2 failure
    "200R1": DeclineCode.DECLINED,  # issuer stop payment (revocation of authorization)
    "200R3": DeclineCode.DECLINED,  # issuer stop payment (revocation of all authorizations)
    # 30xxx hard declines
    "30004": DeclineCode.LOST_OR_STOLEN,  # pick up card
    "30007": DeclineCode.LOST_OR_STOLEN,  # pick up card - special conditions
    "30015": DeclineCode.INVALID_CARD,  # no such issuer
    "30041": DeclineCode.LOST_OR_STOLEN,  # lost card - pick up
    "30043": DeclineCode.LOST_OR_STOLEN,  # stolen card - pick up
    "30044": DeclineCode.DECLINED,  # closed account
    # 40xxx risk
    "40101": DeclineCode.FRAUD_SUSPECTED,  # risk blocked transaction
    "40201": DeclineCode.FRAUD_SUSPECTED,  # gateway reject - card number blacklisted
    # 50xxx gateway
    "50000": DeclineCode.PROCESSING_ERROR,
}


# -- requests ------------------------------------------------------------------------------


def outcome_url(success_url: str, outcome: str) -> str:
    """``success_url`` with ``outcome=<outcome>`` added to its query (any old one replaced)."""
    parts = urlsplit(success_url)
    query = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != OUTCOME_PARAMETER
    ]
    query.append((OUTCOME_PARAMETER, outcome))
    return urlunsplit(parts._replace(query=urlencode(query)))


def build_hosted_body(
    request: CheckoutRequest, *, processing_channel_id: str, billing_country: str
) -> dict[str, Any]:
    """A ``POST /hosted-payments`` body: integer minor units, our reference, capture at once."""
    if not request.success_url:
        raise InvalidRequestError(
            "A Checkout.com hosted page needs a success URL to return to", provider=PROVIDER
        )
    return {
        "amount": request.amount.minor,
        "currency": request.amount.currency,
        "reference": request.reference,
        "description": request.description[:DESCRIPTION_MAX],
        "billing": {"address": {"country": billing_country}},
        "success_url": request.success_url,
        "failure_url": outcome_url(request.success_url, "failure"),
        "cancel_url": outcome_url(request.success_url, "cancel"),
        "processing_channel_id": processing_channel_id,
        "capture": True,
    }


# -- responses -----------------------------------------------------------------------------


def build_link_body(
    request: CheckoutRequest, *, processing_channel_id: str, billing_country: str
) -> dict[str, Any]:
    """A ``POST /payment-links`` body. The customer pays on their own phone, so no return URL
    to the till is sent; the link lapses after Checkout.com's default ``expires_in``."""
    return {
        "amount": request.amount.minor,
        "currency": request.amount.currency,
        "reference": request.reference,
        "description": request.description[:DESCRIPTION_MAX],
        "billing": {"address": {"country": billing_country}},
        "processing_channel_id": processing_channel_id,
        "capture": True,
    }


def parse_hosted_created(payload: Any, prefix: str = "hpp_") -> tuple[str, str]:
    """The 201 of ``POST /hosted-payments`` (``hpp_``) or ``POST /payment-links`` (``pl_``):
    the page or link id and the customer's redirect URL."""
    data = json_object(payload, "hosted payment")
    hpp_id = required_string(data, "id")
    if not hpp_id.startswith(prefix):
        raise ResponseInvalidError(
            f"Checkout.com page id {hpp_id!r} is not {prefix}…", provider=PROVIDER
        )
    return hpp_id, redirect_href(data)


def parse_hosted(
    payload: Any,
    *,
    expected: Money | None = None,
    payment: dict[str, Any] | None = None,
    attempts: list[dict[str, Any]] | None = None,
    decline: Decline | None = None,
) -> CheckoutSession:
    """A ``GET /hosted-payments/{id}`` or ``GET /payment-links/{id}`` answer, refined by the
    payment made on it (if any).

    ``payment`` is the PaymentDetails of ``payment_id``. ``attempts`` are the payments made
    for our reference (a declined attempt leaves the page "Payment Pending", or the link
    "Active", and names no payment); ``decline`` is the decline of the newest attempt when
    it was declined.
    """
    data = json_object(payload, "hosted payment")
    hpp_id = required_string(data, "id")
    status = required_string(data, "status")
    table = LINK_STATUS if hpp_id.startswith("pl_") else HPP_STATUS
    if status not in table:
        raise ResponseInvalidError(
            f"Unknown Checkout.com page status {status!r}", provider=PROVIDER
        )
    amount = money_field(data, "amount", data.get("currency"))
    check_amount(hpp_id, amount, expected)
    reference = optional_string(data, "reference")
    state = table[status]
    payment_id = data.get("payment_id")
    if payment_id is not None and not isinstance(payment_id, str):
        raise ResponseInvalidError("Checkout.com payment_id is not text", provider=PROVIDER)
    if status == "Payment Received" and not payment_id:
        raise ResponseInvalidError(
            f"Checkout.com page {hpp_id} is paid but names no payment", provider=PROVIDER
        )
    card: CardSummary | None = None
    final_decline: Decline | None = None
    review: str | None = None
    tries = list(attempts or [])
    if payment is not None:
        if payment.get("id") != payment_id:
            raise ResponseInvalidError("Checkout.com returned another payment", provider=PROVIDER)
        payment_state = payment_status(payment)
        # What was paid decides, not what the page asked: reported as it is, for
        # PaymentService to hold against the sale (outcomes.disagreement).
        amount = money_field(payment, "amount", payment.get("currency"))
        reference = optional_string(payment, "reference")
        state = payment_state
        card = card_of(payment)
        review = risk_review(payment)
    elif status in OPEN_STATUSES and tries:
        latest = tries[0]
        latest_state = payment_status(latest)
        if latest_state is PaymentState.DECLINED:
            state = PaymentState.DECLINED
            final_decline = decline or Decline(DeclineCode.OTHER, "", "")
        elif latest_state in (PaymentState.PENDING, PaymentState.REQUIRES_ACTION):
            state = PaymentState.REQUIRES_ACTION
        card = card_of(latest)
    return CheckoutSession(
        provider_ref=hpp_id,
        state=state,
        provider_status=status,
        amount=amount,
        reference=reference,
        hosted_url=redirect_href(data),
        expires_at=optional_time(data, "expires_on"),
        payment_ref=payment_id or None,
        decline=final_decline,
        card=card,
        attempts=max(len(tries), 1 if payment_id else 0),
        review=review,
        still_payable=status in OPEN_STATUSES,  # a declined attempt leaves the page open
    )


# "Flagged payments": "When a payment is flagged, you must either capture or void it
# manually. If you take no action, the payment expires automatically after seven days."
RISK_FLAGGED = (
    "Checkout.com flagged this payment for review (risk.flagged): it is authorized, not "
    "captured. Capture it to keep the sale or void it to give the money back; if no one acts, "
    "it expires after seven days and the funds return to the customer."
)


def risk_review(payment: dict[str, Any]) -> str | None:
    """Checkout.com's own sentence when its risk rules flagged ``payment``, else None."""
    risk = payment.get("risk")
    return RISK_FLAGGED if isinstance(risk, dict) and risk.get("flagged") is True else None


def parse_payment_session(
    payment: dict[str, Any], *, decline: Decline | None = None, attempts: int = 1
) -> CheckoutSession:
    """A payment found by our reference, as a session whose provider_ref is the ``pay_`` id."""
    payment_id = required_string(payment, "id")
    state = payment_status(payment)
    status = required_string(payment, "status")
    return CheckoutSession(
        provider_ref=payment_id,
        state=state,
        provider_status=status,
        amount=money_field(payment, "amount", payment.get("currency")),
        reference=optional_string(payment, "reference"),
        hosted_url=None,
        expires_at=None,
        payment_ref=payment_id,
        decline=(decline or Decline(DeclineCode.OTHER, "", ""))
        if state is PaymentState.DECLINED
        else None,
        card=card_of(payment),
        attempts=attempts,
        review=risk_review(payment),
    )


def payment_status(payment: dict[str, Any]) -> PaymentState:
    status = required_string(payment, "status")
    if status not in PAYMENT_STATUS:
        raise ResponseInvalidError(
            f"Unknown Checkout.com payment status {status!r}", provider=PROVIDER
        )
    return PAYMENT_STATUS[status]


def parse_payment_list(payload: Any) -> list[dict[str, Any]]:
    """``GET /payments?reference=…``: ``{limit, skip, total_count, data: [PaymentDetails]}``."""
    data = json_object(payload, "payment list")
    items = data.get("data")
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise ResponseInvalidError("Checkout.com payment list has no data", provider=PROVIDER)
    return list(items)


def decline_from_actions(payload: Any) -> Decline | None:
    """The decline of a payment from ``GET /payments/{id}/actions`` (newest first): the
    response code of its Authorization (or Card Verification) when it was not approved."""
    if not isinstance(payload, list):
        raise ResponseInvalidError("Checkout.com actions are not a list", provider=PROVIDER)
    for action in payload:
        if not isinstance(action, dict):
            raise ResponseInvalidError("Checkout.com action is not an object", provider=PROVIDER)
        if action.get("type") in ("Authorization", "Card Verification"):
            if action.get("approved") is True:
                return None
            code = action.get("response_code")
            summary = action.get("response_summary")
            return decline_from(
                code if isinstance(code, str) else "", summary if isinstance(summary, str) else ""
            )
    return None


def decline_from(response_code: str, summary: str) -> Decline:
    return Decline(RESPONSE_CODES.get(response_code, DeclineCode.OTHER), response_code, summary)


def card_of(payment: dict[str, Any]) -> CardSummary | None:
    source = payment.get("source")
    if not isinstance(source, dict):
        return None
    last4 = source.get("last4") or source.get("last_4")
    if not isinstance(last4, str) or not last4:
        return None
    scheme = source.get("scheme")
    return CardSummary(scheme if isinstance(scheme, str) and scheme else "card", last4)


def error_from_response(
    status: int, payload: Any, *, mutating: bool, request_id: str | None = None
) -> ProviderError:
    """Map a non-2xx Checkout.com answer onto the error tree.

    Bodies are ``{request_id, error_type, error_codes}``; 401/403/404 come with no body.
    """
    body = payload if isinstance(payload, dict) else {}
    error_type = body.get("error_type") if isinstance(body.get("error_type"), str) else None
    raw_codes = body.get("error_codes")
    codes = [str(c) for c in raw_codes] if isinstance(raw_codes, list) else []
    request_id = str(body.get("request_id") or request_id or "") or None
    detail = f"{error_type}: {', '.join(codes)}" if codes else (error_type or "")
    message = f"Checkout.com answered HTTP {status}" + (f" ({detail})" if detail else "")
    if request_id:
        message += f" [request {request_id}]"
    if status == 401:
        message = "Checkout.com refused the secret key of this profile (HTTP 401)"
    return error_for_status(
        status,
        message,
        provider=PROVIDER,
        mutating=mutating,
        provider_code=",".join(codes) or error_type,
        # The same Cko-Idempotency-Key is still being processed.
        idempotency_conflict=status == 409 or (status == 429 and "duplicate_request" in codes),
        # A key without the permission for this call: the request, not the key, is wrong.
        special={403: InvalidRequestError},
    )


# -- helpers -------------------------------------------------------------------------------


def check_amount(what: str, amount: Money, expected: Money | None) -> None:
    if expected is not None and amount != expected:
        raise ResponseInvalidError(
            f"Checkout.com {what} is for {amount.plain()} {amount.currency}, "
            f"not the {expected.plain()} {expected.currency} asked for",
            provider=PROVIDER,
        )


def json_object(payload: Any, what: str) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise ResponseInvalidError(f"Checkout.com {what} is not a JSON object", provider=PROVIDER)
    return payload


def redirect_href(data: dict[str, Any]) -> str:
    links = data.get("_links")
    redirect = links.get("redirect") if isinstance(links, dict) else None
    href = redirect.get("href") if isinstance(redirect, dict) else None
    if not isinstance(href, str) or not href.startswith(("https://", "http://")):
        raise ResponseInvalidError("Checkout.com page has no redirect link", provider=PROVIDER)
    return href


def required_string(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise ResponseInvalidError(
            f"Checkout.com field {key!r} is missing or not text", provider=PROVIDER
        )
    return value


def optional_string(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ResponseInvalidError(f"Checkout.com field {key!r} is not text", provider=PROVIDER)
    return value or None


def money_field(data: dict[str, Any], key: str, currency: Any) -> Money:
    value = data.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ResponseInvalidError(
            f"Checkout.com field {key!r} is not an integer amount: {value!r}", provider=PROVIDER
        )
    if not isinstance(currency, str) or currency != currency.upper():
        raise ResponseInvalidError(
            f"Checkout.com currency {currency!r} is not an upper-case ISO code", provider=PROVIDER
        )
    try:
        return Money(value, currency)
    except MoneyError as exc:
        raise ResponseInvalidError(
            f"Checkout.com amount is unusable: {exc}", provider=PROVIDER
        ) from exc


def optional_time(data: dict[str, Any], key: str) -> datetime | None:
    raw = data.get(key)
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise ResponseInvalidError(f"Checkout.com {key} is not text", provider=PROVIDER)
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ResponseInvalidError(
            f"Checkout.com {key} {raw!r} is not a time", provider=PROVIDER
        ) from exc
    if parsed.tzinfo is None:
        raise ResponseInvalidError(f"Checkout.com {key} {raw!r} has no zone", provider=PROVIDER)
    return parsed
