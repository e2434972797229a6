"""Conformance: a customer pays on each provider's page, and the till learns it only by lookup.

One set of scenarios for all four providers; a scenario is skipped only where the provider
itself rules it out (stated in the harness).
"""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING

import pytest

from pos_app.domain.money import Money
from pos_app.domain.payment import PaymentState
from pos_app.journal.store import IntentOutcome, PaymentRecord
from pos_app.services.payments import (
    OperationFailed,
    PaymentService,
    ReconcileReport,
    SaleStarted,
)
from pos_app.services.sale import Sale
from tests.conformance.conftest import PROFILE, Till
from tests.conformance.harness import APPROVED_CARD, add_fault, control, count_objects

if TYPE_CHECKING:
    from pos_app.providers.base import PaymentProvider

SALE = Sale(Money(2050, "USD"), "Two croissants")
RETURN_URL = "https://pos.invalid/ok"


def open_checkout(till: Till) -> SaleStarted:
    async def body(service: PaymentService, _: PaymentProvider) -> SaleStarted:
        return await service.open_checkout(PROFILE, SALE, success_url=RETURN_URL)

    return till.run(body)


def refresh(till: Till, reference: str) -> PaymentRecord:
    async def body(service: PaymentService, _: PaymentProvider) -> PaymentRecord:
        return await service.refresh(reference)

    return till.run(body)


def try_to_open_checkout(till: Till) -> PaymentRecord:
    """The sale as recorded after trying to open its checkout, whatever happened."""

    async def body(service: PaymentService, _: PaymentProvider) -> PaymentRecord:
        try:
            return (await service.open_checkout(PROFILE, SALE, success_url=RETURN_URL)).payment
        except OperationFailed as failure:
            return failure.payment

    return till.run(body)


def test_a_paid_checkout_is_captured_once_looked_up(till: Till) -> None:
    opened = open_checkout(till)
    assert opened.payment.state is PaymentState.PENDING
    assert opened.session.hosted_url
    assert refresh(till, opened.payment.reference).state is PaymentState.PENDING

    paid = till.harness.pay(till.sandbox, opened.session.provider_ref, APPROVED_CARD)
    assert paid.is_success, paid.text
    payment = refresh(till, opened.payment.reference)
    assert payment.state is PaymentState.CAPTURED
    assert payment.captured == SALE.amount
    assert payment.attention is None
    # Looking again changes nothing: the lookup is the truth, not an event.
    events = len(till.journal.events(payment.reference))
    assert refresh(till, payment.reference) == payment
    assert len(till.journal.events(payment.reference)) == events


def test_a_declined_card_leaves_the_sale_open_and_another_card_pays_it(till: Till) -> None:
    """One sale, one checkout: after a decline the provider's page takes another card, so
    the sale goes on (the decline recorded) and the next card is the sale's payment."""
    card = till.harness.declining_card
    if card is None:
        pytest.skip(f"{till.harness.name}: its page has no declined outcome")
    opened = open_checkout(till)
    till.harness.pay(till.sandbox, opened.session.provider_ref, card)
    payment = refresh(till, opened.payment.reference)
    assert payment.state is PaymentState.PENDING
    assert payment.decline_code
    assert payment.attention is None
    assert payment.captured == Money(0, "USD")
    paid = till.harness.pay(till.sandbox, opened.session.provider_ref, APPROVED_CARD)
    assert paid.is_success, paid.text
    payment = refresh(till, opened.payment.reference)
    assert payment.state is PaymentState.CAPTURED
    assert payment.attention is None
    assert payment.captured == SALE.amount


def test_the_cashier_cancels_before_the_customer_pays(till: Till) -> None:
    opened = open_checkout(till)

    async def cancel(service: PaymentService, _: PaymentProvider) -> PaymentRecord:
        return await service.cancel_checkout(opened.payment.reference)

    assert till.run(cancel).state is PaymentState.FAILED
    assert "Cancelled by the cashier" in till.journal.events(opened.payment.reference)[-1].note


def test_a_checkout_paid_after_the_cashier_cancelled_is_flagged_at_the_next_start(
    till: Till,
) -> None:
    """The customer still held the page (a phone that scanned the link) and paid anyway."""
    opened = open_checkout(till)
    reference = opened.payment.reference

    async def cancel(service: PaymentService, _: PaymentProvider) -> PaymentRecord:
        return await service.cancel_checkout(reference)

    assert till.run(cancel).state is PaymentState.FAILED
    assert opened.payment.provider_ref is not None
    paid = till.harness.pay(till.sandbox, opened.session.provider_ref, APPROVED_CARD)
    assert paid.is_success, paid.text

    async def start_up(service: PaymentService, _: PaymentProvider) -> ReconcileReport:
        return await service.reconcile()

    report = till.run(start_up)
    assert report.needs_attention == [reference]
    payment = till.journal.get(reference)
    assert payment is not None
    assert payment.attention is not None
    assert "after it was cancelled" in payment.attention
    # Looked at again at every start until someone deals with it; never silently "failed".
    assert till.run(start_up).needs_attention == [reference]


def test_a_cancelled_checkout_nobody_paid_is_not_reported(till: Till) -> None:
    opened = open_checkout(till)

    async def cancel_then_start(service: PaymentService, _: PaymentProvider) -> ReconcileReport:
        await service.cancel_checkout(opened.payment.reference)
        return await service.reconcile()

    report = till.run(cancel_then_start)
    assert report.needs_attention == []
    assert report.resolved == []


def test_an_unpaid_checkout_expires(till: Till) -> None:
    lifetime = till.harness.checkout_lifetime_s
    if lifetime is None:
        pytest.skip(f"{till.harness.name}: its checkouts do not expire")
    opened = open_checkout(till)
    control(till.sandbox, "clock/advance", {"seconds": lifetime + 60})
    assert refresh(till, opened.payment.reference).state is PaymentState.EXPIRED


def test_a_lost_create_answer_never_makes_a_second_checkout(till: Till) -> None:
    add_fault(
        till.sandbox,
        kind="reset_after",
        method="POST",
        path=till.harness.create_checkout_path,
        times=1,
    )

    payment = try_to_open_checkout(till)
    assert count_objects(till.sandbox, till.harness.checkout_kind) == 1
    intents = till.journal.intents_for(payment.reference)
    assert len(intents) == 1
    if till.harness.idempotent_creates:
        # The same key went again; the provider answered with the checkout it had made.
        assert payment.state is PaymentState.PENDING
        assert intents[0].outcome is IntentOutcome.SUCCEEDED
    else:
        # Never re-sent blindly: either found by reference or left for a person to check.
        assert payment.state in (PaymentState.IN_DOUBT, PaymentState.FAILED, PaymentState.PENDING)
        if payment.state is PaymentState.IN_DOUBT:
            assert payment.attention
            assert payment.reference in payment.attention


def test_a_provider_that_cannot_be_reached_fails_the_sale_and_sends_nothing(till: Till) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        till.base_url = f"http://127.0.0.1:{probe.getsockname()[1]}"  # nobody listens here

    async def body(service: PaymentService, _: PaymentProvider) -> OperationFailed:
        with pytest.raises(OperationFailed) as caught:
            await service.open_checkout(PROFILE, SALE, success_url=RETURN_URL)
        return caught.value

    failure = till.run(body)
    assert failure.payment.state is PaymentState.FAILED
    intents = till.journal.intents_for(failure.payment.reference)
    assert [i.outcome for i in intents] == [IntentOutcome.NOT_SENT]


def test_a_server_error_on_lookup_is_retried_and_the_lookup_succeeds(till: Till) -> None:
    opened = open_checkout(till)
    till.harness.pay(till.sandbox, opened.session.provider_ref, APPROVED_CARD)
    add_fault(
        till.sandbox,
        kind="status",
        status=503,
        method="GET",
        path=till.harness.lookup_checkout_path,
        times=1,
    )
    assert refresh(till, opened.payment.reference).state is PaymentState.CAPTURED


def test_a_server_error_on_create_is_retried_only_where_that_is_safe(till: Till) -> None:
    add_fault(
        till.sandbox,
        kind="status",
        status=503,
        method="POST",
        path=till.harness.create_checkout_path,
        times=1,
    )

    payment = try_to_open_checkout(till)
    if till.harness.idempotent_creates:
        assert payment.state is PaymentState.PENDING
        assert count_objects(till.sandbox, till.harness.checkout_kind) == 1
    else:
        assert payment.state is not PaymentState.PENDING
        assert count_objects(till.sandbox, till.harness.checkout_kind) == 0


def test_rate_limiting_is_waited_out(till: Till) -> None:
    add_fault(
        till.sandbox,
        kind="status",
        status=429,
        retry_after=0,
        method="POST",
        path=till.harness.create_checkout_path,
        times=1,
    )

    payment = try_to_open_checkout(till)
    if till.harness.waits_out_rate_limits:
        assert payment.state is PaymentState.PENDING
        assert count_objects(till.sandbox, till.harness.checkout_kind) == 1
    else:
        assert payment.state is PaymentState.FAILED
        assert count_objects(till.sandbox, till.harness.checkout_kind) == 0
