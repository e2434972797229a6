"""One vocabulary for how a customer pays and for operations, the journal's own strings."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest

from pos_app.domain.money import Money
from pos_app.domain.vocabulary import Operation, PaymentMethod
from pos_app.journal.reports import totals
from pos_app.journal.store import JournalStore
from pos_app.providers.types import Capability, CheckoutMode
from pos_app.services.payments import PaymentService
from pos_app.services.sale import Sale
from tests.unit.test_sales import FakeProvider

if TYPE_CHECKING:
    from pathlib import Path

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
SALE = Sale(Money(1799, "USD"), "One chocolate donut")


def test_the_values_are_the_strings_the_journal_has_always_stored() -> None:
    assert [m.value for m in PaymentMethod] == [
        "hosted_checkout",
        "pay_by_link",
        "embedded_checkout",
        "direct_charge",
        "card_reader",
    ]
    assert [o.value for o in Operation] == [
        "create_checkout",
        "charge",
        "capture",
        "refund",
        "void",
        "cancel",
        "lookup",
        "webhook",
    ]


def test_which_methods_we_charge_and_which_pay_on_a_checkout() -> None:
    charged = {m for m in PaymentMethod if m.charged_by_us}
    pages = {m for m in PaymentMethod if m.is_checkout_page}
    assert charged == {PaymentMethod.DIRECT_CHARGE, PaymentMethod.CARD_READER}
    assert pages == {
        PaymentMethod.HOSTED_CHECKOUT,
        PaymentMethod.PAY_BY_LINK,
        PaymentMethod.EMBEDDED_CHECKOUT,
    }
    assert {o for o in Operation if o.opens_payment} == {
        Operation.CREATE_CHECKOUT,
        Operation.CHARGE,
    }


def test_a_stored_value_reads_back_as_its_member() -> None:
    assert PaymentMethod.recorded("pay_by_link") is PaymentMethod.PAY_BY_LINK
    assert Operation.recorded("refund") is Operation.REFUND


def test_an_unlisted_stored_value_is_kept_as_it_is_and_counts_as_neither() -> None:
    method = PaymentMethod.recorded("gift_card")
    assert isinstance(method, PaymentMethod)
    assert method not in list(PaymentMethod)
    assert method == "gift_card"
    assert method.value == "gift_card"
    assert f"{method}" == "gift_card"
    assert not method.charged_by_us
    assert not method.is_checkout_page
    operation = Operation.recorded("top_up")
    assert operation.value == "top_up"
    assert not operation.opens_payment
    with pytest.raises(ValueError, match="'gift_card' is not a valid PaymentMethod"):
        PaymentMethod("gift_card")  # only a stored value is read leniently


def test_the_journal_reads_back_a_row_of_a_method_and_operation_it_does_not_list(
    tmp_path: Path,
) -> None:
    store = JournalStore.open(tmp_path / "j.sqlite3")
    store.create_payment(
        reference="S-1",
        profile="p",
        provider="justifi",
        method=PaymentMethod.HOSTED_CHECKOUT,
        amount=Money(1799, "USD"),
        description="Donut",
        now=T0,
    )
    store.begin_intent(
        "S-1", operation=Operation.CREATE_CHECKOUT, idempotency_key="k", amount=None, now=T0
    )
    # As a newer till might leave them behind.
    store.connection.execute("UPDATE payments SET method = 'gift_card'")
    store.connection.execute("UPDATE intents SET operation = 'top_up'")
    payment = store.get("S-1")
    assert payment is not None
    assert payment.method.value == "gift_card"
    assert [i.operation.value for i in store.intents_for("S-1")] == ["top_up"]
    [row] = totals(store.connection, T0, datetime(2026, 11, 23, tzinfo=UTC))
    assert row.method.value == "gift_card"


class LinkingProvider(FakeProvider):
    capabilities = frozenset(
        {Capability.HOSTED_CHECKOUT, Capability.PAY_BY_LINK, Capability.LOOKUP}
    )


@pytest.mark.parametrize(
    ("method", "in_browser", "mode"),
    [
        (PaymentMethod.HOSTED_CHECKOUT, False, CheckoutMode.HOSTED),
        # A page for the system browser needs no return URL: the provider's link page.
        (PaymentMethod.HOSTED_CHECKOUT, True, CheckoutMode.LINK),
        (PaymentMethod.PAY_BY_LINK, False, CheckoutMode.LINK),
        (PaymentMethod.EMBEDDED_CHECKOUT, False, CheckoutMode.HOSTED),
        (PaymentMethod.CARD_READER, False, CheckoutMode.HOSTED),
    ],
)
def test_the_payments_service_decides_which_provider_checkout_a_method_opens(
    tmp_path: Path, method: PaymentMethod, in_browser: bool, mode: CheckoutMode
) -> None:
    journal = JournalStore.open(tmp_path / "j.sqlite3")
    provider = LinkingProvider(journal)
    service = PaymentService(journal, {"Till": provider}, clock=lambda: T0)
    opened = asyncio.run(service.open_checkout("Till", SALE, method=method, in_browser=in_browser))
    assert [r.mode for r in provider.requests] == [mode]
    assert opened.payment.method is method  # the journal records the method, not the mode


def test_without_links_a_page_for_the_browser_stays_a_hosted_checkout(tmp_path: Path) -> None:
    journal = JournalStore.open(tmp_path / "j.sqlite3")
    provider = FakeProvider(journal)
    service = PaymentService(journal, {"Till": provider}, clock=lambda: T0)
    asyncio.run(service.open_checkout("Till", SALE, in_browser=True))
    assert [r.mode for r in provider.requests] == [CheckoutMode.HOSTED]
