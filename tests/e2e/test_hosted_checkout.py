"""A cashier takes a sandbox payment through the hosted checkout, end to end."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt

from pos_app.domain.money import Money
from pos_app.domain.payment import PaymentState
from tests.e2e.conftest import Till, run_js, wait_for_js
from tests.reliability.lookup_tampering import change_justifi_amount

if TYPE_CHECKING:
    from pytestqt.qtbot import QtBot

    from pos_app.bootstrap.app import PosApplication

FORM_READY = "document.querySelector('#card-number') !== null"


def ring_up(qtbot: QtBot, pos: PosApplication, amount: str, description: str) -> None:
    cashier = pos.window.cashier
    assert cashier.amount_field.hasFocus()  # keyboard first: the amount is where typing goes
    qtbot.keyClicks(cashier.amount_field, amount)
    qtbot.keyClick(cashier.amount_field, Qt.Key.Key_Return)  # Enter moves on to the description
    assert cashier.description_field.hasFocus()
    qtbot.keyClicks(cashier.description_field, description)
    qtbot.keyClick(cashier.description_field, Qt.Key.Key_Return)


def customer_pays(qtbot: QtBot, pos: PosApplication, card: str) -> None:
    checkout = pos.window.checkout

    def page() -> object:
        return checkout.web_view.page() if checkout.web_view is not None else None

    wait_for_js(qtbot, page, FORM_READY)
    fields = {
        "#cardholder-name": "Leslie Knope",
        "#card-number": card,
        "#card-expiry": "12/30",
        "#card-cvc": "123",
        "#postal-code": "10001",
    }
    script = (
        "".join(
            f"document.querySelector({json.dumps(sel)}).value = {json.dumps(value)};"
            for sel, value in fields.items()
        )
        + "document.querySelector('#pay-button').click(); true;"
    )
    assert run_js(qtbot, page(), script) is True


def wait_for_result(qtbot: QtBot, pos: PosApplication) -> str:
    checkout = pos.window.checkout
    qtbot.waitUntil(lambda: checkout.stack.currentWidget() is checkout.result, timeout=30_000)
    return checkout.result.title.text()


def test_approved_card_is_verified_and_listed_and_survives_restart(
    qtbot: QtBot, till: Till
) -> None:
    pos = till.start()
    ring_up(qtbot, pos, "17.99", "One chocolate donut")
    customer_pays(qtbot, pos, "4242 4242 4242 4242")

    assert wait_for_result(qtbot, pos) == "Approved"
    result = pos.window.checkout.result
    assert result.amount.text() == "$17.99"
    assert "Visa •••• 4242" in result.detail.text()
    # The page alone is never trusted: the journal holds the provider's answer.
    reference = result.reference.text()
    payment = pos.journal.get(reference)
    assert payment is not None
    assert payment.state is PaymentState.CAPTURED
    assert payment.amount == Money(1799, "USD")
    assert payment.provider_ref
    assert payment.provider_ref.startswith("cho_")
    assert payment.provider_payment_ref
    assert payment.provider_payment_ref.startswith("py_")

    qtbot.keyClick(result.button, Qt.Key.Key_Return)  # New sale
    assert pos.window.stack.currentWidget() is pos.window.cashier
    assert pos.window.cashier.amount_field.text() == ""

    pos.window.payments_button.click()
    payments = pos.window.payments
    model = payments.model
    assert model.rowCount() == 0  # a sandbox sale is training: not among real money
    payments.filters.training.setChecked(True)
    qtbot.waitUntil(lambda: model.rowCount() == 1)
    row = [model.index(0, c).data() for c in range(model.columnCount())]
    assert row[1:6] == [
        reference,
        "TRAINING · One chocolate donut",
        "$17.99",
        "Paid",
        "Visa •••• 4242",
    ]

    till.stop(pos)
    again = till.start()
    again.window.payments.filters.training.setChecked(True)
    model = again.window.payments.model
    qtbot.waitUntil(lambda: model.rowCount() == 1)
    assert model.index(0, 1).data() == reference
    assert model.index(0, 4).data() == "Paid"


def declined_sale(qtbot: QtBot, till: Till) -> PosApplication:
    """A 5.25 sale whose first card the customer's bank declined; the till says so."""
    pos = till.start()
    ring_up(qtbot, pos, "5.25", "Coffee")
    checkout = pos.window.checkout
    customer_pays(qtbot, pos, "4000 0000 0000 0002")
    qtbot.waitUntil(
        lambda: checkout.status_label.text().startswith("Card declined"), timeout=30_000
    )
    return pos


def test_a_declined_card_is_said_and_another_card_on_the_same_page_pays_the_sale(
    qtbot: QtBot, till: Till
) -> None:
    pos = declined_sale(qtbot, till)
    checkout = pos.window.checkout
    assert "try another card on the same page" in checkout.status_label.text()
    assert checkout.stack.currentWidget() is checkout.waiting  # the sale goes on
    payments = pos.journal.page_payments(offset=0, limit=5)
    # JustiFi reports no card on a failed completion, so only the decline itself is recorded.
    assert [(p.state, p.decline_code, p.amount) for p in payments] == [
        (PaymentState.PENDING, "declined", Money(525, "USD"))
    ]
    customer_pays(qtbot, pos, "4242 4242 4242 4242")  # the page shows the form again
    assert wait_for_result(qtbot, pos) == "Approved"
    [payment] = pos.journal.page_payments(offset=0, limit=5)
    assert payment.state is PaymentState.CAPTURED
    assert payment.attention is None


def test_the_cashier_ends_a_declined_sale_and_nothing_is_charged(qtbot: QtBot, till: Till) -> None:
    pos = declined_sale(qtbot, till)
    checkout = pos.window.checkout
    qtbot.keyClick(checkout.cancel_button, Qt.Key.Key_Escape)
    assert wait_for_result(qtbot, pos) == "Payment cancelled"
    [payment] = pos.journal.page_payments(offset=0, limit=5)
    assert payment.state is PaymentState.FAILED
    assert payment.decline_code == "declined"


def test_escape_cancels_an_unpaid_checkout_after_checking(qtbot: QtBot, till: Till) -> None:
    pos = till.start()
    ring_up(qtbot, pos, "9.50", "Bagel")
    checkout = pos.window.checkout
    qtbot.waitUntil(lambda: checkout.web_view is not None, timeout=20_000)
    qtbot.keyClick(checkout.cancel_button, Qt.Key.Key_Escape)

    assert wait_for_result(qtbot, pos) == "Payment cancelled"
    assert checkout.result.detail.text() == "Nothing was charged."
    [payment] = pos.journal.page_payments(offset=0, limit=5)
    assert payment.state is PaymentState.FAILED
    assert "Cancelled by the cashier" in pos.journal.events(payment.reference)[-1].note


def test_a_checkout_changed_at_the_provider_is_never_approved(qtbot: QtBot, till: Till) -> None:
    """Someone with the account's keys changes the open checkout to 1.00 (JustiFi's
    ``PATCH /v1/checkouts/{id}``): the next lookup tells the cashier, and nothing is paid."""
    pos = till.start()
    assert pos.sandbox is not None
    ring_up(qtbot, pos, "17.99", "One chocolate donut")
    checkout = pos.window.checkout
    qtbot.waitUntil(lambda: checkout.web_view is not None, timeout=20_000)
    [payment] = pos.journal.page_payments(offset=0, limit=5)
    assert payment.provider_ref is not None
    change_justifi_amount(pos.sandbox, payment.provider_ref, 100)

    assert wait_for_result(qtbot, pos) == "Check this payment"
    detail = checkout.result.detail.text()
    assert "the provider has 1.00 USD, the sale was 17.99 USD" in detail
    [payment] = pos.journal.page_payments(offset=0, limit=5)
    assert payment.state is not PaymentState.CAPTURED
    assert payment.captured.minor == 0
    assert payment.attention == detail


def test_a_finished_sale_is_never_sent_to_the_next_customer(qtbot: QtBot, till: Till) -> None:
    """The cashier leaves the result for Payments (F2) instead of "New sale", then comes back
    (F1): the last sale's amount and description are gone, and a new amount plus Enter
    asks for a description instead of starting a checkout with the old one."""
    pos = till.start()
    window = pos.window
    ring_up(qtbot, pos, "17.99", "Birthday cake deposit")
    customer_pays(qtbot, pos, "4242 4242 4242 4242")
    assert wait_for_result(qtbot, pos) == "Approved"

    qtbot.keyClick(window, Qt.Key.Key_F2)
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.payments)
    qtbot.keyClick(window, Qt.Key.Key_F1)
    cashier = window.cashier
    qtbot.waitUntil(lambda: window.stack.currentWidget() is cashier)
    assert (cashier.amount_field.text(), cashier.description_field.text()) == ("", "")

    qtbot.keyClicks(cashier.amount_field, "3.50")
    qtbot.keyClick(cashier.amount_field, Qt.Key.Key_Return)
    assert cashier.description_field.hasFocus()
    assert window.stack.currentWidget() is cashier  # no checkout went out
    assert len(pos.journal.page_payments(offset=0, limit=5)) == 1
