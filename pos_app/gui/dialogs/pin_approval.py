"""The frame of every approval on the spot: what is approved, why, a name and a PIN.

``grant`` checks the name and PIN when the approver confirms (the service decides, and
counts a wrong PIN toward the lock-out); the dialog closes only once it has said yes.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QLabel, QLineEdit, QVBoxLayout, QWidget

from pos_app.domain.pins import MIN_STAFF_PIN_LENGTH
from pos_app.gui.dialogs.action_dialog import ActionDialog
from pos_app.gui.widgets.common import label
from pos_app.gui.widgets.pin_field import PinField

# (approver's name, PIN) → None when approved, else the refusal to show.
Grant = Callable[[str, str], str | None]


class PinApprovalDialog(ActionDialog):
    def __init__(
        self,
        title: str,
        question: str,
        confirm_text: str,
        *,
        what: str,
        approver: str,
        grant: Grant,
        hint: str = "",
        danger: bool = False,
        parent: QWidget | None = None,
    ) -> None:
        """``what``: the bold line of what is approved; ``approver``: "Manager" or
        "Administrator", the word the fields and problems use."""
        super().__init__(title, question, confirm_text, danger=danger, parent=parent)
        self.setAccessibleName(title)
        self._grant = grant
        self._approver = approver.lower()
        self.approved = False
        self.what: QLabel = label(what, "ApprovalWhat")
        self.what.setAccessibleName("What is approved")
        outer = self.layout()
        assert isinstance(outer, QVBoxLayout)
        outer.insertWidget(1, self.what)  # what is approved, before why
        if hint:
            self.fields.addWidget(label(hint, "Hint"))
        self.approver = QLineEdit()
        self.approver.setObjectName("FormField")
        self.approver.setAccessibleName(f"{approver}'s name")
        self.approver.setPlaceholderText(f"{approver}'s name")
        self.pin = PinField(f"{approver}'s PIN", min_length=MIN_STAFF_PIN_LENGTH)
        for caption, field in ((approver, self.approver), ("PIN", self.pin)):
            text = label(caption, "FieldLabel")
            text.setBuddy(field)
            self.fields.addWidget(text)
            self.fields.addWidget(field)
        self.confirm_button.setDefault(False)  # Enter in the name moves on to the PIN
        self.approver.returnPressed.connect(self.pin.setFocus)
        self.pin.returnPressed.connect(self.accept)
        self.approver.setFocus()

    def accept(self) -> None:
        name = self.approver.text()
        if not name.strip():
            self.show_problem(self.approver, f"Type the {self._approver}'s name.")
            return
        if not self.pin.text():
            self.show_problem(self.pin, f"The {self._approver} types their PIN.")
            return
        self.error.setText("Checking…")
        self.error.repaint()  # the PIN check takes a moment on this thread
        refusal = self._grant(name, self.pin.take())
        if refusal is not None:
            self.show_problem(self.pin, refusal)
            return
        self.approved = True
        super().accept()
