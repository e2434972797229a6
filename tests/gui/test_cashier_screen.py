"""What the cashier sees while typing a sale: nothing bad can be charged."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from PySide6.QtCore import Qt

from pos_app.domain.money import Money
from pos_app.domain.vocabulary import PaymentMethod
from pos_app.gui.screens.cashier import CashierScreen
from pos_app.providers.justifi.limits import amount_limits
from pos_app.providers.types import Capability
from pos_app.services.sale import Sale

if TYPE_CHECKING:
    from pytestqt.qtbot import QtBot


@pytest.fixture
def cashier(qtbot: QtBot) -> CashierScreen:
    screen = CashierScreen(limits=amount_limits("USD"), locale="en_US", provider_name="JustiFi")
    qtbot.addWidget(screen)
    screen.resize(900, 600)
    screen.show()
    screen.set_ready(True)
    screen.focus_amount()
    return screen


def type_sale(qtbot: QtBot, screen: CashierScreen, amount: str, description: str) -> None:
    qtbot.keyClicks(screen.amount_field, amount)
    if description.isprintable():
        qtbot.keyClicks(screen.description_field, description)
    else:  # QTest cannot type control characters: they arrive by paste
        screen.description_field.setFocus()
        screen.description_field.insert(description)


@pytest.mark.parametrize(
    ("amount", "description", "message"),
    [
        ("0", "Donut", "more than zero"),
        ("-5", "Donut", "negative"),
        ("abc", "Donut", "in digits"),
        ("17.999", "Donut", "at most 2 decimal places"),
        ("1e3", "Donut", "notation"),
        ("NaN", "Donut", "not an amount"),
        ("0.50", "Donut", "smallest amount"),
        ("1000000", "Donut", "largest amount"),
        ("1.234,56", "Donut", "separators are in the wrong place"),
        ("17.99", "   ", "description"),
        ("17.99", "Donut\u202e", "control characters"),
    ],
)
def test_bad_input_keeps_the_charge_disabled_with_a_specific_message(
    qtbot: QtBot, cashier: CashierScreen, amount: str, description: str, message: str
) -> None:
    type_sale(qtbot, cashier, amount, description)
    assert not cashier.hosted_button.isEnabled()
    shown = f"{cashier.amount_error.text()} {cashier.description_error.text()}".lower()
    assert shown.strip(), "a refused sale must say why"
    assert message.lower() in shown
    with qtbot.assertNotEmitted(cashier.hosted_checkout_requested):
        qtbot.keyClick(cashier.description_field, Qt.Key.Key_Return)


def test_empty_description_is_named_when_enter_is_pressed(
    qtbot: QtBot, cashier: CashierScreen
) -> None:
    qtbot.keyClicks(cashier.amount_field, "17.99")
    qtbot.keyClick(cashier.amount_field, Qt.Key.Key_Return)
    assert cashier.description_field.hasFocus()
    with qtbot.assertNotEmitted(cashier.hosted_checkout_requested):
        qtbot.keyClick(cashier.description_field, Qt.Key.Key_Return)
    assert "description" in cashier.description_error.text().lower()


def test_a_good_sale_is_previewed_and_sent_with_enter(qtbot: QtBot, cashier: CashierScreen) -> None:
    type_sale(qtbot, cashier, "1,234.50", "Wedding cake")
    assert cashier.hosted_button.isEnabled()
    assert cashier.preview.text() == "Customer will pay $1,234.50"
    with qtbot.waitSignal(cashier.hosted_checkout_requested) as sent:
        qtbot.keyClick(cashier.description_field, Qt.Key.Key_Return)
    assert sent.args == [Sale(Money(123450, "USD"), "Wedding cake")]


def test_nothing_is_sent_until_the_provider_is_connected(
    qtbot: QtBot, cashier: CashierScreen
) -> None:
    cashier.set_ready(False, "Connecting to JustiFi…")
    type_sale(qtbot, cashier, "17.99", "Donut")
    assert not cashier.hosted_button.isEnabled()
    assert cashier.hint.text() == "Connecting to JustiFi…"
    with qtbot.assertNotEmitted(cashier.hosted_checkout_requested):
        qtbot.keyClick(cashier.description_field, Qt.Key.Key_Return)
    cashier.set_ready(True)
    assert cashier.hosted_button.isEnabled()
    assert "secure page" in cashier.hint.text()


def test_escape_clears_the_sale(qtbot: QtBot, cashier: CashierScreen) -> None:
    type_sale(qtbot, cashier, "17.99", "Donut")
    qtbot.keyClick(cashier.description_field, Qt.Key.Key_Escape)
    assert cashier.amount_field.text() == ""
    assert cashier.description_field.text() == ""
    assert cashier.amount_field.hasFocus()


def test_only_the_providers_methods_are_offered(qtbot: QtBot, cashier: CashierScreen) -> None:
    assert cashier.methods == (PaymentMethod.HOSTED_CHECKOUT, PaymentMethod.CARD_READER)
    cashier.set_capabilities(
        {Capability.HOSTED_CHECKOUT, Capability.PAY_BY_LINK, Capability.EMBEDDED_COMPONENT}
    )
    shown = [m for m, b in cashier.method_buttons.items() if b.isVisible()]
    assert shown == [
        PaymentMethod.HOSTED_CHECKOUT,
        PaymentMethod.PAY_BY_LINK,
        PaymentMethod.EMBEDDED_CHECKOUT,
        PaymentMethod.CARD_READER,
    ]
    cashier.set_capabilities({Capability.HOSTED_CHECKOUT, Capability.PAY_BY_LINK})
    assert not cashier.method_buttons[PaymentMethod.EMBEDDED_CHECKOUT].isVisible()
    type_sale(qtbot, cashier, "17.99", "Donut")
    # F7 (card form) does nothing for a provider without an embedded component.
    with qtbot.assertNotEmitted(cashier.checkout_requested):
        qtbot.keyClick(cashier.description_field, Qt.Key.Key_F7)


@pytest.mark.parametrize(
    ("key", "method"),
    [
        (Qt.Key.Key_Return, PaymentMethod.HOSTED_CHECKOUT),
        (Qt.Key.Key_F6, PaymentMethod.PAY_BY_LINK),
        (Qt.Key.Key_F7, PaymentMethod.EMBEDDED_CHECKOUT),
        (Qt.Key.Key_F8, PaymentMethod.CARD_READER),
    ],
)
def test_each_method_has_a_key(
    qtbot: QtBot, cashier: CashierScreen, key: Qt.Key, method: PaymentMethod
) -> None:
    cashier.set_capabilities(
        {Capability.HOSTED_CHECKOUT, Capability.PAY_BY_LINK, Capability.EMBEDDED_COMPONENT}
    )
    type_sale(qtbot, cashier, "17.99", "Donut")
    with qtbot.waitSignal(cashier.checkout_requested) as sent:
        qtbot.keyClick(cashier.description_field, key)
    assert sent.args == [Sale(Money(1799, "USD"), "Donut"), method]
    assert sent.args[1] is method


def test_method_buttons_are_named_for_screen_readers_and_wait_for_a_good_sale(
    qtbot: QtBot, cashier: CashierScreen
) -> None:
    cashier.set_capabilities({Capability.HOSTED_CHECKOUT, Capability.PAY_BY_LINK})
    link = cashier.method_buttons[PaymentMethod.PAY_BY_LINK]
    assert "QR code" in link.accessibleName()
    assert not link.isEnabled()
    type_sale(qtbot, cashier, "17.99", "Donut")
    assert link.isEnabled()
    with qtbot.waitSignal(cashier.checkout_requested) as sent:
        link.click()
    assert sent.args[1] is PaymentMethod.PAY_BY_LINK


def test_enter_takes_the_first_method_when_there_is_no_secure_page(
    qtbot: QtBot, cashier: CashierScreen
) -> None:
    cashier.set_capabilities({Capability.PAY_BY_LINK})
    type_sale(qtbot, cashier, "17.99", "Donut")
    with (
        qtbot.assertNotEmitted(cashier.hosted_checkout_requested),
        qtbot.waitSignal(cashier.checkout_requested) as sent,
    ):
        qtbot.keyClick(cashier.description_field, Qt.Key.Key_Return)
    assert sent.args[1] is PaymentMethod.PAY_BY_LINK
