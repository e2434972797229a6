"""The payment detail page's two extra lookups, run over every provider on the sandbox:
when an open checkout expires, and the provider's ledger (JustiFi's balance transactions)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pos_app.domain.money import Money
from pos_app.domain.payment import PaymentState
from pos_app.domain.vocabulary import PaymentMethod
from pos_app.providers.types import Capability, PaymentAction
from pos_app.services.sale import Sale
from tests.conformance.conftest import PROFILE, Till
from tests.conformance.harness import APPROVED_CARD

if TYPE_CHECKING:
    from datetime import datetime

    from pos_app.providers.base import PaymentProvider
    from pos_app.services.payments import PaymentService, SaleStarted

SALE = Sale(Money(2500, "USD"), "Birthday cake")
RETURN_URL = "https://pos-app.invalid/checkout/success"


def test_an_open_link_reports_when_it_expires(till: Till) -> None:
    async def body(
        service: PaymentService, provider: PaymentProvider
    ) -> tuple[SaleStarted, datetime | None]:
        # A payment link where the provider has them (the detail page's main case).
        linked = Capability.PAY_BY_LINK in provider.capabilities
        method = PaymentMethod.PAY_BY_LINK if linked else PaymentMethod.HOSTED_CHECKOUT
        opened = await service.open_checkout(PROFILE, SALE, method=method, success_url=RETURN_URL)
        return opened, await service.checkout_expiry(opened.payment.reference)

    opened, expires = till.run(body)
    if till.harness.checkout_lifetime_s is None:
        assert expires is None  # its pages never expire: nothing to count down
    else:
        assert expires is not None
        assert expires > opened.payment.created_at
        assert expires == (opened.session.expires_at or expires)


def test_the_expiry_lookup_records_a_payment_made_meanwhile(till: Till) -> None:
    async def body(service: PaymentService, _: PaymentProvider) -> tuple[PaymentState, bool]:
        opened = await service.open_checkout(PROFILE, SALE, success_url=RETURN_URL)
        till.harness.pay(till.sandbox, opened.session.provider_ref, APPROVED_CARD)
        await service.checkout_expiry(opened.payment.reference)
        paid = service.journal.get(opened.payment.reference)
        assert paid is not None
        return paid.state, await service.checkout_expiry(paid.reference) is None

    state, nothing_left = till.run(body)
    assert state in (PaymentState.CAPTURED, PaymentState.AUTHORIZED)
    assert nothing_left  # paid: nothing left to expire, and nothing asked


def test_only_justifi_keeps_a_ledger_and_it_matches_the_money(till: Till) -> None:
    if till.harness.card_source is None or till.harness.charge_needs_checkout:
        return _no_ledger_for_checkouts(till)
    source = till.harness.card_source(till.sandbox, APPROVED_CARD)

    async def body(
        service: PaymentService, provider: PaymentProvider
    ) -> tuple[tuple[PaymentAction, ...], bool]:
        charged = await service.charge(PROFILE, SALE, source)
        if Capability.PARTIAL_REFUND in provider.capabilities:
            await service.refund(charged.reference, Money(500, "USD"), "Item returned")
        return await service.provider_balance(charged.reference), hasattr(
            provider, "balance_transactions"
        )

    ledger, keeps_one = till.run(body)
    if not keeps_one:
        assert ledger == ()
        return None
    assert [(a.kind, a.amount) for a in ledger] == [
        ("balance_payment", Money(2500, "USD")),
        ("balance_refund", Money(-500, "USD")),
    ]
    return None


def _no_ledger_for_checkouts(till: Till) -> None:
    async def body(service: PaymentService, _: PaymentProvider) -> tuple[PaymentAction, ...]:
        opened = await service.open_checkout(PROFILE, SALE, success_url=RETURN_URL)
        return await service.provider_balance(opened.payment.reference)

    assert till.run(body) == ()
