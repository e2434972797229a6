"""One checkout web view made ahead of time, so pressing Charge does not wait for it.

Creating a view with its private profile and starting its renderer holds the GUI thread
for 10–30 ms; on a busy till that pushed the first frames of a checkout past 50 ms. The
spare is made while the cashier is between sales, primed on ``about:blank`` under a policy
that allows nothing else, and adopted by the next hosted checkout, which sets its real
policy. Each view still serves one checkout: its profile is made with it and dies with it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer

from pos_app.gui.webview.policy import NavigationPolicy
from pos_app.gui.webview.view import CheckoutWebView

if TYPE_CHECKING:
    from PySide6.QtWidgets import QWidget

log = logging.getLogger(__name__)

MAKE_AFTER_MS = 300  # after the sale screen is back: its first paint goes first
NOTHING_ALLOWED = NavigationPolicy(frozenset())


class SpareCheckoutView(QObject):
    """Holds at most one primed, unused ``CheckoutWebView`` (a child of ``host``)."""

    def __init__(self, host: QWidget, *, make_after_ms: int = MAKE_AFTER_MS) -> None:
        super().__init__(host)
        self._host = host
        self._make_after_ms = make_after_ms
        self._view: CheckoutWebView | None = None
        self._primed = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._make)

    @property
    def ready(self) -> bool:
        """A primed view is waiting for the next checkout."""
        return self._view is not None and self._primed

    def replenish(self) -> None:
        """Make the next spare soon, unless one is waiting or already on its way."""
        if self._view is None and not self._timer.isActive():
            self._timer.start(self._make_after_ms)

    def take(self, policy: NavigationPolicy) -> CheckoutWebView:
        """The spare, adopted by a checkout under ``policy``; a new view if none is ready."""
        self._timer.stop()  # never build the next one while this checkout's page loads
        view, primed = self._view, self._primed
        self._view, self._primed = None, False
        if view is not None and not primed:
            # Its empty document may still land after the real policy is set: start clean.
            view.dispose()
            view = None
        if view is None:
            return CheckoutWebView(policy, self._host)
        view.adopt(policy)
        return view

    def dispose(self) -> None:
        """Drop the unused spare (the app is closing)."""
        self._timer.stop()
        if self._view is not None:
            self._view.dispose()
            self._view, self._primed = None, False

    def _make(self) -> None:
        view = CheckoutWebView(NOTHING_ALLOWED, self._host)
        self._view, self._primed = view, False
        view.loadFinished.connect(self._on_primed)
        view.prime()

    def _on_primed(self, _ok: bool) -> None:
        view = self._view
        if view is None or self.sender() is not view or self._primed:
            return  # a view given up on before it finished priming
        view.loadFinished.disconnect(self._on_primed)
        self._primed = True
        log.debug("Spare checkout view ready")
