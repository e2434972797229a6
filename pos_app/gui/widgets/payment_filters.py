"""The Payments screen's search box and filters, turned into one journal PaymentFilter.

Typing is debounced (one query per pause, not per key); Enter searches at once. Amounts are
typed as money in the till's locale and dates as YYYY-MM-DD; a field that does not parse is
marked and the last good filter stays in force. Training (sandbox) sales are left out until
"Include training sales" is ticked (the list then marks each one TRAINING).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from pos_app.domain.money import MoneyError, parse_amount
from pos_app.domain.payment import PaymentState
from pos_app.gui.messages import PROVIDER_NAMES, STATE_LABELS
from pos_app.gui.widgets.common import announce, label, set_invalid
from pos_app.services.records import PaymentFilter

DEBOUNCE_MS = 300


class FilterInputError(ValueError):
    """A filter field does not parse; ``field`` names it, the message is for the cashier."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class PaymentFilterBar(QWidget):
    changed = Signal(object)  # PaymentFilter

    def __init__(self, *, locale: str, currency: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._locale = locale
        self.currency = currency
        self.search = QLineEdit()
        self.search.setObjectName("FormField")
        self.search.setPlaceholderText(
            "Search: reference, provider id, card last 4 or description  (Ctrl+F)"
        )
        self.search.setAccessibleName("Search payments")
        self.search.setClearButtonEnabled(True)
        self.status = QComboBox()
        self.status.setAccessibleName("Status filter")
        self.status.addItem("Any status", None)
        for state, text in STATE_LABELS.items():
            self.status.addItem(text, state.value)
        self.provider = QComboBox()
        self.provider.setAccessibleName("Provider filter")
        self.provider.addItem("Any provider", None)
        for key, name in PROVIDER_NAMES.items():
            self.provider.addItem(name, key)
        self.attention = QCheckBox("Needs attention")
        self.attention.setAccessibleName("Only payments that need attention")
        self.training = QCheckBox("Include training sales")
        self.training.setAccessibleName("Include training sales, marked TRAINING")
        self.amount_from = self._field("Amount from", "From")
        self.amount_to = self._field("Amount to", "To")
        self.date_from = self._field("Date from", "YYYY-MM-DD")
        self.date_to = self._field("Date to", "YYYY-MM-DD")
        self.clear_button = QPushButton("Clear  Esc")
        self.clear_button.setAccessibleName("Clear the search and filters")
        self.error = label("", "FieldError")
        self.error.setAccessibleName("Filter problem")

        first = QHBoxLayout()
        first.setSpacing(10)
        first.addWidget(self.search, 1)
        first.addWidget(self.status)
        first.addWidget(self.provider)
        first.addWidget(self.attention)
        first.addWidget(self.training)
        second = QHBoxLayout()
        second.setSpacing(10)
        second.addLayout(self._range("Amount", self.amount_from, self.amount_to))
        second.addSpacing(14)
        second.addLayout(self._range("Date", self.date_from, self.date_to))
        second.addStretch(1)
        second.addWidget(self.clear_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        layout.addLayout(first)
        layout.addLayout(second)
        layout.addWidget(self.error)
        self.error.setVisible(False)

        # Typing waits for a pause; picking from a list or Enter applies at once.
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(DEBOUNCE_MS)
        self._debounce.timeout.connect(self.apply)
        for field in (self.search, self.amount_from, self.amount_to, self.date_from, self.date_to):
            field.textEdited.connect(self._typed)
            field.returnPressed.connect(self.apply)
        self.status.currentIndexChanged.connect(self.apply)
        self.provider.currentIndexChanged.connect(self.apply)
        self.attention.toggled.connect(self.apply)
        self.training.toggled.connect(self.apply)
        self.clear_button.clicked.connect(self.clear)
        self._applied = PaymentFilter(training=False)  # real money only, until asked

    def _field(self, accessible: str, placeholder: str) -> QLineEdit:
        widget = QLineEdit()
        widget.setObjectName("FormField")
        widget.setAccessibleName(accessible)
        widget.setPlaceholderText(placeholder)
        widget.setFixedWidth(136)
        return widget

    def _range(self, title: str, low: QLineEdit, high: QLineEdit) -> QHBoxLayout:
        row = QHBoxLayout()
        row.setSpacing(6)
        caption = label(title, "FieldLabel")
        caption.setWordWrap(False)
        caption.setBuddy(low)
        row.addWidget(caption)
        row.addWidget(low)
        row.addWidget(label("–", "Hint"))
        row.addWidget(high)
        return row

    # -- public -------------------------------------------------------------------

    @property
    def applied(self) -> PaymentFilter:
        """The filter the table shows now."""
        return self._applied

    def focus_search(self) -> None:
        self.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search.selectAll()

    def apply(self) -> None:
        """Use what is typed now; a field that does not parse is marked instead."""
        self._debounce.stop()
        try:
            search = self.current_filter()
        except FilterInputError as error:
            self._show_error(error.field, str(error))
            return
        self._show_error(None, "")
        if search != self._applied:
            self._applied = search
            self.changed.emit(search)

    def clear(self) -> None:
        for widget in (self.status, self.provider, self.attention, self.training):
            widget.blockSignals(True)
        self.status.setCurrentIndex(0)
        self.provider.setCurrentIndex(0)
        self.attention.setChecked(False)
        self.training.setChecked(False)
        for widget in (self.status, self.provider, self.attention, self.training):
            widget.blockSignals(False)
        for field in (self.search, self.amount_from, self.amount_to, self.date_from, self.date_to):
            field.blockSignals(True)
            field.clear()
            field.blockSignals(False)
        self.apply()
        self.focus_search()

    def current_filter(self) -> PaymentFilter:
        """The filter as typed, or FilterInputError naming the first field that is wrong."""
        low = self._amount(self.amount_from, "amount_from")
        high = self._amount(self.amount_to, "amount_to")
        if low is not None and high is not None and low > high:
            raise FilterInputError("amount_to", "The “to” amount is below the “from” amount.")
        start = self._date(self.date_from, "date_from")
        end = self._date(self.date_to, "date_to")
        if start is not None and end is not None and start > end:
            raise FilterInputError("date_to", "The “to” date is before the “from” date.")
        state = self.status.currentData()
        provider = self.provider.currentData()
        return PaymentFilter(
            text=self.search.text().strip(),
            amount_min=low,
            amount_max=high,
            created_from=_local_midnight(start) if start else None,
            # "to" is the last day shown, so the bound is the next midnight.
            created_to=_local_midnight(end + timedelta(days=1)) if end else None,
            providers=frozenset({str(provider)}) if provider else frozenset(),
            states=frozenset({PaymentState(state)}) if state else frozenset(),
            needs_attention=self.attention.isChecked(),
            # Ticked: both, each training sale marked; else real money only.
            training=None if self.training.isChecked() else False,
        )

    # -- internals -----------------------------------------------------------------

    def _typed(self, _text: str = "") -> None:
        self._debounce.start()

    def _amount(self, field: QLineEdit, name: str) -> int | None:
        text = field.text().strip()
        if not text:
            return None
        try:
            return parse_amount(text, self.currency, locale=self._locale, allow_zero=True).minor
        except MoneyError as error:
            raise FilterInputError(name, str(error)) from error

    def _date(self, field: QLineEdit, name: str) -> date | None:
        text = field.text().strip()
        if not text:
            return None
        try:
            return date.fromisoformat(text)
        except ValueError as error:
            raise FilterInputError(name, "Type dates as YYYY-MM-DD, e.g. 2026-11-22.") from error

    def _show_error(self, field: str | None, message: str) -> None:
        self.error.setText(message)
        self.error.setVisible(bool(message))
        if message:
            announce(self.error, message)
        for name, widget in (
            ("amount_from", self.amount_from),
            ("amount_to", self.amount_to),
            ("date_from", self.date_from),
            ("date_to", self.date_to),
        ):
            set_invalid(widget, name == field)


def _local_midnight(day: date) -> datetime:
    """The start of ``day`` on this till's clock, as an aware datetime."""
    return datetime(day.year, day.month, day.day).astimezone()
