"""Void: confirm cancelling an authorization (it cannot be undone)."""

from __future__ import annotations

from PySide6.QtWidgets import QLineEdit, QWidget

from pos_app.domain.money import Money, format_money
from pos_app.gui.dialogs.action_dialog import ActionDialog
from pos_app.gui.widgets.common import label


class VoidDialog(ActionDialog):
    def __init__(
        self,
        *,
        amount: Money,
        provider_name: str,
        locale: str,
        deadline: str = "",
        parent: QWidget | None = None,
    ) -> None:
        question = (
            f"Cancel the authorization of {format_money(amount, locale)} at {provider_name}? "
            "The hold on the customer's card is released and nothing can be captured "
            "afterwards. This cannot be undone."
        )
        super().__init__("Void payment", question, "Void  ⏎", danger=True, parent=parent)
        self.reason = QLineEdit()
        self.reason.setObjectName("FormField")
        self.reason.setAccessibleName("Void reason")
        self.reason.setPlaceholderText("Why? (optional)")
        caption = label("Reason", "FieldLabel")
        caption.setBuddy(self.reason)
        if deadline:
            self.fields.addWidget(label(deadline, "Hint"))
        self.fields.addWidget(caption)
        self.fields.addWidget(self.reason)
        self.reason.setFocus()

    @property
    def void_reason(self) -> str:
        return self.reason.text().strip()
