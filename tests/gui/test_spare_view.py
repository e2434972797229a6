"""A checkout web view made between sales: primed on an empty page, used by one checkout only,
and as locked down once adopted as a view made for its checkout."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
import shiboken6
from PySide6.QtCore import QUrl
from PySide6.QtWebEngineCore import QWebEnginePage, QWebEngineProfile
from PySide6.QtWidgets import QWidget

from pos_app.gui.webview.policy import NavigationPolicy
from pos_app.gui.webview.spare import NOTHING_ALLOWED, SpareCheckoutView
from pos_app.gui.webview.view import CheckoutPage, CheckoutWebView, new_private_profile
from tests.e2e.conftest import run_js

if TYPE_CHECKING:
    from pytestqt.qtbot import QtBot

LINK = QWebEnginePage.NavigationType.NavigationTypeLinkClicked
TYPED = QWebEnginePage.NavigationType.NavigationTypeTyped


@pytest.fixture
def host(qtbot: QtBot) -> QWidget:
    widget = QWidget()
    qtbot.addWidget(widget)
    widget.resize(1000, 700)
    widget.show()
    return widget


def primed_spare(qtbot: QtBot, host: QWidget) -> SpareCheckoutView:
    spare = SpareCheckoutView(host, make_after_ms=0)
    spare.replenish()
    qtbot.waitUntil(lambda: spare.ready, timeout=30_000)
    return spare


def load(qtbot: QtBot, view: CheckoutWebView, url: str) -> None:
    with qtbot.waitSignal(view.loadFinished, timeout=30_000) as loaded:
        view.load(url)
    assert loaded.args == [True]


def test_a_spare_is_made_hidden_in_its_own_private_profile_without_a_warning(
    qtbot: QtBot, host: QWidget, qtlog: Any
) -> None:
    spare = primed_spare(qtbot, host)
    [view] = host.findChildren(CheckoutWebView)
    assert not view.isVisible()  # nothing shows until a checkout adds it to its screen
    assert view.profile_.isOffTheRecord()
    assert view.profile_.storageName() == ""
    assert view.url().toString() == "about:blank"
    assert not [m for m in qtlog.records if "sent back" in m.message or "Blocked" in m.message]
    spare.dispose()


def test_the_adopted_spare_shows_the_provider_page_and_blocks_everything_else(
    qtbot: QtBot, host: QWidget, provider_page: str
) -> None:
    spare = primed_spare(qtbot, host)
    view = spare.take(NavigationPolicy.for_urls(provider_page))
    view.setParent(host)
    view.resize(800, 600)
    view.show()
    load(qtbot, view, provider_page)
    assert view.title() == "Pay $25.00"
    assert not view.history().canGoBack()  # the empty priming page is not in its history
    with qtbot.waitSignal(view.checkout_page.blocked) as blocked:
        run_js(qtbot, view.page(), "location.href = 'https://evil.example/phish'; true")
    assert blocked.args == ["https://evil.example/phish"]
    # A page that blanks itself is sent back: priming ended when the view was adopted.
    with qtbot.waitSignal(view.checkout_page.blocked) as blanked:
        run_js(qtbot, view.page(), "location.href = 'about:blank'; true")
    assert blanked.args == ["about:blank"]
    qtbot.waitUntil(lambda: view.url().toString() == provider_page, timeout=10_000)
    view.dispose()


def test_every_checkout_gets_a_new_view_and_profile(
    qtbot: QtBot, host: QWidget, provider_page: str
) -> None:
    policy = NavigationPolicy.for_urls(provider_page)
    spare = primed_spare(qtbot, host)
    first = spare.take(policy)
    first_profile = first.profile_
    assert not spare.ready  # used once: the next sale's view is made afterwards
    spare.replenish()
    qtbot.waitUntil(lambda: spare.ready, timeout=30_000)
    second = spare.take(policy)
    assert second is not first
    assert second.profile_ is not first_profile
    first.dispose()
    qtbot.waitUntil(lambda: not shiboken6.isValid(first_profile))
    load(qtbot, second, provider_page)
    second.dispose()


def test_a_spare_still_priming_is_not_handed_out(
    qtbot: QtBot, host: QWidget, provider_page: str
) -> None:
    spare = SpareCheckoutView(host, make_after_ms=0)
    spare.replenish()
    qtbot.waitUntil(lambda: bool(host.findChildren(CheckoutWebView)))
    [priming] = host.findChildren(CheckoutWebView)
    assert not spare.ready
    view = spare.take(NavigationPolicy.for_urls(provider_page))
    assert view is not priming  # its empty page could land after the real policy is set
    qtbot.waitUntil(lambda: not shiboken6.isValid(priming))
    load(qtbot, view, provider_page)
    view.dispose()


def test_closing_with_an_unused_spare_deletes_its_page_before_its_profile(
    qtbot: QtBot, host: QWidget, qtlog: Any
) -> None:
    spare = primed_spare(qtbot, host)
    [view] = host.findChildren(CheckoutWebView)
    profile = view.profile_
    spare.dispose()
    qtbot.waitUntil(lambda: not shiboken6.isValid(profile))
    assert host.findChildren(QWebEngineProfile) == []
    assert not [m for m in qtlog.records if "not deleted" in m.message]


def test_priming_allows_the_empty_page_and_nothing_else(qtbot: QtBot, host: QWidget) -> None:
    profile = new_private_profile(host)
    page = CheckoutPage(profile, NOTHING_ALLOWED, profile)
    page.priming = True
    assert page.acceptNavigationRequest(QUrl("about:blank"), TYPED, True)
    for url in ("https://evil.example/", "http://127.0.0.1:9/", "about:srcdoc"):
        assert not page.acceptNavigationRequest(QUrl(url), LINK, True)
    page.priming = False  # adopted: the checkout's policy decides, and it has no about:blank
    assert not page.acceptNavigationRequest(QUrl("about:blank"), TYPED, True)
    page.deleteLater()
    page.destroyed.connect(profile.deleteLater)
