"""Recording what a provider reports about a checkout or a payment, within the journal's rules.

The provider's word decides the state, but only when it is about this sale — the same amount,
currency and reference (``disagreement``) — and never against the state machine. Anything else
leaves the state as it was and is kept visible as an "attention" note a person can act on.
The amounts recorded are the provider's, never the sale's.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, TypedDict

from pos_app.domain.payment import PaymentState, can_transition

if TYPE_CHECKING:
    from datetime import datetime

    from pos_app.domain.money import Money
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


# Every attention note about a provider answer that is not this sale's starts so: the checkout
# screen ends the sale on it instead of waiting on (a person must check the payment first).
DISAGREES = "The provider's answer does not match this sale"
# An answer that could not be read at all: flagged too, but the screen keeps asking.
UNREADABLE = "The provider's answer could not be checked against this sale"


def flagged_answer(attention: str | None) -> bool:
    """Whether a payment is flagged because a provider answer was not this sale's."""
    return (
        bool(attention) and attention is not None and attention.startswith((DISAGREES, UNREADABLE))
    )


def disagreement(payment: PaymentRecord, amount: Money, reference: str | None) -> str | None:
    """Why a provider's figures cannot be taken as this sale's, or None when they agree.

    A lookup decides only when it names our reference and the sale's amount in the sale's
    currency, to the minor unit. A missing reference is a disagreement too: the answer cannot
    be shown to be ours.
    """
    sale = f"{payment.amount.plain()} {payment.amount.currency}"
    if amount.currency != payment.amount.currency or amount.minor != payment.amount.minor:
        return (
            f"{DISAGREES}: the provider has {amount.plain()} {amount.currency}, the sale was "
            f"{sale}. Do not hand over the goods; check it with the provider and refund or "
            "charge the difference there."
        )
    if reference != payment.reference:
        named = f"another sale ({reference})" if reference else "no sale of ours"
        return (
            f"{DISAGREES}: the provider's record names {named}, not {payment.reference}. "
            "Check it with the provider before treating it as paid."
        )
    return None


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
    """Record what the provider says about a checkout, if it is this sale's checkout."""
    why = disagreement(payment, session.amount, session.reference)
    if why is not None:
        return _conflict(journal, payment, now, why, f"Provider answer disagrees: {why}")
    details = _common_details(session.card, session.decline)
    if (
        session.state is PaymentState.DECLINED
        and session.still_payable
        and payment.state in _STILL_OPEN
    ):
        # A declined card on a checkout that takes another: one sale, one checkout — the
        # customer tries another card on the same page or link; the sale goes on.
        if all(getattr(payment, key) == value for key, value in details.items()):
            return payment
        code = session.decline.provider_code if session.decline else session.provider_status
        return journal.update_payment(
            payment.reference,
            now=now,
            note=f"A card was declined ({code}); the checkout takes another card",
            **details,
        )
    if session.payment_ref:
        details["provider_payment_ref"] = session.payment_ref
    # A checkout's page takes its whole amount: the provider's, which agrees with the sale.
    if session.state is PaymentState.CAPTURED:
        details["authorized_minor"] = details["captured_minor"] = session.amount.minor
    elif session.state is PaymentState.AUTHORIZED:
        details["authorized_minor"] = session.amount.minor
    recorded = _apply(
        journal, payment, session.state, session.provider_status, session.provider_ref, details, now
    )
    return _held_for_review(journal, recorded, session.review, now)


def apply_payment(
    journal: JournalStore, payment: PaymentRecord, reported: ProviderPayment, now: datetime
) -> PaymentRecord:
    """Record what the provider says about a payment, amounts included, if it is this sale's."""
    why = disagreement(payment, reported.amount, reported.reference)
    totals = (reported.amount, reported.captured, reported.refunded)
    same_currency = len({money.currency for money in totals}) == 1
    if why is None and not (
        same_currency
        and reported.refunded.minor <= reported.captured.minor <= reported.amount.minor
    ):
        why = (
            f"{DISAGREES}: the provider reports {reported.captured.plain()} captured and "
            f"{reported.refunded.plain()} refunded of {reported.amount.plain()} "
            f"{reported.amount.currency}. Check it with the provider."
        )
    if why is not None:
        return _conflict(journal, payment, now, why, f"Provider answer disagrees: {why}")
    details = _common_details(reported.card, reported.decline)
    details["provider_payment_ref"] = reported.provider_ref
    details["action_url"] = reported.action_url
    authorized = 0 if reported.state in _NOTHING_HELD else reported.amount.minor
    details["authorized_minor"] = max(authorized, reported.captured.minor)
    details["captured_minor"] = reported.captured.minor
    details["refunded_minor"] = reported.refunded.minor
    recorded = _apply(
        journal,
        payment,
        reported.state,
        reported.provider_status,
        reported.provider_ref,
        details,
        now,
    )
    return _held_for_review(journal, recorded, reported.review, now)


def _held_for_review(
    journal: JournalStore, payment: PaymentRecord, review: str | None, now: datetime
) -> PaymentRecord:
    """The provider holds the payment for a person (Checkout.com's risk flag): its state is
    recorded as it is (authorized, not captured) and the provider's sentence is kept."""
    if review is None or payment.state is not PaymentState.AUTHORIZED:
        return payment  # once captured or voided by a person, the flag is dealt with
    if payment.attention is not None:
        return payment  # already noted, or a conflict that outranks it
    return journal.update_payment(
        payment.reference, now=now, attention=review, note="Held for review by the provider"
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
    if payment.state is PaymentState.DECLINED and target in _MONEY_TAKEN:
        # The sale ended on the decline, the checkout stayed payable and the customer paid
        # on it after all (phone, browser tab): a second charge at the till is a double one.
        return _conflict(
            journal,
            payment,
            now,
            f"The customer paid after a decline ('{provider_status}' at the provider). "
            "Keep it — do not charge the customer again — or refund it at the provider.",
            f"Paid at the provider after the decline ({provider_status})",
        )
    if payment.state is PaymentState.FAILED and target not in _MONEY_TAKEN:
        return payment  # cancelled here; open or lapsed there: no money moved either way
    if payment.state is PaymentState.FAILED and payment.decline_code:
        # A card was declined, the cashier gave up, the customer paid on the page anyway.
        return _conflict(
            journal,
            payment,
            now,
            f"The customer paid after a decline, once the sale was cancelled at the till "
            f"('{provider_status}' at the provider). Keep it — do not charge the customer "
            "again — or refund it at the provider.",
            f"Paid at the provider after the decline and the cancel ({provider_status})",
        )
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
