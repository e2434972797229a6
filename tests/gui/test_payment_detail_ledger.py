"""Payment detail: the provider's ledger (JustiFi balance transactions: payment, fees, refunds,
fees returned) after a refresh, and an open link's expiry counting down.

The payments service is the real one over the in-memory FakeGateway; the two lookups it
would make at JustiFi are stubbed with what JustiFi reports.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import pytest
from PySide6.QtCore import Qt

from pos_app.domain.payment import PaymentState
from pos_app.gui.screens.payment_detail import PaymentDetail
from pos_app.gui.tasks import TaskRunner
from pos_app.journal.store import JournalStore
from pos_app.providers.errors import ProviderUnavailableError
from pos_app.providers.types import CheckoutSession, PaymentAction
from pos_app.services.queries import PaymentQueries
from tests.gui.test_payment_detail import T0, Clock, HistoryService, seed, usd, window_texts
from tests.unit.test_payment_service import FakeGateway

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from pytestqt.qtbot import QtBot


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


LEDGER = (
    PaymentAction("balance_payment", "pbt_1", usd(10_000), True, at(0), "Payment py_1"),
    PaymentAction("balance_payment_fee", "pbt_2", usd(-350), True, at(0), "PaymentFee pyfee_1"),
    PaymentAction("balance_payment_fee", "pbt_3", usd(-500), True, at(0), "PaymentFee pyfee_2"),
    PaymentAction("balance_refund", "pbt_4", usd(-2500), True, at(60), "Refund re_1"),
    PaymentAction("balance_fee_refund", "pbt_5", usd(175), True, at(60), "ReturnedFee rtfee_1"),
)


class LedgerService(HistoryService):
    """The fake provider's payment, plus JustiFi-style ledger rows and checkout expiry."""

    def __init__(self, journal: JournalStore, gateway: FakeGateway) -> None:
        super().__init__(journal, gateway)
        self.ledger: tuple[PaymentAction, ...] = ()
        self.expires_at: datetime | None = None
        self.expiry_error: Exception | None = None
        self.expiry_calls = 0
        self.tasks: TaskRunner | None = None

    async def provider_history(self, reference: str) -> tuple[PaymentAction, ...]:
        record = self.journal.get(reference)
        if record is None or not record.provider_payment_ref:
            return ()  # an unpaid checkout has no payment at the provider yet
        return await super().provider_history(reference)

    async def provider_balance(self, reference: str) -> tuple[PaymentAction, ...]:
        await asyncio.sleep(0)
        return self.ledger

    async def checkout_expiry(self, reference: str) -> datetime | None:
        self.expiry_calls += 1
        await asyncio.sleep(0)
        if self.expiry_error is not None:
            raise self.expiry_error
        return self.expires_at


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[JournalStore]:
    store = JournalStore.open(tmp_path / "journal.sqlite3")
    yield store
    store.close()


@pytest.fixture
def service(journal: JournalStore) -> LedgerService:
    return LedgerService(journal, FakeGateway(journal))


def page(
    qtbot: QtBot, journal: JournalStore, service: LedgerService, clock: Clock
) -> PaymentDetail:
    detail = PaymentDetail(PaymentQueries(journal), locale="en_US", clock=clock)
    service.tasks = TaskRunner()
    detail.set_service(service, service.tasks)
    qtbot.addWidget(detail)
    detail.resize(1280, 800)
    detail.show()
    return detail


def history(detail: PaymentDetail) -> list[tuple[str, str]]:
    model = detail.history_model
    return [(model.index(r, 2).data(), model.index(r, 3).data()) for r in range(model.rowCount())]


def amounts(detail: PaymentDetail) -> dict[str, str]:
    return {
        name: value.text()
        for name, value in detail.amounts.values.items()
        if value.isVisibleTo(detail)
    }


def open_link(journal: JournalStore, reference: str, method: str = "pay_by_link") -> None:
    journal.create_payment(
        reference=reference,
        profile="Till",
        provider="justifi",
        method=method,
        amount=usd(4200),
        description="Wedding cake deposit",
        now=T0,
    )
    journal.update_payment(
        reference, now=T0, state=PaymentState.PENDING, provider_ref=f"cho_{reference}", note="Open"
    )


# -- the ledger ------------------------------------------------------------------------------


def test_refresh_adds_the_ledger_fees_and_what_is_kept(
    qtbot: QtBot,
    qloop: asyncio.AbstractEventLoop,
    journal: JournalStore,
    service: LedgerService,
) -> None:
    seed(journal, service.gateway, "S-1", 10_000, captured=True, provider="justifi")
    service.ledger = LEDGER
    detail = page(qtbot, journal, service, Clock(at(90)))
    detail.show_payment("S-1")
    assert "Fees" not in amounts(detail)  # unknown until the provider is asked
    qtbot.mouseClick(detail.refresh_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not detail.busy.isVisible() and bool(detail.outcome.text()))
    rows = history(detail)
    assert ("Ledger: payment credited · Payment py_1", "$100.00") in rows
    assert ("Ledger: fee charged · PaymentFee pyfee_1", "-$3.50") in rows
    assert ("Ledger: refund debited · Refund re_1", "-$25.00") in rows
    assert ("Ledger: fee returned · ReturnedFee rtfee_1", "$1.75") in rows
    texts = [text for text, _ in rows]  # in time order: the refund an hour after the sale
    credited = texts.index("Ledger: payment credited · Payment py_1")
    assert credited < texts.index("Ledger: refund debited · Refund re_1")
    assert amounts(detail)["Fees"] == "$6.75"
    assert amounts(detail)["Kept after fees"] == "$68.25"


def test_a_provider_without_a_ledger_shows_no_fee_lines(
    qtbot: QtBot,
    qloop: asyncio.AbstractEventLoop,
    journal: JournalStore,
    service: LedgerService,
) -> None:
    seed(journal, service.gateway, "S-1", 5000, captured=True)
    detail = page(qtbot, journal, service, Clock(at(5)))
    detail.show_payment("S-1")
    detail.refresh_from_provider()
    qtbot.waitUntil(lambda: service.history_calls == 1 and not detail.busy.isVisible())
    assert not [text for text, _ in history(detail) if text.startswith("Ledger:")]
    assert "Fees" not in amounts(detail)
    assert "Kept after fees" not in amounts(detail)


# -- the link's expiry -------------------------------------------------------------------------


def test_an_open_link_counts_down_to_its_expiry(
    qtbot: QtBot,
    qloop: asyncio.AbstractEventLoop,
    journal: JournalStore,
    service: LedgerService,
) -> None:
    open_link(journal, "L-1")
    expires = T0 + timedelta(minutes=30)
    service.expires_at = expires
    clock = Clock(expires - timedelta(minutes=23, seconds=41))
    detail = page(qtbot, journal, service, clock)
    detail.show_payment("L-1")  # asks the provider by itself: no click needed
    qtbot.waitUntil(lambda: bool(window_texts(detail)))
    assert service.expiry_calls == 1
    when = expires.astimezone().strftime("%Y-%m-%d %H:%M")
    assert window_texts(detail) == [f"Link expires in 23:41 ({when})"]
    label = detail.window_labels[0]
    assert label.property("tone") == ""
    clock.now = expires - timedelta(minutes=4, seconds=59)
    qtbot.waitUntil(lambda: label.property("tone") == "warn")  # the page's clock ticks
    assert window_texts(detail) == [f"Link expires in 4:59 ({when})"]
    clock.now = expires
    qtbot.waitUntil(lambda: label.property("tone") == "bad")
    assert window_texts(detail) == [f"Link expired at {when}: the customer can no longer pay."]


def test_a_hosted_page_says_checkout_page_and_a_paid_one_shows_nothing(
    qtbot: QtBot,
    qloop: asyncio.AbstractEventLoop,
    journal: JournalStore,
    service: LedgerService,
) -> None:
    open_link(journal, "L-1", method="hosted_checkout")
    service.expires_at = T0 + timedelta(days=7)
    detail = page(qtbot, journal, service, Clock(at(1)))
    detail.show_payment("L-1")
    qtbot.waitUntil(lambda: bool(window_texts(detail)))
    assert window_texts(detail)[0].startswith("Checkout page expires in 6 d 23 h")
    # The customer pays: the page has nothing left to count down.
    journal.update_payment(
        "L-1",
        now=at(2),
        state=PaymentState.CAPTURED,
        captured_minor=4200,
        authorized_minor=4200,
        note="Paid on the page",
    )
    detail.reload()
    assert window_texts(detail) == []
    assert service.expiry_calls == 1  # reloading the same payment does not ask again


def test_no_expiry_or_a_failed_lookup_shows_no_countdown(
    qtbot: QtBot,
    qloop: asyncio.AbstractEventLoop,
    journal: JournalStore,
    service: LedgerService,
) -> None:
    open_link(journal, "L-1")
    open_link(journal, "L-2")
    detail = page(qtbot, journal, service, Clock(at(1)))
    detail.show_payment("L-1")  # e.g. ReCharge: its checkouts never expire
    qtbot.waitUntil(lambda: service.expiry_calls == 1)
    service.expiry_error = ProviderUnavailableError("down", provider="justifi")
    detail.show_payment("L-2")
    qtbot.waitUntil(lambda: service.expiry_calls == 2 and not service.tasks.busy)
    assert window_texts(detail) == []
    assert not detail.outcome.isVisible()  # not worth a red line: Refresh asks again


def test_a_link_expiry_is_read_again_on_refresh(
    qtbot: QtBot,
    qloop: asyncio.AbstractEventLoop,
    journal: JournalStore,
    service: LedgerService,
) -> None:
    open_link(journal, "L-1")

    async def get_checkout(checkout_ref: str) -> CheckoutSession:
        return CheckoutSession(
            checkout_ref, PaymentState.PENDING, "created", usd(4200), "L-1", None, None
        )

    service.gateway.get_checkout = get_checkout  # type: ignore[method-assign]
    detail = page(qtbot, journal, service, Clock(at(1)))
    detail.show_payment("L-1")
    qtbot.waitUntil(lambda: service.expiry_calls == 1)
    assert window_texts(detail) == []
    service.expires_at = at(11)
    detail.refresh_from_provider()
    qtbot.waitUntil(lambda: service.expiry_calls == 2 and not detail.busy.isVisible())
    assert window_texts(detail)[0].startswith("Link expires in 10:00")
