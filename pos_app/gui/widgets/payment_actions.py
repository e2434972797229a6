"""Which of capture, refund and void a payment offers now: the provider's capabilities and
the payment's state decide, never a trial request."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from pos_app.domain.payment import PaymentState
from pos_app.gui.widgets.payment_windows import can_void_now
from pos_app.journal.store import PaymentRecord
from pos_app.providers.types import Capability


@dataclass(frozen=True)
class Available:
    capture: bool = False
    partial_capture: bool = False
    may_continue: bool = False  # a non-final capture is possible
    refund: bool = False
    partial_refund: bool = False
    void: bool = False
    why_not: list[str] = field(default_factory=list)  # sentences for the cashier


def available_actions(
    payment: PaymentRecord,
    capabilities: frozenset[Capability],
    *,
    provider_name: str,
    now: datetime,
    void_deadline: datetime | None,
) -> Available:
    ledger = payment.ledger
    why: list[str] = []
    if payment.state is PaymentState.IN_DOUBT:
        return Available(why_not=["This payment is in doubt: refresh from provider first."])
    if payment.provider_payment_ref is None:
        return Available(why_not=_none_yet(payment))
    capture = Capability.AUTHORIZE_CAPTURE in capabilities and ledger.capturable.minor > 0
    if ledger.capturable.minor > 0 and not capture:
        why.append(f"{provider_name} cannot capture payments from this till.")
    refund = Capability.REFUND in capabilities and ledger.refundable.minor > 0
    if ledger.refundable.minor > 0 and not refund:
        why.append(f"{provider_name} cannot refund payments from this till.")
    voidable = can_void_now(payment, now, None)
    void = Capability.VOID in capabilities and can_void_now(payment, now, void_deadline)
    if voidable and Capability.VOID not in capabilities:
        why.append(f"{provider_name} cannot void payments from this till.")
    partial_capture = Capability.PARTIAL_CAPTURE in capabilities
    return Available(
        capture=capture,
        partial_capture=partial_capture,
        may_continue=partial_capture and payment.state is PaymentState.AUTHORIZED,
        refund=refund,
        partial_refund=Capability.PARTIAL_REFUND in capabilities,
        void=void,
        why_not=why,
    )


def _none_yet(payment: PaymentRecord) -> list[str]:
    if payment.state in (PaymentState.CREATED, PaymentState.PENDING):
        return ["The customer has not paid yet: there is nothing to capture, refund or void."]
    return []
