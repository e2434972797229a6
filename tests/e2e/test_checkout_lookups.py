"""The checkout screen's lookups: a return URL during a poll is not lost, and an answer
about an earlier sale never lands on the next one. A scripted service stands in for the
provider so each lookup's timing is the test's to choose."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import pytest

from pos_app.domain.money import Money
from pos_app.domain.payment import PaymentState
from pos_app.domain.vocabulary import PaymentMethod
from pos_app.gui.screens.checkout import CheckoutScreen
from pos_app.gui.tasks import TaskRunner
from pos_app.journal.store import JournalStore, PaymentRecord
from pos_app.providers.types import Capability, CheckoutSession
from pos_app.services.payments import SaleStarted
from pos_app.services.sale import Sale
from tests.gui.bridging import events_for

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from pytestqt.qtbot import QtBot

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


class ScriptedService:
    """Opens checkouts at once; each lookup waits until the test answers it."""

    def __init__(self, journal: JournalStore) -> None:
        self.journal = journal
        self.provider = SimpleNamespace(
            display_name="JustiFi", capabilities=frozenset({Capability.HOSTED_CHECKOUT})
        )
        self.lookups: list[tuple[str, asyncio.Future[PaymentRecord]]] = []
        self.opened = 0
        self.hold: asyncio.Future[None] | None = None  # the provider's answer waits on it

    def provider_for(self, _profile: str) -> SimpleNamespace:
        return self.provider

    async def take(self, _profile: str, sale: Sale, *_: Any, **__: Any) -> SaleStarted:
        self.opened += 1
        payment = self.journal.create_payment(
            reference=f"S-{self.opened}",
            profile="Till",
            provider="justifi",
            method="hosted_checkout",
            amount=sale.amount,
            description=sale.description,
            now=NOW,
        )
        payment = self.journal.update_payment(
            payment.reference, now=NOW, note="opened", state=PaymentState.PENDING
        )
        if self.hold is not None:
            await self.hold
        session = CheckoutSession(
            provider_ref=f"cho_{self.opened}",
            state=PaymentState.PENDING,
            provider_status="created",
            amount=sale.amount,
            reference=payment.reference,
            hosted_url=f"https://pay.example/{self.opened}",
            expires_at=None,
        )
        return SaleStarted(payment, session)

    async def refresh(self, reference: str) -> PaymentRecord:
        answer: asyncio.Future[PaymentRecord] = asyncio.get_running_loop().create_future()
        self.lookups.append((reference, answer))
        return await answer

    async def cancel_checkout(self, reference: str) -> PaymentRecord:
        return self.journal.update_payment(
            reference, now=NOW, note="cancelled", state=PaymentState.FAILED
        )

    def paid(self, reference: str) -> PaymentRecord:
        return self.journal.update_payment(
            reference, now=NOW, note="paid", state=PaymentState.CAPTURED
        )


@pytest.fixture
def screen(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop, tmp_path: Path
) -> Iterator[tuple[CheckoutScreen, ScriptedService]]:
    journal = JournalStore.open(tmp_path / "journal.sqlite3")
    service = ScriptedService(journal)
    tasks = TaskRunner()
    checkout = CheckoutScreen(locale="en_US", tasks=tasks)
    checkout.set_payments(service, "Till", events_for(service.journal))  # type: ignore[arg-type]
    checkout.set_browser(lambda url: True)  # no web view needed to test the lookups
    qtbot.addWidget(checkout)
    yield checkout, service
    checkout.shutdown()
    tasks.cancel_all()
    journal.close()


def checkout_tasks(checkout: CheckoutScreen) -> TaskRunner:
    return checkout._tasks  # the runner the screen was given


def open_sale(qtbot: QtBot, checkout: CheckoutScreen, service: ScriptedService) -> str:
    before = service.opened
    checkout.start(Sale(Money(1250, "USD"), "Cake"), PaymentMethod.HOSTED_CHECKOUT)
    qtbot.waitUntil(lambda: service.opened > before and checkout.payment is not None)
    payment = checkout.payment
    assert payment is not None
    return payment.reference


def test_a_return_during_a_polls_lookup_is_looked_up_again_at_once(
    qtbot: QtBot, screen: tuple[CheckoutScreen, ScriptedService]
) -> None:
    checkout, service = screen
    reference = open_sale(qtbot, checkout, service)
    checkout.verify()  # the poll's lookup goes out...
    qtbot.waitUntil(lambda: len(service.lookups) == 1)
    checkout.verify()  # ...and the customer comes back while it is out
    assert len(service.lookups) == 1  # one lookup at a time
    # The first answer predates the payment; the customer has paid by now.
    still_pending = service.journal.get(reference)
    assert still_pending is not None
    service.lookups[0][1].set_result(still_pending)
    qtbot.waitUntil(lambda: len(service.lookups) == 2)  # asked again, not at the next poll
    service.lookups[1][1].set_result(service.paid(reference))
    qtbot.waitUntil(lambda: checkout.stack.currentWidget() is checkout.result)
    assert checkout.result.title.text() == "Approved"


def test_an_answer_about_the_last_sale_never_lands_on_the_next(
    qtbot: QtBot, screen: tuple[CheckoutScreen, ScriptedService]
) -> None:
    checkout, service = screen
    first = open_sale(qtbot, checkout, service)
    checkout.verify()
    qtbot.waitUntil(lambda: len(service.lookups) == 1)
    second = open_sale(qtbot, checkout, service)  # the cashier moved on meanwhile
    # The screen stopped asking about the last sale: its lookup was called off.
    qtbot.waitUntil(lambda: service.lookups[0][1].cancelled())
    service.paid(first)  # the customer of the last sale pays anyway
    qtbot.waitUntil(lambda: not checkout_tasks(checkout).busy)
    assert checkout.stack.currentWidget() is not checkout.result
    payment = checkout.payment
    assert payment is not None
    assert payment.reference == second
    assert checkout.amount_label.text() == "$12.50"


def test_a_checkout_that_opens_after_the_cashier_left_is_closed_at_our_end(
    qtbot: QtBot, screen: tuple[CheckoutScreen, ScriptedService]
) -> None:
    checkout, service = screen
    service.hold = asyncio.get_event_loop().create_future()
    left: list[bool] = []
    checkout.finished.connect(left.append)
    checkout.start(Sale(Money(1250, "USD"), "Cake"), PaymentMethod.HOSTED_CHECKOUT)
    qtbot.waitUntil(lambda: service.opened == 1)  # the provider has it, not answered yet
    checkout.cancel()  # the cashier gives up before the page is there
    assert left == [False]  # back to the sale at once
    service.hold.set_result(None)  # the provider's answer arrives after all
    qtbot.waitUntil(lambda: not checkout_tasks(checkout).busy)
    [payment] = service.journal.page_payments(offset=0, limit=5)
    assert payment.state is PaymentState.FAILED  # closed at our end: nobody is left to pay
    assert checkout.payment is None
