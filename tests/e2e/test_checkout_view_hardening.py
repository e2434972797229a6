"""The checkout web view can only do what a payment page needs."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from pos_app.domain.money import Money
from pos_app.domain.vocabulary import PaymentMethod
from pos_app.gui.webview.policy import SUCCESS_RETURN_URL
from pos_app.gui.webview.view import CheckoutWebView
from pos_app.services.sale import Sale
from tests.e2e import test_checkout_methods as methods
from tests.e2e.conftest import Till, run_js, wait_for_js
from tests.e2e.test_hosted_checkout import FORM_READY, ring_up

if TYPE_CHECKING:
    from pytestqt.qtbot import QtBot

    from pos_app.bootstrap.app import PosApplication

ScreenTill = methods.ScreenTill
journal, make_till, sandbox = (
    methods.journal,
    methods.make_till,
    methods.sandbox,
)  # fixtures


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


# -- Escape attempts, one by one, each against a fresh checkout page: in a view made for it,
# and in a spare view made before the sale and adopted by it (what the app does once warm). --


class Page:
    """A checkout screen showing the JustiFi hosted page, with what the view refused."""

    def __init__(self, qtbot: QtBot, till: ScreenTill, *, spare: bool) -> None:
        self.qtbot = qtbot
        self.till = till
        primed: list[CheckoutWebView] = []
        if spare:  # as the app runs once QtWebEngine has started: a view made between sales
            till.screen.keep_spare_view()
            spare_view = till.screen.spare_view
            assert spare_view is not None
            qtbot.waitUntil(lambda: spare_view.ready, timeout=30_000)
            # The last sale's view is deleted once the event loop gets to it.
            qtbot.waitUntil(lambda: len(till.screen.findChildren(CheckoutWebView)) == 1)
            primed = till.screen.findChildren(CheckoutWebView)
        till.screen.start(Sale(Money(1799, "USD"), "Donut"), PaymentMethod.HOSTED_CHECKOUT)
        qtbot.waitUntil(lambda: till.screen.web_view is not None, timeout=20_000)
        view = till.screen.web_view
        assert view is not None
        assert primed == ([view] if spare else [])
        self.view = view
        wait_for_js(qtbot, lambda: view.page(), FORM_READY)
        self.url = view.url().toString()
        self.blocked: list[str] = []
        view.checkout_page.blocked.connect(self.blocked.append)
        # Marks this document: if it survives, the page never went anywhere.
        assert self.js("window.__still_here = 'yes'; true") is True

    def js(self, script: str) -> Any:
        return run_js(self.qtbot, self.view.page(), script)

    def assert_stayed(self) -> None:
        """Still the provider's page, the same document, the card form on it, no result."""
        assert self.view.url().toString() == self.url
        assert self.js("window.__still_here === 'yes' && " + FORM_READY) is True
        assert self.till.screen.stack.currentWidget() is self.till.screen.waiting

    def wait_blocked(self, prefix: str) -> None:
        self.qtbot.waitUntil(lambda: any(u.startswith(prefix) for u in self.blocked))


@pytest.fixture(params=["fresh view", "spare view"])
def page(qtbot: QtBot, make_till: Any, request: pytest.FixtureRequest) -> Page:
    return Page(qtbot, make_till("justifi"), spare=request.param == "spare view")


def _other_origins(base: str) -> list[str]:
    port = int(base.rsplit(":", 1)[1])
    return [
        "https://evil.example/phish",
        "http://evil.example/phish",
        f"http://127.0.0.1:{port + 1}/",  # same host, another port
        f"http://localhost:{port}/",  # same server, another host name
        f"https://127.0.0.1:{port}/",  # same host and port, another scheme
    ]


@pytest.mark.parametrize("index", range(5))
def test_main_frame_cannot_go_to_another_origin(page: Page, index: int) -> None:
    target = _other_origins(page.till.sandbox.base_url)[index]
    page.js(f"location.href = {json.dumps(target)}; true")
    page.wait_blocked(target)
    page.assert_stayed()


@pytest.mark.parametrize(
    "script",
    [
        "location.replace('https://evil.example/replace')",
        "location.assign('https://evil.example/assign')",
        "(() => { const a = document.createElement('a'); a.href = 'https://evil.example/link';"
        " document.body.appendChild(a); a.click(); })()",
        "(() => { const f = document.createElement('form'); f.method = 'post';"
        " f.action = 'https://evil.example/form'; document.body.appendChild(f); f.submit(); })()",
        "(() => { const m = document.createElement('meta'); m.httpEquiv = 'refresh';"
        " m.content = '0; url=https://evil.example/refresh'; document.head.appendChild(m); })()",
        "(() => { const f = document.createElement('iframe');"
        " f.srcdoc = \"<script>top.location = 'https://evil.example/from-frame'</script>\";"
        " document.body.appendChild(f); })()",
        "location.href = URL.createObjectURL(new Blob(['<h1>fake</h1>'], {type: 'text/html'}))",
    ],
    ids=["replace", "assign", "link-click", "form-post", "meta-refresh", "frame-top", "blob"],
)
def test_scripted_ways_off_the_page_are_blocked(page: Page, script: str) -> None:
    page.js(f"{script}; true")
    page.qtbot.waitUntil(lambda: bool(page.blocked))
    assert all(not u.startswith(page.url) for u in page.blocked)
    page.assert_stayed()


@pytest.mark.parametrize(
    "target",
    [
        "file:///etc/passwd",
        "data:text/html,<h1>Pay here</h1>",
        "chrome://settings",
        "view-source:http://127.0.0.1/",
        "pos-app://refund-all",
        "ftp://127.0.0.1/",
        "mailto:thief@evil.example",
    ],
)
def test_chromium_refuses_other_schemes_before_our_policy(page: Page, target: str) -> None:
    page.js(f"location.href = {json.dumps(target)}; true")
    # Navigations are handled in order: once a later one reached our policy, this one is done.
    page.js("location.href = 'https://evil.example/after'; true")
    page.wait_blocked("https://evil.example/after")
    page.assert_stayed()


def test_a_page_that_blanks_itself_is_sent_back(page: Page) -> None:
    # Chromium commits about:blank without asking acceptNavigationRequest.
    page.js("location.href = 'about:blank'; true")
    page.wait_blocked("about:blank")
    page.qtbot.waitUntil(lambda: page.view.url().toString() == page.url, timeout=10_000)
    wait_for_js(page.qtbot, lambda: page.view.page(), FORM_READY)


def test_a_frame_cannot_trigger_our_return_url(page: Page) -> None:
    page.js(
        "const f = document.createElement('iframe');"
        f" f.src = {json.dumps(SUCCESS_RETURN_URL)}; document.body.appendChild(f); true"
    )
    page.wait_blocked(SUCCESS_RETURN_URL)
    page.assert_stayed()  # no lookup-triggered result, no navigation


@pytest.mark.parametrize(
    ("src", "prefix"),
    [
        ("'http://evil.example/frame'", "http://evil.example/frame"),
        ("URL.createObjectURL(new Blob(['<p>Pay here</p>'], {type: 'text/html'}))", "blob:"),
    ],
    ids=["plain-http", "blob"],
)
def test_frames_may_not_load_plain_http_or_local_documents(
    page: Page, src: str, prefix: str
) -> None:
    page.js(
        f"const f = document.createElement('iframe'); f.src = {src};"
        " document.body.appendChild(f); true"
    )
    page.wait_blocked(prefix)
    page.assert_stayed()


def _visible_windows() -> set[object]:
    return {w for w in QApplication.topLevelWidgets() if w.isVisible()}


def test_new_windows_are_refused(page: Page) -> None:
    windows = _visible_windows()
    assert page.js("window.open('https://evil.example/') === null") is True
    assert page.js(f"window.open({json.dumps(page.url)}) === null") is True  # even our own
    page.js(
        f"const a = document.createElement('a'); a.href = {json.dumps(page.url)};"
        " a.target = '_blank'; document.body.appendChild(a); a.click(); true"
    )
    page.js("location.href = 'https://evil.example/after'; true")
    page.wait_blocked("https://evil.example/after")
    assert _visible_windows() == windows
    page.assert_stayed()


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        (
            "navigator.geolocation.getCurrentPosition(() => done('granted'),"
            " (e) => done('denied:' + e.code))",
            "denied:1",
        ),
        ("Notification.requestPermission().then(done)", "denied"),
        (
            "navigator.requestMIDIAccess({sysex: true})"
            ".then(() => done('granted'), (e) => done(e.name))",
            "NotAllowedError",
        ),
        (
            "navigator.clipboard.readText().then(() => done('read'), (e) => done(e.name))",
            "NotAllowedError",
        ),
        (
            "document.documentElement.requestFullscreen()"
            ".then(() => done('fullscreen'), (e) => done(e.name))",
            "TypeError",
        ),
    ],
    ids=["geolocation", "notifications", "midi-sysex", "clipboard", "fullscreen"],
)
def test_permission_requests_are_denied(page: Page, script: str, expected: str) -> None:
    page.js(
        "window.__answer = 'waiting'; const done = (v) => { window.__answer = String(v); };"
        f" {script}; true"
    )
    wait_for_js(page.qtbot, lambda: page.view.page(), "window.__answer !== 'waiting'")
    assert page.js("window.__answer") == expected
    page.assert_stayed()


def test_downloads_are_refused(page: Page, caplog: pytest.LogCaptureFixture) -> None:
    page.js(
        "const a = document.createElement('a');"
        " a.href = URL.createObjectURL(new Blob(['x'], {type: 'application/octet-stream'}));"
        " a.download = 'malware.exe'; document.body.appendChild(a); a.click(); true"
    )
    page.qtbot.waitUntil(lambda: "tried to download" in caplog.text)
    page.assert_stayed()


def test_the_page_cannot_read_local_files(page: Page) -> None:
    page.js(
        "window.__answer = 'waiting';"
        " fetch('file:///etc/passwd').then(() => { window.__answer = 'read'; },"
        " (e) => { window.__answer = e.name; }); true"
    )
    wait_for_js(page.qtbot, lambda: page.view.page(), "window.__answer !== 'waiting'")
    assert page.js("window.__answer") == "TypeError"


def test_the_provider_page_gets_no_web_channel(page: Page) -> None:
    assert page.js("typeof qt === 'undefined' && typeof QWebChannel === 'undefined'") is True


@pytest.mark.parametrize("spare", [False, True], ids=["fresh view", "spare view"])
def test_each_checkout_gets_a_fresh_private_profile(
    qtbot: QtBot, make_till: Any, spare: bool
) -> None:
    till = make_till("justifi")
    first = Page(qtbot, till, spare=spare)
    first.js("document.cookie = 'card=4242; max-age=3600'; localStorage.setItem('k', 'v'); true")
    assert first.js("document.cookie.includes('card=4242')") is True
    profile = first.view.page().profile()
    assert profile.isOffTheRecord()
    till.screen.cancel()
    till.wait_for_result()
    till.screen.result.button.click()  # back to the sale screen: the next spare is made now
    second = Page(qtbot, till, spare=spare)
    assert second.view.page().profile() is not profile
    assert second.view.page().profile().isOffTheRecord()
    assert second.js("document.cookie === '' && localStorage.getItem('k') === null") is True


def test_a_file_input_never_opens_the_tills_file_dialog(
    page: Page, caplog: pytest.LogCaptureFixture
) -> None:
    """A click on ``<input type=file>`` (in any frame the page shows) would open Qt's own file
    dialog over the till: the disk browsed, the journal uploaded. The view answers with no
    files and nothing opens."""
    page.js(
        "const i = document.createElement('input'); i.type = 'file'; i.id = 'steal';"
        " i.style = 'position:fixed;left:0;top:0;width:400px;height:200px;z-index:99999';"
        " i.addEventListener('change', () => { window.__files = i.files.length; });"
        " document.body.appendChild(i); true"
    )
    windows = _visible_windows()
    target = page.view.focusProxy() or page.view
    with caplog.at_level("WARNING", logger="pos_app.gui.webview.view"):
        QTest.mouseClick(target, Qt.MouseButton.LeftButton, pos=QPoint(50, 50))
        page.qtbot.waitUntil(lambda: "choose files" in caplog.text, timeout=10_000)
    assert _visible_windows() == windows
    assert page.js("window.__files === undefined") is True
    page.assert_stayed()


@pytest.mark.parametrize(
    "url",
    ["wss://evil.example/socket", "ws://127.0.0.1:9/socket"],
    ids=["wss", "ws-loopback"],
)
def test_sockets_are_refused(page: Page, url: str) -> None:
    """A socket is a way out no navigation policy sees: the request filter refuses it."""
    page.js(
        f"window.__socket = 'open'; const s = new WebSocket({json.dumps(url)});"
        " s.onerror = () => { window.__socket = 'refused'; }; true"
    )
    page.qtbot.waitUntil(lambda: url in page.view.resources.blocked, timeout=10_000)
    wait_for_js(page.qtbot, lambda: page.view.page(), "window.__socket === 'refused'")
    page.assert_stayed()


def test_the_page_cannot_reach_other_services_on_this_machine_or_network(page: Page) -> None:
    """The sandbox's page may call its own origin, nothing else local: not the till's
    webhook receiver or another loopback port, not the store's router."""
    port = int(page.url.split("/")[2].rsplit(":", 1)[1])
    own = f"http://127.0.0.1:{port}/justifi/v1/analytics"
    for url in (f"http://127.0.0.1:{port + 1}/webhooks/justifi", "http://192.168.1.1/"):
        page.js(f"fetch({json.dumps(url)}, {{mode: 'no-cors'}}).catch(() => {{}}); true")
        page.qtbot.waitUntil(lambda url=url: url in page.view.resources.blocked, timeout=10_000)
    page.js(
        f"window.__own = 'waiting'; fetch({json.dumps(own)}, {{method: 'POST', body: '{{}}'}})"
        ".then(r => { window.__own = r.status; }); true"
    )
    wait_for_js(page.qtbot, lambda: page.view.page(), "window.__own !== 'waiting'")
    assert page.js("window.__own") == 204
    assert own not in page.view.resources.blocked
    page.assert_stayed()
