"""The checkout web view can only do what a payment page needs."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from pos_app.app import PosApplication
from tests.e2e.conftest import Till, run_js, wait_for_js
from tests.e2e.test_hosted_checkout import FORM_READY, ring_up


def open_checkout(qtbot: QtBot, till: Till) -> PosApplication:
    pos = till.start()
    ring_up(qtbot, pos, "17.99", "One chocolate donut")
    checkout = pos.window.checkout
    qtbot.waitUntil(lambda: checkout.web_view is not None, timeout=20_000)
    wait_for_js(qtbot, lambda: checkout.web_view.page() if checkout.web_view else None, FORM_READY)
    return pos


def test_the_page_cannot_leave_the_provider_open_windows_or_get_permissions(
    qtbot: QtBot, till: Till
) -> None:
    pos = open_checkout(qtbot, till)
    view = pos.window.checkout.web_view
    assert view is not None
    page = view.page()
    provider_url = view.url().toString()
    assert page.profile().isOffTheRecord()

    # file: and data: are refused by Chromium itself before our policy is asked; each
    # attempt is followed by an https one that our policy must refuse (and signal).
    for target in ("file:///etc/passwd", "data:text/html,hi", "javascript:alert(1)", None):
        if target is not None:
            run_js(qtbot, page, f"location.href = {target!r}; true")
        with qtbot.waitSignal(view.checkout_page.blocked) as blocked:
            run_js(qtbot, page, "location.href = 'https://evil.example/phish'; true")
        assert blocked.args == ["https://evil.example/phish"]
    assert view.url().toString() == provider_url
    assert run_js(qtbot, page, "document.querySelector('#card-number') !== null") is True

    # New windows are refused: window.open gives the page nothing.
    assert run_js(qtbot, page, "window.open('https://evil.example/') === null") is True

    # Permission requests are denied (geolocation stands in for all of them).
    run_js(
        qtbot,
        page,
        """
        window.__geo = 'waiting';
        navigator.geolocation.getCurrentPosition(
            () => { window.__geo = 'granted'; },
            (e) => { window.__geo = 'denied:' + e.code; });
        true""",
    )
    wait_for_js(qtbot, lambda: page, "window.__geo !== 'waiting'")
    assert run_js(qtbot, page, "window.__geo") == "denied:1"
    # Script dialogs never block the till: alert is swallowed, confirm and prompt say no.
    assert run_js(qtbot, page, "alert('x'); confirm('Pay twice?') === false") is True
    assert run_js(qtbot, page, "prompt('PIN?') === null") is True
    # Nothing the page did changed what the cashier sees.
    assert pos.window.checkout.stack.currentWidget() is pos.window.checkout.waiting
