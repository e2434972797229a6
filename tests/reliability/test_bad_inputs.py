"""Bad input never reaches a provider, and a bad provider answer is never taken for success.

The cashier's text goes through ``parse_sale`` then ``PaymentService``, as the till does;
the adapter's transport records every request, so "nothing was sent" is checked, not assumed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from pos_app.domain.money import Money
from pos_app.domain.payment import PaymentState
from pos_app.domain.vocabulary import PaymentMethod
from pos_app.journal.store import IntentOutcome, JournalStore
from pos_app.providers.errors import ResponseInvalidError
from pos_app.services.payments import OperationFailed, PaymentRefused, PaymentService
from pos_app.services.sale import Sale, SaleInputError, parse_sale
from tests.conformance.harness import APPROVED_CARD, HARNESSES
from tests.reliability.bad_inputs import CASES, BadInput
from tests.reliability.corrupt import CORRUPTIONS, CorruptingTransport
from tests.reliability.tills import Built, build

if TYPE_CHECKING:
    from pos_sandbox.server import SandboxServer

HARNESS = {h.name: h for h in HARNESSES}
RETURN_URL = "https://pos.invalid/ok"


class Till:
    """Every provider's adapter, recording its requests, behind one PaymentService."""

    def __init__(self, sandbox: SandboxServer, journal: JournalStore) -> None:
        self.sandbox = sandbox
        self.journal = journal
        self.built: dict[str, Built] = {}

    def sent(self) -> int:
        return sum(len(b.transport.attempts) for b in self.built.values())

    def run(self, body: Callable[[PaymentService], Awaitable[object]]) -> object:
        async def go() -> object:
            self.built = {
                n: build(n, self.sandbox.base_url, sandbox=self.sandbox.control) for n in HARNESS
            }
            service = PaymentService(self.journal, {n: b.provider for n, b in self.built.items()})
            try:
                return await body(service)
            finally:
                for b in self.built.values():
                    await b.provider.aclose()

        return asyncio.run(go())


@pytest.fixture
def till(shared_sandbox: SandboxServer, journal: JournalStore) -> Till:
    return Till(shared_sandbox, journal)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_bad_input_is_refused_with_its_reason_before_anything_is_sent(
    till: Till, case: BadInput
) -> None:
    async def sell(service: PaymentService) -> object:
        sale = parse_sale(case.amount, case.description, limits=case.limits, locale=case.locale)
        return await service.open_checkout("justifi", sale, success_url=RETURN_URL)

    with pytest.raises(SaleInputError) as refused:
        till.run(sell)
    assert (refused.value.field, refused.value.code) == (case.field, case.code)
    assert refused.value.message == case.message
    assert till.sent() == 0
    assert till.journal.count_payments() == 0


def test_the_battery_has_at_least_sixty_distinct_bad_inputs() -> None:
    assert len({(c.amount, c.description, c.limits, c.locale) for c in CASES}) >= 60


USD_SALE = Sale(Money(2050, "USD"), "Two croissants")


@pytest.fixture(scope="module")
def paid(shared_sandbox: SandboxServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Till]:
    """A till with one captured JustiFi sale and one authorized Checkout.com sale."""
    journal = JournalStore.open(Path(tmp_path_factory.mktemp("paid")) / "journal.sqlite3")
    till = Till(shared_sandbox, journal)

    async def sell(service: PaymentService) -> None:
        for name, capture in (("justifi", True), ("checkout_com", False)):
            source = HARNESS[name].card_source
            assert source is not None
            await service.charge(
                name, USD_SALE, source(shared_sandbox, APPROVED_CARD), capture=capture
            )

    till.run(sell)
    yield till
    journal.close()


def usd(minor: int, currency: str = "USD") -> Money:
    return Money(minor, currency)


def captured(till: Till) -> str:
    return next(
        p.reference
        for p in till.journal.page_payments(offset=0, limit=9)
        if p.provider == "justifi"
    )


def authorized(till: Till) -> str:
    return next(
        p.reference
        for p in till.journal.page_payments(offset=0, limit=9)
        if p.provider == "checkout_com"
    )


Guard = Callable[[PaymentService, Till], Awaitable[object]]
GUARDS: list[tuple[str, Guard, str]] = [
    (
        "a sale in another currency",
        lambda s, t: s.open_checkout("justifi", Sale(usd(2050, "EUR"), "x")),
        "This account takes USD, not EUR.",
    ),
    (
        "a sale in yen at Checkout.com",
        lambda s, t: s.open_checkout("checkout_com", Sale(usd(2050, "JPY"), "x")),
        "This account takes USD, not JPY.",
    ),
    (
        "a sale in dinars at Payfect",
        lambda s, t: s.open_checkout("payfect", Sale(usd(2050, "KWD"), "x")),
        "This account takes USD, not KWD.",
    ),
    (
        "below JustiFi's minimum",
        lambda s, t: s.open_checkout("justifi", Sale(usd(50), "x")),
        "The smallest amount this provider accepts is 0.51 USD.",
    ),
    (
        "above ReCharge's maximum",
        lambda s, t: s.open_checkout("recharge", Sale(usd(100_000_001), "x")),
        "The largest amount this provider accepts is 1000000.00 USD.",
    ),
    (
        "above Checkout.com's maximum",
        lambda s, t: s.open_checkout("checkout_com", Sale(usd(10**10), "x")),
        "The largest amount this provider accepts is 99999999.99 USD.",
    ),
    (
        "above Payfect's maximum",
        lambda s, t: s.open_checkout("payfect", Sale(usd(10**12), "x")),
        "The largest amount this provider accepts is 9999999999.99 USD.",
    ),
    (
        "a link where ReCharge has none",
        lambda s, t: s.open_checkout("recharge", USD_SALE, method=PaymentMethod.PAY_BY_LINK),
        "ReCharge cannot take payment by link.",
    ),
    (
        "an unknown profile",
        lambda s, t: s.open_checkout("Nope", USD_SALE),
        "The payment profile 'Nope' is not available.",
    ),
    (
        "a refund above what was captured",
        lambda s, t: s.refund(captured(t), usd(2051), "x"),
        "At most 20.50 USD can be refunded.",
    ),
    (
        "a refund of nothing",
        lambda s, t: s.refund(captured(t), usd(0), "x"),
        "The amount must be more than zero.",
    ),
    (
        "a negative refund",
        lambda s, t: s.refund(captured(t), usd(-100), "x"),
        "The amount must be more than zero.",
    ),
    (
        "a refund in another currency",
        lambda s, t: s.refund(captured(t), usd(100, "EUR"), "x"),
        "This payment is in USD, not EUR.",
    ),
    (
        "a refund of an uncaptured authorization",
        lambda s, t: s.refund(authorized(t), usd(100), "x"),
        "This payment is authorized, so it cannot be refunded.",
    ),
    (
        "a capture above what was authorized",
        lambda s, t: s.capture(authorized(t), usd(2051)),
        "At most 20.50 USD can be captured.",
    ),
    (
        "a capture in another currency",
        lambda s, t: s.capture(authorized(t), usd(100, "EUR")),
        "This payment is in USD, not EUR.",
    ),
    (
        "a void after capture",
        lambda s, t: s.void(captured(t)),
        "Money has already been captured, so this payment cannot be voided; refund it.",
    ),
    (
        "a part capture where JustiFi has none",
        lambda s, t: s.capture(captured(t), usd(100)),
        "JustiFi cannot capture part of a payment.",
    ),
]


@pytest.mark.parametrize(
    ("guard", "message"), [(g, m) for _, g, m in GUARDS], ids=[n for n, _, _ in GUARDS]
)
def test_the_service_refuses_what_the_provider_would_not_take_before_sending(
    paid: Till, guard: Guard, message: str
) -> None:
    payments = paid.journal.count_payments()
    intents = sum(
        len(paid.journal.intents_for(p.reference))
        for p in paid.journal.page_payments(offset=0, limit=99)
    )

    async def body(service: PaymentService) -> object:
        return await guard(service, paid)

    with pytest.raises(PaymentRefused) as refused:
        paid.run(body)
    assert str(refused.value) == message
    assert paid.sent() == 0
    assert paid.journal.count_payments() == payments
    assert intents == sum(
        len(paid.journal.intents_for(p.reference))
        for p in paid.journal.page_payments(offset=0, limit=99)
    )


# -- malformed provider answers --------------------------------------------------------

SUCCESS_STATES = frozenset({PaymentState.PENDING, PaymentState.AUTHORIZED, PaymentState.CAPTURED})
# What the till asks of each provider, for an answer that carries amount and status.
# A ReCharge checkout's answer has no status field (it is read from completed_at).
ANSWERS = [
    pytest.param(
        provider,
        operation,
        corruption,
        id=f"{provider}-{operation}-{corruption}",
        marks=[],
    )
    for provider, operation in (
        ("justifi", "charge"),
        ("checkout_com", "charge"),
        ("recharge", "checkout"),
        ("recharge", "pay_checkout"),
        ("payfect", "checkout"),
    )
    for corruption in CORRUPTIONS
    if (provider, operation, corruption) != ("recharge", "checkout", "unknown_status")
]
# A ReCharge charge answer's status is corrupted but the checkout lookup that follows carries
# none: the lookup, which is sound, rightly decides the payment was captured.
DECIDED_BY_LOOKUP = {("recharge", "pay_checkout", "unknown_status")}


@pytest.mark.parametrize(("provider", "operation", "corruption"), ANSWERS)
def test_a_malformed_answer_is_response_invalid_and_never_recorded_as_success(
    shared_sandbox: SandboxServer,
    journal: JournalStore,
    provider: str,
    operation: str,
    corruption: str,
) -> None:
    make_source = HARNESS[provider].card_source
    source = make_source(shared_sandbox, APPROVED_CARD) if make_source else None

    async def go() -> tuple[OperationFailed, CorruptingTransport]:
        built = build(provider, shared_sandbox.base_url, sandbox=shared_sandbox.control)
        corrupting = CorruptingTransport(built.transport.inner, CORRUPTIONS[corruption])
        built.transport.inner = corrupting
        service = PaymentService(journal, {provider: built.provider})
        try:
            opened = None
            if operation == "pay_checkout":
                opened = await service.open_checkout(provider, USD_SALE, success_url=RETURN_URL)
            corrupting.armed = True
            with pytest.raises(OperationFailed) as failed:  # noqa: PT012 - one call, by operation
                if opened is not None:
                    assert source is not None
                    await service.complete_checkout(opened.payment.reference, source)
                elif operation == "charge":
                    assert source is not None
                    await service.charge(provider, USD_SALE, source)
                else:
                    await service.open_checkout(provider, USD_SALE, success_url=RETURN_URL)
            return failed.value, corrupting
        finally:
            await built.provider.aclose()

    failure, corrupting = asyncio.run(go())
    assert corrupting.corrupted > 0, "the corruption must have changed an answer"
    assert isinstance(failure.error, ResponseInvalidError), failure.error
    payment = journal.get(failure.payment.reference)
    assert payment is not None
    last = journal.intents_for(payment.reference)[-1]
    if (provider, operation, corruption) in DECIDED_BY_LOOKUP:
        assert (payment.state, last.outcome) == (PaymentState.CAPTURED, IntentOutcome.RESOLVED)
        return
    # In doubt, with the reason shown: never captured, never a success.
    assert payment.state is PaymentState.IN_DOUBT
    assert payment.attention
    assert payment.captured_minor == 0
    # The request whose answer was corrupted is not marked as having succeeded.
    assert last.outcome is not IntentOutcome.SUCCEEDED
