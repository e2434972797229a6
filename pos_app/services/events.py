"""Change events services publish after recording an outcome.

Plain callbacks, no Qt: the webhook receiver and tests subscribe directly. The GUI does not
listen here: not every journal write publishes a change, so screens hear every committed change
through the query port's feed (``PaymentQueries.on_change``), bridged to a Qt signal by
``pos_app.gui.bridge.ServiceEvents``. Subscribers run on the caller's thread and
must not raise; one that does is logged and the others still hear the change.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pos_app.domain.payment import PaymentState
    from pos_app.domain.vocabulary import Operation

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PaymentChange:
    """A payment's outcome was recorded (``operation``: charge, capture, lookup, …)."""

    reference: str
    operation: Operation
    state: PaymentState


Subscriber = Callable[[PaymentChange], None]


class ChangeHub:
    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Add ``subscriber``; returns the call that removes it again."""
        self._subscribers.append(subscriber)
        return lambda: self._subscribers.remove(subscriber)

    def publish(self, change: PaymentChange) -> None:
        for subscriber in list(self._subscribers):
            try:
                subscriber(change)
            except Exception:
                log.exception("A payment-change subscriber failed on %s", change.reference)
