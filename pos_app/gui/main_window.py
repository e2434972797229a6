"""The main window: a sidebar to move between screens, the screens, a status bar."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QButtonGroup,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from pos_app.gui.screens.cashier import CashierScreen
from pos_app.gui.tasks import TaskRunner
from pos_app.journal.store import JournalStore
from pos_app.providers.types import AmountLimits
from pos_app.services.sale import Sale

if TYPE_CHECKING:
    from pos_app.gui.screens.checkout import CheckoutScreen
    from pos_app.gui.screens.payments import PaymentsScreen
    from pos_app.gui.screens.settings import SettingsBackend, SettingsScreen
    from pos_app.services.checkout import CheckoutService
    from pos_app.services.payments import PaymentService


def _status_label(text: str, object_name: str) -> QLabel:
    """Status bar text stays on one line (shared labels word-wrap)."""
    widget = QLabel(text)
    widget.setObjectName(object_name)
    widget.setContentsMargins(8, 2, 8, 2)
    return widget


class MainWindow(QMainWindow):
    def __init__(
        self,
        *,
        journal: JournalStore,
        limits: AmountLimits,
        locale: str,
        profile_name: str,
        provider_name: str,
        sandbox: bool,
        store_name: str,
        tasks: TaskRunner,
        settings_backend: SettingsBackend | None = None,
    ) -> None:
        super().__init__()
        self.setWindowTitle(f"{store_name} — pos_app")
        self.resize(1280, 800)
        self.tasks = tasks
        self.cashier = CashierScreen(limits=limits, locale=locale, provider_name=provider_name)
        self._checkout: CheckoutScreen | None = None
        self._journal = journal
        self._locale = locale
        self._selling = False  # a checkout is open: the provider must not change under it
        # Checkout, Payments and Settings are built on first use: start-up pays for the Cashier.
        self._payments: PaymentsScreen | None = None
        self._payment_service: PaymentService | None = None
        self._settings: SettingsScreen | None = None
        self._settings_backend = settings_backend
        self.stack = QStackedWidget()
        self.stack.addWidget(self.cashier)

        sidebar = QFrame()
        sidebar.setObjectName("Sidebar")
        sidebar.setFixedWidth(200)
        side = QVBoxLayout(sidebar)
        side.setContentsMargins(12, 16, 12, 16)
        brand = QLabel(store_name)
        brand.setObjectName("Brand")
        brand.setWordWrap(True)
        side.addWidget(brand)
        self.nav = QButtonGroup(self)
        self.nav.setExclusive(True)
        self.cashier_button = self._nav_button("Cashier", "F1", side)
        self.payments_button = self._nav_button("Payments", "F2", side)
        side.addStretch(1)
        self.settings_button = self._nav_button("Settings", "F9", side)
        self.settings_button.setVisible(settings_backend is not None)
        self.cashier_button.clicked.connect(self.show_cashier)
        self.payments_button.clicked.connect(self.show_payments)
        self.settings_button.clicked.connect(self.show_settings)

        central = QWidget()
        row = QHBoxLayout(central)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        row.addWidget(sidebar)
        row.addWidget(self.stack, 1)
        self.setCentralWidget(central)

        self.connection_label = _status_label("Connecting…", "Hint")
        self.profile_label = _status_label(f"Profile: {profile_name}", "Hint")
        self.statusBar().addWidget(self.profile_label)
        self.sandbox_badge = _status_label("SANDBOX · test cards only", "SandboxBadge")
        self.sandbox_badge.setAccessibleName("Sandbox mode: no real money moves")
        self.statusBar().addWidget(self.sandbox_badge)
        self.sandbox_badge.setVisible(sandbox)
        self.statusBar().addPermanentWidget(self.connection_label)

        self.cashier.hosted_checkout_requested.connect(self._start_hosted)
        self.cashier.set_ready(False, f"Connecting to {provider_name}…")
        self.show_cashier()

    def _nav_button(self, text: str, key: str, layout: QVBoxLayout) -> QToolButton:
        button = QToolButton()
        button.setText(f"{text}    {key}")
        button.setCheckable(True)
        button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        button.setSizePolicy(
            button.sizePolicy().horizontalPolicy().Expanding, button.sizePolicy().verticalPolicy()
        )
        button.setShortcut(QKeySequence(key))
        button.setAccessibleName(text)
        self.nav.addButton(button)
        layout.addWidget(button)
        return button

    # -- wiring from app.py -------------------------------------------------------------

    def provider_ready(self, service: CheckoutService, message: str) -> None:
        self.checkout.set_service(service)
        self.cashier.set_ready(True)
        self.connection_label.setText(message)
        # Payments acts on any profile's payments through the same service.
        self._payment_service = service.payments
        if self._payments is not None:
            self._payments.set_payment_service(service.payments, self.tasks)

    def provider_failed(self, message: str) -> None:
        self.cashier.set_ready(False, message)
        self.connection_label.setText(message)

    def show_status(self, message: str) -> None:
        self.connection_label.setText(message)

    @property
    def selling(self) -> bool:
        """A checkout is open (or its result not yet dismissed)."""
        return self._selling

    def switch_profile(
        self, *, profile_name: str, provider_name: str, limits: AmountLimits, sandbox: bool
    ) -> None:
        """The cashier now sells through another profile: new limits, labels and hints.

        The Cashier is rebuilt rather than patched: its currency, limits and wording all
        come from the provider. Selling waits for ``provider_ready``.
        """
        old = self.cashier
        showing = self.stack.currentWidget() is old
        self.cashier = CashierScreen(
            limits=limits, locale=self._locale, provider_name=provider_name
        )
        self.cashier.hosted_checkout_requested.connect(self._start_hosted)
        self.cashier.set_ready(False, f"Connecting to {provider_name}…")
        self.stack.insertWidget(0, self.cashier)
        if showing:
            self.stack.setCurrentWidget(self.cashier)
        self.stack.removeWidget(old)
        old.deleteLater()
        self.profile_label.setText(f"Profile: {profile_name}")
        self.sandbox_badge.setVisible(sandbox)
        self.connection_label.setText(f"Connecting to {provider_name}…")

    @property
    def checkout(self) -> CheckoutScreen:
        if self._checkout is None:
            from pos_app.gui.screens.checkout import CheckoutScreen

            self._checkout = CheckoutScreen(locale=self._locale, tasks=self.tasks)
            self._checkout.finished.connect(self._checkout_finished)
            self.stack.addWidget(self._checkout)
        return self._checkout

    @property
    def payments(self) -> PaymentsScreen:
        if self._payments is None:
            from pos_app.gui.screens.payments import PaymentsScreen

            self._payments = PaymentsScreen(self._journal, locale=self._locale)
            if self._payment_service is not None:
                self._payments.set_payment_service(self._payment_service, self.tasks)
            self.stack.addWidget(self._payments)
        return self._payments

    @property
    def settings(self) -> SettingsScreen:
        if self._settings is None:
            from pos_app.gui.screens.settings import SettingsScreen

            assert self._settings_backend is not None, "no settings backend was given"
            self._settings = SettingsScreen(self._settings_backend, tasks=self.tasks)
            self.stack.addWidget(self._settings)
        return self._settings

    def shutdown(self) -> None:
        """Stop everything that could still touch the journal or the network."""
        if self._checkout is not None:
            self._checkout.shutdown()
        if self._payments is not None:
            self._payments.shutdown()

    # -- navigation -------------------------------------------------------------------

    def show_cashier(self) -> None:
        self.cashier_button.setChecked(True)
        in_checkout = (
            self._checkout is not None
            and self._checkout.payment is not None
            and self.stack.currentWidget() is self._checkout
        )
        if not in_checkout:
            self.stack.setCurrentWidget(self.cashier)
            self.cashier.focus_amount()

    def show_payments(self) -> None:
        self.payments_button.setChecked(True)
        self.payments.refresh()
        self.stack.setCurrentWidget(self.payments)
        self.payments.table.setFocus()

    def show_settings(self) -> None:
        self.settings_button.setChecked(True)
        self.settings.refresh()
        self.stack.setCurrentWidget(self.settings)
        self.settings.table.setFocus()

    def _start_hosted(self, sale: Sale) -> None:
        self._selling = True
        self.stack.setCurrentWidget(self.checkout)
        self.checkout.start_hosted(sale)

    def _checkout_finished(self, sale_over: bool) -> None:
        self._selling = False
        if sale_over:
            self.cashier.clear()
        self.stack.setCurrentWidget(self.cashier)
        self.cashier_button.setChecked(True)
        self.cashier.focus_amount()
