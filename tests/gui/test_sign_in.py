"""Sign-in: the first administrator, signing in by keyboard, refusals, lock-out, idle lock.

The staff objects are the real ones on a temporary journal (``tests/gui/staff.py``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLineEdit

from pos_app.domain.users import Role
from pos_app.gui.screens.sign_in import IdleWatcher, SignInScreen, Staff
from pos_app.gui.widgets.pin_field import PinField
from pos_app.services.users import NAME_OR_PIN_WRONG
from tests.gui.staff import Clock, Ticks, add_crew

if TYPE_CHECKING:
    from pytestqt.qtbot import QtBot


def actions(staff: Staff) -> list[str]:
    return [entry.action for entry in staff.audit.entries()]


@pytest.fixture
def screen(qtbot: QtBot, staff: Staff) -> SignInScreen:
    widget = SignInScreen(staff)
    qtbot.addWidget(widget)
    widget.resize(1080, 760)
    widget.show()
    return widget


def type_in(qtbot: QtBot, field: QLineEdit, text: str) -> None:
    field.setFocus()
    qtbot.keyClicks(field, text)


def test_the_first_administrator_is_created_and_signed_in(
    qtbot: QtBot, screen: SignInScreen, staff: Staff
) -> None:
    screen.show_setup(cancellable=True)
    type_in(qtbot, screen.setup_name, "  Ada  ")
    type_in(qtbot, screen.setup_pin, "246813")
    type_in(qtbot, screen.setup_confirm, "246813")
    with qtbot.waitSignal(screen.signed_in) as signal:
        qtbot.keyClick(screen.setup_confirm, Qt.Key.Key_Return)
    user = signal.args[0]
    assert (user.name, user.role) == ("Ada", Role.ADMIN)
    assert staff.session.user == user
    assert actions(staff) == ["user_added", "sign_in"]
    assert screen.setup_pin.text() == screen.setup_confirm.text() == ""


def test_two_different_pins_create_nobody(qtbot: QtBot, screen: SignInScreen, staff: Staff) -> None:
    screen.show_setup(cancellable=False)
    assert screen.setup_cancel.isHidden()
    type_in(qtbot, screen.setup_name, "Ada")
    type_in(qtbot, screen.setup_pin, "246813")
    type_in(qtbot, screen.setup_confirm, "2469")
    screen.create_button.click()
    assert screen.setup_error.text() == "The two PINs differ; type them again."
    assert staff.users.needs_first_admin()
    type_in(qtbot, screen.setup_pin, "12")
    type_in(qtbot, screen.setup_confirm, "12")
    screen.create_button.click()
    assert screen.setup_error.text() == "A PIN has 4 to 8 digits, not 2."
    assert staff.users.needs_first_admin()
    assert staff.session.user is None


def test_sign_in_by_keyboard_alone(qtbot: QtBot, screen: SignInScreen, staff: Staff) -> None:
    add_crew(staff)
    screen.show_sign_in()
    assert screen.name.hasFocus()
    qtbot.keyClicks(screen.name, "cal")
    qtbot.keyClick(screen.name, Qt.Key.Key_Return)
    assert screen.pin.hasFocus()
    qtbot.keyClicks(screen.pin, "1357")
    with qtbot.waitSignal(screen.signed_in) as signal:
        qtbot.keyClick(screen.pin, Qt.Key.Key_Return)
    assert signal.args[0].name == "Cal"
    assert staff.session.user is not None
    assert staff.session.user.role is Role.CASHIER


def test_refusals_are_explained_and_the_pin_is_not_left_behind(
    qtbot: QtBot, screen: SignInScreen, staff: Staff
) -> None:
    add_crew(staff)
    screen.show_sign_in()
    screen.sign_in_button.click()
    assert screen.error.text() == "Type your name first."
    type_in(qtbot, screen.name, "Cal")
    screen.sign_in_button.click()
    assert screen.error.text() == "Type your PIN."
    type_in(qtbot, screen.pin, "9999")
    with qtbot.assertNotEmitted(screen.signed_in):
        qtbot.keyClick(screen.pin, Qt.Key.Key_Return)
    assert screen.error.text() == NAME_OR_PIN_WRONG
    assert screen.pin.text() == ""
    assert screen.pin.hasFocus()
    assert screen.pin.property("invalid") is True
    screen.name.setText("Zed")
    type_in(qtbot, screen.pin, "1357")
    screen.sign_in_button.click()
    assert screen.error.text() == NAME_OR_PIN_WRONG  # never which names exist
    assert staff.session.user is None
    assert actions(staff)[-2:] == ["sign_in_failed", "sign_in_failed"]


def test_ten_wrong_pins_lock_the_account_with_the_minutes_left(
    qtbot: QtBot, screen: SignInScreen, staff: Staff, clock: Clock
) -> None:
    add_crew(staff)
    screen.show_sign_in()
    type_in(qtbot, screen.name, "Cal")
    for _ in range(10):
        type_in(qtbot, screen.pin, "0000")
        qtbot.keyClick(screen.pin, Qt.Key.Key_Return)
    assert screen.error.text() == (
        "Too many wrong PINs: this name is locked out. Try again in 30 minutes, "
        "or ask an administrator to set a new PIN."
    )
    clock.now += timedelta(minutes=12)
    type_in(qtbot, screen.pin, "1357")  # the right PIN, but locked
    qtbot.keyClick(screen.pin, Qt.Key.Key_Return)
    assert screen.error.text() == (
        "Too many wrong PINs: this name is locked out. Try again in 18 minutes, or ask an "
        "administrator to set a new PIN."
    )
    assert staff.session.user is None
    clock.now += timedelta(minutes=18)
    type_in(qtbot, screen.pin, "1357")
    with qtbot.waitSignal(screen.signed_in):
        qtbot.keyClick(screen.pin, Qt.Key.Key_Return)
    assert "locked_out" in actions(staff)


def test_a_pin_field_takes_up_to_eight_digits_and_nothing_else(qtbot: QtBot) -> None:
    field = PinField()
    qtbot.addWidget(field)
    qtbot.keyClicks(field, "12a3-4 567890")
    assert field.text() == "12345678"
    assert field.echoMode() is QLineEdit.EchoMode.Password
    assert field.take() == "12345678"
    assert field.text() == ""


def test_the_idle_lock_counts_from_the_last_key_or_click(
    qtbot: QtBot, screen: SignInScreen, staff: Staff, ticks: Ticks
) -> None:
    watcher = IdleWatcher(staff.idle, screen, interval_ms=10)
    watcher.start()
    qtbot.waitExposed(screen)
    window = screen.windowHandle()
    ticks.value += 14 * 60
    QTest.keyClick(window, Qt.Key.Key_A)  # as the platform delivers it: to the window
    ticks.value += 14 * 60
    with qtbot.assertNotEmitted(watcher.idle, wait=50):
        pass
    button = screen.sign_in_button
    where = button.mapTo(screen, button.rect().center())
    QTest.mouseClick(window, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, where)
    ticks.value += 14 * 60
    with qtbot.assertNotEmitted(watcher.idle, wait=50):
        pass
    ticks.value += 60
    with qtbot.waitSignal(watcher.idle, timeout=2000):
        pass
    assert not watcher.running  # once: the window decides what locking means
