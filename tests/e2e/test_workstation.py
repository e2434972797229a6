"""`pos-app --mode workstation`: the back office's till opens on Payments, cannot sell, and
needs sign-in; without staff it says an administrator must set them up first."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt

from tests.e2e.test_staff import hire, sign_in, start, visible_nav

if TYPE_CHECKING:
    from pathlib import Path

    from pytestqt.qtbot import QtBot

    from tests.e2e.conftest import Till


def test_without_staff_a_workstation_asks_for_an_administrator_first(
    qtbot: QtBot, till: Till
) -> None:
    pos = start(till, mode="workstation")
    window = pos.window
    screen = window.sign_in_screen
    assert screen is not None
    assert window.locked
    assert screen.page == "setup_needed"
    assert "an administrator must set up staff first" in screen.needed_text.text()
    qtbot.keyClick(screen.setup_button, Qt.Key.Key_Return)
    assert screen.page == "setup"
    assert screen.setup_cancel.isHidden()
    screen.setup_name.setText("Ada")
    screen.setup_pin.setText("246813")
    screen.setup_confirm.setText("246813")
    screen.create_button.click()
    assert not window.locked
    assert window.stack.currentWidget() is window.payments
    assert visible_nav(window) == ["Payments", "End of shift", "Audit", "Users", "Settings"]


def test_a_workstation_opens_on_sign_in_then_payments_and_never_sells(
    qtbot: QtBot, till: Till
) -> None:
    hire(till.paths)
    pos = start(till, mode="workstation")
    window = pos.window
    assert window.locked
    assert window.windowTitle().endswith("pos_app workstation")
    sign_in(qtbot, window, "Max", "580246")
    assert not window.locked
    assert window.stack.currentWidget() is window.payments
    assert visible_nav(window) == ["Payments", "End of shift", "Audit"]
    assert window.cashier_button.isHidden()
    qtbot.keyClick(window, Qt.Key.Key_F1)  # the Cashier's key does nothing here
    qtbot.keyClick(window, Qt.Key.Key_F10)
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.audit)  # F1 came first
    window.show_cashier()
    assert window.stack.currentWidget() is window.audit
    window.sign_out_button.click()
    assert window.locked
    assert window.sign_in_screen is not None
    assert window.sign_in_screen.page == "sign_in"


def test_the_command_line_starts_a_workstation(tmp_path: Path) -> None:
    basedir = tmp_path / "office"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    command = [sys.executable, "-m", "pos_app", "--basedir", str(basedir), "--exit-when-ready"]
    done = subprocess.run(
        [*command, "--mode", "workstation"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env=env,
    )
    assert "READY" in done.stdout
    log = (basedir / "logs" / "pos_app.log").read_text(encoding="utf-8")
    assert "in workstation mode" in log
    refused = subprocess.run(
        [sys.executable, "-m", "pos_app", "--mode", "kiosk", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert refused.returncode == 2
    assert "invalid choice: 'kiosk'" in refused.stderr
