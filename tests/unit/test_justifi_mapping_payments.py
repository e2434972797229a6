"""JustiFi payments, refunds, completions and payment intents map onto our types exactly."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pos_app.domain.money import Money
from pos_app.domain.payment import PaymentState
from pos_app.providers.errors import ResponseInvalidError
from pos_app.providers.justifi import mapping
from pos_app.providers.justifi.client import list_items
from pos_app.providers.justifi.mapping import payments as payment_mapping
from pos_app.providers.justifi.mapping import sessions as session_mapping
from pos_app.providers.types import (
    ChargeRequest,
    DeclineCode,
    PaymentSource,
    RefundRequest,
    SourceKind,
)
from tests.specs import provider_spec

EXAMPLES = Path(__file__).parents[1] / "fixtures" / "justifi"


def recorded(name: str) -> Any:
    return json.loads((EXAMPLES / name).read_text())


def payment(name: str = "mockPaymentDetailSuccess.json") -> dict[str, Any]:
    return copy.deepcopy(mapping.unwrap(recorded(name), "payment"))


def usd(minor: int) -> Money:
    return Money(minor, "USD")


# -- payments --------------------------------------------------------------------------------


def test_recorded_payment_detail() -> None:
    parsed = payment_mapping.parse_payment(payment())
    assert parsed.provider_ref == "py_1NNeEnf4FbelxDCQN2RHcE"
    assert parsed.state is PaymentState.CAPTURED
    assert parsed.amount == parsed.captured == usd(23456)
    assert parsed.refunded == usd(0)
    assert parsed.reference is None  # metadata null
    assert parsed.card is not None
    assert parsed.card.last4 == "6789"
    assert parsed.created_at == datetime(2023, 12, 27, 21, 52, 53, 286000, tzinfo=UTC)
    assert [(a.kind, a.amount, a.approved) for a in parsed.actions] == [
        ("authorization", usd(23456), True),
        ("capture", usd(23456), True),
    ]


def test_every_payment_in_the_recorded_list() -> None:
    items = recorded("mockPaymentsSuccess.json")["data"]
    parsed = [payment_mapping.parse_payment(item) for item in items]
    assert [p.state for p in parsed] == [
        PaymentState.CAPTURED,
        PaymentState.PENDING,
        PaymentState.CAPTURED,
        PaymentState.DECLINED,
        PaymentState.PENDING,
        PaymentState.CAPTURED,  # disputed: the money has not moved back by itself
        PaymentState.REFUNDED,
    ]
    declined = parsed[3]
    # The mock marks this failed payment captured; a failed payment took no money.
    assert declined.captured == usd(0)
    assert declined.decline is not None
    assert declined.decline.provider_code == "ERR123"
    assert declined.decline.provider_message == "Insufficient funds"
    refunded = parsed[6]
    assert refunded.refunded == usd(34567)
    assert [(a.kind, a.provider_ref) for a in refunded.actions][-1] == ("refund", "re_2")


def _with_status(status: str) -> dict[str, Any]:
    """The recorded card payment, with the fields JustiFi sets for ``status``."""
    data = payment("mockPaymentDetailSuccess.json")
    data["status"] = status
    refund = {
        "id": "re_1",
        "payment_id": data["id"],
        "amount": 1000,
        "reason": "customer_request",
        "status": "succeeded",
        "created_at": "2023-12-28T10:00:00Z",
    }
    if status in ("authorized", "pending"):
        data.update(captured=False, capture_strategy="manual", amount_refundable=0)
    elif status == "canceled":
        data.update(captured=False, capture_strategy="manual", updated_at="2023-12-27T22:00:00Z")
    elif status == "failed":
        data.update(error_code="card_declined", error_description="Your card was declined.")
    elif status == "partially_refunded":
        data.update(amount_refunded=1000, refunded=True, refunds=[refund])
    elif status == "fully_refunded":
        data.update(amount_refunded=23456, refunded=True, refunds=[{**refund, "amount": 23456}])
    return data


@pytest.mark.parametrize(
    ("status", "state", "captured", "refunded", "kinds"),
    [
        ("pending", PaymentState.PENDING, 0, 0, ["authorization"]),
        ("authorized", PaymentState.AUTHORIZED, 0, 0, ["authorization"]),
        ("succeeded", PaymentState.CAPTURED, 23456, 0, ["authorization", "capture"]),
        ("failed", PaymentState.DECLINED, 0, 0, ["authorization"]),
        ("canceled", PaymentState.VOIDED, 0, 0, ["authorization", "void"]),
        (
            "partially_refunded",
            PaymentState.PARTIALLY_REFUNDED,
            23456,
            1000,
            ["authorization", "capture", "refund"],
        ),
        (
            "fully_refunded",
            PaymentState.REFUNDED,
            23456,
            23456,
            ["authorization", "capture", "refund"],
        ),
        ("disputed", PaymentState.CAPTURED, 23456, 0, ["authorization", "capture"]),
    ],
)
def test_every_documented_payment_status(
    status: str, state: PaymentState, captured: int, refunded: int, kinds: list[str]
) -> None:
    parsed = payment_mapping.parse_payment(_with_status(status))
    assert parsed.state is state
    assert parsed.provider_status == status
    assert parsed.captured == usd(captured)
    assert parsed.refunded == usd(refunded)
    assert [a.kind for a in parsed.actions] == kinds
    assert (parsed.decline is not None) == (state is PaymentState.DECLINED)
    if status == "failed":
        assert parsed.decline is not None
        assert parsed.decline.code is DeclineCode.DECLINED
        assert parsed.actions[0].approved is False


def test_our_tables_cover_exactly_the_statuses_the_spec_documents() -> None:
    schemas = json.loads(provider_spec("justifi/justifi-openapi.bundled.json").read_text())[
        "components"
    ]["schemas"]

    def documented(schema: str, field: str = "status") -> set[str]:
        return set(schemas[schema]["properties"][field]["enum"])

    assert documented("CardPayment") == set(mapping.PAYMENT_STATUS)
    assert documented("BankAccountPayment") == set(mapping.PAYMENT_STATUS)
    assert documented("Refund") == set(payment_mapping.REFUND_STATUS_APPROVED)
    assert documented("CheckoutCompletion", "payment_status") == set(
        mapping.COMPLETION_PAYMENT_STATUS
    )
    assert documented("Checkout") == set(mapping.CHECKOUT_STATUS)


def test_an_echoed_amount_that_differs_is_an_error() -> None:
    with pytest.raises(ResponseInvalidError, match=r"not the 234\.57 USD"):
        payment_mapping.parse_payment(payment(), expected=usd(23457))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("status", "approved_maybe"),
        ("amount", "234.56"),
        ("amount", 234.56),
        ("amount", True),
        ("amount", 0),
        ("currency", None),
        ("currency", "zzz"),
        ("captured", "yes"),
        ("amount_refunded", 99999),  # more refunded than captured
        ("amount_refunded", -1),
        ("amount_refunded", None),
        ("refunds", {"id": "re_1"}),
        ("refunds", [{"id": "re_1", "amount": 5, "status": "mystery", "created_at": "x"}]),
        (
            "refunds",
            [
                {
                    "id": "re_1",
                    "amount": -5,
                    "status": "succeeded",
                    "created_at": "2024-01-01T00:00:00Z",
                }
            ],
        ),
        ("id", None),
        ("created_at", "yesterday"),
    ],
)
def test_malformed_payments_are_response_invalid(field: str, value: object) -> None:
    data = payment()
    data[field] = value
    with pytest.raises(ResponseInvalidError):
        payment_mapping.parse_payment(data)


def test_not_a_payment_envelope_is_response_invalid() -> None:
    with pytest.raises(ResponseInvalidError):
        mapping.unwrap(recorded("mockPostRefundSuccess.json"), "payment")


# -- refunds ---------------------------------------------------------------------------------


def test_recorded_refund() -> None:
    refund = payment_mapping.parse_refund(
        mapping.unwrap(recorded("mockPostRefundSuccess.json"), "refund"), "USD"
    )
    assert refund.kind == "refund"
    assert refund.provider_ref == "re_xyz"
    assert refund.amount == usd(23456)
    assert refund.approved is True
    assert refund.note == "duplicate"


def test_refund_body_sends_known_reasons_as_reasons_and_the_rest_as_description() -> None:
    def body(reason: str) -> dict[str, Any]:
        return payment_mapping.build_refund_body(
            RefundRequest("py_1", usd(500), reason, "k", "R-1")
        )

    assert body("Duplicate") == {
        "amount": 500,
        "metadata": {"pos_reference": "R-1"},
        "description": "Duplicate",
        "reason": "duplicate",
    }
    assert body("Wrong size") == {
        "amount": 500,
        "metadata": {"pos_reference": "R-1"},
        "description": "Wrong size",
    }


# -- charges ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("capture", "strategy"), [(True, "automatic"), (False, "manual")])
def test_payment_body(capture: bool, strategy: str) -> None:
    body = payment_mapping.build_payment_body(
        ChargeRequest(
            reference="S-20261122-ABC123",
            amount=usd(1799),
            description="Donut",
            idempotency_key="k",
            source=PaymentSource(SourceKind.TOKEN, "pm_abc"),
            capture=capture,
        )
    )
    assert body == {
        "amount": 1799,
        "currency": "usd",
        "capture_strategy": strategy,
        "payment_method": {"token": "pm_abc"},
        "description": "Donut",
        "metadata": {"pos_reference": "S-20261122-ABC123"},
    }


def test_the_documented_decline_body_is_insufficient_funds() -> None:
    decline = mapping.decline_from_error(recorded("paymentDeclinedInsufficientFunds.json"))
    assert decline.code is DeclineCode.INSUFFICIENT_FUNDS
    assert decline.provider_code == "insufficient_funds"
    assert decline.provider_message == "Your card has insufficient funds."


@pytest.mark.parametrize(
    ("body", "code", "provider_code"),
    [
        (
            {"error": {"code": "gateway_error", "message": "m"}},
            DeclineCode.PROCESSING_ERROR,
            "gateway_error",
        ),
        (
            {"error": {"code": "card_declined", "decline_code": None}},
            DeclineCode.DECLINED,
            "card_declined",
        ),
        ({"error": {"code": "brand_new_code"}}, DeclineCode.OTHER, "brand_new_code"),
        (None, DeclineCode.DECLINED, "card_declined"),  # a 402 with no JSON still means declined
    ],
)
def test_decline_bodies(body: Any, code: DeclineCode, provider_code: str) -> None:
    decline = mapping.decline_from_error(body)
    assert decline.code is code
    assert decline.provider_code == provider_code


# -- checkout completions --------------------------------------------------------------------


def completion(name: str) -> dict[str, Any]:
    return copy.deepcopy(mapping.unwrap(recorded(name), "checkout_completion"))


def test_succeeded_completion_is_the_captured_payment() -> None:
    paid = payment_mapping.parse_completion(
        completion("checkoutCompletionSucceeded.json"), expected=usd(10000), reference="S-1"
    )
    assert paid.provider_ref == "py_123xyz"
    assert paid.state is PaymentState.CAPTURED
    assert paid.captured == usd(10000)
    # The payment's own metadata has no reference; the sale's is kept.
    assert paid.reference == "S-1"
    assert paid.card is not None
    assert paid.card.last4 == "4242"


def test_failed_completion_is_a_decline() -> None:
    declined = payment_mapping.parse_completion(
        completion("checkoutCompletionFailed.json"), expected=usd(10000), reference="S-1"
    )
    assert declined.state is PaymentState.DECLINED
    assert declined.captured == usd(0)
    assert declined.provider_ref == ""  # JustiFi names no payment for a failed attempt
    assert declined.decline is not None
    assert declined.decline.code is DeclineCode.INSUFFICIENT_FUNDS


def test_additional_transactions_stay_in_the_history() -> None:
    data = completion("checkoutCompletionSucceeded.json")
    data["additional_transactions"] = [
        {"id": "py_insurance", "amount": 499, "status": "succeeded", "type": "insurance"}
    ]
    paid = payment_mapping.parse_completion(data, expected=usd(10000), reference="S-1")
    assert paid.actions[-1].kind == "additional_transaction"
    assert paid.actions[-1].amount == usd(499)
    assert paid.actions[-1].note == "insurance"
    assert paid.captured == usd(10000)  # only what we asked is this payment's


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"payment_status": "mystery"}, 10000),
        ({"payment_status": None, "status": None}, 10000),
        ({"payment_response": {"error": "oops"}}, 10000),
        ({"additional_transactions": {"id": "x"}}, 10000),
        ({"additional_transactions": [{"id": "x", "amount": "4.99"}]}, 10000),
        ({}, 9999),  # the payment is not for what we asked
        ({"payment_status": "pending"}, 10000),  # says pending, its payment succeeded
    ],
)
def test_malformed_completions_are_response_invalid(change: dict[str, Any], expected: int) -> None:
    data = completion("checkoutCompletionSucceeded.json")
    data.update(change)
    with pytest.raises(ResponseInvalidError):
        payment_mapping.parse_completion(data, expected=usd(expected), reference="S-1")


# -- payment intents (legacy flow) -----------------------------------------------------------

NOW = datetime(2021, 1, 1, 13, 0, tzinfo=UTC)


def intent(**change: Any) -> dict[str, Any]:
    data = copy.deepcopy(mapping.unwrap(recorded("paymentIntent.json"), "payment_intent"))
    data.update(change)
    return data


@pytest.mark.parametrize(
    ("status", "state"),
    [
        ("requires_payment_method", PaymentState.PENDING),
        ("requires_capture", PaymentState.PENDING),
        ("pending", PaymentState.PENDING),
        ("succeeded", PaymentState.CAPTURED),
        ("canceled", PaymentState.VOIDED),
    ],
)
def test_every_documented_intent_status(status: str, state: PaymentState) -> None:
    session = session_mapping.parse_intent(intent(status=status), None, now=NOW)
    assert session.state is state
    assert session.amount == usd(10000)
    assert session.expires_at == datetime(2021, 1, 2, 12, 0, tzinfo=UTC)


def test_an_intent_with_a_failed_attempt_is_declined() -> None:
    failed = _with_status("failed")
    session = session_mapping.parse_intent(intent(), None, now=NOW, payments=[failed])
    assert session.state is PaymentState.DECLINED
    assert session.decline is not None
    assert session.decline.provider_code == "card_declined"
    assert session.attempts == 1


def test_an_unpaid_intent_expires_with_its_session_page() -> None:
    later = NOW + timedelta(days=1)
    assert session_mapping.parse_intent(intent(), None, now=later).state is PaymentState.EXPIRED
    paid = intent(status="succeeded", successful_payment_id="py_1")
    assert session_mapping.parse_intent(paid, None, now=later).state is PaymentState.CAPTURED


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("status", "paid?"),
        ("amount", "100.00"),
        ("currency", None),
        ("id", None),
        ("created_at", 5),
    ],
)
def test_malformed_intents_are_response_invalid(field: str, value: object) -> None:
    with pytest.raises(ResponseInvalidError):
        session_mapping.parse_intent(intent(**{field: value}), None, now=NOW)


def test_intent_amount_must_match() -> None:
    with pytest.raises(ResponseInvalidError):
        session_mapping.parse_intent(intent(), None, now=NOW, expected=usd(10001))


# -- list envelopes --------------------------------------------------------------------------


def test_recorded_list_gives_its_items_and_no_next_page() -> None:
    items, cursor = list_items(recorded("mockPaymentsSuccess.json"), "payment")
    assert len(items) == 7
    assert cursor is None


@pytest.mark.parametrize(
    "payload",
    [
        {"data": {"id": "py_1"}},
        {"data": ["py_1"]},
        {"data": [], "page_info": "string"},
        {"data": [], "page_info": {"has_next": True, "end_cursor": None}},
        "<html>",
    ],
)
def test_malformed_lists_are_response_invalid(payload: Any) -> None:
    with pytest.raises(ResponseInvalidError):
        list_items(payload, "payment")
