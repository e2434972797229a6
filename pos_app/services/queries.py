"""The query port: what the GUI reads about payments, and the feed that tells it they changed.

Screens never hold the journal. They read through ``PaymentQueries`` and hear changes through
``on_change`` — every committed change to a payment, whoever wrote it (a sale, an action, a
lookup, reconciliation, a webhook), exactly as ``JournalStore.add_listener`` reports them. Not
every journal write publishes on ``ChangeHub``, so the feed is the journal's own. The GUI
bridges it to a Qt signal (``pos_app.gui.bridge``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from pos_app.services.shift import ShiftSummary, summarize

if TYPE_CHECKING:
    from datetime import datetime

    from pos_app.domain.money import Money
    from pos_app.journal.search import PaymentFilter
    from pos_app.journal.store import Intent, JournalStore, PaymentEvent, PaymentRecord
    from pos_app.journal.users import User
    from pos_app.services.approvals import ApprovalAction, ApprovalRequirement, ApprovalService

ChangeListener = Callable[[str], None]


class PaymentQueries:
    """Read-only access to the journal's payments, plus its change feed."""

    def __init__(self, journal: JournalStore) -> None:
        self._journal = journal
        self._listeners: list[ChangeListener] = []
        journal.add_listener(self._changed)

    # -- the change feed ------------------------------------------------------------------

    def on_change(self, listener: ChangeListener) -> Callable[[], None]:
        """Call ``listener(reference)`` after every committed change to a payment; returns
        the call that stops it (calling that twice is harmless)."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def _changed(self, reference: str) -> None:
        for listener in list(self._listeners):
            listener(reference)

    # -- payments -------------------------------------------------------------------------

    def get(self, reference: str) -> PaymentRecord | None:
        return self._journal.get(reference)

    def count(self, search: PaymentFilter | None = None, *, cap: int | None = None) -> int:
        """How many payments match (with ``cap``: stops counting at ``cap + 1``)."""
        return self._journal.count_payments(search, cap=cap)

    def page(
        self,
        *,
        offset: int,
        limit: int,
        order_by: str = "created_at",
        descending: bool = True,
        search: PaymentFilter | None = None,
        many_matches: bool = False,
    ) -> list[PaymentRecord]:
        return self._journal.page_payments(
            offset=offset,
            limit=limit,
            order_by=order_by,
            descending=descending,
            search=search,
            many_matches=many_matches,
        )

    def events(self, reference: str) -> list[PaymentEvent]:
        """The payment's local history: state changes and notes."""
        return self._journal.events(reference)

    def intents_for(self, reference: str) -> list[Intent]:
        """Every request this till sent for the payment, with its outcome."""
        return self._journal.intents_for(reference)

    # -- summaries and rules that read the journal ---------------------------------------

    def shift_summary(
        self, start: datetime, end: datetime, *, include_training: bool = False
    ) -> ShiftSummary:
        return summarize(self._journal, start, end, include_training=include_training)

    def approval_requirement(
        self,
        approvals: ApprovalService,
        action: ApprovalAction,
        payment: PaymentRecord,
        amount: Money | None,
        user: User | None,
    ) -> ApprovalRequirement:
        """Whether a refund or void of ``payment`` needs a manager (the shift's refunds count)."""
        return approvals.requirement(self._journal, action, payment, amount, user)


__all__ = ["ChangeListener", "PaymentQueries"]
