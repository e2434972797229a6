"""End of shift: what was taken, given back and left open over a time range, and its CSV.

The range is half-open (``start`` ≤ t < ``end``); by default it is today in the till's
local time. Totals count payments started in the range; refunds and voids are listed by when
the provider confirmed them. The CSV (RFC 4180, UTF-8, one header) writes amounts as
decimal strings in major units beside their currency code, so a spreadsheet never sees a
float and never mixes currencies.

Training (sandbox) sales are real money's opposite: they are left out of every total, list
and CSV row by default, and only counted. Asked for (``include_training``), they come as
their own totals (``ShiftSummary.training``), never added into the real ones; the CSV then
gets an ``environment`` column on every row and ``training_…`` sections of its own. Payments
recorded before the journal kept environments count as real money (journal migration 9).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from typing import TYPE_CHECKING, Final, TextIO

from pos_app.domain.money import Money
from pos_app.journal.audit import AuditAnchor, AuditLog
from pos_app.journal.reports import (
    ReversalRow,
    TotalRow,
    connection_of,
    reversals,
    totals,
    training_count,
)
from pos_app.journal.search import PaymentFilter
from pos_app.journal.store import LIVE, SANDBOX, JournalStore, PaymentRecord, utc_now

if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path

# More than this many payments needing attention is a problem the list would not fix.
ATTENTION_LIMIT: Final = 500

CSV_HEADER: Final = (
    "section",
    "provider",
    "method",
    "state",
    "reference",
    "time",
    "count",
    "amount",
    "captured",
    "refunded",
    "currency",
    "note",
)
# With training included, every row says which money it counts: LIVE (real money, including
# payments recorded before environments were kept) or SANDBOX (training).
ENVIRONMENT_COLUMN: Final = "environment"
TRAINING_SECTION: Final = "training_"  # prefixes total, refund, void and attention rows


@dataclass(frozen=True)
class CurrencyTotal:
    """All payments of the range in one currency."""

    currency: str
    count: int
    amount: Money
    captured: Money
    refunded: Money

    @property
    def net(self) -> Money:
        """What stays with the shop: captured minus refunded."""
        return self.captured - self.refunded


@dataclass(frozen=True)
class TrainingTotals:
    """The range's training (sandbox) sales and their refunds and voids: no real money, and
    never added into the real totals beside them."""

    rows: list[TotalRow]
    reversals: list[ReversalRow]
    currencies: list[CurrencyTotal]
    # Training payments to check (a trainee learns what "in doubt" looks like too).
    attention: list[PaymentRecord] = field(default_factory=list)
    attention_total: int = 0

    @property
    def is_empty(self) -> bool:
        return not (self.rows or self.reversals or self.attention)


@dataclass(frozen=True)
class ShiftSummary:
    """Real money's totals, lists and CSV; training sales are only counted
    (``training_count``) unless asked for, and then apart (``training``)."""

    start: datetime
    end: datetime
    rows: list[TotalRow]
    reversals: list[ReversalRow]
    attention: list[PaymentRecord]
    attention_total: int  # may exceed len(attention), which stops at ATTENTION_LIMIT
    currencies: list[CurrencyTotal] = field(default_factory=list)
    # The audit trail's head when the summary was made: printed, so that a rewrite of the
    # trail before it can be found later (AuditLog.verify(anchor=...)).
    anchor: AuditAnchor | None = None
    # Training sales started in the range: in none of the above, whether shown or not.
    training_count: int = 0
    # Their own totals, refunds and voids when asked for (None: not asked for).
    training: TrainingTotals | None = None

    @property
    def is_empty(self) -> bool:
        """No real payment, refund, void or payment to check (training aside)."""
        return not (self.rows or self.reversals or self.attention)

    @property
    def nothing_to_export(self) -> bool:
        return self.is_empty and (self.training is None or self.training.is_empty)


def day_range(day: date, zone: tzinfo | None = None) -> tuple[datetime, datetime]:
    """Midnight to midnight of ``day`` in ``zone`` (the till's local time when None)."""
    start = _local_midnight(day, zone)
    return start, _local_midnight(day + timedelta(days=1), zone)


def today_range(
    now: datetime | None = None, zone: tzinfo | None = None
) -> tuple[datetime, datetime]:
    moment = now or utc_now()
    local = moment.astimezone(zone) if zone is not None else moment.astimezone()
    return day_range(local.date(), zone)


def summarize(
    journal: JournalStore, start: datetime, end: datetime, *, include_training: bool = False
) -> ShiftSummary:
    """The shift's real money; with ``include_training``, its training sales too, apart."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("A shift's start and end must be timezone-aware")
    if end <= start:
        raise ValueError("A shift must end after it starts")
    conn = connection_of(journal)
    rows = totals(conn, start, end)
    attention, attention_total = _attention(journal, start, end, training=False)
    return ShiftSummary(
        start=start,
        end=end,
        rows=rows,
        reversals=reversals(conn, start, end),
        attention=attention,
        attention_total=attention_total,
        currencies=_by_currency(rows),
        anchor=AuditLog(conn).head(),
        training_count=training_count(conn, start, end),
        training=_training(journal, start, end) if include_training else None,
    )


def _attention(
    journal: JournalStore, start: datetime, end: datetime, *, training: bool
) -> tuple[list[PaymentRecord], int]:
    """The range's payments to check, oldest first, up to ATTENTION_LIMIT, and how many."""
    flagged = PaymentFilter(
        created_from=start, created_to=end, needs_attention=True, training=training
    )
    shown = journal.page_payments(
        offset=0, limit=ATTENTION_LIMIT, order_by="created_at", descending=False, search=flagged
    )
    total = len(shown) if len(shown) < ATTENTION_LIMIT else journal.count_payments(flagged)
    return shown, total


def _training(journal: JournalStore, start: datetime, end: datetime) -> TrainingTotals:
    conn = connection_of(journal)
    rows = totals(conn, start, end, training=True)
    attention, attention_total = _attention(journal, start, end, training=True)
    return TrainingTotals(
        rows=rows,
        reversals=reversals(conn, start, end, training=True),
        currencies=_by_currency(rows),
        attention=attention,
        attention_total=attention_total,
    )


def _by_currency(rows: Iterable[TotalRow]) -> list[CurrencyTotal]:
    sums: dict[str, tuple[int, int, int, int]] = {}
    for row in rows:
        n, amount, captured, refunded = sums.get(row.currency, (0, 0, 0, 0))
        sums[row.currency] = (
            n + row.count,
            amount + row.amount_minor,
            captured + row.captured_minor,
            refunded + row.refunded_minor,
        )
    return [
        CurrencyTotal(code, n, Money(a, code), Money(c, code), Money(r, code))
        for code, (n, a, c, r) in sorted(sums.items())
    ]


# -- CSV --------------------------------------------------------------------------------------


def write_csv(summary: ShiftSummary, out: TextIO, zone: tzinfo | None = None) -> None:
    """The summary as CSV rows: ``total`` per group, then ``refund``/``void``, ``attention``;
    with training included, then ``training_total``, ``training_refund``/``training_void`` and
    ``training_attention``,
    each row ending in its environment.

    ``out`` must be opened with ``newline=""`` (the csv module writes RFC 4180's CRLF).
    Times are local ISO-8601 with their UTC offset.
    """
    writer = csv.writer(out, lineterminator="\r\n")
    training = summary.training

    def put(row: tuple[object, ...], environment: str) -> None:
        writer.writerow(row if training is None else (*row, environment))

    put(CSV_HEADER, ENVIRONMENT_COLUMN)
    put(_period_row(summary, zone), "")
    for row in summary.rows:
        put(_total_row("total", row), LIVE)
    for reversal in summary.reversals:
        put(_reversal_row(reversal.operation.value, reversal, zone), LIVE)
    for payment in summary.attention:
        put(_attention_row("attention", payment, zone), LIVE)
    if training is not None:
        for row in training.rows:
            put(_total_row(TRAINING_SECTION + "total", row), SANDBOX)
        for reversal in training.reversals:
            section = TRAINING_SECTION + reversal.operation.value
            put(_reversal_row(section, reversal, zone), SANDBOX)
        for payment in training.attention:
            put(_attention_row(TRAINING_SECTION + "attention", payment, zone), SANDBOX)
    if summary.anchor is not None:
        # count: the trail's entries; note: the head's full hash (see AuditLog.verify).
        anchor = summary.anchor
        stamp = _stamp(summary.end, zone)
        put(
            ("audit_anchor", "", "", "", "", stamp, anchor.entries, "", "", "", "", anchor.hash), ""
        )


def _attention_row(section: str, payment: PaymentRecord, zone: tzinfo | None) -> tuple[object, ...]:
    return (
        section,
        payment.provider,
        payment.method.value,
        payment.state.value,
        payment.reference,
        _stamp(payment.created_at, zone),
        1,
        payment.amount.plain(),
        payment.captured.plain(),
        payment.refunded.plain(),
        payment.amount.currency,
        attention_reason(payment),
    )


def _total_row(section: str, row: TotalRow) -> tuple[object, ...]:
    return (
        section,
        row.provider,
        row.method.value,
        row.state,
        "",
        "",
        row.count,
        _plain(row.amount_minor, row.currency),
        _plain(row.captured_minor, row.currency),
        _plain(row.refunded_minor, row.currency),
        row.currency,
        "",
    )


def _reversal_row(section: str, reversal: ReversalRow, zone: tzinfo | None) -> tuple[object, ...]:
    return (
        section,
        reversal.provider,
        reversal.method.value,
        reversal.state,
        reversal.reference,
        _stamp(reversal.at, zone),
        1,
        _plain(reversal.amount_minor, reversal.currency),
        "",
        "",
        reversal.currency,
        "",
    )


def export_csv(summary: ShiftSummary, path: Path, zone: tzinfo | None = None) -> None:
    """Write the CSV to ``path`` whole: a half-written file never replaces a good one."""
    partial = path.with_name(path.name + ".partial")
    with partial.open("w", encoding="utf-8", newline="") as out:
        write_csv(summary, out, zone)
    partial.replace(path)


def attention_reason(payment: PaymentRecord) -> str:
    if payment.attention:
        return payment.attention
    if payment.state.value == "in_doubt":
        return "Outcome unknown: check with the provider."
    return "Authorization about to expire: capture or void it."


def _period_row(summary: ShiftSummary, zone: tzinfo | None) -> tuple[str, ...]:
    period = f"{_stamp(summary.start, zone)}/{_stamp(summary.end, zone)}"
    return ("period", "", "", "", "", period, "", "", "", "", "", "")


def _plain(minor: int, currency: str) -> str:
    return Money(minor, currency).plain()


def _stamp(moment: datetime, zone: tzinfo | None) -> str:
    local = moment.astimezone(zone) if zone is not None else moment.astimezone()
    return local.isoformat(timespec="seconds")


def _local_midnight(day: date, zone: tzinfo | None) -> datetime:
    if zone is not None:
        return datetime.combine(day, time(), tzinfo=zone)
    return datetime.combine(day, time()).astimezone()  # local offset of that very midnight
