"""The refund dialog refuses what must never be sent, before anything is sent."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from PySide6.QtCore import Qt

from pos_app.domain.money import Money
from pos_app.gui.dialogs.capture import CaptureDialog
from pos_app.gui.dialogs.refund import RefundDialog

if TYPE_CHECKING:
    from pytestqt.qtbot import QtBot


def refund_dialog(
    qtbot: QtBot, refundable: Money, *, provider: str = "checkout_com", locale: str = "en_US"
) -> RefundDialog:
    dialog = RefundDialog(
        refundable=refundable,
        partial=True,
        provider=provider,
        provider_name="Checkout.com",
        locale=locale,
    )
    qtbot.addWidget(dialog)
    dialog.open()
    return dialog


def confirm(qtbot: QtBot, dialog: RefundDialog | CaptureDialog) -> None:
    qtbot.mouseClick(dialog.confirm_button, Qt.MouseButton.LeftButton)


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("0", "The amount must be more than zero."),
        ("-5", "The amount cannot be negative."),
        ("12.345", "at most 2 decimal places"),
        ("1e3", "without “e” notation"),
        ("", "Enter an amount."),
        ("40.01", "At most $40.00 can be refunded on this payment."),
    ],
)
def test_bad_amounts_keep_the_dialog_open(qtbot: QtBot, typed: str, message: str) -> None:
    dialog = refund_dialog(qtbot, Money(4000, "USD"))
    dialog.amount.setText(typed)
    dialog.reason.setCurrentText("Customer request")
    confirm(qtbot, dialog)
    assert dialog.isVisible()
    assert dialog.result() == 0
    assert message in dialog.error.text()
    assert dialog.amount.property("invalid") is True


def test_a_reason_is_required(qtbot: QtBot) -> None:
    dialog = refund_dialog(qtbot, Money(4000, "USD"))
    confirm(qtbot, dialog)
    assert dialog.isVisible()
    assert dialog.error.text() == "Say why the payment is refunded."


def test_the_whole_refundable_amount_with_a_typed_reason(qtbot: QtBot) -> None:
    dialog = refund_dialog(qtbot, Money(4000, "USD"))
    dialog.reason.setCurrentText("Wrong size")
    with qtbot.waitSignal(dialog.accepted):
        confirm(qtbot, dialog)
    assert (dialog.refund_amount, dialog.refund_reason) == (Money(4000, "USD"), "Wrong size")


def test_justifi_reasons_are_sent_as_its_reason_codes(qtbot: QtBot) -> None:
    dialog = refund_dialog(qtbot, Money(4000, "USD"), provider="justifi")
    assert [dialog.reason.itemText(i) for i in range(dialog.reason.count())] == [
        "Customer request",
        "Duplicate",
        "Fraudulent",
    ]
    dialog.reason.setCurrentIndex(1)
    assert dialog.refund_reason == "duplicate"


def test_amounts_are_typed_and_shown_in_the_tills_locale(qtbot: QtBot) -> None:
    dialog = refund_dialog(qtbot, Money(123450, "EUR"), locale="de_DE")
    assert dialog.amount.text() == "1.234,50"
    dialog.amount.setText("1.000,25")
    assert dialog.refund_amount == Money(100025, "EUR")


def test_capture_dialog_sends_none_for_the_whole_authorization(qtbot: QtBot) -> None:
    dialog = CaptureDialog(
        capturable=Money(5000, "USD"),
        partial=True,
        may_continue=True,
        provider_name="Checkout.com",
        locale="en_US",
    )
    qtbot.addWidget(dialog)
    dialog.open()
    assert dialog.capture_amount is None
    assert dialog.is_final
    dialog.amount.setText("12.50")
    dialog.final.setChecked(False)
    assert (dialog.capture_amount, dialog.is_final) == (Money(1250, "USD"), False)
    dialog.amount.setText("0")
    confirm(qtbot, dialog)
    assert dialog.error.text() == "The amount must be more than zero."
