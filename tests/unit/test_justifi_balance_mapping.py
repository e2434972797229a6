"""JustiFi payment balance transactions map onto history actions exactly, or not at all."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from pos_app.domain.money import Money
from pos_app.providers.errors import ResponseInvalidError
from pos_app.providers.justifi.mapping.balance import TXN_TYPES, parse_balance_transactions
from tests.specs import provider_spec

PAYMENT = "py_123xyz"


def row(kind: str = "payment", amount: Any = 10_000, **changes: Any) -> dict[str, Any]:
    """A row shaped like the spec's PaymentBalanceTransaction example."""
    base = {
        "id": f"pbt_{kind}_{amount}",
        "amount": amount,
        "balance": 10_000,
        "currency": "usd",
        "financial_transaction_id": "ft_123xyz",
        "payment_id": PAYMENT,
        "payment_balance_txn_type": kind,
        "source_id": PAYMENT,
        "source_type": "Payment",
        "created_at": "2021-01-01T12:00:00Z",
        "updated_at": "2021-01-01T12:00:00Z",
    }
    return {**base, **changes}


def parse(*rows: dict[str, Any]) -> Any:
    return parse_balance_transactions(list(rows), payment_id=PAYMENT, currency="USD")


def test_rows_become_signed_ledger_actions_oldest_first() -> None:
    # Listed newest first; the payment and its fee were written in the same instant.
    actions = parse(
        row("refund", -2500, balance=7150, source_id="re_1", source_type="Refund",
            created_at="2021-01-02T09:30:00Z"),
        row("payment_fee", -350, balance=9650, source_id="pyfee_1", source_type="PaymentFee"),
        row(),
    )  # fmt: skip
    assert [(a.kind, a.amount, a.approved) for a in actions] == [
        ("balance_payment", Money(10_000, "USD"), True),
        ("balance_payment_fee", Money(-350, "USD"), True),
        ("balance_refund", Money(-2500, "USD"), True),
    ]
    assert actions[-1].provider_ref == "pbt_refund_-2500"
    assert actions[-1].at == datetime(2021, 1, 2, 9, 30, tzinfo=UTC)
    assert actions[-1].note == "Refund re_1 · balance after 71.50 USD"
    assert actions[0].note == "balance after 100.00 USD"  # the payment itself: no source


def test_the_spec_lists_exactly_the_types_we_know() -> None:
    bundle = json.loads(provider_spec("justifi/justifi-openapi.bundled.json").read_text())
    schema = bundle["components"]["schemas"]["PaymentBalanceTransaction"]
    assert set(schema["properties"]["payment_balance_txn_type"]["enum"]) == TXN_TYPES


def test_no_rows_is_an_empty_ledger() -> None:
    assert parse() == ()


@pytest.mark.parametrize(
    "bad",
    [
        row("chargeback"),  # a type the spec does not have
        row(amount=100.5),  # not whole cents
        row(amount="100"),
        row(amount=True),
        row(balance=None),
        row(currency="eur"),
        row(currency="cad"),  # not this account's currency
        row(payment_id="py_other"),
        row(created_at="yesterday"),
        row(created_at="2021-01-01T12:00:00"),  # no zone: cannot be placed in time
        {k: v for k, v in row().items() if k != "id"},
    ],
)
def test_a_malformed_row_is_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ResponseInvalidError):
        parse(row("payment_fee", -1), bad)


def test_the_same_row_twice_is_refused() -> None:
    with pytest.raises(ResponseInvalidError):
        parse(row(), row())
