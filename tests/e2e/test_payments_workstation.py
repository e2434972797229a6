"""The whole app: a sale paid on the hosted page is refunded from Payments, through the
app's own payments service, and the provider confirms it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt

from pos_app.domain.payment import PaymentState
from pos_app.gui.dialogs.refund import RefundDialog
from tests.e2e.test_app_profiles import only_payment
from tests.e2e.test_hosted_checkout import ring_up

if TYPE_CHECKING:
    from pytestqt.qtbot import QtBot

    from tests.e2e.conftest import Till


def test_a_hosted_sale_is_refunded_in_part_from_the_payments_screen(
    qtbot: QtBot, till: Till
) -> None:
    pos = till.start()
    qtbot.waitUntil(lambda: pos.window.cashier.ready, timeout=20_000)
    ring_up(qtbot, pos, "24.00", "Macarons box")
    qtbot.waitUntil(
        lambda: (p := only_payment(pos)) is not None and p.provider_ref is not None,
        timeout=20_000,
    )
    sale = only_payment(pos)
    assert sale is not None, sale
    assert pos.sandbox is not None
    paid = pos.sandbox.control.request(
        "POST",
        "justifi/pay",
        json={"checkout_id": sale.provider_ref, "card": "4242424242424242"},
    )
    assert paid.is_success, (paid.text, sale.provider_ref, sale.state)
    checkout = pos.window.checkout
    qtbot.waitUntil(lambda: checkout.result.isVisible(), timeout=20_000)  # the poll found it
    qtbot.keyClick(checkout.result.button, Qt.Key.Key_Return)

    qtbot.keyClick(pos.window, Qt.Key.Key_F2)
    screen = pos.window.payments
    qtbot.waitUntil(lambda: pos.window.stack.currentWidget() is screen)
    screen.open_payment(sale.reference)
    detail = screen.detail
    qtbot.waitUntil(lambda: not detail.refund_button.isHidden())
    detail.start_refund()
    dialog = detail.dialog
    assert isinstance(dialog, RefundDialog)
    assert dialog.amount.text() == "24.00"  # everything refundable, by default
    dialog.amount.setText("4.00")
    dialog.reason.setCurrentText("Item returned")
    qtbot.mouseClick(dialog.confirm_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: bool(detail.outcome.text()) and not detail.busy.isVisible(), timeout=20_000
    )
    assert detail.outcome.text() == (
        "Refunded $4.00. JustiFi confirms the payment is now partly refunded. "
        "$20.00 can still be refunded."
    )
    record = pos.journal.get(sale.reference)
    assert record is not None
    assert (record.state, record.refunded_minor) == (PaymentState.PARTIALLY_REFUNDED, 400)
