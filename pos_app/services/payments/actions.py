"""After the sale: capture, refund and void, and which of them a payment offers now.

The money rules run before anything is sent and again inside the intent's transaction, so a
second till cannot race past them; refunds and voids pass the approval policy first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pos_app.domain.payment import PaymentLedger, PaymentRuleError, PaymentState
from pos_app.domain.vocabulary import Operation
from pos_app.providers.registry import PROVIDERS
from pos_app.providers.types import (
    ActionResult,
    Capability,
    CaptureRequest,
    RefundRequest,
    VoidRequest,
)
from pos_app.services.approvals import Approval, ApprovalAction
from pos_app.services.outcomes import apply_payment
from pos_app.services.payments.core import PaymentCore, PaymentRefused

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from datetime import datetime, timedelta

    from pos_app.domain.money import Money
    from pos_app.journal.store import Intent, PaymentRecord
    from pos_app.journal.users import User
    from pos_app.providers.base import PaymentProvider


class Actions(PaymentCore):
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
                raise PaymentRefused(_IN_DOUBT)
            _check_rules(lambda: rules(current.ledger))

        intent, result = await self._send(payment, operation, amount, call, guard)
        self._finish(intent, result.action_ref)
        current = self._get(payment.reference)
        updated = apply_payment(self.journal, current, result.payment, self._clock())
        self._publish(updated, operation)
        return updated

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
        not_yet = _not_yet(payment)
        if not_yet is not None or payment.provider_payment_ref is None:
            raise PaymentRefused(not_yet or _NO_PAYMENT_YET)
        return payment, provider, payment.provider_payment_ref


def _check_rules(operation: Callable[[], PaymentLedger]) -> None:
    """Run the domain's money rules; their message is the cashier's answer."""
    try:
        operation()
    except PaymentRuleError as error:  # IllegalTransition included
        raise PaymentRefused(str(error)) from error


# -- what a payment offers now (the detail page's buttons; the guards above say the same) ----

_IN_DOUBT = "This payment is in doubt: refresh from provider first."
_NOT_PAID_YET = "The customer has not paid yet: there is nothing to capture, refund or void."
_NO_PAYMENT_YET = "The provider has not reported a payment for this sale yet."


def _not_yet(payment: PaymentRecord) -> str | None:
    """Why nothing can be captured, refunded or voided yet; None when the ledger decides."""
    if payment.state is PaymentState.IN_DOUBT:
        return _IN_DOUBT
    if payment.provider_payment_ref is None and payment.state in (
        PaymentState.CREATED,
        PaymentState.PENDING,
    ):
        return _NOT_PAID_YET
    return None


@dataclass(frozen=True)
class Available:
    capture: bool = False
    partial_capture: bool = False
    may_continue: bool = False  # a non-final capture is possible
    refund: bool = False
    partial_refund: bool = False
    void: bool = False
    why_not: list[str] = field(default_factory=list)  # sentences for the cashier


def void_deadline(
    payment: PaymentRecord, authorized_at: datetime | None
) -> tuple[timedelta | None, datetime | None]:
    """(the provider's void window, its end when known). The window runs from the moment
    the provider created the payment: a direct charge's sale time, or its history's."""
    spec = PROVIDERS.get(payment.provider)
    window = spec.void_window if spec else None
    if window is None:
        return None, None
    start = authorized_at or (payment.created_at if payment.method.charged_by_us else None)
    return window, (start + window) if start else None


def can_void_now(payment: PaymentRecord, now: datetime, deadline: datetime | None) -> bool:
    """The money rules and the known window allow a void (the provider has the last word)."""
    try:
        payment.ledger.void(now=now, window_ends_at=deadline)
    except PaymentRuleError:
        return False
    return True


def available_actions(
    payment: PaymentRecord,
    capabilities: frozenset[Capability],
    *,
    provider_name: str,
    now: datetime,
    void_deadline: datetime | None,
) -> Available:
    """Which of capture, refund and void the payment offers now: the provider's
    capabilities and the payment's state decide, never a trial request."""
    not_yet = _not_yet(payment)
    if not_yet is not None:
        return Available(why_not=[not_yet])
    if payment.provider_payment_ref is None:
        return Available()
    ledger = payment.ledger
    why: list[str] = []
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
