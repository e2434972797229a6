"""The only caller of payment providers.

Every operation runs the same way: guard (capabilities and the money rules, nothing sent when
they refuse) → write the intent with its idempotency key → call the provider → record the
outcome → publish a change. An outcome we could not learn leaves the payment IN_DOUBT and
triggers a lookup; start-up reconciliation is the same lookup run over every open payment.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

from pos_app.domain.ids import new_idempotency_key, new_reference
from pos_app.domain.money import Money
from pos_app.domain.payment import (
    PaymentLedger,
    PaymentRuleError,
    PaymentState,
    can_transition,
)
from pos_app.domain.vocabulary import Operation, PaymentMethod
from pos_app.journal.store import (
    Environment,
    Intent,
    IntentGuard,
    IntentOutcome,
    JournalStore,
    PaymentRecord,
    utc_now,
)
from pos_app.journal.users import User
from pos_app.providers.base import BalanceLedger, PaymentProvider
from pos_app.providers.errors import (
    ConnectionFailedError,
    NotSupportedError,
    ProviderError,
    ResponseInvalidError,
)
from pos_app.providers.types import (
    ActionResult,
    Capability,
    CaptureRequest,
    ChargeRequest,
    CheckoutMode,
    CheckoutRequest,
    CheckoutSession,
    PaymentAction,
    PaymentSource,
    ProviderPayment,
    RefundRequest,
    VoidRequest,
)
from pos_app.providers.webhooks import WebhookEvent
from pos_app.services.approvals import Approval, ApprovalAction, ApprovalService
from pos_app.services.events import ChangeHub, PaymentChange, Subscriber
from pos_app.services.outcomes import UNREADABLE, apply_payment, apply_session
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
    """The provider refused or could not be reached; ``payment`` is the journal's record now."""

    def __init__(self, payment: PaymentRecord, error: ProviderError) -> None:
        super().__init__(error.message)
        self.payment = payment
        self.error = error


@dataclass(frozen=True)
class CheckoutOpened:
    payment: PaymentRecord
    session: CheckoutSession


@dataclass
class ReconcileReport:
    resolved: list[str] = field(default_factory=list)
    needs_attention: list[str] = field(default_factory=list)


class PaymentService:
    """``providers`` maps a profile name to its adapter; it may change while the app runs."""

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

    # -- starting payments ----------------------------------------------------------

    async def open_checkout(
        self,
        profile: str,
        sale: Sale,
        *,
        method: PaymentMethod = PaymentMethod.HOSTED_CHECKOUT,
        success_url: str | None = None,
        origin_url: str | None = None,
        in_browser: bool = False,
    ) -> CheckoutOpened:
        """Open a provider checkout for the sale, paid as ``method`` (the journal's name for
        it): the customer pays on the provider's page, a link, the card form or a reader.
        ``in_browser``: the page opens in the system browser, not the till's own view."""
        provider = self.provider_for(profile)
        mode = _checkout_mode(method, provider, in_browser=in_browser)
        needed = (
            Capability.HOSTED_CHECKOUT if mode is CheckoutMode.HOSTED else Capability.PAY_BY_LINK
        )
        self._require(provider, needed)
        self._require_amount(provider, sale.amount)
        payment = self._new_payment(profile, provider, method, sale)

        def call(key: str) -> Awaitable[CheckoutSession]:
            return provider.create_checkout(
                CheckoutRequest(
                    reference=payment.reference,
                    amount=sale.amount,
                    description=sale.description,
                    idempotency_key=key,
                    success_url=success_url,
                    origin_url=origin_url,
                    mode=mode,
                )
            )

        intent, session = await self._send(payment, Operation.CREATE_CHECKOUT, sale.amount, call)
        self._finish(intent, session.provider_ref)
        payment = self.journal.update_payment(
            payment.reference,
            now=self._clock(),
            state=PaymentState.PENDING,
            provider_ref=session.provider_ref,
            note=f"Checkout {session.provider_ref} opened at {provider.display_name}",
        )
        payment = apply_session(self.journal, payment, session, self._clock())
        self._publish(payment, Operation.CREATE_CHECKOUT)
        return CheckoutOpened(payment, session)

    async def charge(
        self,
        profile: str,
        sale: Sale,
        source: PaymentSource,
        *,
        capture: bool = True,
        success_url: str | None = None,
        failure_url: str | None = None,
        method: PaymentMethod = PaymentMethod.DIRECT_CHARGE,
    ) -> PaymentRecord:
        """Charge (or, with ``capture=False``, only authorize) a token, source or customer;
        ``method`` says where the card came from (``PaymentMethod.CARD_READER`` for a reader)."""
        provider = self.provider_for(profile)
        self._require(provider, Capability.DIRECT_CHARGE)
        if not capture:
            self._require(provider, Capability.AUTHORIZE_CAPTURE)
        self._require_amount(provider, sale.amount)
        payment = self._new_payment(profile, provider, method, sale)
        return await self._charge(
            payment, provider, source, capture, None, success_url, failure_url
        )

    async def complete_checkout(
        self, reference: str, source: PaymentSource, *, capture: bool = True
    ) -> PaymentRecord:
        """Pay an open checkout through the API with a token (no hosted page)."""
        payment = self._get(reference)
        provider = self.provider_for(payment.profile)
        self._require(provider, Capability.DIRECT_CHARGE)
        if payment.state is not PaymentState.PENDING or payment.provider_ref is None:
            raise PaymentRefused(
                f"Only an open checkout can be paid; this one is {payment.state.value}."
            )
        return await self._charge(payment, provider, source, capture, payment.provider_ref)

    async def _charge(
        self,
        payment: PaymentRecord,
        provider: PaymentProvider,
        source: PaymentSource,
        capture: bool,
        checkout_ref: str | None,
        success_url: str | None = None,
        failure_url: str | None = None,
    ) -> PaymentRecord:
        def call(key: str) -> Awaitable[ProviderPayment]:
            return provider.charge(
                ChargeRequest(
                    reference=payment.reference,
                    amount=payment.amount,
                    description=payment.description,
                    idempotency_key=key,
                    source=source,
                    capture=capture,
                    checkout_ref=checkout_ref,
                    success_url=success_url,
                    failure_url=failure_url,
                )
            )

        intent, reported = await self._send(payment, Operation.CHARGE, payment.amount, call)
        self._finish(intent, reported.provider_ref)
        payment = apply_payment(self.journal, payment, reported, self._clock())
        self._publish(payment, Operation.CHARGE)
        return payment

    # -- after the sale ---------------------------------------------------------------

    async def capture(
        self, reference: str, amount: Money | None = None, *, final: bool = True
    ) -> PaymentRecord:
        """Capture an authorization; ``amount`` None takes everything still capturable."""
        payment, provider, payment_ref = self._for_action(reference, Capability.AUTHORIZE_CAPTURE)
        ledger = payment.ledger
        wanted = ledger.capturable if amount is None else amount
        if wanted != ledger.capturable or not final:
            self._require(provider, Capability.PARTIAL_CAPTURE)

        def call(key: str) -> Awaitable[ActionResult]:
            return provider.capture(
                CaptureRequest(
                    payment_ref, key, amount=None if amount is None else wanted, final=final
                )
            )

        return await self._act(
            payment,
            Operation.CAPTURE,
            wanted,
            call,
            lambda ledger: ledger.capture(wanted, final=final),
        )

    async def refund(
        self,
        reference: str,
        amount: Money,
        reason: str,
        *,
        by: User | None = None,
        approval: Approval | None = None,
    ) -> PaymentRecord:
        """Return ``amount`` of what was captured to the customer, as ``by``; ``approval`` is
        the manager's where the policy asks for one (``ApprovalRefused`` otherwise, and
        nothing is sent)."""
        payment, provider, payment_ref = self._for_action(reference, Capability.REFUND)
        self._authorize(ApprovalAction.REFUND, payment, amount, by, approval)
        if amount != payment.ledger.refundable:
            self._require(provider, Capability.PARTIAL_REFUND)
        refund_reference = f"{reference}-R{len(self._intents(reference, Operation.REFUND)) + 1}"

        def call(key: str) -> Awaitable[ActionResult]:
            return provider.refund(
                RefundRequest(payment_ref, amount, reason, key, reference=refund_reference)
            )

        return await self._act(
            payment, Operation.REFUND, amount, call, lambda ledger: ledger.refund(amount)
        )

    async def void(
        self,
        reference: str,
        reason: str = "",
        *,
        by: User | None = None,
        approval: Approval | None = None,
    ) -> PaymentRecord:
        """Cancel an authorization before anything is captured (approval as for refunds)."""
        payment, provider, payment_ref = self._for_action(reference, Capability.VOID)
        self._authorize(ApprovalAction.VOID, payment, None, by, approval)

        def call(key: str) -> Awaitable[ActionResult]:
            return provider.void(VoidRequest(payment_ref, key, reason))

        # The provider knows its own void window; it refuses a late void itself.
        return await self._act(
            payment,
            Operation.VOID,
            None,
            call,
            lambda ledger: ledger.void(now=self._clock(), window_ends_at=None),
        )

    async def cancel_checkout(self, reference: str) -> PaymentRecord:
        """The cashier gives up on a checkout. Look first: the customer may just have paid."""
        try:
            payment = await self.refresh(reference)
        except ProviderError as error:
            log.warning("Lookup before cancel of %s failed: %s", reference, error)
            payment = self._get(reference)
            if not can_transition(payment.state, PaymentState.IN_DOUBT):
                return payment
            payment = self.journal.update_payment(
                reference,
                now=self._clock(),
                state=PaymentState.IN_DOUBT,
                attention="Cancelled while the provider could not be reached; check this payment.",
                note=f"Cancelled by the cashier; lookup failed: {error.message}",
            )
            self._publish(payment, Operation.CANCEL)
            return payment
        if payment.state in (PaymentState.CREATED, PaymentState.PENDING):
            # No provider we use can close an open checkout; it lapses on its own.
            after_decline = " after a declined card" if payment.decline_code else ""
            payment = self.journal.update_payment(
                reference,
                now=self._clock(),
                state=PaymentState.FAILED,
                note=f"Cancelled by the cashier{after_decline} before the customer paid",
            )
            self._publish(payment, Operation.CANCEL)
        elif payment.state is PaymentState.REQUIRES_ACTION:
            # A bank check (3-D Secure) cannot be called off: unfinished, it lapses at the
            # provider. It stays open here so later lookups record how it ended.
            payment = self.journal.add_note(
                reference,
                now=self._clock(),
                note="Abandoned by the cashier during the bank check; it lapses at the provider",
            )
            self._publish(payment, Operation.CANCEL)
        return payment

    # -- lookups ------------------------------------------------------------------------

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

    async def _act(
        self,
        payment: PaymentRecord,
        operation: Operation,
        amount: Money | None,
        call: Callable[[str], Awaitable[ActionResult]],
        rules: Callable[[PaymentLedger], PaymentLedger],
    ) -> PaymentRecord:
        """Capture, refund or void: the money rules run now (a quick answer) and again on the
        fresh record inside the intent's transaction, so a second till cannot race past them."""
        _check_rules(lambda: rules(payment.ledger))

        def guard(current: PaymentRecord, open_intents: list[Intent]) -> None:
            if open_intents:
                busy = open_intents[0].operation.replace("_", " ")
                raise PaymentRefused(
                    f"A {busy} of this payment is still being processed. "
                    "Wait for it to finish, then look again."
                )
            if current.state is PaymentState.IN_DOUBT:
                raise PaymentRefused("This payment is in doubt. Check it with the provider first.")
            _check_rules(lambda: rules(current.ledger))

        intent, result = await self._send(payment, operation, amount, call, guard)
        self._finish(intent, result.action_ref)
        current = self._get(payment.reference)
        updated = apply_payment(self.journal, current, result.payment, self._clock())
        self._publish(updated, operation)
        return updated

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

    def _needs_attention(self, payment: PaymentRecord, why: str) -> PaymentRecord:
        """Flag the payment for a person (once: the same reason is not written again)."""
        if payment.attention == why:
            return payment
        return self.journal.update_payment(
            payment.reference, now=self._clock(), attention=why, note=why
        )

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

    # -- guards and small helpers ---------------------------------------------------------

    def _authorize(
        self,
        action: ApprovalAction,
        payment: PaymentRecord,
        amount: Money | None,
        by: User | None,
        approval: Approval | None,
    ) -> None:
        if self.approvals is None:
            return
        requirement = self.approvals.requirement(self.journal, action, payment, amount, by)
        self.approvals.authorize(
            requirement, approval, action, payment.reference, amount or payment.amount, by=by
        )

    def _for_action(
        self, reference: str, capability: Capability
    ) -> tuple[PaymentRecord, PaymentProvider, str]:
        payment = self._get(reference)
        provider = self.provider_for(payment.profile)
        self._require(provider, capability)
        if payment.state is PaymentState.IN_DOUBT:
            raise PaymentRefused("This payment is in doubt. Check it with the provider first.")
        if payment.provider_payment_ref is None:
            raise PaymentRefused("The provider has not reported a payment for this sale yet.")
        return payment, provider, payment.provider_payment_ref

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

    def _flag(self, reference: str, why: str, report: ReconcileReport) -> None:
        log.warning("%s needs attention: %s", reference, why)
        payment = self._get(reference)
        if payment.attention != why:
            self.journal.update_payment(reference, now=self._clock(), attention=why, note=why)
        report.needs_attention.append(reference)

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


def _checkout_mode(
    method: PaymentMethod, provider: PaymentProvider, *, in_browser: bool
) -> CheckoutMode:
    """The provider checkout a method opens: the one place a payment method becomes one.

    Pay-by-link opens a link. A hosted checkout for the system browser opens the provider's
    link page where it has one: that needs no return URL, and a hosted page may insist on
    one only the till's own view can catch (its journal method stays hosted checkout). The
    card form and a card reader pay a hosted checkout.
    """
    if method == PaymentMethod.PAY_BY_LINK:
        return CheckoutMode.LINK
    can_link = Capability.PAY_BY_LINK in provider.capabilities
    if method == PaymentMethod.HOSTED_CHECKOUT and in_browser and can_link:
        return CheckoutMode.LINK
    return CheckoutMode.HOSTED


def _check_rules(operation: Callable[[], PaymentLedger]) -> None:
    """Run the domain's money rules; their message is the cashier's answer."""
    try:
        operation()
    except PaymentRuleError as error:  # IllegalTransition included
        raise PaymentRefused(str(error)) from error


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
