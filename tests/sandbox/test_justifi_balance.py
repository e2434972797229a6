"""The sandbox's JustiFi fees and payment balance transactions, over loopback HTTP.

Fees follow the spec's "Enhanced Fee Management" (fees on create, selective return on refund,
all returned on void); every change to a payment's balance is a PaymentBalanceTransaction row
whose ``balance`` is the running total. Bodies are validated against JustiFi's OpenAPI bundle.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import pytest

from tests.sandbox.test_justifi_payments import (
    assert_matches_spec,
    card_token,
    error_code,
    headers,
    new_token,
    paid,
    pay,
    post,
)
from tests.sandbox.test_justifi_schemas import assert_object_matches

if TYPE_CHECKING:
    import httpx


@pytest.fixture
def token(client: httpx.Client) -> str:
    return new_token(client)


FEES = [{"type": "processing_fee", "amount": 350}, {"type": "platform_fee", "amount": 500}]


def ledger(client: httpx.Client, token: str, payment_id: str) -> list[tuple[str, int, int]]:
    """(type, amount, running balance) of each row, oldest first, checked against the spec."""
    response = client.get(
        f"/justifi/v1/payments/{payment_id}/payment_balance_transactions", headers=headers(token)
    )
    assert response.status_code == 200, response.text
    assert_matches_spec(response, "/payments/{id}/payment_balance_transactions", "get")
    rows = list(reversed(response.json()["data"]))  # the sandbox lists newest first
    assert all(row["payment_id"] == payment_id and row["currency"] == "usd" for row in rows)
    return [(r["payment_balance_txn_type"], r["amount"], r["balance"]) for r in rows]


def payment(client: httpx.Client, token: str, payment_id: str) -> dict[str, Any]:
    response = client.get(f"/justifi/v1/payments/{payment_id}", headers=headers(token))
    assert response.status_code == 200, response.text
    assert_matches_spec(response, "/payments/{id}", "get")
    return dict(response.json()["data"])


def test_fees_are_taken_when_the_payment_is_collected(client: httpx.Client, token: str) -> None:
    response = pay(client, token, amount=10_000, fees=FEES)
    assert response.status_code == 201, response.text
    created = response.json()["data"]
    # The spec: fees are processed asynchronously, so the create answer lists none yet.
    assert (created["fee_amount"], created["fees"]) == (850, [])
    stored = payment(client, token, created["id"])
    for fee in stored["fees"]:
        assert_object_matches("FeeResponse", fee)
    assert [(f["type"], f["amount"], f["remaining_amount"]) for f in stored["fees"]] == [
        ("processing_fee", 350, 350),
        ("platform_fee", 500, 500),
    ]
    assert stored["balance"] == 9150
    assert ledger(client, token, created["id"]) == [
        ("payment", 10_000, 10_000),
        ("payment_fee", -350, 9650),
        ("payment_fee", -500, 9150),
    ]


def test_a_payment_without_fees_has_one_row(client: httpx.Client, token: str) -> None:
    made = paid(client, token, amount=2500)
    assert ledger(client, token, made["id"]) == [("payment", 2500, 2500)]


def test_an_authorization_has_no_rows_until_captured(client: httpx.Client, token: str) -> None:
    made = paid(client, token, amount=10_000, capture="manual", fees=FEES)
    assert ledger(client, token, made["id"]) == []
    captured = post(client, token, f"/justifi/v1/payments/{made['id']}/capture")
    assert captured.status_code == 201, captured.text
    assert ledger(client, token, made["id"]) == [
        ("payment", 10_000, 10_000),
        ("payment_fee", -350, 9650),
        ("payment_fee", -500, 9150),
    ]
    assert payment(client, token, made["id"])["balance"] == 9150


def test_a_refund_returns_only_the_fees_asked_for(client: httpx.Client, token: str) -> None:
    made = paid(client, token, amount=10_000, fees=FEES)
    path = f"/justifi/v1/payments/{made['id']}/refunds"
    too_much = post(
        client, token, path, {"amount": 100, "fees": [{"type": "platform_fee", "amount": 501}]}
    )
    assert too_much.status_code == 422
    assert error_code(too_much) == "returned_fee_exceeds_remaining_amount"
    response = post(
        client, token, path, {"amount": 5000, "fees": [{"type": "processing_fee", "amount": 175}]}
    )
    assert response.status_code == 201, response.text
    assert_matches_spec(response, "/payments/{id}/refunds", "post")
    returned = response.json()["data"]["returned_fees"]
    assert [(r["type"], r["returned_amount"], r["remaining_amount"]) for r in returned] == [
        ("processing_fee", 175, 175)
    ]
    assert_object_matches("ReturnedFeeResponse", returned[0])
    stored = payment(client, token, made["id"])
    assert [f["remaining_amount"] for f in stored["fees"]] == [175, 500]
    # No fees in the request: none are returned (the spec's default).
    plain = post(client, token, path, {"amount": 1000})
    assert plain.status_code == 201
    assert plain.json()["data"]["returned_fees"] == []
    assert ledger(client, token, made["id"]) == [
        ("payment", 10_000, 10_000),
        ("payment_fee", -350, 9650),
        ("payment_fee", -500, 9150),
        ("refund", -5000, 4150),
        ("fee_refund", 175, 4325),
        ("refund", -1000, 3325),
    ]
    assert payment(client, token, made["id"])["balance"] == 3325


def test_a_fee_the_payment_never_had_cannot_be_returned(client: httpx.Client, token: str) -> None:
    made = paid(client, token, amount=2500)
    response = post(
        client,
        token,
        f"/justifi/v1/payments/{made['id']}/refunds",
        {"amount": 100, "fees": [{"type": "processing_fee", "amount": 1}]},
    )
    assert response.status_code == 422
    assert error_code(response) == "fee_type_must_exist_on_payment_fees"
    assert ledger(client, token, made["id"]) == [("payment", 2500, 2500)]


def test_a_void_gives_back_the_money_and_every_fee(client: httpx.Client, token: str) -> None:
    made = paid(client, token, amount=10_000, fees=FEES)
    response = post(client, token, f"/justifi/v1/payments/{made['id']}/void")
    assert response.status_code == 200, response.text
    assert ledger(client, token, made["id"])[3:] == [
        ("refund", -10_000, -850),
        ("fee_refund", 350, -500),
        ("fee_refund", 500, 0),
    ]
    stored = payment(client, token, made["id"])
    assert stored["balance"] == 0
    assert [f["remaining_amount"] for f in stored["fees"]] == [0, 0]


@pytest.mark.parametrize(
    ("extra", "code"),
    [
        ({"fees": [{"type": "tip", "amount": 1}]}, "fees_invalid"),
        ({"fees": {"type": "processing_fee"}}, "fees_invalid"),
        ({"fees": [{"type": "processing_fee", "amount": 0}]}, "fee_amount_greater_than_zero"),
        ({"fees": [{"type": "processing_fee", "amount": 1.5}]}, "fee_amount_greater_than_zero"),
        ({"fees": [FEES[0], FEES[0]]}, "multiple_of_same_fee_type"),
        (
            {"fees": [{"type": "platform_fee", "amount": 2501}]},
            "fee_amount_greater_than_payment_amount",
        ),
        ({"fees": FEES, "application_fee_amount": 100}, "fee_and_application_fee_declared"),
    ],
)
def test_fee_rules_are_enforced(
    client: httpx.Client, token: str, extra: dict[str, Any], code: str
) -> None:
    response = pay(client, token, amount=2500, **extra)
    assert response.status_code == 422, response.text
    assert error_code(response) == code


def test_a_completed_checkout_passes_its_fees_to_the_payment(
    client: httpx.Client, token: str
) -> None:
    bad = client.post(
        "/justifi/v1/checkouts",
        json={"amount": 4000, "description": "Cake", "payment": {"fees": [{"type": "x"}]}},
        headers=headers(token, key=False),
    )
    assert bad.status_code == 422
    assert error_code(bad) == "fees_invalid"
    created = client.post(
        "/justifi/v1/checkouts",
        json={"amount": 4000, "description": "Cake", "payment": {"fees": FEES[:1]}},
        headers=headers(token, key=False),
    )
    assert created.status_code == 201, created.text
    checkout_id = created.json()["id"]
    completed = client.post(
        f"/justifi/v1/checkouts/{checkout_id}/complete",
        json={"payment_token": card_token(client, token), "payment_mode": "ecom"},
        headers=headers(token, key=str(uuid.uuid4())),
    )
    assert completed.status_code == 201, completed.text
    payment_id = completed.json()["data"]["payment_id"]
    assert ledger(client, token, payment_id) == [
        ("payment", 4000, 4000),
        ("payment_fee", -350, 3650),
    ]
    assert payment(client, token, payment_id)["fee_amount"] == 350


def test_a_declined_payment_has_no_rows_and_no_fees(client: httpx.Client, token: str) -> None:
    response = pay(client, token, "4000000000000002", amount=2500, fees=FEES)
    assert response.status_code == 402
    listed = client.get(
        "/justifi/v1/payments", params={"payment_status": "failed"}, headers=headers(token)
    )
    failed = listed.json()["data"][0]
    assert (failed["fee_amount"], failed["fees"], failed["balance"]) == (0, [], 0)
    assert ledger(client, token, failed["id"]) == []


def test_a_checkout_refund_can_return_its_fees(client: httpx.Client, token: str) -> None:
    created = client.post(
        "/justifi/v1/checkouts",
        json={"amount": 4000, "description": "Cake", "payment": {"fees": FEES[:1]}},
        headers=headers(token, key=False),
    )
    checkout_id = created.json()["id"]
    completed = client.post(
        f"/justifi/v1/checkouts/{checkout_id}/complete",
        json={"payment_token": card_token(client, token), "payment_mode": "ecom"},
        headers=headers(token, key=str(uuid.uuid4())),
    )
    payment_id = completed.json()["data"]["payment_id"]
    response = post(
        client,
        token,
        f"/justifi/v1/checkouts/{checkout_id}/refunds",
        {"amount": 1000, "fees": [{"type": "processing_fee", "amount": 100}]},
    )
    assert response.status_code == 200, response.text
    assert_matches_spec(response, "/checkouts/{id}/refunds", "post")
    refund = response.json()["data"]
    assert (refund["status"], refund["returned_fees"]) == (
        "succeeded",
        [{"type": "processing_fee", "amount": 100}],
    )
    assert ledger(client, token, payment_id)[2:] == [
        ("refund", -1000, 2650),
        ("fee_refund", 100, 2750),
    ]
