"""Conformance: charges, captures, voids and refunds through each provider's payments API.

Scenarios run through PaymentService with the real adapter on the sandbox. A provider whose
capabilities exclude an operation skips that scenario, saying so; nothing else is skipped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from pos_app.domain.money import Money
from pos_app.domain.payment import PaymentState
from pos_app.journal.store import IntentOutcome, PaymentRecord
from pos_app.providers.types import Capability
from pos_app.services.payments import OperationFailed, PaymentRefused, PaymentService
from pos_app.services.sale import Sale
from tests.conformance.conftest import PROFILE, Till
from tests.conformance.harness import APPROVED_CARD, add_fault, count_objects

if TYPE_CHECKING:
    from pos_app.providers.base import PaymentProvider

SALE = Sale(Money(2050, "USD"), "Birthday cake")


def usd(minor: int) -> Money:
    return Money(minor, "USD")


def requires(till: Till, *needed: Capability) -> None:
    provider = till.harness.build(till.base_url)
    missing = [c.value for c in needed if c not in provider.capabilities]
    if missing:
        pytest.skip(f"{till.harness.name} does not offer {', '.join(missing)}")
    assert till.harness.card_source is not None, "the harness must say how to make a token"


def charge(till: Till, card: str = APPROVED_CARD, *, capture: bool = True) -> PaymentRecord:
    assert till.harness.card_source is not None
    source = till.harness.card_source(till.sandbox, card)

    async def body(service: PaymentService, _: PaymentProvider) -> PaymentRecord:
        if till.harness.charge_needs_checkout:
            opened = await service.open_checkout(PROFILE, SALE)
            return await service.complete_checkout(
                opened.payment.reference, source, capture=capture
            )
        return await service.charge(PROFILE, SALE, source, capture=capture)

    return till.run(body)


def refresh(till: Till, reference: str) -> PaymentRecord:
    async def body(service: PaymentService, _: PaymentProvider) -> PaymentRecord:
        return await service.refresh(reference)

    return till.run(body)


def capture(till: Till, reference: str, amount: Money | None = None) -> PaymentRecord:
    async def body(service: PaymentService, _: PaymentProvider) -> PaymentRecord:
        return await service.capture(reference, amount)

    return till.run(body)


def refund(till: Till, reference: str, amount: Money) -> PaymentRecord:
    async def body(service: PaymentService, _: PaymentProvider) -> PaymentRecord:
        return await service.refund(reference, amount, "Customer returned it")

    return till.run(body)


def void(till: Till, reference: str) -> PaymentRecord:
    async def body(service: PaymentService, _: PaymentProvider) -> PaymentRecord:
        return await service.void(reference, "Customer left")

    return till.run(body)


def test_an_approved_sale_is_captured_and_looks_the_same_on_lookup(till: Till) -> None:
    requires(till, Capability.DIRECT_CHARGE)
    payment = charge(till)
    assert payment.state is PaymentState.CAPTURED
    assert payment.captured == SALE.amount
    if till.harness.reports_card:
        assert payment.card_last4 == "4242"
    again = refresh(till, payment.reference)
    assert (again.state, again.captured, again.refunded) == (
        PaymentState.CAPTURED,
        SALE.amount,
        usd(0),
    )


def test_a_declined_sale_is_recorded_with_a_reason(till: Till) -> None:
    requires(till, Capability.DIRECT_CHARGE)
    card = till.harness.declining_charge_card
    assert card is not None
    payment = charge(till, card)
    assert payment.state is PaymentState.DECLINED
    assert payment.decline_code
    assert payment.captured == usd(0)
    assert refresh(till, payment.reference).state is PaymentState.DECLINED


def test_authorize_then_capture_in_full(till: Till) -> None:
    requires(till, Capability.DIRECT_CHARGE, Capability.AUTHORIZE_CAPTURE)
    held = charge(till, capture=False)
    assert (held.state, held.captured) == (PaymentState.AUTHORIZED, usd(0))
    assert refresh(till, held.reference).state is PaymentState.AUTHORIZED
    taken = capture(till, held.reference)
    assert (taken.state, taken.captured) == (PaymentState.CAPTURED, SALE.amount)
    assert refresh(till, held.reference).captured == SALE.amount


def test_authorize_then_capture_part(till: Till) -> None:
    requires(till, Capability.DIRECT_CHARGE, Capability.PARTIAL_CAPTURE)
    held = charge(till, capture=False)
    taken = capture(till, held.reference, usd(1500))
    assert (taken.state, taken.captured) == (PaymentState.CAPTURED, usd(1500))
    assert refresh(till, held.reference).captured == usd(1500)


def test_authorize_then_void(till: Till) -> None:
    requires(till, Capability.DIRECT_CHARGE, Capability.AUTHORIZE_CAPTURE, Capability.VOID)
    held = charge(till, capture=False)
    assert void(till, held.reference).state is PaymentState.VOIDED
    assert refresh(till, held.reference).state is PaymentState.VOIDED


def test_sale_then_partial_refund_then_the_remainder(till: Till) -> None:
    requires(till, Capability.DIRECT_CHARGE, Capability.PARTIAL_REFUND)
    sale = charge(till)
    part = refund(till, sale.reference, usd(550))
    assert (part.state, part.refunded) == (PaymentState.PARTIALLY_REFUNDED, usd(550))
    rest = refund(till, sale.reference, usd(1500))
    assert (rest.state, rest.refunded) == (PaymentState.REFUNDED, SALE.amount)
    assert refresh(till, sale.reference).state is PaymentState.REFUNDED


def test_a_refund_over_what_was_captured_is_refused_before_sending(till: Till) -> None:
    requires(till, Capability.DIRECT_CHARGE, Capability.REFUND)
    sale = charge(till)
    before = len(till.journal.intents_for(sale.reference))
    with pytest.raises(PaymentRefused, match=r"At most 20\.50 USD can be refunded"):
        refund(till, sale.reference, usd(2051))
    assert len(till.journal.intents_for(sale.reference)) == before
    assert refresh(till, sale.reference).refunded == usd(0)


def test_a_lost_charge_answer_leaves_exactly_one_charge(till: Till) -> None:
    requires(till, Capability.DIRECT_CHARGE)
    add_fault(
        till.sandbox, kind="reset_after", method="POST", path=till.harness.charge_path, times=1
    )
    try:
        payment = charge(till)
    except OperationFailed as failure:
        payment = failure.payment
    assert count_objects(till.sandbox, till.harness.payment_kind) == 1
    assert payment.state is PaymentState.CAPTURED
    assert payment.captured == SALE.amount
    outcomes = {i.outcome for i in till.journal.intents_for(payment.reference)}
    assert outcomes <= {IntentOutcome.SUCCEEDED, IntentOutcome.RESOLVED}


def test_the_providers_own_history_lists_each_step(till: Till) -> None:
    requires(till, Capability.DIRECT_CHARGE, Capability.PARTIAL_REFUND, Capability.LOOKUP)
    sale = charge(till)
    refund(till, sale.reference, usd(550))

    async def body(service: PaymentService, _: PaymentProvider) -> list[tuple[str, Money]]:
        actions = await service.provider_history(sale.reference)
        return [(a.kind, a.amount) for a in actions]

    assert till.run(body) == [
        ("authorization", SALE.amount),
        ("capture", SALE.amount),
        ("refund", usd(550)),
    ]
