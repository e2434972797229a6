"""The payments table pages from the journal and sorts in SQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt

from pos_app.domain.money import Money
from pos_app.domain.payment import PaymentState
from pos_app.gui.models.payment_history_model import HistoryRow, PaymentHistoryModel
from pos_app.gui.models.payments_model import PAGE_SIZE, PaymentsTableModel
from pos_app.journal.search import PaymentFilter
from pos_app.journal.store import JournalStore
from pos_app.services.queries import PaymentQueries

if TYPE_CHECKING:
    from pathlib import Path

    from pytestqt.modeltest import ModelTester
    from pytestqt.qtbot import QtBot

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def journal_with(tmp_path: Path, count: int) -> JournalStore:
    journal = JournalStore.open(tmp_path / "journal.sqlite3")
    for n in range(count):
        journal.create_payment(
            reference=f"S-{n:05d}",
            profile="p",
            provider="justifi",
            method="hosted_checkout",
            amount=Money(100 + n, "USD"),
            description=f"Sale {n}",
            now=T0 + timedelta(seconds=n),
        )
    journal.update_payment("S-00001", now=T0, state=PaymentState.DECLINED, note="declined")
    return journal


def test_model_is_a_well_behaved_qt_model(qtmodeltester: ModelTester, tmp_path: Path) -> None:
    model = PaymentsTableModel(PaymentQueries(journal_with(tmp_path, 30)), locale="en_US")
    qtmodeltester.check(model)


def test_rows_are_loaded_a_page_at_a_time(tmp_path: Path) -> None:
    model = PaymentsTableModel(
        PaymentQueries(journal_with(tmp_path, PAGE_SIZE + 50)), locale="en_US"
    )
    assert model.total == PAGE_SIZE + 50
    assert model.rowCount() == PAGE_SIZE
    assert model.canFetchMore()
    model.fetchMore()
    assert model.rowCount() == PAGE_SIZE + 50
    assert not model.canFetchMore()


def test_newest_first_then_sorted_by_any_column(tmp_path: Path) -> None:
    model = PaymentsTableModel(PaymentQueries(journal_with(tmp_path, 5)), locale="en_US")
    assert [model.index(r, 1).data() for r in range(5)] == [
        "S-00004",
        "S-00003",
        "S-00002",
        "S-00001",
        "S-00000",
    ]
    model.sort(3, Qt.SortOrder.AscendingOrder)  # amount
    assert [model.index(r, 3).data() for r in range(3)] == ["$1.00", "$1.01", "$1.02"]
    assert model.index(1, 4).data() == "Declined"
    assert model.index(0, 3).data(Qt.ItemDataRole.TextAlignmentRole) == int(
        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
    )


def test_a_filter_narrows_the_rows_and_the_count_and_keeps_the_sort(tmp_path: Path) -> None:
    model = PaymentsTableModel(PaymentQueries(journal_with(tmp_path, 30)), locale="en_US")
    model.sort(3, Qt.SortOrder.AscendingOrder)
    model.set_filter(PaymentFilter(amount_min=110, amount_max=114))
    assert model.total == 5
    assert [model.index(r, 3).data() for r in range(model.rowCount())] == [
        "$1.10",
        "$1.11",
        "$1.12",
        "$1.13",
        "$1.14",
    ]
    model.set_filter(PaymentFilter(states=frozenset({PaymentState.DECLINED})))
    assert (model.total, model.rowCount(), model.index(0, 1).data()) == (1, 1, "S-00001")
    model.set_filter(PaymentFilter())
    assert model.total == 30


def test_paging_still_works_when_filtered(tmp_path: Path) -> None:
    journal = journal_with(tmp_path, PAGE_SIZE * 2 + 10)
    model = PaymentsTableModel(PaymentQueries(journal), locale="en_US")
    model.set_filter(PaymentFilter(text="Sale"))
    assert model.total == PAGE_SIZE * 2 + 10
    model.set_filter(PaymentFilter(amount_min=100, amount_max=100 + PAGE_SIZE + 20))
    assert model.total == PAGE_SIZE + 21
    assert model.rowCount() == PAGE_SIZE
    assert model.canFetchMore()
    model.fetchMore()
    assert model.rowCount() == PAGE_SIZE + 21
    assert not model.canFetchMore()
    references = {model.payment_at(r).reference for r in range(model.rowCount())}
    assert "S-00000" in references
    assert f"S-{PAGE_SIZE + 21:05d}" not in references


def test_filtered_model_is_a_well_behaved_qt_model(
    qtmodeltester: ModelTester, tmp_path: Path
) -> None:
    model = PaymentsTableModel(PaymentQueries(journal_with(tmp_path, 30)), locale="en_US")
    model.set_filter(PaymentFilter(text="Sale 1"))
    assert model.total == 11  # Sale 1, Sale 10…19
    qtmodeltester.check(model)


def test_history_model_is_a_well_behaved_qt_model_in_time_order(
    qtmodeltester: ModelTester,
) -> None:
    model = PaymentHistoryModel(locale="en_US")
    model.set_rows(
        [
            HistoryRow(T0 + timedelta(minutes=2), "This till", "Refund sent", Money(500, "USD")),
            HistoryRow(None, "JustiFi", "Capture approved (py_1)", Money(5000, "USD")),
            HistoryRow(T0, "JustiFi", "Authorization approved (py_1)", Money(5000, "USD")),
        ]
    )
    qtmodeltester.check(model)
    assert [model.index(r, 2).data() for r in range(3)] == [
        "Authorization approved (py_1)",
        "Refund sent",
        "Capture approved (py_1)",
    ]
    assert model.index(1, 3).data() == "$5.00"
    assert model.index(2, 0).data() == "—"


def test_a_search_matching_more_than_the_cap_says_so_and_still_pages(
    qtbot: QtBot, tmp_path: Path
) -> None:
    from pos_app.gui.models import payments_model
    from pos_app.journal.search import PaymentFilter

    journal = JournalStore.open(tmp_path / "journal.sqlite3")
    for n in range(450):
        journal.create_payment(
            reference=f"S-20261122-{n:06d}".replace("0", "A"),
            profile="p",
            provider="justifi",
            method="hosted_checkout",
            amount=Money(100 + n, "USD"),
            description="Croissant" if n % 3 else "Bagel",
            now=datetime(2026, 11, 22, 9, 0, tzinfo=UTC),
        )
    model = PaymentsTableModel(PaymentQueries(journal), locale="en_US")
    old_cap = payments_model.COUNT_CAP
    payments_model.COUNT_CAP = 200
    try:
        model.set_filter(PaymentFilter(text="croissant"))
        assert model.total_is_capped
        assert model.total == 200
        while model.canFetchMore():
            model.fetchMore()
        assert model.rowCount() == 300  # every match, page by page
        model.set_filter(PaymentFilter(text="bagel"))
        assert not model.total_is_capped
        assert model.total == 150
    finally:
        payments_model.COUNT_CAP = old_cap
    journal.close()
