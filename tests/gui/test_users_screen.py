"""Users screen: what an administrator sees while adding users, changing roles, switching
accounts off and setting new PINs; every change is refused or made, and audited."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
from PySide6.QtCore import Qt

from pos_app.domain.users import Role
from pos_app.gui.screens.users import UsersScreen
from pos_app.services.users import NAME_OR_PIN_WRONG, Session, UserRefused
from tests.gui.staff import Clock, add_crew

if TYPE_CHECKING:
    from pytestqt.qtbot import QtBot

    from pos_app.gui.screens.sign_in import Staff


@pytest.fixture
def screen(qtbot: QtBot, staff: Staff) -> UsersScreen:
    add_crew(staff)
    staff.users.sign_in(staff.session, "Ada", "246813")
    widget = UsersScreen(staff)
    qtbot.addWidget(widget)
    widget.resize(1080, 760)
    widget.show()
    return widget


def rows(screen: UsersScreen) -> list[tuple[str, ...]]:
    table = screen.table
    return [
        tuple(table.item(row, column).text() for column in range(3))  # type: ignore[union-attr]
        for row in range(table.rowCount())
    ]


def test_every_user_is_listed_with_role_and_status(screen: UsersScreen) -> None:
    assert rows(screen) == [
        ("Ada", "Administrator", "Active"),
        ("Cal", "Cashier", "Active"),
        ("Max", "Manager", "Active"),
    ]


def test_an_administrator_adds_a_cashier_who_can_then_sign_in(
    qtbot: QtBot, screen: UsersScreen, staff: Staff
) -> None:
    screen.add_name.setText("Bea")
    screen.add_role.setCurrentIndex(screen.add_role.findData(Role.CASHIER))
    screen.add_pin.setFocus()
    qtbot.keyClicks(screen.add_pin, "4831")
    qtbot.keyClick(screen.add_pin, Qt.Key.Key_Return)
    assert screen.outcome.text() == "Bea was added as a cashier."
    assert ("Bea", "Cashier", "Active") in rows(screen)
    assert screen.current is not None
    assert screen.current.name == "Bea"
    assert screen.add_name.text() == screen.add_pin.text() == ""
    assert staff.users.sign_in(Session(), "bea", "4831").role is Role.CASHIER
    added = staff.audit.entries()[-2]  # then Bea's sign-in
    assert (added.action, added.actor) == ("user_added", str(staff.session.user.id))  # type: ignore[union-attr]


def test_a_duplicate_name_or_a_bad_pin_is_refused_with_the_reason(
    screen: UsersScreen, staff: Staff
) -> None:
    screen.add_name.setText("max")
    screen.add_pin.setText("4831")
    screen.add_button.click()
    assert screen.outcome.text() == "There is already a user called max."
    screen.add_name.setText("Bea")
    screen.add_pin.setText("43")
    screen.add_button.click()
    assert screen.outcome.text() == "A PIN has 4 to 8 digits, not 2."
    assert len(staff.users.users()) == 3


def test_roles_change_and_the_last_administrator_stays(screen: UsersScreen) -> None:
    screen.select("Cal")
    screen.role.setCurrentIndex(screen.role.findData(Role.MANAGER))
    screen.role_button.click()
    assert screen.outcome.text() == "Cal is now a manager."
    assert ("Cal", "Manager", "Active") in rows(screen)
    screen.select("Ada")
    screen.role.setCurrentIndex(screen.role.findData(Role.CASHIER))
    screen.role_button.click()
    assert screen.outcome.text() == (
        "Ada is the only active administrator; make someone else an administrator first."
    )
    screen.active_button.click()
    assert screen.outcome.text() == "You cannot switch off your own account."
    assert ("Ada", "Administrator", "Active") in rows(screen)


def test_a_switched_off_user_cannot_sign_in_until_switched_back_on(
    screen: UsersScreen, staff: Staff
) -> None:
    screen.select("Max")
    assert screen.active_button.text() == "Switch off"
    screen.active_button.click()
    assert screen.outcome.text() == "Max is switched off: they cannot sign in."
    assert ("Max", "Manager", "Switched off") in rows(screen)
    with pytest.raises(UserRefused, match="switched off"):
        staff.users.sign_in(Session(), "Max", "580246")
    assert screen.active_button.text() == "Switch back on"
    screen.active_button.click()
    assert staff.users.sign_in(Session(), "Max", "580246").active


def test_a_new_pin_ends_a_lock_out(screen: UsersScreen, staff: Staff, clock: Clock) -> None:
    for _ in range(10):
        with pytest.raises(UserRefused):
            staff.users.sign_in(Session(), "Cal", "0000")
    screen.refresh()
    status = dict((name, state) for name, _, state in rows(screen))
    assert status["Cal"].startswith("Locked out until ")
    screen.select("Cal")
    assert screen.current_pin.isHidden()  # someone else's PIN: no current PIN needed
    screen.new_pin.setText("8642")
    screen.pin_button.click()
    assert screen.outcome.text() == "Cal has a new PIN."
    assert ("Cal", "Cashier", "Active") in rows(screen)
    clock.now += timedelta(minutes=1)
    assert staff.users.sign_in(Session(), "Cal", "8642").name == "Cal"


def test_your_own_pin_needs_your_current_one(screen: UsersScreen, staff: Staff) -> None:
    screen.select("Ada")
    assert not screen.current_pin.isHidden()
    screen.new_pin.setText("802468")
    screen.current_pin.setText("0000")
    screen.pin_button.click()
    assert screen.outcome.text() == NAME_OR_PIN_WRONG
    screen.new_pin.setText("802468")
    screen.current_pin.setText("246813")
    screen.pin_button.click()
    assert screen.outcome.text() == "Ada has a new PIN."
    assert staff.users.sign_in(Session(), "Ada", "802468").name == "Ada"


def test_only_an_administrator_can_change_anything(screen: UsersScreen, staff: Staff) -> None:
    staff.users.sign_out(staff.session)
    staff.users.sign_in(staff.session, "Max", "580246")
    screen.add_name.setText("Bea")
    screen.add_pin.setText("4831")
    screen.add_button.click()
    assert screen.outcome.text() == "Only an administrator can add users; Max is a manager."
    assert len(staff.users.users()) == 3
