"""Refund: how much (prefilled with all that is still refundable) and why (required)."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QWidget

from pos_app.domain.money import Money, MoneyError, format_money
from pos_app.gui.dialogs.action_dialog import ActionDialog, amount_field, parse_within
from pos_app.gui.widgets.common import label, set_invalid

# Providers with their own refund reason codes: what the cashier reads, what is sent.
PROVIDER_REASONS: dict[str, tuple[tuple[str, str], ...]] = {
    "justifi": (
        ("Customer request", "customer_request"),
        ("Duplicate", "duplicate"),
        ("Fraudulent", "fraudulent"),
    ),
}
COMMON_REASONS = ("Customer request", "Duplicate payment", "Item returned", "Wrong amount")


class RefundDialog(ActionDialog):
    def __init__(
        self,
        *,
        refundable: Money,
        partial: bool,
        provider: str,
        provider_name: str,
        locale: str,
        parent: QWidget | None = None,
    ) -> None:
        shown = format_money(refundable, locale)
        super().__init__(
            "Refund payment",
            f"Up to {shown} can go back to the customer's card through {provider_name}.",
            "Refund  ⏎",
            parent=parent,
        )
        self._refundable = refundable
        self._locale = locale
        self.amount = amount_field(refundable, locale, f"Refund amount in {refundable.currency}")
        self.amount.setReadOnly(not partial)
        self.reason = QComboBox()
        self.reason.setEditable(True)
        self.reason.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.reason.setAccessibleName("Refund reason")
        for text, code in PROVIDER_REASONS.get(provider, tuple((r, r) for r in COMMON_REASONS)):
            self.reason.addItem(text, code)
        self.reason.setCurrentIndex(-1)
        line = self.reason.lineEdit()
        if line is not None:
            line.setPlaceholderText("Why is this refunded? (required)")
        self.reason.currentTextChanged.connect(lambda _t: set_invalid(self.reason, False))

        caption = label(f"Amount ({refundable.currency})", "FieldLabel")
        caption.setBuddy(self.amount)
        self.fields.addWidget(caption)
        self.fields.addWidget(self.amount)
        if not partial:
            self.fields.addWidget(
                label(f"{provider_name} refunds only the whole remaining amount.", "Hint")
            )
        reason_caption = label("Reason", "FieldLabel")
        reason_caption.setBuddy(self.reason)
        self.fields.addWidget(reason_caption)
        self.fields.addWidget(self.reason)
        self.amount.selectAll()
        self.amount.setFocus()

    @property
    def refund_amount(self) -> Money:
        return parse_within(self.amount.text(), self._refundable, self._locale, "refunded")

    @property
    def refund_reason(self) -> str:
        """The provider's reason code where the cashier picked one, else the words typed."""
        text = self.reason.currentText().strip()
        index = self.reason.findText(text)
        return str(self.reason.itemData(index)) if index >= 0 else text

    def problem(self) -> tuple[QWidget | None, str] | None:
        try:
            _ = self.refund_amount
        except MoneyError as error:
            return self.amount, str(error)
        if not self.reason.currentText().strip():
            return self.reason, "Say why the payment is refunded."
        return None
