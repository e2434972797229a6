"""Taking a sale journals before it calls, and a lookup decides every outcome."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest

from pos_app.domain.money import Money
from pos_app.domain.payment import PaymentState
from pos_app.domain.vocabulary import PaymentMethod
from pos_app.journal.store import IntentOutcome, JournalStore
from pos_app.providers.errors import (
    ConnectionFailedError,
    InvalidRequestError,
    OutcomeUnknownError,
    ProviderError,
)
from pos_app.providers.types import (
    AmountLimits,
    Capability,
    CardSummary,
    CheckoutRequest,
    CheckoutSession,
    Decline,
    DeclineCode,
)
from pos_app.services.payments import (
    SETTLE_AFTER,
    OperationFailed,
    PaymentService,
    ReconcileReport,
    SaleStarted,
)
from pos_app.services.sale import Sale, SaleInputError, parse_description, parse_sale

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine, Mapping
    from pathlib import Path

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
SALE = Sale(Money(1799, "USD"), "One chocolate donut")


def hosted(service: PaymentService, *, success_url: str | None) -> Coroutine[Any, Any, SaleStarted]:
    """The cashier's "Hosted checkout": the sale on the provider's page."""
    return service.take("Sandbox", SALE, PaymentMethod.HOSTED_CHECKOUT, success_url=success_url)


async def reconcile(
    journal: JournalStore, providers: Mapping[str, Any], *, clock: Callable[[], datetime]
) -> ReconcileReport:
    """What a till does at start-up: its payments service looks up everything left open."""
    return await PaymentService(journal, providers, clock=clock).reconcile()


class FakeProvider:
    """A scripted provider that also checks the journal was written before each call."""

    key = "justifi"
    display_name = "JustiFi"
    capabilities = frozenset({Capability.HOSTED_CHECKOUT, Capability.LOOKUP, Capability.LIST})
    limits = AmountLimits("USD", 51, 99_999_999)

    def __init__(self, journal: JournalStore) -> None:
        self.journal = journal
        self.checkouts: dict[str, CheckoutSession] = {}
        self.create_error: ProviderError | None = None
        self.apply_before_error = False
        self.requests: list[CheckoutRequest] = []

    async def create_checkout(self, request: CheckoutRequest) -> CheckoutSession:
        # Write-ahead: the intent with this key is already on disk.
        keys = [i.idempotency_key for i in self.journal.intents_for(request.reference)]
        assert request.idempotency_key in keys
        self.requests.append(request)
        session = CheckoutSession(
            provider_ref=f"cho_{len(self.checkouts) + 1}",
            state=PaymentState.PENDING,
            provider_status="created",
            amount=request.amount,
            reference=request.reference,
            hosted_url="https://pay.example/x",
            expires_at=None,
        )
        if self.create_error is not None:
            if self.apply_before_error:
                self.checkouts[session.provider_ref] = session
            raise self.create_error
        self.checkouts[session.provider_ref] = session
        return session

    async def get_checkout(self, provider_ref: str) -> CheckoutSession:
        return self.checkouts[provider_ref]

    async def find_checkout(self, reference: str) -> CheckoutSession | None:
        return next((c for c in self.checkouts.values() if c.reference == reference), None)

    async def aclose(self) -> None:
        return None

    def customer_pays(self, ref: str, *, declined: bool = False) -> None:
        session = self.checkouts[ref]
        if declined:
            self.checkouts[ref] = replace(
                session,
                state=PaymentState.DECLINED,
                provider_status="attempted",
                decline=Decline(DeclineCode.DECLINED, "card_declined", "Your card was declined."),
                card=CardSummary("visa", "0002"),
                attempts=1,
            )
        else:
            self.checkouts[ref] = replace(
                session,
                state=PaymentState.CAPTURED,
                provider_status="completed",
                payment_ref="py_1",
                card=CardSummary("visa", "4242"),
                attempts=1,
            )


@pytest.fixture
def journal(tmp_path: Path) -> JournalStore:
    return JournalStore.open(tmp_path / "journal.sqlite3")


@pytest.fixture
def provider(journal: JournalStore) -> FakeProvider:
    return FakeProvider(journal)


@pytest.fixture
def service(journal: JournalStore, provider: FakeProvider) -> PaymentService:
    return PaymentService(journal, {"Sandbox": provider}, clock=lambda: T0)


def test_approved_checkout_is_recorded_after_lookup(
    service: PaymentService, provider: FakeProvider
) -> None:
    checkout = asyncio.run(
        service.take(
            "Sandbox", SALE, PaymentMethod.HOSTED_CHECKOUT, success_url="https://pos-app.invalid/s"
        )
    )
    assert checkout.payment.state is PaymentState.PENDING
    assert provider.requests[0].success_url == "https://pos-app.invalid/s"
    provider.customer_pays(checkout.session.provider_ref)
    payment = asyncio.run(service.refresh(checkout.payment.reference))
    assert payment.state is PaymentState.CAPTURED
    assert (payment.card_brand, payment.card_last4) == ("visa", "4242")
    assert payment.provider_payment_ref == "py_1"
    intents = service.journal.intents_for(payment.reference)
    assert [i.outcome for i in intents] == [IntentOutcome.SUCCEEDED]


def test_decline_is_recorded_with_its_code(service: PaymentService, provider: FakeProvider) -> None:
    checkout = asyncio.run(hosted(service, success_url=None))
    provider.customer_pays(checkout.session.provider_ref, declined=True)
    payment = asyncio.run(service.refresh(checkout.payment.reference))
    assert payment.state is PaymentState.DECLINED
    assert payment.decline_code == "declined"
    assert payment.card_last4 == "0002"


def test_unreachable_provider_fails_the_sale_but_keeps_it(
    service: PaymentService, provider: FakeProvider
) -> None:
    provider.create_error = ConnectionFailedError("refused", provider="justifi")
    with pytest.raises(OperationFailed) as caught:
        asyncio.run(hosted(service, success_url=None))
    payment = caught.value.payment
    assert payment.state is PaymentState.FAILED
    assert service.journal.intents_for(payment.reference)[0].outcome is IntentOutcome.NOT_SENT


def _unreachable_lookups(provider: FakeProvider) -> None:
    async def unreachable(reference: str) -> CheckoutSession | None:
        raise ConnectionFailedError("Could not reach JustiFi", provider="justifi")

    provider.find_checkout = unreachable  # type: ignore[method-assign]


def test_no_answer_is_looked_up_at_once_and_the_checkout_found(
    service: PaymentService, provider: FakeProvider, journal: JournalStore
) -> None:
    provider.create_error = OutcomeUnknownError("timed out", provider="justifi")
    provider.apply_before_error = True  # the provider did open it
    with pytest.raises(OperationFailed) as caught:
        asyncio.run(hosted(service, success_url=None))
    payment = caught.value.payment
    assert payment.state is PaymentState.PENDING
    assert payment.provider_ref == "cho_1"
    assert [i.outcome for i in journal.intents_for(payment.reference)] == [IntentOutcome.RESOLVED]
    assert len(provider.requests) == 1  # found, not re-sent


def test_no_answer_and_no_lookup_leaves_the_sale_in_doubt_for_reconciliation(
    service: PaymentService, provider: FakeProvider, journal: JournalStore
) -> None:
    provider.create_error = OutcomeUnknownError("timed out", provider="justifi")
    provider.apply_before_error = True  # the provider did open it
    _unreachable_lookups(provider)
    with pytest.raises(OperationFailed) as caught:
        asyncio.run(hosted(service, success_url=None))
    reference = caught.value.payment.reference
    assert caught.value.payment.state is PaymentState.IN_DOUBT
    assert caught.value.payment.attention

    del provider.find_checkout  # reachable again
    provider.customer_pays("cho_1")
    report = asyncio.run(reconcile(journal, {"Sandbox": provider}, clock=lambda: T0))
    payment = journal.get(reference)
    assert payment is not None
    assert payment.state is PaymentState.CAPTURED
    assert payment.provider_ref == "cho_1"
    assert payment.attention is None
    assert journal.unresolved_intents() == []
    assert reference in report.resolved
    assert len(provider.requests) == 1  # nothing was re-sent


def test_a_lost_create_with_no_trace_is_in_doubt_then_failed_once_its_time_is_up(
    service: PaymentService, provider: FakeProvider, journal: JournalStore
) -> None:
    provider.create_error = OutcomeUnknownError("reset", provider="justifi")
    with pytest.raises(OperationFailed) as caught:
        asyncio.run(hosted(service, success_url=None))
    payment = caught.value.payment
    # It may still be on its way to the provider: not "failed" yet.
    assert payment.state is PaymentState.IN_DOUBT
    assert payment.attention
    assert "may still be processing" in payment.attention
    report = asyncio.run(reconcile(journal, {"Sandbox": provider}, clock=lambda: T0))
    assert report.needs_attention == [payment.reference]

    later = T0 + SETTLE_AFTER
    asyncio.run(reconcile(journal, {"Sandbox": provider}, clock=lambda: later))
    payment = journal.get(payment.reference)  # type: ignore[assignment]
    assert payment is not None
    assert payment.state is PaymentState.FAILED
    assert journal.intents_for(payment.reference)[0].outcome is IntentOutcome.ABANDONED


def test_refused_request_fails_without_doubt(
    service: PaymentService, provider: FakeProvider
) -> None:
    provider.create_error = InvalidRequestError(
        "Amount must be greater than 50", provider="justifi"
    )
    with pytest.raises(OperationFailed) as caught:
        asyncio.run(hosted(service, success_url=None))
    assert caught.value.payment.state is PaymentState.FAILED
    assert caught.value.payment.attention is None


def test_cancel_looks_first_and_keeps_a_payment_the_customer_just_made(
    service: PaymentService, provider: FakeProvider
) -> None:
    checkout = asyncio.run(hosted(service, success_url=None))
    provider.customer_pays(checkout.session.provider_ref)
    assert (
        asyncio.run(service.cancel_checkout(checkout.payment.reference)).state
        is PaymentState.CAPTURED
    )


def test_cancel_of_an_unpaid_checkout(service: PaymentService) -> None:
    checkout = asyncio.run(hosted(service, success_url=None))
    payment = asyncio.run(service.cancel_checkout(checkout.payment.reference))
    assert payment.state is PaymentState.FAILED
    assert "Cancelled by the cashier" in service.journal.events(payment.reference)[-1].note


def test_a_customer_who_pays_after_a_decline_is_flagged_keep_or_refund(
    service: PaymentService, provider: FakeProvider
) -> None:
    checkout = asyncio.run(hosted(service, success_url=None))
    ref = checkout.session.provider_ref
    provider.customer_pays(ref, declined=True)
    asyncio.run(service.refresh(checkout.payment.reference))
    provider.customer_pays(ref)  # paid later with another card
    payment = asyncio.run(service.refresh(checkout.payment.reference))
    assert payment.state is PaymentState.DECLINED
    assert payment.attention
    assert "paid after a decline" in payment.attention
    assert "do not charge the customer again" in payment.attention


def test_reconciliation_watches_a_declined_checkout_until_it_can_no_longer_be_paid(
    service: PaymentService, provider: FakeProvider, journal: JournalStore
) -> None:
    """The sale ended on a decline; the customer pays on their phone afterwards."""
    checkout = asyncio.run(hosted(service, success_url=None))
    provider.customer_pays(checkout.session.provider_ref, declined=True)
    assert asyncio.run(service.refresh(checkout.payment.reference)).state is PaymentState.DECLINED
    provider.customer_pays(checkout.session.provider_ref)
    report = asyncio.run(reconcile(journal, {"Sandbox": provider}, clock=lambda: T0))
    assert report.needs_attention == [checkout.payment.reference]
    flagged = journal.get(checkout.payment.reference)
    assert flagged is not None
    assert flagged.attention
    assert "paid after a decline" in flagged.attention


LIMITS = AmountLimits("USD", 51, 99_999_999)


@pytest.mark.parametrize(
    ("amount", "description", "field", "code"),
    [
        ("", "Donut", "amount", "empty"),
        ("0", "Donut", "amount", "zero"),
        ("-5", "Donut", "amount", "negative"),
        ("abc", "Donut", "amount", "not_a_number"),
        ("17.999", "Donut", "amount", "too_precise"),
        ("0.50", "Donut", "amount", "outside_limits"),
        ("1000000", "Donut", "amount", "outside_limits"),
        ("17.99", "", "description", "empty"),
        ("17.99", "   ", "description", "empty"),
        ("17.99", "x" * 201, "description", "too_long"),
        ("17.99", "Donut\u202e", "description", "control_characters"),
    ],
)
def test_bad_sale_input_is_refused_with_a_specific_reason(
    amount: str, description: str, field: str, code: str
) -> None:
    with pytest.raises(SaleInputError) as caught:
        parse_sale(amount, description, limits=LIMITS, locale="en_US")
    assert (caught.value.field, caught.value.code) == (field, code)
    assert caught.value.message


def test_good_sale_input() -> None:
    sale = parse_sale(" 17.99 ", "  One   chocolate donut ", limits=LIMITS, locale="en_US")
    assert sale == Sale(Money(1799, "USD"), "One chocolate donut")
    assert parse_description("Café crème") == "Café crème"


def test_reconciliation_that_cannot_reach_the_provider_keeps_the_sale_visible(
    service: PaymentService, provider: FakeProvider, journal: JournalStore
) -> None:
    provider.create_error = OutcomeUnknownError("timed out", provider="justifi")
    _unreachable_lookups(provider)
    with pytest.raises(OperationFailed) as caught:
        asyncio.run(hosted(service, success_url=None))

    report = asyncio.run(reconcile(journal, {"Sandbox": provider}, clock=lambda: T0))
    payment = journal.get(caught.value.payment.reference)
    assert payment is not None
    assert payment.state is PaymentState.IN_DOUBT
    assert payment.attention == "Could not check this payment: Could not reach JustiFi"
    assert [i.outcome for i in journal.unresolved_intents()] == [IntentOutcome.UNKNOWN]
    assert report.needs_attention == [payment.reference]


def test_reconciliation_beside_a_sale_being_opened_leaves_that_sale_to_its_own_call(
    journal: JournalStore,
) -> None:
    """Start-up reconciliation runs while the cashier rings up the first sale: a checkout
    whose create is on its way must not be looked up (it has no id yet) and flagged."""
    provider = SlowProvider(journal)
    service = PaymentService(journal, {"Sandbox": provider}, clock=lambda: T0)

    async def both() -> None:
        sale = asyncio.ensure_future(hosted(service, success_url=None))
        await provider.sent.wait()  # the create is at the provider, unanswered
        report = await service.reconcile()
        assert report.needs_attention == []
        assert report.resolved == []
        provider.answer.set()
        await sale

    asyncio.run(both())
    [payment] = journal.page_payments(offset=0, limit=5)
    assert payment.provider_ref == "cho_1"
    assert payment.attention is None


class SlowProvider(FakeProvider):
    capabilities = frozenset({Capability.HOSTED_CHECKOUT, Capability.LOOKUP})  # no search

    def __init__(self, journal: JournalStore) -> None:
        super().__init__(journal)
        self.sent = asyncio.Event()
        self.answer = asyncio.Event()

    async def create_checkout(self, request: CheckoutRequest) -> CheckoutSession:
        self.sent.set()
        await self.answer.wait()
        return await super().create_checkout(request)
