"""Manager approval: when the Payments screen's actions need a manager's PIN, and what the
approval dialog shows, refuses and grants (bound to one action, payment and amount)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from pos_app.domain.money import Money
from pos_app.gui.dialogs.approval import ApprovalDialog, ApprovalGate, GateAnswer
from pos_app.journal.store import JournalStore
from pos_app.services.approvals import ApprovalPolicy
from pos_app.services.queries import PaymentQueries
from pos_app.services.users import NAME_OR_PIN_WRONG
from tests.gui.staff import T0, Clock, Ticks, add_crew, make_staff

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from pytestqt.qtbot import QtBot

    from pos_app.gui.screens.sign_in import Staff


def usd(minor: int) -> Money:
    return Money(minor, "USD")


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[JournalStore]:
    store = JournalStore.open(tmp_path / "journal.sqlite3")
    store.create_payment(
        reference="R-1",
        profile="Till",
        provider="justifi",
        method="hosted_checkout",
        amount=usd(8000),
        description="Cake",
        now=T0,
    )
    yield store
    store.close()


@pytest.fixture
def staff(tmp_path: Path, journal: JournalStore) -> Iterator[Staff]:
    policy = ApprovalPolicy(refund_limit=usd(5000), void_limit=usd(5000))
    made = make_staff(tmp_path / "journal.sqlite3", Clock(), Ticks(), policy=policy)
    yield made
    made.audit.connection.close()


@pytest.fixture
def gate(qtbot: QtBot, staff: Staff, journal: JournalStore) -> ApprovalGate:
    parent = QWidget()
    qtbot.addWidget(parent)
    parent.show()
    return ApprovalGate(staff, PaymentQueries(journal), locale="en_US", parent=parent)


def ask(
    qtbot: QtBot, gate: ApprovalGate, action: str, amount: Money | None
) -> asyncio.Future[GateAnswer]:
    return asyncio.ensure_future(gate(action, "R-1", amount))


def answer(qtbot: QtBot, asked: asyncio.Future[GateAnswer]) -> bool:
    """Whether the gate lets the action go ahead (the approval goes with it)."""
    qtbot.waitUntil(asked.done)
    return asked.result().go


def opened(qtbot: QtBot, gate: ApprovalGate) -> ApprovalDialog:
    qtbot.waitUntil(lambda: gate.dialog is not None and gate.dialog.isVisible())
    assert gate.dialog is not None
    return gate.dialog


def approve_with(qtbot: QtBot, dialog: ApprovalDialog, name: str, pin: str) -> None:
    dialog.manager.setText(name)
    dialog.pin.setFocus()
    qtbot.keyClicks(dialog.pin, pin)
    qtbot.keyClick(dialog.pin, Qt.Key.Key_Return)


def audit_of(staff: Staff) -> list[tuple[str, str, dict[str, object]]]:
    return [(e.action, e.actor, dict(e.details)) for e in staff.audit.entries(subject="R-1")]


@pytest.mark.usefixtures("qloop")
def test_without_staff_and_for_captures_nothing_is_asked(
    qtbot: QtBot, gate: ApprovalGate, staff: Staff
) -> None:
    assert answer(qtbot, ask(qtbot, gate, "refund", usd(9000)))  # a single-user till, as before
    add_crew(staff)
    assert answer(qtbot, ask(qtbot, gate, "capture", usd(9000)))
    assert gate.dialog is None
    assert audit_of(staff) == []


@pytest.mark.usefixtures("qloop")
def test_a_manager_within_the_limit_goes_ahead_but_above_it_needs_a_pin(
    qtbot: QtBot, gate: ApprovalGate, staff: Staff
) -> None:
    add_crew(staff)
    staff.users.sign_in(staff.session, "Max", "580246")
    assert answer(qtbot, ask(qtbot, gate, "refund", usd(5000)))
    asked = ask(qtbot, gate, "refund", usd(5001))
    dialog = opened(qtbot, gate)
    assert dialog.what.text() == "Refund of $50.01 on payment R-1"
    assert "Refunds above $50.00 need a manager's PIN." in dialog.question.text()
    approve_with(qtbot, dialog, "Max", "580246")  # over the limit: not his own
    assert dialog.error.text().startswith("Above the limit another manager must approve")
    approve_with(qtbot, dialog, "Ada", "246813")
    assert answer(qtbot, asked)


@pytest.mark.usefixtures("qloop")
def test_a_cashier_refund_is_refused_on_a_wrong_pin_and_granted_once_on_the_right_one(
    qtbot: QtBot, gate: ApprovalGate, staff: Staff
) -> None:
    _, max_, cal = add_crew(staff)
    staff.users.sign_in(staff.session, "Cal", "1357")
    asked = ask(qtbot, gate, "refund", usd(1200))
    dialog = opened(qtbot, gate)
    assert dialog.what.text() == "Refund of $12.00 on payment R-1"
    assert "Refunds by a cashier need a manager's PIN." in dialog.question.text()
    approve_with(qtbot, dialog, "Cal", "1357")
    assert dialog.error.text() == (
        "Cal is a cashier; only a manager or an administrator can approve."
    )
    approve_with(qtbot, dialog, "Max", "9999")
    assert dialog.error.text() == NAME_OR_PIN_WRONG
    assert dialog.isVisible()
    assert not asked.done()
    assert dialog.pin.text() == ""
    approve_with(qtbot, dialog, "Max", "580246")
    assert answer(qtbot, asked) is True
    granted = [(a, actor, d.get("amount_minor")) for a, actor, d in audit_of(staff)]
    assert granted == [
        ("approval_refused", cal.actor, 1200),
        ("approval_refused", cal.actor, 1200),
        ("approval_granted", max_.actor, 1200),
    ]  # used by the refund itself (PaymentService), once it is sent
    assert asked.result().approval is not None
    assert asked.result().by == cal


@pytest.mark.usefixtures("qloop")
def test_cancel_sends_nothing_and_grants_nothing(
    qtbot: QtBot, gate: ApprovalGate, staff: Staff
) -> None:
    add_crew(staff)
    staff.users.sign_in(staff.session, "Cal", "1357")
    asked = ask(qtbot, gate, "refund", usd(1200))
    dialog = opened(qtbot, gate)
    qtbot.keyClick(dialog.manager, Qt.Key.Key_Escape)
    assert answer(qtbot, asked) is False
    assert audit_of(staff) == []


@pytest.mark.usefixtures("qloop")
def test_a_void_is_judged_on_the_payments_amount(
    qtbot: QtBot, gate: ApprovalGate, staff: Staff
) -> None:
    add_crew(staff)
    staff.users.sign_in(staff.session, "Ada", "246813")
    asked = ask(qtbot, gate, "void", None)
    dialog = opened(qtbot, gate)
    assert dialog.what.text() == "Void of $80.00 on payment R-1"
    # Above the limit nobody approves their own void, an administrator neither.
    approve_with(qtbot, dialog, "Ada", "246813")
    assert dialog.error.text() == (
        "Above the limit another manager must approve: nobody approves their own void."
    )
    approve_with(qtbot, dialog, "Max", "580246")
    assert answer(qtbot, asked) is True
    assert [a for a, _, _ in audit_of(staff)] == ["approval_refused", "approval_granted"]


@pytest.mark.usefixtures("qloop")
def test_nobody_signed_in_always_needs_a_manager(
    qtbot: QtBot, gate: ApprovalGate, staff: Staff
) -> None:
    add_crew(staff)
    asked = ask(qtbot, gate, "refund", usd(100))
    dialog = opened(qtbot, gate)
    assert "Nobody is signed in" in dialog.question.text()
    gate.cancel()  # what locking the till does
    assert answer(qtbot, asked) is False
