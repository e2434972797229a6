"""What the app's composition root builds for the screens: the query port and its Qt bridge."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pos_app.gui.bridge import ServiceEvents
from pos_app.services.queries import PaymentQueries

if TYPE_CHECKING:
    from pos_app.journal.store import JournalStore


def bridged(journal: JournalStore) -> tuple[PaymentQueries, ServiceEvents]:
    """``PaymentQueries`` over ``journal`` and the ``ServiceEvents`` fed by its changes."""
    queries = PaymentQueries(journal)
    return queries, ServiceEvents(queries)


def events_for(journal: JournalStore) -> ServiceEvents:
    """The bridge alone (a checkout reads the payment back through ``events.queries``)."""
    return bridged(journal)[1]
