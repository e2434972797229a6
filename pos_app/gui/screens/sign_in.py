"""Sign-in: who is at the till. Also the first administrator's set-up, and the idle lock.

Keyboard first: the name field has focus, Enter moves to the PIN, Enter signs in. Checking
a PIN costs ~0.1 s of scrypt on the GUI thread (the users database connection belongs to
it), so the screen says "Checking…" and paints that before it starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QDialog,
    QFrame,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from pos_app.domain.pins import MIN_STAFF_PIN_LENGTH
from pos_app.gui.widgets.common import announce, label, set_invalid
from pos_app.gui.widgets.pin_field import PinField
from pos_app.services.users import Session, UserRefused, UserService

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from pos_app.domain.idle import IdleLock
    from pos_app.services.approvals import ApprovalService
    from pos_app.services.records import AuditLog, AuditVerification


@dataclass
class Staff:
    """Everything the window needs for staff: built and owned by app.py."""

    users: UserService
    session: Session
    approvals: ApprovalService
    audit: AuditLog
    idle: IdleLock
    require_sign_in: bool
    # Checks the whole chain off the GUI thread (seconds on a year of entries).
    verify_audit: Callable[[], Awaitable[AuditVerification]]

    @property
    def set_up(self) -> bool:
        """Staff exist: sign-in, approvals and roles apply."""
        return not self.users.needs_first_admin()


_INPUT = (
    QEvent.Type.KeyPress,
    QEvent.Type.MouseButtonPress,
    QEvent.Type.Wheel,
    QEvent.Type.TouchBegin,
)


class IdleWatcher(QObject):
    """Feeds ``IdleLock`` from every key press, click, wheel and touch the till's windows
    receive, and emits ``idle`` once when the lock is due (checked every ``interval_ms``).

    It filters the windows (``root``'s and its open dialogs'), not the QApplication: an
    application-wide Python event filter makes PySide wrap every object that receives an
    event, and wrapping QtWebEngine's internal objects crashes. Every input event from the
    platform reaches its window first, the checkout page's included.
    """

    idle = Signal()

    def __init__(self, lock: IdleLock, root: QWidget, *, interval_ms: int = 1000) -> None:
        super().__init__(root)
        self.lock = lock
        self._root = root
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._check)

    def start(self) -> None:
        self.lock.activity()
        self.watch_windows()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    @property
    def running(self) -> bool:
        return self._timer.isActive()

    def watch_windows(self) -> None:
        """Filter the root window and every dialog open on it (installing twice is a no-op)."""
        for widget in (self._root, *self._root.findChildren(QDialog)):
            handle = widget.windowHandle() if widget.isVisible() else None
            if handle is not None:
                handle.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in _INPUT:
            self.lock.activity()
        return False

    def _check(self) -> None:
        self.watch_windows()
        if self.lock.is_due():
            self._timer.stop()
            self.idle.emit()


def _field(placeholder: str, accessible: str) -> QLineEdit:
    field = QLineEdit()
    field.setObjectName("FormField")
    field.setPlaceholderText(placeholder)
    field.setAccessibleName(accessible)
    field.textEdited.connect(lambda _text: set_invalid(field, False))
    return field


class SignInScreen(QWidget):
    """Three pages: sign in; set up the first administrator; "staff must be set up first"."""

    signed_in = Signal(object)  # User
    cancelled = Signal()  # sign-in or set-up abandoned where neither is required

    def __init__(self, staff: Staff, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Screen")
        self._staff = staff
        self.busy = False
        # Pages shown one at a time in a plain layout, not a QStackedWidget: a stack is as
        # tall as its tallest page, and the card should fit the page it shows.
        self._pages = (self._sign_in_page(), self._setup_page(), self._needed_page())
        card = QFrame()
        card.setObjectName("Card")
        card.setFixedWidth(440)
        inside = QVBoxLayout(card)
        inside.setContentsMargins(28, 24, 28, 24)
        for page in self._pages:
            inside.addWidget(page)
        self._show(0)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(card)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addLayout(row)
        layout.addStretch(2)

    # -- pages --------------------------------------------------------------------

    def _sign_in_page(self) -> QWidget:
        page = QWidget()
        self.title = label("Sign in", "ScreenTitle")
        self.hint = label("Enter your name and PIN.", "Hint")
        self.hint.setAccessibleName("Sign-in message")
        self.name = _field("Your name", "Name")
        self.pin = PinField()
        self.error = label("", "FieldError")
        self.error.setAccessibleName("Problem")
        self.sign_in_button = QPushButton("Sign in  ⏎")
        self.sign_in_button.setObjectName("Primary")
        self.sign_in_button.setAccessibleName("Sign in")
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        layout.addWidget(self.title)
        layout.addWidget(self.hint)
        layout.addSpacing(8)
        _labelled(layout, "Name", self.name)
        _labelled(layout, "PIN", self.pin)
        self.sign_in_cancel = QPushButton("Cancel  Esc")
        self.sign_in_cancel.setAccessibleName("Go back without signing in")
        self.sign_in_cancel.setShortcut(Qt.Key.Key_Escape)
        buttons = QHBoxLayout()
        buttons.addWidget(self.sign_in_cancel)
        buttons.addStretch(1)
        buttons.addWidget(self.sign_in_button)
        layout.addWidget(self.error)
        layout.addLayout(buttons)
        self.sign_in_cancel.clicked.connect(self.cancelled.emit)
        self.name.returnPressed.connect(self.pin.setFocus)
        self.pin.returnPressed.connect(self.submit)
        self.sign_in_button.clicked.connect(self.submit)
        return page

    def _setup_page(self) -> QWidget:
        page = QWidget()
        self.setup_name = _field("Administrator's name", "Administrator's name")
        # The first user is an administrator: a longer PIN (domain.pins).
        self.setup_pin = PinField("New PIN", min_length=MIN_STAFF_PIN_LENGTH)
        self.setup_confirm = PinField("New PIN again", min_length=MIN_STAFF_PIN_LENGTH)
        self.setup_error = label("", "FieldError")
        self.setup_error.setAccessibleName("Problem")
        self.create_button = QPushButton("Create administrator  ⏎")
        self.create_button.setObjectName("Primary")
        self.create_button.setAccessibleName("Create the first administrator")
        self.setup_cancel = QPushButton("Not now  Esc")
        self.setup_cancel.setAccessibleName("Go back without setting up staff")
        self.setup_cancel.setShortcut(Qt.Key.Key_Escape)
        buttons = QHBoxLayout()
        buttons.addWidget(self.setup_cancel)
        buttons.addStretch(1)
        buttons.addWidget(self.create_button)
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        layout.addWidget(label("Set up staff", "ScreenTitle"))
        layout.addWidget(
            label(
                "Create the first administrator. They sign in with this name and PIN and "
                "can then add managers and cashiers. From then on the till asks who is "
                "using it, and refunds and voids follow the approval rules.",
                "Hint",
            )
        )
        layout.addSpacing(8)
        _labelled(layout, "Name", self.setup_name)
        _labelled(layout, "PIN (4 to 8 digits)", self.setup_pin)
        _labelled(layout, "PIN again", self.setup_confirm)
        layout.addWidget(self.setup_error)
        layout.addLayout(buttons)
        self.setup_name.returnPressed.connect(self.setup_pin.setFocus)
        self.setup_pin.returnPressed.connect(self.setup_confirm.setFocus)
        self.setup_confirm.returnPressed.connect(self.create_admin)
        self.create_button.clicked.connect(self.create_admin)
        self.setup_cancel.clicked.connect(self.cancelled.emit)
        return page

    def _needed_page(self) -> QWidget:
        page = QWidget()
        self.setup_button = QPushButton("Set up staff  ⏎")
        self.setup_button.setObjectName("Primary")
        self.setup_button.setAccessibleName("Set up staff")
        self.setup_button.setDefault(True)
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        layout.addWidget(label("Staff not set up", "ScreenTitle"))
        self.needed_text = label(
            "This workstation needs sign-in, and nobody has been set up yet: "
            "an administrator must set up staff first.",
            "Hint",
        )
        layout.addWidget(self.needed_text)
        layout.addSpacing(8)
        layout.addWidget(self.setup_button)
        self.setup_button.clicked.connect(lambda: self.show_setup(cancellable=False))
        return page

    # -- public -------------------------------------------------------------------

    def show_sign_in(self, message: str = "", *, cancellable: bool = False) -> None:
        self._show(0)
        self.sign_in_cancel.setVisible(cancellable)
        self.hint.setText(message or "Enter your name and PIN.")
        self.error.clear()
        self.pin.clear()
        set_invalid(self.name, False)
        set_invalid(self.pin, False)
        (self.pin if self.name.text() else self.name).setFocus()

    def show_setup(self, *, cancellable: bool) -> None:
        self._show(1)
        self.setup_cancel.setVisible(cancellable)
        self.setup_error.clear()
        self.setup_name.setFocus()

    def show_setup_needed(self) -> None:
        self._show(2)
        self.setup_button.setFocus()

    @property
    def page(self) -> str:
        shown = next(i for i, page in enumerate(self._pages) if not page.isHidden())
        return ("sign_in", "setup", "setup_needed")[shown]

    def submit(self) -> None:
        """Sign in with what was typed; a refusal is shown and the PIN emptied."""
        if self.busy:
            return
        name = self.name.text()
        if not name.strip():
            self._refuse(self.error, self.name, "Type your name first.")
            return
        if not self.pin.text():
            self._refuse(self.error, self.pin, "Type your PIN.")
            return
        pin = self.pin.take()
        with self._checking(self.error, self.sign_in_button):
            try:
                user = self._staff.users.sign_in(self._staff.session, name, pin)
            except UserRefused as refusal:
                self._refuse(self.error, self.pin, refusal.message)
                return
        self.error.clear()
        self.name.clear()
        self.signed_in.emit(user)

    def create_admin(self) -> None:
        """Create the first administrator, then sign them in."""
        if self.busy:
            return
        pin, again = self.setup_pin.take(), self.setup_confirm.take()
        if pin != again:
            self._refuse(self.setup_error, self.setup_pin, "The two PINs differ; type them again.")
            return
        users, name = self._staff.users, self.setup_name.text()
        with self._checking(self.setup_error, self.create_button):
            try:
                admin = users.create_first_admin(name, pin)
                user = users.sign_in(self._staff.session, admin.name, pin)
            except UserRefused as refusal:
                field = self.setup_name if refusal.code == "invalid_name" else self.setup_pin
                self._refuse(self.setup_error, field, refusal.message)
                return
        self.setup_name.clear()
        self.signed_in.emit(user)

    # -- internals ------------------------------------------------------------------

    def _show(self, index: int) -> None:
        for number, page in enumerate(self._pages):
            page.setVisible(number == index)

    def _checking(self, where: QWidget, button: QPushButton) -> _Busy:
        return _Busy(self, where, button)

    def _refuse(self, where: QWidget, field: QWidget, message: str) -> None:
        where.setProperty("text", message)
        announce(where, message)
        set_invalid(field, True)
        field.setFocus()


class _Busy:
    """Shows "Checking…" (painted at once) while a PIN is hashed on this thread."""

    def __init__(self, screen: SignInScreen, where: QWidget, button: QPushButton) -> None:
        self._screen, self._where, self._button = screen, where, button

    def __enter__(self) -> None:
        self._screen.busy = True
        self._button.setEnabled(False)
        self._where.setProperty("text", "Checking…")
        self._where.repaint()

    def __exit__(self, *_exc: object) -> None:
        self._screen.busy = False
        self._button.setEnabled(True)
        if self._where.property("text") == "Checking…":
            self._where.setProperty("text", "")


def _labelled(layout: QVBoxLayout, text: str, field: QWidget) -> None:
    caption = label(text, "FieldLabel")
    caption.setBuddy(field)
    layout.addWidget(caption)
    layout.addWidget(field)
