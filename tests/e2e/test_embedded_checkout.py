"""The "Card form" method: the real ``<justifi-checkout>`` on the checkout screen.

The component (the npm package, as published) runs in the hardened view against the sandbox;
its events reach the app only through the bridge, and the lookup decides the outcome.
"""

from __future__ import annotations

import contextlib
import json
import time
from typing import TYPE_CHECKING, Any

import pytest
import shiboken6
from PySide6.QtWebEngineCore import QWebEngineFrame, QWebEngineScript
from pytestqt.exceptions import TimeoutError

from pos_app.domain.money import Money
from pos_app.domain.payment import PaymentState
from pos_app.domain.vocabulary import PaymentMethod
from pos_app.gui.screens.embedded_checkout import CardForm, sandbox_component_host
from pos_app.gui.webview.bridge import BRIDGE_NAME, UNKNOWN_ERROR, CheckoutBridge, error_sentence
from pos_app.gui.webview.view import CheckoutWebView
from pos_app.platform.assets import MISSING_HINT
from pos_app.services.sale import Sale
from pos_sandbox.server import SandboxServer
from tests.conformance.harness import add_fault, control
from tests.e2e import test_checkout_methods as methods
from tests.e2e import test_justifi_webcomponent as component
from tests.e2e.conftest import run_js
from tests.e2e.webcomponent_assets import CACHE_DIR, WebComponentAssets

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from pytestqt.qtbot import QtBot

ScreenTill = methods.ScreenTill
APPLICATION_WORLD = QWebEngineScript.ScriptWorldId.ApplicationWorld
CARD_FIELDS, DEEP_QUERY = component.CARD_FIELDS, component.DEEP_QUERY
journal, make_till = (
    methods.journal,
    methods.make_till,
)  # fixtures
webcomponent_assets = component.webcomponent_assets  # fixture


@pytest.fixture
def sandbox(tmp_path: Path, webcomponent_assets: WebComponentAssets) -> Iterator[SandboxServer]:
    with SandboxServer(tmp_path / "sandbox-state", assets_root=CACHE_DIR) as server:
        server.serve_component_assets(
            webcomponent_assets.webcomponents_dir, webcomponent_assets.iframe_resizer_file
        )
        yield server


def card_form_till(make_till: Any) -> ScreenTill:
    till: ScreenTill = make_till("justifi")
    till.screen.set_card_form(
        assets_dir=CACHE_DIR, host=sandbox_component_host(till.sandbox.base_url)
    )
    return till


def open_card_form(qtbot: QtBot, till: ScreenTill) -> CardForm:
    till.screen.start(Sale(Money(1799, "USD"), "Two coffees"), PaymentMethod.EMBEDDED_CHECKOUT)
    qtbot.waitUntil(lambda: till.screen.card_form is not None, timeout=20_000)
    form = till.screen.card_form
    assert form is not None
    assert form.view is till.screen.web_view
    changes: list[bool] = []
    form.bridge.changed.connect(lambda: changes.append(True))
    # checkout-changed (through the bridge) says the component has loaded the checkout.
    qtbot.waitUntil(lambda: bool(changes), timeout=30_000)
    qtbot.waitUntil(lambda: set(CARD_FIELDS) <= set(input_frames(form.view)), timeout=30_000)
    wait_true(
        qtbot,
        form.view,
        DEEP_QUERY + "(function () { var frames = deepAll('iframe').filter(function (f) {"
        "  return f.src.indexOf('/justifi/iframe/v2/') >= 0; });"
        "  return frames.length >= 4 && frames.every(function (f) {"
        "    var height = f.getBoundingClientRect().height;"
        "    return f.style.height !== '' && height > 10 && height < 100; }); })()",
    )
    return form


def wait_true(qtbot: QtBot, view: CheckoutWebView, script: str) -> None:
    qtbot.waitUntil(lambda: run_js(qtbot, view.page(), script) is True, timeout=30_000)


def input_frames(view: CheckoutWebView) -> dict[str, QWebEngineFrame]:
    found: dict[str, QWebEngineFrame] = {}

    def walk(frame: QWebEngineFrame) -> None:
        for child in frame.children():
            path = child.url().path()
            if "/justifi/iframe/v2/" in path:
                found[path.rsplit("/", 1)[-1]] = child
            walk(child)

    walk(view.page().mainFrame())
    return found


def type_into(qtbot: QtBot, view: CheckoutWebView, field: str, value: str) -> None:
    """Type into one of the provider's card iframes. The component may re-render its
    iframes while it settles, so each try finds the field's frame afresh."""
    script = (
        "(function () { var input = document.getElementById('field'); input.focus();"
        f" input.value = {json.dumps(value)};"
        " input.dispatchEvent(new Event('input', {bubbles: true}));"
        " input.blur(); return input.value; })()"
    )
    pending: dict[str, Any] = {"sent": 0.0}

    def typed() -> bool:
        if pending.get("value") == value:
            return True
        # A frame replaced under us never answers: after a while, ask its successor.
        if time.monotonic() - pending["sent"] > 2:
            frame = input_frames(view).get(field)
            if frame is None:
                return False
            pending["sent"] = time.monotonic()
            frame.runJavaScript(script, 0, lambda result: pending.update(value=result))
        return False

    qtbot.waitUntil(typed, timeout=30_000)


def customer_types_card(qtbot: QtBot, view: CheckoutWebView, card: str) -> None:
    """Typing into the provider's iframes, as a person would (tests only script pages)."""
    values = {"cardNumber": card, "expirationMonth": "12", "expirationYear": "30", "CVV": "123"}
    for field, value in values.items():
        type_into(qtbot, view, field, value)
    run_js(
        qtbot,
        view.page(),
        "document.querySelector('justifi-checkout').fillBillingForm({"
        " name: 'Pat Shopper', address_line1: '1 Main St', address_city: 'Springfield',"
        " address_state: 'IL', address_postal_code: '62701' }); true",
    )
    wait_true(
        qtbot,
        view,
        DEEP_QUERY + "(function () { var pay = deepAll('button').filter(function (b) {"
        "  return /\\bPay\\b/.test(b.textContent) && !b.disabled; });"
        "  if (!pay.length) return false; pay[0].click(); return true; })()",
    )


# The component's answers to a card it could not take in (the customer types it again).
RETYPE = {("failed", "validation-error"), ("failed", "tokenize-error")}


# The poll's lookup saw the outcome (and closed the form) before the component's event
# reached the bridge: under load the two race, and the lookup deciding is the app's rule.
LOOKED_UP_FIRST = ("looked up first", "")


def pay(qtbot: QtBot, form: CardForm, card: str) -> tuple[str, str]:
    """Type the card and press Pay; what the bridge heard: ("submitted", payment_status)
    or ("failed", error code), or LOOKED_UP_FIRST. Under load the component sometimes
    re-renders its iframes after they were filled, or its tokenizing iframe times out: then
    type again, as a person would, unless the payment went ahead anyway. A press of Pay that
    the page never acted on (no event at all, under heavy load) is pressed again too."""
    view = form.view
    heard: list[tuple[str, str]] = []
    form.bridge.submitted.connect(lambda status: heard.append(("submitted", status)))
    form.bridge.failed.connect(lambda code, _sentence: heard.append(("failed", code)))
    attempts = 3
    for attempt in range(attempts):
        heard.clear()
        customer_types_card(qtbot, view, card)
        try:
            qtbot.waitUntil(lambda: bool(heard) or not shiboken6.isValid(view), timeout=90_000)
        except TimeoutError as timeout:
            events = run_js(qtbot, view.page(), "JSON.stringify(window.__events)")
            if events in ("[]", None) and attempt < attempts - 1:
                continue  # the press went nowhere: press again
            raise AssertionError(f"no event reached the bridge; the page saw {events}") from timeout
        if not heard:
            return LOOKED_UP_FIRST
        if heard[0] not in RETYPE:
            return heard[0]
        with contextlib.suppress(TimeoutError):  # a submit may still follow the complaint
            qtbot.waitUntil(lambda: len(heard) > 1 or not shiboken6.isValid(view), timeout=3_000)
        final = [event for event in heard if event not in RETYPE]
        if final:
            return final[0]
        if not shiboken6.isValid(view):
            return LOOKED_UP_FIRST
    raise AssertionError(f"the card form kept refusing the card details: {heard}")


def test_an_approved_card_in_the_card_form_is_verified(qtbot: QtBot, make_till: Any) -> None:
    till = card_form_till(make_till)
    form = open_card_form(qtbot, till)
    # The component's own scripts cannot reach the bridge: it lives in our isolated world.
    assert run_js(qtbot, form.view.page(), "typeof qt === 'undefined'") is True
    assert pay(qtbot, form, "4242424242424242") in {("submitted", "succeeded"), LOOKED_UP_FIRST}
    assert till.wait_for_result() == "Approved"
    [payment] = till.journal.page_payments(offset=0, limit=5)
    assert payment.state is PaymentState.CAPTURED
    assert payment.amount == Money(1799, "USD")
    assert payment.method == "embedded_checkout"  # reports tell card-form sales apart
    # Nothing left the machine: the component's calls home were blocked.
    assert all(url.startswith("http") for url in form.resources.blocked)


def test_the_card_form_opens_in_a_view_made_between_sales(qtbot: QtBot, make_till: Any) -> None:
    till = card_form_till(make_till)
    till.screen.keep_spare_view()  # as the app does once QtWebEngine has started
    spare = till.screen.spare_view
    assert spare is not None
    qtbot.waitUntil(lambda: spare.ready, timeout=30_000)
    [primed] = till.screen.findChildren(CheckoutWebView)
    form = open_card_form(qtbot, till)
    assert form.view is primed
    assert run_js(qtbot, form.view.page(), "typeof qt === 'undefined'") is True
    assert pay(qtbot, form, "4242424242424242") in {("submitted", "succeeded"), LOOKED_UP_FIRST}
    assert till.wait_for_result() == "Approved"


def test_a_declined_card_submits_failed_and_the_form_takes_another(
    qtbot: QtBot, make_till: Any
) -> None:
    till = card_form_till(make_till)
    form = open_card_form(qtbot, till)
    # A submit-event, yet not a payment: the sale goes on, the same checkout takes another.
    assert pay(qtbot, form, "4000000000000002") in {("submitted", "failed"), LOOKED_UP_FIRST}
    screen = till.screen
    qtbot.waitUntil(lambda: screen.status_label.text().startswith("Card declined"), timeout=90_000)
    [payment] = till.journal.page_payments(offset=0, limit=5)
    assert payment.state is PaymentState.PENDING
    assert payment.decline_code


def test_without_the_component_files_the_screen_says_how_to_get_them(
    qtbot: QtBot, make_till: Any, tmp_path: Path
) -> None:
    till: ScreenTill = make_till("justifi")
    till.screen.set_card_form(
        assets_dir=tmp_path / "empty-cache", host=sandbox_component_host(till.sandbox.base_url)
    )
    till.screen.start(Sale(Money(1799, "USD"), "Two coffees"), PaymentMethod.EMBEDDED_CHECKOUT)
    assert till.wait_for_result() == "Card form not installed"
    assert till.screen.result.detail.text() == MISSING_HINT
    assert till.journal.page_payments(offset=0, limit=5) == []


def test_a_refused_completion_says_so_and_the_sale_stays_open(qtbot: QtBot, make_till: Any) -> None:
    till = card_form_till(make_till)
    form = open_card_form(qtbot, till)
    fault = {"kind": "status", "status": 500, "path": "/justifi/v1/checkouts/*/complete"}
    add_fault(till.sandbox, **fault, times=1)
    # The component's error-event has no message; the cashier still gets a sentence.
    assert pay(qtbot, form, "4242424242424242") == ("failed", "complete-checkout-error")
    sentence = error_sentence("complete-checkout-error")
    qtbot.waitUntil(lambda: till.screen.status_label.text() == sentence)
    assert till.screen.stack.currentWidget() is till.screen.waiting
    [payment] = till.journal.page_payments(offset=0, limit=5)
    assert payment.state is PaymentState.PENDING  # the lookup found nothing paid


def test_an_expired_card_form_checkout_ends_expired(qtbot: QtBot, make_till: Any) -> None:
    till = card_form_till(make_till)
    open_card_form(qtbot, till)
    lifetime = till.harness.checkout_lifetime_s
    assert lifetime is not None
    control(till.sandbox, "clock/advance", {"seconds": lifetime + 60})
    assert till.wait_for_result() == "Checkout expired"
    [payment] = till.journal.page_payments(offset=0, limit=5)
    assert payment.state is PaymentState.EXPIRED


@pytest.mark.parametrize(
    ("slot", "payload"),
    [
        ("submit", "not json"),
        ("submit", "[]"),
        ("submit", '{"checkout": {"payment_status": "paid-trust-me"}}'),
        ("submit", '{"checkout": {"payment_status": 1}}'),
        ("submit", '{"checkout": "succeeded"}'),
        ("submit", '{"checkout": {"payment_status": "succeeded", "x": "' + "a" * 5000 + '"}}'),
        ("error", '{"errorCode": "<script>"}'),
        ("error", '{"errorCode": ""}'),
        ("error", '{"message": "no code"}'),
        ("checkout_changed", "null"),
        ("checkout_changed", '"text"'),
    ],
)
def test_the_bridge_refuses_anything_but_the_documented_payloads(
    qtbot: QtBot, slot: str, payload: str
) -> None:
    bridge = CheckoutBridge()
    with (
        qtbot.waitSignal(bridge.refused) as refused,
        qtbot.assertNotEmitted(bridge.submitted),
        qtbot.assertNotEmitted(bridge.failed),
        qtbot.assertNotEmitted(bridge.changed),
    ):
        getattr(bridge, slot)(payload)
    assert refused.args == [slot]


def test_the_bridge_relays_the_documented_payloads(qtbot: QtBot) -> None:
    bridge = CheckoutBridge()
    with qtbot.waitSignal(bridge.submitted) as submitted:
        bridge.submit('{"checkout": {"payment_status": "failed"}}')
    assert submitted.args == ["failed"]
    with qtbot.waitSignal(bridge.failed) as failed:
        bridge.error('{"errorCode": "checkout-expired"}')
    assert failed.args == ["checkout-expired", "This checkout expired. Start the sale again."]
    with qtbot.waitSignal(bridge.failed) as failed:
        bridge.error('{"errorCode": "APPLE_PAY_x", "message": "m"}')
    assert failed.args == ["APPLE_PAY_x", UNKNOWN_ERROR]
    with qtbot.waitSignal(bridge.changed):
        bridge.checkout_changed("{}")


def test_the_channel_exposes_only_the_bridge_and_only_to_our_world(
    qtbot: QtBot, make_till: Any
) -> None:
    till = card_form_till(make_till)
    form = open_card_form(qtbot, till)
    assert dict(form.channel.registeredObjects()) == {BRIDGE_NAME: form.bridge}
    # In our isolated world the bridge is there, with its three slots; the page never sees it.
    results: list[Any] = []
    form.view.page().runJavaScript(
        "typeof qt !== 'undefined' && typeof qt.webChannelTransport", APPLICATION_WORLD,
        results.append,
    )  # fmt: skip
    qtbot.waitUntil(lambda: bool(results))
    assert results == ["object"]
    assert run_js(qtbot, form.view.page(), "typeof qt === 'undefined'") is True


def test_when_the_card_form_token_cannot_be_made_the_checkout_is_closed(
    qtbot: QtBot, make_till: Any
) -> None:
    till = card_form_till(make_till)
    # Every try fails (the client's retries included), until the faults are cleared.
    add_fault(
        till.sandbox,
        kind="status",
        status=503,
        path="/justifi/v1/web_component_tokens",
        times=None,
    )
    till.screen.start(Sale(Money(1799, "USD"), "Two coffees"), PaymentMethod.EMBEDDED_CHECKOUT)
    assert till.wait_for_result() == "Payment not started"
    assert till.screen.web_view is None
    [payment] = till.journal.page_payments(offset=0, limit=5)
    # Looked up first (nothing paid), then closed at our end: no open checkout is left behind.
    assert payment.state is PaymentState.FAILED
    assert payment.reference in till.screen.result.reference.text()
