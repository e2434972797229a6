"""F8 in the running app: the built-in sandbox gives the cashier a reader to practise with."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt

from pos_app.domain.payment import PaymentState
from pos_app.services.reader import Gesture

if TYPE_CHECKING:
    from pytestqt.qtbot import QtBot

    from tests.e2e.conftest import Till


def test_a_tap_on_the_sandbox_reader_is_a_journaled_card_reader_sale(
    qtbot: QtBot, till: Till
) -> None:
    pos = till.start()
    cashier = pos.window.cashier
    qtbot.keyClicks(cashier.amount_field, "4.50")
    qtbot.keyClick(cashier.amount_field, Qt.Key.Key_Return)
    qtbot.keyClicks(cashier.description_field, "Oat latte")
    qtbot.keyClick(cashier.description_field, Qt.Key.Key_F8)
    screen = pos.window.card_reader
    qtbot.waitUntil(lambda: screen.isVisible() and screen.reader_list.count() == 1, timeout=20_000)
    assert screen.amount_label.text() == "$4.50"  # what the customer sees
    tap = screen.gesture_buttons[Gesture.TAP]
    qtbot.waitUntil(tap.isEnabled, timeout=20_000)  # the reader waits for the card
    display = pos.customer_display
    assert display is not None
    assert display.isVisible()
    assert (display.heading.text(), display.amount.text()) == ("Please pay", "$4.50")
    assert not display.qr.isVisible()
    tap.click()
    qtbot.waitUntil(lambda: screen.stack.currentWidget() is screen.result, timeout=30_000)
    assert screen.result.title.text() == "Approved"
    [payment] = pos.journal.page_payments(offset=0, limit=5)
    assert payment.method == "card_reader"
    assert payment.state is PaymentState.CAPTURED
    assert display.heading.text() == "Thank you"
    qtbot.keyClick(screen.result.button, Qt.Key.Key_Return)  # new sale: the window goes
    assert not display.isVisible()
