"""Manager approvals for refunds and voids: when one is needed, granting it, using it once.

The policy says which refunds and voids need a manager's (or administrator's) PIN on the
spot. A granted ``Approval`` is bound to one action, one payment and one exact amount, lives
two minutes and is used at most once: ``consume`` burns it whatever the outcome, so an
approval can never be stretched to a second or different refund. Tokens live in memory only:
a restart invalidates every outstanding approval, which is the safe direction.

Every grant, use and refusal is in the audit trail; every refusal is an ``ApprovalRefused``
whose message is written for the cashier or manager.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final

from pos_app.domain.money import Money, format_money
from pos_app.domain.users import Role
from pos_app.journal.audit import SYSTEM_ACTOR, AuditAction, AuditLog
from pos_app.journal.store import utc_now
from pos_app.journal.users import User
from pos_app.services.users import UserRefused, UserService

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
    REFUND = "refund"
    VOID = "void"


@dataclass(frozen=True)
class ApprovalPolicy:
    """Which refunds and voids need a manager. A limit of None: no amount rule for that action."""

    refund_limit: Money | None = None  # refunds above this need approval
    void_limit: Money | None = None  # voids of payments above this need approval
    cashier_refunds: bool = True  # any refund by a cashier needs approval


@dataclass(frozen=True)
class ApprovalRequirement:
    needed: bool
    reasons: tuple[str, ...] = ()

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
        self, action: ApprovalAction, amount: Money, user: User | None
    ) -> ApprovalRequirement:
        """Whether ``user`` needs a manager's PIN to ``action`` ``amount``, and why.

        Managers and administrators are asked too when the amount is above the limit: the
        PIN on the spot proves they are at the till, not just signed in on it.
        """
        reasons: list[str] = []
        noun = "Refunds" if action is ApprovalAction.REFUND else "Voids"
        if user is None:
            reasons.append("Nobody is signed in, so a manager must approve.")
        elif (
            action is ApprovalAction.REFUND
            and self.policy.cashier_refunds
            and user.role is Role.CASHIER
        ):
            reasons.append("Refunds by a cashier need a manager's PIN.")
        limit = (
            self.policy.refund_limit if action is ApprovalAction.REFUND else self.policy.void_limit
        )
        if limit is not None:
            if limit.currency != amount.currency:
                reasons.append(
                    f"The approval limit is set in {limit.currency}, so {noun.lower()} in "
                    f"{amount.currency} always need a manager's PIN."
                )
            elif amount > limit:
                reasons.append(f"{noun} above {format_money(limit)} need a manager's PIN.")
        return ApprovalRequirement(bool(reasons), tuple(reasons))

    def grant(
        self,
        approver: str,
        pin: str,
        action: ApprovalAction,
        reference: str,
        amount: Money,
        *,
        requested_by: User | None = None,
    ) -> Approval:
        """A manager (by name) approves ``action`` of ``amount`` on payment ``reference``.

        A wrong PIN counts toward the manager's lock-out like a wrong sign-in.
        """
        binding = _binding(action, reference, amount)
        try:
            manager = self._approver(approver, pin)
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
    ) -> None:
        """Use ``approval`` for exactly this action, payment and amount; it is gone afterwards.

        Call it immediately before the refund or void is sent. Raises ``ApprovalRefused``
        when the approval was used, expired, never granted here, or is for something else.
        """
        actor = used_by.actor if used_by else SYSTEM_ACTOR
        binding = _binding(action, reference, amount)
        try:
            granted = self._take(approval)
            _check_binding(granted, action, reference, amount)
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
