"""The Payments list: finding a payment by what staff know about it, by keyboard."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from PySide6.QtCore import Qt

from pos_app.domain.money import Money
from pos_app.domain.payment import PaymentState
from pos_app.gui.models.payments_model import PAGE_SIZE
from pos_app.gui.resources import stylesheet
from pos_app.gui.screens.payments import PaymentsScreen
from pos_app.journal.store import JournalStore
from tests.gui.bridging import bridged

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from PySide6.QtWidgets import QApplication
    from pytestqt.qtbot import QtBot

T0 = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)
# reference, provider, amount, day offset, last 4, provider ids, description, state
SALES = [
    ("S-20261110-AAAAAA", "justifi", 1799, 0, "4242", "cho_abc123def", "Birthday cake", None),
    ("S-20261111-BBBBBB", "checkout_com", 5000, 1, "1111", "pay_zzz987yyy", "Coffee beans", None),
    ("S-20261112-CCCCCC", "recharge", 250, 2, None, None, "Croissant", PaymentState.DECLINED),
    ("S-20261113-DDDDDD", "payfect", 12000, 3, None, None, "Catering for 20", None),
    ("S-20261114-EEEEEE", "justifi", 999, 4, "4242", "cho_qqq555www", "Cake slice", None),
]


def day(offset: int) -> str:
    """The till's local date of sale ``offset``, as typed in the date filters."""
    return (T0 + timedelta(days=offset)).astimezone().date().isoformat()


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[JournalStore]:
    store = JournalStore.open(tmp_path / "journal.sqlite3")
    for reference, provider, minor, offset, last4, ref, words, state in SALES:
        when = T0 + timedelta(days=offset)
        store.create_payment(
            reference=reference,
            profile="Till",
            provider=provider,
            method="hosted_checkout",
            amount=Money(minor, "USD"),
            description=words,
            now=when,
        )
        store.update_payment(
            reference,
            now=when,
            state=state or PaymentState.CAPTURED,
            provider_ref=ref,
            card_brand="visa" if last4 else None,
            card_last4=last4,
            authorized_minor=0 if state else minor,
            captured_minor=0 if state else minor,
            note="Paid",
        )
    store.update_payment(
        "S-20261113-DDDDDD", now=T0, attention="Totals differ at the provider.", note="x"
    )
    yield store
    store.close()


@pytest.fixture
def screen(qtbot: QtBot, journal: JournalStore) -> Iterator[PaymentsScreen]:
    widget = PaymentsScreen(*bridged(journal), locale="en_US")
    qtbot.addWidget(widget)
    widget.resize(1080, 770)
    widget.show()
    widget.activateWindow()
    qtbot.waitUntil(widget.isActiveWindow)
    yield widget
    widget.shutdown()


def references(screen: PaymentsScreen) -> list[str]:
    return [screen.model.index(r, 1).data() for r in range(screen.model.rowCount())]


def search_now(qtbot: QtBot, screen: PaymentsScreen, text: str) -> None:
    screen.filters.search.clear()
    qtbot.keyClicks(screen.filters.search, text)
    qtbot.keyClick(screen.filters.search, Qt.Key.Key_Return)


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("S-20261111-BBBBBB", ["S-20261111-BBBBBB"]),
        ("s-20261111-bbbbbb", ["S-20261111-BBBBBB"]),  # typed in lower case
        ("cho_qqq555www", ["S-20261114-EEEEEE"]),  # the provider's checkout id
        ("4242", ["S-20261114-EEEEEE", "S-20261110-AAAAAA"]),  # card last four
        ("cake", ["S-20261114-EEEEEE", "S-20261110-AAAAAA"]),  # words of the description
        ("no such thing", []),
    ],
)
def test_search_each_way(qtbot: QtBot, screen: PaymentsScreen, text: str, found: list[str]) -> None:
    search_now(qtbot, screen, text)
    assert references(screen) == found
    count = len(found)
    assert screen.summary.text() == f"{count} payment{'s' if count != 1 else ''} match"


def test_typing_searches_after_a_pause(qtbot: QtBot, screen: PaymentsScreen) -> None:
    qtbot.keyClicks(screen.filters.search, "Croissant")
    assert screen.model.total == len(SALES)  # not one query per key
    qtbot.waitUntil(lambda: references(screen) == ["S-20261112-CCCCCC"])
    assert screen.summary.text() == "1 payment match"


def test_status_provider_and_attention_filters(qtbot: QtBot, screen: PaymentsScreen) -> None:
    filters = screen.filters
    filters.status.setCurrentIndex(filters.status.findData("declined"))
    assert references(screen) == ["S-20261112-CCCCCC"]
    filters.status.setCurrentIndex(0)
    filters.provider.setCurrentIndex(filters.provider.findData("justifi"))
    assert references(screen) == ["S-20261114-EEEEEE", "S-20261110-AAAAAA"]
    filters.provider.setCurrentIndex(0)
    qtbot.mouseClick(filters.attention, Qt.MouseButton.LeftButton)
    assert references(screen) == ["S-20261113-DDDDDD"]
    assert screen.model.index(0, 4).data() == "⚠ Paid"


def test_amount_range_is_typed_as_money(qtbot: QtBot, screen: PaymentsScreen) -> None:
    filters = screen.filters
    qtbot.keyClicks(filters.amount_from, "9.99")
    qtbot.keyClicks(filters.amount_to, "50")
    qtbot.keyClick(filters.amount_to, Qt.Key.Key_Return)
    assert references(screen) == ["S-20261114-EEEEEE", "S-20261111-BBBBBB", "S-20261110-AAAAAA"]
    qtbot.keyClicks(filters.amount_to, "0.001")  # "500.001": more decimals than cents
    qtbot.keyClick(filters.amount_to, Qt.Key.Key_Return)
    assert "decimal" in filters.error.text()
    assert filters.amount_to.property("invalid") is True
    # The last good filter stays in force.
    assert references(screen) == ["S-20261114-EEEEEE", "S-20261111-BBBBBB", "S-20261110-AAAAAA"]


def test_amount_range_the_wrong_way_round_is_explained(
    qtbot: QtBot, screen: PaymentsScreen
) -> None:
    qtbot.keyClicks(screen.filters.amount_from, "100")
    qtbot.keyClicks(screen.filters.amount_to, "10")
    qtbot.keyClick(screen.filters.amount_to, Qt.Key.Key_Return)
    assert screen.filters.error.text() == "The “to” amount is below the “from” amount."
    assert screen.model.total == len(SALES)


def test_date_range_includes_both_days(qtbot: QtBot, screen: PaymentsScreen) -> None:
    filters = screen.filters
    qtbot.keyClicks(filters.date_from, day(1))
    qtbot.keyClicks(filters.date_to, day(3))
    qtbot.keyClick(filters.date_to, Qt.Key.Key_Return)
    assert references(screen) == ["S-20261113-DDDDDD", "S-20261112-CCCCCC", "S-20261111-BBBBBB"]
    filters.date_to.setText("22/11/2026")
    qtbot.keyClick(filters.date_to, Qt.Key.Key_Return)
    assert filters.error.text() == "Type dates as YYYY-MM-DD, e.g. 2026-11-22."


def test_filters_combine_with_the_search_and_sorting_stays_in_sql(
    qtbot: QtBot, screen: PaymentsScreen
) -> None:
    screen.filters.provider.setCurrentIndex(screen.filters.provider.findData("justifi"))
    search_now(qtbot, screen, "cake")
    screen.table.sortByColumn(3, Qt.SortOrder.AscendingOrder)  # amount, smallest first
    assert references(screen) == ["S-20261114-EEEEEE", "S-20261110-AAAAAA"]
    assert screen.model.filter.providers == frozenset({"justifi"})


def test_escape_clears_search_and_filters(qtbot: QtBot, screen: PaymentsScreen) -> None:
    screen.filters.attention.setChecked(True)
    search_now(qtbot, screen, "Catering")
    assert screen.model.total == 1
    qtbot.keyClick(screen.filters.search, Qt.Key.Key_Escape)
    assert screen.filters.search.text() == ""
    assert not screen.filters.attention.isChecked()
    assert screen.model.total == len(SALES)
    assert screen.summary.text() == f"{len(SALES)} payments in the journal"


def test_keyboard_ctrl_f_enter_opens_detail_escape_goes_back(
    qtbot: QtBot, screen: PaymentsScreen
) -> None:
    screen.table.setFocus()
    qtbot.keyClick(screen.table, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert screen.filters.search.hasFocus()
    search_now(qtbot, screen, "coffee")
    screen.table.setFocus()
    assert screen.table.currentIndex().row() == 0  # the first match is selected
    qtbot.keyClick(screen.table, Qt.Key.Key_Return)
    assert screen.showing_detail
    assert screen.detail.title.text() == "S-20261111-BBBBBB"
    qtbot.keyClick(screen.detail.back_button, Qt.Key.Key_Escape)
    assert not screen.showing_detail
    assert screen.table.hasFocus()
    assert screen.filters.search.text() == "coffee"  # Esc on the detail only goes back


def test_everything_has_an_accessible_name(screen: PaymentsScreen) -> None:
    filters = screen.filters
    for widget in (
        filters.search,
        filters.status,
        filters.provider,
        filters.attention,
        filters.amount_from,
        filters.amount_to,
        filters.date_from,
        filters.date_to,
        filters.clear_button,
        screen.table,
        screen.refresh_button,
        screen.open_button,
        screen.summary,
    ):
        assert widget.accessibleName(), widget


def test_a_journal_change_shows_up_in_the_list(
    qtbot: QtBot, screen: PaymentsScreen, journal: JournalStore
) -> None:
    journal.update_payment(
        "S-20261114-EEEEEE",
        now=T0,
        state=PaymentState.REFUNDED,
        refunded_minor=999,
        note="Refunded",
    )
    qtbot.waitUntil(lambda: screen.model.index(0, 4).data() == "Refunded")


def test_paging_still_works_when_filtered(qtbot: QtBot, tmp_path: Path) -> None:
    journal = JournalStore.open(tmp_path / "many.sqlite3")
    for n in range(PAGE_SIZE + 40):
        journal.create_payment(
            reference=f"S-{n:05d}",
            profile="Till",
            provider="justifi" if n % 2 else "payfect",
            method="hosted_checkout",
            amount=Money(100 + n, "USD"),
            description=f"Sale {n}",
            now=T0 + timedelta(seconds=n),
        )
    screen = PaymentsScreen(*bridged(journal), locale="en_US")
    qtbot.addWidget(screen)
    screen.resize(1080, 770)
    screen.show()
    screen.filters.amount_from.setText("1.20")  # skips the first 20
    qtbot.keyClick(screen.filters.amount_from, Qt.Key.Key_Return)
    assert screen.model.total == PAGE_SIZE + 20
    assert screen.model.rowCount() == PAGE_SIZE
    screen.table.scrollToBottom()
    qtbot.waitUntil(lambda: screen.model.rowCount() == PAGE_SIZE + 20)
    assert screen.model.payment_at(PAGE_SIZE + 19).reference == "S-00020"
    screen.shutdown()
    journal.close()


def test_a_search_matching_more_than_the_cap_says_more_than(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pos_app.gui.models import payments_model

    monkeypatch.setattr(payments_model, "COUNT_CAP", 30)  # counting stops there, as at 1,000
    journal = JournalStore.open(tmp_path / "many.sqlite3")
    for n in range(45):
        journal.create_payment(
            reference=f"S-20261110-{n:06d}",
            profile="Till",
            provider="justifi",
            method="hosted_checkout",
            amount=Money(100 + n, "USD"),
            description="Croissant" if n % 4 else "Rye bread",
            now=T0 + timedelta(seconds=n),
        )
    screen = PaymentsScreen(*bridged(journal), locale="en_US")
    qtbot.addWidget(screen)
    screen.resize(1080, 770)
    screen.show()
    assert screen.summary.text() == "45 payments in the journal"  # unfiltered: exact
    search_now(qtbot, screen, "croissant")
    assert screen.summary.text() == "More than 30 payments match"
    newest = [p.reference for p in journal.page_payments(offset=0, limit=50)]
    croissants = [r for r in newest if int(r[-6:]) % 4]
    assert references(screen)[:3] == croissants[:3]  # newest match first
    # Sorting shows the same matches in another order: nothing is counted again.
    counted: list[object] = []
    original = journal.count_payments

    def counting(*args: Any, **kwargs: Any) -> int:
        counted.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(journal, "count_payments", counting)
    screen.table.sortByColumn(3, Qt.SortOrder.AscendingOrder)  # amount, smallest first
    assert screen.model.index(0, 3).data() == "$1.01"
    assert screen.summary.text() == "More than 30 payments match"
    assert counted == []
    search_now(qtbot, screen, "rye")
    assert screen.summary.text() == "12 payments match"
    assert screen.model.index(0, 3).data() == "$1.00"  # the sort stays
    screen.shutdown()
    journal.close()


def test_columns_fit_their_widest_text_and_keep_their_width_between_searches(
    qtbot: QtBot, screen: PaymentsScreen
) -> None:
    screen.resize(1800, 770)  # room for every column's widest text
    assert screen.columns is not None
    header = screen.table.horizontalHeader()
    qtbot.waitUntil(
        lambda: all(header.sectionSize(i) == w for i, w in screen.columns.natural.items())
    )
    metrics = screen.table.fontMetrics()
    for column, widest in ((4, "⚠ Customer action needed"), (6, "Checkout.com")):
        assert metrics.horizontalAdvance(widest) < header.sectionSize(column)
    widths = [header.sectionSize(n) for n in range(header.count())]
    search_now(qtbot, screen, "croissant")
    assert [header.sectionSize(n) for n in range(header.count())] == widths


def test_on_a_narrow_table_the_description_keeps_a_readable_share(
    qtbot: QtBot, journal: JournalStore, qapp: QApplication
) -> None:
    # The app's larger fonts, as on a till. (Left set, as the e2e fixtures leave it:
    # setting the sheet back to "" and again later crashes Qt 6.11 in a restyle.)
    qapp.setStyleSheet(stylesheet())
    screen = PaymentsScreen(*bridged(journal), locale="en_US")
    qtbot.addWidget(screen)
    screen.resize(1020, 700)  # the list's width in a 1280-wide window
    screen.show()
    header = screen.table.horizontalHeader()
    viewport = screen.table.viewport()
    fitter = screen.columns
    assert fitter is not None
    qtbot.waitUntil(lambda: any(header.sectionSize(i) < w for i, w in fitter.natural.items()))
    # Status, card and provider gave way, nothing else did; the description got it.
    shrunk = [i for i, w in fitter.natural.items() if header.sectionSize(i) < w]
    assert set(shrunk) <= {4, 5, 6}
    assert header.sectionSize(2) >= viewport.width() * 0.2
    # Everyday text still fits: a Visa card's last four stay readable.
    metrics = screen.table.fontMetrics()
    assert metrics.horizontalAdvance("Visa •••• 4242") < header.sectionSize(5)
    assert metrics.horizontalAdvance("Partly refunded") < header.sectionSize(4)
    screen.shutdown()
