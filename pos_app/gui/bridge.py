"""Service events as Qt signals: one ``ServiceEvents`` per app, built with the main window.

The query port's change feed calls back on whatever thread wrote the journal; the signal
delivers on the Qt thread (queued when they differ). Screens connect to ``payment_changed``
instead of subscribing to storage, and the subscription ends when this object is closed or
destroyed (Electrum's QtEventListener pattern).
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

import shiboken6
from PySide6.QtCore import QObject, Signal

if TYPE_CHECKING:
    from collections.abc import Callable

    from pos_app.services.queries import PaymentQueries


class ServiceEvents(QObject):
    """``payment_changed(reference)``: a change to that payment was committed."""

    payment_changed = Signal(str)

    def __init__(self, queries: PaymentQueries, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.queries = queries
        me = weakref.ref(self)

        def forward(reference: str) -> None:
            events = me()
            if events is not None and shiboken6.isValid(events):
                events.payment_changed.emit(reference)

        self._unsubscribe: Callable[[], None] | None = queries.on_change(forward)
        # The closure holds no reference to self, so it may run after the C++ side is gone.
        unsubscribe = self._unsubscribe
        self.destroyed.connect(lambda *_: unsubscribe())

    def close(self) -> None:
        """Stop hearing the feed (the app is closing); safe to call more than once."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
