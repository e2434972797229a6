"""Payments: every sale the journal holds, newest first."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from pos_app.gui.models.payments_model import PaymentsTableModel
from pos_app.gui.widgets.common import label
from pos_app.journal.store import JournalStore


class PaymentsScreen(QWidget):
    def __init__(
        self, journal: JournalStore, *, locale: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("Screen")
        self.model = PaymentsTableModel(journal, locale=locale)
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
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.refresh_button = QPushButton("Refresh  F5")
        self.refresh_button.setShortcut("F5")
        self.refresh_button.clicked.connect(self.model.reload)
        self.summary = label("", "Hint")

        top = QHBoxLayout()
        top.addWidget(label("Payments", "ScreenTitle"), 1)
        top.addWidget(self.refresh_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(28, 24, 28, 24)
        layout.addLayout(top)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)

        # Journal writes arrive in bursts (one sale writes several rows): reload once per burst.
        self._reload_soon = QTimer(self)
        self._reload_soon.setSingleShot(True)
        self._reload_soon.setInterval(50)
        self._reload_soon.timeout.connect(self._reload)
        journal.add_listener(lambda _ref: self._reload_soon.start())
        self.model.modelReset.connect(self._update_summary)
        self._update_summary()

    def shutdown(self) -> None:
        self._reload_soon.stop()

    def refresh(self) -> None:
        """Show the journal as it is now (a pending debounced reload is folded in)."""
        self._reload_soon.stop()
        self._reload()

    def _reload(self) -> None:
        self.model.reload()

    def _update_summary(self) -> None:
        count = self.model.total
        self.summary.setText(f"{count} payment{'s' if count != 1 else ''} in the journal")
