"""Shift reports: totals and refund/void lists over a time range, computed in SQL.

Every amount stays an integer of minor units per currency: SQLite sums INTEGER columns
exactly, and nothing here ever becomes a float.

Training and real money are never summed together: each report is of real money (live
payments, and those recorded before environments were kept) unless ``training`` asks for
the sandbox's payments instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pos_app.domain.vocabulary import Operation, PaymentMethod
from pos_app.journal.search import environment_clause
from pos_app.journal.times import from_db, to_db

if TYPE_CHECKING:
    import sqlite3
    from datetime import datetime

    from pos_app.journal.store import JournalStore

# Intents whose action the provider confirmed: at once, or by a later lookup.
CONFIRMED_OUTCOMES = ("succeeded", "resolved")
REVERSALS = (Operation.REFUND.value, Operation.VOID.value)


@dataclass(frozen=True)
class TotalRow:
    """Payments started in the range with one provider, method, state and currency."""

    provider: str
    method: PaymentMethod  # as ``PaymentRecord.method``: an unlisted one is kept as stored
    state: str
    currency: str
    count: int
    amount_minor: int  # what was asked
    captured_minor: int
    refunded_minor: int


@dataclass(frozen=True)
class ReversalRow:
    """A confirmed refund or void whose outcome was recorded in the range."""

    at: datetime
    operation: Operation  # REFUND or VOID
    reference: str
    provider: str
    method: PaymentMethod
    state: str  # the payment's state now
    currency: str
    amount_minor: int


def connection_of(journal: JournalStore) -> sqlite3.Connection:
    # Reports are read-only SQL over the journal's own connection (same thread, same file).
    return journal.connection


def totals(
    conn: sqlite3.Connection, start: datetime, end: datetime, *, training: bool = False
) -> list[TotalRow]:
    """Counts and sums per provider, method, state and currency; ``start`` ≤ created < ``end``;
    of real money, or (``training``) of the training sales only."""
    rows = conn.execute(
        "SELECT provider, method, state, currency, COUNT(*) AS n,"  # noqa: S608 - fixed clause
        " SUM(amount_minor) AS amount, SUM(captured_minor) AS captured,"
        " SUM(refunded_minor) AS refunded"
        " FROM payments WHERE created_at >= ? AND created_at < ?"
        f" AND {environment_clause(training)}"
        " GROUP BY provider, method, state, currency"
        " ORDER BY provider, method, state, currency",
        (to_db(start), to_db(end)),
    ).fetchall()
    return [
        TotalRow(
            provider=str(r["provider"]),
            method=PaymentMethod.recorded(str(r["method"])),
            state=str(r["state"]),
            currency=str(r["currency"]),
            count=int(r["n"]),
            amount_minor=int(r["amount"]),
            captured_minor=int(r["captured"]),
            refunded_minor=int(r["refunded"]),
        )
        for r in rows
    ]


def reversals(
    conn: sqlite3.Connection, start: datetime, end: datetime, *, training: bool = False
) -> list[ReversalRow]:
    """Confirmed refunds and voids, oldest first, by when their outcome was recorded; of real
    money, or (``training``) of training sales only.

    A void's intent carries no amount (it releases the whole authorization), so its amount
    is the payment's authorized amount.
    """
    rows = conn.execute(
        "SELECT i.resolved_at, i.operation, p.reference, p.provider, p.method, p.state,"  # noqa: S608
        " COALESCE(i.currency, p.currency) AS currency,"
        " COALESCE(i.amount_minor, p.authorized_minor) AS amount"
        " FROM intents i JOIN payments p ON p.id = i.payment_id"
        " WHERE i.operation IN (?, ?) AND i.outcome IN (?, ?)"
        " AND i.resolved_at >= ? AND i.resolved_at < ?"
        f" AND {environment_clause(training, 'p')}"
        " ORDER BY i.resolved_at, i.id",
        (*REVERSALS, *CONFIRMED_OUTCOMES, to_db(start), to_db(end)),
    ).fetchall()
    return [
        ReversalRow(
            at=from_db(str(r["resolved_at"])),
            operation=Operation(str(r["operation"])),
            reference=str(r["reference"]),
            provider=str(r["provider"]),
            method=PaymentMethod.recorded(str(r["method"])),
            state=str(r["state"]),
            currency=str(r["currency"]),
            amount_minor=int(r["amount"]),
        )
        for r in rows
    ]


def training_count(conn: sqlite3.Connection, start: datetime, end: datetime) -> int:
    """How many training (sandbox) sales were started in the range."""
    row = conn.execute(
        "SELECT COUNT(*) FROM payments"  # noqa: S608 - fixed clause
        f" WHERE {environment_clause(True)} AND created_at >= ? AND created_at < ?",
        (to_db(start), to_db(end)),
    ).fetchone()
    return int(row[0])


def refunds_asked_since(
    conn: sqlite3.Connection, start: datetime, currency: str, *, training: bool = False
) -> int:
    """Minor units of ``currency`` refunded, or sent to be refunded and not yet settled, since
    ``start``: what a shift's refund limit counts (a lost answer counts until it is proved
    not to have happened). Real money and training are counted apart (``training``)."""
    row = conn.execute(
        "SELECT COALESCE(SUM(i.amount_minor), 0) FROM intents i"  # noqa: S608 - fixed clause
        " JOIN payments p ON p.id = i.payment_id"
        " WHERE i.operation = ? AND i.currency = ? AND i.created_at >= ?"
        " AND (i.outcome IS NULL OR i.outcome IN ('succeeded', 'resolved', 'unknown'))"
        f" AND {environment_clause(training, 'p')}",
        (Operation.REFUND.value, currency, to_db(start)),
    ).fetchone()
    return int(row[0])
