"""Checkout.com payloads (recorded from the sandbox's NAS dialect) map onto our types exactly."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from pos_app.domain.money import Money
from pos_app.domain.payment import PaymentState
from pos_app.providers.checkout_com import mapping
from pos_app.providers.checkout_com.adapter import CheckoutComConfig, CheckoutComProvider
from pos_app.providers.checkout_com.limits import amount_limits
from pos_app.providers.errors import (
    AuthenticationError,
    ConfigurationError,
    IdempotencyConflictError,
    InvalidRequestError,
    NotFoundError,
    OutcomeUnknownError,
    ProviderUnavailableError,
    RateLimitedError,
    ResponseInvalidError,
)
from pos_app.providers.types import (
    Capability,
    CheckoutMode,
    CheckoutRequest,
    Decline,
    DeclineCode,
)

BASE = "http://127.0.0.1:45461/checkout-com"
HPP = "hpp_CCHoj6Y8HkDA"
PAID = "pay_lut33kyjeebiul6eqxvcjww2tc"
DECLINED = "pay_bpdemcnwhg2w5nizherqnpphz2"

# Recorded: POST /hosted-payments -> 201.
CREATED: dict[str, Any] = {
    "id": HPP,
    "reference": "S-REC-1",
    "_links": {
        "self": {"href": f"{BASE}/hosted-payments/{HPP}"},
        "redirect": {"href": f"{BASE}/page/{HPP}"},
    },
}

# Recorded: GET /hosted-payments/{id} while waiting for the customer.
PENDING: dict[str, Any] = {
    "id": HPP,
    "status": "Payment Pending",
    "amount": 1799,
    "currency": "GBP",
    "reference": "S-REC-1",
    "description": "Donut",
    "billing": {"address": {"country": "GB"}},
    "_links": {
        "self": {"href": f"{BASE}/hosted-payments/{HPP}"},
        "redirect": {"href": f"{BASE}/page/{HPP}"},
    },
    "success_url": "https://pos.invalid/ok",
    "cancel_url": "https://pos.invalid/ok?outcome=cancel",
    "failure_url": "https://pos.invalid/ok?outcome=failure",
}

# Recorded: the same page after a declined card and then 4242… paid it.
RECEIVED: dict[str, Any] = {
    **PENDING,
    "status": "Payment Received",
    "payment_id": PAID,
    "_links": {
        **PENDING["_links"],
        "payment": {"href": f"{BASE}/payments/{PAID}"},
        "payment_actions": {"href": f"{BASE}/payments/{PAID}/actions"},
    },
}

# Recorded: GET /payments/{id} of the approved payment (captured at once).
PAID_PAYMENT: dict[str, Any] = {
    "id": PAID,
    "requested_on": "2026-11-22T03:01:12.238Z",
    "source": {
        "type": "card",
        "id": "src_x74oz5suy4afr4e3gx34qpcznl",
        "expiry_month": 12,
        "expiry_year": 2029,
        "name": "Sandbox Shopper",
        "scheme": "VISA",
        "last4": "4242",
        "bin": "424242",
        "card_type": "Credit",
        "issuer_country": "US",
        "avs_check": "S",
        "cvv_check": "Y",
    },
    "amount": 1799,
    "currency": "GBP",
    "payment_type": "Regular",
    "reference": "S-REC-1",
    "description": "Donut",
    "approved": True,
    "expires_on": "2026-11-29T03:01:12.238Z",
    "status": "Captured",
    "balances": {
        "total_authorized": 1799,
        "total_voided": 0,
        "available_to_void": 0,
        "total_captured": 1799,
        "available_to_capture": 0,
        "total_refunded": 0,
        "available_to_refund": 1799,
    },
    "risk": {"flagged": False},
    "_links": {"self": {"href": f"{BASE}/payments/{PAID}"}},
}

# Recorded: GET /payments/{id} of the declined attempt (card 4544 2491 6767 3670).
DECLINED_PAYMENT: dict[str, Any] = {
    "id": DECLINED,
    "requested_on": "2026-11-22T03:01:12.229Z",
    "source": {"type": "card", "scheme": "VISA", "last4": "3670", "bin": "454424"},
    "amount": 1799,
    "currency": "GBP",
    "payment_type": "Regular",
    "reference": "S-REC-1",
    "description": "Donut",
    "approved": False,
    "status": "Declined",
    "risk": {"flagged": False},
    "_links": {"self": {"href": f"{BASE}/payments/{DECLINED}"}},
}

# Recorded: GET /payments/{id}/actions of the declined attempt.
DECLINED_ACTIONS: list[dict[str, Any]] = [
    {
        "id": "act_bpdemcnwhg2w5nizherqnpphz2",
        "type": "Authorization",
        "processed_on": "2026-11-22T03:01:12.229Z",
        "amount": 1799,
        "approved": False,
        "response_code": "20051",
        "response_summary": "Insufficient Funds",
        "authorization_type": "Final",
        "reference": "S-REC-1",
    }
]

# Recorded: POST /hosted-payments without billing -> 422.
VALIDATION_ERROR: dict[str, Any] = {
    "request_id": "5fe97260-b55d-41f5-aaf0-2ba8430b4801",
    "error_type": "request_invalid",
    "error_codes": ["billing_required"],
}


def asked(minor: int = 1799, success_url: str | None = "https://pos.invalid/ok") -> CheckoutRequest:
    return CheckoutRequest(
        reference="S-REC-1",
        amount=Money(minor, "GBP"),
        description="Donut",
        idempotency_key="key-1",
        success_url=success_url,
    )


# -- requests ------------------------------------------------------------------------------


def test_hosted_body_carries_minor_units_our_reference_and_three_return_urls() -> None:
    body = mapping.build_hosted_body(asked(), processing_channel_id="pc_123", billing_country="GB")
    assert body == {
        "amount": 1799,
        "currency": "GBP",
        "reference": "S-REC-1",
        "description": "Donut",
        "billing": {"address": {"country": "GB"}},
        "success_url": "https://pos.invalid/ok",
        "failure_url": "https://pos.invalid/ok?outcome=failure",
        "cancel_url": "https://pos.invalid/ok?outcome=cancel",
        "processing_channel_id": "pc_123",
        "capture": True,
    }


def test_outcome_urls_keep_the_success_urls_own_query() -> None:
    assert (
        mapping.outcome_url("https://pos.invalid/done?sale=7&outcome=x", "cancel")
        == "https://pos.invalid/done?sale=7&outcome=cancel"
    )


def test_a_hosted_page_without_a_success_url_is_refused_before_sending() -> None:
    with pytest.raises(InvalidRequestError, match="success URL"):
        mapping.build_hosted_body(
            asked(success_url=None), processing_channel_id="pc", billing_country="GB"
        )


def test_long_descriptions_are_cut_to_the_apis_limit() -> None:
    request = CheckoutRequest("S-1", Money(100, "GBP"), "x" * 300, "k", "https://p.invalid/")
    body = mapping.build_hosted_body(request, processing_channel_id="pc", billing_country="GB")
    assert len(body["description"]) == 100


# -- hosted pages --------------------------------------------------------------------------


def test_created_page_gives_its_id_and_redirect() -> None:
    assert mapping.parse_hosted_created(CREATED) == (HPP, f"{BASE}/page/{HPP}")


@pytest.mark.parametrize(
    "payload",
    [
        {**CREATED, "id": "pay_x"},
        {**CREATED, "_links": {}},
        {**CREATED, "_links": {"redirect": {"href": "javascript:alert(1)"}}},
        {"id": 7},
        [],
    ],
)
def test_malformed_created_pages_are_response_invalid(payload: Any) -> None:
    with pytest.raises(ResponseInvalidError):
        mapping.parse_hosted_created(payload)


def test_pending_page_waits_for_the_customer() -> None:
    session = mapping.parse_hosted(PENDING, expected=Money(1799, "GBP"))
    assert session.provider_ref == HPP
    assert session.state is PaymentState.PENDING
    assert session.provider_status == "Payment Pending"
    assert session.amount == Money(1799, "GBP")
    assert session.reference == "S-REC-1"
    assert session.hosted_url == f"{BASE}/page/{HPP}"
    assert session.expires_at is None  # Checkout.com does not say when a page lapses
    assert session.decline is None
    assert session.card is None
    assert session.attempts == 0


def test_received_page_is_as_captured_as_its_payment() -> None:
    session = mapping.parse_hosted(RECEIVED, payment=PAID_PAYMENT)
    assert session.state is PaymentState.CAPTURED
    assert session.payment_ref == PAID
    assert session.card is not None
    assert (session.card.brand, session.card.last4) == ("VISA", "4242")


def test_received_page_whose_payment_is_only_authorized() -> None:
    payment = {**PAID_PAYMENT, "status": "Authorized"}
    assert mapping.parse_hosted(RECEIVED, payment=payment).state is PaymentState.AUTHORIZED


def test_declined_attempt_on_an_open_page_is_a_decline_as_data() -> None:
    decline = mapping.decline_from_actions(DECLINED_ACTIONS)
    session = mapping.parse_hosted(PENDING, attempts=[DECLINED_PAYMENT], decline=decline)
    assert session.state is PaymentState.DECLINED
    assert session.provider_status == "Payment Pending"
    assert session.decline == Decline(DeclineCode.INSUFFICIENT_FUNDS, "20051", "Insufficient Funds")
    assert session.card is not None
    assert session.card.last4 == "3670"
    assert session.attempts == 1


def test_expired_page() -> None:
    session = mapping.parse_hosted({**PENDING, "status": "Expired"})
    assert session.state is PaymentState.EXPIRED


def test_page_for_another_amount_is_an_error_not_a_success() -> None:
    with pytest.raises(ResponseInvalidError, match=r"not the 18\.00 GBP"):
        mapping.parse_hosted(PENDING, expected=Money(1800, "GBP"))


def test_a_paid_page_reports_what_its_payment_took_not_what_the_page_asked() -> None:
    """PaymentService holds it against the sale (services/outcomes.disagreement)."""
    payment = {**PAID_PAYMENT, "amount": 1700, "reference": "S-ANOTHER"}
    session = mapping.parse_hosted(RECEIVED, payment=payment)
    assert session.amount.minor == 1700
    assert session.reference == "S-ANOTHER"


def test_payment_other_than_the_page_names_is_an_error() -> None:
    with pytest.raises(ResponseInvalidError):
        mapping.parse_hosted(RECEIVED, payment={**PAID_PAYMENT, "id": DECLINED})


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("status", "Payment Maybe"),
        ("status", None),
        ("amount", "17.99"),
        ("amount", 17.99),
        ("amount", True),
        ("currency", "gbp"),
        ("currency", "XYZ"),
        ("currency", None),
        ("id", None),
        ("reference", 12),
        ("payment_id", 5),
        ("expires_on", "tomorrow"),
        ("expires_on", "2026-11-22T03:00:00"),
        ("_links", None),
    ],
)
def test_malformed_pages_are_response_invalid(field: str, value: object) -> None:
    data = copy.deepcopy(PENDING)
    data[field] = value
    with pytest.raises(ResponseInvalidError):
        mapping.parse_hosted(data)


def test_received_page_without_a_payment_is_response_invalid() -> None:
    data = {k: v for k, v in RECEIVED.items() if k != "payment_id"}
    with pytest.raises(ResponseInvalidError):
        mapping.parse_hosted(data)


def test_an_expiry_when_given_is_read() -> None:
    session = mapping.parse_hosted({**PENDING, "expires_on": "2026-11-22T06:00:00Z"})
    assert session.expires_at is not None
    assert session.expires_at.hour == 6


# -- payment links (recorded from the sandbox into tests/fixtures/checkout_com) --------------

FIXTURES = Path(__file__).parents[1] / "fixtures" / "checkout_com"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def test_link_body_has_no_return_url_to_the_till() -> None:
    request = CheckoutRequest(
        "S-1", Money(2450, "GBP"), "Cake", "k", "https://pos.invalid/ok", mode=CheckoutMode.LINK
    )
    body = mapping.build_link_body(request, processing_channel_id="pc_1", billing_country="GB")
    assert body == {
        "amount": 2450,
        "currency": "GBP",
        "reference": "S-1",
        "description": "Cake",
        "billing": {"address": {"country": "GB"}},
        "processing_channel_id": "pc_1",
        "capture": True,
    }


def test_created_link_gives_its_id_and_redirect() -> None:
    created = fixture("link_201")
    link_id, href = mapping.parse_hosted_created(created, "pl_")
    assert link_id == created["id"]
    assert href.endswith(f"/link/{link_id}")
    with pytest.raises(ResponseInvalidError):
        mapping.parse_hosted_created(created)  # a link where a page was asked for


def test_active_link_waits_for_the_customer_until_it_expires() -> None:
    active = fixture("link_active")
    session = mapping.parse_hosted(active, expected=Money(2450, "GBP"))
    assert session.provider_ref.startswith("pl_")
    assert (session.state, session.provider_status) == (PaymentState.PENDING, "Active")
    assert session.expires_at is not None
    assert session.expires_at.day == 23
    assert session.hosted_url == active["_links"]["redirect"]["href"]
    expired = mapping.parse_hosted({**active, "status": "Expired"})
    assert expired.state is PaymentState.EXPIRED


def test_paid_link_is_as_captured_as_its_payment() -> None:
    session = mapping.parse_hosted(fixture("link_received"), payment=fixture("link_payment"))
    assert session.state is PaymentState.CAPTURED
    assert session.payment_ref == fixture("link_payment")["id"]


def test_declined_attempt_on_an_active_link_is_a_decline() -> None:
    attempt = {**DECLINED_PAYMENT, "reference": "S-20261122-LINK01"}
    decline = mapping.decline_from_actions(DECLINED_ACTIONS)
    session = mapping.parse_hosted(fixture("link_active"), attempts=[attempt], decline=decline)
    assert session.state is PaymentState.DECLINED
    assert session.decline is not None
    assert session.decline.provider_code == "20051"


@pytest.mark.parametrize("status", ["Payment Pending", "Paid", "active", None])
def test_unknown_link_statuses_are_response_invalid(status: object) -> None:
    with pytest.raises(ResponseInvalidError):
        mapping.parse_hosted({**fixture("link_active"), "status": status})


def test_link_status_table_covers_every_documented_status() -> None:
    # nas-spec-2023-10-16: GetPaymentLinkResponse.status.
    assert set(mapping.LINK_STATUS) == {"Active", "Payment Received", "Expired"}


# -- payments ------------------------------------------------------------------------------


def test_payment_found_by_reference_becomes_a_session() -> None:
    session = mapping.parse_payment_session(PAID_PAYMENT)
    assert session.provider_ref == PAID
    assert session.payment_ref == PAID
    assert session.state is PaymentState.CAPTURED
    assert session.decline is None
    assert session.reference == "S-REC-1"
    assert session.hosted_url is None


def test_declined_payment_session_always_carries_a_decline() -> None:
    session = mapping.parse_payment_session(DECLINED_PAYMENT)
    assert session.state is PaymentState.DECLINED
    assert session.decline is not None
    assert session.decline.code is DeclineCode.OTHER


def test_unknown_payment_status_is_response_invalid() -> None:
    with pytest.raises(ResponseInvalidError):
        mapping.payment_status({**PAID_PAYMENT, "status": "Settled-ish"})


def test_payment_list_must_have_data() -> None:
    payload = {"limit": 100, "skip": 0, "total_count": 1, "data": [PAID_PAYMENT]}
    assert mapping.parse_payment_list(payload) == [PAID_PAYMENT]
    bad: Any
    for bad in ({"data": None}, {"data": ["x"]}, [], None):
        with pytest.raises(ResponseInvalidError):
            mapping.parse_payment_list(bad)


def test_approved_authorization_has_no_decline() -> None:
    approved = [{**DECLINED_ACTIONS[0], "approved": True, "response_code": "10000"}]
    assert mapping.decline_from_actions(approved) is None
    assert mapping.decline_from_actions([]) is None
    with pytest.raises(ResponseInvalidError):
        mapping.decline_from_actions({"type": "Authorization"})


def test_status_tables_cover_every_documented_status() -> None:
    # nas-spec-2023-10-16: GetHostedPaymentsResponse.status and PaymentDetails.status.
    assert set(mapping.HPP_STATUS) == {"Payment Pending", "Payment Received", "Expired"}
    assert set(mapping.PAYMENT_STATUS) == {
        "Pending",
        "Authorized",
        "Card Verified",
        "Voided",
        "Partially Captured",
        "Captured",
        "Partially Refunded",
        "Refunded",
        "Declined",
        "Canceled",
        "Expired",
        "Paid",
    }


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("20005", DeclineCode.DECLINED),
        ("20051", DeclineCode.INSUFFICIENT_FUNDS),
        ("20054", DeclineCode.EXPIRED_CARD),
        ("200N7", DeclineCode.INCORRECT_CVC),
        ("20014", DeclineCode.INVALID_CARD),
        ("20059", DeclineCode.FRAUD_SUSPECTED),
        ("20061", DeclineCode.LIMIT_EXCEEDED),
        ("20068", DeclineCode.TRY_AGAIN),
        ("30041", DeclineCode.LOST_OR_STOLEN),
        ("30043", DeclineCode.LOST_OR_STOLEN),
        ("50000", DeclineCode.PROCESSING_ERROR),
        ("20151", DeclineCode.DECLINED),
        ("29999", DeclineCode.OTHER),
        ("", DeclineCode.OTHER),
    ],
)
def test_response_codes_map_onto_our_decline_vocabulary(code: str, expected: DeclineCode) -> None:
    decline = mapping.decline_from(code, "summary")
    assert decline.code is expected
    assert decline.provider_code == code


def test_every_test_card_response_code_is_in_the_table() -> None:
    # PROVIDERS.md §2.8's response-code cards, all of which the sandbox serves.
    for code in ("200N7", "200R3", "20001", "20012", "20014", "20051", "20054", "20057"):
        assert code in mapping.RESPONSE_CODES
    for code in ("20059", "20061", "20062", "20063", "20068", "20078", "20151"):
        assert code in mapping.RESPONSE_CODES
    assert mapping.APPROVED_CODE not in mapping.RESPONSE_CODES


# -- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "mutating", "error"),
    [
        (401, False, AuthenticationError),
        (403, True, InvalidRequestError),
        (404, False, NotFoundError),
        (409, True, IdempotencyConflictError),
        (422, True, InvalidRequestError),
        (429, False, RateLimitedError),
        (500, False, ProviderUnavailableError),
        (502, True, OutcomeUnknownError),
        (503, True, OutcomeUnknownError),
    ],
)
def test_http_errors_map_onto_the_error_tree(status: int, mutating: bool, error: type) -> None:
    mapped = mapping.error_from_response(status, VALIDATION_ERROR, mutating=mutating)
    assert type(mapped) is error
    assert mapped.status == status
    assert mapped.provider == "checkout_com"


def test_validation_errors_name_their_codes_and_request() -> None:
    mapped = mapping.error_from_response(422, VALIDATION_ERROR, mutating=True)
    assert mapped.provider_code == "billing_required"
    assert "billing_required" in mapped.message
    assert "5fe97260-b55d-41f5-aaf0-2ba8430b4801" in mapped.message


def test_concurrent_duplicate_is_an_idempotency_conflict_not_a_rate_limit() -> None:
    body = {
        "request_id": "r",
        "error_type": "request_invalid",
        "error_codes": ["duplicate_request"],
    }
    assert type(mapping.error_from_response(429, body, mutating=True)) is IdempotencyConflictError


def test_error_without_body_still_says_what_happened() -> None:
    mapped = mapping.error_from_response(404, None, mutating=False, request_id="req-9")
    assert isinstance(mapped, NotFoundError)
    assert "HTTP 404" in mapped.message
    assert "req-9" in mapped.message


# -- configuration and limits ----------------------------------------------------------------


def test_incomplete_profile_names_what_is_missing() -> None:
    with pytest.raises(ConfigurationError, match="secret_key, processing_channel_id"):
        CheckoutComProvider(CheckoutComConfig("http://x", "", ""))
    with pytest.raises(ConfigurationError, match="auth_style"):
        CheckoutComConfig("http://x", "sk", "pc", auth_style="basic").check()  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="billing_country"):
        CheckoutComConfig("http://x", "sk", "pc", billing_country="GBR").check()


def test_provider_describes_itself_honestly() -> None:
    provider = CheckoutComProvider(CheckoutComConfig("http://x", "sk", "pc"))
    assert provider.key == "checkout_com"
    assert provider.display_name == "Checkout.com"
    # Everything but the embedded component, which this app has none of for Checkout.com.
    assert provider.capabilities == set(Capability) - {Capability.EMBEDDED_COMPONENT}
    assert provider.limits.currency == "GBP"


@pytest.mark.parametrize(("currency", "minimum"), [("GBP", 1), ("JPY", 1), ("KWD", 10)])
def test_amount_limits_follow_the_currency_exponent(currency: str, minimum: int) -> None:
    limits = amount_limits(currency)
    assert (limits.minimum, limits.maximum) == (minimum, 9_999_999_999)
    assert limits.check(Money(0, currency)) is not None
    assert limits.check(Money(minimum, currency)) is None


def test_unknown_currency_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError):
        amount_limits("XYZ")
