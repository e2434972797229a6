"""Settings: what a manager sees while adding, editing and removing provider profiles."""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict
from typing import TYPE_CHECKING

import keyring
import pytest
from keyring.backends import null
from PySide6.QtCore import Qt

from pos_app.config.secrets import SecretStore
from pos_app.config.settings import (
    KEYRING_SERVICE,
    ProviderProfile,
    Settings,
    SettingsError,
    check_settings,
)
from pos_app.gui.models.profiles_model import DEFAULT_MARK, ProfilesTableModel
from pos_app.gui.screens.settings import SettingsScreen
from pos_app.gui.tasks import TaskRunner
from pos_app.providers.errors import AuthenticationError

if TYPE_CHECKING:
    from collections.abc import Collection

    from PySide6.QtWidgets import QWidget
    from pytestqt.modeltest import ModelTester
    from pytestqt.qtbot import QtBot

    from tests.conftest import MemoryKeyring

JUSTIFI = "Sandbox — JustiFi"
CKO = "Sandbox — Checkout.com"


class FakeApp:
    """The app side of the screen: holds settings, refuses invalid ones, fakes the network."""

    def __init__(self) -> None:
        self.settings = Settings()
        self.secrets = SecretStore()
        self.open_payments: set[str] = set()
        self.checked: list[str] = []
        self.refuse: str | None = None

    def has_open_payments(self, profile_name: str) -> bool:
        return profile_name in self.open_payments

    def approved_hosts(self, settings: Settings) -> dict[str, frozenset[str]]:
        return {p.name: self.secrets.approved_hosts(p) for p in settings.profiles}

    def approve_hosts(
        self, profile: ProviderProfile, hosts: Collection[str], name: str, pin: str
    ) -> None:
        raise AssertionError("the app's staff approve hosts: tests/e2e/test_live_host_approval.py")

    async def apply(self, settings: Settings) -> None:
        check_settings(settings, self.approved_hosts(settings))
        if self.refuse:
            raise SettingsError(self.refuse)
        self.settings = settings

    async def check_connection(self, profile: ProviderProfile) -> None:
        await asyncio.sleep(0)
        self.checked.append(profile.name)
        if profile.provider == "checkout_com":
            raise AuthenticationError("Checkout.com refused the secret key (401)")


@pytest.fixture
def fake_app() -> FakeApp:
    return FakeApp()


@pytest.fixture
def screen(qtbot: QtBot, qloop: asyncio.AbstractEventLoop, fake_app: FakeApp) -> SettingsScreen:
    answers: list[bool] = []

    def confirm(_parent: QWidget, _title: str, _question: str) -> bool:
        return answers.pop(0) if answers else True

    widget = SettingsScreen(fake_app, tasks=TaskRunner(), confirm=confirm)
    widget.confirm_answers = answers  # type: ignore[attr-defined]
    qtbot.addWidget(widget)
    widget.resize(1080, 760)
    widget.show()
    widget.activateWindow()
    qtbot.waitUntil(widget.isActiveWindow)
    return widget


def rows(screen: SettingsScreen) -> list[list[str]]:
    model = screen.model
    return [
        [str(model.index(r, c).data() or "") for c in range(model.columnCount())]
        for r in range(model.rowCount())
    ]


def select(qtbot: QtBot, screen: SettingsScreen, name: str) -> None:
    screen.select(name)
    qtbot.waitUntil(lambda: screen.form.name.text() == name)


def save(qtbot: QtBot, screen: SettingsScreen) -> None:
    qtbot.keyClick(screen.form.name, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)


def test_profiles_model_is_a_well_behaved_qt_model(qtmodeltester: ModelTester) -> None:
    qtmodeltester.check(ProfilesTableModel(Settings()))


def test_every_profile_is_listed_with_its_provider_mode_and_the_default_marked(
    screen: SettingsScreen,
) -> None:
    assert rows(screen) == [
        [JUSTIFI, "JustiFi", "Sandbox", DEFAULT_MARK],
        [CKO, "Checkout.com", "Sandbox", ""],
        ["Sandbox — ReCharge", "ReCharge", "Sandbox", ""],
        ["Sandbox — Payfect", "Payfect", "Sandbox", ""],
    ]
    assert screen.form.name.text() == JUSTIFI  # the default is shown first


def test_the_form_shows_only_what_the_chosen_provider_needs(
    qtbot: QtBot, screen: SettingsScreen
) -> None:
    form = screen.form
    qtbot.keyClick(screen.table, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: form.title.text() == "New profile")
    visible = {name for name, widget in form.widgets.items() if widget.isVisible()}
    assert {"client_id", "sub_account", "hosted_checkout_base_url"} <= visible
    assert "processing_channel_id" not in visible
    assert not form.secret.isVisible()  # sandbox: the simulator's credentials

    form.provider.setCurrentIndex(form.provider.findData("checkout_com"))
    form.environment.setCurrentIndex(form.environment.findData("live"))
    visible = {name for name, widget in form.widgets.items() if widget.isVisible()}
    assert {"processing_channel_id", "billing_country", "auth_style"} <= visible
    assert "client_id" not in visible
    assert "hosted_checkout_base_url" not in visible
    assert form.secret.isVisible()
    assert form.secret_label.text() == "Secret key"
    assert form.secret.echoMode() == form.secret.EchoMode.Password

    form.provider.setCurrentIndex(form.provider.findData("payfect"))
    assert form.currency.currentText() == "USD"
    assert form.currency.count() == 1  # Payfect prices USD sales in USDT, nothing else


def test_a_new_live_profile_is_saved_with_its_secret_in_the_keyring_only(
    qtbot: QtBot, screen: SettingsScreen, fake_app: FakeApp, memory_keyring: MemoryKeyring
) -> None:
    form = screen.form
    qtbot.keyClick(screen.table, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: form.title.text() == "New profile")  # shortcuts click on a timer
    assert form.name.hasFocus()
    form.name.clear()
    qtbot.keyClicks(form.name, "High street")
    form.provider.setCurrentIndex(form.provider.findData("checkout_com"))
    form.environment.setCurrentIndex(form.environment.findData("live"))
    form.currency.setCurrentText("GBP")
    qtbot.keyClicks(form.processing_channel_id, "pc_live123")
    qtbot.keyClicks(form.billing_country, "GB")
    qtbot.keyClicks(form.secret, "sk_live_abc")
    save(qtbot, screen)

    qtbot.waitUntil(lambda: fake_app.settings.profile("High street") is not None)
    saved = fake_app.settings.profile("High street")
    assert saved == ProviderProfile(
        name="High street",
        provider="checkout_com",
        environment="live",
        currency="GBP",
        processing_channel_id="pc_live123",
        billing_country="GB",
        auth_style="bearer",
    )
    assert memory_keyring.passwords == {(KEYRING_SERVICE, "High street:secret_key"): "sk_live_abc"}
    assert "sk_live_abc" not in json.dumps(asdict(fake_app.settings))
    qtbot.waitUntil(lambda: screen.status.text() == "Saved “High street”.")
    assert ["High street", "Checkout.com", "Live", ""] in rows(screen)
    assert form.secret.text() == ""  # never shown again
    assert "saved in the system keyring" in form.secret_hint.text()


@pytest.mark.parametrize(
    ("name", "url", "message", "field"),
    [
        (CKO, "", "Another profile is already called “Sandbox — Checkout.com”.", "name"),
        ("Shop", "http://api.justifi.ai", "must use https://", "api_base_url"),
        ("Shop", "not a url", "is not a web address", "api_base_url"),
    ],
)
def test_invalid_profiles_are_explained_and_not_saved(
    qtbot: QtBot,
    screen: SettingsScreen,
    fake_app: FakeApp,
    name: str,
    url: str,
    message: str,
    field: str,
) -> None:
    before = fake_app.settings
    form = screen.form
    screen.new_profile()
    form.name.setText(name)
    form.environment.setCurrentIndex(form.environment.findData("live"))
    form.client_id.setText("live_1")
    form.sub_account.setText("acc_1")
    form.api_base_url.setText(url)
    save(qtbot, screen)
    assert message in form.error.text()
    assert form.widgets[field].property("invalid") is True
    assert fake_app.settings is before


def test_without_a_system_keyring_a_live_secret_is_refused(
    qtbot: QtBot, screen: SettingsScreen, fake_app: FakeApp
) -> None:
    keyring.set_keyring(null.Keyring())
    fake_app.secrets = SecretStore()
    form = screen.form
    screen.new_profile()
    form.name.setText("Shop")
    form.environment.setCurrentIndex(form.environment.findData("live"))
    assert form.secret_hint.text().startswith("No system keyring is available")
    form.client_id.setText("live_1")
    form.sub_account.setText("acc_1")
    qtbot.keyClicks(form.secret, "s3cret")
    save(qtbot, screen)
    assert form.error.text().startswith("No system keyring is available")
    assert fake_app.settings.profile("Shop") is None


def test_renaming_a_profile_keeps_its_secret(
    qtbot: QtBot, screen: SettingsScreen, fake_app: FakeApp, memory_keyring: MemoryKeyring
) -> None:
    live = ProviderProfile(
        name="Shop", provider="justifi", environment="live", client_id="live_1", sub_account="a"
    )
    fake_app.settings = fake_app.settings.with_profile(live)
    fake_app.secrets.set(live, "s3cret")
    screen.refresh()
    select(qtbot, screen, "Shop")
    screen.form.name.setText("Main street")
    save(qtbot, screen)
    qtbot.waitUntil(lambda: fake_app.settings.profile("Main street") is not None)
    assert fake_app.settings.profile("Shop") is None
    assert memory_keyring.passwords == {(KEYRING_SERVICE, "Main street:client_secret"): "s3cret"}


def test_a_save_the_app_refuses_leaves_the_keyring_as_it_was(
    qtbot: QtBot, screen: SettingsScreen, fake_app: FakeApp, memory_keyring: MemoryKeyring
) -> None:
    live = ProviderProfile(
        name="Shop", provider="justifi", environment="live", client_id="live_1", sub_account="a"
    )
    fake_app.settings = fake_app.settings.with_profile(live)
    fake_app.secrets.set(live, "old-secret")
    screen.refresh()
    select(qtbot, screen, "Shop")
    fake_app.refuse = "A sale is in progress: finish it first."
    screen.form.name.setText("Renamed")
    qtbot.keyClicks(screen.form.secret, "new-secret")
    save(qtbot, screen)
    qtbot.waitUntil(lambda: screen.form.error.text() == "A sale is in progress: finish it first.")
    assert memory_keyring.passwords == {(KEYRING_SERVICE, "Shop:client_secret"): "old-secret"}
    assert fake_app.settings.profile("Shop") == live


def test_a_profile_with_open_payments_keeps_its_name(
    qtbot: QtBot, screen: SettingsScreen, fake_app: FakeApp
) -> None:
    fake_app.open_payments.add(CKO)
    select(qtbot, screen, CKO)
    screen.form.name.setText("Renamed")
    save(qtbot, screen)
    assert "payments still open" in screen.form.error.text()
    assert fake_app.settings.profile(CKO) is not None


def test_deleting_asks_first_and_refuses_what_is_still_needed(
    qtbot: QtBot, screen: SettingsScreen, fake_app: FakeApp
) -> None:
    screen.delete_selected()  # the default is selected
    assert "make another profile the default first" in screen.status.text()
    fake_app.open_payments.add(CKO)
    select(qtbot, screen, CKO)
    screen.delete_button.click()
    assert "payments still open" in screen.status.text()

    select(qtbot, screen, "Sandbox — Payfect")
    screen.confirm_answers.append(False)  # type: ignore[attr-defined]
    screen.delete_button.click()
    assert fake_app.settings.profile("Sandbox — Payfect") is not None
    screen.delete_button.click()
    qtbot.waitUntil(lambda: fake_app.settings.profile("Sandbox — Payfect") is None)
    qtbot.waitUntil(lambda: screen.status.text() == "Deleted “Sandbox — Payfect”.")
    assert len(rows(screen)) == 3


def test_the_last_profile_cannot_be_deleted(
    qtbot: QtBot, screen: SettingsScreen, fake_app: FakeApp
) -> None:
    only = ProviderProfile(name="Only", provider="payfect")
    fake_app.settings = Settings(profiles=(only,), default_profile="Only")
    screen.refresh()
    screen.delete_selected()
    assert "Keep at least one profile" in screen.status.text()
    assert fake_app.settings.profiles == (only,)


def test_make_default_moves_the_marker(
    qtbot: QtBot, screen: SettingsScreen, fake_app: FakeApp
) -> None:
    select(qtbot, screen, CKO)
    qtbot.keyClick(screen.table, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: fake_app.settings.default_profile == CKO)
    qtbot.waitUntil(lambda: rows(screen)[1][3] == DEFAULT_MARK)
    assert rows(screen)[0][3] == ""
    assert "Payments now go through “Sandbox — Checkout.com”" in screen.status.text()


def test_check_connection_shows_success_and_failure(
    qtbot: QtBot, screen: SettingsScreen, fake_app: FakeApp
) -> None:
    qtbot.keyClick(screen.table, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: screen.status.text().startswith("✓"))
    assert screen.status.text() == "✓ Connected: JustiFi (sandbox) accepted “Sandbox — JustiFi”."
    assert fake_app.checked == [JUSTIFI]

    select(qtbot, screen, CKO)
    screen.check_button.click()
    assert not screen.check_button.isEnabled()  # one check at a time
    qtbot.waitUntil(lambda: screen.status.text().startswith("✗"))
    assert screen.status.text() == (
        "✗ Connection failed: Checkout.com refused the secret key (401)"
    )
    assert screen.check_button.isEnabled()


def test_till_options_set_approval_limits_and_sign_in(
    qtbot: QtBot, screen: SettingsScreen, fake_app: FakeApp
) -> None:
    screen.till_button.click()
    dialog = screen.till_dialog
    assert dialog is not None
    assert dialog.require_sign_in.isChecked()
    assert dialog.refund_limit.text() == ""
    dialog.refund_limit.setText("abc")
    dialog.save_button.click()
    assert dialog.isVisible()  # nothing applied from a typo
    assert "Refund limit" in dialog.error.text()
    dialog.refund_limit.setText("50.00")
    dialog.void_limit.setText("1,000")
    dialog.require_sign_in.setChecked(False)
    dialog.idle_minutes.setValue(5)
    assert not dialog.in_browser.isChecked()  # secure pages open in the till by default
    dialog.in_browser.setChecked(True)
    dialog.save_button.click()
    qtbot.waitUntil(lambda: screen.status.text() == "Saved the till options.")
    saved = fake_app.settings
    assert (saved.refund_approval_limit_minor, saved.void_approval_limit_minor) == (5000, 100_000)
    assert (saved.require_sign_in, saved.idle_lock_minutes) == (False, 5)
    assert saved.secure_page_in_browser is True
