"""A live profile on a host its provider does not publish: only with an administrator's PIN
and the secret typed again, kept in the keyring and not in the file anyone can edit."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt

from pos_app.config.settings import KEYRING_SERVICE, load_settings, save_settings
from tests.e2e.test_staff import hire, press, sign_in, start

if TYPE_CHECKING:
    from pytestqt.qtbot import QtBot

    from pos_app.bootstrap.app import PosApplication
    from pos_app.gui.screens.settings import SettingsScreen
    from tests.conftest import MemoryKeyring
    from tests.e2e.conftest import Till

# A refused port on loopback: the address is one Checkout.com does not publish, and a
# connection to it fails at once rather than reaching anything.
PROXY = "https://127.0.0.1:1"


def fill_live_checkout_com(qtbot: QtBot, screen: SettingsScreen, secret: str) -> None:
    form = screen.form
    screen.new_profile()
    form.name.setText("Shop")
    form.provider.setCurrentIndex(form.provider.findData("checkout_com"))
    form.environment.setCurrentIndex(form.environment.findData("live"))
    form.processing_channel_id.setText("pc_live_1")
    form.api_base_url.setText(PROXY)
    form.secret.setText(secret)
    qtbot.keyClick(form.name, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)


def open_settings(qtbot: QtBot, pos: PosApplication) -> SettingsScreen:
    press(qtbot, pos.window, Qt.Key.Key_F9, lambda: pos.window.settings)
    return pos.window.settings


def test_an_unpublished_live_host_needs_the_secret_again_and_an_administrators_pin(
    qtbot: QtBot, till: Till, memory_keyring: MemoryKeyring
) -> None:
    hire(till.paths)
    pos = start(till)
    sign_in(qtbot, pos.window, "Ada", "246813")
    screen = open_settings(qtbot, pos)

    # Without the secret typed, nothing is asked and nothing is saved.
    fill_live_checkout_com(qtbot, screen, secret="")
    assert screen.host_dialog is None
    assert screen.form.error.text() == (
        "Checkout.com does not publish “127.0.0.1”. An administrator can approve it: "
        "type the secret key again, then save."
    )
    assert screen.form.secret.hasFocus()

    screen.form.secret.setText("sk_live_proxy")
    qtbot.keyClick(screen.form.name, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    dialog = screen.host_dialog
    assert dialog is not None
    assert dialog.isVisible()
    assert dialog.what.text() == "127.0.0.1"
    assert "this host, which Checkout.com does not publish" in dialog.question.text()

    # A manager's PIN is not enough; the refusal is shown and nothing is kept.
    dialog.admin.setText("Max")
    dialog.pin.setText("580246")
    dialog.accept()
    assert (
        dialog.error.text() == "Max is a manager; only an administrator can approve another host."
    )
    assert load_settings(pos.paths.settings_file).profile("Shop") is None

    dialog.admin.setText("Ada")
    dialog.pin.setText("246813")
    dialog.accept()
    qtbot.waitUntil(lambda: screen.status.text() == "Saved “Shop”.")
    saved = load_settings(pos.paths.settings_file).profile("Shop")
    assert saved is not None
    assert saved.api_base_url == PROXY
    # The secret is bound to the host it was typed for, beside the approval.
    assert memory_keyring.get_password(KEYRING_SERVICE, "Shop:secret_key@127.0.0.1") == (
        "sk_live_proxy"
    )
    approved = [e for e in pos.staff.audit.entries() if e.action == "live_host_approved"]
    assert [(e.subject, e.details["hosts"], e.details["approver"]) for e in approved] == [
        ("profile:Shop", ["127.0.0.1"], "Ada")
    ]

    # The approval holds: the profile is built and tries the host (loopback refuses it).
    screen.select("Shop")
    screen.check_button.click()
    qtbot.waitUntil(lambda: screen.status.text().startswith("✗"), timeout=20_000)
    assert "published hosts" not in screen.status.text()


def test_a_host_written_into_the_settings_file_by_hand_is_not_approved(
    qtbot: QtBot, till: Till
) -> None:
    hire(till.paths)
    pos = start(till)
    sign_in(qtbot, pos.window, "Ada", "246813")
    screen = open_settings(qtbot, pos)
    fill_live_checkout_com(qtbot, screen, secret="sk_live_proxy")
    dialog = screen.host_dialog
    assert dialog is not None
    dialog.admin.setText("Ada")
    dialog.pin.setText("246813")
    dialog.accept()
    qtbot.waitUntil(lambda: screen.status.text() == "Saved “Shop”.")
    till.stop(pos)

    # Someone with the file, not the keyring, points the profile at their own host.
    settings = load_settings(till.paths.settings_file)
    shop = settings.profile("Shop")
    assert shop is not None
    moved = replace(shop, api_base_url="https://collect.evil.example")
    save_settings(till.paths.settings_file, settings.with_profile(moved, replacing="Shop"))

    again = start(till)
    sign_in(qtbot, again.window, "Ada", "246813")
    screen = open_settings(qtbot, again)
    screen.select("Shop")
    screen.check_button.click()
    qtbot.waitUntil(lambda: screen.status.text().startswith("✗"), timeout=20_000)
    assert "“collect.evil.example” is not one of them" in screen.status.text()
    # Nor was the secret ever where the new host could get it: it was typed for the old one.
    assert again.secrets.get(screen.selected_profile()) is None  # type: ignore[arg-type]
