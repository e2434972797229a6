"""The main window with staff: locking covers the screens and any open dialog, and gives
them back after sign-in; an approval being asked for is cancelled by the lock."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest
from PySide6.QtWidgets import QDialog

from pos_app.domain.money import Money
from pos_app.gui.main_window import MainWindow
from pos_app.gui.tasks import TaskRunner
from pos_app.journal.store import JournalStore
from pos_app.providers.types import AmountLimits
from tests.gui.bridging import bridged
from tests.gui.staff import Ticks, add_crew

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from pytestqt.qtbot import QtBot

    from pos_app.gui.screens.sign_in import Staff


@pytest.fixture
def window(qtbot: QtBot, tmp_path: Path, staff: Staff) -> Iterator[MainWindow]:
    add_crew(staff)
    journal = JournalStore.open(tmp_path / "journal.sqlite3")
    queries, events = bridged(journal)
    made = MainWindow(
        queries=queries,
        events=events,
        limits=AmountLimits("USD", 50, 1_000_000),
        locale="en_US",
        profile_name="Till",
        provider_name="JustiFi",
        sandbox=True,
        store_name="Corner Bakery",
        tasks=TaskRunner(),
        staff=staff,
    )
    qtbot.addWidget(made)
    made.show()
    qtbot.waitExposed(made)
    yield made
    made.shutdown()
    journal.close()


def sign_in(window: MainWindow, name: str, pin: str) -> None:
    screen = window.sign_in_screen
    assert screen is not None
    assert window.locked
    screen.name.setText(name)
    screen.pin.setText(pin)
    screen.submit()


def test_the_window_opens_locked_and_shows_what_the_role_allows(window: MainWindow) -> None:
    assert window.locked
    assert window.sign_out_button.isHidden()
    assert window.user_label.text() == "Locked"
    sign_in(window, "Max", "580246")
    assert not window.locked
    assert window.stack.currentWidget() is window.cashier
    assert window.user_label.text() == "Signed in: Max (manager)"
    visible = [b.accessibleName() for b in window.nav.buttons() if not b.isHidden()]
    assert visible == ["Cashier", "Payments", "End of shift", "Audit"]
    window.show_users()  # not for a manager, whichever way it is asked for
    assert window.stack.currentWidget() is window.cashier


def test_a_dialog_open_when_the_till_locks_is_hidden_and_comes_back(
    qtbot: QtBot, window: MainWindow
) -> None:
    sign_in(window, "Cal", "1357")
    dialog = QDialog(window)
    dialog.open()
    qtbot.waitUntil(dialog.isVisible)
    window.sign_out()
    assert window.locked
    assert not dialog.isVisible()
    sign_in(window, "Cal", "1357")
    assert not window.locked
    assert dialog.isVisible()
    dialog.reject()


@pytest.mark.usefixtures("qloop")
def test_locking_cancels_an_approval_being_asked_for(
    qtbot: QtBot, window: MainWindow, ticks: Ticks, tmp_path: Path
) -> None:
    sign_in(window, "Cal", "1357")
    gate = window.approval_gate
    assert gate is not None
    journal = JournalStore.open(tmp_path / "journal.sqlite3")  # the window's journal
    journal.create_payment(
        reference="R-1",
        profile="Till",
        provider="justifi",
        method="hosted_checkout",
        amount=Money(8000, "USD"),
        description="Cake",
        now=datetime(2026, 11, 22, 9, 0, tzinfo=UTC),
    )
    journal.close()
    asked = asyncio.ensure_future(gate("refund", "R-1", Money(500, "USD")))
    qtbot.waitUntil(lambda: gate.dialog is not None and gate.dialog.isVisible())
    ticks.value += 15 * 60  # the idle lock
    qtbot.waitUntil(lambda: window.locked, timeout=3_000)
    qtbot.waitUntil(asked.done)
    assert asked.result().go is False
    assert gate.dialog is None
    assert window.sign_in_screen is not None
    assert window.sign_in_screen.hint.text().startswith("Locked after 15 minutes")
