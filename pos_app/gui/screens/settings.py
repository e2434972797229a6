"""Settings: the provider profiles the till can take payments through.

The screen edits a copy of the settings and hands whole, validated settings to the
backend (services.settings.SettingsService, from the app), which saves them and switches
the cashier's provider when the default changes. Secrets go straight to the keyring; they
are never shown again.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Protocol

from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from pos_app.config.secrets import SecretStore, SecretStoreError
from pos_app.config.settings import (
    FIELD_LABELS,
    ProviderProfile,
    Settings,
    settings_problems,
    unpublished_hosts,
)
from pos_app.gui.dialogs.host_approval import HostApprovalDialog
from pos_app.gui.dialogs.till_options import TillOptionsDialog
from pos_app.gui.models.profiles_model import ProfilesTableModel
from pos_app.gui.widgets.common import announce, label, set_invalid
from pos_app.providers.errors import ProviderError
from pos_app.providers.registry import PROVIDERS
from pos_app.services.users import UserRefused

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Coroutine, Mapping

    from pos_app.gui.tasks import TaskRunner

log = logging.getLogger(__name__)

# Fields every profile has; the provider decides which of the rest the form shows.
COMMON_FIELDS = ("name", "provider", "environment", "currency", "api_base_url")
CURRENCY_CHOICES = {key: spec.offered_currencies for key, spec in PROVIDERS.items()}
NO_KEYRING_SHORT = "No system keyring is available: secrets for live profiles cannot be saved here."
AUTH_STYLE_NAMES = {"bearer": "Standard (NAS) account", "raw": "Previous (ABC) account"}


class SettingsBackend(Protocol):
    """What the screen needs: the Settings use case (services.settings.SettingsService)
    owns saving and switching providers, through the provider pool."""

    @property
    def settings(self) -> Settings: ...

    @property
    def secrets(self) -> SecretStore: ...

    def has_open_payments(self, profile_name: str) -> bool: ...

    def approved_hosts(self, settings: Settings) -> Mapping[str, frozenset[str]]:
        """Profile name → the unpublished hosts an administrator approved for it."""
        ...

    def approve_hosts(
        self, profile: ProviderProfile, hosts: Collection[str], name: str, pin: str
    ) -> None:
        """An administrator approves ``hosts`` for ``profile`` (audited); UserRefused says
        why not. Saving then keeps the approval in the keyring."""
        ...

    async def apply(self, settings: Settings) -> None:
        """Save ``settings`` (SettingsError says why not) and follow a new default."""
        ...

    async def check_connection(self, profile: ProviderProfile) -> None:
        """Reach the provider with the profile as saved; ProviderError says what failed."""
        ...


def confirm_with_dialog(parent: QWidget, title: str, question: str) -> bool:
    box = QMessageBox(QMessageBox.Icon.Question, title, question, parent=parent)
    box.setTextFormat(Qt.TextFormat.PlainText)  # the question names a profile someone typed
    box.setStandardButtons(QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
    box.setDefaultButton(QMessageBox.StandardButton.No)
    return box.exec() == QMessageBox.StandardButton.Yes


def _error_text(error: BaseException) -> str:
    if isinstance(error, ProviderError):
        return error.message
    return str(error) or type(error).__name__


class ProfileForm(QFrame):
    """The fields of one profile; shows only what the chosen provider needs."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Card")
        self._secrets: SecretStore | None = None
        self._profile: ProviderProfile | None = None
        self.title = label("", "SectionTitle")
        self.name = self._line("name")
        self.provider = QComboBox()
        for kind in PROVIDERS.values():
            self.provider.addItem(kind.display_name, kind.key)
        self.environment = QComboBox()
        self.environment.addItem("Sandbox (test cards only)", "sandbox")
        self.environment.addItem("Live (real money)", "live")
        self.currency = QComboBox()
        self.currency.setEditable(True)
        self.api_base_url = self._line("api_base_url")
        self.hosted_checkout_base_url = self._line("hosted_checkout_base_url")
        self.client_id = self._line("client_id")
        self.sub_account = self._line("sub_account", "acc_…")
        self.processing_channel_id = self._line("processing_channel_id", "pc_…")
        self.billing_country = self._line("billing_country", "Two letters, e.g. US")
        self.billing_country.setMaxLength(2)
        self.auth_style = QComboBox()
        for style in PROVIDERS["checkout_com"].choices["auth_style"]:
            self.auth_style.addItem(AUTH_STYLE_NAMES[style], style)
        self.api_version = QComboBox()
        self.api_version.addItem("Default", "")
        for version in PROVIDERS["recharge"].choices["api_version"]:
            self.api_version.addItem(version, version)
        self.receipt_email = self._line("receipt_email", "Where receipts go, optional")
        self.hosted_flow = QComboBox()
        self.hosted_flow.addItem("Hosted checkout", "checkout")
        self.hosted_flow.addItem("Payment intent + session (legacy)", "checkout_session")
        self.secret = QLineEdit()
        self.secret.setObjectName("FormField")
        self.secret.setEchoMode(QLineEdit.EchoMode.Password)
        self.secret_label = label("Secret", "FieldLabel")
        self.secret_hint = label("", "Hint")
        self.error = label("", "FieldError")
        self.save_button = QPushButton("Save  Ctrl+S")
        self.save_button.setObjectName("Primary")
        self.save_button.setAccessibleName("Save profile")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setAccessibleName("Discard changes to the profile")

        self.widgets: dict[str, QWidget] = {
            "name": self.name,
            "provider": self.provider,
            "environment": self.environment,
            "currency": self.currency,
            "api_base_url": self.api_base_url,
            "hosted_checkout_base_url": self.hosted_checkout_base_url,
            "client_id": self.client_id,
            "sub_account": self.sub_account,
            "processing_channel_id": self.processing_channel_id,
            "billing_country": self.billing_country,
            "auth_style": self.auth_style,
            "api_version": self.api_version,
            "receipt_email": self.receipt_email,
            "hosted_flow": self.hosted_flow,
        }
        self.labels: dict[str, QLabel] = {}
        grid = QGridLayout()
        grid.setHorizontalSpacing(16)
        grid.setVerticalSpacing(8)
        grid.setColumnStretch(1, 1)
        for row, (name, widget) in enumerate(self.widgets.items()):
            text = FIELD_LABELS[name]
            widget.setAccessibleName(text)
            caption = label(text, "FieldLabel")
            caption.setWordWrap(False)
            caption.setBuddy(widget)
            self.labels[name] = caption
            grid.addWidget(caption, row, 0)
            grid.addWidget(widget, row, 1)
        row = len(self.widgets)
        grid.addWidget(self.secret_label, row, 0)
        grid.addWidget(self.secret, row, 1)
        self.secret_label.setBuddy(self.secret)

        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.save_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 20)
        layout.setSpacing(10)
        layout.addWidget(self.title)
        layout.addLayout(grid)
        layout.addWidget(self.secret_hint)
        layout.addWidget(self.error)
        layout.addStretch(1)
        layout.addLayout(buttons)

        self.provider.currentIndexChanged.connect(self._provider_changed)
        self.environment.currentIndexChanged.connect(self._update_fields)

    def _line(self, name: str, placeholder: str = "") -> QLineEdit:
        widget = QLineEdit()
        widget.setObjectName("FormField")
        widget.setPlaceholderText(placeholder)
        widget.textEdited.connect(lambda _text: set_invalid(widget, False))
        return widget

    # -- in and out -------------------------------------------------------------------

    def show_profile(self, profile: ProviderProfile, *, new: bool, secrets: SecretStore) -> None:
        self._secrets = secrets
        self._profile = profile
        self.title.setText("New profile" if new else f"Edit “{profile.name}”")
        self.name.setText(profile.name)
        _select(self.provider, profile.provider)
        _select(self.environment, profile.environment)
        self._fill_currencies(profile.provider)
        self.currency.setCurrentText(profile.currency)
        for name in (
            "api_base_url",
            "hosted_checkout_base_url",
            "client_id",
            "sub_account",
            "processing_channel_id",
            "billing_country",
            "receipt_email",
        ):
            widget = self.widgets[name]
            assert isinstance(widget, QLineEdit)
            widget.setText(getattr(profile, name) or "")
        _select(self.auth_style, profile.auth_style or "bearer")
        _select(self.api_version, profile.api_version or "")
        _select(self.hosted_flow, profile.hosted_flow or "checkout")
        self.secret.clear()
        self.show_error(None)
        self._update_fields()

    def profile(self) -> ProviderProfile:
        """The profile as typed (unchecked: validation is the settings model's job).

        Fields the chosen provider does not use are left empty, whatever they still hold.
        """
        provider = str(self.provider.currentData())
        uses = self.fields_for(provider)

        def value(name: str) -> str | None:
            widget = self.widgets[name]
            if name not in uses:
                return None
            if isinstance(widget, QComboBox):
                return str(widget.currentData() or "") or None
            assert isinstance(widget, QLineEdit)
            return widget.text().strip() or None

        return ProviderProfile(
            name=self.name.text().strip(),
            provider=provider,
            environment="live" if self.environment.currentData() == "live" else "sandbox",
            currency=self.currency.currentText().strip().upper(),
            api_base_url=value("api_base_url"),
            hosted_checkout_base_url=value("hosted_checkout_base_url"),
            client_id=value("client_id"),
            sub_account=value("sub_account"),
            processing_channel_id=value("processing_channel_id"),
            billing_country=value("billing_country"),
            auth_style=value("auth_style"),
            api_version=value("api_version"),
            receipt_email=value("receipt_email"),
            hosted_flow=None if value("hosted_flow") == "checkout" else value("hosted_flow"),
        )

    @staticmethod
    def fields_for(provider: str) -> tuple[str, ...]:
        kind = PROVIDERS.get(provider)
        if kind is None:
            return COMMON_FIELDS
        hosted = ("hosted_checkout_base_url",) if kind.has_hosted_url else ()
        return (*COMMON_FIELDS, *hosted, *kind.fields)

    def show_error(self, message: str | None, field: str | None = None) -> None:
        self.error.setText(message or "")
        fields = {**self.widgets, "secret": self.secret}
        for name, widget in fields.items():
            set_invalid(widget, message is not None and name == field)
        if message:
            announce(self.error, message)
            target = fields.get(field or "")
            if target is not None and target.isVisible():
                target.setFocus()

    # -- provider-dependent fields ------------------------------------------------------

    def _provider_changed(self) -> None:
        provider = str(self.provider.currentData())
        current = self.currency.currentText()
        self._fill_currencies(provider)
        choices = CURRENCY_CHOICES.get(provider, ())
        self.currency.setCurrentText(current if current in choices else choices[0])
        self._update_fields()

    def _fill_currencies(self, provider: str) -> None:
        self.currency.blockSignals(True)
        self.currency.clear()
        self.currency.addItems(list(CURRENCY_CHOICES.get(provider, ())))
        self.currency.blockSignals(False)

    def _update_fields(self) -> None:
        provider = str(self.provider.currentData())
        kind = PROVIDERS[provider]
        sandbox = self.environment.currentData() == "sandbox"
        shown = self.fields_for(provider)
        for name, widget in self.widgets.items():
            widget.setVisible(name in shown)
            self.labels[name].setVisible(name in shown)
        self.currency.setEditable(len(CURRENCY_CHOICES[provider]) > 1)
        self.api_base_url.setPlaceholderText("Built-in sandbox" if sandbox else kind.live_api)
        self.hosted_checkout_base_url.setPlaceholderText(
            "Built-in sandbox" if sandbox else kind.live_hosted or ""
        )
        for name in ("client_id", "sub_account", "processing_channel_id"):
            widget = self.widgets[name]
            assert isinstance(widget, QLineEdit)
            widget.setPlaceholderText("Sandbox test account" if sandbox else "Required")
        self.secret_label.setText(kind.credential_label)
        self.secret.setAccessibleName(kind.credential_label)
        self.secret.setVisible(not sandbox)
        self.secret_label.setVisible(not sandbox)
        self.secret_hint.setText(self._secret_hint(sandbox))

    def _secret_hint(self, sandbox: bool) -> str:
        if sandbox:
            return "Sandbox profiles use the simulator's test credentials: no secret needed."
        secrets, profile = self._secrets, self._profile
        if secrets is None or not secrets.available:
            return NO_KEYRING_SHORT
        self.secret.setPlaceholderText("Stored in the system keyring only")
        try:
            saved = (
                profile is not None
                and profile.provider == self.provider.currentData()
                and secrets.has(profile)
            )
        except SecretStoreError as error:
            return str(error)
        if saved:
            return "A secret is saved in the system keyring. Leave blank to keep it."
        return "No secret saved yet: this profile cannot take payments until you enter one."


def _select(combo: QComboBox, value: str) -> None:
    index = combo.findData(value)
    combo.setCurrentIndex(max(index, 0))


class SettingsScreen(QWidget):
    def __init__(
        self,
        backend: SettingsBackend,
        *,
        tasks: TaskRunner,
        confirm: Callable[[QWidget, str, str], bool] = confirm_with_dialog,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("Screen")
        self._backend = backend
        self._tasks = tasks
        self._confirm = confirm
        self._editing: str | None = None  # name of the profile in the form; None: a new one
        self._busy = False

        self.model = ProfilesTableModel(backend.settings)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setAccessibleName("Provider profiles")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.setShowGrid(False)
        self.table.setTabKeyNavigation(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(
            True
        )  # names are long ("Sandbox — Checkout.com"): keep them whole

        self.add_button = self._button("Add  Ctrl+N", "Add a profile", "Ctrl+N")
        self.delete_button = self._button("Delete", "Delete the selected profile", None)
        self.delete_button.setObjectName("Danger")
        self.default_button = self._button(
            "Make default  Ctrl+D", "Make the selected profile the default", "Ctrl+D"
        )
        self.check_button = self._button(
            "Check connection  Ctrl+K", "Check the selected profile's connection", "Ctrl+K"
        )
        self.till_button = self._button(
            "Till options…", "Sign-in, idle lock, approval limits and webhooks", None
        )
        self.till_button.clicked.connect(self.open_till_options)
        self.till_dialog: TillOptionsDialog | None = None
        self.host_dialog: HostApprovalDialog | None = None
        self.status = label("", "Hint")
        self.status.setAccessibleName("Settings status")
        self.form = ProfileForm()
        self.form.setMaximumWidth(470)

        profiles_card = QFrame()
        profiles_card.setObjectName("Card")
        left = QVBoxLayout(profiles_card)
        left.setContentsMargins(20, 20, 20, 20)
        left.setSpacing(10)
        left.addWidget(label("Provider profiles", "SectionTitle"))
        left.addWidget(self.table, 1)
        row1 = QHBoxLayout()
        row1.addWidget(self.add_button)
        row1.addWidget(self.default_button)
        row1.addStretch(1)
        row1.addWidget(self.delete_button)
        left.addLayout(row1)
        row2 = QHBoxLayout()
        row2.addWidget(self.check_button)
        row2.addWidget(self.till_button)
        row2.addStretch(1)
        left.addLayout(row2)
        left.addWidget(self.status)

        columns = QHBoxLayout()
        columns.setSpacing(20)
        columns.addWidget(profiles_card, 6)
        columns.addWidget(self.form, 5)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(28, 24, 28, 24)
        layout.setSpacing(8)
        layout.addWidget(label("Settings", "ScreenTitle"))
        layout.addWidget(
            label(
                "The cashier takes payments through the default profile. "
                "Secrets are kept in the system keyring, never in files.",
                "Hint",
            )
        )
        layout.addSpacing(6)
        layout.addLayout(columns, 1)

        self.add_button.clicked.connect(self.new_profile)
        self.delete_button.clicked.connect(self.delete_selected)
        self.default_button.clicked.connect(self.make_default)
        self.check_button.clicked.connect(self.check_connection)
        self.form.save_button.clicked.connect(self.save)
        self.form.cancel_button.clicked.connect(self._cancel)
        QShortcut(QKeySequence("Ctrl+S"), self, self.save)
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self.form, self._cancel)
        self.table.selectionModel().currentRowChanged.connect(lambda *_: self._selected())
        self.refresh()

    def _button(self, text: str, accessible: str, key: str | None) -> QPushButton:
        button = QPushButton(text)
        button.setAccessibleName(accessible)
        if key:
            button.setShortcut(QKeySequence(key))
            button.setToolTip(f"{accessible} ({key})")
        return button

    # -- public -------------------------------------------------------------------

    def refresh(self, select: str | None = None) -> None:
        """Show the settings as the app holds them now."""
        settings = self._backend.settings
        self.model.set_settings(settings)
        name = select or self._editing or settings.default_profile
        self.select(name if settings.profile(name) else settings.default_profile)

    def select(self, name: str) -> None:
        row = self.model.row_of(name)
        if row < 0:
            return
        self.table.selectionModel().setCurrentIndex(
            self.model.index(row, 0),
            QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows,
        )
        self._selected()

    def selected_profile(self) -> ProviderProfile | None:
        return self.model.profile_at(self.table.currentIndex().row())

    def new_profile(self) -> None:
        self._editing = None
        self.table.clearSelection()
        settings = self._backend.settings
        name, n = "New profile", 2
        while settings.profile(name):
            name, n = f"New profile {n}", n + 1
        self.form.show_profile(
            ProviderProfile(name=name, provider="justifi"), new=True, secrets=self._backend.secrets
        )
        self._update_buttons()
        self.form.name.setFocus()
        self.form.name.selectAll()

    def save(self) -> None:
        if self._busy:
            return
        settings = self._backend.settings
        profile = self.form.profile()
        old = settings.profile(self._editing) if self._editing else None
        if (
            old is not None
            and (old.name != profile.name or old.provider != profile.provider)
            and self._backend.has_open_payments(old.name)
        ):
            self.form.show_error(
                f"“{old.name}” has payments still open, which are looked up through it: "
                "finish them before renaming it or changing its provider.",
                "name",
            )
            return
        updated = settings.with_profile(profile, replacing=self._editing)
        approved = self._backend.approved_hosts(updated)
        problems = [
            p for p in settings_problems(updated, approved) if p.profile in (profile.name, "")
        ]
        blocking = [p for p in problems if not p.approvable]
        if blocking:
            self.form.show_error(blocking[0].message, blocking[0].field)
            return
        secret = self.form.secret.text() if profile.needs_secret else ""
        if problems:
            self._ask_for_hosts(old, profile, updated, secret, problems[0].field)
            return
        self._commit(old, profile, updated, secret)

    def _ask_for_hosts(
        self,
        old: ProviderProfile | None,
        profile: ProviderProfile,
        updated: Settings,
        secret: str,
        field: str,
    ) -> None:
        """A live host the provider does not publish: an administrator's PIN, with the
        secret typed again in this save (it was entered for another host)."""
        kind = profile.kind
        assert kind is not None  # approvable problems are only found for a known provider
        hosts = sorted(set(unpublished_hosts(profile).values()))
        if not secret:
            listed = ", ".join(f"“{host}”" for host in hosts)
            self.form.show_error(
                f"{kind.display_name} does not publish {listed}. An administrator can approve "
                f"it: type the {kind.credential_label.lower()} again, then save.",
                "secret",
            )
            return
        self.form.show_error(None)

        def grant(name: str, pin: str) -> str | None:
            try:
                self._backend.approve_hosts(profile, hosts, name, pin)
            except UserRefused as refusal:
                return str(refusal)
            return None

        dialog = HostApprovalDialog(
            profile=profile.name,
            provider=kind.display_name,
            hosts=hosts,
            published=kind.live_hosts,
            grant=grant,
            parent=self,
        )

        def closed(result: int) -> None:
            self.host_dialog = None
            dialog.deleteLater()
            if result == QDialog.DialogCode.Accepted and dialog.approved:
                self._commit(old, profile, updated, secret, hosts)
            else:
                self.form.show_error("Not saved: the host was not approved.", field)

        dialog.finished.connect(closed)
        self.host_dialog = dialog
        dialog.open()

    def _commit(
        self,
        old: ProviderProfile | None,
        profile: ProviderProfile,
        updated: Settings,
        secret: str,
        approved: Collection[str] = (),
    ) -> None:
        secrets = self._backend.secrets
        # The keyring is written first: switching to this profile needs its secret (and its
        # approved hosts). If the app then refuses the settings, the keyring is put back.
        try:
            previous = secrets.get(old) if old is not None else None
            hosts_before = secrets.approved_hosts(old) if old is not None else frozenset()
            if old is not None:
                secrets.move(old, profile)
            if approved:
                secrets.approve_hosts(profile, approved)
            if secret:
                secrets.set(profile, secret)
        except SecretStoreError as error:
            self.form.show_error(str(error), None)
            self.form.secret.setFocus()
            return
        touched = bool(secret) or (
            old is not None and old.secret_key_name() != profile.secret_key_name()
        )

        def refused(error: BaseException) -> None:
            if touched:
                self._restore_secret(old, profile, previous)
            if approved:
                self._restore_hosts(old, profile, hosts_before)
            self.form.show_error(_error_text(error), None)

        self.form.secret.clear()
        self._run(
            self._backend.apply(updated),
            f"Saved “{profile.name}”.",
            select=profile.name,
            on_error=refused,
        )

    def _restore_secret(
        self, old: ProviderProfile | None, new: ProviderProfile, previous: str | None
    ) -> None:
        try:
            self._backend.secrets.delete(new)
            if old is not None and previous:
                self._backend.secrets.set(old, previous)
        except SecretStoreError as error:
            log.warning("Could not restore the keyring after a refused save: %s", error)

    def _restore_hosts(
        self, old: ProviderProfile | None, new: ProviderProfile, before: frozenset[str]
    ) -> None:
        try:
            self._backend.secrets.forget_hosts(new)
            if old is not None and before:
                self._backend.secrets.approve_hosts(old, before)
        except SecretStoreError as error:
            log.warning("Could not restore approved hosts after a refused save: %s", error)

    def delete_selected(self) -> None:
        profile = self.selected_profile()
        if profile is None or self._busy:
            return
        settings = self._backend.settings
        why = None
        if len(settings.profiles) <= 1:
            why = "Keep at least one profile: the cashier needs one to take payments."
        elif profile.name == settings.default_profile:
            why = f"“{profile.name}” is the default: make another profile the default first."
        elif self._backend.has_open_payments(profile.name):
            why = f"“{profile.name}” has payments still open, which are looked up through it."
        if why:
            self._say(why)
            return
        if not self._confirm(self, "Delete profile", f"Delete the profile “{profile.name}”?"):
            return

        def forget_secret() -> None:
            try:
                self._backend.secrets.delete(profile)
                self._backend.secrets.forget_hosts(profile)
            except SecretStoreError as error:
                self._say(f"Deleted “{profile.name}”, but its secret stays: {error}")

        self._editing = None
        self._run(
            self._backend.apply(settings.without_profile(profile.name)),
            f"Deleted “{profile.name}”.",
            then=forget_secret,
        )

    def make_default(self) -> None:
        profile = self.selected_profile()
        if profile is None or self._busy:
            return
        settings = self._backend.settings
        if profile.name == settings.default_profile:
            self._say(f"“{profile.name}” is already the default.")
            return
        self._run(
            self._backend.apply(settings.with_default(profile.name)),
            f"Payments now go through “{profile.name}” ({profile.provider_name}).",
            select=profile.name,
        )

    def check_connection(self) -> None:
        profile = self.selected_profile()
        if profile is None or self._busy:
            return
        self._say(f"Checking “{profile.name}”…")
        where = "sandbox" if profile.is_sandbox else "live"
        self._run(
            self._backend.check_connection(profile),
            f"✓ Connected: {profile.provider_name} ({where}) accepted “{profile.name}”.",
            failure_prefix="✗ Connection failed: ",
        )

    def open_till_options(self) -> None:
        settings = self._backend.settings
        dialog = TillOptionsDialog(settings, locale=settings.locale, parent=self)
        self.till_dialog = dialog

        def closed() -> None:
            self.till_dialog = None
            chosen = dialog.result_settings
            if chosen is not None and chosen != self._backend.settings:
                self._run(self._backend.apply(chosen), "Saved the till options.")
            dialog.deleteLater()

        dialog.finished.connect(closed)
        dialog.open()

    # -- helpers ----------------------------------------------------------------------

    def _run(
        self,
        work: Coroutine[Any, Any, None],
        success: str,
        *,
        select: str | None = None,
        then: Callable[[], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        failure_prefix: str = "",
    ) -> None:
        self._set_busy(True)

        def done(_: None) -> None:
            self._set_busy(False)
            self.refresh(select)
            self._say(success)
            if then is not None:
                then()

        def failed(error: BaseException) -> None:
            self._set_busy(False)
            if on_error is not None:
                on_error(error)
                self._say("")
            else:
                self._say(failure_prefix + _error_text(error))

        self._tasks.start(work, done, failed)

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self._update_buttons()

    def _say(self, text: str) -> None:
        self.status.setText(text)
        if text:
            announce(self.status, text)

    def _selected(self) -> None:
        profile = self.selected_profile()
        if profile is not None:
            self._editing = profile.name
            self.form.show_profile(profile, new=False, secrets=self._backend.secrets)
        self._update_buttons()

    def _cancel(self) -> None:
        if self._editing is None:
            self.refresh(self._backend.settings.default_profile)
        else:
            self.refresh(self._editing)

    def _update_buttons(self) -> None:
        selected = self.selected_profile() is not None and self._editing is not None
        for button in (self.delete_button, self.default_button, self.check_button):
            button.setEnabled(selected and not self._busy)
        self.add_button.setEnabled(not self._busy)
        self.form.save_button.setEnabled(not self._busy)
