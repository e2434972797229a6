"""Start QtWebEngine right after start-up, so the cashier's first Charge does not pay for it.

Chromium's first start blocks the GUI thread for most of a second (creating the first
profile starts the browser process; the first page load starts a renderer). Doing it once
the window is up, with a throwaway page that loads ``about:blank``, moves that stall off the
cashier's critical path. The throwaway profile is off-the-record, gets the checkout's
hardened settings, is never shown in a view and is deleted afterwards: every checkout still
makes its own private profile (``view.py``), and nothing from here reaches it.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, QUrl, Signal

if TYPE_CHECKING:
    from PySide6.QtWebEngineCore import QWebEnginePage, QWebEngineProfile

log = logging.getLogger(__name__)

BLANK = QUrl("about:blank")
START_DELAY_MS = 200  # lets the first screen paint before Chromium holds the GUI thread


class WebEngineWarmUp(QObject):
    """One warm-up: ``started(profile)`` with its throwaway profile, then ``finished(ok)``
    once page and profile are deleted."""

    started = Signal(QObject)
    finished = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._page: QWebEnginePage | None = None
        self._profile: QWebEngineProfile | None = None
        self._started_at = 0.0
        self._ok = False
        self.done = False

    def start(self, delay_ms: int = START_DELAY_MS) -> None:
        """Begin ``delay_ms`` after the event loop next runs, once the first screen painted."""
        QTimer.singleShot(delay_ms, self, self._begin)

    def _begin(self) -> None:
        self._started_at = time.perf_counter()
        try:
            from PySide6.QtWebEngineCore import QWebEnginePage

            # view.py is what the first checkout imports: importing it here pays that too.
            from pos_app.gui.webview.view import new_private_profile
        except ImportError:
            log.exception("QtWebEngine is not available; checkout pages will not open")
            self._finish(False)
            return
        self._profile = new_private_profile(self)
        self._page = QWebEnginePage(self._profile, self)
        # Children die in the order they were added: should the app close mid-warm-up,
        # the page must go before its profile.
        self._profile.setParent(None)
        self._profile.setParent(self)
        self._page.loadFinished.connect(self._loaded)
        self._page.load(BLANK)
        self.started.emit(self._profile)

    def _loaded(self, ok: bool) -> None:
        page, profile = self._page, self._profile
        if page is None or profile is None:
            return
        self._page = self._profile = None
        self._ok = ok
        page.loadFinished.disconnect(self._loaded)
        # Pages must die before their profile, or QtWebEngine warns and may crash.
        profile.destroyed.connect(lambda: self._finish(self._ok))
        page.destroyed.connect(profile.deleteLater)
        page.deleteLater()

    def _finish(self, ok: bool) -> None:
        self.done = True
        log.info(
            "QtWebEngine warm-up %s in %.0f ms",
            "done" if ok else "failed",
            (time.perf_counter() - self._started_at) * 1000,
        )
        self.finished.emit(ok)


def warm_up_web_engine(parent: QObject, *, delay_ms: int = START_DELAY_MS) -> WebEngineWarmUp:
    """Start QtWebEngine once, soon after start-up (call once, after the window is shown)."""
    warm_up = WebEngineWarmUp(parent)
    warm_up.start(delay_ms)
    return warm_up
