"""JustiFi payments, refunds and checkout completions to and from our types. Pure: no I/O.

A Payment's ``status`` maps through ``mapping.PAYMENT_STATUS``; an unknown status, a wrong
type or totals that break refunded <= captured <= amount are ResponseInvalidError.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from pos_app.domain.money import Money
from pos_app.domain.payment import PaymentState
from pos_app.providers.errors import ResponseInvalidError
from pos_app.providers.justifi.mapping import (
    COMPLETION_PAYMENT_STATUS,
    PAYMENT_STATUS,
    PROVIDER,
    REFERENCE_METADATA_KEY,
    _completion_payment_status,
    _decline_code_of,
    decline_from,
    money_field,
    text_field,
    time_field,
    unwrap,
)
from pos_app.providers.types import (
    CaptureRequest,
    CardSummary,
    ChargeRequest,
    Decline,
    PaymentAction,
    ProviderPayment,
    RefundRequest,
)

# Refund.status -> whether the refund went through ("pending" is accepted, not yet settled).
REFUND_STATUS_APPROVED: dict[str, bool] = {"pending": True, "succeeded": True, "failed": False}
# JustiFi's refund reasons; any other reason text travels as the description only.
REFUND_REASONS = ("duplicate", "fraudulent", "customer_request")


def build_payment_body(request: ChargeRequest) -> dict[str, Any]:
    return {
        "amount": request.amount.minor,
        "currency": request.amount.currency.lower(),
        "capture_strategy": "automatic" if request.capture else "manual",
        "payment_method": {"token": request.source.value},
        "description": request.description,
        "metadata": {REFERENCE_METADATA_KEY: request.reference},
    }


def build_refund_body(request: RefundRequest) -> dict[str, Any]:
    body: dict[str, Any] = {
        "amount": request.amount.minor,
        "metadata": {REFERENCE_METADATA_KEY: request.reference},
    }
    reason = request.reason.strip()
    if reason:
        body["description"] = reason
    if reason.lower() in REFUND_REASONS:
        body["reason"] = reason.lower()
    return body


def capture_amount_ok(request: CaptureRequest, payment: ProviderPayment) -> bool:
    """JustiFi captures the whole authorization; only that amount (or none) can be asked."""
    return request.amount is None or request.amount == payment.amount


def parse_payment(data: dict[str, Any], *, expected: Money | None = None) -> ProviderPayment:
    """A Payment object (spec CardPayment / BankAccountPayment) as a ProviderPayment."""
    payment_id = text_field(data, "id")
    status = text_field(data, "status")
    if status not in PAYMENT_STATUS:
        raise ResponseInvalidError(f"Unknown JustiFi payment status {status!r}", provider=PROVIDER)
    currency = text_field(data, "currency").upper()
    amount = money_field(data, "amount", currency)
    if expected is not None and amount != expected:
        raise ResponseInvalidError(
            f"JustiFi payment {payment_id} is for {amount.plain()} {amount.currency}, "
            f"not the {expected.plain()} {expected.currency} asked for",
            provider=PROVIDER,
        )
    captured_flag = data.get("captured")
    if not isinstance(captured_flag, bool):
        raise ResponseInvalidError("JustiFi payment has no captured flag", provider=PROVIDER)
    state = PAYMENT_STATUS[status]
    # A failed payment took no money, whatever its captured flag says (JustiFi's own mocks
    # show failed payments with captured: true).
    took_money = captured_flag and state is not PaymentState.DECLINED
    captured = amount if took_money else Money(0, currency)
    refunded = money_field(data, "amount_refunded", currency)
    if refunded.minor < 0 or refunded > captured or amount.minor <= 0:
        raise ResponseInvalidError(
            f"JustiFi payment {payment_id} has inconsistent totals", provider=PROVIDER
        )
    decline = None
    if state is PaymentState.DECLINED:
        decline = decline_from(
            str(data.get("error_code") or "card_declined"), str(data.get("error_description") or "")
        )
    created_at = time_field(data)
    refunds = data.get("refunds") or []
    if not isinstance(refunds, list):
        raise ResponseInvalidError("JustiFi payment refunds is not a list", provider=PROVIDER)
    actions = [
        PaymentAction(
            "authorization",
            payment_id,
            amount,
            approved=state is not PaymentState.DECLINED,
            at=created_at,
            note=decline.provider_message if decline else "",
        )
    ]
    if took_money:
        automatic = data.get("capture_strategy") == "automatic"
        actions.append(
            PaymentAction("capture", payment_id, amount, True, created_at if automatic else None)
        )
    actions.extend(_refund_action(refund, currency) for refund in refunds)
    if status == "canceled":
        actions.append(
            PaymentAction("void", payment_id, amount, True, time_field(data, "updated_at"))
        )
    return ProviderPayment(
        provider_ref=payment_id,
        state=state,
        provider_status=status,
        amount=amount,
        captured=captured,
        refunded=refunded,
        reference=_reference_of(data),
        decline=decline,
        card=_card_of(data.get("payment_method")),
        created_at=created_at,
        actions=tuple(actions),
    )


def parse_refund(data: dict[str, Any], currency: str) -> PaymentAction:
    """A Refund object (spec Refund.yaml) as the action it adds to its payment."""
    return _refund_action(data, currency)


def declined_payment(
    provider_ref: str, amount: Money, reference: str | None, decline: Decline
) -> ProviderPayment:
    """A refused charge when all JustiFi gave back is the decline (402 or failed completion)."""
    zero = Money(0, amount.currency)
    return ProviderPayment(
        provider_ref=provider_ref,
        state=PaymentState.DECLINED,
        provider_status="failed",
        amount=amount,
        captured=zero,
        refunded=zero,
        reference=reference,
        decline=decline,
        actions=(
            PaymentAction(
                "authorization", provider_ref, amount, False, note=decline.provider_message
            ),
        ),
    )


def parse_completion(data: dict[str, Any], *, expected: Money, reference: str) -> ProviderPayment:
    """A CheckoutCompletion (POST /checkouts/{id}/complete) as the payment it made.

    ``payment_status`` decides; a failed one is a decline. Any ``additional_transactions``
    (legacy: e.g. insurance) are kept in the payment's history rather than dropped.
    """
    text_field(data, "id")
    payment_status = _completion_payment_status(data)
    if payment_status is None:
        raise ResponseInvalidError("JustiFi completion has no payment status", provider=PROVIDER)
    extra = _additional_actions(data.get("additional_transactions"), expected.currency)
    if payment_status == "failed":
        decline = decline_from(
            _decline_code_of(data), str(data.get("payment_error_description") or "")
        )
        payment_id = data.get("payment_id")
        ref = payment_id if isinstance(payment_id, str) else ""
        return declined_payment(ref, expected, reference, decline)
    response = data.get("payment_response")
    payment = parse_payment(unwrap(response, "payment"), expected=expected)
    if payment.state is not COMPLETION_PAYMENT_STATUS[payment_status]:
        raise ResponseInvalidError(
            f"JustiFi completion says {payment_status!r} but its payment is "
            f"{payment.provider_status!r}",
            provider=PROVIDER,
        )
    return replace(
        payment, reference=payment.reference or reference, actions=payment.actions + extra
    )


def _additional_actions(raw: Any, currency: str) -> tuple[PaymentAction, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ResponseInvalidError(
            "JustiFi additional_transactions is not a list", provider=PROVIDER
        )
    actions = []
    for item in raw:
        if not isinstance(item, dict):
            raise ResponseInvalidError(
                "JustiFi additional transaction is not an object", provider=PROVIDER
            )
        actions.append(
            PaymentAction(
                "additional_transaction",
                text_field(item, "id"),
                money_field(item, "amount", currency),
                approved=item.get("status") != "failed",
                note=str(item.get("description") or item.get("type") or ""),
            )
        )
    return tuple(actions)


def _refund_action(refund: Any, currency: str) -> PaymentAction:
    if not isinstance(refund, dict):
        raise ResponseInvalidError("JustiFi refund is not an object", provider=PROVIDER)
    status = text_field(refund, "status")
    if status not in REFUND_STATUS_APPROVED:
        raise ResponseInvalidError(f"Unknown JustiFi refund status {status!r}", provider=PROVIDER)
    amount = money_field(refund, "amount", currency)
    if amount.minor <= 0:
        raise ResponseInvalidError("JustiFi refund amount is not positive", provider=PROVIDER)
    note = refund.get("reason") or refund.get("description") or ""
    return PaymentAction(
        "refund",
        text_field(refund, "id"),
        amount,
        REFUND_STATUS_APPROVED[status],
        time_field(refund),
        str(note),
    )


def _reference_of(data: dict[str, Any]) -> str | None:
    metadata = data.get("metadata")
    reference = metadata.get(REFERENCE_METADATA_KEY) if isinstance(metadata, dict) else None
    return str(reference) if reference else None


def _card_of(method: Any) -> CardSummary | None:
    if not isinstance(method, dict):
        return None
    card = method.get("card")
    if isinstance(card, dict) and card.get("acct_last_four"):
        return CardSummary(str(card.get("brand") or "card"), str(card["acct_last_four"]))
    bank = method.get("bank_account")
    if isinstance(bank, dict) and bank.get("acct_last_four"):
        return CardSummary(
            str(bank.get("bank_name") or "bank account"), str(bank["acct_last_four"])
        )
    return None
