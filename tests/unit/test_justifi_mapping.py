"""JustiFi payloads (recorded from JustiFi's own mocks) map onto our types exactly."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from pos_app.domain.money import Money
from pos_app.domain.payment import PaymentState
from pos_app.providers.errors import (
    AuthenticationError,
    IdempotencyConflictError,
    InvalidRequestError,
    NotFoundError,
    OutcomeUnknownError,
    ProviderUnavailableError,
    RateLimitedError,
    ResponseInvalidError,
)
from pos_app.providers.justifi import mapping
from pos_app.providers.types import CheckoutRequest, DeclineCode

EXAMPLES = Path(__file__).parents[1] / "fixtures" / "justifi"


def recorded(name: str) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads((EXAMPLES / name).read_text())
    return payload


def checkout(name: str) -> dict[str, Any]:
    return mapping.unwrap(recorded(name), "checkout")


def test_pending_checkout_is_waiting_for_the_customer() -> None:
    session = mapping.parse_checkout(checkout("mockGetCheckoutPending.json"), "https://pay/x")
    assert session.state is PaymentState.PENDING
    assert session.amount == Money(1799, "USD")
    assert session.provider_status == "created"
    assert session.decline is None
    assert session.attempts == 0
    # Checkouts lapse one week after creation.
    assert session.expires_at == datetime(2026, 3, 31, tzinfo=UTC)


def test_completed_checkout_is_captured_with_its_payment() -> None:
    session = mapping.parse_checkout(checkout("mockGetCheckoutCompleted.json"), None)
    assert session.state is PaymentState.CAPTURED
    assert session.payment_ref == "pay_success_test"
    assert session.attempts == 1


def test_failed_completion_is_a_decline_as_data() -> None:
    session = mapping.parse_checkout(checkout("mockGetCheckoutWithFailedCompletion.json"), None)
    assert session.state is PaymentState.DECLINED
    assert session.decline is not None
    assert session.decline.code is DeclineCode.DECLINED
    assert session.decline.provider_code == "card_declined"


@pytest.mark.parametrize("name", ["mockGetCheckoutExpired.json", "mockGetCheckoutSuccess.json"])
def test_expired_checkouts(name: str) -> None:
    assert mapping.parse_checkout(checkout(name), None).state is PaymentState.EXPIRED


def test_every_checkout_in_the_recorded_list_parses() -> None:
    items = recorded("mockGetCheckoutsListSuccess.json")["data"]
    states = [mapping.parse_checkout(item, None).state for item in items]
    assert states == [
        PaymentState.CAPTURED,
        PaymentState.EXPIRED,
        PaymentState.PENDING,
        PaymentState.PENDING,
        PaymentState.DECLINED,
    ]


def test_amount_that_disagrees_with_the_request_is_an_error_not_a_success() -> None:
    with pytest.raises(ResponseInvalidError, match=r"not the 18\.00 USD"):
        mapping.parse_checkout(
            checkout("mockGetCheckoutPending.json"), None, expected=Money(1800, "USD")
        )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("status", "paid_maybe"),  # unknown status
        ("payment_amount", "17.99"),  # wrong type
        ("payment_amount", 17.99),
        ("payment_amount", True),
        ("id", None),
        ("created_at", "yesterday"),
        ("payment_currency", "XYZ"),
    ],
)
def test_malformed_checkouts_are_response_invalid(field: str, value: object) -> None:
    data = copy.deepcopy(checkout("mockGetCheckoutPending.json"))
    data[field] = value
    with pytest.raises(ResponseInvalidError):
        mapping.parse_checkout(data, None)


def test_completed_checkout_in_a_list_may_omit_its_payment_id() -> None:
    # JustiFi's own list payload does this; "completed" alone means the payment succeeded.
    data = copy.deepcopy(checkout("mockGetCheckoutCompleted.json"))
    data["successful_payment_id"] = None
    session = mapping.parse_checkout(data, None)
    assert session.state is PaymentState.CAPTURED
    assert session.payment_ref is None


def test_unknown_completion_status_is_response_invalid() -> None:
    data = copy.deepcopy(checkout("mockGetCheckoutWithFailedCompletion.json"))
    data["completions"][0]["payment_status"] = "mystery"
    with pytest.raises(ResponseInvalidError):
        mapping.parse_checkout(data, None)


def test_envelope_type_is_checked() -> None:
    with pytest.raises(ResponseInvalidError):
        mapping.unwrap(recorded("mockPaymentDetailSuccess.json"), "checkout")
    with pytest.raises(ResponseInvalidError):
        mapping.unwrap({"data": []}, "checkout")
    with pytest.raises(ResponseInvalidError):
        mapping.unwrap("<html>", "checkout")


def test_status_tables_cover_every_documented_status() -> None:
    assert set(mapping.CHECKOUT_STATUS) == {"created", "attempted", "completed", "expired"}
    assert set(mapping.COMPLETION_PAYMENT_STATUS) == {
        "succeeded",
        "failed",
        "pending",
        "canceled",
        "skipped",
    }
    assert set(mapping.PAYMENT_STATUS) == {
        "pending",
        "authorized",
        "canceled",
        "succeeded",
        "failed",
        "partially_refunded",
        "fully_refunded",
        "disputed",
    }


def test_checkout_body_carries_our_reference_and_integer_cents() -> None:
    body = mapping.build_checkout_body(
        CheckoutRequest(
            reference="S-20261122-ABC123",
            amount=Money(1799, "USD"),
            description="Donut",
            idempotency_key="k",
            origin_url="http://127.0.0.1:1",
        )
    )
    assert body == {
        "amount": 1799,
        "description": "Donut",
        "origin_url": "http://127.0.0.1:1",
        "metadata": {"pos_reference": "S-20261122-ABC123"},
        # The payment the checkout makes carries the reference too (find_payment).
        "payment": {"metadata": {"pos_reference": "S-20261122-ABC123"}},
    }


@pytest.mark.parametrize(
    ("status", "mutating", "error"),
    [
        (401, False, AuthenticationError),
        (403, False, AuthenticationError),  # the keys may not act for this sub-account
        (404, False, NotFoundError),
        (409, True, IdempotencyConflictError),
        (422, True, InvalidRequestError),
        (429, False, RateLimitedError),
        (500, False, ProviderUnavailableError),
        (500, True, OutcomeUnknownError),
        (503, True, OutcomeUnknownError),
    ],
)
def test_http_errors_map_onto_the_error_tree(status: int, mutating: bool, error: type) -> None:
    body = {"error": {"code": "some_code", "message": "Something specific"}}
    mapped = mapping.error_from_response(status, body, mutating=mutating)
    assert type(mapped) is error
    assert mapped.message == "Something specific"
    assert mapped.provider_code == "some_code"


def test_error_without_body_still_says_what_happened() -> None:
    mapped = mapping.error_from_response(502, None, mutating=False)
    assert "HTTP 502" in mapped.message
