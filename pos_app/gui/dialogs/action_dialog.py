"""The frame every payment action dialog shares: a question, fields, a problem line, buttons.

The dialog checks what was typed when the cashier confirms; it closes only on valid input,
so nothing it refuses ever reaches the payments service.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from pos_app.domain.money import Money, MoneyError, format_money, parse_amount
from pos_app.gui.widgets.common import announce, label, set_invalid

if TYPE_CHECKING:
    from PySide6.QtGui import QShowEvent


def amount_text(amount: Money, locale: str) -> str:
    """``amount`` as a cashier would type it in ``locale`` (no symbol): "1,234.50"."""
    import babel.numbers  # imported on first use, as domain.money does

    places = amount.exponent
    pattern = "#,##0" + ("." + "0" * places if places else "")
    return babel.numbers.format_decimal(amount.to_decimal(), format=pattern, locale=locale)


class ActionDialog(QDialog):
    def __init__(
        self,
        title: str,
        question: str,
        confirm_text: str,
        *,
        danger: bool = False,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("Screen")
        self.setWindowTitle(title)
        self.setModal(True)
        self.setMinimumWidth(460)
        self.question = label(question, "Hint")
        self.error = label("", "FieldError")
        self.error.setAccessibleName("Problem")
        self.confirm_button = QPushButton(confirm_text)
        self.confirm_button.setObjectName("Danger" if danger else "Primary")
        self.confirm_button.setAccessibleName(confirm_text)
        self.confirm_button.setDefault(True)
        self.cancel_button = QPushButton("Cancel  Esc")
        self.cancel_button.setAccessibleName("Cancel: nothing is sent")
        self.fields = QVBoxLayout()
        self.fields.setSpacing(6)

        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.confirm_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 20)
        layout.setSpacing(10)
        layout.addWidget(label(title, "SectionTitle"))
        layout.addWidget(self.question)
        layout.addLayout(self.fields)
        layout.addWidget(self.error)
        layout.addLayout(buttons)
        self.confirm_button.clicked.connect(self.accept)
        self.cancel_button.clicked.connect(self.reject)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        # A wrapped question is measured at the hint's width; shown narrower, it needs more
        # height than the hint gave, and the fields below were squeezed.
        needed = self.heightForWidth(self.width())
        if needed > self.height():
            self.resize(self.width(), needed)

    def problem(self) -> tuple[QWidget | None, str] | None:
        """What is wrong with the input (the field and a sentence), or None."""
        return None

    def accept(self) -> None:
        found = self.problem()
        if found is not None:
            field, message = found
            self.show_problem(field, message)
            return
        super().accept()

    def show_problem(self, field: QWidget | None, message: str) -> None:
        self.error.setText(message)
        announce(self.error, message)
        if field is not None:
            set_invalid(field, True)
            field.setFocus()


def amount_field(amount: Money, locale: str, accessible: str) -> QLineEdit:
    field = QLineEdit(amount_text(amount, locale))
    field.setObjectName("FormField")
    field.setAccessibleName(accessible)
    field.textEdited.connect(lambda _text: set_invalid(field, False))
    return field


def parse_within(text: str, limit: Money, locale: str, verb: str) -> Money:
    """The amount typed, refused (MoneyError) when zero, malformed or above ``limit``."""
    amount = parse_amount(text, limit.currency, locale=locale)
    if amount > limit:
        raise MoneyError(
            "too_large", f"At most {format_money(limit, locale)} can be {verb} on this payment."
        )
    return amount
