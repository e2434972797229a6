"""Payments: find any sale the journal holds, open it, and capture, refund or void it.

The list and the detail are two pages of one screen, so the detail has the whole width.
Keyboard: Ctrl+F searches, Enter opens the selected payment, Esc clears the search (on the
list) or goes back (on the detail). Training (sandbox) sales are listed only with "Include
training sales" ticked, each marked TRAINING; the count says how many it leaves out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt, QTimer
from PySide6.QtGui import QKeySequence, QResizeEvent, QShortcut, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from pos_app.domain.money import Money, format_money
from pos_app.gui.messages import PROVIDER_NAMES, STATE_LABELS
from pos_app.gui.models.payments_model import COLUMNS, COUNT_CAP, PaymentsTableModel
from pos_app.gui.screens.payment_detail import Approve, PaymentDetail, PaymentsBackend
from pos_app.gui.widgets.common import label
from pos_app.gui.widgets.payment_filters import PaymentFilterBar

if TYPE_CHECKING:
    from pos_app.gui.bridge import ServiceEvents
    from pos_app.gui.tasks import TaskRunner
    from pos_app.services.queries import PaymentQueries
    from pos_app.services.records import PaymentFilter

_CELL_PADDING = 10  # the item view's margins either side of the text (Qt's own fit adds 7)


def _default_currency(queries: PaymentQueries, locale: str) -> str:
    """Amount filters are typed in the journal's newest currency, else the locale's."""
    newest = queries.page(offset=0, limit=1)
    if newest:
        return newest[0].amount.currency
    import babel.numbers  # imported on first use: it costs start-up time

    territory = locale.partition("_")[2]
    found = babel.numbers.get_territory_currencies(territory) if territory else []
    return found[0] if found else "USD"


# Columns that give up width before the description goes under this share, down to the
# width of their everyday text (rarer, longer text then elides in the middle: a card keeps
# its last four digits in sight).
_SHRINKABLE = {"state": "Partly refunded", "card": "Visa •••• 8888", "provider": "JustiFi"}
_DESCRIPTION_SHARE = 0.28


class ColumnFitter:
    """Each column as wide as the widest text it can hold, the description taking the rest;
    on a narrow table the status, card and provider columns give way first, so the
    description keeps a readable share.

    Sizing columns to their contents would measure every loaded row on each search (it cost
    more than the search) and make the columns jump from one search to the next.
    """

    def __init__(self, table: QTableView, *, currency: str, locale: str) -> None:
        self._table = table
        table.ensurePolished()  # the style sheet's font
        metrics = table.fontMetrics()
        widest = {
            "created_at": ["8888-88-88 88:88"],
            "reference": ["S-88888888-WWWWWW"],
            "amount": [format_money(Money(8_888_888, currency), locale)],
            "state": [f"⚠ {text}" for text in STATE_LABELS.values()],
            "card": [f"{b} •••• 8888" for b in ("Mastercard", "Discover", "Amex", "Visa")],
            "provider": list(PROVIDER_NAMES.values()),
        }
        header = table.horizontalHeader()
        self.natural: dict[int, int] = {}
        self._least: dict[int, int] = {}  # how narrow each shrinkable column may go
        for index, column in enumerate(COLUMNS):
            if column.sort_key not in widest:
                header.setSectionResizeMode(index, QHeaderView.ResizeMode.Stretch)
                continue
            text = max(metrics.horizontalAdvance(t) for t in widest[column.sort_key])
            header.setSectionResizeMode(index, QHeaderView.ResizeMode.Interactive)
            self.natural[index] = max(text + _CELL_PADDING, header.sectionSizeHint(index))
            everyday = _SHRINKABLE.get(column.sort_key)
            if everyday is not None:
                least = metrics.horizontalAdvance(everyday) + _CELL_PADDING
                self._least[index] = max(least, header.sectionSizeHint(index))
        table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.fit()

    def fit(self) -> None:
        header = self._table.horizontalHeader()
        available = self._table.viewport().width()
        widths = dict(self.natural)
        over = sum(widths.values()) + int(available * _DESCRIPTION_SHARE) - available
        if over > 0 and self._least:
            spare = {i: max(widths[i] - least, 0) for i, least in self._least.items()}
            total = sum(spare.values()) or 1
            for index in self._least:
                widths[index] -= min(spare[index], over * spare[index] // total)
        for index, width in widths.items():
            if header.sectionSize(index) != width:
                header.resizeSection(index, width)


class PaymentsScreen(QWidget):
    def __init__(
        self,
        queries: PaymentQueries,
        events: ServiceEvents,
        *,
        locale: str,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("Screen")
        self._queries = queries
        self._events = events  # keeps the bridge alive while this screen listens
        self._locale = locale
        self._columns_fitted = False
        self.columns: ColumnFitter | None = None  # made on first show, with the real font
        self.model = PaymentsTableModel(queries, locale=locale)
        self.filters = PaymentFilterBar(locale=locale, currency=_default_currency(queries, locale))
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setAccessibleName("Payments")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.DescendingOrder)
        self.table.verticalHeader().setVisible(False)
        self.table.setAlternatingRowColors(False)
        self.table.setShowGrid(False)
        self.table.setTabKeyNavigation(False)
        self.table.setWordWrap(False)
        self.refresh_button = QPushButton("Refresh  F5")
        self.refresh_button.setShortcut("F5")
        self.refresh_button.setAccessibleName("Reload the payments list")
        self.open_button = QPushButton("Open  ⏎")
        self.open_button.setAccessibleName("Open the selected payment")
        self.summary = label("", "Hint")
        self.summary.setAccessibleName("Result count")
        self.detail = PaymentDetail(queries, locale=locale)

        list_page = QWidget()
        top = QHBoxLayout()
        top.addWidget(label("Payments", "ScreenTitle"), 1)
        top.addWidget(self.open_button)
        top.addWidget(self.refresh_button)
        list_layout = QVBoxLayout(list_page)
        list_layout.setContentsMargins(0, 0, 0, 0)
        list_layout.setSpacing(10)
        list_layout.addLayout(top)
        list_layout.addWidget(self.filters)
        list_layout.addWidget(self.summary)
        list_layout.addWidget(self.table, 1)
        self.list_page = list_page

        self.pages = QStackedWidget()
        self.pages.addWidget(list_page)
        self.pages.addWidget(self.detail)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(28, 24, 28, 24)
        layout.addWidget(self.pages)

        self.refresh_button.clicked.connect(self.refresh)
        self.open_button.clicked.connect(self.open_selected)
        self.table.activated.connect(self._activated)
        self.filters.changed.connect(self._filter_changed)
        self.detail.back_requested.connect(self.show_list)
        self.model.modelReset.connect(self._update_summary)
        QShortcut(QKeySequence("Ctrl+F"), self, self.focus_search)
        clear = QShortcut(QKeySequence(Qt.Key.Key_Escape), list_page, self.filters.clear)
        clear.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        back = QShortcut(QKeySequence(Qt.Key.Key_Escape), self.detail, self.show_list)
        back.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)

        # Journal writes arrive in bursts (one sale writes several rows): reload once per burst.
        self._reload_soon = QTimer(self)
        self._reload_soon.setSingleShot(True)
        self._reload_soon.setInterval(50)
        self._reload_soon.timeout.connect(self._reload)
        events.payment_changed.connect(self._payment_changed)
        self._update_summary()

    # -- wiring from the main window -------------------------------------------------------

    def set_payment_service(
        self, service: PaymentsBackend, tasks: TaskRunner, approve: Approve | None = None
    ) -> None:
        """Payments are available: refresh, capture, refund and void go through ``service``."""
        self.detail.set_service(service, tasks, approve)

    def set_approval(self, approve: Approve | None) -> None:
        """Each action awaits ``approve(action, reference, amount)`` before anything is sent."""
        self.detail.set_approval(approve)

    def shutdown(self) -> None:
        self._reload_soon.stop()
        self.detail.shutdown()

    # -- public -------------------------------------------------------------------

    def refresh(self) -> None:
        """Show the journal as it is now (a pending debounced reload is folded in)."""
        self._reload_soon.stop()
        self._reload()

    def focus_search(self) -> None:
        self.show_list()
        self.filters.focus_search()

    def search(self, search: PaymentFilter) -> None:
        self.model.set_filter(search)

    def open_selected(self) -> None:
        index = self.table.currentIndex()
        if index.isValid():
            self.open_payment(self.model.payment_at(index.row()).reference)

    def open_payment(self, reference: str) -> None:
        self.detail.show_payment(reference)
        self.pages.setCurrentWidget(self.detail)
        self.detail.back_button.setFocus()

    def show_list(self) -> None:
        reference = self.detail.payment.reference if self.detail.payment else None
        self.pages.setCurrentWidget(self.list_page)
        if reference is not None:
            self._select(reference)
        self.table.setFocus()

    @property
    def showing_detail(self) -> bool:
        return self.pages.currentWidget() is self.detail

    # -- internals -----------------------------------------------------------------

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        # Once the layout has given the table its new width. (Not a signal or event filter on
        # the table: those can call Python while Qt restyles or tears the view down.)
        if self.columns is not None:
            QTimer.singleShot(0, self, self._refit_columns)

    def _refit_columns(self) -> None:
        if self.columns is not None:
            self.columns.fit()

    def showEvent(self, event: QShowEvent) -> None:
        if not self._columns_fitted:  # once, with the style sheet's font in place
            self._columns_fitted = True
            self.columns = ColumnFitter(
                self.table, currency=self.filters.currency, locale=self._locale
            )
        super().showEvent(event)

    def _activated(self, index: QModelIndex) -> None:
        if index.isValid():
            self.open_payment(self.model.payment_at(index.row()).reference)

    def _filter_changed(self, search: PaymentFilter) -> None:
        self.model.set_filter(search)
        if self.model.rowCount():
            self.table.selectRow(0)

    def _payment_changed(self, _reference: str) -> None:
        self._reload_soon.start()

    def _reload(self) -> None:
        current = self.table.currentIndex()
        reference = self.model.payment_at(current.row()).reference if current.isValid() else None
        self.model.reload()
        if reference is not None:
            self._select(reference)
        if self.showing_detail:
            self.detail.reload()

    def _select(self, reference: str) -> None:
        row = self.model.row_of(reference)
        if row < 0:
            return
        self.table.selectionModel().setCurrentIndex(
            self.model.index(row, 0),
            QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows,
        )

    def _update_summary(self) -> None:
        count = self.model.total
        noun = f"payment{'s' if count != 1 else ''}"
        if self.model.filter.is_empty_but_environment:
            text = f"{count:,} {noun} in the journal"
        elif self.model.total_is_capped:
            text = f"More than {count:,} payments match"
        else:
            text = f"{count:,} {noun} match"
        hidden = self.model.hidden_training
        if hidden:
            many = "s" if hidden != 1 else ""
            more = "+" if hidden >= COUNT_CAP else ""
            text += f" · {hidden:,}{more} training sale{many} not shown (Include training sales)"
        self.summary.setText(text)
