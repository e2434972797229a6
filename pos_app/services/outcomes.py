"""Recording what a provider reports about a checkout or a payment, within the journal's rules.

The provider's word decides the state, but never against the state machine and never for a
different amount: a conflict is kept visible as an "attention" note for a person to check.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TypedDict

from pos_app.domain.payment import PaymentState, can_transition
from pos_app.journal.store import JournalStore, PaymentRecord
from pos_app.providers.types import CardSummary, CheckoutSession, Decline, ProviderPayment

log = logging.getLogger(__name__)


# States in which the provider holds none of the customer's money.
_NOTHING_HELD = frozenset(
    {
        PaymentState.PENDING,
        PaymentState.REQUIRES_ACTION,
        PaymentState.DECLINED,
        PaymentState.FAILED,
    }
)


# What a checkout reports while it waits for (another) payment attempt.
_STILL_OPEN = frozenset({PaymentState.CREATED, PaymentState.PENDING, PaymentState.REQUIRES_ACTION})


class _Details(TypedDict, total=False):
    card_brand: str
    card_last4: str
    provider_payment_ref: str
    decline_code: str
    decline_message: str
    action_url: str | None
    authorized_minor: int
    captured_minor: int
    refunded_minor: int


def apply_session(
    journal: JournalStore, payment: PaymentRecord, session: CheckoutSession, now: datetime
) -> PaymentRecord:
    """Record what the provider says about a checkout."""
    details = _common_details(session.card, session.decline)
    if session.payment_ref:
        details["provider_payment_ref"] = session.payment_ref
    # A checkout's page only ever takes the whole amount.
    if session.state is PaymentState.CAPTURED:
        details["authorized_minor"] = details["captured_minor"] = payment.amount.minor
    elif session.state is PaymentState.AUTHORIZED:
        details["authorized_minor"] = payment.amount.minor
    return _apply(
        journal, payment, session.state, session.provider_status, session.provider_ref, details, now
    )


def apply_payment(
    journal: JournalStore, payment: PaymentRecord, reported: ProviderPayment, now: datetime
) -> PaymentRecord:
    """Record what the provider says about a payment, amounts included."""
    if reported.amount != payment.amount:
        return _conflict(
            journal,
            payment,
            now,
            f"The provider reports {reported.amount.plain()} {reported.amount.currency} for "
            f"this payment but the sale was {payment.amount.plain()} {payment.amount.currency}. "
            "Check it with the provider.",
            f"Amount {reported.amount.plain()} at the provider conflicts with the sale",
        )
    details = _common_details(reported.card, reported.decline)
    details["provider_payment_ref"] = reported.provider_ref
    details["action_url"] = reported.action_url
    authorized = 0 if reported.state in _NOTHING_HELD else reported.amount.minor
    details["authorized_minor"] = max(authorized, reported.captured.minor)
    details["captured_minor"] = reported.captured.minor
    details["refunded_minor"] = reported.refunded.minor
    return _apply(
        journal,
        payment,
        reported.state,
        reported.provider_status,
        reported.provider_ref,
        details,
        now,
    )


_MONEY_TAKEN = frozenset({PaymentState.AUTHORIZED, PaymentState.CAPTURED})


def _apply(
    journal: JournalStore,
    payment: PaymentRecord,
    target: PaymentState,
    provider_status: str,
    provider_ref: str,
    details: _Details,
    now: datetime,
) -> PaymentRecord:
    if target is payment.state:
        if all(getattr(payment, key) == value for key, value in details.items()):
            return payment
        return journal.update_payment(
            payment.reference, now=now, note="Details refreshed from the provider", **details
        )
    if payment.state is PaymentState.DECLINED and target in _STILL_OPEN:
        # The attempt was declined; the provider keeps the checkout open for another card.
        return payment
    if payment.state is PaymentState.FAILED and target not in _MONEY_TAKEN:
        return payment  # cancelled here; open or lapsed there: no money moved either way
    if payment.state is PaymentState.FAILED:
        # The cashier cancelled, the customer still had the page and paid: never silent.
        return _conflict(
            journal,
            payment,
            now,
            f"Paid at the provider ('{provider_status}') after it was cancelled at the till. "
            "Refund it at the provider, or keep the sale and give the customer their goods.",
            f"Paid at the provider after the cancel ({provider_status})",
        )
    if not can_transition(payment.state, target):
        log.error(
            "%s: provider says %s but the journal has %s", payment.reference, target, payment.state
        )
        return _conflict(
            journal,
            payment,
            now,
            f"The provider reports '{provider_status}' but this payment is "
            f"recorded as {payment.state.value}. Check it with the provider.",
            f"Provider status {provider_status} conflicts with the journal",
        )
    return journal.update_payment(
        payment.reference,
        now=now,
        state=target,
        attention=None,
        note=f"{provider_status} at the provider ({provider_ref})",
        **details,
    )


def _conflict(
    journal: JournalStore, payment: PaymentRecord, now: datetime, attention: str, note: str
) -> PaymentRecord:
    if payment.attention == attention:
        return payment
    return journal.update_payment(payment.reference, now=now, attention=attention, note=note)


def _common_details(card: CardSummary | None, decline: Decline | None) -> _Details:
    """The payment fields a provider lookup can fill in (only those it reported)."""
    details: _Details = {}
    if card is not None:
        details["card_brand"] = card.brand
        details["card_last4"] = card.last4
    if decline is not None:
        details["decline_code"] = decline.code.value
        details["decline_message"] = decline.provider_message
    return details
