"""Users (administrators only): who may use the till, their roles, switching off, new PINs.

Every change goes through ``UserService`` as the signed-in administrator, which re-checks
the role, refuses what would leave no administrator, and writes the audit entry.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from pos_app.domain.users import Role
from pos_app.gui.widgets.common import announce, label
from pos_app.gui.widgets.pin_field import PinField
from pos_app.services.records import User
from pos_app.services.users import UserRefused

if TYPE_CHECKING:
    from datetime import datetime

    from pos_app.gui.screens.sign_in import Staff

COLUMNS = ("Name", "Role", "Status", "Changed")
_Change = Callable[[User], User]  # the change, made as the signed-in administrator


def _status(user: User, now: datetime) -> str:
    if not user.active:
        return "Switched off"
    if user.locked_at(now):
        assert user.locked_until is not None
        return f"Locked out until {user.locked_until.astimezone():%H:%M}"
    return "Active"


def _roles() -> QComboBox:
    box = QComboBox()
    for role in Role:
        box.addItem(role.label.capitalize(), role)
    return box


class UsersScreen(QWidget):
    def __init__(self, staff: Staff, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Screen")
        self._staff = staff
        self._users: list[User] = []
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setAccessibleName("Users")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.setShowGrid(False)
        self.table.setTabKeyNavigation(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.outcome = label("", "Outcome")
        self.outcome.setAccessibleName("Result")

        # The selected user.
        self.selected = label("Select a user", "SectionTitle")
        self.role = _roles()
        self.role.setAccessibleName("Role of the selected user")
        self.role_button = QPushButton("Change role")
        self.active_button = QPushButton("Switch off")
        self.active_button.setObjectName("Danger")
        self.new_pin = PinField("New PIN for the selected user")
        self.new_pin.setPlaceholderText("New PIN (4–8 digits)")
        self.current_pin = PinField("Your current PIN")
        self.current_pin.setPlaceholderText("Your current PIN")
        self.pin_button = QPushButton("Set new PIN")
        self.pin_button.setAccessibleName("Set a new PIN for the selected user")
        chosen = QFrame()
        chosen.setObjectName("Card")
        grid = QGridLayout(chosen)
        grid.setContentsMargins(20, 16, 20, 16)
        grid.addWidget(self.selected, 0, 0, 1, 2)
        grid.addWidget(self.role, 1, 0)
        grid.addWidget(self.role_button, 1, 1)
        grid.addWidget(self.current_pin, 2, 0, 1, 2)
        grid.addWidget(self.new_pin, 3, 0)
        grid.addWidget(self.pin_button, 3, 1)
        grid.addWidget(label("A new PIN also ends a lock-out.", "Hint"), 4, 0, 1, 2)
        grid.addWidget(self.active_button, 5, 0, 1, 2)

        # A new user.
        self.add_name = QLineEdit()
        self.add_name.setObjectName("FormField")
        self.add_name.setPlaceholderText("Name")
        self.add_name.setAccessibleName("New user's name")
        self.add_role = _roles()
        self.add_role.setAccessibleName("New user's role")
        self.add_pin = PinField("New user's PIN")
        self.add_pin.setPlaceholderText("PIN (4–8 digits)")
        self.add_button = QPushButton("Add user")
        self.add_button.setObjectName("Primary")
        adding = QFrame()
        adding.setObjectName("Card")
        form = QVBoxLayout(adding)
        form.setContentsMargins(20, 16, 20, 16)
        form.addWidget(label("Add a user", "SectionTitle"))
        form.addWidget(self.add_name)
        form.addWidget(self.add_role)
        form.addWidget(self.add_pin)
        form.addWidget(self.add_button)

        side = QVBoxLayout()
        side.addWidget(chosen)
        side.addWidget(adding)
        side.addStretch(1)
        body = QHBoxLayout()
        body.addWidget(self.table, 3)
        body.addLayout(side, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(28, 24, 28, 24)
        layout.setSpacing(10)
        layout.addWidget(label("Users", "ScreenTitle"))
        layout.addWidget(
            label(
                "Cashiers sell; managers also approve refunds and voids; administrators also "
                "manage users and settings.",
                "Hint",
            )
        )
        layout.addWidget(self.outcome)
        layout.addLayout(body, 1)

        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.role_button.clicked.connect(self.change_role)
        self.active_button.clicked.connect(self.toggle_active)
        self.pin_button.clicked.connect(self.set_pin)
        self.add_button.clicked.connect(self.add_user)
        self.add_pin.returnPressed.connect(self.add_user)
        self.new_pin.returnPressed.connect(self.set_pin)
        self.refresh()

    # -- public -------------------------------------------------------------------

    def refresh(self) -> None:
        chosen = self.current
        self._users = self._staff.users.users()
        now = self._staff.users.now()
        self.table.setRowCount(len(self._users))
        for row, user in enumerate(self._users):
            values = (
                user.name,
                user.role.label.capitalize(),
                _status(user, now),
                f"{user.updated_at.astimezone():%Y-%m-%d %H:%M}",
            )
            for column, text in enumerate(values):
                self.table.setItem(row, column, QTableWidgetItem(text))
        if chosen is not None:
            self.select(chosen.name)
        self._selection_changed()

    @property
    def current(self) -> User | None:
        row = self.table.currentRow()
        return self._users[row] if 0 <= row < len(self._users) else None

    def select(self, name: str) -> None:
        for row, user in enumerate(self._users):
            if user.name.casefold() == name.casefold():
                self.table.selectRow(row)
                return

    def add_user(self) -> None:
        role = Role(self.add_role.currentData())
        pin, name = self.add_pin.take(), self.add_name.text()
        user = self._do(lambda by: self._staff.users.add_user(by, name, role, pin))
        if user is not None:
            self.add_name.clear()
            self._done(f"{user.name} was added as a {user.role.label}.", user)

    def change_role(self) -> None:
        target, role = self.current, Role(self.role.currentData())
        if target is None:
            return
        user = self._do(lambda by: self._staff.users.set_role(by, target.id, role))
        if user is not None:
            self._done(f"{user.name} is now a {user.role.label}.", user)

    def toggle_active(self) -> None:
        target = self.current
        if target is None:
            return
        active = not target.active
        user = self._do(lambda by: self._staff.users.set_active(by, target.id, active))
        if user is not None:
            state = "switched back on" if user.active else "switched off: they cannot sign in"
            self._done(f"{user.name} is {state}.", user)

    def set_pin(self) -> None:
        target, pin = self.current, self.new_pin.take()
        if target is None:
            return
        # Your own PIN needs your current one; an administrator sets anyone else's.
        current = self.current_pin.take() if self._is_me(target) else None
        self.outcome.setText("Saving…")
        self.outcome.repaint()  # hashing the PIN takes a moment
        user = self._do(
            lambda by: self._staff.users.change_pin(by, target.id, pin, current_pin=current)
        )
        if user is not None:
            self._done(f"{user.name} has a new PIN.", user)

    # -- internals ------------------------------------------------------------------

    def _do(self, change: _Change) -> User | None:
        admin = self._staff.session.user
        if admin is None:
            self._say("Sign in as an administrator first.", "bad")
            return None
        try:
            return change(admin)
        except UserRefused as refusal:
            self._say(refusal.message, "bad")
            return None

    def _is_me(self, user: User) -> bool:
        me = self._staff.session.user
        return me is not None and me.id == user.id

    def _done(self, message: str, user: User) -> None:
        self.refresh()
        self.select(user.name)
        self._say(message, "good")

    def _say(self, text: str, tone: str) -> None:
        self.outcome.setText(text)
        self.outcome.setProperty("tone", tone)
        self.outcome.style().unpolish(self.outcome)
        self.outcome.style().polish(self.outcome)
        announce(self.outcome, text)

    def _selection_changed(self) -> None:
        user = self.current
        for widget in (self.role, self.role_button, self.active_button, self.new_pin):
            widget.setEnabled(user is not None)
        self.pin_button.setEnabled(user is not None)
        if user is None:
            self.selected.setText("Select a user")
            self.current_pin.setVisible(False)
            return
        self.selected.setText(user.name)
        self.current_pin.setVisible(self._is_me(user))
        self.role.setCurrentIndex(self.role.findData(user.role))
        self.active_button.setText("Switch off" if user.active else "Switch back on")
        self.active_button.setObjectName("Danger" if user.active else "")
        self.active_button.style().unpolish(self.active_button)
        self.active_button.style().polish(self.active_button)
