"""Payfect payloads (the documented examples, copied to tests/fixtures/payfect) map exactly."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet

from pos_app.domain.money import Money
from pos_app.domain.payment import PaymentState
from pos_app.providers.errors import (
    AuthenticationError,
    ConfigurationError,
    InvalidRequestError,
    NotFoundError,
    OutcomeUnknownError,
    ProviderUnavailableError,
    RateLimitedError,
    ResponseInvalidError,
)
from pos_app.providers.payfect import mapping
from pos_app.providers.payfect.adapter import PayfectConfig, PayfectProvider
from pos_app.providers.payfect.webhooks import verify_payfect
from pos_app.providers.registry import parse_event
from pos_app.providers.types import Capability, CheckoutRequest
from pos_app.providers.webhooks import WebhookSignatureError

EXAMPLES = Path(__file__).parents[1] / "fixtures" / "payfect"
KEY = Fernet.generate_key().decode()


def recorded(name: str) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads((EXAMPLES / name).read_text())
    return payload


def retrieved() -> dict[str, Any]:
    return recorded("checkout-retrieve.response.example.json")


def with_status(status: str) -> dict[str, Any]:
    data = retrieved()
    data["status"] = status
    return data


def request(minor: int = 2050, currency: str = "USD", **extra: Any) -> CheckoutRequest:
    return CheckoutRequest(
        reference="S-20261122-ABC123",
        amount=Money(minor, currency),
        description="One chocolate donut",
        idempotency_key="never-sent",
        **extra,
    )


# -- responses -------------------------------------------------------------------------------


def test_documented_create_response_is_an_open_checkout() -> None:
    session = mapping.parse_checkout(
        recorded("checkout-create.response.example.json"), expected=Money(2000, "USD")
    )
    assert session.provider_ref == "ed8d24aa-a860-426b-8e56-87cb9f55a081"
    assert session.state is PaymentState.PENDING
    assert session.provider_status == "open"
    assert session.amount == Money(2000, "USD")
    assert session.reference is None  # the documented create example has no reference
    assert session.hosted_url == (
        "https://buy-dev.payfect.finance/checkouts/ed8d24aa-a860-426b-8e56-87cb9f55a081"
    )
    # expiresAt is epoch milliseconds as text.
    assert session.expires_at == datetime.fromtimestamp(1703939166, UTC)
    assert session.payment_ref is None


def test_documented_retrieve_response_carries_our_reference() -> None:
    session = mapping.parse_checkout(retrieved())
    assert session.reference == "5ae50223-e455-4a72-a48d-fe7d85800e64"
    assert session.amount == Money(2000, "USD")


@pytest.mark.parametrize(
    ("status", "state"),
    [
        ("open", PaymentState.PENDING),
        ("complete", PaymentState.CAPTURED),
        ("expired", PaymentState.EXPIRED),
    ],
)
def test_every_documented_status(status: str, state: PaymentState) -> None:
    session = mapping.parse_checkout(with_status(status))
    assert session.state is state
    assert session.provider_status == status


def test_a_complete_checkout_is_its_own_payment() -> None:
    session = mapping.parse_checkout(with_status("complete"))
    assert session.payment_ref == session.provider_ref  # what get_payment looks up


@pytest.mark.parametrize(
    ("status", "state", "captured"),
    [
        ("open", PaymentState.PENDING, 0),
        ("complete", PaymentState.CAPTURED, 2000),
        ("expired", PaymentState.EXPIRED, 0),
    ],
)
def test_every_status_as_a_payment(status: str, state: PaymentState, captured: int) -> None:
    payment = mapping.payment_from_checkout(with_status(status))
    assert payment.provider_ref == "ed8d24aa-a860-426b-8e56-87cb9f55a081"
    assert payment.state is state
    assert payment.provider_status == status
    assert payment.amount == Money(2000, "USD")
    assert payment.captured == Money(captured, "USD")
    assert payment.refunded == Money(0, "USD")
    assert payment.reference == "5ae50223-e455-4a72-a48d-fe7d85800e64"
    assert payment.created_at is not None
    assert payment.created_at.tzinfo is UTC
    if status == "complete":
        [action] = payment.actions
        assert action.provider_ref == "b7c30e83-5439-47b2-ac4d-81c64c1d0174"
        assert action.amount == Money(2000, "USD")
        assert action.approved
    else:
        assert payment.actions == ()


@pytest.mark.parametrize(
    ("field", "value"),
    [("paymentIntent", None), ("paymentIntent", 7), ("createdAt", "yesterday"), ("status", "paid")],
)
def test_malformed_payments_are_response_invalid(field: str, value: object) -> None:
    data = with_status("complete")
    data[field] = value
    with pytest.raises(ResponseInvalidError):
        mapping.payment_from_checkout(data)


def test_status_table_is_exactly_the_documented_statuses() -> None:
    assert set(mapping.CHECKOUT_STATUS) == {"open", "complete", "expired"}


@pytest.mark.parametrize(
    ("text", "minor"),
    [("20.00", 2000), ("20.50", 2050), ("0.01", 1), ("17.99", 1799), ("20", 2000), ("20.5", 2050)],
)
def test_decimal_amounts_are_exact(text: str, minor: int) -> None:
    data = retrieved()
    data["amountTotal"] = text
    data["invoiceItems"][0]["amount"] = text
    assert mapping.parse_checkout(data).amount == Money(minor, "USD")


def test_the_documented_truncated_echo_is_an_error_not_a_success() -> None:
    # Asked 20.50, Payfect echoed "20.00".
    with pytest.raises(ResponseInvalidError, match=r"not the 20\.50 asked for"):
        mapping.parse_checkout(retrieved(), expected=Money(2050, "USD"))


def test_total_must_agree_with_its_items() -> None:
    data = retrieved()
    data["invoiceItems"][0]["amount"] = "20.50"
    with pytest.raises(ResponseInvalidError, match="items add up"):
        mapping.parse_checkout(data)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("status", "paid_maybe"),
        ("status", None),
        ("id", None),
        ("id", 42),
        ("amountTotal", 20.0),
        ("amountTotal", 20),
        ("amountTotal", "20.001"),
        ("amountTotal", "-20.00"),
        ("amountTotal", "2e1"),
        ("amountTotal", "NaN"),
        ("amountTotal", " 20.00"),
        ("amountTotal", None),
        ("currency", "btc"),
        ("currency", None),
        ("invoiceItems", []),
        ("invoiceItems", None),
        ("invoiceItems", ["x"]),
        ("expiresAt", "tomorrow"),
        ("expiresAt", 1703939166000),
        ("clientReferenceId", 5),
        ("url", "javascript:alert(1)"),
    ],
)
def test_malformed_checkouts_are_response_invalid(field: str, value: object) -> None:
    data = copy.deepcopy(retrieved())
    data[field] = value
    with pytest.raises(ResponseInvalidError):
        mapping.parse_checkout(data)


@pytest.mark.parametrize("payload", [None, [], "<html>", 7])
def test_non_objects_are_response_invalid(payload: Any) -> None:
    with pytest.raises(ResponseInvalidError):
        mapping.parse_checkout(payload)


def test_iso_expiry_of_the_2023_draft_is_accepted() -> None:
    data = retrieved()
    data["expiresAt"] = "2023-12-30T12:26:06Z"
    assert mapping.parse_checkout(data).expires_at == datetime(2023, 12, 30, 12, 26, 6, tzinfo=UTC)
    data["expiresAt"] = None
    assert mapping.parse_checkout(data).expires_at is None


# -- requests --------------------------------------------------------------------------------


def test_checkout_body_prices_the_usd_sale_one_to_one_in_usdt() -> None:
    body = mapping.build_checkout_body(
        request(1799, success_url="https://pos.invalid/done?sale=7"),
        callback_url="https://pos.invalid/payfect/callback",
    )
    assert body == {
        "client_reference_id": "S-20261122-ABC123",
        "currency": "usdt",
        "invoice_items": [
            {
                "price_data": {
                    "currency": "usdt",
                    "unit_amount": "17.99",
                    "product_data": {"name": "One chocolate donut"},
                },
                "quantity": 1,
            }
        ],
        "success_url": "https://pos.invalid/done?sale=7",
        "cancel_url": "https://pos.invalid/done?sale=7&outcome=cancel",
        "callback_url": "https://pos.invalid/payfect/callback",
        "payment_method_data": {
            "type": "cryptopaymentmethoddetail",
            "paymentMethodDetail": {"currency": "usdt", "network": "tron"},
        },
    }
    # The documented request uses the same snake_case keys.
    documented = recorded("checkout-create.request.example.json")
    assert set(body) == set(documented)
    assert set(body["invoice_items"][0]) == set(documented["invoice_items"][0])


def test_checkout_body_without_urls_or_callback() -> None:
    body = mapping.build_checkout_body(request(5))
    assert body["invoice_items"][0]["price_data"]["unit_amount"] == "0.05"
    assert not {"success_url", "cancel_url", "callback_url"} & set(body)
    assert mapping.cancel_url_for("https://a.invalid/ok") == "https://a.invalid/ok?outcome=cancel"


def test_a_sale_in_another_currency_is_refused() -> None:
    with pytest.raises(ConfigurationError):
        mapping.build_checkout_body(request(1799, "EUR"))


@pytest.mark.parametrize(
    "change",
    [
        {"sale_currency": "EUR"},
        {"crypto_currency": "btc"},
        {"api_key": ""},
        {"api_base_url": ""},
    ],
)
def test_profiles_that_cannot_work_are_configuration_errors(change: dict[str, str]) -> None:
    values = {"api_base_url": "http://127.0.0.1:1/payfect", "api_key": "k", **change}
    with pytest.raises(ConfigurationError):
        PayfectConfig(**values).check()


def test_capabilities_are_only_what_payfect_can_do() -> None:
    assert PayfectProvider.capabilities == {
        Capability.HOSTED_CHECKOUT,
        Capability.PAY_BY_LINK,
        Capability.LOOKUP,
    }


# -- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "mutating", "error"),
    [
        (401, False, AuthenticationError),
        (403, True, AuthenticationError),
        (404, False, NotFoundError),
        (400, True, InvalidRequestError),
        (415, True, InvalidRequestError),
        (429, False, RateLimitedError),
        (500, False, ProviderUnavailableError),
        (500, True, OutcomeUnknownError),
        (503, True, OutcomeUnknownError),
    ],
)
def test_http_errors_map_onto_the_error_tree(status: int, mutating: bool, error: type) -> None:
    mapped = mapping.error_from_response(
        status, {"detail": "Something specific"}, mutating=mutating
    )
    assert type(mapped) is error
    assert mapped.message == "Something specific"
    assert mapped.status == status


def test_field_errors_reach_the_message() -> None:
    body = {
        "currency": ['"CNY" is not a valid choice.'],
        "invoice_items": [{"price_data": {"unit_amount": ["A valid number is required."]}}],
        "payment_method_data": {"non_field_errors": ["Invalid payment method data."]},
    }
    mapped = mapping.error_from_response(400, body, mutating=True)
    assert type(mapped) is InvalidRequestError
    assert mapped.message == (
        'currency: "CNY" is not a valid choice.; '
        "invoice_items.0.price_data.unit_amount: A valid number is required.; "
        "payment_method_data: Invalid payment method data."
    )


def test_error_without_body_still_says_what_happened() -> None:
    assert "HTTP 502" in mapping.error_from_response(502, None, mutating=False).message


# -- callbacks (the Fernet scheme, in providers/webhooks.py) ---------------------------------


def signed(
    payload: dict[str, Any], key: str = KEY, at: int | None = None
) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload, separators=(",", ":")).encode()
    fernet = Fernet(key.encode())
    token = fernet.encrypt(body) if at is None else fernet.encrypt_at_time(body, at)
    return body, {"X-Payfect-Signature": token.decode()}


def test_a_signed_documented_callback_verifies_and_names_its_checkout() -> None:
    payload = recorded("callback.payload.example.json")
    body, headers = signed(payload)
    verified = verify_payfect(body, headers, KEY)
    assert verified.payload == payload
    assert verified.event_id == "ed8d24aa-a860-426b-8e56-87cb9f55a081:succeeded"
    event = parse_event(verified)
    assert event.object_ref == "ed8d24aa-a860-426b-8e56-87cb9f55a081"
    assert event.reference == "5ae50223-e455-4a72-a48d-fe7d85800e64"
    assert event.event_type == "succeeded"


def test_tampered_body_wrong_key_and_garbage_are_refused() -> None:
    payload = recorded("callback.payload.example.json")
    body, headers = signed(payload)
    token = headers["X-Payfect-Signature"]
    with pytest.raises(WebhookSignatureError, match="not what"):
        verify_payfect(body.replace(b"20.00", b"99.00"), headers, KEY)
    with pytest.raises(WebhookSignatureError, match="invalid"):
        verify_payfect(body, headers, Fernet.generate_key().decode())
    with pytest.raises(WebhookSignatureError):
        verify_payfect(body, {"X-Payfect-Signature": token[:-4] + "AAAA"}, KEY)
    with pytest.raises(WebhookSignatureError):
        verify_payfect(body, {"X-Payfect-Signature": ""}, KEY)


def test_old_callbacks_are_refused_only_when_asked() -> None:
    body, headers = signed({"id": "x", "status": "succeeded"}, at=1_000_000)
    assert verify_payfect(body, headers, KEY).event_id == "x:succeeded"
    with pytest.raises(WebhookSignatureError, match="too old"):
        verify_payfect(body, headers, KEY, max_age_s=300, now=1_000_301)
    assert verify_payfect(body, headers, KEY, max_age_s=300, now=1_000_299).payload["id"] == "x"
    with pytest.raises(ValueError, match="needs the time"):
        verify_payfect(body, headers, KEY, max_age_s=300)  # never the wall clock


def test_signed_bodies_that_are_not_callbacks_are_refused() -> None:
    for body in (b"[1]", b"not json", b'{"status": "succeeded"}'):
        token = Fernet(KEY.encode()).encrypt(body).decode()
        with pytest.raises(WebhookSignatureError):
            verify_payfect(body, {"X-Payfect-Signature": token}, KEY)


def test_a_key_that_is_not_a_fernet_key_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError):
        verify_payfect(b"{}", {"X-Payfect-Signature": "x"}, "not-a-fernet-key")
