"""Warming QtWebEngine up at start-up leaves nothing behind, and checkouts still open."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import shiboken6
from PySide6.QtWebEngineCore import QWebEnginePage, QWebEngineProfile
from PySide6.QtWidgets import QApplication, QWidget

from pos_app.gui.webview.policy import NavigationPolicy
from pos_app.gui.webview.view import CheckoutWebView
from pos_app.gui.webview.warmup import warm_up_web_engine

if TYPE_CHECKING:
    from pytestqt.qtbot import QtBot


def test_warm_up_deletes_its_private_profile_and_opens_no_window(
    qtbot: QtBot, qapp: QApplication
) -> None:
    window = QWidget()
    qtbot.addWidget(window)
    windows_before = set(qapp.topLevelWidgets())
    warm = warm_up_web_engine(window)
    with qtbot.waitSignal(warm.started, timeout=30_000) as started:
        pass
    [profile] = started.args
    assert isinstance(profile, QWebEngineProfile)
    assert profile.isOffTheRecord()
    assert profile.storageName() == ""

    with qtbot.waitSignal(warm.finished, timeout=30_000) as finished:
        pass
    assert finished.args == [True]
    assert warm.done
    assert not shiboken6.isValid(profile)  # deleted, not left for a checkout to reuse
    assert window.findChildren(QWebEngineProfile) == []
    assert window.findChildren(QWebEnginePage) == []
    # No window of its own (earlier tests' windows may be deleted meanwhile: only new ones count).
    assert set(qapp.topLevelWidgets()) - windows_before == set()


def test_after_warm_up_a_checkout_view_opens_the_provider_page_in_its_own_profile(
    qtbot: QtBot, provider_page: str
) -> None:
    window = QWidget()
    qtbot.addWidget(window)
    warm = warm_up_web_engine(window)
    with qtbot.waitSignal(warm.finished, timeout=30_000):
        pass

    view = CheckoutWebView(NavigationPolicy.for_urls(provider_page), window)
    assert view.profile_.isOffTheRecord()
    view.resize(800, 600)
    view.show()
    with qtbot.waitSignal(view.loadFinished, timeout=30_000) as loaded:
        view.load(provider_page)
    assert loaded.args == [True]
    assert view.title() == "Pay $25.00"
    view.dispose()


def test_closing_the_app_mid_warm_up_deletes_the_page_before_its_profile(
    qtbot: QtBot, qtlog: Any
) -> None:
    window = QWidget()
    warm = warm_up_web_engine(window, delay_ms=0)
    with qtbot.waitSignal(warm.started, timeout=30_000) as started:
        pass
    [profile] = started.args
    window.deleteLater()
    qtbot.waitUntil(lambda: not shiboken6.isValid(profile))
    assert not [m for m in qtlog.records if "not deleted" in m.message]
