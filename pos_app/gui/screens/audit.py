"""Audit trail (managers and administrators): every entry, newest first, a page at a time,
and "Verify audit trail", which checks every link and says exactly where the chain breaks.

Verification reads the whole trail on its own database connection in a worker thread, so a
year of entries does not freeze the till.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from pos_app.domain.money import Money, MoneyError, format_money
from pos_app.gui.widgets.common import announce, label, plain_tip
from pos_app.services.records import SYSTEM_ACTOR, AuditEntry, AuditVerification

if TYPE_CHECKING:
    from collections.abc import Mapping

    from pos_app.gui.screens.sign_in import Staff
    from pos_app.gui.tasks import TaskRunner

PAGE_SIZE = 100
COLUMNS = ("#", "When", "Who", "What", "About", "Details")
ACTION_LABELS = {
    "payment_state_change": "Payment changed",
    "capture": "Capture",
    "refund": "Refund",
    "void": "Void",
    "approval_granted": "Approval granted",
    "approval_used": "Approval used",
    "approval_refused": "Approval refused",
    "sign_in": "Signed in",
    "sign_in_failed": "Sign-in refused",
    "sign_out": "Signed out",
    "locked_out": "Locked out",
    "settings_changed": "Settings changed",
    "live_host_approved": "Live host approved",
    "user_added": "User added",
    "user_changed": "User changed",
    "reprint": "Receipt reprinted",
}


# Not repeated in Details: the currency is in each amount, training is said under What.
_SHOWN_ELSEWHERE = frozenset({"currency", "environment"})


def training_entry(entry: AuditEntry) -> bool:
    return entry.details.get("environment") == "sandbox"


def describe(details: Mapping[str, Any], locale: str) -> str:
    """Details on one line; ``*_minor`` amounts shown as money in their currency."""
    currency = details.get("currency")
    parts: list[str] = []
    for key, value in details.items():
        if key in _SHOWN_ELSEWHERE or value is None or value == "":
            continue
        name = key.removesuffix("_minor")
        if key.endswith("_minor") and isinstance(value, int) and isinstance(currency, str):
            with contextlib.suppress(MoneyError):  # an unknown currency stays in minor units
                value = format_money(Money(value, currency), locale)
        elif isinstance(value, bool):
            value = "yes" if value else "no"
        elif isinstance(value, list):
            value = ", ".join(str(item) for item in value) or "none"
        parts.append(f"{name.replace('_', ' ')}: {value}")
    return ", ".join(parts)


class AuditScreen(QWidget):
    def __init__(
        self, staff: Staff, *, tasks: TaskRunner, locale: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("Screen")
        self._staff = staff
        self._tasks = tasks
        self._locale = locale
        self._page = 0  # 0: the newest entries
        self._total = 0
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setAccessibleName("Audit trail")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.setTabKeyNavigation(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(len(COLUMNS) - 1, QHeaderView.ResizeMode.Stretch)
        self.verify_button = QPushButton("Verify audit trail")
        self.verify_button.setObjectName("Primary")
        self.verify_button.setAccessibleName("Verify the audit trail")
        self.refresh_button = QPushButton("Refresh  F5")
        self.refresh_button.setShortcut("F5")
        self.newer_button = QPushButton("‹ Newer")
        self.older_button = QPushButton("Older ›")
        self.position = label("", "Hint")
        self.position.setAccessibleName("Entries shown")
        self.outcome = label("", "Outcome")
        self.outcome.setAccessibleName("Verification result")
        self.outcome.setVisible(False)

        top = QHBoxLayout()
        top.addWidget(label("Audit trail", "ScreenTitle"), 1)
        top.addWidget(self.refresh_button)
        top.addWidget(self.verify_button)
        paging = QHBoxLayout()
        paging.addWidget(self.position, 1)
        paging.addWidget(self.newer_button)
        paging.addWidget(self.older_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(28, 24, 28, 24)
        layout.setSpacing(10)
        layout.addLayout(top)
        layout.addWidget(
            label(
                "Every payment change, refund, void, approval, sign-in and settings change, "
                "with who and when. Entries are chained: an edit, deletion or reordering "
                "anywhere is found by Verify.",
                "Hint",
            )
        )
        layout.addWidget(self.outcome)
        layout.addWidget(self.table, 1)
        layout.addLayout(paging)

        self.verify_button.clicked.connect(self.verify)
        self.refresh_button.clicked.connect(self.refresh)
        self.newer_button.clicked.connect(lambda: self.show_page(self._page - 1))
        self.older_button.clicked.connect(lambda: self.show_page(self._page + 1))
        self.refresh()

    # -- public -------------------------------------------------------------------

    def refresh(self) -> None:
        self.show_page(self._page)

    @property
    def pages(self) -> int:
        return max(1, -(-self._total // PAGE_SIZE))

    @property
    def shown(self) -> list[int]:
        """The entry numbers on the page, top to bottom."""
        items = (self.table.item(row, 0) for row in range(self.table.rowCount()))
        return [int(item.text()) for item in items if item is not None]

    def show_page(self, page: int) -> None:
        self._total = self._staff.audit.head().entries
        self._page = min(max(page, 0), self.pages - 1)
        newest = self._total - self._page * PAGE_SIZE
        oldest = max(newest - PAGE_SIZE, 0)
        entries = self._staff.audit.entries(after=oldest, limit=newest - oldest)
        self._fill(list(reversed(entries)))
        if self._total:
            self.position.setText(
                f"Entries {oldest + 1:,}–{newest:,} of {self._total:,} · "
                f"page {self._page + 1} of {self.pages}"
            )
        else:
            self.position.setText("No entries yet")
        self.newer_button.setEnabled(self._page > 0)
        self.older_button.setEnabled(self._page < self.pages - 1)

    def verify(self) -> None:
        if not self.verify_button.isEnabled():
            return
        self.verify_button.setEnabled(False)
        self._say("Checking every entry…", "")
        self._tasks.start(self._verify(), self._verified, self._failed)

    # -- internals ------------------------------------------------------------------

    async def _verify(self) -> AuditVerification:
        return await self._staff.verify_audit()

    def _verified(self, result: AuditVerification) -> None:
        self.verify_button.setEnabled(True)
        if result.ok:
            self._say(f"✓ {result.message}", "good")
            return
        self._say(f"✗ {result.message}", "bad")
        broken = result.broken_at
        if broken is not None and self._total:
            # Show the page holding the break, with the entry selected where it still exists.
            self.show_page(max(self._total - broken, 0) // PAGE_SIZE)
            if broken in self.shown:
                self.table.selectRow(self.shown.index(broken))

    def _failed(self, error: BaseException) -> None:
        self.verify_button.setEnabled(True)
        self._say(f"✗ The audit trail could not be read: {error}", "bad")

    def _fill(self, entries: list[AuditEntry]) -> None:
        names = {user.actor: user.name for user in self._staff.users.users()}
        self.table.setRowCount(len(entries))
        for row, entry in enumerate(entries):
            if entry.actor == SYSTEM_ACTOR:
                who = "System"
            else:
                who = names.get(entry.actor, f"user {entry.actor}")
            subject = entry.subject
            if subject.startswith("user:"):  # "user:3" → the name, as in Who
                subject = names.get(subject.removeprefix("user:"), subject)
            values = (
                str(entry.seq),
                f"{entry.at.astimezone():%Y-%m-%d %H:%M:%S}",
                who,
                ACTION_LABELS.get(entry.action, entry.action)
                + (" — TRAINING" if training_entry(entry) else ""),
                subject,
                describe(entry.details, self._locale),
            )
            for column, text in enumerate(values):
                item = QTableWidgetItem(text)
                item.setToolTip(plain_tip(text))  # long details are cut off in the cell
                self.table.setItem(row, column, item)

    def _say(self, text: str, tone: str) -> None:
        self.outcome.setText(text)
        self.outcome.setVisible(bool(text))
        self.outcome.setProperty("tone", tone)
        self.outcome.style().unpolish(self.outcome)
        self.outcome.style().polish(self.outcome)
        if text:
            announce(self.outcome, text)
