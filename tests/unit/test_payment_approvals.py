"""Approvals are PaymentService's own rule: a refund or void the policy says needs a manager is
not sent without one, whoever calls the service (not only the Payments screen)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

from pos_app.domain.money import Money
from pos_app.domain.pins import KdfParams
from pos_app.domain.users import Role
from pos_app.journal.audit import AuditLog
from pos_app.journal.db import connect
from pos_app.journal.store import JournalStore
from pos_app.journal.users import User, UserStore
from pos_app.services.approvals import (
    ApprovalAction,
    ApprovalPolicy,
    ApprovalRefused,
    ApprovalService,
)
from pos_app.services.payments import PaymentService
from pos_app.services.users import UserService
from tests.unit.test_payment_service import CARD, SALE, T0, FakeGateway, run, usd

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

REFUND, VOID = ApprovalAction.REFUND, ApprovalAction.VOID


@dataclass
class Shop:
    service: PaymentService
    gateway: FakeGateway
    journal: JournalStore
    approvals: ApprovalService
    admin: User
    manager: User
    cashier: User


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[Shop]:
    path = tmp_path / "journal.sqlite3"
    journal = JournalStore.open(path)
    conn = connect(path)  # staff and audit on their own connection, as app.py has them
    audit = AuditLog(conn, clock=lambda: T0)
    users = UserService(UserStore(conn), audit, clock=lambda: T0, kdf=KdfParams(n=2**8))
    admin = users.create_first_admin("Ada", "246813")
    manager = users.add_user(admin, "Mona", Role.MANAGER, "135792")
    cashier = users.add_user(admin, "Cal", Role.CASHIER, "9753")
    approvals = ApprovalService(
        users, audit, ApprovalPolicy(refund_limit=usd(1000)), clock=lambda: T0
    )
    gateway = FakeGateway(journal)
    service = PaymentService(
        journal,
        {"Till": gateway},
        clock=lambda: T0,
        approvals=approvals,  # type: ignore[dict-item]
    )
    yield Shop(service, gateway, journal, approvals, admin, manager, cashier)
    conn.close()
    journal.close()


def test_a_refund_sent_straight_to_the_service_still_needs_its_approval(shop: Shop) -> None:
    payment = run(shop.service.charge("Till", SALE, CARD))
    with pytest.raises(ApprovalRefused, match="Refunds by a cashier need a manager's PIN"):
        run(shop.service.refund(payment.reference, usd(500), "Broken", by=shop.cashier))
    with pytest.raises(ApprovalRefused, match="Nobody is signed in"):
        run(shop.service.refund(payment.reference, usd(500), "Broken"))
    assert shop.gateway.calls == ["charge"]  # nothing was sent
    approval = shop.approvals.grant(
        "Mona", "135792", REFUND, payment.reference, usd(500), requested_by=shop.cashier
    )
    done = run(
        shop.service.refund(
            payment.reference, usd(500), "Broken", by=shop.cashier, approval=approval
        )
    )
    assert done.refunded == usd(500)
    with pytest.raises(ApprovalRefused, match="already been used"):  # used once, by the service
        run(
            shop.service.refund(
                payment.reference, usd(500), "Again", by=shop.cashier, approval=approval
            )
        )


def test_refunds_that_add_up_over_the_limit_need_a_manager(shop: Shop) -> None:
    """Five 10.00 refunds under a 10.00 limit: only the first goes without a PIN."""
    payment = run(shop.service.charge("Till", SALE, CARD))
    run(shop.service.refund(payment.reference, usd(1000), "One", by=shop.manager))
    with pytest.raises(ApprovalRefused, match=r"\$20\.00 on this payment in all"):
        run(shop.service.refund(payment.reference, usd(1000), "Two", by=shop.manager))
    other = run(shop.service.charge("Till", SALE, CARD))
    with pytest.raises(ApprovalRefused, match=r"Refunds in this shift above \$10\.00"):
        run(shop.service.refund(other.reference, usd(100), "Three", by=shop.manager))
    assert shop.gateway.calls.count("refund") == 1


def test_above_the_limit_nobody_approves_their_own_refund(shop: Shop) -> None:
    payment = run(shop.service.charge("Till", SALE, CARD))
    own = shop.approvals.grant("Mona", "135792", REFUND, payment.reference, usd(2000))
    with pytest.raises(ApprovalRefused, match="nobody approves their own refund"):
        run(shop.service.refund(payment.reference, usd(2000), "Big", by=shop.manager, approval=own))
    other = shop.approvals.grant("Ada", "246813", REFUND, payment.reference, usd(2000))
    done = run(
        shop.service.refund(payment.reference, usd(2000), "Big", by=shop.manager, approval=other)
    )
    assert done.refunded == usd(2000)


def test_a_cashiers_void_needs_a_manager_by_default(shop: Shop) -> None:
    held = run(shop.service.charge("Till", SALE, CARD, capture=False))
    with pytest.raises(ApprovalRefused, match="Voids by a cashier need a manager's PIN"):
        run(shop.service.void(held.reference, "Left", by=shop.cashier))
    approval = shop.approvals.grant("Mona", "135792", VOID, held.reference, held.amount)
    voided = run(shop.service.void(held.reference, "Left", by=shop.cashier, approval=approval))
    assert voided.state.value == "voided"


def test_an_approval_for_another_amount_is_refused(shop: Shop) -> None:
    payment = run(shop.service.charge("Till", SALE, CARD))
    approval = shop.approvals.grant("Mona", "135792", REFUND, payment.reference, Money(100, "USD"))
    with pytest.raises(ApprovalRefused, match=r"approved \$1\.00, not \$5\.00"):
        run(
            shop.service.refund(
                payment.reference, usd(500), "x", by=shop.cashier, approval=approval
            )
        )
    assert "refund" not in shop.gateway.calls


def test_training_refunds_do_not_use_up_the_shifts_real_refund_limit(shop: Shop) -> None:
    """A trainee's practice refund on a sandbox profile counts toward training, not toward
    the shift's real limit a manager is there to watch."""
    practice = FakeGateway(shop.journal)
    service = PaymentService(
        shop.journal,
        {"Till": shop.gateway, "Practice": practice},  # type: ignore[dict-item]
        clock=lambda: T0,
        approvals=shop.approvals,
        environments=lambda name: "sandbox" if name == "Practice" else "live",
    )
    trained = run(service.charge("Practice", SALE, CARD))
    assert trained.training
    run(service.refund(trained.reference, usd(1000), "Practice", by=shop.manager))
    real = run(service.charge("Till", SALE, CARD))
    done = run(service.refund(real.reference, usd(1000), "Broken", by=shop.manager))
    assert done.refunded == usd(1000)  # the practice refund did not count
    # Training has a limit of its own, so the practice of asking a manager is not lost.
    again = run(service.charge("Practice", SALE, CARD))
    with pytest.raises(ApprovalRefused, match=r"Refunds in this shift above \$10\.00"):
        run(service.refund(again.reference, usd(100), "Again", by=shop.manager))
