"""The bridge: what a service records reaches the screens as a Qt signal, not a storage hook."""

from __future__ import annotations

import gc
from typing import TYPE_CHECKING

import pytest
import shiboken6

from pos_app.domain.money import Money
from pos_app.domain.payment import PaymentState
from pos_app.gui.bridge import ServiceEvents
from pos_app.gui.screens.payments import PaymentsScreen
from pos_app.gui.tasks import TaskRunner
from pos_app.journal.store import JournalStore
from pos_app.services.payments import PaymentService
from pos_app.services.queries import PaymentQueries
from tests.gui.test_payment_detail import T0, seed
from tests.unit.test_payment_service import FakeGateway

if TYPE_CHECKING:
    import asyncio
    from collections.abc import Iterator
    from pathlib import Path

    from pytestqt.qtbot import QtBot


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[JournalStore]:
    store = JournalStore.open(tmp_path / "journal.sqlite3")
    yield store
    store.close()


def test_every_committed_change_is_a_signal_until_closed(
    qtbot: QtBot, journal: JournalStore
) -> None:
    queries = PaymentQueries(journal)
    events = ServiceEvents(queries)
    heard: list[str] = []
    events.payment_changed.connect(heard.append)
    gateway = FakeGateway(journal)
    seed(journal, gateway, "S-1", 5000, captured=True)
    assert heard == ["S-1", "S-1"]  # created, then paid: each write, as the journal reports it
    events.close()
    events.close()  # twice is harmless
    journal.add_note("S-1", now=T0, note="Called the customer")
    assert heard == ["S-1", "S-1"]


def test_a_destroyed_bridge_stops_listening(journal: JournalStore) -> None:
    queries = PaymentQueries(journal)
    events = ServiceEvents(queries)
    assert len(queries._listeners) == 1
    shiboken6.delete(events)
    del events
    gc.collect()
    assert queries._listeners == []
    seed(journal, FakeGateway(journal), "S-2", 1000, captured=True)  # nobody left to hear it


def test_a_refund_through_the_service_updates_the_payments_list(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop, journal: JournalStore
) -> None:
    gateway = FakeGateway(journal)
    service = PaymentService(journal, {"Till": gateway})  # type: ignore[dict-item]
    seed(journal, gateway, "S-1", 5000, captured=True)
    queries = PaymentQueries(journal)
    screen = PaymentsScreen(queries, ServiceEvents(queries), locale="en_US")
    tasks = TaskRunner()
    screen.set_payment_service(service, tasks)
    qtbot.addWidget(screen)
    screen.show()
    assert screen.model.index(0, 4).data() == "Paid"

    refund = qloop.create_task(service.refund("S-1", Money(5000, "USD"), "Customer returned it"))
    qtbot.waitUntil(refund.done)
    assert refund.result().state is PaymentState.REFUNDED
    # No Refresh: the service's write reached the list through ServiceEvents.payment_changed.
    qtbot.waitUntil(lambda: screen.model.index(0, 4).data() == "Refunded")
    tasks.cancel_all()
    screen.shutdown()
