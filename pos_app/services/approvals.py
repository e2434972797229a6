"""Manager approvals for refunds and voids: when one is needed, granting it, using it once.

The policy says which refunds and voids need a manager's (or administrator's) PIN on the
spot. Refund limits count what was already refunded: of the same payment, and in the same
shift (the till's local day), so five 100.00 refunds never slip under a 100.00 limit. Above a
limit the approver must be someone other than the person asking. A granted ``Approval`` is
bound to one action, one payment and one exact amount, lives two minutes and is used at most
once: ``consume`` burns it whatever the outcome, so an approval can never be stretched to a
second or different refund. ``PaymentService.refund``/``void`` call ``authorize`` themselves
(the GUI only asks for the PIN), so no caller can skip it. Tokens live in memory only: a
restart invalidates every outstanding approval, which is the safe direction.

Every grant, use and refusal is in the audit trail; every refusal is an ``ApprovalRefused``
whose message is written for the cashier or manager.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final

from pos_app.domain.money import Money, format_money
from pos_app.domain.users import Role
from pos_app.domain.vocabulary import Operation
from pos_app.journal.audit import SYSTEM_ACTOR, AuditAction, AuditLog
from pos_app.journal.reports import connection_of, refunds_asked_since
from pos_app.journal.store import JournalStore, PaymentRecord, utc_now
from pos_app.services.users import UserRefused, UserService

if TYPE_CHECKING:
    from collections.abc import Callable

    from pos_app.journal.users import User

__all__ = [
    "APPROVAL_LIFETIME",
    "Approval",
    "ApprovalAction",
    "ApprovalPolicy",
    "ApprovalRefused",
    "ApprovalRequirement",
    "ApprovalService",
]

APPROVAL_LIFETIME: Final = timedelta(minutes=2)


class ApprovalAction(StrEnum):
    """The operations a manager may have to approve (the same words)."""

    REFUND = Operation.REFUND.value
    VOID = Operation.VOID.value


@dataclass(frozen=True)
class ApprovalPolicy:
    """Which refunds and voids need a manager. A limit of None: no amount rule for that action."""

    refund_limit: Money | None = None  # a payment's refunds above this need approval
    void_limit: Money | None = None  # voids of payments above this need approval
    cashier_refunds: bool = True  # any refund by a cashier needs approval
    cashier_voids: bool = True  # any void by a cashier needs approval
    # A shift's refunds above this need approval; None: the same as ``refund_limit``.
    shift_refund_limit: Money | None = None


@dataclass(frozen=True)
class ApprovalRequirement:
    needed: bool
    reasons: tuple[str, ...] = ()
    # Needed because an amount went over a limit: then nobody may approve their own action.
    over_limit: bool = False

    @property
    def reason(self) -> str:
        return " ".join(self.reasons) if self.reasons else "No approval is needed."


@dataclass(frozen=True)
class Approval:
    action: ApprovalAction
    reference: str
    amount: Money
    approver_id: int
    approver_name: str
    requested_by: int | None
    granted_at: datetime
    expires_at: datetime
    token: str = field(repr=False, default="")


class ApprovalRefused(Exception):
    """An approval was refused or cannot be used. ``str()`` is the message to show."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class ApprovalService:
    def __init__(
        self,
        users: UserService,
        audit: AuditLog,
        policy: ApprovalPolicy | None = None,
        *,
        clock: Callable[[], datetime] = utc_now,
        lifetime: timedelta = APPROVAL_LIFETIME,
    ) -> None:
        self.policy = policy or ApprovalPolicy()  # settings may replace it while running
        self._users = users
        self._audit = audit
        self._clock = clock
        self._lifetime = lifetime
        self._outstanding: dict[str, Approval] = {}
        self._spent: set[str] = set()

    def required(
        self,
        action: ApprovalAction,
        amount: Money,
        user: User | None,
        *,
        payment_refunded: Money | None = None,
        shift_refunded: Money | None = None,
    ) -> ApprovalRequirement:
        """Whether ``user`` needs a manager's PIN to ``action`` ``amount``, and why.

        ``payment_refunded`` and ``shift_refunded`` are what was already refunded on the
        payment and in the shift (same currency): the limits apply to the totals. Managers
        and administrators are asked too when an amount is above a limit: the PIN on the
        spot proves they are at the till, and the approver must then be someone else.
        """
        if self._users.needs_first_admin():
            return ApprovalRequirement(False)  # no staff set up: nobody to ask
        reasons: list[str] = []
        cashier = user is not None and user.role is Role.CASHIER
        if user is None:
            reasons.append("Nobody is signed in, so a manager must approve.")
        elif action is ApprovalAction.REFUND and self.policy.cashier_refunds and cashier:
            reasons.append("Refunds by a cashier need a manager's PIN.")
        elif action is ApprovalAction.VOID and self.policy.cashier_voids and cashier:
            reasons.append("Voids by a cashier need a manager's PIN.")
        over = self._over_limits(action, amount, payment_refunded, shift_refunded)
        return ApprovalRequirement(bool(reasons or over), (*reasons, *over), bool(over))

    def requirement(
        self,
        journal: JournalStore,
        action: ApprovalAction,
        payment: PaymentRecord,
        amount: Money | None,
        user: User | None,
    ) -> ApprovalRequirement:
        """``required`` for a refund or void of ``payment`` (a void: its whole amount), with
        what was already refunded on it and in this shift (the till's local day)."""
        if action is ApprovalAction.VOID or amount is None:
            return self.required(action, amount or payment.amount, user)
        now = self._clock().astimezone()
        shift_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
        asked = refunds_asked_since(
            connection_of(journal), shift_start, amount.currency, training=payment.training
        )
        return self.required(
            action,
            amount,
            user,
            payment_refunded=payment.refunded,
            shift_refunded=Money(asked, amount.currency),
        )

    def _over_limits(
        self,
        action: ApprovalAction,
        amount: Money,
        payment_refunded: Money | None,
        shift_refunded: Money | None,
    ) -> list[str]:
        refund = action is ApprovalAction.REFUND
        noun = "Refunds" if refund else "Voids"
        limit = self.policy.refund_limit if refund else self.policy.void_limit
        if limit is None:
            return []
        if limit.currency != amount.currency:
            return [
                f"The approval limit is set in {limit.currency}, so {noun.lower()} in "
                f"{amount.currency} always need a manager's PIN."
            ]
        found: list[str] = []
        total = amount + (payment_refunded or Money(0, amount.currency))
        if total > limit:
            found.append(
                f"{noun} above {format_money(limit)} need a manager's PIN"
                + (f" ({format_money(total)} on this payment in all)." if total != amount else ".")
            )
        shift_limit = self.policy.shift_refund_limit or limit
        if refund and shift_refunded is not None and shift_limit.currency == amount.currency:
            shift_total = shift_refunded + amount
            if shift_total > shift_limit and total <= limit:
                found.append(
                    f"Refunds in this shift above {format_money(shift_limit)} need a manager's "
                    f"PIN ({format_money(shift_total)} with this one)."
                )
        return found

    def authorize(
        self,
        requirement: ApprovalRequirement,
        approval: Approval | None,
        action: ApprovalAction,
        reference: str,
        amount: Money,
        *,
        by: User | None,
    ) -> None:
        """What ``PaymentService`` calls before sending a refund or void: without a needed
        approval, or with one the asker gave themselves over a limit, nothing is sent."""
        if not requirement.needed:
            return
        if approval is None:
            raise ApprovalRefused("approval_needed", requirement.reason)
        not_by = by.id if requirement.over_limit and by is not None else None
        self.consume(approval, action, reference, amount, used_by=by, not_approved_by=not_by)

    def grant(
        self,
        approver: str,
        pin: str,
        action: ApprovalAction,
        reference: str,
        amount: Money,
        *,
        requested_by: User | None = None,
        other_than_requester: bool = False,
    ) -> Approval:
        """A manager (by name) approves ``action`` of ``amount`` on payment ``reference``.

        A wrong PIN counts toward the manager's lock-out like a wrong sign-in. With
        ``other_than_requester`` (an amount over a limit) ``requested_by`` cannot approve.
        """
        binding = _binding(action, reference, amount)
        try:
            manager = self._approver(approver, pin)
            if other_than_requester and requested_by is not None and manager.id == requested_by.id:
                raise ApprovalRefused("own_approval", _OWN_APPROVAL.format(action=action.value))
        except ApprovalRefused as refusal:
            self._audit.append(
                AuditAction.APPROVAL_REFUSED,
                actor=requested_by.actor if requested_by else SYSTEM_ACTOR,
                subject=reference,
                details={**binding, "approver": approver.strip()[:40], "reason": refusal.code},
            )
            raise
        now = self._clock()
        self._forget_expired(now)
        approval = Approval(
            action=action,
            reference=reference,
            amount=amount,
            approver_id=manager.id,
            approver_name=manager.name,
            requested_by=requested_by.id if requested_by else None,
            granted_at=now,
            expires_at=now + self._lifetime,
            token=secrets.token_urlsafe(16),
        )
        self._outstanding[approval.token] = approval
        self._audit.append(
            AuditAction.APPROVAL_GRANTED,
            actor=manager.actor,
            subject=reference,
            details={
                **binding,
                "approver": manager.name,
                "requested_by": approval.requested_by,
                "expires_at": approval.expires_at.isoformat(),
            },
        )
        return approval

    def consume(
        self,
        approval: Approval,
        action: ApprovalAction,
        reference: str,
        amount: Money,
        *,
        used_by: User | None = None,
        not_approved_by: int | None = None,
    ) -> None:
        """Use ``approval`` for exactly this action, payment and amount; it is gone afterwards.

        Call it immediately before the refund or void is sent. Raises ``ApprovalRefused``
        when the approval was used, expired, never granted here, is for something else, or
        was given by the user ``not_approved_by`` (above a limit, nobody approves their own).
        """
        actor = used_by.actor if used_by else SYSTEM_ACTOR
        binding = _binding(action, reference, amount)
        try:
            granted = self._take(approval)
            _check_binding(granted, action, reference, amount)
            if not_approved_by is not None and granted.approver_id == not_approved_by:
                raise ApprovalRefused("own_approval", _OWN_APPROVAL.format(action=action.value))
            if self._clock() >= granted.expires_at:
                minutes = int(self._lifetime.total_seconds() // 60)
                raise ApprovalRefused(
                    "expired",
                    f"The manager's approval expired (it lasts {minutes} minutes); "
                    "ask a manager to approve again.",
                )
        except ApprovalRefused as refusal:
            self._audit.append(
                AuditAction.APPROVAL_REFUSED,
                actor=actor,
                subject=reference,
                details={**binding, "approver": approval.approver_name, "reason": refusal.code},
            )
            raise
        self._audit.append(
            AuditAction.APPROVAL_USED,
            actor=actor,
            subject=reference,
            details={**binding, "approver": granted.approver_name},
        )

    def _approver(self, name: str, pin: str) -> User:
        candidate = self._users.find(name)
        if candidate is not None and not candidate.role.can_approve:
            # Refused before the PIN is checked: a cashier's PIN proves nothing here.
            raise ApprovalRefused(
                "not_allowed",
                f"{candidate.name} is a cashier; only a manager or an administrator can approve.",
            )
        try:
            return self._users.authenticate(name, pin)
        except UserRefused as refusal:
            raise ApprovalRefused(refusal.code, refusal.message) from refusal

    def _take(self, approval: Approval) -> Approval:
        granted = self._outstanding.pop(approval.token, None)
        if granted is None:
            if approval.token in self._spent:
                raise ApprovalRefused(
                    "already_used",
                    "This approval has already been used; ask a manager to approve again.",
                )
            raise ApprovalRefused(
                "not_granted", "This approval was not granted on this till; ask a manager."
            )
        self._spent.add(approval.token)
        if granted != approval:
            raise ApprovalRefused("not_granted", "This approval has been altered; ask a manager.")
        return granted

    def _forget_expired(self, now: datetime) -> None:
        for token, approval in list(self._outstanding.items()):
            if now >= approval.expires_at:
                del self._outstanding[token]
                self._spent.add(token)


_OWN_APPROVAL = "Above the limit another manager must approve: nobody approves their own {action}."


def _check_binding(
    granted: Approval, action: ApprovalAction, reference: str, amount: Money
) -> None:
    if granted.action is not action:
        raise ApprovalRefused(
            "wrong_action",
            f"This approval is for a {granted.action.value}, not a {action.value}; "
            "ask a manager to approve this one.",
        )
    if granted.reference != reference:
        raise ApprovalRefused(
            "wrong_payment",
            f"This approval is for payment {granted.reference}, not {reference}.",
        )
    if granted.amount != amount:
        raise ApprovalRefused(
            "wrong_amount",
            f"The manager approved {format_money(granted.amount)}, not {format_money(amount)}; "
            "ask a manager to approve the new amount.",
        )


def _binding(action: ApprovalAction, reference: str, amount: Money) -> dict[str, Any]:
    if not amount.is_positive:
        raise ApprovalRefused("invalid_amount", "There is no amount to approve.")
    return {
        "action": action.value,
        "amount_minor": amount.minor,
        "currency": amount.currency,
    }
