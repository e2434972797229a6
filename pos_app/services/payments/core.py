"""The one path every call to a provider takes, and what the use cases share.

Guard (capabilities and the money rules, nothing sent when they refuse) → write the intent
with its idempotency key → call the provider → record the outcome → publish a change. An
outcome we could not learn leaves the payment IN_DOUBT and triggers a lookup.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, TypeVar

from pos_app.domain.ids import new_idempotency_key, new_reference
from pos_app.domain.payment import PaymentState
from pos_app.journal.store import (
    Environment,
    Intent,
    IntentGuard,
    IntentOutcome,
    JournalStore,
    PaymentRecord,
    utc_now,
)
from pos_app.providers.errors import ConnectionFailedError, ProviderError
from pos_app.providers.types import Capability
from pos_app.services.events import ChangeHub, PaymentChange, Subscriber

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Mapping

    from pos_app.domain.money import Money
    from pos_app.domain.vocabulary import Operation, PaymentMethod
    from pos_app.providers.base import PaymentProvider
    from pos_app.services.approvals import ApprovalService
    from pos_app.services.sale import Sale

log = logging.getLogger(__name__)

T = TypeVar("T")

# The longest a provider keeps a checkout payable (JustiFi: one week; links: up to 7 days).
CHECKOUT_LIFETIME = timedelta(days=7)

# A request whose answer was lost may still be applied by the provider for a while (held,
# queued or slow): until this long after it was sent, "no trace of it" proves nothing.
SETTLE_AFTER = timedelta(minutes=10)
STILL_PROCESSING = "may still be processing"

# Payments whose outcome a lookup may still change.
OPEN_STATES = frozenset(
    {
        PaymentState.CREATED,
        PaymentState.PENDING,
        PaymentState.IN_DOUBT,
        PaymentState.REQUIRES_ACTION,
    }
)


class PaymentRefused(Exception):
    """The operation was refused before anything was sent (a rule, a missing capability).

    The message is written for the cashier.
    """


class OperationFailed(Exception):
    """The provider refused or could not be reached; ``payment`` is the journal's record now.

    The one failure every use case raises, from opening a checkout to a void.
    """

    def __init__(self, payment: PaymentRecord, error: ProviderError) -> None:
        super().__init__(error.message)
        self.payment = payment
        self.error = error


class PaymentCore:
    """The state the use cases share: the journal, the profiles' adapters, the clock.

    ``providers`` maps a profile name to its adapter; it may change while the app runs.
    """

    def __init__(
        self,
        journal: JournalStore,
        providers: Mapping[str, PaymentProvider],
        *,
        clock: Callable[[], datetime] = utc_now,
        changes: ChangeHub | None = None,
        approvals: ApprovalService | None = None,
        environments: Callable[[str], Environment | None] | None = None,
    ) -> None:
        self.journal = journal
        self._providers = providers
        # A profile name's environment (sandbox or live), recorded with each new payment so
        # training stays out of the real totals; None for a profile it does not know (then the
        # payment's environment is unknown, which counts as real money).
        self.environment_of: Callable[[str], Environment | None] = environments or _unknown
        self._clock = clock
        self.changes = changes or ChangeHub()
        # The approval policy, applied to every refund and void whoever calls: None only
        # where no staff exist at all (tests of the provider layer).
        self.approvals = approvals
        # Payments with a request of ours on its way right now: their own call records the
        # outcome, so reconciliation (running beside a sale) leaves them alone.
        self._in_flight: set[str] = set()

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        return self.changes.subscribe(subscriber)

    def provider_for(self, profile: str) -> PaymentProvider:
        provider = self._providers.get(profile)
        if provider is None:
            raise PaymentRefused(f"The payment profile '{profile}' is not available.")
        return provider

    async def refresh(self, reference: str) -> PaymentRecord:
        """Look the payment up at the provider (``Lookups`` does it); a lost answer needs it."""
        raise NotImplementedError

    # -- the one path every call takes ---------------------------------------------------

    async def _send(
        self,
        payment: PaymentRecord,
        operation: Operation,
        amount: Money | None,
        call: Callable[[str], Awaitable[T]],
        guard: IntentGuard | None = None,
    ) -> tuple[Intent, T]:
        """Write the intent, then call. A failure is recorded before it is re-raised."""
        key = new_idempotency_key()
        intent = self.journal.begin_intent(
            payment.reference,
            operation=operation,
            idempotency_key=key,
            amount=amount,
            now=self._clock(),
            guard=guard,
        )
        self._in_flight.add(payment.reference)
        try:
            return intent, await call(key)
        except ProviderError as error:
            recorded = await self._record_failure(payment, intent, error)
            raise OperationFailed(recorded, error) from error
        finally:
            self._in_flight.discard(payment.reference)

    async def _record_failure(
        self, payment: PaymentRecord, intent: Intent, error: ProviderError
    ) -> PaymentRecord:
        now = self._clock()
        verb = intent.operation.replace("_", " ")
        if isinstance(error, ConnectionFailedError) or not error.maybe_applied:
            outcome = (
                IntentOutcome.NOT_SENT
                if isinstance(error, ConnectionFailedError)
                else IntentOutcome.REJECTED
            )
            self.journal.finish_intent(intent.id, outcome, detail=error.message, now=now)
            what = "Not sent" if outcome is IntentOutcome.NOT_SENT else "Refused"
            if intent.operation.opens_payment and payment.state is PaymentState.CREATED:
                recorded = self.journal.update_payment(
                    payment.reference,
                    now=now,
                    state=PaymentState.FAILED,
                    note=f"{what}: {error.message}",
                )
            else:
                recorded = self.journal.add_note(
                    payment.reference,
                    now=now,
                    note=f"{verb.capitalize()} {what.lower()}: {error.message}",
                )
            self._publish(recorded, intent.operation)
            return recorded
        self.journal.finish_intent(intent.id, IntentOutcome.UNKNOWN, detail=error.message, now=now)
        recorded = self.journal.update_payment(
            payment.reference,
            now=now,
            state=PaymentState.IN_DOUBT,
            attention=f"The {verb} may have reached the provider; it is being checked.",
            note=f"Outcome of {verb} unknown: {error.message}",
        )
        self._publish(recorded, intent.operation)
        try:
            return await self.refresh(payment.reference)
        except (ProviderError, PaymentRefused) as lookup_error:
            log.warning("Lookup after an unknown %s failed: %s", verb, lookup_error)
            return self._get(payment.reference)

    def _finish(self, intent: Intent, detail: str) -> None:
        self.journal.finish_intent(
            intent.id, IntentOutcome.SUCCEEDED, detail=detail, now=self._clock()
        )

    # -- guards and small helpers ---------------------------------------------------------

    def _require(self, provider: PaymentProvider, capability: Capability) -> None:
        if capability not in provider.capabilities:
            raise PaymentRefused(
                f"{provider.display_name} cannot {_CAPABILITY_VERBS.get(capability, capability)}."
            )

    def _require_amount(self, provider: PaymentProvider, amount: Money) -> None:
        reason = provider.limits.check(amount)
        if reason:
            raise PaymentRefused(reason)

    def _new_payment(
        self, profile: str, provider: PaymentProvider, method: PaymentMethod, sale: Sale
    ) -> PaymentRecord:
        return self.journal.create_payment(
            reference=new_reference(self._clock()),
            profile=profile,
            provider=provider.key,
            method=method,
            amount=sale.amount,
            description=sale.description,
            now=self._clock(),
            environment=self.environment_of(profile),
        )

    def _intents(self, reference: str, operation: Operation | None = None) -> list[Intent]:
        intents = self.journal.intents_for(reference)
        return [i for i in intents if operation is None or i.operation == operation]

    def _get(self, reference: str) -> PaymentRecord:
        payment = self.journal.get(reference)
        if payment is None:
            raise KeyError(reference)
        return payment

    def _needs_attention(self, payment: PaymentRecord, why: str) -> PaymentRecord:
        """Flag the payment for a person (once: the same reason is not written again)."""
        if payment.attention == why:
            return payment
        return self.journal.update_payment(
            payment.reference, now=self._clock(), attention=why, note=why
        )

    def _publish(self, payment: PaymentRecord, operation: Operation) -> None:
        self.changes.publish(PaymentChange(payment.reference, operation, payment.state))


_CAPABILITY_VERBS = {
    Capability.HOSTED_CHECKOUT: "open a hosted checkout",
    Capability.PAY_BY_LINK: "take payment by link",
    Capability.DIRECT_CHARGE: "charge a card directly",
    Capability.AUTHORIZE_CAPTURE: "capture payments",
    Capability.PARTIAL_CAPTURE: "capture part of a payment",
    Capability.VOID: "void payments",
    Capability.REFUND: "refund payments",
    Capability.PARTIAL_REFUND: "refund part of a payment",
}


def _unknown(_profile: str) -> Environment | None:
    return None
