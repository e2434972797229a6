"""Start-up reconciliation: settle every intent the last run left without an outcome.

Nothing is re-sent. Each open payment is looked up through the same path a live lookup
takes (``Lookups.refresh``); what cannot be settled stays visible with an "attention" note.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from pos_app.domain.payment import PaymentState
from pos_app.providers.errors import ProviderError
from pos_app.services.payments.core import (
    CHECKOUT_LIFETIME,
    OPEN_STATES,
    PaymentRefused,
)
from pos_app.services.payments.lookups import Lookups

log = logging.getLogger(__name__)


@dataclass
class ReconcileReport:
    resolved: list[str] = field(default_factory=list)
    needs_attention: list[str] = field(default_factory=list)


class Reconciliation(Lookups):
    def _closed_checkouts_still_payable(self) -> list[str]:
        """Checkouts the till closed (cancelled, or declined) that may still take payment.

        No provider we use can close a checkout, and a declined card leaves JustiFi's
        checkouts and every payment link open for another: a customer holding the page or
        the link (a phone that scanned the QR) may pay after the till ended the sale. Until
        the longest checkout lifetime has passed, each start-up looks again; a late payment
        then conflicts with the journal and is flagged for a person (refund it, or keep it).
        """
        since = self._clock() - CHECKOUT_LIFETIME
        return [
            p.reference
            for p in self.journal.payments_in_states(
                frozenset({PaymentState.FAILED, PaymentState.DECLINED}), created_since=since
            )
            if p.method.is_checkout_page and p.provider_ref
        ]

    async def reconcile(self) -> ReconcileReport:
        """Start-up: look up every payment with an open intent or outcome. Never re-sends."""
        report = ReconcileReport()
        references = [i.payment_reference for i in self.journal.unresolved_intents()]
        references += [p.reference for p in self.journal.payments_in_states(OPEN_STATES)]
        references += self._closed_checkouts_still_payable()
        for reference in dict.fromkeys(references):
            if not self._intents(reference) or reference in self._in_flight:
                continue  # nothing sent yet, or being sent now: nothing to ask about
            try:
                payment = await self.refresh(reference)
            except (ProviderError, PaymentRefused) as error:
                why = error.message if isinstance(error, ProviderError) else str(error)
                self._flag(reference, f"Could not check this payment: {why}", report)
                continue
            if payment.attention:
                report.needs_attention.append(reference)
            elif payment.state in (PaymentState.FAILED, PaymentState.DECLINED):
                continue  # a closed checkout nobody paid: nothing to report
            elif payment.state is PaymentState.PENDING:
                self._flag(reference, "Checkout still open at the provider.", report)
            else:
                report.resolved.append(reference)
        return report

    def _flag(self, reference: str, why: str, report: ReconcileReport) -> None:
        log.warning("%s needs attention: %s", reference, why)
        payment = self._get(reference)
        if payment.attention != why:
            self.journal.update_payment(reference, now=self._clock(), attention=why, note=why)
        report.needs_attention.append(reference)
