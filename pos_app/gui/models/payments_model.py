"""The payments table: pages rows from the journal as the view scrolls (fetchMore).

Only the rows on screen (plus a page) are ever loaded, so a year of payments opens
as fast as a day's. Filtering and sorting happen in SQL, never over loaded rows.

Training (sandbox) sales are left out until the filter includes them (the screen's "Include
training sales"), and are then marked TRAINING in their description cell.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from pos_app.domain.money import Money, format_money
from pos_app.gui.messages import PROVIDER_NAMES, TRAINING, TRAINING_NOTE, card_text, state_label
from pos_app.gui.widgets.common import plain_tip
from pos_app.services.records import PaymentFilter, PaymentRecord

if TYPE_CHECKING:
    from pos_app.services.queries import PaymentQueries

PAGE_SIZE = 100  # four screens of rows; scrolling near the end reads the next page
COUNT_CAP = 1000  # a filtered count stops here ("1,000+ match")
# Real money only: what the list shows until training sales are asked for.
DEFAULT_FILTER = PaymentFilter(training=False)

Index = QModelIndex | QPersistentModelIndex
_ROLES = frozenset(
    int(role)
    for role in (
        Qt.ItemDataRole.DisplayRole,
        Qt.ItemDataRole.TextAlignmentRole,
        Qt.ItemDataRole.ToolTipRole,
        Qt.ItemDataRole.UserRole,
    )
)
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)


@dataclass(frozen=True)
class Column:
    title: str
    sort_key: str


COLUMNS = (
    Column("Time", "created_at"),
    Column("Reference", "reference"),
    Column("Description", "description"),
    Column("Amount", "amount"),
    Column("Status", "state"),
    Column("Card", "card"),
    Column("Provider", "provider"),
)


class PaymentsTableModel(QAbstractTableModel):
    def __init__(self, queries: PaymentQueries, *, locale: str) -> None:
        super().__init__()
        self._queries = queries
        self._locale = locale
        self._rows: list[PaymentRecord] = []
        self._texts: dict[int, tuple[str, ...]] = {}  # each loaded row's cells, as shown
        self._total = 0
        self._capped = False
        self._hidden_training = 0
        self._exhausted = True
        self._order_by = "created_at"
        self._descending = True
        self._filter = DEFAULT_FILTER
        self.reload()

    # -- Qt model API ---------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section].title if 0 <= section < len(COLUMNS) else None
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        # The view asks for a dozen roles per cell as it sizes columns: unused ones go first.
        if role not in _ROLES or not index.isValid():
            return None
        row = index.row()
        if not 0 <= row < len(self._rows):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            texts = self._texts.get(row)
            if texts is None:
                texts = self._texts[row] = self._display_row(self._rows[row])
            return texts[index.column()]
        payment = self._rows[row]
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _RIGHT if COLUMNS[index.column()].sort_key == "amount" else None
        if role == Qt.ItemDataRole.ToolTipRole:
            tips = [TRAINING_NOTE] if payment.training else []
            tips += [payment.attention] if payment.attention else []
            return plain_tip("\n".join(tips)) if tips else None
        return payment.reference  # UserRole

    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and not self._exhausted

    def fetchMore(self, parent: Index = QModelIndex()) -> None:  # noqa: B008
        if parent.isValid():
            return
        page = self._queries.page(
            offset=len(self._rows),
            limit=PAGE_SIZE,
            order_by=self._order_by,
            descending=self._descending,
            search=self._filter,
            many_matches=self._capped,
        )
        self._exhausted = len(page) < PAGE_SIZE
        if not page:
            return
        first = len(self._rows)
        self.beginInsertRows(QModelIndex(), first, first + len(page) - 1)
        self._rows.extend(page)
        self.endInsertRows()

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if not 0 <= column < len(COLUMNS):
            return
        order_by, descending = COLUMNS[column].sort_key, order == Qt.SortOrder.DescendingOrder
        if (order_by, descending) == (self._order_by, self._descending):
            return  # already so (the view asks once as it is set up)
        self._order_by, self._descending = order_by, descending
        # The same payments match in another order: the count stands.
        self._reload(recount=False)

    # -- ours ---------------------------------------------------------------------

    def reload(self) -> None:
        """Start again from the first page (after a journal change)."""
        self._reload(recount=True)

    def _reload(self, *, recount: bool) -> None:
        self.beginResetModel()
        self._texts.clear()
        if recount:
            self._count()
        self._rows = self._queries.page(
            offset=0,
            limit=PAGE_SIZE,
            order_by=self._order_by,
            descending=self._descending,
            search=self._filter,
            many_matches=self._capped,
        )
        self._exhausted = len(self._rows) < PAGE_SIZE
        self.endResetModel()

    def _count(self) -> None:
        self._hidden_training = 0
        if self._filter.training is False:
            # Training sales this filter would match but leaves out: the screen says so.
            hidden = replace(self._filter, training=True)
            counted = self._queries.count(hidden, cap=COUNT_CAP)
            self._hidden_training = min(counted, COUNT_CAP)
        if self._filter.is_empty_but_environment:
            self._total, self._capped = self._queries.count(self._filter), False
            return
        # A search matching most of a year is counted only up to the cap: fast.
        counted = self._queries.count(self._filter, cap=COUNT_CAP)
        self._capped = counted > COUNT_CAP
        self._total = min(counted, COUNT_CAP)

    def set_filter(self, search: PaymentFilter) -> None:
        """Show only the payments ``search`` matches (from the first page, same sort)."""
        if search == self._filter:
            return
        self._filter = search
        self.reload()

    @property
    def filter(self) -> PaymentFilter:
        return self._filter

    @property
    def total(self) -> int:
        """How many payments match the filter (loaded or not); at most COUNT_CAP when
        ``total_is_capped``."""
        return self._total

    @property
    def total_is_capped(self) -> bool:
        """More than COUNT_CAP payments match (the count stopped there)."""
        return self._capped

    @property
    def hidden_training(self) -> int:
        """Training sales matching the search but left out (the filter is real money only);
        at most COUNT_CAP."""
        return self._hidden_training

    def row_of(self, reference: str) -> int:
        """The row showing ``reference`` among the loaded rows, or -1."""
        return next((n for n, p in enumerate(self._rows) if p.reference == reference), -1)

    def payment_at(self, row: int) -> PaymentRecord:
        return self._rows[row]

    def _display_row(self, payment: PaymentRecord) -> tuple[str, ...]:
        return tuple(self._display(payment, column.sort_key) for column in COLUMNS)

    def _display(self, payment: PaymentRecord, key: str) -> str:
        if key == "created_at":
            return payment.created_at.astimezone().strftime("%Y-%m-%d %H:%M")
        if key == "reference":
            return payment.reference
        if key == "description":
            if payment.training:
                return f"{TRAINING} · {payment.description}"
            return payment.description
        if key == "amount":
            return _money_text(payment.amount, self._locale)
        if key == "state":
            text = state_label(payment.state)
            return f"⚠ {text}" if payment.attention else text
        if key == "card":
            return card_text(payment.card_brand, payment.card_last4, unnamed="")
        if key == "provider":
            return PROVIDER_NAMES.get(payment.provider, payment.provider)
        return ""


@lru_cache(maxsize=4096)
def _money_text(amount: Money, locale: str) -> str:
    """Formatting through Babel is slow and a shop's prices repeat: each is formatted once."""
    return format_money(amount, locale)
