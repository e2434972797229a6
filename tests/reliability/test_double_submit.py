"""The same capture or refund submitted twice at once: exactly one effect at the provider.

Two presses of one button (one till), and two tills sharing one journal file refunding the
same payment. The provider parks the first request (its hold control) so the second is sent
while the first is truly in flight: the race is forced, not hoped for.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import httpx
import pytest

from pos_app.domain.money import Money
from pos_app.domain.payment import PaymentState
from pos_app.journal.store import JournalStore, PaymentRecord
from pos_app.services.payments import OperationFailed, PaymentRefused, PaymentService
from pos_app.services.sale import Sale
from tests.conformance.harness import APPROVED_CARD, HARNESSES
from tests.reliability.tills import build

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from pathlib import Path

    from pos_sandbox.server import SandboxServer

HARNESS = {h.name: h for h in HARNESSES}
HOLDS = {"justifi": "justifi", "checkout_com": "checkout-com"}  # providers with keys and holds
SALE = Sale(Money(2050, "USD"), "Two croissants")
PART = Money(1000, "USD")

STILL_PROCESSING = (
    "A refund of this payment is still being processed. Wait for it to finish, then look again."
)

Outcome = PaymentRecord | BaseException


async def submit_twice(
    sandbox: SandboxServer,
    provider: str,
    first: Callable[[], Awaitable[PaymentRecord]],
    second: Callable[[], Awaitable[PaymentRecord]],
) -> tuple[Outcome, Outcome]:
    """Runs ``first`` until the provider holds its request, then ``second``, then lets go."""
    hold = f"{sandbox.base_url}/_sandbox/{HOLDS[provider]}"
    async with httpx.AsyncClient(timeout=30, headers=sandbox.control_headers) as control:

        async def parked(count: int) -> None:
            answer = await control.post(
                f"{hold}/held-requests/wait", json={"count": count, "timeout": 20}
            )
            assert answer.status_code == 200, answer.text

        await control.post(f"{hold}/hold-requests", json={"enabled": True})
        try:
            one = asyncio.ensure_future(first())
            await parked(1)
            two = asyncio.ensure_future(second())
            # The second is either refused at once or held beside the first.
            waiting = asyncio.ensure_future(parked(2))
            await asyncio.wait({two, waiting}, return_when=asyncio.FIRST_COMPLETED)
            waiting.cancel()
        finally:
            await control.post(f"{hold}/hold-requests", json={"enabled": False})
        results = await asyncio.gather(one, two, return_exceptions=True)
    return results[0], results[1]


def usd(minor: int) -> Money:
    return Money(minor, "USD")


async def sell(
    sandbox: SandboxServer, journal: JournalStore, provider: str, *, capture: bool
) -> PaymentRecord:
    built = build(provider, sandbox.base_url, sandbox=sandbox.control)
    try:
        source = HARNESS[provider].card_source
        assert source is not None
        service = PaymentService(journal, {provider: built.provider})
        return await service.charge(provider, SALE, source(sandbox, APPROVED_CARD), capture=capture)
    finally:
        await built.provider.aclose()


async def at_provider(
    sandbox: SandboxServer, provider: str, payment: PaymentRecord
) -> tuple[int, int]:
    """(captured, refunded) as the provider reports them."""
    built = build(provider, sandbox.base_url, sandbox=sandbox.control)
    try:
        assert payment.provider_payment_ref is not None
        reported = await built.provider.get_payment(payment.provider_payment_ref)
        return reported.captured.minor, reported.refunded.minor
    finally:
        await built.provider.aclose()


def refused_or_failed(outcome: Outcome) -> bool:
    return isinstance(outcome, PaymentRefused | OperationFailed)


@pytest.mark.parametrize("provider", list(HOLDS))
def test_capture_pressed_twice_captures_once(
    sandbox: SandboxServer, tmp_path: Path, provider: str
) -> None:
    journal = JournalStore.open(tmp_path / "journal.sqlite3")

    async def go() -> tuple[Outcome, Outcome, tuple[int, int]]:
        held = await sell(sandbox, journal, provider, capture=False)
        built = build(provider, sandbox.base_url, sandbox=sandbox.control)
        service = PaymentService(journal, {provider: built.provider})
        try:
            one, two = await submit_twice(
                sandbox,
                provider,
                lambda: service.capture(held.reference),
                lambda: service.capture(held.reference),
            )
            await service.refresh(held.reference)
        finally:
            await built.provider.aclose()
        return one, two, await at_provider(sandbox, provider, held)

    one, two, (captured, refunded) = asyncio.run(go())
    assert (captured, refunded) == (2050, 0)  # one capture of the whole sale
    assert isinstance(one, PaymentRecord)
    assert one.state is PaymentState.CAPTURED
    assert refused_or_failed(two)
    [payment] = journal.page_payments(offset=0, limit=5)
    assert (payment.state, payment.captured_minor) == (PaymentState.CAPTURED, 2050)
    journal.close()


@pytest.mark.parametrize("provider", list(HOLDS))
def test_refund_pressed_twice_refunds_once(
    sandbox: SandboxServer, tmp_path: Path, provider: str
) -> None:
    journal = JournalStore.open(tmp_path / "journal.sqlite3")

    async def go() -> tuple[tuple[Outcome, Outcome], tuple[int, int]]:
        sale = await sell(sandbox, journal, provider, capture=True)
        built = build(provider, sandbox.base_url, sandbox=sandbox.control)
        service = PaymentService(journal, {provider: built.provider})
        try:
            outcomes = await submit_twice(
                sandbox,
                provider,
                lambda: service.refund(sale.reference, PART, "Returned"),
                lambda: service.refund(sale.reference, PART, "Returned"),
            )
        finally:
            await built.provider.aclose()
        return outcomes, await at_provider(sandbox, provider, sale)

    (first, second), money = asyncio.run(go())
    assert money == (2050, 1000)  # one refund at the provider
    assert isinstance(first, PaymentRecord)
    assert first.refunded_minor == 1000
    assert isinstance(second, PaymentRefused)
    assert str(second) == STILL_PROCESSING
    journal.close()


@pytest.mark.parametrize("provider", list(HOLDS))
def test_two_tills_on_one_journal_refund_a_payment_once(
    sandbox: SandboxServer, tmp_path: Path, provider: str
) -> None:
    path = tmp_path / "journal.sqlite3"
    first_till, second_till = JournalStore.open(path), JournalStore.open(path)

    async def go() -> tuple[tuple[Outcome, Outcome], tuple[int, int]]:
        sale = await sell(sandbox, first_till, provider, capture=True)
        a, b = (
            build(provider, sandbox.base_url, sandbox=sandbox.control),
            build(provider, sandbox.base_url, sandbox=sandbox.control),
        )
        one = PaymentService(first_till, {provider: a.provider})
        two = PaymentService(second_till, {provider: b.provider})
        try:
            outcomes = await submit_twice(
                sandbox,
                provider,
                lambda: one.refund(sale.reference, PART, "Returned"),
                lambda: two.refund(sale.reference, PART, "Returned"),
            )
        finally:
            await a.provider.aclose()
            await b.provider.aclose()
        return outcomes, await at_provider(sandbox, provider, sale)

    (first, second), money = asyncio.run(go())
    assert money == (2050, 1000)
    # The second till read the first till's intent from the shared file and refused.
    assert isinstance(first, PaymentRecord)
    assert first.refunded_minor == 1000
    assert isinstance(second, PaymentRefused)
    assert str(second) == STILL_PROCESSING
    [payment] = second_till.page_payments(offset=0, limit=5)
    assert payment.refunded_minor == 1000
    first_till.close()
    second_till.close()


@pytest.mark.parametrize("provider", list(HOLDS))
def test_two_tills_refunding_everything_at_once_never_refund_more_than_was_taken(
    sandbox: SandboxServer, tmp_path: Path, provider: str
) -> None:
    path = tmp_path / "journal.sqlite3"
    first_till, second_till = JournalStore.open(path), JournalStore.open(path)

    async def go() -> tuple[tuple[Outcome, Outcome], tuple[int, int]]:
        sale = await sell(sandbox, first_till, provider, capture=True)
        a, b = (
            build(provider, sandbox.base_url, sandbox=sandbox.control),
            build(provider, sandbox.base_url, sandbox=sandbox.control),
        )
        one = PaymentService(first_till, {provider: a.provider})
        two = PaymentService(second_till, {provider: b.provider})
        try:
            outcomes = await submit_twice(
                sandbox,
                provider,
                lambda: one.refund(sale.reference, SALE.amount, "Returned"),
                lambda: two.refund(sale.reference, SALE.amount, "Returned"),
            )
            await one.refresh(sale.reference)
        finally:
            await a.provider.aclose()
            await b.provider.aclose()
        return outcomes, await at_provider(sandbox, provider, sale)

    (first, second), (captured, refunded) = asyncio.run(go())
    assert (captured, refunded) == (2050, 2050)
    assert isinstance(first, PaymentRecord)
    assert first.state is PaymentState.REFUNDED
    assert refused_or_failed(second)
    [payment] = second_till.page_payments(offset=0, limit=5)
    assert payment.refunded_minor == payment.captured_minor == 2050
    first_till.close()
    second_till.close()
