"""Taking a payment through a provider-hosted checkout, journaled at every step.

The order never changes: record the sale, record the intent (with its idempotency
key), call the provider, record the outcome. A success seen by the customer's page
only triggers a lookup; the lookup decides.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypedDict

from pos_app.domain.ids import new_idempotency_key, new_reference
from pos_app.domain.payment import PaymentState, can_transition
from pos_app.journal.store import IntentOutcome, JournalStore, PaymentRecord, utc_now
from pos_app.providers.base import PaymentProvider
from pos_app.providers.errors import ConnectionFailedError, ProviderError
from pos_app.providers.types import CheckoutRequest, CheckoutSession
from pos_app.services.sale import Sale

log = logging.getLogger(__name__)

HOSTED_CHECKOUT = "hosted_checkout"
CREATE_CHECKOUT = "create_checkout"


@dataclass(frozen=True)
class HostedCheckout:
    payment: PaymentRecord
    session: CheckoutSession

    @property
    def url(self) -> str:
        return self.session.hosted_url or ""


class CheckoutStartError(Exception):
    """Opening the checkout failed; the sale is in the journal in ``payment.state``."""

    def __init__(self, payment: PaymentRecord, error: ProviderError) -> None:
        super().__init__(error.message)
        self.payment = payment
        self.error = error


class CheckoutService:
    def __init__(
        self,
        journal: JournalStore,
        provider: PaymentProvider,
        *,
        profile: str,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.journal = journal
        self.provider = provider
        self.profile = profile
        self._clock = clock

    async def start_hosted(self, sale: Sale, *, success_url: str | None) -> HostedCheckout:
        reference = new_reference(self._clock())
        self.journal.create_payment(
            reference=reference,
            profile=self.profile,
            provider=self.provider.key,
            method=HOSTED_CHECKOUT,
            amount=sale.amount,
            description=sale.description,
            now=self._clock(),
        )
        key = new_idempotency_key()
        intent = self.journal.begin_intent(
            reference,
            operation=CREATE_CHECKOUT,
            idempotency_key=key,
            amount=sale.amount,
            now=self._clock(),
        )
        request = CheckoutRequest(
            reference=reference,
            amount=sale.amount,
            description=sale.description,
            idempotency_key=key,
            success_url=success_url,
        )
        try:
            session = await self.provider.create_checkout(request)
        except ProviderError as error:
            payment = self._record_start_failure(reference, intent.id, error)
            raise CheckoutStartError(payment, error) from error
        self.journal.finish_intent(
            intent.id, IntentOutcome.SUCCEEDED, detail=session.provider_ref, now=self._clock()
        )
        payment = self.journal.update_payment(
            reference,
            now=self._clock(),
            state=PaymentState.PENDING,
            provider_ref=session.provider_ref,
            note=f"Checkout {session.provider_ref} opened at {self.provider.display_name}",
        )
        return HostedCheckout(payment, session)

    async def verify(self, reference: str) -> PaymentRecord:
        """Ask the provider what happened and record its answer."""
        payment = self._get(reference)
        if payment.provider_ref is None:
            return payment
        session = await self.provider.get_checkout(payment.provider_ref)
        return apply_session(self.journal, payment, session, self._clock())

    async def cancel(self, reference: str) -> PaymentRecord:
        """The cashier gives up on the checkout. Look first: the customer may just have paid."""
        payment = self._get(reference)
        try:
            payment = await self.verify(reference)
        except ProviderError as error:
            log.warning("Lookup before cancel of %s failed: %s", reference, error)
            return self.journal.update_payment(
                reference,
                now=self._clock(),
                state=PaymentState.IN_DOUBT,
                attention="Cancelled while the provider could not be reached; check this payment.",
                note=f"Cancelled by the cashier; lookup failed: {error.message}",
            )
        if payment.state in (PaymentState.CREATED, PaymentState.PENDING):
            # JustiFi has no API to close a checkout; it lapses on its own after 7 days.
            payment = self.journal.update_payment(
                reference,
                now=self._clock(),
                state=PaymentState.FAILED,
                note="Cancelled by the cashier before the customer paid",
            )
        return payment

    def _record_start_failure(
        self, reference: str, intent_id: int, error: ProviderError
    ) -> PaymentRecord:
        now = self._clock()
        if isinstance(error, ConnectionFailedError):
            self.journal.finish_intent(
                intent_id, IntentOutcome.NOT_SENT, detail=error.message, now=now
            )
            return self.journal.update_payment(
                reference,
                now=now,
                state=PaymentState.FAILED,
                note=f"Not sent: {error.message}",
            )
        if error.maybe_applied:
            self.journal.finish_intent(
                intent_id, IntentOutcome.UNKNOWN, detail=error.message, now=now
            )
            return self.journal.update_payment(
                reference,
                now=now,
                state=PaymentState.IN_DOUBT,
                attention="The provider may have opened this checkout; it will be checked.",
                note=f"Outcome unknown: {error.message}",
            )
        self.journal.finish_intent(intent_id, IntentOutcome.REJECTED, detail=error.message, now=now)
        return self.journal.update_payment(
            reference,
            now=now,
            state=PaymentState.FAILED,
            note=f"Refused: {error.message}",
        )

    def _get(self, reference: str) -> PaymentRecord:
        payment = self.journal.get(reference)
        if payment is None:
            raise KeyError(reference)
        return payment


def apply_session(
    journal: JournalStore, payment: PaymentRecord, session: CheckoutSession, now: datetime
) -> PaymentRecord:
    """Record what the provider says about a checkout, within the state machine's rules."""
    details = _session_details(session)
    target = session.state
    if target is payment.state:
        if all(getattr(payment, key) == value for key, value in details.items()):
            return payment
        return journal.update_payment(
            payment.reference, now=now, note="Details refreshed from the provider", **details
        )
    if not can_transition(payment.state, target):
        log.error(
            "%s: provider says %s but the journal has %s", payment.reference, target, payment.state
        )
        return journal.update_payment(
            payment.reference,
            now=now,
            attention=f"The provider reports '{session.provider_status}' but this payment is "
            f"recorded as {payment.state.value}. Check it with the provider.",
            note=f"Provider status {session.provider_status} conflicts with the journal",
        )
    return journal.update_payment(
        payment.reference,
        now=now,
        state=target,
        attention=None,
        note=f"{session.provider_status} at the provider ({session.provider_ref})",
        **details,
    )


class _Details(TypedDict, total=False):
    card_brand: str
    card_last4: str
    provider_payment_ref: str
    decline_code: str
    decline_message: str


def _session_details(session: CheckoutSession) -> _Details:
    """The payment fields a provider lookup can fill in (only those it reported)."""
    details: _Details = {}
    if session.card is not None:
        details["card_brand"] = session.card.brand
        details["card_last4"] = session.card.last4
    if session.payment_ref:
        details["provider_payment_ref"] = session.payment_ref
    if session.decline is not None:
        details["decline_code"] = session.decline.code.value
        details["decline_message"] = session.decline.provider_message
    return details
