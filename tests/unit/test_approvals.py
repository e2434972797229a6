"""Manager approvals: when one is needed, and a granted one works once, for one thing only."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from pos_app.domain.money import Money
from pos_app.domain.pins import KdfParams
from pos_app.domain.users import Role
from pos_app.journal.audit import AuditLog
from pos_app.journal.db import connect
from pos_app.journal.users import User, UserStore
from pos_app.services.approvals import (
    Approval,
    ApprovalAction,
    ApprovalPolicy,
    ApprovalRefused,
    ApprovalService,
)
from pos_app.services.users import Session, UserRefused, UserService

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
REFUND, VOID = ApprovalAction.REFUND, ApprovalAction.VOID
REF = "S-20261122-7K3M9Q"


def usd(minor: int) -> Money:
    return Money(minor, "USD")


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Shop:
    clock: Clock
    audit: AuditLog
    users: UserService
    approvals: ApprovalService
    admin: User
    manager: User
    cashier: User

    def refusals(self) -> list[str]:
        return [e.details["reason"] for e in self.audit.entries() if e.action == "approval_refused"]


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[Shop]:
    clock = Clock()
    conn = connect(tmp_path / "journal.sqlite3")
    audit = AuditLog(conn, clock=clock)
    users = UserService(UserStore(conn), audit, clock=clock, kdf=KdfParams(n=2**8))
    admin = users.create_first_admin("Ada", "246813")
    manager = users.add_user(admin, "Mona", Role.MANAGER, "135792")
    cashier = users.add_user(admin, "Cal", Role.CASHIER, "9753")
    policy = ApprovalPolicy(refund_limit=usd(10_000), void_limit=usd(50_000))
    approvals = ApprovalService(users, audit, policy, clock=clock)
    yield Shop(clock, audit, users, approvals, admin, manager, cashier)
    conn.close()


# -- when an approval is needed -------------------------------------------------------------


def test_any_refund_by_a_cashier_needs_a_manager(shop: Shop) -> None:
    needed = shop.approvals.required(REFUND, usd(100), shop.cashier)
    assert needed.needed
    assert needed.reason == "Refunds by a cashier need a manager's PIN."


def test_a_manager_refunds_below_the_limit_without_approval(shop: Shop) -> None:
    needed = shop.approvals.required(REFUND, usd(10_000), shop.manager)
    assert not needed.needed
    assert needed.reason == "No approval is needed."


def test_amounts_above_the_limit_need_a_managers_pin_even_for_a_manager(shop: Shop) -> None:
    refund = shop.approvals.required(REFUND, usd(10_001), shop.manager)
    assert refund.needed
    assert refund.reason == "Refunds above $100.00 need a manager's PIN."
    void = shop.approvals.required(VOID, usd(50_001), shop.admin)
    assert void.needed
    assert "Voids above $500.00" in void.reason
    assert not shop.approvals.required(VOID, usd(50_000), shop.manager).needed
    # A cashier's void needs a manager at any amount, by default.
    assert shop.approvals.required(VOID, usd(1), shop.cashier).reason == (
        "Voids by a cashier need a manager's PIN."
    )


def test_refund_limits_count_what_was_already_refunded(shop: Shop) -> None:
    """Five 100.00 refunds must not pass a 100.00 limit one by one."""
    first = shop.approvals.required(
        REFUND, usd(10_000), shop.manager, payment_refunded=usd(0), shift_refunded=usd(0)
    )
    assert not first.needed
    same_payment = shop.approvals.required(
        REFUND, usd(5_000), shop.manager, payment_refunded=usd(10_000), shift_refunded=usd(0)
    )
    assert same_payment.needed
    assert same_payment.over_limit
    assert "($150.00 on this payment in all)" in same_payment.reason
    other_payment = shop.approvals.required(
        REFUND, usd(5_000), shop.manager, payment_refunded=usd(0), shift_refunded=usd(10_000)
    )
    assert other_payment.needed
    assert "Refunds in this shift above $100.00" in other_payment.reason
    shop.approvals.policy = ApprovalPolicy(refund_limit=usd(10_000), shift_refund_limit=usd(50_000))
    assert not shop.approvals.required(
        REFUND, usd(5_000), shop.manager, payment_refunded=usd(0), shift_refunded=usd(40_000)
    ).needed


def test_a_cashier_above_the_limit_hears_both_reasons(shop: Shop) -> None:
    needed = shop.approvals.required(REFUND, usd(20_000), shop.cashier)
    assert len(needed.reasons) == 2


def test_a_limit_in_another_currency_always_asks(shop: Shop) -> None:
    needed = shop.approvals.required(VOID, Money(100, "EUR"), shop.manager)
    assert needed.needed
    assert "set in USD, so voids in EUR always need" in needed.reason


def test_nobody_signed_in_always_needs_a_manager(shop: Shop) -> None:
    assert "Nobody is signed in" in shop.approvals.required(VOID, usd(1), None).reason


def test_the_policy_is_configurable(shop: Shop) -> None:
    shop.approvals.policy = ApprovalPolicy(cashier_refunds=False, cashier_voids=False)
    assert not shop.approvals.required(REFUND, usd(10**9), shop.cashier).needed
    assert not shop.approvals.required(VOID, usd(10**9), shop.cashier).needed


# -- granting ---------------------------------------------------------------------------------


def test_a_manager_grants_an_approval_bound_to_the_refund(shop: Shop) -> None:
    approval = shop.approvals.grant(
        "mona", "135792", REFUND, REF, usd(2500), requested_by=shop.cashier
    )
    assert (approval.action, approval.reference, approval.amount) == (REFUND, REF, usd(2500))
    assert approval.approver_id == shop.manager.id
    assert approval.expires_at == T0 + timedelta(minutes=2)
    assert approval.token not in repr(approval)
    granted = shop.audit.entries(REF)[-1]
    assert granted.action == "approval_granted"
    assert granted.actor == shop.manager.actor
    assert granted.details["amount_minor"] == 2500
    assert granted.details["requested_by"] == shop.cashier.id


def test_a_cashier_cannot_approve_and_their_pin_is_not_even_checked(shop: Shop) -> None:
    with pytest.raises(ApprovalRefused, match="Cal is a cashier; only a manager") as refused:
        shop.approvals.grant("Cal", "0000", REFUND, REF, usd(100), requested_by=shop.cashier)
    assert refused.value.code == "not_allowed"
    assert shop.users.get(shop.cashier.id).failed_pins == 0
    assert shop.refusals() == ["not_allowed"]


def test_a_wrong_manager_pin_is_refused_and_counts_toward_lock_out(shop: Shop) -> None:
    with pytest.raises(ApprovalRefused, match="name or PIN is not right"):
        shop.approvals.grant("Mona", "0000", REFUND, REF, usd(100), requested_by=shop.cashier)
    for _ in range(9):
        with pytest.raises(ApprovalRefused):
            shop.approvals.grant("Mona", "0000", REFUND, REF, usd(100))
    # Now locked: neither approvals nor sign-in work with the right PIN.
    with pytest.raises(ApprovalRefused, match="locked out"):
        shop.approvals.grant("Mona", "135792", REFUND, REF, usd(100))
    with pytest.raises(UserRefused, match="locked out"):
        shop.users.sign_in(Session(), "Mona", "135792")
    assert shop.refusals()[0] == "wrong_pin"
    assert shop.refusals()[-1] == "locked_out"
    assert "0000" not in str([e.details for e in shop.audit.entries()])


def test_a_switched_off_manager_cannot_approve(shop: Shop) -> None:
    shop.users.set_active(shop.admin, shop.manager.id, False)
    with pytest.raises(ApprovalRefused, match="switched off"):
        shop.approvals.grant("Mona", "135792", VOID, REF, usd(100))


def test_an_unknown_approver_or_a_zero_amount_is_refused(shop: Shop) -> None:
    with pytest.raises(ApprovalRefused, match="name or PIN is not right"):
        shop.approvals.grant("Zoe", "135792", VOID, REF, usd(100))
    with pytest.raises(ApprovalRefused, match="no amount to approve"):
        shop.approvals.grant("Mona", "135792", REFUND, REF, usd(0))


# -- using ------------------------------------------------------------------------------------


def test_an_approval_is_used_once(shop: Shop) -> None:
    approval = shop.approvals.grant("Mona", "135792", REFUND, REF, usd(2500))
    shop.approvals.consume(approval, REFUND, REF, usd(2500), used_by=shop.cashier)
    used = shop.audit.entries(REF)[-1]
    assert used.action == "approval_used"
    assert used.actor == shop.cashier.actor
    with pytest.raises(ApprovalRefused, match="already been used") as refused:
        shop.approvals.consume(approval, REFUND, REF, usd(2500), used_by=shop.cashier)
    assert refused.value.code == "already_used"


@pytest.mark.parametrize(
    ("action", "reference", "amount", "code", "message"),
    [
        (VOID, REF, usd(2500), "wrong_action", "for a refund, not a void"),
        (REFUND, "S-20261122-AAAAAA", usd(2500), "wrong_payment", "for payment S-20261122-7K3M9Q"),
        (REFUND, REF, usd(2501), "wrong_amount", r"approved \$25.00, not \$25.01"),
        (REFUND, REF, Money(2500, "EUR"), "wrong_amount", "not €25.00"),
    ],
)
def test_an_approval_works_only_for_what_was_approved_and_is_then_spent(
    shop: Shop,
    action: ApprovalAction,
    reference: str,
    amount: Money,
    code: str,
    message: str,
) -> None:
    approval = shop.approvals.grant("Mona", "135792", REFUND, REF, usd(2500))
    with pytest.raises(ApprovalRefused, match=message) as refused:
        shop.approvals.consume(approval, action, reference, amount)
    assert refused.value.code == code
    # A misuse burns it: not even the approved refund may follow on the same approval.
    with pytest.raises(ApprovalRefused, match="already been used"):
        shop.approvals.consume(approval, REFUND, REF, usd(2500))
    assert shop.refusals() == [code, "already_used"]


def test_an_approval_lasts_two_minutes(shop: Shop) -> None:
    approval = shop.approvals.grant("Mona", "135792", VOID, REF, usd(100))
    shop.clock.now += timedelta(minutes=2)
    with pytest.raises(ApprovalRefused, match="expired") as refused:
        shop.approvals.consume(approval, VOID, REF, usd(100))
    assert refused.value.code == "expired"
    fresh = shop.approvals.grant("Mona", "135792", VOID, REF, usd(100))
    shop.clock.now += timedelta(minutes=1, seconds=59)
    shop.approvals.consume(fresh, VOID, REF, usd(100))


def test_an_altered_or_invented_approval_is_refused(shop: Shop) -> None:
    approval = shop.approvals.grant("Mona", "135792", REFUND, REF, usd(100))
    bigger = replace(approval, amount=usd(100_000))
    with pytest.raises(ApprovalRefused, match="altered"):
        shop.approvals.consume(bigger, REFUND, REF, usd(100_000))
    invented = Approval(REFUND, REF, usd(100), 1, "Ada", None, T0, T0 + timedelta(hours=1))
    with pytest.raises(ApprovalRefused, match="not granted on this till"):
        shop.approvals.consume(invented, REFUND, REF, usd(100))


def test_approvals_do_not_survive_a_restart(shop: Shop) -> None:
    approval = shop.approvals.grant("Mona", "135792", REFUND, REF, usd(100))
    restarted = ApprovalService(shop.users, shop.audit, shop.approvals.policy, clock=shop.clock)
    with pytest.raises(ApprovalRefused, match="not granted on this till"):
        restarted.consume(approval, REFUND, REF, usd(100))


def test_every_grant_use_and_refusal_keeps_the_trail_intact(shop: Shop) -> None:
    approval = shop.approvals.grant("Ada", "246813", VOID, REF, usd(100))
    shop.approvals.consume(approval, VOID, REF, usd(100))
    with pytest.raises(ApprovalRefused):
        shop.approvals.grant("Ada", "580246", VOID, REF, usd(100))
    assert [e.action for e in shop.audit.entries(REF)] == [
        "approval_granted",
        "approval_used",
        "approval_refused",
    ]
    assert shop.audit.verify().ok
