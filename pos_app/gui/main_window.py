"""The main window: a sidebar to move between screens, the screens, a status bar.

With staff set up, the window is either locked (the sign-in screen covers everything) or
used by the signed-in user, whose role decides which screens the sidebar offers. Locking
only covers the screens: a checkout in progress carries on underneath and is there again
after sign-in. In workstation mode there is no selling: no Cashier, and sign-in is required.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QButtonGroup,
    QDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from pos_app.domain.vocabulary import PaymentMethod
from pos_app.gui.screens.cashier import CashierScreen
from pos_app.gui.screens.sign_in import IdleWatcher, SignInScreen, Staff
from pos_app.gui.widgets.common import plain_tip
from pos_app.providers.types import AmountLimits, Capability

if TYPE_CHECKING:
    from collections.abc import Callable

    from pos_app.gui.bridge import ServiceEvents
    from pos_app.gui.dialogs.approval import ApprovalGate
    from pos_app.gui.screens.audit import AuditScreen
    from pos_app.gui.screens.card_reader import CardReaderScreen, Reader
    from pos_app.gui.screens.checkout import CheckoutScreen
    from pos_app.gui.screens.payments import PaymentsScreen
    from pos_app.gui.screens.settings import SettingsBackend, SettingsScreen
    from pos_app.gui.screens.shift_summary import ShiftSummaryScreen
    from pos_app.gui.screens.users import UsersScreen
    from pos_app.gui.tasks import TaskRunner
    from pos_app.services.payments import PaymentService
    from pos_app.services.queries import PaymentQueries
    from pos_app.services.records import AuditAnchor, User
    from pos_app.services.sale import Sale


def _status_label(text: str, object_name: str) -> QLabel:
    """Status bar text stays on one line (shared labels word-wrap)."""
    widget = QLabel(text)
    widget.setObjectName(object_name)
    widget.setTextFormat(Qt.TextFormat.PlainText)  # profile names are typed by people
    widget.setContentsMargins(8, 2, 8, 2)
    return widget


class MainWindow(QMainWindow):
    def __init__(
        self,
        *,
        queries: PaymentQueries,
        events: ServiceEvents,
        limits: AmountLimits,
        locale: str,
        profile_name: str,
        provider_name: str,
        sandbox: bool,
        store_name: str,
        tasks: TaskRunner,
        settings_backend: SettingsBackend | None = None,
        staff: Staff | None = None,
        workstation: bool = False,
    ) -> None:
        super().__init__()
        self.workstation = workstation
        kind = "pos_app workstation" if workstation else "pos_app"
        self.setWindowTitle(f"{store_name} — {kind}")
        self.resize(1280, 800)
        self.tasks = tasks
        self.cashier = CashierScreen(limits=limits, locale=locale, provider_name=provider_name)
        self._checkout: CheckoutScreen | None = None
        self._card_reader: CardReaderScreen | None = None
        self._reader: Reader | None = None  # from set_reader; else "not yet available"
        self._provider_name = provider_name
        self._queries = queries
        # The one bridge from the services' change feed to Qt: every screen listens here.
        self.events = events
        self._locale = locale
        self._selling = False  # a checkout is open: the provider must not change under it
        # Checkout, Payments and Settings are built on first use: start-up pays for the Cashier.
        self._payments: PaymentsScreen | None = None
        self._shift: ShiftSummaryScreen | None = None
        self._payment_service: PaymentService | None = None
        self._profile: str | None = None  # the till's profile: its sales go there
        self._settings: SettingsScreen | None = None
        self._settings_backend = settings_backend
        self._users: UsersScreen | None = None
        self._audit: AuditScreen | None = None
        self.staff = staff
        self._gate: ApprovalGate | None = None
        self._hidden_dialogs: list[QDialog] = []
        self._focus_before_lock: QWidget | None = None
        self.stack = QStackedWidget()
        self.stack.addWidget(self.cashier)

        sidebar = QFrame()
        sidebar.setObjectName("Sidebar")
        sidebar.setFixedWidth(200)
        side = QVBoxLayout(sidebar)
        side.setContentsMargins(12, 16, 12, 16)
        brand = QLabel(store_name)
        brand.setTextFormat(Qt.TextFormat.PlainText)
        brand.setObjectName("Brand")
        brand.setWordWrap(True)
        side.addWidget(brand)
        self.nav = QButtonGroup(self)
        self.nav.setExclusive(True)
        self.cashier_button = self._nav_button("Cashier", "F1", side)
        self.payments_button = self._nav_button("Payments", "F2", side)
        self.shift_button = self._nav_button("End of shift", "F3", side)
        self.audit_button = self._nav_button("Audit", "F10", side)
        self.users_button = self._nav_button("Users", "F11", side)
        side.addStretch(1)
        self.settings_button = self._nav_button("Settings", "F9", side)
        self.cashier_button.clicked.connect(self.show_cashier)
        self.payments_button.clicked.connect(self.show_payments)
        self.shift_button.clicked.connect(self.show_shift)
        self.settings_button.clicked.connect(self.show_settings)
        self.audit_button.clicked.connect(self.show_audit)
        self.users_button.clicked.connect(self.show_users)

        central = QWidget()
        row = QHBoxLayout(central)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        row.addWidget(sidebar)
        row.addWidget(self.stack, 1)
        # The shell: the screens, or the sign-in screen covering them while locked.
        self.shell = QStackedWidget()
        self.shell.addWidget(central)
        self.app_page = central
        self.setCentralWidget(self.shell)

        self.connection_label = _status_label("Connecting…", "Hint")
        self.profile_label = _status_label(f"Profile: {profile_name}", "Hint")
        self.statusBar().addWidget(self.profile_label)
        self.sandbox_badge = _status_label("SANDBOX · test cards only", "SandboxBadge")
        self.sandbox_badge.setAccessibleName("Sandbox mode: no real money moves")
        self.statusBar().addWidget(self.sandbox_badge)
        self.sandbox_badge.setVisible(sandbox)
        self.statusBar().addPermanentWidget(self.connection_label)
        self.user_label = _status_label("", "Hint")
        self.user_label.setAccessibleName("Signed in")
        # Set by app.py: keeps the anchor an end-of-shift summary shows (the OS keyring).
        self.keep_audit_anchor: Callable[[AuditAnchor], None] | None = None
        # The audit trail failed its check at start (or on Verify): never hidden.
        self.audit_alert = _status_label("", "Warning")
        self.audit_alert.setAccessibleName("Audit trail problem")
        self.audit_alert.setVisible(False)
        self.statusBar().addWidget(self.audit_alert)
        # What an administrator must know on signing in: staff locked out by wrong PINs.
        self.lockout_alert = _status_label("", "Warning")
        self.lockout_alert.setAccessibleName("Staff locked out")
        self.sign_out_button = QPushButton("Sign out")
        self.sign_out_button.setAccessibleName("Sign out and lock the till")
        self.sign_in_button = QPushButton("Sign in")
        self.setup_staff_button = QPushButton("Set up staff")
        self.setup_staff_button.setAccessibleName("Set up staff: create the first administrator")
        for widget in (
            self.lockout_alert,
            self.user_label,
            self.sign_in_button,
            self.sign_out_button,
            self.setup_staff_button,
        ):
            self.statusBar().addPermanentWidget(widget)
            widget.setVisible(False)
            if isinstance(widget, QPushButton):
                widget.setObjectName("StatusButton")

        self.cashier.checkout_requested.connect(self._start_checkout)
        self.cashier.set_ready(False, f"Connecting to {provider_name}…")
        self.sign_in_screen: SignInScreen | None = None
        self.idle_watcher: IdleWatcher | None = None
        if workstation:
            self.cashier_button.setVisible(False)
            self.cashier_button.setShortcut(QKeySequence())
        if staff is not None:
            self._start_staff(staff)
        self._update_access()
        self.show_home()

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

    def _start_staff(self, staff: Staff) -> None:
        from pos_app.gui.dialogs.approval import ApprovalGate

        self._gate = ApprovalGate(staff, self._queries, locale=self._locale, parent=self)
        self.sign_in_screen = SignInScreen(staff)
        self.shell.addWidget(self.sign_in_screen)
        self.sign_in_screen.signed_in.connect(self._signed_in)
        self.sign_in_screen.cancelled.connect(self._unlock)
        self.idle_watcher = IdleWatcher(staff.idle, self)
        self.idle_watcher.idle.connect(self._idle)
        self.sign_out_button.clicked.connect(self.sign_out)
        self.sign_in_button.clicked.connect(lambda: self.lock())
        self.setup_staff_button.clicked.connect(self.set_up_staff)
        staff.session.subscribe(lambda _user: self._update_access())
        if not staff.set_up:
            if self.workstation:
                self.lock(setup_needed=True)
        elif self._sign_in_required:
            self.lock()

    def provider_ready(
        self,
        payments: PaymentService,
        profile: str,
        message: str,
        *,
        card_form: bool = True,
    ) -> None:
        """The till's sales go to ``profile`` now; Payments acts on any profile's payments
        through the same service. ``card_form``: whether the card form can be hosted."""
        self.checkout.set_payments(payments, profile, self.events)
        self._profile = profile
        methods = set(payments.provider_for(profile).capabilities)
        if not card_form:
            methods.discard(Capability.EMBEDDED_COMPONENT)
        self.cashier.set_capabilities(methods)
        self.cashier.set_ready(True)
        self.connection_label.setText(message)
        self._payment_service = payments
        if self._payments is not None:
            self._payments.set_payment_service(payments, self.tasks, self._gate)

    def set_reader(self, reader: Reader) -> None:
        """The card reader for the default profile (pos_app/bootstrap/reader_setup.py builds it)."""
        self._reader = reader

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
        self.cashier.checkout_requested.connect(self._start_checkout)
        self.cashier.set_ready(False, f"Connecting to {provider_name}…")
        self.stack.insertWidget(0, self.cashier)
        if showing:
            self.stack.setCurrentWidget(self.cashier)
        self.stack.removeWidget(old)
        old.deleteLater()
        self.profile_label.setText(f"Profile: {profile_name}")
        self._provider_name = provider_name
        self._reader = None  # the new profile's comes with set_reader
        self.sandbox_badge.setVisible(sandbox)
        self.connection_label.setText(f"Connecting to {provider_name}…")

    @property
    def checkout(self) -> CheckoutScreen:
        if self._checkout is None:
            from pos_app.gui.screens.checkout import CheckoutScreen

            self._checkout = CheckoutScreen(locale=self._locale, tasks=self.tasks)
            self._checkout.finished.connect(self._checkout_finished)
            self._checkout.sale_ended.connect(self.cashier.clear)
            self.stack.addWidget(self._checkout)
        return self._checkout

    @property
    def card_reader(self) -> CardReaderScreen:
        if self._card_reader is None:
            from pos_app.gui.screens.card_reader import CardReaderScreen

            self._card_reader = CardReaderScreen(locale=self._locale, tasks=self.tasks)
            self._card_reader.finished.connect(self._checkout_finished)
            self._card_reader.sale_ended.connect(self.cashier.clear)
            self.stack.addWidget(self._card_reader)
        return self._card_reader

    @property
    def payments(self) -> PaymentsScreen:
        if self._payments is None:
            from pos_app.gui.screens.payments import PaymentsScreen

            self._payments = PaymentsScreen(self._queries, self.events, locale=self._locale)
            self._payments.set_approval(self._gate)
            if self._payment_service is not None:
                self._payments.set_payment_service(self._payment_service, self.tasks, self._gate)
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

    @property
    def users(self) -> UsersScreen:
        if self._users is None:
            from pos_app.gui.screens.users import UsersScreen

            assert self.staff is not None, "no staff"
            self._users = UsersScreen(self.staff)
            self.stack.addWidget(self._users)
        return self._users

    @property
    def audit(self) -> AuditScreen:
        if self._audit is None:
            from pos_app.gui.screens.audit import AuditScreen

            assert self.staff is not None, "no staff"
            self._audit = AuditScreen(self.staff, tasks=self.tasks, locale=self._locale)
            self.stack.addWidget(self._audit)
        return self._audit

    @property
    def approval_gate(self) -> ApprovalGate | None:
        return self._gate

    def shutdown(self) -> None:
        """Stop everything that could still touch the journal or the network."""
        if self.idle_watcher is not None:
            self.idle_watcher.stop()
        if self._checkout is not None:
            self._checkout.shutdown()
        if self._card_reader is not None:
            self._card_reader.shutdown()
        if self._payments is not None:
            self._payments.shutdown()
        if self._shift is not None:
            self._shift.shutdown()
        self.events.close()

    # -- navigation -------------------------------------------------------------------

    def show_home(self) -> None:
        """The first screen: Payments on a workstation, else the Cashier."""
        if self.workstation:
            self.show_payments()
        else:
            self.show_cashier()

    def show_cashier(self) -> None:
        if self.workstation:
            return
        self.cashier_button.setChecked(True)
        reader = self._card_reader
        if reader is not None and self.stack.currentWidget() is reader:
            if not reader.busy:
                reader.back_to_sale()  # its finished signal brings the cashier back
            return
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

    @property
    def shift(self) -> ShiftSummaryScreen:
        if self._shift is None:
            from pos_app.gui.screens.shift_summary import ShiftSummaryScreen

            self._shift = ShiftSummaryScreen(self._queries, self.events, locale=self._locale)
            self._shift.keep_anchor = self.keep_audit_anchor
            self.stack.addWidget(self._shift)
        return self._shift

    def show_shift(self) -> None:
        if not self._allowed(self.shift_button):
            return
        self.shift_button.setChecked(True)
        self.shift.refresh()
        self.stack.setCurrentWidget(self.shift)
        self.shift.date_from.setFocus()

    def show_settings(self) -> None:
        if not self._allowed(self.settings_button):
            return
        self.settings_button.setChecked(True)
        self.settings.refresh()
        self.stack.setCurrentWidget(self.settings)
        self.settings.table.setFocus()

    def show_users(self) -> None:
        if not self._allowed(self.users_button):
            return
        self.users_button.setChecked(True)
        self.users.refresh()
        self.stack.setCurrentWidget(self.users)
        self.users.table.setFocus()

    def show_audit(self) -> None:
        if not self._allowed(self.audit_button):
            return
        self.audit_button.setChecked(True)
        self.audit.refresh()
        self.stack.setCurrentWidget(self.audit)
        self.audit.table.setFocus()

    # -- staff: sign-in, lock, roles ------------------------------------------------

    @property
    def locked(self) -> bool:
        return self.shell.currentWidget() is not self.app_page

    @property
    def _sign_in_required(self) -> bool:
        return self.staff is not None and (self.workstation or self.staff.require_sign_in)

    def lock(self, message: str = "", *, setup_needed: bool = False) -> None:
        """Cover the screens with sign-in. Open dialogs are hidden (an approval is cancelled)
        and come back after sign-in; a checkout underneath carries on."""
        screen = self.sign_in_screen
        if screen is None:
            return
        if self._gate is not None:
            self._gate.cancel()
        focused = QApplication.focusWidget()
        if focused is not None and self.app_page.isAncestorOf(focused):
            self._focus_before_lock = focused
        for dialog in self.findChildren(QDialog):
            if dialog.isVisible():
                dialog.hide()
                self._hidden_dialogs.append(dialog)
        if setup_needed:
            screen.show_setup_needed()
        else:
            screen.show_sign_in(message, cancellable=not self._sign_in_required)
        self.shell.setCurrentWidget(screen)
        self._update_access()

    def focus_first(self) -> None:
        """Where typing goes once the window shows: sign-in when locked, else the screen."""
        screen = self.sign_in_screen
        if self.locked and screen is not None:
            if screen.page == "sign_in":
                (screen.pin if screen.name.text() else screen.name).setFocus()
        elif self.workstation:
            self.payments.table.setFocus()
        else:
            self.cashier.focus_amount()

    def staff_rules_changed(self) -> None:
        """Settings changed who must sign in: lock now if someone must and nobody has."""
        staff = self.staff
        if staff is None:
            return
        if self._sign_in_required and staff.set_up and staff.session.user is None:
            self.lock()
        else:
            self._update_access()

    def set_up_staff(self) -> None:
        """Create the first administrator (the status bar's "Set up staff")."""
        if self.sign_in_screen is None:
            return
        self.lock()
        self.sign_in_screen.show_setup(cancellable=not self._sign_in_required)

    def sign_out(self) -> None:
        if self.staff is None:
            return
        self.staff.users.sign_out(self.staff.session)
        if self._sign_in_required:
            self.lock("Signed out. Sign in to use the till.")

    def _idle(self) -> None:
        staff = self.staff
        if staff is None or staff.session.user is None:
            return
        staff.users.sign_out(staff.session, reason="idle")
        minutes = round(staff.idle.timeout.total_seconds() / 60)
        if self._sign_in_required:
            self.lock(
                f"Locked after {minutes} minute{'s' if minutes != 1 else ''} without "
                "activity. Sign in to carry on where you left off."
            )

    def _signed_in(self, user: User) -> None:
        self._unlock()

    def _unlock(self) -> None:
        self.shell.setCurrentWidget(self.app_page)
        self._update_access()
        for dialog in self._hidden_dialogs:
            dialog.show()
        self._hidden_dialogs.clear()
        button = next((b for b in self.nav.buttons() if b.isChecked()), None)
        focused, self._focus_before_lock = self._focus_before_lock, None
        if button is None or not self._allowed(button):
            self.show_home()
        elif focused is not None and shiboken6.isValid(focused) and focused.isVisible():
            focused.setFocus()  # typing goes on where it was
        elif button is self.cashier_button:
            self.show_cashier()  # the amount field, or the checkout still under way

    def _allowed(self, button: QAbstractButton) -> bool:
        """Whether the signed-in user may open this button's screen (and the button shows)."""
        staff = self.staff
        user = staff.session.user if staff is not None else None
        staffed = staff is not None and staff.set_up
        if button is self.cashier_button:
            return not self.workstation
        if button is self.payments_button:
            return True
        if button is self.shift_button:
            return not staffed or (user is not None and user.role.can_approve)
        if button is self.settings_button:
            if self._settings_backend is None:
                return False
            return not staffed or (user is not None and user.role.can_manage_users)
        if button is self.audit_button:
            return staffed and user is not None and user.role.can_approve
        if button is self.users_button:
            return staffed and user is not None and user.role.can_manage_users
        return False

    def _update_access(self) -> None:
        """Nav entries for what the user may open; the status bar says who is signed in."""
        for button in self.nav.buttons():
            button.setVisible(self._allowed(button))
        current = next((b for b in self.nav.buttons() if b.isChecked()), None)
        if current is not None and not self._allowed(current) and not self.locked:
            self.show_home()
        staff = self.staff
        if staff is None:
            return
        user, staffed, locked = staff.session.user, staff.set_up, self.locked
        if user is not None:
            self.user_label.setText(f"Signed in: {user.name} ({user.role.label})")
        else:
            self.user_label.setText("Locked" if locked else "Nobody signed in")
        self.user_label.setVisible(staffed)
        self._show_lockouts(user if user is not None and not locked else None)
        self.sign_out_button.setVisible(user is not None and not locked)
        self.sign_in_button.setVisible(staffed and user is None and not locked)
        self.setup_staff_button.setVisible(not staffed and not locked)
        watcher = self.idle_watcher
        if watcher is not None:
            if user is not None and not watcher.running:
                watcher.start()
            elif user is None:
                watcher.stop()

    def show_tamper_alert(self, title: str, message: str) -> None:
        """The audit trail failed its check, or settings were edited outside the app: say so
        in the status bar, for whoever is at the till (the detail in the tooltip)."""
        self.audit_alert.setText(f"{title} — see Audit (F10)")
        self.audit_alert.setToolTip(plain_tip(message))
        self.audit_alert.setAccessibleDescription(message)
        self.audit_alert.setVisible(True)

    def _show_lockouts(self, user: User | None) -> None:
        staff = self.staff
        locked = (
            staff.users.locked_out()
            if staff is not None and user is not None and user.role.can_manage_users
            else []
        )
        self.lockout_alert.setText("Locked out: " + ", ".join(u.name for u in locked))
        details = "; ".join(f"{u.name}, {u.lockouts} time(s) in a row" for u in locked)
        summary = f"Locked out by wrong PINs: {details}. See Users (F11)."
        self.lockout_alert.setToolTip(plain_tip(summary) if locked else "")
        self.lockout_alert.setAccessibleDescription(summary)
        self.lockout_alert.setVisible(bool(locked))

    def _start_checkout(self, sale: Sale, method: PaymentMethod) -> None:
        if self.workstation:
            return
        self._selling = True
        if method is PaymentMethod.CARD_READER:
            self._start_reader(sale)
            return
        self.stack.setCurrentWidget(self.checkout)
        self.checkout.start(sale, method)

    def _start_reader(self, sale: Sale) -> None:
        from pos_app.services.reader import UnavailableReader

        screen = self.card_reader
        screen.set_reader(self._reader or UnavailableReader(self._provider_name))
        if self._payment_service is not None and self._profile is not None:
            screen.set_payments(self._payment_service, self._profile)
        self.stack.setCurrentWidget(screen)
        screen.start(sale)

    def _checkout_finished(self, sale_over: bool) -> None:
        self._selling = False
        if sale_over:
            self.cashier.clear()
        self.stack.setCurrentWidget(self.cashier)
        self.cashier_button.setChecked(True)
        self.cashier.focus_amount()
