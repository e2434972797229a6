"""The card-reader port: the simulated reader ends in a journaled sandbox payment; real
providers say plainly that card-present payments are not available yet."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, TypeVar

import pytest

from pos_app.bootstrap.reader_setup import build_reader
from pos_app.bootstrap.sandbox import sandbox_credentials
from pos_app.config.registry import build_provider
from pos_app.config.settings import sandbox_profile
from pos_app.domain.money import Money
from pos_app.domain.payment import PaymentState
from pos_app.domain.vocabulary import PaymentMethod
from pos_app.journal.store import JournalStore, PaymentRecord
from pos_app.services.payments import PaymentService
from pos_app.services.reader import (
    Gesture,
    ReaderError,
    ReaderState,
    ReaderStatus,
    SimulatedReader,
    UnavailableReader,
)
from pos_app.services.sale import Sale

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from pathlib import Path

    from pos_sandbox.server import SandboxServer

T = TypeVar("T")
SALE = Sale(Money(899, "USD"), "Flat white and a muffin")
# The providers whose sandbox profiles get the simulated reader (they take direct charges).
READER_PROVIDERS = ["justifi", "checkout_com", "recharge"]


def at_the_till(
    sandbox: SandboxServer,
    journal: JournalStore,
    body: Callable[[PaymentService, SimulatedReader, list[ReaderStatus]], Awaitable[T]],
    provider_key: str = "justifi",
) -> T:
    """``body`` runs with the adapter and reader the app builds for the provider's sandbox
    profile (pos_app/config/registry.py, pos_app/bootstrap/reader_setup.py)."""

    async def go() -> T:
        profile = sandbox_profile(provider_key)
        provider = build_provider(
            profile,
            secret=None,
            sandbox_url=sandbox.base_url,
            sandbox_credentials=sandbox_credentials(),
        )
        reader = build_reader(
            profile, provider, sandbox_url=sandbox.base_url, credentials=sandbox_credentials()
        )
        assert isinstance(reader, SimulatedReader)
        seen: list[ReaderStatus] = []
        reader.on_status(seen.append)
        try:
            return await body(PaymentService(journal, {"Till": provider}), reader, seen)
        finally:
            await provider.aclose()

    return asyncio.run(go())


def customer_does(
    gesture: Gesture, timeout_s: float = 30
) -> Callable[[PaymentService, SimulatedReader, list[ReaderStatus]], Awaitable[PaymentRecord]]:
    async def body(
        service: PaymentService, reader: SimulatedReader, seen: list[ReaderStatus]
    ) -> PaymentRecord:
        def act(status: ReaderStatus) -> None:
            if status.state is ReaderState.WAITING_FOR_CARD:
                asyncio.get_running_loop().call_soon(reader.gesture, gesture)

        reader.on_status(act)
        started = await service.take(
            "Till", SALE, PaymentMethod.CARD_READER, reader=reader, read_timeout_s=timeout_s
        )
        return started.payment

    return body


@pytest.fixture
def journal(tmp_path: Path) -> JournalStore:
    return JournalStore.open(tmp_path / "journal.sqlite3")


@pytest.mark.parametrize("gesture", [Gesture.TAP, Gesture.INSERT, Gesture.SWIPE])
def test_a_card_presented_to_the_simulated_reader_is_charged_and_journaled(
    sandbox: SandboxServer, journal: JournalStore, gesture: Gesture
) -> None:
    payment = at_the_till(sandbox, journal, customer_does(gesture))
    assert payment.state is PaymentState.CAPTURED
    assert payment.method == "card_reader"
    assert payment.card_last4 == "4242"
    assert journal.get(payment.reference) == payment


@pytest.mark.parametrize("provider_key", READER_PROVIDERS)
@pytest.mark.parametrize(
    ("gesture", "state"),
    [(Gesture.TAP, PaymentState.CAPTURED), (Gesture.DECLINING_CARD, PaymentState.DECLINED)],
)
def test_every_direct_charge_sandbox_takes_reader_payments_that_a_lookup_confirms(
    sandbox: SandboxServer,
    journal: JournalStore,
    provider_key: str,
    gesture: Gesture,
    state: PaymentState,
) -> None:
    async def body(
        service: PaymentService, reader: SimulatedReader, seen: list[ReaderStatus]
    ) -> tuple[PaymentRecord, PaymentRecord]:
        payment = await customer_does(gesture)(service, reader, seen)
        return payment, await service.refresh(payment.reference)

    payment, looked_up = at_the_till(sandbox, journal, body, provider_key)
    assert (payment.state, payment.method, payment.amount) == (state, "card_reader", SALE.amount)
    assert looked_up.state is state
    assert looked_up.attention is None
    assert journal.count_payments() == 1


def test_a_declining_card_ends_declined_with_the_reader_showing_the_outcome(
    sandbox: SandboxServer, journal: JournalStore
) -> None:
    seen: list[ReaderStatus] = []

    async def body(
        service: PaymentService, reader: SimulatedReader, statuses: list[ReaderStatus]
    ) -> PaymentRecord:
        payment = await customer_does(Gesture.DECLINING_CARD)(service, reader, statuses)
        seen.extend(statuses)
        return payment

    payment = at_the_till(sandbox, journal, body)
    assert payment.state is PaymentState.DECLINED
    assert [s.state for s in seen] == [
        ReaderState.CONNECTING,
        ReaderState.READY,
        ReaderState.WAITING_FOR_CARD,
        ReaderState.PROCESSING,
        ReaderState.DONE,
    ]
    assert seen[2].amount == SALE.amount  # what the customer's display shows
    assert seen[-1].message == "Payment declined"


@pytest.mark.parametrize(
    ("gesture", "timeout_s", "code"),
    [(Gesture.REMOVE_EARLY, 30, "removed_early"), (None, 0.05, "timeout")],
)
def test_a_read_that_ends_without_a_card_charges_nothing(
    sandbox: SandboxServer,
    journal: JournalStore,
    gesture: Gesture | None,
    timeout_s: float,
    code: str,
) -> None:
    async def body(
        service: PaymentService, reader: SimulatedReader, seen: list[ReaderStatus]
    ) -> ReaderError:
        if gesture is None:  # the customer walks away
            paying = service.take(
                "Till", SALE, PaymentMethod.CARD_READER, reader=reader, read_timeout_s=timeout_s
            )
        else:
            paying = customer_does(gesture, timeout_s)(service, reader, seen)
        with pytest.raises(ReaderError) as caught:
            await paying
        assert reader.status.state is ReaderState.ERROR
        return caught.value

    error = at_the_till(sandbox, journal, body)
    assert error.code == code
    assert error.message
    assert journal.count_payments() == 0


def test_the_cashier_can_cancel_the_wait(sandbox: SandboxServer, journal: JournalStore) -> None:
    async def body(
        service: PaymentService, reader: SimulatedReader, seen: list[ReaderStatus]
    ) -> str:
        def cancel_when_waiting(status: ReaderStatus) -> None:
            if status.state is ReaderState.WAITING_FOR_CARD:
                asyncio.get_running_loop().call_soon(reader.cancel)

        reader.on_status(cancel_when_waiting)
        with pytest.raises(ReaderError) as caught:
            await service.take("Till", SALE, PaymentMethod.CARD_READER, reader=reader)
        return caught.value.code

    assert at_the_till(sandbox, journal, body) == "cancelled"
    assert journal.count_payments() == 0


def test_a_real_provider_says_card_reader_payments_are_not_available_yet() -> None:
    reader = UnavailableReader("Checkout.com")
    assert reader.readers() == []
    with pytest.raises(ReaderError, match=r"not yet available for Checkout\.com"):
        asyncio.run(reader.read_card(SALE.amount))
    assert reader.status.state is ReaderState.ERROR
