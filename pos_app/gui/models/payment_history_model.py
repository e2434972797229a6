"""One payment's history: what this till journaled, then what the provider reports.

Local rows come from the journal (state changes, notes, and every request sent with its
outcome); provider rows arrive after "Refresh from provider". Both are shown in time order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from pos_app.domain.money import Money, format_money
from pos_app.gui.messages import state_label
from pos_app.gui.widgets.common import plain_tip
from pos_app.services.records import Intent, IntentOutcome, PaymentEvent

if TYPE_CHECKING:
    from collections.abc import Iterable

    from pos_app.providers.types import PaymentAction

Index = QModelIndex | QPersistentModelIndex
HEADERS = ("When", "Source", "What happened", "Amount")
LOCAL = "This till"

_OUTCOMES = {
    None: "no answer yet",
    IntentOutcome.SUCCEEDED: "accepted",
    IntentOutcome.REJECTED: "refused",
    IntentOutcome.NOT_SENT: "not sent",
    IntentOutcome.UNKNOWN: "answer lost, being checked",
    IntentOutcome.RESOLVED: "confirmed by a lookup",
    IntentOutcome.ABANDONED: "did not happen",
}
_ACTION_NAMES = {
    "authorization": "Authorization",
    "card_verification": "Card verification",
    "capture": "Capture",
    "refund": "Refund",
    "void": "Void",
    "payment": "Payment",
    "payout": "Payout",
    "return": "Return",
}
_EARLIEST = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class HistoryRow:
    at: datetime | None
    source: str
    text: str
    amount: Money | None = None


def local_rows(events: Iterable[PaymentEvent], intents: Iterable[Intent]) -> list[HistoryRow]:
    rows = [HistoryRow(e.at, LOCAL, f"{state_label(e.state)} — {e.note}") for e in events]
    rows += [
        HistoryRow(
            i.created_at,
            LOCAL,
            f"{i.operation.replace('_', ' ').capitalize()} sent — {_OUTCOMES[i.outcome]}",
            i.amount,
        )
        for i in intents
    ]
    return rows


def provider_rows(provider: str, actions: Iterable[PaymentAction]) -> list[HistoryRow]:
    rows = []
    for action in actions:
        name = _ACTION_NAMES.get(action.kind, action.kind.replace("_", " ").capitalize())
        verdict = "approved" if action.approved else "declined"
        note = f" · {action.note}" if action.note else ""
        text = f"{name} {verdict} ({action.provider_ref}){note}"
        rows.append(HistoryRow(action.at, provider, text, action.amount))
    return rows


class PaymentHistoryModel(QAbstractTableModel):
    def __init__(self, *, locale: str) -> None:
        super().__init__()
        self._locale = locale
        self._rows: list[HistoryRow] = []

    def set_rows(self, rows: Iterable[HistoryRow]) -> None:
        # Undated provider steps keep their order and go after the dated ones at that time.
        ordered = sorted(rows, key=lambda r: r.at or _EARLIEST)
        undated = [r for r in ordered if r.at is None]
        self.beginResetModel()
        self._rows = [r for r in ordered if r.at is not None] + undated
        self.endResetModel()

    def row(self, number: int) -> HistoryRow:
        return self._rows[number]

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[section] if 0 <= section < len(HEADERS) else None
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not (0 <= index.row() < len(self._rows)):
            return None
        row = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.ToolTipRole:
            text = self.data(index, Qt.ItemDataRole.DisplayRole)
            return plain_tip(text) if text else None  # provider notes are shown as they are
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 0:
                return row.at.astimezone().strftime("%Y-%m-%d %H:%M:%S") if row.at else "—"
            if column == 1:
                return row.source
            if column == 2:
                return row.text
            if column == 3:
                return format_money(row.amount, self._locale) if row.amount else ""
        if role == Qt.ItemDataRole.TextAlignmentRole and column == 3:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None
