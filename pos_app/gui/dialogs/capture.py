"""Capture: take all of an authorization, or part of it where the provider allows."""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QWidget

from pos_app.domain.money import Money, MoneyError, format_money
from pos_app.gui.dialogs.action_dialog import ActionDialog, amount_field, parse_within
from pos_app.gui.widgets.common import label


class CaptureDialog(ActionDialog):
    def __init__(
        self,
        *,
        capturable: Money,
        partial: bool,
        may_continue: bool,
        provider_name: str,
        locale: str,
        parent: QWidget | None = None,
    ) -> None:
        """``partial``: the provider takes less than the whole; ``may_continue``: a non-final
        capture is allowed (more may be captured later)."""
        shown = format_money(capturable, locale)
        super().__init__(
            "Capture payment",
            f"{shown} is authorized and not yet captured at {provider_name}.",
            "Capture  ⏎",
            parent=parent,
        )
        self._capturable = capturable
        self._locale = locale
        self.amount = amount_field(capturable, locale, f"Capture amount in {capturable.currency}")
        self.amount.setReadOnly(not partial)
        self.final = QCheckBox("Final capture: release whatever is not captured now")
        self.final.setAccessibleName("Final capture")
        self.final.setChecked(True)
        self.final.setVisible(may_continue)

        caption = label(f"Amount ({capturable.currency})", "FieldLabel")
        caption.setBuddy(self.amount)
        self.fields.addWidget(caption)
        self.fields.addWidget(self.amount)
        if not partial:
            self.fields.addWidget(
                label(f"{provider_name} captures only the whole authorized amount.", "Hint")
            )
        self.fields.addWidget(self.final)
        self.amount.selectAll()
        self.amount.setFocus()

    @property
    def capture_amount(self) -> Money | None:
        """None means "everything still capturable" (what providers without partial take)."""
        amount = parse_within(self.amount.text(), self._capturable, self._locale, "captured")
        return None if amount == self._capturable else amount

    @property
    def is_final(self) -> bool:
        return self.final.isChecked() or not self.final.isVisibleTo(self)

    def problem(self) -> tuple[QWidget | None, str] | None:
        try:
            _ = self.capture_amount
        except MoneyError as error:
            return self.amount, str(error)
        return None
