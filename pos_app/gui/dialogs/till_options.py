"""Till options: sign-in, idle lock, which refunds and voids need a manager, where secure
pages open, webhooks.

The dialog only reads and checks what was typed; the Settings screen applies the result
through the app (which saves it, audits it and applies the staff rules at once).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from pos_app.domain.money import Money, MoneyError, parse_amount
from pos_app.gui.dialogs.action_dialog import amount_text
from pos_app.gui.widgets.common import label, set_invalid

if TYPE_CHECKING:
    from pos_app.config.settings import Settings


class TillOptionsDialog(QDialog):
    def __init__(self, settings: Settings, *, locale: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Screen")
        self.setWindowTitle("Till options")
        self.setModal(True)
        self.setMinimumWidth(520)
        self._settings = settings
        self._locale = locale
        self._currency = settings.active_profile().currency
        self.result_settings: Settings | None = None

        self.require_sign_in = QCheckBox("Staff sign in when the till starts")
        self.require_sign_in.setChecked(settings.require_sign_in)
        self.require_sign_in.setAccessibleName("Staff sign in when the till starts")
        self.idle_minutes = QSpinBox()
        self.idle_minutes.setRange(1, 720)
        self.idle_minutes.setSuffix(" min")
        self.idle_minutes.setValue(settings.idle_lock_minutes)
        self.idle_minutes.setAccessibleName("Lock the till after this many idle minutes")
        self.idle_minutes.setMaximumWidth(140)
        self.refund_limit = self._limit_field(settings.refund_approval_limit_minor, "refunds")
        self.void_limit = self._limit_field(settings.void_approval_limit_minor, "voids")
        self.webhooks = QCheckBox("Receive provider webhooks on this till (from the next start)")
        self.webhooks.setChecked(settings.webhooks)
        self.webhooks.setAccessibleName("Receive provider webhooks on this till")
        self.in_browser = QCheckBox("Open providers' secure pages in the web browser")
        self.in_browser.setChecked(settings.secure_page_in_browser)
        self.in_browser.setAccessibleName("Open providers' secure pages in the web browser")
        self.error = label("", "FieldError")
        self.error.setAccessibleName("Problem")

        form = QFormLayout()
        form.setSpacing(10)
        form.addRow(self.require_sign_in)
        form.addRow(label("Lock after", "FieldLabel"), self.idle_minutes)
        form.addRow(label(f"Refunds above ({self._currency})", "FieldLabel"), self.refund_limit)
        form.addRow(label(f"Voids above ({self._currency})", "FieldLabel"), self.void_limit)
        form.addRow(
            label(
                "…need a manager's PIN. Leave empty for no amount rule; a cashier's refund "
                "always needs one once staff are set up.",
                "Hint",
            )
        )
        form.addRow(self.in_browser)
        form.addRow(
            label(
                "Instead of inside the till. The till then checks with the provider every few "
                "seconds; card forms and bank checks (3-D Secure) stay in the till.",
                "Hint",
            )
        )
        form.addRow(self.webhooks)
        form.addRow(
            label(
                "Providers then tell the till about payments as they happen; it still checks "
                "each one with the provider, and still polls.",
                "Hint",
            )
        )

        self.save_button = QPushButton("Save")
        self.save_button.setObjectName("Primary")
        self.save_button.setDefault(True)
        self.save_button.setAccessibleName("Save till options")
        self.cancel_button = QPushButton("Cancel  Esc")
        self.cancel_button.setAccessibleName("Discard changes to the till options")
        self.save_button.clicked.connect(self._save)
        self.cancel_button.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.save_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 20)
        layout.setSpacing(12)
        layout.addWidget(label("Till options", "SectionTitle"))
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addLayout(buttons)

    def _limit_field(self, minor: int | None, what: str) -> QLineEdit:
        field = QLineEdit()
        field.setObjectName("FormField")
        field.setPlaceholderText("No limit")
        field.setAccessibleName(f"Amount above which {what} need a manager")
        if minor is not None:
            field.setText(amount_text(Money(minor, self._currency), self._locale))
        return field

    def _limit(self, field: QLineEdit, what: str) -> int | None:
        text = field.text().strip()
        if not text:
            return None
        try:
            amount = parse_amount(text, self._currency, locale=self._locale)
        except MoneyError as error:
            set_invalid(field, True)
            raise ValueError(f"{what}: {error}") from error
        set_invalid(field, False)
        return amount.minor

    def _save(self) -> None:
        try:
            refund = self._limit(self.refund_limit, "Refund limit")
            void = self._limit(self.void_limit, "Void limit")
        except ValueError as problem:
            self.error.setText(str(problem))
            return
        self.result_settings = replace(
            self._settings,
            require_sign_in=self.require_sign_in.isChecked(),
            idle_lock_minutes=self.idle_minutes.value(),
            refund_approval_limit_minor=refund,
            void_approval_limit_minor=void,
            webhooks=self.webhooks.isChecked(),
            secure_page_in_browser=self.in_browser.isChecked(),
        )
        self.accept()
