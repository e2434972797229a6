"""ReCharge payloads (recorded from the sandbox's dialect) map onto our types exactly."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

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
from pos_app.providers.recharge import mapping
from pos_app.providers.recharge.mapping import charges
from pos_app.providers.types import (
    ChargeRequest,
    CheckoutRequest,
    DeclineCode,
    PaymentSource,
    SourceKind,
)

# Recorded from the sandbox: POST /checkouts (X-Recharge-Version: 2021-01), then paid.
OPEN_2021_01: dict[str, Any] = {
    "checkout": {
        "token": "539aaf386abf4c55bff8471c2f1c932b",
        "email": "receipts@example.com",
        "phone": None,
        "line_items": [
            {
                "product_id": None,
                "variant_id": None,
                "quantity": 1,
                "price": "17.99",
                "title": "Donut",
                "variant_title": None,
                "sku": None,
                "grams": None,
                "requires_shipping": False,
                "taxable": False,
                "purchase_item_type": "onetime",
                "charge_interval_frequency": None,
                "order_interval_frequency": None,
                "order_interval_unit": None,
                "properties": [],
                "line_price": "17.99",
            }
        ],
        "billing_address": None,
        "shipping_address": None,
        "subtotal_price": "17.99",
        "total_tax": "0.00",
        "total_price": "17.99",
        "tax_lines": [],
        "taxes_included": False,
        "requires_shipping": False,
        "currency": "USD",
        "note": None,
        "buyer_accepts_marketing": False,
        "external_checkout_id": None,
        "external_checkout_source": None,
        "payment_processor": None,
        "payment_processor_customer_id": None,
        "charge_id": None,
        "analytics_data": {"utm_params": []},
        "completed_at": None,
        "created_at": "2026-11-22T02:59:46",
        "updated_at": "2026-11-22T02:59:46",
        "discount_code": None,
        "note_attributes": [{"name": "pos_reference", "value": "S-1"}],
        "shipping_line": None,
        "payment_processor_transaction_id": None,
    }
}
PAID_2021_01: dict[str, Any] = copy.deepcopy(OPEN_2021_01)
PAID_2021_01["checkout"].update(
    payment_processor="stripe",
    payment_processor_customer_id="cus_n46X0ewIYCEbPy",
    charge_id=468000002,
    completed_at="2026-11-22T02:59:46",
    payment_processor_transaction_id="ch_6c8pbfGQhggp74rcTPZjYzPO",
)

# Recorded from the sandbox: the same with X-Recharge-Version: 2021-11.
OPEN_2021_11: dict[str, Any] = {
    "checkout": {
        "token": "2deedd6f5d304f39a563af82edd8177d",
        "email": "receipts@example.com",
        "phone": None,
        "line_items": [
            {
                "external_product_id": {"ecommerce": None},
                "external_variant_id": {"ecommerce": None},
                "quantity": 1,
                "unit_price": "17.99",
                "total_price": "17.99",
                "title": "Donut",
                "variant_title": None,
                "sku": None,
                "weight": None,
                "requires_shipping": False,
                "taxable": False,
                "purchase_item_type": "onetime",
                "subscription_preferences": None,
                "properties": [],
            }
        ],
        "billing_address": None,
        "shipping_address": None,
        "subtotal_price": "17.99",
        "total_tax": "0.00",
        "total_price": "17.99",
        "tax_lines": [],
        "taxes_included": False,
        "requires_shipping": False,
        "currency": "USD",
        "note": None,
        "buyer_accepts_marketing": False,
        "external_checkout_id": None,
        "external_checkout_source": None,
        "payment_processor": None,
        "payment_processor_customer_id": None,
        "charge_id": None,
        "analytics_data": {"utm_params": []},
        "completed_at": None,
        "created_at": "2026-11-22T02:59:46+00:00",
        "updated_at": "2026-11-22T02:59:46+00:00",
        "applied_discounts": [],
        "order_attributes": [{"name": "pos_reference", "value": "S-1"}],
        "applied_shipping_rate": None,
        "external_transaction_id": None,
    }
}
PAID_2021_11: dict[str, Any] = copy.deepcopy(OPEN_2021_11)
PAID_2021_11["checkout"].update(
    payment_processor="stripe",
    payment_processor_customer_id="cus_pKQmPqR9gbjuZ2",
    charge_id=468000004,
    completed_at="2026-11-22T02:59:46+00:00",
    external_transaction_id="ch_DUJgJIcvqa6GafubrpYrxuxy",
)

RECORDED = {
    "2021-01": (OPEN_2021_01, PAID_2021_01),
    "2021-11": (OPEN_2021_11, PAID_2021_11),
}
VERSIONS = list(RECORDED)


def parse(payload: dict[str, Any], version: str, expected: Money | None = None) -> Any:
    return mapping.parse_checkout(
        mapping.unwrap(copy.deepcopy(payload)),
        version=version,
        currency="USD",
        hosted_url="https://pay/x",
        expected=expected,
    )


def with_amount(payload: dict[str, Any], version: str, amount: str) -> dict[str, Any]:
    changed = copy.deepcopy(payload)
    data = changed["checkout"]
    data["line_items"][0][mapping.price_key(version)] = amount
    data["subtotal_price"] = data["total_price"] = amount
    return changed


@pytest.mark.parametrize("version", VERSIONS)
def test_open_checkout_waits_for_the_customer(version: str) -> None:
    session = parse(RECORDED[version][0], version, expected=Money(1799, "USD"))
    assert session.state is PaymentState.PENDING
    assert session.provider_status == "open"
    assert session.amount == Money(1799, "USD")
    assert session.reference == "S-1"
    assert session.payment_ref is None
    assert session.attempts == 0
    assert session.hosted_url == "https://pay/x"
    assert session.expires_at is None


@pytest.mark.parametrize("version", VERSIONS)
def test_completed_checkout_is_captured_with_its_charge(version: str) -> None:
    session = parse(RECORDED[version][1], version)
    assert session.state is PaymentState.CAPTURED
    assert session.provider_status == "completed"
    # The charged checkout is the payment: its token is what get_payment looks up.
    assert session.payment_ref == RECORDED[version][1]["checkout"]["token"]
    assert session.card is None  # a ReCharge checkout carries no card details


def test_a_payload_in_the_other_versions_shape_is_response_invalid() -> None:
    # A 2021-11 reader finds no unit_price in a 2021-01 line item: never a silent zero.
    with pytest.raises(ResponseInvalidError, match="unit_price"):
        parse(OPEN_2021_01, "2021-11")
    with pytest.raises(ResponseInvalidError, match="price"):
        parse(OPEN_2021_11, "2021-01")


def test_the_reference_is_read_from_the_versions_own_attribute_list() -> None:
    payload = copy.deepcopy(OPEN_2021_11)
    payload["checkout"]["note_attributes"] = payload["checkout"].pop("order_attributes")
    assert parse(payload, "2021-11").reference is None
    payload["checkout"]["order_attributes"] = "S-1"
    with pytest.raises(ResponseInvalidError):
        parse(payload, "2021-11")


@pytest.mark.parametrize(
    ("text", "minor"),
    [("0.10", 10), ("1234.56", 123456), ("0.01", 1), ("17.90", 1790), ("5", 500), ("5.5", 550)],
)
@pytest.mark.parametrize("version", VERSIONS)
def test_decimal_strings_convert_exactly(version: str, text: str, minor: int) -> None:
    session = parse(with_amount(RECORDED[version][0], version, text), version)
    assert session.amount == Money(minor, "USD")


@pytest.mark.parametrize(
    ("minor", "text"), [(10, "0.10"), (123456, "1234.56"), (1, "0.01"), (100, "1.00")]
)
def test_money_becomes_an_exact_decimal_string(minor: int, text: str) -> None:
    assert mapping.decimal_string(Money(minor, "USD")) == text


@pytest.mark.parametrize(
    "value",
    ["17.999", "17.991", 17.99, 1799, "-1.00", "+1.00", "1e3", "NaN", " 1.00", "1,000.00", "01.00"],
)
def test_amounts_that_are_not_exact_decimal_strings_are_response_invalid(value: object) -> None:
    with pytest.raises(ResponseInvalidError):
        mapping.money_from(value, "USD", "total_price")


@pytest.mark.parametrize("version", VERSIONS)
def test_total_that_disagrees_with_the_request_is_an_error_not_a_success(version: str) -> None:
    with pytest.raises(ResponseInvalidError, match=r"not the 18\.00 USD"):
        parse(RECORDED[version][0], version, expected=Money(1800, "USD"))


@pytest.mark.parametrize("version", VERSIONS)
def test_a_checkout_in_another_real_currency_is_reported_as_it_is(version: str) -> None:
    """Not refused here: PaymentService holds it against the sale and flags it."""
    payload = copy.deepcopy(RECORDED[version][0])
    payload["checkout"]["currency"] = "EUR"
    assert parse(payload, version).amount.currency == "EUR"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("token", None),
        ("currency", "EURO"),  # not a currency at all
        ("total_price", "18.00"),  # does not add up from the line items
        ("subtotal_price", "17.98"),
        ("total_tax", "1.00"),  # tax not in the total
        ("total_price", None),
        ("line_items", []),
        ("line_items", "Donut"),
        ("completed_at", "2026-11-22T02:59:46"),  # completed without a charge
        ("charge_id", 468000009),  # charged but not completed
        ("charge_id", True),
        ("taxes_included", "no"),
    ],
)
@pytest.mark.parametrize("version", VERSIONS)
def test_malformed_checkouts_are_response_invalid(version: str, field: str, value: object) -> None:
    payload = copy.deepcopy(RECORDED[version][0])
    payload["checkout"][field] = value
    with pytest.raises(ResponseInvalidError):
        parse(payload, version)


@pytest.mark.parametrize("version", VERSIONS)
def test_bad_line_items_are_response_invalid(version: str) -> None:
    payload = copy.deepcopy(RECORDED[version][0])
    payload["checkout"]["line_items"][0]["quantity"] = 0
    with pytest.raises(ResponseInvalidError):
        parse(payload, version)
    payload = copy.deepcopy(RECORDED[version][0])
    del payload["checkout"]["line_items"][0][mapping.price_key(version)]
    with pytest.raises(ResponseInvalidError):
        parse(payload, version)


def test_shipping_and_tax_are_added_up_when_present() -> None:
    payload = copy.deepcopy(OPEN_2021_11)
    data = payload["checkout"]
    data["applied_shipping_rate"] = {"handle": "std", "price": "5.00"}
    data["total_tax"] = "1.01"
    data["total_price"] = "24.00"
    assert parse(payload, "2021-11").amount == Money(2400, "USD")
    data["taxes_included"] = True
    with pytest.raises(ResponseInvalidError):
        parse(payload, "2021-11")


@pytest.mark.parametrize("payload", [{"checkouts": []}, {"checkout": []}, "<html>", None])
def test_answers_without_a_checkout_are_response_invalid(payload: object) -> None:
    with pytest.raises(ResponseInvalidError):
        mapping.unwrap(payload)


def test_state_table_covers_every_combination() -> None:
    assert set(mapping.CHECKOUT_STATE) == {(a, b) for a in (False, True) for b in (False, True)}


def request() -> CheckoutRequest:
    return CheckoutRequest(
        reference="S-20261122-ABC123",
        amount=Money(10, "USD"),
        description="Gum",
        idempotency_key="k",
    )


def test_2021_01_body_uses_price_and_note_attributes() -> None:
    body = mapping.build_checkout_body(request(), version="2021-01", email="till@shop.example")
    assert body == {
        "line_items": [
            {
                "title": "Gum",
                "price": "0.10",
                "quantity": 1,
                "requires_shipping": False,
                "taxable": False,
            }
        ],
        "currency": "USD",
        "note_attributes": [{"name": "pos_reference", "value": "S-20261122-ABC123"}],
        "email": "till@shop.example",
    }


def test_2021_11_body_uses_unit_price_and_order_attributes() -> None:
    body = mapping.build_checkout_body(request(), version="2021-11", email=None)
    assert body == {
        "line_items": [
            {
                "title": "Gum",
                "unit_price": "0.10",
                "quantity": 1,
                "requires_shipping": False,
                "taxable": False,
                "purchase_item_type": "onetime",
            }
        ],
        "currency": "USD",
        "order_attributes": [{"name": "pos_reference", "value": "S-20261122-ABC123"}],
    }


@pytest.mark.parametrize(
    ("status", "mutating", "error"),
    [
        (401, False, AuthenticationError),
        (403, False, AuthenticationError),
        (404, False, NotFoundError),
        (422, True, InvalidRequestError),
        (402, True, InvalidRequestError),
        (415, True, InvalidRequestError),
        (426, False, ConfigurationError),
        (429, True, RateLimitedError),
        (500, False, ProviderUnavailableError),
        (500, True, OutcomeUnknownError),
        (503, True, OutcomeUnknownError),
    ],
)
def test_http_errors_map_onto_the_error_tree(status: int, mutating: bool, error: type) -> None:
    mapped = mapping.error_from_response(
        status, {"errors": "Something specific"}, mutating=mutating
    )
    assert type(mapped) is error
    assert mapped.message == "Something specific"
    assert mapped.status == status


def test_field_errors_keep_their_messages() -> None:
    body = {"errors": {"line_items[0].price": ["must have at most 2 decimal places"]}}
    mapped = mapping.error_from_response(422, body, mutating=True)
    assert isinstance(mapped, InvalidRequestError)
    assert mapped.message == "line_items[0].price: must have at most 2 decimal places"
    assert mapped.provider_code == "line_items[0].price"


def test_singular_error_and_missing_bodies() -> None:
    mapped = mapping.error_from_response(404, {"error": "Not found"}, mutating=False)
    assert isinstance(mapped, NotFoundError)
    assert mapped.message == "Not found"
    assert "HTTP 502" in mapping.error_from_response(502, None, mutating=False).message
    assert "HTTP 400" in mapping.error_from_response(400, {"errors": {}}, mutating=True).message


@pytest.mark.parametrize(
    ("header", "parsed"),
    [("12/40", (12, 40)), (" 40 / 40 ", (40, 40)), ("x/40", None), ("1/0", None), (None, None)],
)
def test_rate_limit_header(header: str | None, parsed: tuple[int, int] | None) -> None:
    assert mapping.parse_rate_limit(header) == parsed


def test_rate_limit_delay_prefers_retry_after_then_the_bucket() -> None:
    assert mapping.rate_limit_delay("3", (40, 40)) == 3.0
    assert mapping.rate_limit_delay(None, (40, 40)) == 0.5
    assert mapping.rate_limit_delay("soon", (44, 40)) == 2.5
    assert mapping.rate_limit_delay(None, None) == mapping.DEFAULT_RATE_LIMIT_WAIT


# -- charges (recorded from the sandbox: POST /checkouts/{token}/charge) ---------------------

CHARGED: dict[str, Any] = {
    "checkout_charge": {
        "charge_id": 468000002,
        "free": False,
        "payment_processor": "stripe",
        "payment_token": "tok_visa",
        "payment_type": "CREDIT_CARD",
        "processor_customer_token": "cus_TzKYC69fDWKmtL",
        "processor_payment_method_token": "pm_JJ78h84Zjcskz01youIXvhcg",
        "payment_processor_transaction_id": "ch_yPo1K3hiCp58CtMZQ9RFw8F3",
        "authorization_token": None,
        "status": "success",
    }
}
DECLINED_402: dict[str, Any] = {"errors": "Your card has insufficient funds."}


def test_charge_body_is_the_documented_unwrapped_form() -> None:
    body = charges.build_charge_body("tok_visa", processor="stripe", payment_type="CREDIT_CARD")
    assert body == {
        "payment_processor": "stripe",
        "payment_token": "tok_visa",
        "payment_type": "CREDIT_CARD",
    }


def test_a_successful_charge_names_its_charge() -> None:
    assert charges.parse_charge(copy.deepcopy(CHARGED)) == "468000002"


def test_charge_status_table_is_what_recharge_answers_with_200() -> None:
    assert set(charges.CHARGE_STATUS) == {"success"}
    assert charges.CHARGE_STATUS["success"] is PaymentState.CAPTURED


@pytest.mark.parametrize(
    "change",
    [
        {"status": "pending"},  # no published status list: never guessed as success
        {"status": None},
        {"charge_id": None},
        {"charge_id": True},
        {"charge_id": ""},
    ],
)
def test_malformed_charge_answers_are_response_invalid(change: dict[str, Any]) -> None:
    payload = copy.deepcopy(CHARGED)
    payload["checkout_charge"].update(change)
    with pytest.raises(ResponseInvalidError):
        charges.parse_charge(payload)


@pytest.mark.parametrize("payload", [{"checkout": {}}, {"checkout_charge": []}, [], "ok", None])
def test_charge_answers_without_a_checkout_charge_are_response_invalid(payload: object) -> None:
    with pytest.raises(ResponseInvalidError):
        charges.parse_charge(payload)


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ("Your card was declined.", DeclineCode.DECLINED),
        ("Your card has insufficient funds.", DeclineCode.INSUFFICIENT_FUNDS),
        ("Your card has expired.", DeclineCode.EXPIRED_CARD),
        ("Your card's security code is invalid.", DeclineCode.INCORRECT_CVC),
        ("Your card has been reported lost.", DeclineCode.LOST_OR_STOLEN),
        ("Your card has been reported stolen.", DeclineCode.LOST_OR_STOLEN),
        ("Do not honor", DeclineCode.DECLINED),  # unknown text: a plain decline
    ],
)
def test_decline_messages_map_to_our_codes(message: str, code: DeclineCode) -> None:
    decline = charges.decline_from({"errors": message})
    assert decline.code is code
    assert decline.provider_message == message


def test_a_402_without_a_body_is_still_a_decline() -> None:
    decline = charges.decline_from(None)
    assert decline.code is DeclineCode.DECLINED
    assert decline.provider_code == "402"


def test_a_declined_charge_is_data_with_nothing_taken() -> None:
    asked = ChargeRequest(
        reference="S-1",
        amount=Money(1799, "USD"),
        description="Donut",
        idempotency_key="k",
        source=PaymentSource(SourceKind.TOKEN, "tok_chargeDeclinedInsufficientFunds"),
        checkout_ref="tok",
    )
    payment = charges.declined_payment(asked, "tok", charges.decline_from(DECLINED_402))
    assert payment.state is PaymentState.DECLINED
    assert payment.provider_ref == "tok"
    assert payment.reference == "S-1"
    assert payment.captured == Money(0, "USD")
    assert payment.amount == Money(1799, "USD")
    assert payment.decline is not None
    assert payment.decline.code is DeclineCode.INSUFFICIENT_FUNDS


@pytest.mark.parametrize("version", VERSIONS)
def test_an_open_checkout_is_a_pending_payment(version: str) -> None:
    data = mapping.unwrap(copy.deepcopy(RECORDED[version][0]))
    payment = charges.payment_from_checkout(data, version=version, currency="USD")
    assert payment.state is PaymentState.PENDING
    assert payment.provider_status == "open"
    assert payment.provider_ref == data["token"]
    assert payment.amount == Money(1799, "USD")
    assert payment.captured == Money(0, "USD")
    assert payment.reference == "S-1"
    assert payment.actions == ()
    assert payment.created_at == datetime(2026, 11, 22, 2, 59, 46, tzinfo=UTC)


@pytest.mark.parametrize("version", VERSIONS)
def test_a_charged_checkout_is_a_captured_payment_with_its_charge(version: str) -> None:
    data = mapping.unwrap(copy.deepcopy(RECORDED[version][1]))
    payment = charges.payment_from_checkout(
        data, version=version, currency="USD", expected=Money(1799, "USD")
    )
    assert payment.state is PaymentState.CAPTURED
    assert payment.provider_status == "completed"
    assert payment.captured == Money(1799, "USD")
    assert payment.refunded == Money(0, "USD")
    [action] = payment.actions
    assert action.kind == "charge"
    assert action.provider_ref == str(data["charge_id"])
    assert action.amount == Money(1799, "USD")
    assert action.approved
    assert action.at == datetime(2026, 11, 22, 2, 59, 46, tzinfo=UTC)
    assert charges.charge_id_of(payment) == str(data["charge_id"])


@pytest.mark.parametrize("version", VERSIONS)
def test_a_payment_for_another_amount_is_response_invalid(version: str) -> None:
    data = mapping.unwrap(copy.deepcopy(RECORDED[version][1]))
    with pytest.raises(ResponseInvalidError):
        charges.payment_from_checkout(
            data, version=version, currency="USD", expected=Money(1800, "USD")
        )


@pytest.mark.parametrize(("field", "value"), [("created_at", "today"), ("completed_at", 5)])
def test_payments_with_unreadable_times_are_response_invalid(field: str, value: object) -> None:
    data = mapping.unwrap(copy.deepcopy(PAID_2021_11))
    data[field] = value
    with pytest.raises(ResponseInvalidError):
        charges.payment_from_checkout(data, version="2021-11", currency="USD")
