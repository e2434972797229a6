"""3-D Secure: a Checkout.com charge that needs the bank's challenge, in the hardened view.

The app has no card form of its own (it never handles card numbers), so the card token
comes from the sandbox's tokenizer, as Checkout.com's Frames would make it; the screen
then takes over: charge, challenge, return URL intercepted, lookup decides.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt

from pos_app.domain.money import Money
from pos_app.domain.payment import PaymentState
from pos_app.services.sale import Sale
from pos_sandbox.checkout_com.pages import THREEDS_SANDBOX_CODE
from tests.conformance.harness import APPROVED_CARD, checkout_com_card_token
from tests.e2e import test_checkout_methods as methods
from tests.e2e.conftest import run_js, wait_for_js

if TYPE_CHECKING:
    from pytestqt.qtbot import QtBot

CHALLENGE_READY = "document.querySelector('#otp-code') !== null"

ScreenTill = methods.ScreenTill
journal, make_till, sandbox = (
    methods.journal,
    methods.make_till,
    methods.sandbox,
)  # fixtures


def open_challenge(qtbot: QtBot, till: ScreenTill) -> Any:
    source = checkout_com_card_token(till.sandbox, APPROVED_CARD)
    till.screen.start_card_charge(Sale(Money(4200, "USD"), "Wedding cake"), source)
    screen = till.screen
    qtbot.waitUntil(lambda: screen.web_view is not None, timeout=20_000)

    def page() -> Any:
        return screen.web_view.page() if screen.web_view is not None else None

    wait_for_js(qtbot, page, CHALLENGE_READY)
    [payment] = till.journal.page_payments(offset=0, limit=5)
    assert payment.state is PaymentState.REQUIRES_ACTION
    assert screen.web_view is not None
    assert screen.web_view.url().toString().startswith(f"{till.sandbox.base_url}/checkout-com/3ds/")
    assert "bank" in screen.status_label.text()
    return page()


def answer(qtbot: QtBot, page: Any, code: str, button: str) -> None:
    script = (
        f"document.querySelector('#otp-code').value = {json.dumps(code)};"
        f"document.querySelector({json.dumps(button)}).click(); true;"
    )
    assert run_js(qtbot, page, script) is True


def test_the_customer_passes_the_bank_check_and_the_lookup_confirms(
    qtbot: QtBot, make_till: Any
) -> None:
    till: ScreenTill = make_till("checkout_com")
    page = open_challenge(qtbot, till)
    answer(qtbot, page, THREEDS_SANDBOX_CODE, "#authenticate-button")
    assert till.wait_for_result() == "Approved"
    [payment] = till.journal.page_payments(offset=0, limit=5)
    assert payment.state is PaymentState.CAPTURED
    assert payment.amount == Money(4200, "USD")
    assert "4242" in till.screen.result.detail.text()


def test_a_failed_bank_check_is_a_decline(qtbot: QtBot, make_till: Any) -> None:
    till: ScreenTill = make_till("checkout_com")
    page = open_challenge(qtbot, till)
    answer(qtbot, page, "", "#cancel-button")
    assert till.wait_for_result() == "Declined"
    [payment] = till.journal.page_payments(offset=0, limit=5)
    assert payment.state is PaymentState.DECLINED


def test_the_challenge_page_cannot_send_the_till_elsewhere(qtbot: QtBot, make_till: Any) -> None:
    till: ScreenTill = make_till("checkout_com")
    page = open_challenge(qtbot, till)
    view = till.screen.web_view
    assert view is not None
    with qtbot.waitSignal(view.checkout_page.blocked) as blocked:
        run_js(qtbot, page, "location.href = 'https://acs.other-bank.example/phish'; true")
    assert blocked.args == ["https://acs.other-bank.example/phish"]
    # ...while a 3-D Secure frame from another https origin is what the policy lets in.
    assert (
        view.checkout_page.policy.decide(
            "https://acs.other-bank.example/frame", main_frame=False
        ).value
        == "allow"
    )


def test_escape_during_the_challenge_ends_unpaid(qtbot: QtBot, make_till: Any) -> None:
    till: ScreenTill = make_till("checkout_com")
    open_challenge(qtbot, till)
    qtbot.keyClick(till.screen.cancel_button, Qt.Key.Key_Escape)
    assert till.wait_for_result() == "Payment not completed"
    assert "not charged" in till.screen.result.detail.text()
    [payment] = till.journal.page_payments(offset=0, limit=5)
    assert payment.state is PaymentState.REQUIRES_ACTION  # never authorized at the provider
    # The history says who gave up and that it stays open for a later lookup.
    notes = [event.note for event in till.journal.events(payment.reference)]
    assert any("Abandoned by the cashier during the bank check" in note for note in notes)
