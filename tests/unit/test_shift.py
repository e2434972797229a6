"""End of shift: the summary of a day and its CSV export, exactly as a spreadsheet reads it."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import pytest

from pos_app.domain.money import Money
from pos_app.journal.store import JournalStore
from pos_app.services.shift import (
    CurrencyTotal,
    day_range,
    export_csv,
    summarize,
    today_range,
    write_csv,
)
from tests.unit.test_shift_journal import END, START, reference, trading_day

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

EXPECTED_CSV = (
    "section,provider,method,state,reference,time,count,amount,captured,refunded,currency,note\r\n"
    "period,,,,,2026-01-10T00:00:00+00:00/2026-01-11T00:00:00+00:00,,,,,,\r\n"
    "total,checkout_com,direct_charge,authorized,,,1,25.00,0.00,0.00,USD,\r\n"
    "total,checkout_com,direct_charge,voided,,,1,50.00,0.00,0.00,EUR,\r\n"
    "total,justifi,hosted_checkout,captured,,,2,23.49,23.49,0.00,USD,\r\n"
    "total,justifi,hosted_checkout,partially_refunded,,,1,10.00,10.00,2.50,USD,\r\n"
    "total,payfect,hosted_checkout,in_doubt,,,1,120.00,0.00,0.00,USD,\r\n"
    "total,recharge,pay_by_link,declined,,,1,3.00,0.00,0.00,USD,\r\n"
    "refund,justifi,hosted_checkout,refunded,S-20260109-OLD001,2026-01-10T08:00:00+00:00,"
    "1,9.99,,,USD,\r\n"
    "refund,justifi,hosted_checkout,partially_refunded,S-20260110-AAAAA2,"
    "2026-01-10T11:00:00+00:00,1,2.50,,,USD,\r\n"
    "void,checkout_com,direct_charge,voided,S-20260110-AAAAA3,2026-01-10T13:00:00+00:00,"
    "1,50.00,,,EUR,\r\n"
    "attention,recharge,pay_by_link,declined,S-20260110-AAAAA4,2026-01-10T14:00:00+00:00,"
    '1,3.00,0.00,0.00,USD,"Could not check: ""timed out"", retry."\r\n'
    "attention,payfect,hosted_checkout,in_doubt,S-20260110-AAAAA5,2026-01-10T15:00:00+00:00,"
    "1,120.00,0.00,0.00,USD,Outcome unknown: check with the provider.\r\n"
    "attention,checkout_com,direct_charge,authorized,S-20260110-AAAAA6,"
    "2026-01-10T16:00:00+00:00,1,25.00,0.00,0.00,USD,"
    "Authorization about to expire: capture or void it.\r\n"
    # The audit trail's head (none written in this journal): count and full hash.
    "audit_anchor,,,,,2026-01-11T00:00:00+00:00,0,,,,," + "0" * 64 + "\r\n"
)


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[JournalStore]:
    store = trading_day(tmp_path / "journal.sqlite3")
    yield store
    store.close()


def test_the_summary_totals_each_currency_apart(journal: JournalStore) -> None:
    summary = summarize(journal, START, END)
    assert summary.currencies == [
        CurrencyTotal("EUR", 1, Money(5000, "EUR"), Money(0, "EUR"), Money(0, "EUR")),
        CurrencyTotal("USD", 6, Money(18149, "USD"), Money(3349, "USD"), Money(250, "USD")),
    ]
    assert summary.currencies[1].net == Money(3099, "USD")
    assert [r.reference for r in summary.reversals] == [
        reference("OLD001", START - timedelta(days=1)),
        reference("AAAAA2"),
        reference("AAAAA3"),
    ]
    assert [p.reference for p in summary.attention] == [
        reference(s) for s in ("AAAAA4", "AAAAA5", "AAAAA6")
    ]
    assert summary.attention_total == 3
    assert not summary.is_empty


def test_a_quiet_day_is_empty(journal: JournalStore) -> None:
    summary = summarize(journal, START - timedelta(days=5), START - timedelta(days=4))
    assert summary.is_empty
    assert summary.currencies == []
    assert summary.attention_total == 0


def test_the_csv_is_exactly_rfc_4180_with_decimal_amounts(journal: JournalStore) -> None:
    out = io.StringIO(newline="")
    write_csv(summarize(journal, START, END), out, UTC)
    assert out.getvalue() == EXPECTED_CSV


def test_the_exported_file_is_utf8_and_reads_back_as_the_same_rows(
    journal: JournalStore, tmp_path: Path
) -> None:
    target = tmp_path / "Schicht – 10. Januar.csv"
    target.write_text("an older export", encoding="utf-8")
    export_csv(summarize(journal, START, END), target, UTC)
    assert target.read_bytes() == EXPECTED_CSV.encode("utf-8")
    assert list(tmp_path.glob("*.partial")) == []
    with target.open(encoding="utf-8", newline="") as back:
        rows = list(csv.DictReader(back))
    assert rows[3]["amount"] == "23.49"
    assert rows[3]["currency"] == "USD"
    assert rows[10]["note"] == 'Could not check: "timed out", retry.'


def test_amounts_keep_each_currency_s_own_decimals(tmp_path: Path) -> None:
    store = JournalStore.open(tmp_path / "j.sqlite3")
    for n, (minor, currency) in enumerate([(1799, "JPY"), (1500, "KWD"), (5, "USD")]):
        store.create_payment(
            reference=f"S-20260110-CUR00{n}",
            profile="Till",
            provider="checkout_com",
            method="direct_charge",
            amount=Money(minor, currency),
            description="x",
            now=START + timedelta(hours=n),
        )
    out = io.StringIO(newline="")
    write_csv(summarize(store, START, END), out, UTC)
    store.close()
    totals = [row for row in csv.reader(io.StringIO(out.getvalue())) if row[0] == "total"]
    assert [(row[7], row[10]) for row in totals] == [
        ("1799", "JPY"),
        ("1.500", "KWD"),
        ("0.05", "USD"),
    ]


def test_a_day_is_local_midnight_to_midnight_even_across_a_clock_change() -> None:
    new_york = ZoneInfo("America/New_York")
    start, end = day_range(date(2026, 3, 8), new_york)  # clocks go forward at 2:00
    assert start == datetime(2026, 3, 8, tzinfo=new_york)
    assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=23)
    late_evening = datetime(2026, 3, 9, 3, 30, tzinfo=UTC)  # 23:30 on the 8th in New York
    assert today_range(late_evening, new_york) == (start, end)


def test_a_range_without_a_zone_or_backwards_is_refused(journal: JournalStore) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        summarize(journal, datetime(2026, 1, 10), END)
    with pytest.raises(ValueError, match="end after"):
        summarize(journal, END, START)
