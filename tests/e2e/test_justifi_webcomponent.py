"""The real ``@justifi/webcomponents`` 6.14.3 ``<justifi-checkout>`` against the sandbox.

The component runs in QtWebEngine exactly as published on npm, pointed at the sandbox with
``<justifi-config-provider>``; the card inputs are the sandbox's iframe pages, filled the way a
person types into them (each iframe scripted through its own ``QWebEngineFrame``).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from PySide6.QtCore import QObject, QUrl
from PySide6.QtWebEngineCore import (
    QWebEngineFrame,
    QWebEnginePage,
    QWebEngineProfile,
    QWebEngineUrlRequestInfo,
    QWebEngineUrlRequestInterceptor,
)
from PySide6.QtWebEngineWidgets import QWebEngineView

from pos_sandbox.server import (
    SANDBOX_CLIENT_ID,
    SANDBOX_CLIENT_SECRET,
    SANDBOX_SUB_ACCOUNT,
    SandboxServer,
)

from .webcomponent_assets import CACHE_DIR, AssetsUnavailable, WebComponentAssets, fetch_assets

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from pytestqt.qtbot import QtBot

CARD_FIELDS = ("cardNumber", "expirationMonth", "expirationYear", "CVV")

# Finds elements through open shadow roots (the component renders in shadow DOM).
DEEP_QUERY = """
function deepAll(selector, root) {
  root = root || document;
  var found = Array.from(root.querySelectorAll(selector));
  root.querySelectorAll('*').forEach(function (el) {
    if (el.shadowRoot) found = found.concat(deepAll(selector, el.shadowRoot));
  });
  return found;
}
"""


@pytest.fixture(scope="session")
def webcomponent_assets() -> WebComponentAssets:
    try:
        return fetch_assets()
    except AssetsUnavailable as exc:
        pytest.fail(f"cannot get the JustiFi web component from npm: {exc}", pytrace=False)


@pytest.fixture
def sandbox_with_assets(
    tmp_path: Path, webcomponent_assets: WebComponentAssets
) -> Iterator[SandboxServer]:
    with SandboxServer(tmp_path / "sandbox-state", assets_root=CACHE_DIR) as server:
        server.serve_component_assets(
            webcomponent_assets.webcomponents_dir, webcomponent_assets.iframe_resizer_file
        )
        yield server


@pytest.fixture
def api(sandbox_with_assets: SandboxServer) -> Iterator[tuple[httpx.Client, dict[str, str]]]:
    with httpx.Client(
        base_url=sandbox_with_assets.base_url,
        headers=sandbox_with_assets.control_headers,
        timeout=10,
    ) as client:
        token = client.post(
            "/justifi/oauth/token",
            json={"client_id": SANDBOX_CLIENT_ID, "client_secret": SANDBOX_CLIENT_SECRET},
        ).json()["access_token"]
        yield client, {"Authorization": f"Bearer {token}", "Sub-Account": SANDBOX_SUB_ACCOUNT}


def _checkout_and_component_token(client: httpx.Client, auth: dict[str, str]) -> tuple[str, str]:
    checkout = client.post(
        "/justifi/v1/checkouts",
        headers=auth,
        json={"amount": 1799, "description": "Two coffees", "origin_url": str(client.base_url)},
    )
    assert checkout.status_code == 201, checkout.text
    checkout_id = checkout.json()["id"]
    wct = client.post(
        "/justifi/v1/web_component_tokens",
        headers=auth,
        json={
            "resources": [f"write:checkout:{checkout_id}", f"write:tokenize:{SANDBOX_SUB_ACCOUNT}"]
        },
    )
    assert wct.status_code == 200, wct.text
    return checkout_id, str(wct.json()["access_token"])


class LoopbackOnly(QWebEngineUrlRequestInterceptor):
    """Keeps the test hermetic: the component's npm version check and the like are blocked."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.blocked: list[str] = []

    def interceptRequest(self, info: QWebEngineUrlRequestInfo) -> None:
        url = info.requestUrl()
        if url.scheme() in ("http", "https") and url.host() != "127.0.0.1":
            self.blocked.append(url.toString())
            info.block(True)


class ConsolePage(QWebEnginePage):
    """Records the page's console, to explain a failure."""

    def __init__(self, profile: QWebEngineProfile, parent: QObject) -> None:
        super().__init__(profile, parent)
        self.console: list[str] = []

    def javaScriptConsoleMessage(
        self,
        level: QWebEnginePage.JavaScriptConsoleMessageLevel,
        message: str,
        line: int,
        source: str,
    ) -> None:
        self.console.append(f"{level.name}: {message} ({source}:{line})")


class ComponentPage:
    """A QWebEngineView with a fresh off-the-record profile, showing the component host page."""

    def __init__(self, qtbot: QtBot) -> None:
        self.qtbot = qtbot
        self.profile = QWebEngineProfile()  # no storage name: off the record
        self.interceptor = LoopbackOnly(self.profile)
        self.profile.setUrlRequestInterceptor(self.interceptor)
        self.view = QWebEngineView()
        self.page = ConsolePage(self.profile, self.view)
        self.view.setPage(self.page)
        self.view.resize(900, 1200)
        self.view.show()
        self.loaded: list[bool] = []
        self.page.loadFinished.connect(self.loaded.append)

    def close(self) -> None:
        # The page (a child of the view) must go before its profile.
        with self.qtbot.waitSignal(self.view.destroyed, timeout=10_000):
            self.view.close()
            self.view.deleteLater()

    def load(self, url: str) -> None:
        self.page.load(QUrl(url))
        self.qtbot.waitUntil(lambda: bool(self.loaded), timeout=20_000)
        assert self.loaded[0], "the component host page did not load"

    def js(self, script: str, timeout: int = 10_000) -> Any:
        results: list[Any] = []
        self.page.runJavaScript(script, 0, results.append)
        self.qtbot.waitUntil(lambda: bool(results), timeout=timeout)
        return results[0]

    def wait_js(self, script: str, timeout: int = 30_000) -> None:
        def check() -> None:
            assert self.js(script) is True, (script, self.page.console[-10:])

        self.qtbot.waitUntil(check, timeout=timeout)

    def input_frames(self) -> dict[str, QWebEngineFrame]:
        found: dict[str, QWebEngineFrame] = {}

        def walk(frame: QWebEngineFrame) -> None:
            for child in frame.children():
                path = child.url().path()
                if "/justifi/iframe/v2/" in path:
                    found[path.rsplit("/", 1)[-1]] = child
                walk(child)

        walk(self.page.mainFrame())
        return found

    def frame_js(self, frame: QWebEngineFrame, script: str) -> Any:
        results: list[Any] = []
        frame.runJavaScript(script, 0, results.append)
        self.qtbot.waitUntil(lambda: bool(results), timeout=10_000)
        return results[0]

    def events(self) -> list[dict[str, Any]]:
        return list(json.loads(self.js("JSON.stringify(window.__events || [])")))


@pytest.fixture
def component_page(qtbot: QtBot) -> Iterator[ComponentPage]:
    page = ComponentPage(qtbot)
    yield page
    page.close()


def _pay_with(
    component_page: ComponentPage, base_url: str, checkout_id: str, wct: str, card: str
) -> list[dict[str, Any]]:
    component_page.load(f"{base_url}/justifi/component-host/{checkout_id}?token={wct}")
    # The card iframes appear; the component shows them (instead of skeletons) only once
    # iframe-resizer has sized each one to its content, which sets the iframe's style height.
    component_page.qtbot.waitUntil(
        lambda: set(CARD_FIELDS) <= set(component_page.input_frames()), timeout=30_000
    )
    component_page.wait_js(
        DEEP_QUERY + "(function () { var frames = deepAll('iframe').filter(function (f) {"
        "  return f.src.indexOf('/justifi/iframe/v2/') >= 0; });"
        "  return frames.length >= 4 && frames.every(function (f) {"
        "    var height = f.getBoundingClientRect().height;"
        "    return f.style.height !== '' && height > 10 && height < 100; }); })()"
    )
    frames = component_page.input_frames()
    values = {"cardNumber": card, "expirationMonth": "12", "expirationYear": "30", "CVV": "123"}
    for field, value in values.items():
        typed = component_page.frame_js(
            frames[field],
            "(function () { var input = document.getElementById('field');"
            " input.focus();"
            f" input.value = {json.dumps(value)};"
            " input.dispatchEvent(new Event('input', {bubbles: true}));"
            " input.blur(); return input.value; })()",
        )
        assert typed == value
    component_page.js(
        "document.querySelector('justifi-checkout').fillBillingForm({"
        " name: 'Pat Shopper', address_line1: '1 Main St', address_city: 'Springfield',"
        " address_state: 'IL', address_postal_code: '62701' }); true"
    )
    press_pay(component_page)

    def submitted() -> None:
        kinds = [event["type"] for event in component_page.events()]
        assert "submit-event" in kinds or "error-event" in kinds, (
            kinds,
            component_page.page.console[-10:],
        )

    component_page.qtbot.waitUntil(submitted, timeout=30_000)
    return component_page.events()


def press_pay(component_page: ComponentPage) -> None:
    """Press the component's own Pay button."""
    component_page.wait_js(
        DEEP_QUERY + "(function () { var pay = deepAll('button').filter(function (b) {"
        "  return /\\bPay\\b/.test(b.textContent) && !b.disabled; });"
        "  if (!pay.length) return false; pay[0].click(); return true; })()"
    )


def test_approved_card_completes_the_checkout_through_the_real_component(
    sandbox_with_assets: SandboxServer,
    api: tuple[httpx.Client, dict[str, str]],
    component_page: ComponentPage,
) -> None:
    client, auth = api
    checkout_id, wct = _checkout_and_component_token(client, auth)
    events = _pay_with(
        component_page, sandbox_with_assets.base_url, checkout_id, wct, "4242424242424242"
    )
    submits = [e for e in events if e["type"] == "submit-event"]
    assert submits, events
    detail = submits[0]["detail"]
    assert detail["checkout"]["payment_status"] == "succeeded"
    assert detail["checkout"]["checkout_id"] == checkout_id
    checkout = client.get(f"/justifi/v1/checkouts/{checkout_id}", headers=auth).json()
    assert checkout["data"]["status"] == "completed"
    assert checkout["data"]["successful_payment_id"] == detail["checkout"]["payment_id"]


def test_declined_card_reports_a_failed_payment_through_the_real_component(
    sandbox_with_assets: SandboxServer,
    api: tuple[httpx.Client, dict[str, str]],
    component_page: ComponentPage,
) -> None:
    client, auth = api
    checkout_id, wct = _checkout_and_component_token(client, auth)
    events = _pay_with(
        component_page, sandbox_with_assets.base_url, checkout_id, wct, "4000000000000002"
    )
    submits = [e for e in events if e["type"] == "submit-event"]
    assert submits, events
    assert submits[0]["detail"]["checkout"]["payment_status"] == "failed"
    checkout = client.get(f"/justifi/v1/checkouts/{checkout_id}", headers=auth).json()
    assert checkout["data"]["status"] == "attempted"


def test_invalid_card_number_is_refused_by_the_iframe_before_any_payment(
    sandbox_with_assets: SandboxServer,
    api: tuple[httpx.Client, dict[str, str]],
    component_page: ComponentPage,
) -> None:
    client, auth = api
    checkout_id, wct = _checkout_and_component_token(client, auth)
    component_page.load(
        f"{sandbox_with_assets.base_url}/justifi/component-host/{checkout_id}?token={wct}"
    )
    component_page.qtbot.waitUntil(
        lambda: set(CARD_FIELDS) <= set(component_page.input_frames()), timeout=30_000
    )
    component_page.wait_js(
        DEEP_QUERY + "deepAll('iframe').filter(function (f) { return f.style.height; }).length >= 4"
    )
    frames = component_page.input_frames()
    for field, value in (("cardNumber", "4242424242424241"), ("expirationMonth", "12"),
                         ("expirationYear", "30"), ("CVV", "123")):  # fmt: skip
        component_page.frame_js(
            frames[field], f"document.getElementById('field').value = {json.dumps(value)}; true"
        )
    component_page.js(
        "document.querySelector('justifi-checkout').fillBillingForm({"
        " name: 'Pat Shopper', address_line1: '1 Main St', address_city: 'Springfield',"
        " address_state: 'IL', address_postal_code: '62701' }); true"
    )
    press_pay(component_page)
    # The iframe's validate reply (isValid false + message) is shown under the card number.
    component_page.wait_js(
        DEEP_QUERY + "deepAll('*').some(function (el) {"
        "  return el.children.length === 0 && el.textContent === 'Enter a valid card number'; })"
    )
    assert [e for e in component_page.events() if e["type"] == "submit-event"] == []
    checkout = client.get(f"/justifi/v1/checkouts/{checkout_id}", headers=auth).json()["data"]
    assert checkout["status"] == "created"
    assert checkout["completions"] == []
