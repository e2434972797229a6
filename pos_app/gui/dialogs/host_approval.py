"""An administrator approves a live host the provider does not publish, with name and PIN.

Settings opens it when a live profile's API or hosted-page URL names such a host (a proxy
the store runs, a provider's private endpoint). The profile's secret and the customer's
card details would go there, so only an administrator may allow it, and only with the
secret typed again in the same save; the approval is kept in the keyring beside it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtWidgets import QLineEdit, QVBoxLayout, QWidget

from pos_app.domain.pins import MIN_STAFF_PIN_LENGTH
from pos_app.gui.dialogs.action_dialog import ActionDialog
from pos_app.gui.widgets.common import label
from pos_app.gui.widgets.pin_field import PinField

# (administrator's name, PIN) → None when approved, else the refusal to show.
Grant = Callable[[str, str], str | None]


class HostApprovalDialog(ActionDialog):
    def __init__(
        self,
        *,
        profile: str,
        provider: str,
        hosts: Sequence[str],
        published: Sequence[str],
        grant: Grant,
        parent: QWidget | None = None,
    ) -> None:
        these = "this host" if len(hosts) == 1 else "these hosts"
        super().__init__(
            "Administrator approval",
            f"The live profile “{profile}” would send its secret and its payments to "
            f"{these}, which {provider} does not publish (its hosts: {', '.join(published)}). "
            "Approve only a host your store or the provider runs for you. An administrator "
            "approves with their own name and PIN.",
            "Approve host  ⏎",
            danger=True,
            parent=parent,
        )
        self.setAccessibleName("Administrator approval")
        self.setMinimumWidth(560)
        self._grant = grant
        self.approved = False
        self.what = label("\n".join(hosts), "ApprovalWhat")
        self.what.setWordWrap(False)  # a host name broken at its hyphens misleads
        self.what.setAccessibleName("Host to approve")
        outer = self.layout()
        assert isinstance(outer, QVBoxLayout)
        outer.insertWidget(1, self.what)  # what is approved, before why
        self.admin = QLineEdit()
        self.admin.setObjectName("FormField")
        self.admin.setAccessibleName("Administrator's name")
        self.admin.setPlaceholderText("Administrator's name")
        self.pin = PinField("Administrator's PIN", min_length=MIN_STAFF_PIN_LENGTH)
        for caption, field in (("Administrator", self.admin), ("PIN", self.pin)):
            text = label(caption, "FieldLabel")
            text.setBuddy(field)
            self.fields.addWidget(text)
            self.fields.addWidget(field)
        self.confirm_button.setDefault(False)  # Enter in the name moves on to the PIN
        self.admin.returnPressed.connect(self.pin.setFocus)
        self.pin.returnPressed.connect(self.accept)
        self.admin.setFocus()

    def accept(self) -> None:
        name = self.admin.text()
        if not name.strip():
            self.show_problem(self.admin, "Type the administrator's name.")
            return
        if not self.pin.text():
            self.show_problem(self.pin, "The administrator types their PIN.")
            return
        self.error.setText("Checking…")
        self.error.repaint()  # the PIN check takes a moment on this thread
        refusal = self._grant(name, self.pin.take())
        if refusal is not None:
            self.show_problem(self.pin, refusal)
            return
        self.approved = True
        super().accept()
