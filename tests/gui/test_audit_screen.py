"""Audit screen: the trail newest first with names, a page at a time, and "Verify audit
trail" saying it is intact or exactly where it breaks after the file was tampered with."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from pos_app.gui.screens.audit import PAGE_SIZE, AuditScreen
from pos_app.gui.tasks import TaskRunner
from pos_app.journal.audit import AuditAction
from tests.gui.staff import add_crew

if TYPE_CHECKING:
    from pytestqt.qtbot import QtBot

    from pos_app.gui.screens.sign_in import Staff


@pytest.fixture
def screen(qtbot: QtBot, staff: Staff) -> AuditScreen:
    add_crew(staff)
    staff.users.sign_in(staff.session, "Max", "580246")
    staff.audit.append(
        AuditAction.REFUND,
        actor=staff.session.actor,
        subject="R-7",
        details={"state": "refunded", "currency": "USD", "refunded_minor": 1250},
    )
    widget = AuditScreen(staff, tasks=TaskRunner(), locale="en_US")
    qtbot.addWidget(widget)
    widget.resize(1080, 760)
    widget.show()
    return widget


def row(screen: AuditScreen, index: int) -> tuple[str, ...]:
    table = screen.table
    return tuple(table.item(index, c).text() for c in range(6))  # type: ignore[union-attr]


def tamper(staff: Staff, sql: str) -> None:
    """What someone with the database file could do behind the app's back."""
    path = staff.audit.connection.execute("PRAGMA database_list").fetchone()["file"]
    other = sqlite3.connect(Path(path))
    with other:
        other.execute(sql)
    other.close()


def test_the_newest_entries_come_first_with_who_and_what(screen: AuditScreen) -> None:
    assert screen.shown == [5, 4, 3, 2, 1]
    seq, _when, who, what, about, details = row(screen, 0)
    assert (seq, who, what, about) == ("5", "Max", "Refund", "R-7")
    assert details == "refunded: $12.50, state: refunded"  # minor units shown as money
    assert row(screen, 4)[2:4] == ("System", "User added")  # the first administrator
    assert screen.position.text() == "Entries 1–5 of 5 · page 1 of 1"


def test_a_training_sales_entry_says_training_under_what(qtbot: QtBot, staff: Staff) -> None:
    staff.audit.append(
        AuditAction.VOID,
        actor=staff.session.actor,
        subject="S-PRACTICE",
        details={"state": "voided", "currency": "USD", "environment": "sandbox"},
    )
    widget = AuditScreen(staff, tasks=TaskRunner(), locale="en_US")
    qtbot.addWidget(widget)
    _seq, _when, _who, what, about, details = row(widget, 0)
    assert (what, about, details) == ("Void — TRAINING", "S-PRACTICE", "state: voided")


def test_a_long_trail_is_paged(screen: AuditScreen, staff: Staff) -> None:
    for n in range(PAGE_SIZE + 10):
        staff.audit.append(AuditAction.REPRINT, actor="system", subject=f"R-{n}")
    screen.refresh()
    total = PAGE_SIZE + 15
    assert screen.shown[0] == total
    assert len(screen.shown) == PAGE_SIZE
    assert not screen.newer_button.isEnabled()
    assert screen.older_button.isEnabled()
    screen.older_button.click()
    assert screen.shown == [15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1]
    assert screen.position.text() == f"Entries 1–15 of {total} · page 2 of 2"
    assert not screen.older_button.isEnabled()


@pytest.mark.usefixtures("qloop")
def test_verify_says_the_trail_is_intact(qtbot: QtBot, screen: AuditScreen) -> None:
    screen.verify_button.click()
    qtbot.waitUntil(lambda: screen.outcome.text().startswith(("✓", "✗")))
    assert screen.outcome.text() == "✓ The audit trail is intact: 5 entries, every link checked."
    assert screen.outcome.property("tone") == "good"


@pytest.mark.usefixtures("qloop")
def test_verify_points_at_an_edited_entry(qtbot: QtBot, screen: AuditScreen, staff: Staff) -> None:
    tamper(staff, "UPDATE audit_log SET details = '{\"refunded_minor\":125}' WHERE seq = 5")
    screen.verify_button.click()
    qtbot.waitUntil(lambda: screen.outcome.text().startswith(("✓", "✗")))
    assert screen.outcome.text() == (
        "✗ The audit trail is broken at entry 5: entry 5 does not match its hash: it was "
        "edited, or moved here from another position."
    )
    assert screen.outcome.property("tone") == "bad"
    assert screen.table.currentRow() == 0
    assert row(screen, 0)[0] == "5"


@pytest.mark.usefixtures("qloop")
def test_verify_points_at_a_deleted_entry(qtbot: QtBot, screen: AuditScreen, staff: Staff) -> None:
    tamper(staff, "DELETE FROM audit_log WHERE seq = 2")
    screen.verify_button.click()
    qtbot.waitUntil(lambda: screen.outcome.text().startswith(("✓", "✗")))
    assert screen.outcome.text() == (
        "✗ The audit trail is broken at entry 2: entry 2 is missing (the next one is 3)."
    )
