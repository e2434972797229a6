"""The whole app with staff: setting up the first administrator, sign-in, a refund over the
approval limit that needs a manager's PIN, lock-out after ten wrong PINs, and the idle lock
that leaves a checkout in progress where it was."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt

from pos_app.bootstrap.app import PosApplication
from pos_app.config.settings import Settings, save_settings
from pos_app.domain.money import Money
from pos_app.domain.payment import PaymentState
from pos_app.domain.users import Role
from pos_app.gui.dialogs.refund import RefundDialog
from pos_app.journal.audit import AuditLog
from pos_app.journal.db import connect
from pos_app.journal.users import UserStore
from pos_app.services.users import NAME_OR_PIN_WRONG, UserService
from tests.e2e.conftest import START_TIMEOUT_MS, Till
from tests.e2e.test_app_profiles import only_payment
from tests.e2e.test_hosted_checkout import ring_up
from tests.gui.staff import Ticks

if TYPE_CHECKING:
    from collections.abc import Callable

    from PySide6.QtWidgets import QWidget
    from pytestqt.qtbot import QtBot

    from pos_app.gui.main_window import MainWindow
    from pos_app.journal.store import PaymentRecord
    from pos_app.platform.paths import AppPaths


def start(till: Till, **options: Any) -> PosApplication:
    """``Till.start`` with PosApplication's options (mode, clocks)."""
    pos = PosApplication(till.paths, **options)
    till.running.append(pos)
    pos.window.resize(1280, 800)
    pos.window.show()
    pos.window.focus_first()
    pos.tasks.start(pos.connect())
    till.qtbot.waitUntil(lambda: pos.window.cashier.ready, timeout=START_TIMEOUT_MS)
    return pos


def hire(paths: AppPaths) -> None:
    """Ada (administrator), Max (manager) and Cal (cashier), made before the app starts."""
    conn = connect(paths.journal_file)
    users = UserService(UserStore(conn), AuditLog(conn))
    ada = users.create_first_admin("Ada", "246813")
    users.add_user(ada, "Max", Role.MANAGER, "580246")
    users.add_user(ada, "Cal", Role.CASHIER, "1357")
    conn.close()


def sign_in(qtbot: QtBot, window: MainWindow, name: str, pin: str) -> None:
    screen = window.sign_in_screen
    assert screen is not None
    assert window.locked
    assert screen.page == "sign_in"
    screen.name.setText(name)
    screen.pin.setFocus()
    qtbot.keyClicks(screen.pin, pin)
    qtbot.keyClick(screen.pin, Qt.Key.Key_Return)


def press(qtbot: QtBot, window: MainWindow, key: Qt.Key, screen: Callable[[], QWidget]) -> None:
    """A navigation key; shortcuts arrive through the event loop, so wait for the screen.

    Shortcuts reach the active window only, and the offscreen platform does not give
    activation back to the window when a dialog closes, as a desktop does.
    """
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    qtbot.keyClick(window, key)
    qtbot.waitUntil(lambda: window.stack.currentWidget() is screen())


def visible_nav(window: MainWindow) -> list[str]:
    return [b.accessibleName() for b in window.nav.buttons() if not b.isHidden()]


def paid_sale(qtbot: QtBot, pos: PosApplication, amount: str) -> PaymentRecord:
    """A hosted sale rung up on the Cashier and paid by the customer."""
    ring_up(qtbot, pos, amount, "Birthday cake")
    qtbot.waitUntil(
        lambda: (p := only_payment(pos)) is not None and p.provider_ref is not None,
        timeout=20_000,
    )
    sale = only_payment(pos)
    assert sale is not None
    assert pos.sandbox is not None
    paid = pos.sandbox.control.request(
        "POST",
        "justifi/pay",
        json={"checkout_id": sale.provider_ref, "card": "4242424242424242"},
    )
    assert paid.is_success, paid.text
    checkout = pos.window.checkout
    qtbot.waitUntil(lambda: checkout.result.isVisible(), timeout=20_000)
    qtbot.keyClick(checkout.result.button, Qt.Key.Key_Return)
    return sale


def test_staff_set_up_then_a_refund_over_the_limit_needs_a_managers_pin(
    qtbot: QtBot, till: Till
) -> None:
    save_settings(till.paths.settings_file, Settings(refund_approval_limit_minor=1000))
    pos = start(till)
    window = pos.window
    # No staff yet: the till sells as before, and offers to set staff up.
    assert not window.locked
    assert not window.setup_staff_button.isHidden()
    assert visible_nav(window) == ["Cashier", "Payments", "End of shift", "Settings"]
    window.setup_staff_button.click()
    screen = window.sign_in_screen
    assert screen is not None
    assert screen.page == "setup"
    qtbot.keyClicks(screen.setup_name, "Ada")
    qtbot.keyClick(screen.setup_name, Qt.Key.Key_Return)
    qtbot.keyClicks(screen.setup_pin, "246813")
    qtbot.keyClick(screen.setup_pin, Qt.Key.Key_Return)
    qtbot.keyClicks(screen.setup_confirm, "246813")
    qtbot.keyClick(screen.setup_confirm, Qt.Key.Key_Return)
    assert not window.locked
    assert window.user_label.text() == "Signed in: Ada (administrator)"
    assert visible_nav(window) == [
        "Cashier",
        "Payments",
        "End of shift",
        "Audit",
        "Users",
        "Settings",
    ]

    press(qtbot, window, Qt.Key.Key_F11, lambda: window.users)
    users = window.users
    users.add_name.setText("Max")
    users.add_role.setCurrentIndex(users.add_role.findData(Role.MANAGER))
    users.add_pin.setText("580246")
    users.add_button.click()
    assert users.outcome.text() == "Max was added as a manager."

    press(qtbot, window, Qt.Key.Key_F1, lambda: window.cashier)
    sale = paid_sale(qtbot, pos, "24.00")
    press(qtbot, window, Qt.Key.Key_F2, lambda: window.payments)
    detail = window.payments.detail
    window.payments.open_payment(sale.reference)
    qtbot.waitUntil(lambda: not detail.refund_button.isHidden())
    detail.start_refund()
    refund = detail.dialog
    assert isinstance(refund, RefundDialog)
    refund.reason.setCurrentText("Item returned")
    qtbot.mouseClick(refund.confirm_button, Qt.MouseButton.LeftButton)

    gate = window.approval_gate
    assert gate is not None
    qtbot.waitUntil(lambda: gate.dialog is not None and gate.dialog.isVisible())
    approval = gate.dialog
    assert approval is not None
    assert approval.what.text() == f"Refund of $24.00 on payment {sale.reference}"
    approval.manager.setText("Max")
    qtbot.keyClicks(approval.pin, "9999")
    qtbot.keyClick(approval.pin, Qt.Key.Key_Return)
    assert approval.error.text() == NAME_OR_PIN_WRONG
    assert pos.journal.get(sale.reference).refunded_minor == 0  # type: ignore[union-attr]
    qtbot.keyClicks(approval.pin, "580246")
    qtbot.keyClick(approval.pin, Qt.Key.Key_Return)
    qtbot.waitUntil(
        lambda: bool(detail.outcome.text()) and not detail.busy.isVisible(), timeout=20_000
    )
    assert detail.outcome.text().startswith("Refunded $24.00. JustiFi confirms")
    record = pos.journal.get(sale.reference)
    assert record is not None
    assert (record.state, record.refunded_minor) == (PaymentState.REFUNDED, 2400)

    trail = pos.staff.audit.entries(subject=sale.reference)
    ada, max_ = (pos.staff.users.find(n) for n in ("Ada", "Max"))
    assert ada is not None
    assert max_ is not None
    approvals = [(e.action, e.actor) for e in trail if e.action.startswith("approval")]
    assert approvals == [
        ("approval_refused", ada.actor),
        ("approval_granted", max_.actor),
        ("approval_used", ada.actor),
    ]
    refunds = [e for e in trail if e.action == "refund"]
    assert len(refunds) == 1
    assert refunds[0].actor == ada.actor
    sold = [e for e in trail if e.action == "payment_state_change"]
    assert sold
    assert {e.actor for e in sold} == {ada.actor}

    press(qtbot, window, Qt.Key.Key_F10, lambda: window.audit)
    assert window.audit.shown[0] == pos.staff.audit.head().entries  # the newest first
    window.audit.verify_button.click()
    qtbot.waitUntil(lambda: window.audit.outcome.text().startswith(("✓", "✗")))
    assert window.audit.outcome.text().startswith("✓ The audit trail is intact")


def test_ten_wrong_pins_lock_a_user_out_until_an_administrator_sets_a_new_pin(
    qtbot: QtBot, till: Till
) -> None:
    hire(till.paths)
    pos = start(till)
    window = pos.window
    assert window.locked  # staff exist: the till opens on sign-in
    screen = window.sign_in_screen
    assert screen is not None
    for _ in range(10):
        sign_in(qtbot, window, "Cal", "0000")
    assert screen.error.text() == (
        "Too many wrong PINs: this name is locked out. Try again in 30 minutes, "
        "or ask an administrator to set a new PIN."
    )
    sign_in(qtbot, window, "Cal", "1357")
    assert screen.error.text().startswith(
        "Too many wrong PINs: this name is locked out. Try again in 30"
    )
    assert window.locked
    assert pos.staff.session.user is None

    sign_in(qtbot, window, "Ada", "246813")
    assert not window.locked
    press(qtbot, window, Qt.Key.Key_F11, lambda: window.users)
    users = window.users
    users.select("Cal")
    users.new_pin.setText("7531")
    users.pin_button.click()
    assert users.outcome.text() == "Cal has a new PIN."
    window.sign_out_button.click()
    assert window.locked
    sign_in(qtbot, window, "Cal", "7531")
    assert window.user_label.text() == "Signed in: Cal (cashier)"
    assert visible_nav(window) == ["Cashier", "Payments"]  # no Audit, Users or Settings

    till.stop(pos)  # closing the app ends Cal's session, and the trail is intact
    trail = AuditLog.open(till.paths.journal_file, key=pos.staff.audit.key)  # keyed
    last = trail.entries()[-1]
    assert (last.action, last.details["name"], last.details["reason"]) == (
        "sign_out",
        "Cal",
        "app closed",
    )
    assert trail.verify().ok
    trail.connection.close()


def test_the_idle_lock_covers_a_checkout_in_progress_and_gives_it_back(
    qtbot: QtBot, till: Till
) -> None:
    hire(till.paths)
    ticks = Ticks()
    pos = start(till, monotonic=ticks)
    window = pos.window
    sign_in(qtbot, window, "Cal", "1357")
    assert not window.locked
    assert window.cashier.amount_field.hasFocus()
    ring_up(qtbot, pos, "9.50", "Croissants")
    checkout = window.checkout
    qtbot.waitUntil(lambda: checkout.payment is not None, timeout=20_000)
    reference = checkout.payment.reference  # type: ignore[union-attr]

    ticks.value += 15 * 60
    qtbot.waitUntil(lambda: window.locked, timeout=5_000)
    screen = window.sign_in_screen
    assert screen is not None
    assert screen.hint.text() == (
        "Locked after 15 minutes without activity. Sign in to carry on where you left off."
    )
    assert pos.staff.session.user is None
    assert window.sign_out_button.isHidden()
    last = pos.staff.audit.entries()[-1]
    assert (last.action, last.details["reason"]) == ("sign_out", "idle")

    sign_in(qtbot, window, "Cal", "1357")
    assert not window.locked
    assert window.stack.currentWidget() is checkout
    assert checkout.payment is not None
    assert checkout.payment.reference == reference


def test_a_settings_change_is_audited_and_its_staff_rules_apply_at_once(
    qtbot: QtBot, till: Till
) -> None:
    hire(till.paths)
    pos = start(till)
    sign_in(qtbot, pos.window, "Ada", "246813")
    assert pos.staff.approvals.policy.refund_limit is None
    changed = replace(pos.settings, refund_approval_limit_minor=5000, idle_lock_minutes=5)
    applied = asyncio.ensure_future(pos.apply(changed))
    qtbot.waitUntil(applied.done)
    applied.result()
    assert pos.staff.approvals.policy.refund_limit == Money(5000, "USD")
    assert pos.staff.idle.timeout == timedelta(minutes=5)
    entry = pos.staff.audit.entries()[-1]
    ada = pos.staff.users.find("Ada")
    assert ada is not None
    assert (entry.action, entry.actor, entry.subject) == ("settings_changed", ada.actor, "settings")
    assert entry.details["changed"] == ["idle_lock_minutes", "refund_approval_limit_minor"]


def test_with_sign_in_optional_the_till_opens_and_sign_in_can_be_cancelled(
    qtbot: QtBot, till: Till
) -> None:
    hire(till.paths)
    save_settings(till.paths.settings_file, Settings(require_sign_in=False))
    pos = start(till)
    window = pos.window
    assert not window.locked
    assert window.user_label.text() == "Nobody signed in"
    assert visible_nav(window) == ["Cashier", "Payments"]  # Settings is an administrator's
    window.sign_in_button.click()
    screen = window.sign_in_screen
    assert screen is not None
    assert window.locked
    assert not screen.sign_in_cancel.isHidden()
    screen.sign_in_cancel.click()
    assert not window.locked
    assert pos.staff.session.user is None
    window.sign_in_button.click()
    sign_in(qtbot, window, "Ada", "246813")
    assert visible_nav(window) == [
        "Cashier",
        "Payments",
        "End of shift",
        "Audit",
        "Users",
        "Settings",
    ]
    window.sign_out_button.click()
    assert not window.locked
    assert visible_nav(window) == ["Cashier", "Payments"]


def test_an_administrator_signing_in_is_told_who_is_locked_out(qtbot: QtBot, till: Till) -> None:
    hire(till.paths)
    pos = start(till)
    window = pos.window
    for _ in range(10):
        sign_in(qtbot, window, "Cal", "0000")
    sign_in(qtbot, window, "Ada", "246813")
    alert = window.lockout_alert
    assert alert.isVisible()
    assert alert.text() == "Locked out: Cal"
    assert alert.accessibleDescription() == (
        "Locked out by wrong PINs: Cal, 1 time(s) in a row. See Users (F11)."
    )
    window.sign_out_button.click()
    sign_in(qtbot, window, "Max", "580246")  # a manager is not an administrator: no alert
    assert not alert.isVisible()
