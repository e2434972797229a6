"""A PIN box: digits only, masked, at most eight of them, and never kept longer than needed."""

from __future__ import annotations

from PySide6.QtCore import QRegularExpression, Qt
from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import QLineEdit, QWidget

from pos_app.domain.pins import MAX_PIN_LENGTH, MIN_PIN_LENGTH
from pos_app.gui.widgets.common import set_invalid


class PinField(QLineEdit):
    def __init__(
        self,
        accessible: str = "PIN",
        *,
        min_length: int = MIN_PIN_LENGTH,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("FormField")
        self.setEchoMode(QLineEdit.EchoMode.Password)
        self.setMaxLength(MAX_PIN_LENGTH)
        # The keypad types 0-9 only; anything else never reaches the field.
        self.setValidator(
            QRegularExpressionValidator(QRegularExpression(f"[0-9]{{0,{MAX_PIN_LENGTH}}}"), self)
        )
        self.setInputMethodHints(
            Qt.InputMethodHint.ImhDigitsOnly
            | Qt.InputMethodHint.ImhSensitiveData
            | Qt.InputMethodHint.ImhNoPredictiveText
        )
        self.setAccessibleName(accessible)
        self.setPlaceholderText(f"{min_length}–{MAX_PIN_LENGTH} digits")
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.NoContextMenu)  # no copy / paste
        self.textEdited.connect(lambda _text: set_invalid(self, False))

    def take(self) -> str:
        """The PIN typed, and the field emptied: a PIN is used once and not left on screen."""
        pin = self.text()
        self.clear()
        return pin
