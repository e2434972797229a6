"""Start-up reconciliation: settle every intent the last run left without an outcome.

Nothing is re-sent. Each open intent is looked up at the provider; what cannot be
settled stays visible with an "attention" note.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from pos_app.domain.payment import PaymentState, can_transition
from pos_app.journal.store import IntentOutcome, JournalStore, utc_now
from pos_app.providers.base import PaymentProvider
from pos_app.providers.errors import ProviderError
from pos_app.providers.types import CheckoutSession
from pos_app.services.checkout import CREATE_CHECKOUT, apply_session

log = logging.getLogger(__name__)

OPEN_STATES = frozenset(
    {
        PaymentState.CREATED,
        PaymentState.PENDING,
        PaymentState.IN_DOUBT,
        PaymentState.REQUIRES_ACTION,
    }
)


@dataclass
class ReconcileReport:
    resolved: list[str] = field(default_factory=list)
    needs_attention: list[str] = field(default_factory=list)


async def reconcile(
    journal: JournalStore,
    providers: Mapping[str, PaymentProvider],
    *,
    clock: Callable[[], datetime] = utc_now,
) -> ReconcileReport:
    """``providers`` maps profile name to its provider."""
    report = ReconcileReport()
    for intent in journal.unresolved_intents():
        payment = journal.get(intent.payment_reference)
        if payment is None:
            continue
        provider = providers.get(payment.profile)
        if provider is None or intent.operation != CREATE_CHECKOUT:
            _flag(
                journal,
                payment.reference,
                clock(),
                report,
                f"Cannot check this {intent.operation}: "
                f"profile '{payment.profile}' is not available.",
            )
            continue
        session: CheckoutSession | None
        try:
            if payment.provider_ref:
                session = await provider.get_checkout(payment.provider_ref)
            else:
                session = await provider.find_checkout(payment.reference)
        except ProviderError as error:
            _lookup_failed(journal, payment.reference, provider, error, clock(), report)
            continue
        if session is None:
            journal.finish_intent(
                intent.id,
                IntentOutcome.ABANDONED,
                detail="No such checkout at the provider",
                now=clock(),
            )
            if can_transition(payment.state, PaymentState.FAILED):
                journal.update_payment(
                    payment.reference,
                    now=clock(),
                    state=PaymentState.FAILED,
                    attention=None,
                    note=f"The checkout never reached {provider.display_name}; nothing was charged",
                )
            report.resolved.append(payment.reference)
            continue
        journal.finish_intent(
            intent.id, IntentOutcome.RESOLVED, detail=session.provider_ref, now=clock()
        )
        if payment.provider_ref is None:
            payment = journal.update_payment(
                payment.reference,
                now=clock(),
                provider_ref=session.provider_ref,
                note=f"Found checkout {session.provider_ref} by reference",
            )
        apply_session(journal, payment, session, clock())
        report.resolved.append(payment.reference)

    # Payments whose checkout was open when the app stopped: ask what became of them.
    for payment in journal.payments_in_states(OPEN_STATES):
        provider = providers.get(payment.profile)
        if provider is None or payment.provider_ref is None:
            continue
        try:
            session = await provider.get_checkout(payment.provider_ref)
        except ProviderError as error:
            _lookup_failed(journal, payment.reference, provider, error, clock(), report)
            continue
        updated = apply_session(journal, payment, session, clock())
        if updated.state is PaymentState.PENDING and session.expires_at is not None:
            journal.update_payment(
                payment.reference,
                now=clock(),
                attention=f"Checkout still open at {provider.display_name} until "
                f"{session.expires_at:%Y-%m-%d %H:%M} UTC.",
                note="Still open after restart",
            )
            report.needs_attention.append(payment.reference)
        elif payment.reference not in report.resolved:
            report.resolved.append(payment.reference)
    return report


def _flag(
    journal: JournalStore, reference: str, now: datetime, report: ReconcileReport, why: str
) -> None:
    log.warning("%s needs attention: %s", reference, why)
    journal.update_payment(reference, now=now, attention=why, note=why)
    report.needs_attention.append(reference)


def _lookup_failed(
    journal: JournalStore,
    reference: str,
    provider: PaymentProvider,
    error: ProviderError,
    now: datetime,
    report: ReconcileReport,
) -> None:
    """The provider could not be asked; keep the payment visible until it can."""
    _flag(
        journal,
        reference,
        now,
        report,
        f"Could not check with {provider.display_name}: {error.message}",
    )
