"""The shift report's SQL: totals per provider, method, state and currency; refunds and voids."""

from __future__ import annotations

from dataclasses import astuple
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from pos_app.journal.reports import TotalRow, connection_of, reversals, totals
from tests.unit.test_shift_journal import DAY, END, START, at, reference, trading_day

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from pos_app.journal.store import JournalStore


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[JournalStore]:
    store = trading_day(tmp_path / "journal.sqlite3")
    yield store
    store.close()


def test_totals_group_the_day_by_provider_method_state_and_currency(
    journal: JournalStore,
) -> None:
    assert totals(connection_of(journal), START, END) == [
        TotalRow("checkout_com", "direct_charge", "authorized", "USD", 1, 2500, 0, 0),
        TotalRow("checkout_com", "direct_charge", "voided", "EUR", 1, 5000, 0, 0),
        TotalRow("justifi", "hosted_checkout", "captured", "USD", 2, 2349, 2349, 0),
        TotalRow("justifi", "hosted_checkout", "partially_refunded", "USD", 1, 1000, 1000, 250),
        TotalRow("payfect", "hosted_checkout", "in_doubt", "USD", 1, 12000, 0, 0),
        TotalRow("recharge", "pay_by_link", "declined", "USD", 1, 300, 0, 0),
    ]


def test_the_range_is_half_open(journal: JournalStore) -> None:
    conn = connection_of(journal)
    yesterday = totals(conn, START - timedelta(days=1), START)
    assert [(t.state, t.count, t.amount_minor) for t in yesterday] == [("refunded", 1, 999)]
    tomorrow = totals(conn, END, END + timedelta(days=1))
    assert [(t.provider, t.count) for t in tomorrow] == [("payfect", 1)]
    assert totals(conn, START + timedelta(hours=22), END) == []


def test_only_confirmed_refunds_and_voids_are_listed_in_the_order_they_happened(
    journal: JournalStore,
) -> None:
    old = reference("OLD001", DAY - timedelta(days=1))
    assert [astuple(r) for r in reversals(connection_of(journal), START, END)] == [
        # Yesterday's sale, refunded this morning.
        (at(8), "refund", old, "justifi", "hosted_checkout", "refunded", "USD", 999),
        (at(11), "refund", reference("AAAAA2"), "justifi", "hosted_checkout", "partially_refunded",
         "USD", 250),
        # A void has no amount of its own: it released the authorization.
        (at(13), "void", reference("AAAAA3"), "checkout_com", "direct_charge", "voided", "EUR",
         5000),
    ]  # fmt: skip
    assert reversals(connection_of(journal), START, at(11)) == reversals(
        connection_of(journal), START, at(10)
    )


def test_the_reports_use_indexes_not_a_scan_of_a_year(journal: JournalStore) -> None:
    conn = connection_of(journal)
    for sql in (
        "SELECT provider, COUNT(*) FROM payments WHERE created_at >= ? AND created_at < ?"
        " GROUP BY provider",
        "SELECT i.id FROM intents i JOIN payments p ON p.id = i.payment_id"
        " WHERE i.resolved_at >= ? AND i.resolved_at < ?",
    ):
        steps = [str(r[3]) for r in conn.execute(f"EXPLAIN QUERY PLAN {sql}", ("a", "b"))]
        assert not [s for s in steps if s.startswith("SCAN")], steps
