"""End of shift: per-currency cards, totals by provider/method/status, refunds and voids,
payments that need attention, for a range of days (default today), and a CSV export.

Training (sandbox) sales are never in those: they are counted in a hint, and "Include training
sales" shows them in a section of their own, "Training (not real money)", below the real
money (and in the CSV, apart). The journal does the sums (pos_app.services.shift); this screen
only shows them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QDate, Qt, QTimer
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDateEdit,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from pos_app.domain.money import Money, format_money
from pos_app.domain.payment import PaymentState
from pos_app.domain.vocabulary import Operation
from pos_app.gui.messages import PROVIDER_NAMES, method_name, state_label
from pos_app.gui.widgets.common import announce, label
from pos_app.services.shift import (
    CurrencyTotal,
    ShiftSummary,
    attention_reason,
    day_range,
    export_csv,
    today_range,
)

if TYPE_CHECKING:
    from pos_app.gui.bridge import ServiceEvents
    from pos_app.services.queries import PaymentQueries
    from pos_app.services.records import AuditAnchor, PaymentRecord, ReversalRow, TotalRow

TOTAL_COLUMNS = ("Provider", "Method", "Status", "Payments", "Amount", "Captured", "Refunded")
REVERSAL_COLUMNS = ("Time", "Reference", "Action", "Provider", "Amount")
ATTENTION_COLUMNS = ("Time", "Reference", "Provider", "Status", "Amount", "Why")
AUTO_REFRESH_DAYS = 7
TRAINING_TITLE = "Training (not real money)"
ChooseFile = Callable[[QWidget, str], Path | None]


def choose_csv_file(parent: QWidget, suggested: str) -> Path | None:
    """Ask where to save (a modal dialog); None when the user cancels."""
    chosen, _ = QFileDialog.getSaveFileName(
        parent, "Export shift summary", suggested, "CSV files (*.csv)"
    )
    if not chosen:
        return None
    path = Path(chosen)
    return path if path.suffix.lower() == ".csv" else path.with_name(path.name + ".csv")


def _table(columns: Sequence[str], name: str, stretch: int) -> QTableWidget:
    table = QTableWidget(0, len(columns))
    table.setHorizontalHeaderLabels(list(columns))
    table.setAccessibleName(name)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.verticalHeader().setVisible(False)
    table.setShowGrid(False)
    table.setWordWrap(False)
    table.setTabKeyNavigation(False)
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    # A text column takes the spare width, so amounts stay next to their labels.
    header.setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)
    return table


def _fill(table: QTableWidget, rows: list[tuple[str, ...]], right: frozenset[int]) -> None:
    table.setRowCount(len(rows))
    for r, cells in enumerate(rows):
        for c, text in enumerate(cells):
            item = QTableWidgetItem(text)
            if c in right:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            table.setItem(r, c, item)
    # Show every row: the screen scrolls, not each table.
    height = table.horizontalHeader().sizeHint().height() + 4
    height += sum(table.rowHeight(r) for r in range(len(rows)))
    table.setFixedHeight(max(height, 40))


def _named(name: str, training: bool) -> str:
    """ "Net", or "Training net" on a training card."""
    return f"Training {name.lower()}" if training else name


def _state(value: str) -> str:
    try:
        return state_label(PaymentState(value))
    except ValueError:
        return value


class ShiftSummaryScreen(QWidget):
    def __init__(
        self,
        queries: PaymentQueries,
        events: ServiceEvents,
        *,
        locale: str,
        parent: QWidget | None = None,
        zone: tzinfo | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("Screen")
        self._queries = queries
        self._events = events  # keeps the bridge alive while this screen listens
        self._locale = locale
        self._zone = zone  # None: the till's local time
        self.choose_file: ChooseFile = choose_csv_file
        self.summary: ShiftSummary | None = None
        # Keeps the printed anchor outside the journal (app.py: the OS keyring).
        self.keep_anchor: Callable[[AuditAnchor], None] | None = None

        today = today_range(zone=zone)[0].date()
        self.date_from = self._date_field("First day", today)
        self.date_to = self._date_field("Last day", today)
        self.today_button = QPushButton("Today")
        self.today_button.setAccessibleName("Show today")
        self.refresh_button = QPushButton("Refresh  F5")
        self.refresh_button.setShortcut("F5")
        self.refresh_button.setAccessibleName("Recalculate the summary")
        self.export_button = QPushButton("Export CSV…")
        self.export_button.setObjectName("Primary")
        self.export_button.setAccessibleName("Export the summary as a CSV file")
        self.period = label("", "Hint")
        self.period.setAccessibleName("Period shown")
        self.anchor = label("", "Hint")
        self.anchor.setAccessibleName("Audit trail anchor")
        self.anchor.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status = label("", "Hint")
        self.status.setAccessibleName("Export result")
        self.empty = label("No payments, refunds or voids in this period.", "Hint")
        self.cards = QHBoxLayout()
        self.cards.setSpacing(12)
        self.totals = _table(TOTAL_COLUMNS, "Totals by provider, method and status", 2)
        self.reversals = _table(REVERSAL_COLUMNS, "Refunds and voids", 3)
        self.attention = _table(ATTENTION_COLUMNS, "Payments that need attention", 5)
        self.attention_title = label("Needs attention", "SectionTitle")
        self.include_training = QCheckBox("Include training sales")
        self.include_training.setAccessibleName(
            "Include training sales: shown apart, never in the real totals"
        )
        self.training_hint = label("", "Hint")
        self.training_hint.setAccessibleName("Training sales")
        self.training_section = QWidget()
        self.training_section.setAccessibleName(TRAINING_TITLE)
        self.training_title = label(TRAINING_TITLE, "SectionTitle")
        self.training_badge = label("TRAINING", "TrainingBadge")
        self.training_badge.setWordWrap(False)
        self.training_empty = label("No training sales in this period.", "Hint")
        self.training_cards = QHBoxLayout()
        self.training_cards.setSpacing(12)
        self.training_totals = _table(
            TOTAL_COLUMNS, "Training totals by provider, method and status", 2
        )
        self.training_reversals = _table(REVERSAL_COLUMNS, "Training refunds and voids", 3)
        self.training_attention = _table(
            ATTENTION_COLUMNS, "Training payments that need attention", 5
        )
        self.training_attention_title = label("Training needs attention", "SectionTitle")
        training_heading = QHBoxLayout()
        training_heading.setSpacing(10)
        training_heading.addWidget(self.training_badge)
        training_heading.addWidget(self.training_title, 1)
        training = QVBoxLayout(self.training_section)
        training.setContentsMargins(0, 14, 0, 0)
        training.setSpacing(10)
        training.addLayout(training_heading)
        training.addWidget(
            label(
                "Sales made with a sandbox profile and test cards: no money moved, and none "
                "of it is in the totals above.",
                "Hint",
            )
        )
        training.addWidget(self.training_empty)
        training.addLayout(self.training_cards)
        training.addWidget(self.training_totals)
        training.addWidget(label("Training refunds and voids", "SectionTitle"))
        training.addWidget(self.training_reversals)
        training.addWidget(self.training_attention_title)
        training.addWidget(self.training_attention)
        self.training_section.setVisible(False)

        top = QHBoxLayout()
        top.addWidget(label("End of shift", "ScreenTitle"), 1)
        top.addWidget(self.refresh_button)
        top.addWidget(self.export_button)
        dates = QHBoxLayout()
        dates.setSpacing(10)
        dates.addWidget(label("From", "FieldLabel"))
        dates.addWidget(self.date_from)
        dates.addWidget(label("to", "FieldLabel"))
        dates.addWidget(self.date_to)
        dates.addWidget(self.today_button)
        dates.addWidget(self.period, 1)
        dates.addWidget(self.include_training)

        body = QWidget()
        body.setObjectName("Screen")
        content = QVBoxLayout(body)
        content.setContentsMargins(0, 0, 0, 0)
        content.setSpacing(10)
        content.addWidget(self.empty)
        content.addWidget(self.training_hint)
        content.addLayout(self.cards)
        content.addWidget(label("By provider, method and status", "SectionTitle"))
        content.addWidget(self.totals)
        content.addWidget(label("Refunds and voids", "SectionTitle"))
        content.addWidget(self.reversals)
        content.addWidget(self.attention_title)
        content.addWidget(self.attention)
        content.addWidget(self.training_section)
        content.addWidget(self.anchor)
        content.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(body)
        self._scroll = scroll

        layout = QVBoxLayout(self)
        layout.setContentsMargins(28, 24, 28, 24)
        layout.setSpacing(10)
        layout.addLayout(top)
        layout.addLayout(dates)
        layout.addWidget(self.status)
        layout.addWidget(scroll, 1)

        self.refresh_button.clicked.connect(self.refresh)
        self.export_button.clicked.connect(self.export)
        self.today_button.clicked.connect(self.show_today)
        self.include_training.toggled.connect(self._training_toggled)
        self.date_from.dateChanged.connect(self._dates_changed)
        self.date_to.dateChanged.connect(self._dates_changed)
        # Journal writes come in bursts (one sale writes several rows): recalculate once.
        self._reload_soon = QTimer(self)
        self._reload_soon.setSingleShot(True)
        self._reload_soon.setInterval(200)
        self._reload_soon.timeout.connect(self.refresh)
        events.payment_changed.connect(self._payment_changed)
        self.refresh()

    # -- public -------------------------------------------------------------------

    def show_days(self, first: date, last: date) -> None:
        """Show ``first`` to ``last`` inclusive (local days)."""
        self.date_from.blockSignals(True)
        self.date_to.blockSignals(True)
        self.date_from.setDate(QDate(first.year, first.month, first.day))
        self.date_to.setDate(QDate(last.year, last.month, last.day))
        self.date_from.blockSignals(False)
        self.date_to.blockSignals(False)
        self.refresh()

    def show_today(self) -> None:
        today = today_range(zone=self._zone)[0].date()
        self.show_days(today, today)

    def refresh(self) -> None:
        self._reload_soon.stop()
        start, end = self._range()
        self.summary = self._queries.shift_summary(
            start, end, include_training=self.include_training.isChecked()
        )
        self._show(self.summary)

    def export(self) -> None:
        if self.summary is None:
            return
        first, last = self._days()
        suggested = f"shift-{first.isoformat()}" + (
            f"-to-{last.isoformat()}" if last != first else ""
        )
        # A file with training in it says so in its name too.
        suggested += "-with-training.csv" if self.summary.training is not None else ".csv"
        path = self.choose_file(self, suggested)
        if path is None:
            return
        try:
            export_csv(self.summary, path, self._zone)
        except OSError as error:
            self._say(f"Could not save {path.name}: {error.strerror or error}")
            return
        self._say(f"Saved to {path}")

    def shutdown(self) -> None:
        self._reload_soon.stop()

    # -- internals -----------------------------------------------------------------

    def _date_field(self, name: str, day: date) -> QDateEdit:
        field = QDateEdit(QDate(day.year, day.month, day.day))
        field.setDisplayFormat("yyyy-MM-dd")
        field.setCalendarPopup(True)
        field.setAccessibleName(name)
        return field

    def _days(self) -> tuple[date, date]:
        first = self.date_from.date().toPython()
        last = self.date_to.date().toPython()
        assert isinstance(first, date)
        assert isinstance(last, date)
        return (first, last) if first <= last else (last, first)

    def _range(self) -> tuple[datetime, datetime]:
        first, last = self._days()
        return day_range(first, self._zone)[0], day_range(last, self._zone)[1]

    def _payment_changed(self, _reference: str) -> None:
        # Summing months takes seconds on a busy journal: only a shift or a week follows
        # each sale; longer ranges wait for Refresh.
        first, last = self._days()
        if (last - first).days < AUTO_REFRESH_DAYS:
            self._reload_soon.start()

    def _dates_changed(self) -> None:
        self.status.setText("")
        self.refresh()

    def _training_toggled(self, checked: bool) -> None:
        self.status.setText("")
        self.refresh()
        if checked:  # what was asked for comes into view, once the layout has placed it
            QTimer.singleShot(0, self, self._show_training_section)

    def _show_training_section(self) -> None:
        if self.training_section.isVisible():
            self._scroll.ensureWidgetVisible(self.training_section, 0, 0)

    def _say(self, text: str) -> None:
        self.status.setText(text)
        announce(self.status, text)

    def _money(self, minor: int, currency: str) -> str:
        return format_money(Money(minor, currency), self._locale)

    def _time(self, moment: datetime) -> str:
        local = moment.astimezone(self._zone) if self._zone else moment.astimezone()
        return local.strftime("%Y-%m-%d %H:%M")

    def _show(self, summary: ShiftSummary) -> None:
        first, last = self._days()
        days = first.isoformat() if first == last else f"{first.isoformat()} to {last.isoformat()}"
        count = sum(t.count for t in summary.currencies)
        self.period.setText(f"{days}: {count:,} payment{'s' if count != 1 else ''}")
        if summary.anchor is not None:
            self.anchor.setText(
                f"Audit trail anchor: {summary.anchor.short} — write it on the shift sheet; "
                "the till checks its trail still contains it."
            )
            if self.keep_anchor is not None:
                self.keep_anchor(summary.anchor)
        self.empty.setVisible(summary.is_empty)
        self.export_button.setEnabled(not summary.nothing_to_export)
        self._show_cards(self.cards, summary.currencies, training=False)
        self._fill_totals(self.totals, summary.rows)
        self._fill_reversals(self.reversals, summary.reversals)
        self._show_training(summary)
        self._fill_attention(
            self.attention, self.attention_title, summary.attention, summary.attention_total
        )

    def _fill_attention(
        self,
        table: QTableWidget,
        title: QLabel,
        payments: Sequence[PaymentRecord],
        total: int,
        *,
        heading: str = "Needs attention",
    ) -> None:
        _fill(
            table,
            [
                (
                    self._time(p.created_at),
                    p.reference,
                    PROVIDER_NAMES.get(p.provider, p.provider),
                    state_label(p.state),
                    format_money(p.amount, self._locale),
                    attention_reason(p),
                )
                for p in payments
            ],
            frozenset({4}),
        )
        more = f" (first {len(payments):,} of {total:,})" if total > len(payments) else ""
        title.setText(f"{heading}: {total:,}{more}")

    def _show_training(self, summary: ShiftSummary) -> None:
        """The hint that counts training sales, and their own section when asked for."""
        count = summary.training_count
        sales = f"{count:,} training sale{'s' if count != 1 else ''} (not real money)"
        training = summary.training
        if training is None:
            hint = f"{sales} left out of these totals." if count else ""
        else:
            hint = f"{sales} shown apart below, under {TRAINING_TITLE}." if count else ""
        self.training_hint.setText(hint)
        self.training_hint.setVisible(bool(hint))
        self.training_section.setVisible(training is not None)
        currencies = training.currencies if training is not None else []
        self._show_cards(self.training_cards, currencies, training=True)
        self._fill_totals(self.training_totals, training.rows if training is not None else [])
        self._fill_reversals(
            self.training_reversals, training.reversals if training is not None else []
        )
        self.training_empty.setVisible(training is not None and training.is_empty)
        self._fill_attention(
            self.training_attention,
            self.training_attention_title,
            training.attention if training is not None else [],
            training.attention_total if training is not None else 0,
            heading="Training needs attention",
        )
        wanted = training is not None and training.attention_total > 0
        self.training_attention_title.setVisible(wanted)
        self.training_attention.setVisible(wanted)

    def _fill_totals(self, table: QTableWidget, rows: Sequence[TotalRow]) -> None:
        _fill(
            table,
            [
                (
                    PROVIDER_NAMES.get(t.provider, t.provider),
                    method_name(t.method),
                    _state(t.state),
                    f"{t.count:,}",
                    self._money(t.amount_minor, t.currency),
                    self._money(t.captured_minor, t.currency),
                    self._money(t.refunded_minor, t.currency),
                )
                for t in rows
            ],
            frozenset({3, 4, 5, 6}),
        )

    def _fill_reversals(self, table: QTableWidget, rows: Sequence[ReversalRow]) -> None:
        _fill(
            table,
            [
                (
                    self._time(r.at),
                    r.reference,
                    "Refund" if r.operation is Operation.REFUND else "Void",
                    PROVIDER_NAMES.get(r.provider, r.provider),
                    self._money(r.amount_minor, r.currency),
                )
                for r in rows
            ],
            frozenset({4}),
        )

    def _show_cards(
        self, cards: QHBoxLayout, currencies: Sequence[CurrencyTotal], *, training: bool
    ) -> None:
        """One card per currency; a training card says so on it and in each accessible name
        ("Training net USD"), so it is never read as the takings."""
        while cards.count():
            item = cards.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.setParent(None)  # out of the screen now, not at the next event loop turn
                widget.deleteLater()
        for total in currencies:
            card = QFrame()
            card.setObjectName("Card")
            layout = QVBoxLayout(card)
            layout.setContentsMargins(20, 16, 20, 16)
            layout.setSpacing(4)
            noun = "payment" if total.count == 1 else "payments"
            kind = "training " if training else ""
            layout.addWidget(
                label(f"{total.currency} · {total.count:,} {kind}{noun}", "SectionTitle")
            )
            net = label(format_money(total.net, self._locale), "ShiftNet")
            layout.addWidget(net)
            lines = [("Net", net)]
            for name, money in (("Captured", total.captured), ("Refunded", total.refunded)):
                line = label(f"{name} {format_money(money, self._locale)}", "Hint")
                layout.addWidget(line)
                lines.append((name, line))
            if training:
                layout.addWidget(label("Not real money", "TrainingBadge"))
            kind_name = "Training " if training else ""
            card.setAccessibleName(f"{kind_name}{total.currency} totals")
            for name, line in lines:
                line.setAccessibleName(f"{_named(name, training)} {total.currency}")
            cards.addWidget(card)
        cards.addStretch(1)
