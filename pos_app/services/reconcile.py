"""Start-up reconciliation: settle every intent the last run left without an outcome.

Nothing is re-sent. Each open payment is looked up at the provider through the same path a
live lookup takes (``PaymentService.refresh``); what cannot be settled stays visible with an
"attention" note.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from pos_app.journal.store import JournalStore, utc_now
from pos_app.providers.base import PaymentProvider
from pos_app.services.payments import OPEN_STATES, PaymentService, ReconcileReport

__all__ = ["OPEN_STATES", "ReconcileReport", "reconcile"]


async def reconcile(
    journal: JournalStore,
    providers: Mapping[str, PaymentProvider],
    *,
    clock: Callable[[], datetime] = utc_now,
) -> ReconcileReport:
    """``providers`` maps profile name to its provider."""
    return await PaymentService(journal, providers, clock=clock).reconcile()
