"""End of shift: what was taken, given back and left open over a time range, and its CSV.

The range is half-open (``start`` ≤ t < ``end``); by default it is today in the till's
local time. Totals count payments started in the range; refunds and voids are listed by when
the provider confirmed them. The CSV (RFC 4180, UTF-8, one header) writes amounts as
decimal strings in major units beside their currency code, so a spreadsheet never sees a
float and never mixes currencies.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Final, TextIO

from pos_app.domain.money import Money
from pos_app.journal.audit import AuditAnchor, AuditLog
from pos_app.journal.reports import ReversalRow, TotalRow, connection_of, reversals, totals
from pos_app.journal.search import PaymentFilter
from pos_app.journal.store import JournalStore, PaymentRecord, utc_now

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
class ShiftSummary:
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

    @property
    def is_empty(self) -> bool:
        return not (self.rows or self.reversals or self.attention)


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


def summarize(journal: JournalStore, start: datetime, end: datetime) -> ShiftSummary:
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("A shift's start and end must be timezone-aware")
    if end <= start:
        raise ValueError("A shift must end after it starts")
    conn = connection_of(journal)
    rows = totals(conn, start, end)
    flagged = PaymentFilter(created_from=start, created_to=end, needs_attention=True)
    attention = journal.page_payments(
        offset=0, limit=ATTENTION_LIMIT, order_by="created_at", descending=False, search=flagged
    )
    attention_total = (
        len(attention) if len(attention) < ATTENTION_LIMIT else journal.count_payments(flagged)
    )
    return ShiftSummary(
        start=start,
        end=end,
        rows=rows,
        reversals=reversals(conn, start, end),
        attention=attention,
        attention_total=attention_total,
        currencies=_by_currency(rows),
        anchor=AuditLog(conn).head(),
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
    """The summary as CSV rows: ``total`` per group, then ``refund``/``void``, ``attention``.

    ``out`` must be opened with ``newline=""`` (the csv module writes RFC 4180's CRLF).
    Times are local ISO-8601 with their UTC offset.
    """
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    writer.writerow(_period_row(summary, zone))
    for row in summary.rows:
        writer.writerow(
            (
                "total",
                row.provider,
                row.method,
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
        )
    for reversal in summary.reversals:
        writer.writerow(
            (
                reversal.operation,
                reversal.provider,
                reversal.method,
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
        )
    for payment in summary.attention:
        writer.writerow(
            (
                "attention",
                payment.provider,
                payment.method,
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
        )
    if summary.anchor is not None:
        # count: the trail's entries; note: the head's full hash (see AuditLog.verify).
        anchor = summary.anchor
        stamp = _stamp(summary.end, zone)
        writer.writerow(
            ("audit_anchor", "", "", "", "", stamp, anchor.entries, "", "", "", "", anchor.hash)
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
