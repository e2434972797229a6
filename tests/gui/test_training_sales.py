"""Training sales on screen: out of the real end-of-shift money and the Payments list unless
asked for, apart when shown, and marked TRAINING wherever one shows."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget

from pos_app.domain.money import Money
from pos_app.domain.payment import PaymentState
from pos_app.gui.screens.checkout import CheckoutScreen
from pos_app.gui.screens.customer_display import CustomerDisplay
from pos_app.gui.screens.payments import PaymentsScreen
from pos_app.gui.screens.shift_summary import ShiftSummaryScreen
from pos_app.gui.tasks import TaskRunner
from pos_app.journal.store import Environment, JournalStore
from pos_app.providers.types import CheckoutRequest, CheckoutSession
from pos_app.services.payments import PaymentService
from pos_app.services.sale import Sale
from tests.gui.bridging import bridged, events_for
from tests.unit.test_payment_service import CARD, FakeGateway

if TYPE_CHECKING:
    import asyncio
    from collections.abc import Iterator
    from pathlib import Path

    from pytestqt.qtbot import QtBot

DAY = datetime(2026, 3, 14, tzinfo=UTC)
PRACTICE = "S-20260314-PRACT1"
REAL = "S-20260314-REAL01"
PROFILES: dict[str, Environment] = {"Practice": "sandbox", "High street": "live"}


def sell(journal: JournalStore, reference: str, environment: Environment, what: str) -> None:
    """A 50.00 sale paid in full, recorded with its profile's environment."""
    at = DAY + timedelta(hours=9 if environment == "sandbox" else 10)
    journal.create_payment(
        reference=reference,
        profile="Practice" if environment == "sandbox" else "High street",
        provider="justifi",
        method="hosted_checkout",
        amount=Money(5000, "USD"),
        description=what,
        now=at,
        environment=environment,
    )
    journal.update_payment(
        reference,
        now=at,
        state=PaymentState.CAPTURED,
        authorized_minor=5000,
        captured_minor=5000,
        note="Paid",
    )


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[JournalStore]:
    store = JournalStore.open(tmp_path / "journal.sqlite3")
    sell(store, PRACTICE, "sandbox", "Practice cake")
    sell(store, REAL, "live", "Birthday cake")
    yield store
    store.close()


def named(root: QWidget, name: str) -> QLabel:
    found = [w for w in root.findChildren(QLabel) if w.accessibleName() == name]
    assert len(found) == 1, (name, len(found))
    return found[0]


# -- end of shift ------------------------------------------------------------------------------


@pytest.fixture
def shift(qtbot: QtBot, journal: JournalStore) -> Iterator[ShiftSummaryScreen]:
    widget = ShiftSummaryScreen(*bridged(journal), locale="en_US", zone=UTC)
    qtbot.addWidget(widget)
    widget.resize(1100, 900)
    widget.show()
    widget.show_days(DAY.date(), DAY.date())
    yield widget
    widget.shutdown()


def test_end_of_shift_shows_only_the_real_50_and_says_training_was_left_out(
    shift: ShiftSummaryScreen,
) -> None:
    assert not shift.include_training.isChecked()
    assert named(shift, "Net USD").text() == "$50.00"  # not $100.00
    assert named(shift, "Captured USD").text() == "Captured $50.00"
    assert shift.period.text() == "2026-03-14: 1 payment"
    assert [shift.totals.item(r, 3).text() for r in range(shift.totals.rowCount())] == ["1"]
    assert shift.training_hint.text() == (
        "1 training sale (not real money) left out of these totals."
    )
    assert not shift.training_section.isVisible()


def test_include_training_shows_its_50_apart_under_its_own_title(
    qtbot: QtBot, shift: ShiftSummaryScreen
) -> None:
    qtbot.mouseClick(shift.include_training, Qt.MouseButton.LeftButton)
    assert shift.include_training.isChecked()
    assert shift.training_section.isVisible()
    assert shift.training_title.text() == "Training (not real money)"
    assert named(shift, "Net USD").text() == "$50.00"  # the real money is unchanged
    assert named(shift, "Training net USD").text() == "$50.00"
    assert named(shift, "Training captured USD").text() == "Captured $50.00"
    training_card = named(shift.training_section, "Training net USD")
    assert shift.training_section.isAncestorOf(training_card)
    assert not shift.training_section.isAncestorOf(named(shift, "Net USD"))
    rows = shift.training_totals
    assert [rows.item(0, c).text() for c in range(rows.columnCount())] == [
        "JustiFi", "Hosted checkout", "Paid", "1", "$50.00", "$50.00", "$0.00",
    ]  # fmt: skip
    assert shift.totals.rowCount() == 1  # and not in the real table

    qtbot.mouseClick(shift.include_training, Qt.MouseButton.LeftButton)
    assert not shift.training_section.isVisible()
    assert named(shift, "Net USD").text() == "$50.00"


def test_the_exported_csv_follows_the_toggle(
    qtbot: QtBot, shift: ShiftSummaryScreen, tmp_path: Path
) -> None:
    offered: list[str] = []

    def choose(_parent: object, suggested: str) -> Path:
        offered.append(suggested)
        return tmp_path / suggested

    shift.choose_file = choose
    qtbot.mouseClick(shift.export_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(shift.include_training, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(shift.export_button, Qt.MouseButton.LeftButton)
    assert offered == ["shift-2026-03-14.csv", "shift-2026-03-14-with-training.csv"]

    def rows(name: str) -> list[dict[str, str]]:
        with (tmp_path / name).open(encoding="utf-8", newline="") as back:
            return list(csv.DictReader(back))

    real = rows(offered[0])
    assert [(r["section"], r["captured"]) for r in real if "total" in r["section"]] == [
        ("total", "50.00")
    ]
    assert "environment" not in real[0]
    both = rows(offered[1])
    assert [
        (r["section"], r["captured"], r["environment"]) for r in both if "total" in r["section"]
    ] == [("total", "50.00", "live"), ("training_total", "50.00", "sandbox")]


def test_a_training_payment_to_check_is_listed_in_the_training_section_only(
    qtbot: QtBot, journal: JournalStore
) -> None:
    journal.update_payment(
        PRACTICE, now=DAY + timedelta(hours=11), attention="Practice: check it", note="!"
    )
    widget = ShiftSummaryScreen(*bridged(journal), locale="en_US", zone=UTC)
    qtbot.addWidget(widget)
    widget.resize(1100, 900)
    widget.show()
    widget.show_days(DAY.date(), DAY.date())
    assert widget.attention_title.text() == "Needs attention: 0"
    assert not widget.training_attention.isVisible()

    qtbot.mouseClick(widget.include_training, Qt.MouseButton.LeftButton)
    assert widget.attention_title.text() == "Needs attention: 0"  # real money has none
    assert widget.training_attention_title.text() == "Training needs attention: 1"
    assert widget.training_attention.isVisible()
    assert widget.training_section.isAncestorOf(widget.training_attention)
    table = widget.training_attention
    assert (table.item(0, 1).text(), table.item(0, 5).text()) == (PRACTICE, "Practice: check it")
    widget.shutdown()


def test_a_day_of_only_training_can_still_be_exported_with_it(qtbot: QtBot, tmp_path: Path) -> None:
    store = JournalStore.open(tmp_path / "practice.sqlite3")
    sell(store, PRACTICE, "sandbox", "Practice cake")
    widget = ShiftSummaryScreen(*bridged(store), locale="en_US", zone=UTC)
    qtbot.addWidget(widget)
    widget.show_days(DAY.date(), DAY.date())
    assert not widget.empty.isHidden()
    assert not widget.export_button.isEnabled()
    widget.include_training.setChecked(True)
    assert widget.empty.isVisibleTo(widget)  # still no real payment
    assert widget.export_button.isEnabled()
    widget.shutdown()
    store.close()


# -- Payments ----------------------------------------------------------------------------------


@pytest.fixture
def payments(qtbot: QtBot, journal: JournalStore) -> Iterator[PaymentsScreen]:
    widget = PaymentsScreen(*bridged(journal), locale="en_US")
    qtbot.addWidget(widget)
    widget.resize(1280, 770)
    widget.show()
    yield widget
    widget.shutdown()


def descriptions(screen: PaymentsScreen) -> list[str]:
    model = screen.model
    return [model.index(r, 2).data() for r in range(model.rowCount())]


def test_payments_lists_real_money_and_says_how_many_training_sales_it_leaves_out(
    qtbot: QtBot, payments: PaymentsScreen
) -> None:
    assert descriptions(payments) == ["Birthday cake"]
    assert payments.summary.text() == (
        "1 payment in the journal · 1 training sale not shown (Include training sales)"
    )
    qtbot.mouseClick(payments.filters.training, Qt.MouseButton.LeftButton)
    assert descriptions(payments) == ["Birthday cake", "TRAINING · Practice cake"]
    assert payments.summary.text() == "2 payments in the journal"
    tip = payments.model.index(1, 2).data(Qt.ItemDataRole.ToolTipRole)
    assert "Training sale (sandbox, test cards): no real money moved." in tip
    assert payments.model.index(0, 2).data(Qt.ItemDataRole.ToolTipRole) is None

    payments.filters.search.setText("cake")
    payments.filters.apply()
    assert descriptions(payments) == ["Birthday cake", "TRAINING · Practice cake"]
    payments.filters.clear()  # Esc: back to real money only
    assert descriptions(payments) == ["Birthday cake"]
    assert not payments.filters.training.isChecked()


def test_a_training_sales_detail_says_training(qtbot: QtBot, payments: PaymentsScreen) -> None:
    payments.open_payment(PRACTICE)
    detail = payments.detail
    assert detail.training_badge.isVisible()
    assert detail.training_badge.text() == "TRAINING"
    assert detail.subtitle.text().endswith(
        " · Training sale (sandbox, test cards): no real money moved."
    )
    payments.show_list()
    payments.open_payment(REAL)
    assert not detail.training_badge.isVisible()
    assert "Training" not in detail.subtitle.text()


# -- checkout result and the customer's display --------------------------------------------------


class LinkGateway(FakeGateway):
    """The fake provider, with pay-by-link pages that stay open."""

    async def create_checkout(self, request: CheckoutRequest) -> CheckoutSession:
        self._journaled(request.idempotency_key)
        return CheckoutSession(
            provider_ref=f"pl_{request.reference}",
            state=PaymentState.PENDING,
            provider_status="open",
            amount=request.amount,
            reference=request.reference,
            hosted_url=f"https://pay.example/{request.reference}",
            expires_at=None,
        )


@pytest.fixture
def checkout(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop, tmp_path: Path
) -> Iterator[tuple[CheckoutScreen, PaymentService, CustomerDisplay]]:
    store = JournalStore.open(tmp_path / "till.sqlite3")
    gateway = LinkGateway(store)
    service = PaymentService(
        store,
        {name: gateway for name in PROFILES},  # type: ignore[misc]
        environments=PROFILES.get,
    )
    tasks = TaskRunner()
    screen = CheckoutScreen(locale="en_US", tasks=tasks)
    display = CustomerDisplay(tmp_path)
    qtbot.addWidget(screen)
    qtbot.addWidget(display)
    screen.set_customer_display(display)
    screen.resize(1000, 700)
    screen.show()
    yield screen, service, display
    tasks.cancel_all()
    screen.shutdown()
    store.close()


def test_the_result_of_a_sandbox_sale_says_training_and_a_live_ones_does_not(
    qtbot: QtBot, checkout: tuple[CheckoutScreen, PaymentService, CustomerDisplay]
) -> None:
    screen, service, _display = checkout
    for profile, training in (("Practice", True), ("High street", False)):
        screen.set_payments(service, profile, events_for(service.journal))
        screen.start_card_charge(Sale(Money(5000, "USD"), "Birthday cake"), CARD)
        qtbot.waitUntil(lambda: screen.stack.currentWidget() is screen.result)
        result = screen.result
        assert result.title.text() == "Approved"
        assert result.amount.text() == "$50.00"
        assert result.training.isVisible() is training, profile
        if training:
            assert result.training.text().startswith("TRAINING")
            assert "no real money moved" in result.training.text()
            assert result.title.accessibleDescription().startswith("Training sale: Approved")
        qtbot.keyClick(result.button, Qt.Key.Key_Return)  # New sale


def test_a_training_link_tells_the_customer_and_the_cashier(
    qtbot: QtBot, checkout: tuple[CheckoutScreen, PaymentService, CustomerDisplay]
) -> None:
    screen, service, display = checkout
    screen.set_payments(service, "Practice", events_for(service.journal))
    screen.start_link(Sale(Money(5000, "USD"), "Practice cake"))
    qtbot.waitUntil(lambda: display.isVisible() and screen.link_panel.isVisible())
    assert display.training.isVisible()
    assert display.training.text() == "TRAINING — this is a practice payment, not a real one."
    assert screen.training_label.isVisible()
    assert screen.training_label.text() == "TRAINING · test cards only, no real money"

    display.show_link("$5.00", "Coffee", "https://pay.example/live")  # the next, live sale
    assert not display.training.isVisible()
