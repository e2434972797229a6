"""Pay by link: a QR code on the till and on the customer's window, the outcome by lookup."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from PySide6.QtCore import Qt

from pos_app.domain.money import Money
from pos_app.domain.payment import PaymentState
from pos_app.domain.vocabulary import PaymentMethod
from pos_app.services.sale import Sale
from tests.conformance.harness import APPROVED_CARD, control
from tests.e2e import test_checkout_methods as methods

if TYPE_CHECKING:
    import httpx
    from pytestqt.qtbot import QtBot

LINK_PROVIDERS = ["justifi", "checkout_com", "payfect"]

ScreenTill = methods.ScreenTill
journal, make_till, sandbox = (
    methods.journal,
    methods.make_till,
    methods.sandbox,
)  # fixtures


def open_link(qtbot: QtBot, till: ScreenTill, minor: int = 1799) -> str:
    till.screen.start(Sale(Money(minor, "USD"), "Birthday cake"), PaymentMethod.PAY_BY_LINK)
    panel = till.screen.link_panel
    qtbot.waitUntil(lambda: panel.isVisible() and bool(panel.qr.data), timeout=20_000)
    return panel.qr.data


def pay_link(till: ScreenTill, ref: str) -> httpx.Response:
    """What the customer's phone does on the link's page."""
    if till.harness.name == "checkout_com":  # a payment link, not a hosted page
        return control(till.sandbox, "checkout-com/pay", {"link_id": ref, "card": APPROVED_CARD})
    return till.harness.pay(till.sandbox, ref, APPROVED_CARD)


@pytest.mark.parametrize("name", LINK_PROVIDERS)
def test_customer_pays_the_link_and_both_windows_say_so(
    qtbot: QtBot, make_till: Any, name: str
) -> None:
    till: ScreenTill = make_till(name)
    url = open_link(qtbot, till)
    [payment] = till.journal.page_payments(offset=0, limit=5)
    assert payment.state is PaymentState.PENDING
    assert payment.method == "pay_by_link"
    assert url.startswith(till.sandbox.base_url)
    # The customer sees the same code, the amount and the description on their own window.
    display = till.display
    assert display.isVisible()
    assert display.qr.data == url
    assert display.amount.text() == "$17.99"
    assert display.description.text() == "Birthday cake"
    assert till.screen.link_panel.url.text() == url
    # The customer's window must not take the keyboard from the cashier.
    qtbot.waitUntil(till.screen.isActiveWindow)
    assert till.screen.web_view is None  # nothing is loaded on the till for a link

    # The customer pays on their phone; the till only learns it by looking the payment up.
    assert payment.provider_ref is not None
    paid = pay_link(till, payment.provider_ref)
    assert paid.is_success, paid.text
    assert till.wait_for_result() == "Approved"
    assert till.journal.get(payment.reference).state is PaymentState.CAPTURED  # type: ignore[union-attr]
    assert display.heading.text() == "Thank you"
    assert not display.qr.isVisible()  # a paid link's code is gone
    with qtbot.waitSignal(till.screen.finished) as finished:
        qtbot.keyClick(till.screen.result.button, Qt.Key.Key_Return)
    assert finished.args == [True]
    assert not display.isVisible()


def test_an_expired_link_offers_a_new_one_and_never_two_at_once(
    qtbot: QtBot, make_till: Any
) -> None:
    till: ScreenTill = make_till("justifi")
    old_url = open_link(qtbot, till)
    screen = till.screen
    # No new link while the old one can still be paid.
    assert not screen.link_panel.new_link_button.isVisible()
    qtbot.keyClick(screen.link_panel, Qt.Key.Key_F6)
    assert len(till.journal.page_payments(offset=0, limit=5)) == 1

    lifetime = till.harness.checkout_lifetime_s
    assert lifetime is not None
    advanced = till.sandbox.control.request(
        "POST", "clock/advance", json={"seconds": lifetime + 60}
    )
    assert advanced.is_success, advanced.text
    qtbot.waitUntil(screen.link_panel.new_link_button.isVisible, timeout=20_000)
    assert "expired" in screen.status_label.text()
    assert "expired" in till.display.status.text()
    [expired] = till.journal.page_payments(offset=0, limit=5)
    assert expired.state is PaymentState.EXPIRED

    qtbot.keyClick(screen.link_panel, Qt.Key.Key_F6)
    qtbot.waitUntil(lambda: screen.link_panel.qr.data not in ("", old_url), timeout=20_000)
    assert till.display.qr.data == screen.link_panel.qr.data
    assert not screen.link_panel.new_link_button.isVisible()
    newest, oldest = till.journal.page_payments(offset=0, limit=5)
    assert oldest.reference == expired.reference
    assert oldest.state is PaymentState.EXPIRED
    assert newest.state is PaymentState.PENDING
    assert newest.amount == Money(1799, "USD")


def test_cancelling_a_link_clears_the_customers_code_and_says_the_link_stays_open(
    qtbot: QtBot, make_till: Any
) -> None:
    till: ScreenTill = make_till("checkout_com")
    open_link(qtbot, till)
    qtbot.keyClick(till.screen.cancel_button, Qt.Key.Key_Escape)
    assert till.wait_for_result() == "Payment cancelled"
    # No provider can close a link: the cashier is told, not promised it is dead.
    assert "stays open at the provider" in till.screen.result.detail.text()
    [payment] = till.journal.page_payments(offset=0, limit=5)
    assert payment.state is PaymentState.FAILED
    assert till.display.heading.text() == "Payment cancelled"
    assert not till.display.qr.isVisible()
