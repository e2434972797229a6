"""The end-of-shift screen: what a manager reads at closing time, and the CSV they save."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import QLabel, QTableWidget

from pos_app.domain.money import Money
from pos_app.gui.screens.shift_summary import ShiftSummaryScreen
from pos_app.journal.audit import AuditAction, AuditAnchor, AuditLog
from tests.gui.bridging import bridged
from tests.unit.test_shift import EXPECTED_CSV
from tests.unit.test_shift_journal import DAY, trading_day

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from pytestqt.qtbot import QtBot

    from pos_app.journal.store import JournalStore


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[JournalStore]:
    store = trading_day(tmp_path / "journal.sqlite3")
    yield store
    store.close()


@pytest.fixture
def screen(qtbot: QtBot, journal: JournalStore) -> Iterator[ShiftSummaryScreen]:
    widget = ShiftSummaryScreen(*bridged(journal), locale="en_US", zone=UTC)
    qtbot.addWidget(widget)
    widget.show_days(DAY.date(), DAY.date())
    yield widget
    widget.shutdown()


def cells(table: QTableWidget) -> list[tuple[str, ...]]:
    return [
        tuple(table.item(r, c).text() for c in range(table.columnCount()))
        for r in range(table.rowCount())
    ]


def text_of(screen: ShiftSummaryScreen, name: str) -> str:
    found = [w for w in screen.findChildren(QLabel) if w.accessibleName() == name]
    assert len(found) == 1, name
    return found[0].text()


def test_the_day_reads_as_totals_per_currency_and_group(screen: ShiftSummaryScreen) -> None:
    assert screen.period.text() == "2026-01-10: 7 payments"
    assert screen.empty.isHidden()
    # Net is captured minus refunded, each currency on its own card.
    assert text_of(screen, "Net USD") == "$30.99"
    assert text_of(screen, "Refunded USD") == "Refunded $2.50"
    assert text_of(screen, "Net EUR") == "€0.00"
    assert cells(screen.totals) == [
        ("Checkout.com", "Card charged directly", "Authorized", "1", "$25.00", "$0.00", "$0.00"),
        ("Checkout.com", "Card charged directly", "Voided", "1", "€50.00", "€0.00", "€0.00"),
        ("JustiFi", "Hosted checkout", "Paid", "2", "$23.49", "$23.49", "$0.00"),
        ("JustiFi", "Hosted checkout", "Partly refunded", "1", "$10.00", "$10.00", "$2.50"),
        ("Payfect", "Hosted checkout", "Checking…", "1", "$120.00", "$0.00", "$0.00"),
        ("ReCharge", "Pay by link", "Declined", "1", "$3.00", "$0.00", "$0.00"),
    ]


def test_refunds_voids_and_payments_to_check_are_listed(screen: ShiftSummaryScreen) -> None:
    assert cells(screen.reversals) == [
        ("2026-01-10 08:00", "S-20260109-OLD001", "Refund", "JustiFi", "$9.99"),
        ("2026-01-10 11:00", "S-20260110-AAAAA2", "Refund", "JustiFi", "$2.50"),
        ("2026-01-10 13:00", "S-20260110-AAAAA3", "Void", "Checkout.com", "€50.00"),
    ]
    assert screen.attention_title.text() == "Needs attention: 3"
    assert [row[1] for row in cells(screen.attention)] == [
        "S-20260110-AAAAA4",
        "S-20260110-AAAAA5",
        "S-20260110-AAAAA6",
    ]
    assert cells(screen.attention)[2][5] == "Authorization about to expire: capture or void it."


def test_export_writes_the_csv_where_the_user_chose(
    qtbot: QtBot, screen: ShiftSummaryScreen, tmp_path: Path
) -> None:
    offered: list[str] = []

    def choose(_parent: object, suggested: str) -> Path:
        offered.append(suggested)
        return tmp_path / "closing.csv"

    screen.choose_file = choose
    qtbot.mouseClick(screen.export_button, Qt.MouseButton.LeftButton)
    assert offered == ["shift-2026-01-10.csv"]
    assert (tmp_path / "closing.csv").read_bytes() == EXPECTED_CSV.encode("utf-8")
    assert screen.status.text() == f"Saved to {tmp_path / 'closing.csv'}"


def test_a_cancelled_or_failed_export_says_so_and_writes_nothing(
    qtbot: QtBot, screen: ShiftSummaryScreen, tmp_path: Path
) -> None:
    screen.choose_file = lambda _parent, _name: None
    qtbot.mouseClick(screen.export_button, Qt.MouseButton.LeftButton)
    assert screen.status.text() == ""
    assert list(tmp_path.glob("*.csv")) == []

    screen.choose_file = lambda _parent, _name: tmp_path / "gone" / "closing.csv"
    qtbot.mouseClick(screen.export_button, Qt.MouseButton.LeftButton)
    assert screen.status.text().startswith("Could not save closing.csv")
    assert not (tmp_path / "gone").exists()


def test_a_quiet_day_shows_an_empty_summary_and_cannot_be_exported(
    screen: ShiftSummaryScreen,
) -> None:
    quiet = (DAY - timedelta(days=3)).date()
    screen.show_days(quiet, quiet)
    assert not screen.empty.isHidden()
    assert not screen.export_button.isEnabled()
    assert screen.totals.rowCount() == screen.reversals.rowCount() == 0
    assert screen.attention_title.text() == "Needs attention: 0"


def test_widening_the_range_and_a_new_sale_update_the_summary(
    qtbot: QtBot, screen: ShiftSummaryScreen, journal: JournalStore
) -> None:
    screen.date_from.setDate(QDate(2026, 1, 9))  # the day before: one more sale
    assert screen.period.text() == "2026-01-09 to 2026-01-10: 8 payments"
    journal.create_payment(
        reference="S-20260110-LATE01",
        profile="Till",
        provider="payfect",
        method="pay_by_link",
        amount=Money(400, "USD"),
        description="Late coffee",
        now=DAY + timedelta(hours=23),
    )
    qtbot.waitUntil(lambda: screen.period.text().endswith(": 9 payments"))
    assert screen.summary is not None
    assert screen.summary.currencies[1].count == 8


def test_it_opens_on_today_in_local_time(qtbot: QtBot, journal: JournalStore) -> None:
    before = datetime.now().astimezone().date()
    widget = ShiftSummaryScreen(*bridged(journal), locale="en_US")
    qtbot.addWidget(widget)
    after = datetime.now().astimezone().date()
    shown = widget.date_from.date().toPython()
    assert shown in (before, after)
    assert widget.date_to.date().toPython() == shown
    assert widget.period.text() == f"{shown.isoformat()}: 0 payments"
    widget.shutdown()


def test_a_long_range_waits_for_refresh_instead_of_summing_months_per_sale(
    qtbot: QtBot, screen: ShiftSummaryScreen, journal: JournalStore
) -> None:
    screen.show_days(DAY.date() - timedelta(days=30), DAY.date())
    assert screen.period.text().endswith(": 8 payments")
    journal.create_payment(
        reference="S-20260110-LATE02",
        profile="Till",
        provider="payfect",
        method="pay_by_link",
        amount=Money(400, "USD"),
        description="Late coffee",
        now=DAY + timedelta(hours=23),
    )
    assert not screen._reload_soon.isActive()  # no recalculation is even scheduled
    assert screen.period.text().endswith(": 8 payments")
    qtbot.mouseClick(screen.refresh_button, Qt.MouseButton.LeftButton)
    assert screen.period.text().endswith(": 9 payments")


def test_the_summary_shows_the_audit_anchor_and_hands_it_on_to_be_kept(
    qtbot: QtBot, journal: JournalStore
) -> None:
    """The head of the trail, printed on the shift sheet (and kept in the keyring by the
    app): a later rewrite of everything before it is found at the next start."""
    audit = AuditLog(journal.connection)
    audit.append(AuditAction.SETTINGS_CHANGED, actor="system", subject="settings")
    kept: list[AuditAnchor] = []
    shown = ShiftSummaryScreen(*bridged(journal), locale="en_US", zone=UTC)
    qtbot.addWidget(shown)
    shown.keep_anchor = kept.append
    shown.show_days(date(2026, 1, 10), date(2026, 1, 10))
    head = audit.head()
    assert kept[-1] == head
    assert head.entries == 1
    assert shown.anchor.text().startswith(f"Audit trail anchor: 1 entries, {head.hash[:16]}")
