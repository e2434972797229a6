"""PaymentService: guards before sending, intents before calls, lookups decide what was lost."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

from pos_app.domain.money import Money
from pos_app.domain.payment import PaymentState
from pos_app.journal.store import IntentOutcome, JournalStore, PaymentRecord
from pos_app.providers.errors import (
    ConnectionFailedError,
    InvalidRequestError,
    OutcomeUnknownError,
    ProviderError,
)
from pos_app.providers.types import (
    ActionResult,
    AmountLimits,
    Capability,
    CaptureRequest,
    ChargeRequest,
    PaymentSource,
    ProviderPayment,
    RefundRequest,
    SourceKind,
    VoidRequest,
)
from pos_app.services.events import PaymentChange
from pos_app.services.payments import (
    SETTLE_AFTER,
    OperationFailed,
    PaymentRefused,
    PaymentService,
)
from pos_app.services.sale import Sale

if TYPE_CHECKING:
    from collections.abc import Coroutine
    from pathlib import Path

T = TypeVar("T")
T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
SALE = Sale(Money(5000, "USD"), "Birthday cake")
CARD = PaymentSource(SourceKind.TOKEN, "tok_visa")
ALL = frozenset(Capability)


def usd(minor: int) -> Money:
    return Money(minor, "USD")


class FakeGateway:
    """An in-memory provider with payments; checks each call was journaled first."""

    key = "fake"
    display_name = "FakePay"
    limits = AmountLimits("USD", 50, 1_000_000)

    def __init__(self, journal: JournalStore, capabilities: frozenset[Capability] = ALL) -> None:
        self.journal = journal
        self.capabilities = capabilities
        self.payments: dict[str, ProviderPayment] = {}
        self.calls: list[str] = []
        self.fail_next: ProviderError | None = None
        self.apply_then_fail = False
        self.lookup_error: ProviderError | None = None
        self._pending_error: ProviderError | None = None

    def _journaled(self, key: str) -> None:
        assert any(
            key == i.idempotency_key
            for p in self.journal.page_payments(offset=0, limit=100)
            for i in self.journal.intents_for(p.reference)
        ), "the intent must be on disk before the call"

    def _maybe_fail(self) -> None:
        """Fail now, or (``apply_then_fail``) after applying the request."""
        error, self.fail_next = self.fail_next, None
        if error is not None and not self.apply_then_fail:
            raise error
        self._pending_error = error

    def _raise_pending(self) -> None:
        error, self._pending_error = self._pending_error, None
        if error is not None:
            raise error

    async def charge(self, request: ChargeRequest) -> ProviderPayment:
        self._journaled(request.idempotency_key)
        self.calls.append("charge")
        self._maybe_fail()
        declined = request.source.value == "tok_decline"
        ref = f"pay_{len(self.payments) + 1}"
        captured = request.amount if request.capture and not declined else usd(0)
        state = (
            PaymentState.DECLINED
            if declined
            else PaymentState.CAPTURED
            if request.capture
            else PaymentState.AUTHORIZED
        )
        payment = ProviderPayment(
            ref, state, state.value, request.amount, captured, usd(0), request.reference
        )
        self.payments[ref] = payment
        self._raise_pending()
        return payment

    async def get_payment(self, payment_ref: str) -> ProviderPayment:
        self.calls.append("get_payment")
        if self.lookup_error is not None:
            raise self.lookup_error
        return self.payments[payment_ref]

    async def find_payment(self, reference: str) -> ProviderPayment | None:
        self.calls.append("find_payment")
        return next((p for p in self.payments.values() if p.reference == reference), None)

    async def capture(self, request: CaptureRequest) -> ActionResult:
        self._journaled(request.idempotency_key)
        self.calls.append("capture")
        self._maybe_fail()
        p = self.payments[request.payment_ref]
        amount = request.amount or p.amount
        state = PaymentState.CAPTURED if request.final else PaymentState.PARTIALLY_CAPTURED
        self.payments[p.provider_ref] = replace(p, state=state, captured=p.captured + amount)
        self._raise_pending()
        return ActionResult("cap_1", self.payments[p.provider_ref])

    async def refund(self, request: RefundRequest) -> ActionResult:
        self._journaled(request.idempotency_key)
        self.calls.append("refund")
        self._maybe_fail()
        p = self.payments[request.payment_ref]
        refunded = p.refunded + request.amount
        state = PaymentState.REFUNDED if refunded == p.captured else PaymentState.PARTIALLY_REFUNDED
        self.payments[p.provider_ref] = replace(p, state=state, refunded=refunded)
        self._raise_pending()
        return ActionResult(f"re_{request.reference}", self.payments[p.provider_ref])

    async def void(self, request: VoidRequest) -> ActionResult:
        self._journaled(request.idempotency_key)
        self.calls.append("void")
        self._maybe_fail()
        p = self.payments[request.payment_ref]
        self.payments[p.provider_ref] = replace(p, state=PaymentState.VOIDED)
        self._raise_pending()
        return ActionResult("void_1", self.payments[p.provider_ref])


@pytest.fixture
def journal(tmp_path: Path) -> JournalStore:
    return JournalStore.open(tmp_path / "journal.sqlite3")


@pytest.fixture
def gateway(journal: JournalStore) -> FakeGateway:
    return FakeGateway(journal)


@pytest.fixture
def service(journal: JournalStore, gateway: FakeGateway) -> PaymentService:
    return PaymentService(journal, {"Till": gateway}, clock=lambda: T0)  # type: ignore[dict-item]


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def test_sale_charge_is_journaled_then_recorded_with_its_amounts(
    service: PaymentService, journal: JournalStore
) -> None:
    changes: list[PaymentChange] = []
    service.subscribe(changes.append)
    payment = run(service.charge("Till", SALE, CARD))
    assert payment.state is PaymentState.CAPTURED
    assert (payment.captured, payment.refunded) == (usd(5000), usd(0))
    assert [i.outcome for i in journal.intents_for(payment.reference)] == [IntentOutcome.SUCCEEDED]
    assert changes == [PaymentChange(payment.reference, "charge", PaymentState.CAPTURED)]


def test_a_decline_is_a_recorded_outcome_not_an_error(service: PaymentService) -> None:
    payment = run(service.charge("Till", SALE, PaymentSource(SourceKind.TOKEN, "tok_decline")))
    assert payment.state is PaymentState.DECLINED


def test_authorize_then_partial_then_final_capture(service: PaymentService) -> None:
    payment = run(service.charge("Till", SALE, CARD, capture=False))
    assert payment.state is PaymentState.AUTHORIZED
    payment = run(service.capture(payment.reference, usd(2000), final=False))
    assert payment.state is PaymentState.PARTIALLY_CAPTURED
    assert payment.captured == usd(2000)
    payment = run(service.capture(payment.reference, usd(1000)))
    assert (payment.state, payment.captured) == (PaymentState.CAPTURED, usd(3000))


def test_capture_more_than_authorized_is_refused_before_sending(
    service: PaymentService, gateway: FakeGateway, journal: JournalStore
) -> None:
    payment = run(service.charge("Till", SALE, CARD, capture=False))
    with pytest.raises(PaymentRefused, match=r"At most 50\.00 USD can be captured"):
        run(service.capture(payment.reference, usd(5001)))
    assert gateway.calls == ["charge"]
    assert len(journal.intents_for(payment.reference)) == 1


def test_refund_in_parts_then_the_rest_and_no_more(
    service: PaymentService, gateway: FakeGateway, journal: JournalStore
) -> None:
    payment = run(service.charge("Till", SALE, CARD))
    payment = run(service.refund(payment.reference, usd(1500), "Damaged box"))
    assert (payment.state, payment.refunded) == (PaymentState.PARTIALLY_REFUNDED, usd(1500))
    payment = run(service.refund(payment.reference, usd(3500), "Customer changed mind"))
    assert payment.state is PaymentState.REFUNDED
    with pytest.raises(PaymentRefused, match="already refunded"):
        run(service.refund(payment.reference, usd(1), "again"))
    assert gateway.calls.count("refund") == 2
    refs = [i.outcome for i in journal.intents_for(payment.reference)]
    assert refs == [IntentOutcome.SUCCEEDED] * 3


def test_over_refund_is_refused_before_sending(
    service: PaymentService, gateway: FakeGateway
) -> None:
    payment = run(service.charge("Till", SALE, CARD))
    with pytest.raises(PaymentRefused, match=r"At most 50\.00 USD can be refunded"):
        run(service.refund(payment.reference, usd(5001), "too much"))
    assert "refund" not in gateway.calls


def test_void_an_authorization_but_not_a_capture(service: PaymentService) -> None:
    held = run(service.charge("Till", SALE, CARD, capture=False))
    assert run(service.void(held.reference, "Customer left")).state is PaymentState.VOIDED
    taken = run(service.charge("Till", SALE, CARD))
    with pytest.raises(PaymentRefused, match="refund it"):
        run(service.void(taken.reference))


def test_missing_capability_is_refused_with_the_providers_name(
    journal: JournalStore,
) -> None:
    gateway = FakeGateway(journal, ALL - {Capability.PARTIAL_REFUND})
    service = PaymentService(journal, {"Till": gateway}, clock=lambda: T0)  # type: ignore[dict-item]
    payment = run(service.charge("Till", SALE, CARD))
    with pytest.raises(PaymentRefused, match="FakePay cannot refund part of a payment"):
        run(service.refund(payment.reference, usd(100), "part"))
    assert run(service.refund(payment.reference, usd(5000), "all")).state is PaymentState.REFUNDED


def test_amount_outside_the_providers_limits_is_refused(service: PaymentService) -> None:
    with pytest.raises(PaymentRefused, match="smallest amount"):
        run(service.charge("Till", Sale(usd(10), "Gum"), CARD))


def test_refund_refused_by_the_provider_leaves_the_payment_and_says_why(
    service: PaymentService, gateway: FakeGateway, journal: JournalStore
) -> None:
    payment = run(service.charge("Till", SALE, CARD))
    gateway.fail_next = InvalidRequestError("Refund window closed", provider="fake")
    with pytest.raises(OperationFailed) as caught:
        run(service.refund(payment.reference, usd(100), "late"))
    assert caught.value.payment.state is PaymentState.CAPTURED
    assert journal.intents_for(payment.reference)[-1].outcome is IntentOutcome.REJECTED
    assert journal.events(payment.reference)[-1].note == "Refund refused: Refund window closed"


def test_lost_refund_answer_is_looked_up_and_found_applied(
    service: PaymentService, gateway: FakeGateway, journal: JournalStore
) -> None:
    payment = run(service.charge("Till", SALE, CARD))
    gateway.fail_next = OutcomeUnknownError("connection reset", provider="fake")
    gateway.apply_then_fail = True
    with pytest.raises(OperationFailed) as caught:
        run(service.refund(payment.reference, usd(700), "Wrong size"))
    after = caught.value.payment
    assert (after.state, after.refunded) == (PaymentState.PARTIALLY_REFUNDED, usd(700))
    assert after.attention is None
    states = [e.state for e in journal.events(payment.reference)]
    assert PaymentState.IN_DOUBT in states
    assert journal.intents_for(payment.reference)[-1].outcome is IntentOutcome.RESOLVED
    assert gateway.calls.count("refund") == 1  # looked up, never re-sent


def test_a_lost_refund_with_no_trace_stays_open_until_its_time_is_up_then_can_be_retried(
    service: PaymentService, gateway: FakeGateway, journal: JournalStore
) -> None:
    payment = run(service.charge("Till", SALE, CARD))
    gateway.fail_next = OutcomeUnknownError("connection reset", provider="fake")
    with pytest.raises(OperationFailed) as caught:
        run(service.refund(payment.reference, usd(700), "Wrong size"))
    assert caught.value.payment.state is PaymentState.CAPTURED
    # No trace yet, but the provider may still be working on it: no second refund now.
    assert journal.intents_for(payment.reference)[-1].outcome is IntentOutcome.UNKNOWN
    with pytest.raises(PaymentRefused, match="still being processed"):
        run(service.refund(payment.reference, usd(700), "Wrong size"))

    later = PaymentService(
        journal,
        {"Till": gateway},  # type: ignore[dict-item]
        clock=lambda: T0 + SETTLE_AFTER,
    )
    run(later.refresh(payment.reference))
    assert journal.intents_for(payment.reference)[-1].outcome is IntentOutcome.ABANDONED
    assert any("can be retried" in e.note for e in journal.events(payment.reference))
    assert journal.get(payment.reference).attention is None  # type: ignore[union-attr]
    assert run(later.refund(payment.reference, usd(700), "Wrong size")).refunded == usd(700)
    assert gateway.calls.count("refund") == 2


def test_unreachable_lookup_keeps_the_payment_in_doubt_and_blocks_actions(
    service: PaymentService, gateway: FakeGateway, journal: JournalStore
) -> None:
    held = run(service.charge("Till", SALE, CARD, capture=False))
    gateway.fail_next = OutcomeUnknownError("timeout", provider="fake")
    gateway.lookup_error = ConnectionFailedError("offline", provider="fake")
    with pytest.raises(OperationFailed) as caught:
        run(service.void(held.reference))
    assert caught.value.payment.state is PaymentState.IN_DOUBT
    assert caught.value.payment.attention
    with pytest.raises(PaymentRefused, match="in doubt"):
        run(service.capture(held.reference))

    gateway.lookup_error = None
    later = PaymentService(
        journal,
        {"Till": gateway},  # type: ignore[dict-item]
        clock=lambda: T0 + SETTLE_AFTER,
    )
    report = run(later.reconcile())
    payment = journal.get(held.reference)
    assert payment is not None
    assert payment.state is PaymentState.AUTHORIZED
    assert payment.attention is None
    assert report.resolved == [held.reference]
    assert journal.unresolved_intents() == []
    assert gateway.calls.count("void") == 1


def test_lost_charge_is_found_by_reference_at_start_up(
    service: PaymentService, gateway: FakeGateway, journal: JournalStore
) -> None:
    gateway.fail_next = OutcomeUnknownError("timeout", provider="fake")
    gateway.apply_then_fail = True
    gateway.lookup_error = ConnectionFailedError("offline", provider="fake")
    with pytest.raises(OperationFailed) as caught:
        run(service.charge("Till", SALE, CARD))
    # find_payment is reachable; the lost charge is found at once.
    assert caught.value.payment.state is PaymentState.CAPTURED
    assert caught.value.payment.provider_payment_ref == "pay_1"
    gateway.lookup_error = None
    report = run(service.reconcile())
    assert report.needs_attention == []
    assert gateway.calls.count("charge") == 1


def test_unknown_profile_is_refused(service: PaymentService) -> None:
    with pytest.raises(PaymentRefused, match="'Elsewhere' is not available"):
        run(service.charge("Elsewhere", SALE, CARD))


def test_a_failing_subscriber_does_not_stop_the_others_or_the_payment(
    service: PaymentService, caplog: pytest.LogCaptureFixture
) -> None:
    heard: list[PaymentChange] = []

    def broken(change: PaymentChange) -> None:
        raise RuntimeError("screen went away")

    service.subscribe(broken)
    unsubscribe = service.subscribe(heard.append)
    payment = run(service.charge("Till", SALE, CARD))
    assert payment.state is PaymentState.CAPTURED
    assert [c.state for c in heard] == [PaymentState.CAPTURED]
    assert "subscriber failed" in caplog.text
    unsubscribe()
    run(service.charge("Till", SALE, CARD))
    assert len(heard) == 1


def test_two_tills_refunding_one_payment_at_once_cause_one_refund(
    tmp_path: Path, journal: JournalStore, gateway: FakeGateway
) -> None:
    """Two app instances on one journal file: the second is refused while the first is in
    flight, and afterwards its stale view cannot push refunds past what was captured."""
    first = PaymentService(journal, {"Till": gateway}, clock=lambda: T0)  # type: ignore[dict-item]
    other_journal = JournalStore.open(tmp_path / "journal.sqlite3")
    second = PaymentService(other_journal, {"Till": gateway}, clock=lambda: T0)  # type: ignore[dict-item]
    sale = run(first.charge("Till", SALE, CARD))
    in_flight = asyncio.Event()
    release = asyncio.Event()
    plain_refund = gateway.refund

    async def slow_refund(request: RefundRequest) -> ActionResult:
        in_flight.set()
        await release.wait()
        return await plain_refund(request)

    gateway.refund = slow_refund  # type: ignore[method-assign]

    async def race() -> tuple[PaymentRecord, BaseException | PaymentRecord]:
        one = asyncio.create_task(first.refund(sale.reference, usd(4000), "Spoiled"))
        await in_flight.wait()
        try:
            two: BaseException | PaymentRecord = await second.refund(
                sale.reference, usd(4000), "Spoiled"
            )
        except PaymentRefused as refused:
            two = refused
        release.set()
        return await one, two

    done, refused = run(race())
    assert done.refunded == usd(4000)
    assert isinstance(refused, PaymentRefused)
    assert "still being processed" in str(refused)
    # The second till still believes 50.00 is refundable; the journal knows better.
    with pytest.raises(PaymentRefused, match=r"At most 10\.00 USD can be refunded"):
        run(second.refund(sale.reference, usd(4000), "Spoiled"))
    assert gateway.calls.count("refund") == 1
    other_journal.close()


def test_a_lost_refund_that_shows_later_settles_and_clears_the_note(
    service: PaymentService, gateway: FakeGateway, journal: JournalStore
) -> None:
    payment = run(service.charge("Till", SALE, CARD))
    plain_refund = gateway.refund
    held: list[RefundRequest] = []

    async def lost(request: RefundRequest) -> ActionResult:  # never reaches the provider yet
        held.append(request)
        raise OutcomeUnknownError("connection reset", provider="fake")

    gateway.refund = lost  # type: ignore[method-assign]
    with pytest.raises(OperationFailed) as caught:
        run(service.refund(payment.reference, usd(700), "Wrong size"))
    assert caught.value.payment.attention
    assert "may still be processing" in (caught.value.payment.attention)
    gateway.refund = plain_refund  # type: ignore[method-assign]
    run(gateway.refund(held[0]))  # the provider gets round to it
    after = run(service.refresh(payment.reference))
    assert (after.state, after.refunded, after.attention) == (
        PaymentState.PARTIALLY_REFUNDED,
        usd(700),
        None,
    )
    assert journal.intents_for(payment.reference)[-1].outcome is IntentOutcome.RESOLVED
