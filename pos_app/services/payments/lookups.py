"""Asking a provider what became of a payment, and recording its answer.

A lookup is the only thing that decides an outcome: a page's "paid", a webhook and a lost
answer each trigger one. Its answer counts only where it agrees with the sale (amount,
currency, our reference; ``outcomes`` holds that rule).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from pos_app.domain.payment import PaymentState, can_transition
from pos_app.domain.vocabulary import Operation
from pos_app.journal.store import Intent, IntentOutcome, PaymentRecord
from pos_app.providers.base import BalanceLedger, PaymentProvider
from pos_app.providers.errors import NotSupportedError, ResponseInvalidError
from pos_app.providers.types import Capability, PaymentAction
from pos_app.services.outcomes import UNREADABLE, apply_payment, apply_session
from pos_app.services.payments.core import SETTLE_AFTER, STILL_PROCESSING, PaymentCore

if TYPE_CHECKING:
    from datetime import datetime

    from pos_app.providers.webhooks import WebhookEvent

log = logging.getLogger(__name__)


class Lookups(PaymentCore):
    async def refresh(self, reference: str) -> PaymentRecord:
        """Ask the provider what became of a payment and record its answer.

        Settles the payment's intents whose outcome was unknown. Raises ProviderError when
        the provider cannot be asked (the payment keeps its state).
        """
        payment = self._get(reference)
        provider = self.provider_for(payment.profile)
        unknown = [
            i for i in self._intents(reference) if i.outcome in (None, IntentOutcome.UNKNOWN)
        ]
        try:
            if self._is_payment_level(payment):
                updated = await self._refresh_payment(payment, provider)
            else:
                updated = await self._refresh_checkout(payment, provider)
        except ResponseInvalidError as error:
            # An answer that cannot be read is not this sale's either: flag it at once (the
            # state stays as it was), and let the caller say the lookup failed.
            why = f"{UNREADABLE}: {error.message}. Check it with the provider."
            self._publish(self._needs_attention(payment, why), Operation.LOOKUP)
            raise
        if updated is None:  # the provider has no trace of it
            if any(not self._settleable(i) for i in unknown):
                return self._no_trace_yet(payment, provider)
            return self._never_arrived(payment, provider, unknown)
        waiting: list[Intent] = []
        for intent in unknown:
            # A lost capture/refund/void the lookup does not show yet may still be under way:
            # it stays open (and blocks another one) until it shows or its time is up.
            if _shows_applied(intent, payment, updated) or self._settleable(intent):
                self._settle(intent, payment, updated)
            else:
                waiting.append(intent)
        if waiting:
            updated = self._still_waiting(updated, provider, waiting[0])
        elif updated.attention and STILL_PROCESSING in updated.attention:
            updated = self.journal.update_payment(
                reference, now=self._clock(), attention=None, note="Settled by a lookup"
            )
        self._publish(updated, Operation.LOOKUP)
        return updated

    async def provider_history(self, reference: str) -> tuple[PaymentAction, ...]:
        """The provider's own history of a payment (authorization, captures, refunds, voids).

        Reads the payment at the provider, records what it says like any lookup, and returns
        its actions; empty when the provider keeps no payment history or none exists yet.
        """
        payment = self._get(reference)
        provider = self.provider_for(payment.profile)
        if not payment.provider_payment_ref or Capability.LOOKUP not in provider.capabilities:
            return ()
        try:
            reported = await provider.get_payment(payment.provider_payment_ref)
        except NotSupportedError:
            return ()
        updated = apply_payment(self.journal, payment, reported, self._clock())
        self._publish(updated, Operation.LOOKUP)
        return reported.actions

    async def provider_balance(self, reference: str) -> tuple[PaymentAction, ...]:
        """The provider's ledger of a payment (JustiFi's balance transactions: the payment,
        its fees, refunds, fees returned), oldest first; empty where the provider keeps none.

        Read-only and separate from ``provider_history`` so only the detail page pays the
        extra request, never a lookup, a confirmation or a reconciliation.
        """
        payment = self._get(reference)
        provider = self.provider_for(payment.profile)
        if not payment.provider_payment_ref or not isinstance(provider, BalanceLedger):
            return ()
        try:
            return await provider.balance_transactions(payment.provider_payment_ref)
        except NotSupportedError:
            return ()

    async def checkout_expiry(self, reference: str) -> datetime | None:
        """When an open checkout or payment link stops taking payment, from the provider.

        Looks the checkout up and records what it says like ``refresh``; None when the
        payment is not an open checkout or the provider's checkouts never expire.
        """
        payment = self._get(reference)
        if (
            not payment.method.is_checkout_page
            or payment.state not in (PaymentState.CREATED, PaymentState.PENDING)
            or not payment.provider_ref
        ):
            return None
        provider = self.provider_for(payment.profile)
        if Capability.LOOKUP not in provider.capabilities:
            return None
        session = await provider.get_checkout(payment.provider_ref)
        updated = apply_session(self.journal, payment, session, self._clock())
        self._publish(updated, Operation.LOOKUP)
        return session.expires_at

    async def on_webhook(self, event: WebhookEvent) -> PaymentRecord | None:
        """A provider told us something changed: look the payment up (the event decides nothing).

        None when the event is about nothing this till recorded.
        """
        payment = self.journal.get(event.reference) if event.reference else None
        if payment is None or payment.provider != event.provider:
            payment = self.journal.find_by_provider_ref(event.provider, event.object_ref)
        if payment is None:
            log.info("%s event %s is not about a payment of ours", event.provider, event.event_id)
            return None
        updated = await self.refresh(payment.reference)
        self._publish(updated, Operation.WEBHOOK)
        return updated

    # -- lookups, in detail -------------------------------------------------------------

    def _is_payment_level(self, payment: PaymentRecord) -> bool:
        """Direct charges, and checkouts with captures/refunds/voids, are looked up as payments."""
        if payment.method.charged_by_us:
            return True
        actions = {i.operation for i in self._intents(payment.reference)}
        after_sale = {Operation.CAPTURE, Operation.REFUND, Operation.VOID}
        return bool(payment.provider_payment_ref) and bool(actions & after_sale)

    async def _refresh_payment(
        self, payment: PaymentRecord, provider: PaymentProvider
    ) -> PaymentRecord | None:
        if payment.provider_payment_ref:
            reported = await provider.get_payment(payment.provider_payment_ref)
        elif Capability.LIST in provider.capabilities:
            found = await provider.find_payment(payment.reference)
            if found is None:
                return None
            reported = found
        else:
            return self._cannot_search(payment, provider)
        return apply_payment(self.journal, payment, reported, self._clock())

    async def _refresh_checkout(
        self, payment: PaymentRecord, provider: PaymentProvider
    ) -> PaymentRecord | None:
        if payment.provider_ref:
            session = await provider.get_checkout(payment.provider_ref)
        elif Capability.LIST in provider.capabilities:
            found = await provider.find_checkout(payment.reference)
            if found is None:
                return None
            session = found
            payment = self.journal.update_payment(
                payment.reference,
                now=self._clock(),
                provider_ref=session.provider_ref,
                note=f"Found checkout {session.provider_ref} by reference",
            )
        else:
            return self._cannot_search(payment, provider)
        return apply_session(self.journal, payment, session, self._clock())

    def _cannot_search(self, payment: PaymentRecord, provider: PaymentProvider) -> PaymentRecord:
        """We lost the provider's id and the provider cannot be searched: a person must look."""
        why = (
            f"{provider.display_name} cannot be searched by our reference and its answer was "
            f"lost. Look for {payment.reference} in the {provider.display_name} dashboard."
        )
        return self._needs_attention(payment, why)

    def _settleable(self, intent: Intent) -> bool:
        """Whether "no trace at the provider" now proves the request was never applied."""
        return self._clock() - intent.created_at >= SETTLE_AFTER

    def _still_waiting(
        self, payment: PaymentRecord, provider: PaymentProvider, intent: Intent
    ) -> PaymentRecord:
        verb = intent.operation.replace("_", " ")
        why = (
            f"A {verb} whose answer was lost does not show at {provider.display_name} yet; it "
            f"{STILL_PROCESSING}. It will be checked again; until then no new one is sent."
        )
        return self._needs_attention(payment, why)

    def _no_trace_yet(self, payment: PaymentRecord, provider: PaymentProvider) -> PaymentRecord:
        why = (
            f"No answer from {provider.display_name} about {payment.reference} yet, and no "
            f"trace of it there: it {STILL_PROCESSING}. It will be checked again."
        )
        if payment.attention == why:
            return payment
        doubt = can_transition(payment.state, PaymentState.IN_DOUBT)
        payment = self.journal.update_payment(
            payment.reference,
            now=self._clock(),
            state=PaymentState.IN_DOUBT if doubt else None,
            attention=why,
            note=why,
        )
        self._publish(payment, Operation.LOOKUP)
        return payment

    def _never_arrived(
        self, payment: PaymentRecord, provider: PaymentProvider, unknown: list[Intent]
    ) -> PaymentRecord:
        for intent in unknown:
            self.journal.finish_intent(
                intent.id,
                IntentOutcome.ABANDONED,
                detail=f"No trace at {provider.display_name}",
                now=self._clock(),
            )
        if can_transition(payment.state, PaymentState.FAILED):
            payment = self.journal.update_payment(
                payment.reference,
                now=self._clock(),
                state=PaymentState.FAILED,
                attention=None,
                note=f"Never reached {provider.display_name}; nothing was charged",
            )
        self._publish(payment, Operation.LOOKUP)
        return payment

    def _settle(self, intent: Intent, before: PaymentRecord, after: PaymentRecord) -> None:
        """Mark an unknown intent resolved, saying whether the lookup shows it applied."""
        applied = _shows_applied(intent, before, after)
        self.journal.finish_intent(
            intent.id,
            IntentOutcome.RESOLVED if applied else IntentOutcome.ABANDONED,
            detail=f"Lookup shows the {intent.operation} "
            + ("applied" if applied else "not applied"),
            now=self._clock(),
        )
        if not applied and not intent.operation.opens_payment:
            self.journal.add_note(
                after.reference,
                now=self._clock(),
                note=f"The {intent.operation} did not happen at the provider; it can be retried.",
            )


def _shows_applied(intent: Intent, before: PaymentRecord, after: PaymentRecord) -> bool:
    """Whether the provider's numbers include the operation whose answer we lost."""
    amount = intent.amount.minor if intent.amount else 0
    match intent.operation:
        case Operation.CAPTURE:
            return after.captured_minor >= before.captured_minor + amount
        case Operation.REFUND:
            return after.refunded_minor >= before.refunded_minor + amount
        case Operation.VOID:
            return after.state is PaymentState.VOIDED
        case _:  # opening a checkout or a charge: the provider has it
            return True
