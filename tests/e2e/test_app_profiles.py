"""The whole app with four provider profiles: switching the default, checking, reconciling."""

from __future__ import annotations

import contextlib
import os
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import keyring
from keyring.backends import null
from PySide6.QtCore import Qt

from pos_app.bootstrap.app import PosApplication
from pos_app.config.settings import (
    KEYRING_SERVICE,
    ProviderProfile,
    Settings,
    load_settings,
    save_settings,
)
from pos_app.domain.vocabulary import PaymentMethod
from pos_app.gui.widgets import browser_panel
from tests.e2e.test_hosted_checkout import ring_up

if TYPE_CHECKING:
    import pytest
    from pytestqt.qtbot import QtBot

    from pos_app.journal.store import PaymentRecord
    from tests.conftest import MemoryKeyring
    from tests.e2e.conftest import Till

CKO = "Sandbox — Checkout.com"
RECHARGE = "Sandbox — ReCharge"


def only_payment(pos: PosApplication) -> PaymentRecord | None:
    page = pos.journal.page_payments(offset=0, limit=5, order_by="created_at", descending=True)
    return page[0] if len(page) == 1 else None


def open_settings(qtbot: QtBot, pos: PosApplication) -> None:
    qtbot.keyClick(pos.window, Qt.Key.Key_F9)
    qtbot.waitUntil(lambda: pos.window.stack.currentWidget() is pos.window._settings)


def test_making_another_profile_default_switches_the_cashier_without_a_restart(
    qtbot: QtBot, till: Till
) -> None:
    pos = till.start()
    assert pos.provider is not None
    assert pos.provider.key == "justifi"
    old_cashier = pos.window.cashier
    open_settings(qtbot, pos)
    settings_screen = pos.window.settings
    settings_screen.select(CKO)
    qtbot.keyClick(settings_screen.table, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)

    qtbot.waitUntil(lambda: pos.window.cashier is not old_cashier and pos.window.cashier.ready)
    assert pos.provider.key == "checkout_com"
    assert pos.window.connection_label.text() == "Connected to Checkout.com (sandbox)"
    assert pos.window.profile_label.text() == f"Profile: {CKO}"
    assert "Checkout.com" in pos.window.cashier.hint.text()
    assert load_settings(pos.paths.settings_file).default_profile == CKO

    qtbot.keyClick(pos.window, Qt.Key.Key_F1)
    qtbot.waitUntil(lambda: pos.window.stack.currentWidget() is pos.window.cashier)
    ring_up(qtbot, pos, "12.50", "Birthday cake")
    qtbot.waitUntil(lambda: (p := only_payment(pos)) is not None and p.provider_ref is not None)
    payment = only_payment(pos)
    assert payment is not None
    assert (payment.provider, payment.profile) == ("checkout_com", CKO)
    assert payment.provider_ref is not None
    assert payment.provider_ref.startswith("hpp_")
    till.stop(pos)

    again = till.start()  # the choice outlives the run
    assert again.provider is not None
    assert again.provider.key == "checkout_com"


def test_check_connection_reaches_the_built_in_sandbox(qtbot: QtBot, till: Till) -> None:
    pos = till.start()
    open_settings(qtbot, pos)
    screen = pos.window.settings
    screen.select("Sandbox — Payfect")
    screen.check_button.click()
    qtbot.waitUntil(lambda: screen.status.text().startswith(("✓", "✗")), timeout=20_000)
    assert screen.status.text() == "✓ Connected: Payfect (sandbox) accepted “Sandbox — Payfect”."


def test_a_live_default_without_a_secret_is_refused_and_the_cashier_keeps_selling(
    qtbot: QtBot, till: Till
) -> None:
    pos = till.start()
    open_settings(qtbot, pos)
    screen = pos.window.settings
    form = screen.form
    screen.new_profile()
    form.name.setText("Live JustiFi")
    form.environment.setCurrentIndex(form.environment.findData("live"))
    form.client_id.setText("live_abc")
    form.sub_account.setText("acc_live")
    qtbot.keyClick(form.name, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: screen.status.text() == "Saved “Live JustiFi”.")

    screen.select("Live JustiFi")
    screen.default_button.click()
    qtbot.waitUntil(lambda: "cannot take payments" in screen.status.text())
    assert "No client secret is saved" in screen.status.text()
    assert load_settings(pos.paths.settings_file).default_profile == "Sandbox — JustiFi"
    assert pos.provider is not None
    assert pos.provider.key == "justifi"
    assert pos.window.cashier.ready


def test_start_up_looks_up_open_payments_of_a_profile_that_is_not_the_default(
    qtbot: QtBot, till: Till
) -> None:
    paths = till.paths
    save_settings(paths.settings_file, load_settings(paths.settings_file).with_default(RECHARGE))
    pos = till.start()
    assert pos.provider is not None
    assert pos.provider.key == "recharge"
    ring_up(qtbot, pos, "8.00", "Sourdough loaf")
    qtbot.waitUntil(lambda: (p := only_payment(pos)) is not None and p.provider_ref is not None)
    till.stop(pos)  # the customer never paid: the checkout is still open at ReCharge

    settings = load_settings(paths.settings_file)
    save_settings(paths.settings_file, settings.with_default("Sandbox — JustiFi"))
    again = till.start()
    assert again.provider is not None
    assert again.provider.key == "justifi"
    qtbot.waitUntil(lambda: "need attention" in again.window.connection_label.text())
    payment = only_payment(again)
    assert payment is not None
    assert payment.profile == RECHARGE
    # Looked up at ReCharge (not "profile not available"): the checkout is known to be open.
    assert payment.attention == "Checkout still open at the provider."


def test_a_live_default_on_a_machine_without_a_keyring_says_so(qtbot: QtBot, till: Till) -> None:
    keyring.set_keyring(null.Keyring())
    live = ProviderProfile(
        name="Shop", provider="justifi", environment="live", client_id="live_1", sub_account="a"
    )
    paths = till.paths
    save_settings(paths.settings_file, Settings().with_profile(live).with_default("Shop"))
    pos = PosApplication(paths)
    till.running.append(pos)
    pos.window.show()
    task = pos.tasks.start(pos.connect())
    qtbot.waitUntil(task.done, timeout=20_000)
    assert not pos.window.cashier.ready
    assert pos.window.connection_label.text().startswith(
        "Payments unavailable: No system keyring is available"
    )


def test_with_webhooks_on_a_payment_made_elsewhere_reaches_the_screen_without_polling(
    qtbot: QtBot, till: Till
) -> None:

    from pos_app.domain.payment import PaymentState
    from pos_app.services.events import PaymentChange

    paths = till.paths
    settings = load_settings(paths.settings_file)
    save_settings(paths.settings_file, replace(settings, webhooks=True))
    pos = till.start()
    qtbot.waitUntil(lambda: pos.webhooks is not None, timeout=20_000)
    assert pos.payments is not None
    heard: list[PaymentChange] = []
    pos.payments.subscribe(heard.append)

    # Pay by link: the customer pays on their phone, so no page in the till sees it.
    cashier = pos.window.cashier
    cashier.amount_field.setText("6.40")
    cashier.description_field.setText("Two cinnamon buns")
    cashier.submit(PaymentMethod.PAY_BY_LINK)
    checkout = pos.window.checkout
    qtbot.waitUntil(lambda: (p := only_payment(pos)) is not None and bool(p.provider_ref))
    checkout._poll.stop()  # only the webhook may bring the news now
    payment = only_payment(pos)
    assert payment is not None
    assert payment.provider_ref
    assert pos.sandbox is not None
    paid = pos.sandbox.control.request(
        "POST",
        "justifi/pay",
        json={"checkout_id": payment.provider_ref, "card": "4242424242424242"},
    )
    assert paid.is_success, paid.text
    pos.sandbox.control.request("POST", "webhooks/flush", timeout=30)

    qtbot.waitUntil(lambda: checkout.result.isVisible(), timeout=20_000)
    assert checkout.result.title.text() == "Approved"
    assert PaymentChange(payment.reference, "webhook", PaymentState.CAPTURED) in heard


def test_with_the_till_option_set_the_secure_page_opens_in_the_system_browser(
    qtbot: QtBot, till: Till, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[str] = []
    monkeypatch.setattr(browser_panel, "system_browser", lambda url: opened.append(url) is None)
    paths = till.paths
    settings = load_settings(paths.settings_file)
    save_settings(paths.settings_file, replace(settings, secure_page_in_browser=True))
    pos = till.start()
    ring_up(qtbot, pos, "6.00", "Two scones")
    qtbot.waitUntil(lambda: bool(opened), timeout=20_000)
    payment = only_payment(pos)
    assert payment is not None
    assert payment.provider_ref
    assert payment.provider_ref in opened[0]
    assert pos.window.checkout.web_view is None  # nothing shown in the till's own view


def listening_ports() -> set[int]:
    """TCP ports this process listens on (Linux: its socket inodes in /proc/net/tcp*)."""
    inodes = set()
    for fd in Path("/proc/self/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def test_a_till_that_sells_live_only_never_starts_the_sandbox(
    qtbot: QtBot, till: Till, memory_keyring: MemoryKeyring
) -> None:
    live = ProviderProfile(
        name="Shop", provider="justifi", environment="live", client_id="live_1", sub_account="a"
    )
    memory_keyring.set_password(KEYRING_SERVICE, live.secret_key_name(), "live-secret")
    before = listening_ports()
    # The default sandbox profiles stay in the settings, as they do on a real till.
    save_settings(till.paths.settings_file, Settings().with_profile(live).with_default("Shop"))
    pos = PosApplication(till.paths)
    till.running.append(pos)
    pos.window.show()
    connected = pos.tasks.start(pos.connect())
    qtbot.waitUntil(connected.done, timeout=20_000)  # start-up's lookups and syncing too
    assert pos.provider is not None
    assert pos.provider.key == "justifi"
    assert pos.window.connection_label.text() == "Connected to JustiFi (live)"
    assert pos.sandbox is None
    assert listening_ports() == before  # nothing listens for training
    assert "Sandbox — JustiFi" not in pos.providers

    # Training starts when a sandbox profile is used, here by checking it in Settings.
    open_settings(qtbot, pos)
    screen = pos.window.settings
    screen.select("Sandbox — Payfect")
    screen.check_button.click()
    qtbot.waitUntil(lambda: screen.status.text().startswith(("✓", "✗")), timeout=20_000)
    assert screen.status.text() == "✓ Connected: Payfect (sandbox) accepted “Sandbox — Payfect”."
    assert pos.sandbox is not None
