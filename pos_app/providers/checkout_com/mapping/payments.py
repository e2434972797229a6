"""Checkout.com payments to and from our types: ``POST /payments``, PaymentDetails, actions.

Pure: no I/O. Amounts are integer minor units in and out; what Checkout.com echoes is checked
against what was asked, and running totals are checked against each other. A body we cannot
read exactly is a ResponseInvalidError, never a success.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pos_app.domain.money import Money
from pos_app.domain.payment import PaymentState
from pos_app.providers.checkout_com.mapping import (
    DESCRIPTION_MAX,
    PROVIDER,
    card_of,
    check_amount,
    decline_from,
    decline_from_actions,
    json_object,
    money_field,
    optional_string,
    optional_time,
    outcome_url,
    payment_status,
    required_string,
    risk_review,
)
from pos_app.providers.errors import InvalidRequestError, ResponseInvalidError
from pos_app.providers.types import (
    ChargeRequest,
    Decline,
    DeclineCode,
    PaymentAction,
    PaymentSource,
    ProviderPayment,
    RefundRequest,
    SourceKind,
)

REFERENCE_MAX = 50  # PaymentRequest / RefundRequest .reference maxLength
BALANCE_FIELDS = (
    "total_authorized",
    "total_voided",
    "available_to_void",
    "total_captured",
    "available_to_capture",
    "total_refunded",
    "available_to_refund",
)
# States in which money was taken: their totals cannot be guessed from the status alone.
_MONEY_TAKEN = frozenset(
    {
        PaymentState.CAPTURED,
        PaymentState.PARTIALLY_CAPTURED,
        PaymentState.PARTIALLY_REFUNDED,
        PaymentState.REFUNDED,
    }
)


@dataclass(frozen=True)
class Balances:
    """PaymentDetails.balances in minor units: what may still be captured, voided, refunded."""

    captured: int
    refunded: int
    available_to_capture: int
    available_to_void: int
    available_to_refund: int


# -- requests ------------------------------------------------------------------------------


def source_body(source: PaymentSource) -> dict[str, Any]:
    """A PaymentRequest ``source``: a Frames token, a stored source id or a saved customer."""
    if source.kind is SourceKind.TOKEN:
        return {"type": "token", "token": source.value}
    if source.kind is SourceKind.STORED_SOURCE:
        return {"type": "id", "id": source.value}
    return {"type": "customer", "id": source.value}


def build_payment_body(request: ChargeRequest, *, processing_channel_id: str) -> dict[str, Any]:
    """A ``POST /payments`` body. 3-D Secure is asked for only when the request says where the
    customer comes back to (``success_url``): without it a challenge could not return."""
    if len(request.reference) > REFERENCE_MAX:
        raise InvalidRequestError(
            f"A Checkout.com reference holds at most {REFERENCE_MAX} characters",
            provider=PROVIDER,
        )
    body: dict[str, Any] = {
        "source": source_body(request.source),
        "amount": request.amount.minor,
        "currency": request.amount.currency,
        "payment_type": "Regular",
        "capture": request.capture,
        "reference": request.reference,
        "description": request.description[:DESCRIPTION_MAX],
        "processing_channel_id": processing_channel_id,
    }
    if request.success_url:
        body["3ds"] = {"enabled": True}
        body["success_url"] = request.success_url
        body["failure_url"] = request.failure_url or outcome_url(request.success_url, "failure")
    return body


def capture_body(amount: int | None, *, final: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"capture_type": "Final" if final else "NonFinal"}
    if amount is not None:
        body["amount"] = amount
    return body


def refund_body(request: RefundRequest) -> dict[str, Any]:
    if len(request.reference) > REFERENCE_MAX:
        raise InvalidRequestError(
            f"A Checkout.com refund reference holds at most {REFERENCE_MAX} characters",
            provider=PROVIDER,
        )
    body: dict[str, Any] = {"amount": request.amount.minor, "reference": request.reference}
    if request.reason:
        body["metadata"] = {"reason": request.reason}
    return body


def void_body(reason: str) -> dict[str, Any]:
    return {"metadata": {"reason": reason}} if reason else {}


# -- checks before sending -------------------------------------------------------------------


def capture_amount(payment: ProviderPayment, balances: Balances, asked: Money | None) -> int:
    """What a capture takes, refused before sending when it is more than is still authorized."""
    _same_currency(payment, asked)
    room = balances.available_to_capture
    if room <= 0:
        raise InvalidRequestError(
            f"Payment {payment.provider_ref} has nothing left to capture "
            f"({payment.provider_status})",
            provider=PROVIDER,
        )
    if asked is None:
        return room
    if not 0 < asked.minor <= room:
        raise InvalidRequestError(
            f"Cannot capture {asked.plain()} {asked.currency}: "
            f"{Money(room, asked.currency).plain()} is still authorized",
            provider=PROVIDER,
        )
    return asked.minor


def check_refund(payment: ProviderPayment, balances: Balances, asked: Money) -> None:
    """Refuse, before sending, a refund of more than is still refundable."""
    _same_currency(payment, asked)
    room = balances.available_to_refund
    if not 0 < asked.minor <= room:
        raise InvalidRequestError(
            f"Cannot refund {asked.plain()} {asked.currency}: "
            f"{Money(room, asked.currency).plain()} is still refundable",
            provider=PROVIDER,
        )


def check_void(payment: ProviderPayment, balances: Balances) -> None:
    """Refuse, before sending, a void of a payment that is captured or already closed."""
    if balances.available_to_void <= 0:
        raise InvalidRequestError(
            f"Payment {payment.provider_ref} cannot be voided ({payment.provider_status})",
            provider=PROVIDER,
        )


def _same_currency(payment: ProviderPayment, asked: Money | None) -> None:
    if asked is not None and asked.currency != payment.amount.currency:
        raise InvalidRequestError(
            f"Payment {payment.provider_ref} is in {payment.amount.currency}, not {asked.currency}",
            provider=PROVIDER,
        )


# -- responses -----------------------------------------------------------------------------


def parse_accepted(payload: Any, *, reference: str) -> tuple[str, str | None]:
    """The 202 PaymentAcceptedResponse: the payment id and the URL the customer must visit
    (3-D Secure), or None while Checkout.com is still processing it without the customer.
    It carries no amount: the caller reads the payment back."""
    data = json_object(payload, "accepted payment")
    payment_id = _payment_id(data)
    if data.get("status") != "Pending":
        raise ResponseInvalidError(
            f"Checkout.com answered 202 with status {data.get('status')!r}", provider=PROVIDER
        )
    if optional_string(data, "reference") not in (None, reference):
        raise ResponseInvalidError("Checkout.com accepted another sale", provider=PROVIDER)
    return payment_id, _link(data, "redirect")


def parse_action_accepted(payload: Any) -> str:
    """The 202 of a capture, refund or void: its ``act_`` id."""
    data = json_object(payload, "accepted action")
    action_id = required_string(data, "action_id")
    if not action_id.startswith("act_"):
        raise ResponseInvalidError(
            f"Checkout.com action id {action_id!r} is not act_…", provider=PROVIDER
        )
    return action_id


def parse_payment(
    payload: Any,
    *,
    actions: Any = None,
    expected: Money | None = None,
    reference: str | None = None,
) -> ProviderPayment:
    """A PaymentResponse (201) or PaymentDetails (GET), with ``GET …/actions`` when fetched.

    ``expected`` is the amount asked and ``reference`` ours, when we know them.
    """
    return read_payment(payload, actions=actions, expected=expected, reference=reference)[0]


def read_payment(
    payload: Any,
    *,
    actions: Any = None,
    expected: Money | None = None,
    reference: str | None = None,
) -> tuple[ProviderPayment, Balances]:
    """``parse_payment`` and the balances a capture, refund or void is checked against."""
    data = json_object(payload, "payment")
    payment_id = _payment_id(data)
    status = required_string(data, "status")
    state = payment_status(data)
    amount = money_field(data, "amount", data.get("currency"))
    check_amount(payment_id, amount, expected)
    own_reference = optional_string(data, "reference")
    if reference is not None and own_reference != reference:
        raise ResponseInvalidError(
            f"Checkout.com payment {payment_id} is for another sale", provider=PROVIDER
        )
    history = parse_actions(actions, amount.currency) if actions is not None else ()
    action_url: str | None = None
    if state is PaymentState.PENDING:
        action_url = _link(data, "redirect")
        if action_url is not None:
            state = PaymentState.REQUIRES_ACTION
    balances = balances_of(data, amount, state, history)
    if state is PaymentState.PARTIALLY_CAPTURED and balances.available_to_capture == 0:
        # Checkout.com keeps saying "Partially Captured" after a final partial capture;
        # nothing is left to capture, so for us the capture is complete.
        state = PaymentState.CAPTURED
    payment = ProviderPayment(
        provider_ref=payment_id,
        state=state,
        provider_status=status,
        amount=amount,
        captured=Money(balances.captured, amount.currency),
        refunded=Money(balances.refunded, amount.currency),
        reference=own_reference,
        decline=_decline(data, state, actions),
        card=card_of(data),
        action_url=action_url,
        created_at=optional_time(data, "requested_on") or optional_time(data, "processed_on"),
        actions=history,
        review=risk_review(data),
    )
    return payment, balances


def parse_actions(payload: Any, currency: str) -> tuple[PaymentAction, ...]:
    """``GET /payments/{id}/actions`` (newest first) as our history, oldest first."""
    if not isinstance(payload, list):
        raise ResponseInvalidError("Checkout.com actions are not a list", provider=PROVIDER)
    history: list[PaymentAction] = []
    for item in reversed(payload):
        action = json_object(item, "action")
        action_id = required_string(action, "id")
        kind = required_string(action, "type")
        approved = action.get("approved")
        if not isinstance(approved, bool):
            raise ResponseInvalidError(
                f"Checkout.com action {action_id} does not say whether it was approved",
                provider=PROVIDER,
            )
        summary = optional_string(action, "response_summary") or ""
        history.append(
            PaymentAction(
                kind=kind.lower().replace(" ", "_"),
                provider_ref=action_id,
                amount=money_field(action, "amount", currency),
                approved=approved,
                at=optional_time(action, "processed_on"),
                note=optional_string(action, "reference") or summary,
            )
        )
    return tuple(history)


def balances_of(
    data: dict[str, Any], amount: Money, state: PaymentState, history: tuple[PaymentAction, ...]
) -> Balances:
    """The payment's balances, checked: refunded <= captured <= amount.

    Without a ``balances`` object they are read from the action history; a payment that took
    money but shows neither cannot be trusted.
    """
    raw = data.get("balances")
    if raw is None:
        balances = _balances_from(amount, state, history)
    else:
        values = json_object(raw, "balances")
        numbers = {}
        for name in BALANCE_FIELDS:
            value = values.get(name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ResponseInvalidError(
                    f"Checkout.com balance {name!r} is not a whole amount: {value!r}",
                    provider=PROVIDER,
                )
            numbers[name] = value
        balances = Balances(
            captured=numbers["total_captured"],
            refunded=numbers["total_refunded"],
            available_to_capture=numbers["available_to_capture"],
            available_to_void=numbers["available_to_void"],
            available_to_refund=numbers["available_to_refund"],
        )
    if not (
        balances.refunded <= balances.captured <= amount.minor
        and balances.available_to_capture <= amount.minor - balances.captured
        and balances.available_to_refund <= balances.captured - balances.refunded
        and balances.available_to_void <= amount.minor
    ):
        raise ResponseInvalidError(
            f"Checkout.com balances of a {amount.plain()} {amount.currency} payment do not add up",
            provider=PROVIDER,
        )
    return balances


def _balances_from(
    amount: Money, state: PaymentState, history: tuple[PaymentAction, ...]
) -> Balances:
    if history:
        captured = sum(a.amount.minor for a in history if a.kind == "capture" and a.approved)
        refunded = sum(a.amount.minor for a in history if a.kind == "refund" and a.approved)
    elif state in _MONEY_TAKEN:
        raise ResponseInvalidError(
            "Checkout.com payment shows money taken but no balances", provider=PROVIDER
        )
    else:
        captured = refunded = 0
    open_auth = state in (PaymentState.AUTHORIZED, PaymentState.PARTIALLY_CAPTURED)
    left = amount.minor - captured if open_auth else 0
    return Balances(
        captured=captured,
        refunded=refunded,
        available_to_capture=left,
        available_to_void=left if captured == 0 else 0,
        available_to_refund=captured - refunded,
    )


def _decline(data: dict[str, Any], state: PaymentState, actions: Any) -> Decline | None:
    """Why a declined payment was declined: the 201 carries the response code, details do not
    (their authorization action does). Always a Decline for DECLINED, never for others."""
    if state is not PaymentState.DECLINED:
        return None
    code = data.get("response_code")
    if isinstance(code, str) and code:
        summary = data.get("response_summary")
        return decline_from(code, summary if isinstance(summary, str) else "")
    from_actions = decline_from_actions(actions) if actions is not None else None
    return from_actions or Decline(DeclineCode.OTHER, "", "")


def _payment_id(data: dict[str, Any]) -> str:
    payment_id = required_string(data, "id")
    if not payment_id.startswith("pay_"):
        raise ResponseInvalidError(
            f"Checkout.com payment id {payment_id!r} is not pay_…", provider=PROVIDER
        )
    return payment_id


def _link(data: dict[str, Any], name: str) -> str | None:
    links = data.get("_links")
    if links is None:
        return None
    if not isinstance(links, dict):
        raise ResponseInvalidError("Checkout.com _links is not an object", provider=PROVIDER)
    link = links.get(name)
    if link is None:
        return None
    href = link.get("href") if isinstance(link, dict) else None
    if not isinstance(href, str) or not href.startswith(("https://", "http://")):
        raise ResponseInvalidError(f"Checkout.com {name} link is unusable", provider=PROVIDER)
    return href
