"""Checkout.com payments map onto our types exactly: spec examples and payloads recorded from
the sandbox (tests/fixtures/checkout_com), one for every documented payment status."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from pos_app.domain.money import Money
from pos_app.domain.payment import PaymentState
from pos_app.providers.checkout_com.mapping import payments as pm
from pos_app.providers.errors import InvalidRequestError, ResponseInvalidError
from pos_app.providers.types import (
    ChargeRequest,
    Decline,
    DeclineCode,
    PaymentSource,
    RefundRequest,
    SourceKind,
)

FIXTURES = Path(__file__).parents[1] / "fixtures" / "checkout_com"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def gbp(minor: int) -> Money:
    return Money(minor, "GBP")


def charge_request(**changes: Any) -> ChargeRequest:
    fields: dict[str, Any] = {
        "reference": "S-20261122-REC001",
        "amount": gbp(1799),
        "description": "Two coffees",
        "idempotency_key": "key-1",
        "source": PaymentSource(SourceKind.TOKEN, "tok_abc"),
        **changes,
    }
    return ChargeRequest(**fields)


# -- requests ------------------------------------------------------------------------------


def test_payment_body_carries_minor_units_channel_reference_and_capture() -> None:
    body = pm.build_payment_body(charge_request(capture=False), processing_channel_id="pc_1")
    assert body == {
        "source": {"type": "token", "token": "tok_abc"},
        "amount": 1799,
        "currency": "GBP",
        "payment_type": "Regular",
        "capture": False,
        "reference": "S-20261122-REC001",
        "description": "Two coffees",
        "processing_channel_id": "pc_1",
    }


@pytest.mark.parametrize(
    ("kind", "value", "source"),
    [
        (SourceKind.TOKEN, "tok_1", {"type": "token", "token": "tok_1"}),
        (SourceKind.STORED_SOURCE, "src_1", {"type": "id", "id": "src_1"}),
        (SourceKind.CUSTOMER, "cus_1", {"type": "customer", "id": "cus_1"}),
    ],
)
def test_each_kind_of_source_has_its_own_shape(
    kind: SourceKind, value: str, source: dict[str, str]
) -> None:
    assert pm.source_body(PaymentSource(kind, value)) == source


def test_a_return_url_asks_for_3ds_and_derives_the_failure_url() -> None:
    body = pm.build_payment_body(
        charge_request(success_url="https://pos.invalid/back?sale=1"), processing_channel_id="pc"
    )
    assert body["3ds"] == {"enabled": True}
    assert body["success_url"] == "https://pos.invalid/back?sale=1"
    assert body["failure_url"] == "https://pos.invalid/back?sale=1&outcome=failure"


def test_a_reference_longer_than_the_api_takes_is_refused_before_sending() -> None:
    with pytest.raises(InvalidRequestError):
        pm.build_payment_body(charge_request(reference="S" * 51), processing_channel_id="pc")
    with pytest.raises(InvalidRequestError):
        pm.refund_body(RefundRequest("pay_1", gbp(1), "", "k", "R" * 51))


def test_action_bodies() -> None:
    assert pm.capture_body(None, final=True) == {"capture_type": "Final"}
    assert pm.capture_body(500, final=False) == {"capture_type": "NonFinal", "amount": 500}
    assert pm.refund_body(RefundRequest("pay_1", gbp(500), "", "k", "R-1")) == {
        "amount": 500,
        "reference": "R-1",
    }
    assert pm.void_body("") == {}
    assert pm.void_body("left") == {"metadata": {"reason": "left"}}


# -- every documented status ---------------------------------------------------------------

RECORDED = [
    ("details_pending", "Pending", PaymentState.REQUIRES_ACTION, 0, 0),
    ("details_authorized", "Authorized", PaymentState.AUTHORIZED, 0, 0),
    ("details_partially_captured", "Partially Captured", PaymentState.PARTIALLY_CAPTURED, 1000, 0),
    ("details_captured", "Captured", PaymentState.CAPTURED, 1799, 0),
    (
        "details_partially_refunded",
        "Partially Refunded",
        PaymentState.PARTIALLY_REFUNDED,
        1799,
        500,
    ),
    ("details_refunded", "Refunded", PaymentState.REFUNDED, 1799, 1799),
    ("details_voided", "Voided", PaymentState.VOIDED, 0, 0),
    ("details_declined", "Declined", PaymentState.DECLINED, 0, 0),
    ("details_card_verified", "Card Verified", PaymentState.FAILED, 0, 0),
]


@pytest.mark.parametrize(("name", "status", "state", "captured", "refunded"), RECORDED)
def test_recorded_payment_statuses(
    name: str, status: str, state: PaymentState, captured: int, refunded: int
) -> None:
    payment = pm.parse_payment(fixture(name))
    assert payment.provider_status == status
    assert payment.state is state
    assert (payment.captured, payment.refunded) == (gbp(captured), gbp(refunded))
    assert payment.provider_ref.startswith("pay_")
    assert payment.created_at is not None
    assert (payment.decline is not None) == (state is PaymentState.DECLINED)
    assert (payment.action_url is not None) == (state is PaymentState.REQUIRES_ACTION)


@pytest.mark.parametrize(
    ("status", "state"),
    [
        ("Canceled", PaymentState.VOIDED),
        ("Expired", PaymentState.EXPIRED),
        ("Paid", PaymentState.CAPTURED),
    ],
)
def test_statuses_the_sandbox_does_not_produce(status: str, state: PaymentState) -> None:
    # Scheduled-retry cancellations, lapsed authorizations and settled APMs: same body shape.
    data = {**fixture("details_authorized"), "status": status}
    data["balances"] = {**data["balances"], "available_to_capture": 0, "available_to_void": 0}
    if status == "Paid":
        data["balances"] = {**data["balances"], "total_captured": 1799, "available_to_refund": 1799}
    assert pm.parse_payment(data).state is state


def test_every_documented_status_is_covered_here() -> None:
    covered = {row[1] for row in RECORDED} | {"Canceled", "Expired", "Paid"}
    from pos_app.providers.checkout_com.mapping import PAYMENT_STATUS

    assert covered == set(PAYMENT_STATUS)


def test_pending_payment_without_a_redirect_is_only_pending() -> None:
    data = copy.deepcopy(fixture("details_pending"))
    del data["_links"]["redirect"]
    payment = pm.parse_payment(data)
    assert payment.state is PaymentState.PENDING
    assert payment.action_url is None
    links: Any
    for links in ([], {"redirect": {"href": "ftp://x/3ds"}}, {"redirect": "http://x/3ds"}):
        with pytest.raises(ResponseInvalidError):
            pm.parse_payment({**data, "_links": links})


# -- charge answers ------------------------------------------------------------------------


def test_approved_201_is_the_amount_asked_with_its_card() -> None:
    payment = pm.parse_payment(
        fixture("payment_201_authorized"), expected=gbp(1799), reference="S-20261122-REC001"
    )
    assert payment.state is PaymentState.AUTHORIZED
    assert payment.amount == gbp(1799)
    assert payment.captured == gbp(0)
    assert payment.card is not None
    assert (payment.card.brand, payment.card.last4) == (
        "VISA",
        "4242",
    )
    assert payment.decline is None


def test_declined_201_carries_its_response_code_as_data() -> None:
    payment = pm.parse_payment(fixture("payment_201_declined"))
    assert payment.state is PaymentState.DECLINED
    assert payment.decline == Decline(DeclineCode.INSUFFICIENT_FUNDS, "20051", "Insufficient Funds")


def test_declined_details_take_the_decline_from_the_actions() -> None:
    payment = pm.parse_payment(fixture("details_declined"), actions=fixture("actions_declined"))
    assert payment.decline is not None
    assert payment.decline.provider_code == "20051"
    assert pm.parse_payment(fixture("details_declined")).decline == Decline(
        DeclineCode.OTHER, "", ""
    )


def test_accepted_202_names_the_page_to_send_the_customer_to() -> None:
    payload = fixture("payment_202_pending")
    payment_id, href = pm.parse_accepted(payload, reference="S-20261122-REC004")
    assert payment_id == payload["id"]
    assert href == payload["_links"]["redirect"]["href"]


def test_accepted_202_without_a_redirect_is_still_processing() -> None:
    payload = {**fixture("payment_202_pending"), "_links": {"self": {"href": "http://x/p"}}}
    assert pm.parse_accepted(payload, reference="S-20261122-REC004") == (payload["id"], None)


@pytest.mark.parametrize(
    "change",
    [
        {"status": "Authorized"},
        {"reference": "S-OTHER"},
        {"_links": {"redirect": {"href": "javascript:alert(1)"}}},
        {"id": "sid_abc"},
    ],
)
def test_malformed_202s_are_response_invalid(change: dict[str, Any]) -> None:
    with pytest.raises(ResponseInvalidError):
        pm.parse_accepted(
            {**fixture("payment_202_pending"), **change}, reference="S-20261122-REC004"
        )


def test_action_202s_give_their_action_id() -> None:
    for name in ("capture_202", "refund_202", "void_202"):
        assert pm.parse_action_accepted(fixture(name)).startswith("act_")
    bad: Any
    for bad in ({}, {"action_id": "pay_x"}, {"action_id": 5}, []):
        with pytest.raises(ResponseInvalidError):
            pm.parse_action_accepted(bad)


# -- actions and balances ------------------------------------------------------------------


def test_actions_become_our_history_oldest_first() -> None:
    payment = pm.parse_payment(fixture("details_refunded"), actions=fixture("actions_refunded"))
    assert [(a.kind, a.amount.minor, a.approved) for a in payment.actions] == [
        ("authorization", 1799, True),
        ("capture", 1000, True),
        ("capture", 799, True),
        ("refund", 500, True),
        ("refund", 1299, True),
    ]
    assert payment.actions[-1].note == "R-20261122-2"  # our refund reference
    assert all(a.at is not None for a in payment.actions)


def test_spec_example_without_balances_reads_totals_from_the_actions() -> None:
    example = {**fixture("spec_payment_201"), "status": "Partially Refunded"}
    payment = pm.parse_payment(example, actions=fixture("spec_actions"))
    assert payment.state is PaymentState.PARTIALLY_REFUNDED
    assert payment.amount == Money(6540, "USD")
    assert (payment.captured, payment.refunded) == (Money(6540, "USD"), Money(1000, "USD"))
    assert [a.kind for a in payment.actions] == ["authorization", "capture", "refund"]


def test_spec_example_201_is_an_authorization() -> None:
    payment = pm.parse_payment(fixture("spec_payment_201"), expected=Money(6540, "USD"))
    assert payment.state is PaymentState.AUTHORIZED
    assert payment.card is not None
    assert payment.card.last4 == "4242"


def test_money_taken_without_balances_or_actions_is_not_trusted() -> None:
    example = {**fixture("spec_payment_201"), "status": "Captured"}
    with pytest.raises(ResponseInvalidError, match="no balances"):
        pm.parse_payment(example)


def test_balances_decide_what_may_be_captured_refunded_or_voided() -> None:
    authorized, held = pm.read_payment(fixture("details_authorized"))
    assert pm.capture_amount(authorized, held, None) == 1799
    assert pm.capture_amount(authorized, held, gbp(1799)) == 1799
    pm.check_void(authorized, held)
    with pytest.raises(InvalidRequestError):
        pm.capture_amount(authorized, held, gbp(1800))
    with pytest.raises(InvalidRequestError):
        pm.capture_amount(authorized, held, Money(100, "EUR"))
    with pytest.raises(InvalidRequestError):
        pm.check_refund(authorized, held, gbp(1))

    partly, left = pm.read_payment(fixture("details_partially_refunded"))
    pm.check_refund(partly, left, gbp(1299))
    with pytest.raises(InvalidRequestError):
        pm.check_refund(partly, left, gbp(1300))
    with pytest.raises(InvalidRequestError):
        pm.check_void(partly, left)
    with pytest.raises(InvalidRequestError):
        pm.capture_amount(partly, left, None)


# -- malformed bodies ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("status",), "Settled-ish"),
        (("status",), None),
        (("id",), "hpp_abc"),
        (("id",), None),
        (("amount",), "17.99"),
        (("amount",), 17.99),
        (("amount",), True),
        (("currency",), "gbp"),
        (("currency",), "XYZ"),
        (("reference",), 12),
        (("requested_on",), "yesterday"),
        (("balances",), "all of it"),
        (("balances", "total_captured"), -1),
        (("balances", "total_captured"), 1799.0),
        (("balances", "total_refunded"), 1800),  # more refunded than captured
        (("balances", "total_captured"), 1800),  # more captured than paid
        (("balances", "available_to_refund"), 1800),
    ],
)
def test_malformed_payments_are_response_invalid(path: tuple[str, ...], value: Any) -> None:
    data = copy.deepcopy(fixture("details_partially_refunded"))
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(ResponseInvalidError):
        pm.parse_payment(data)


@pytest.mark.parametrize("payload", [None, [], "Captured", 7])
def test_payments_that_are_not_objects_are_response_invalid(payload: Any) -> None:
    with pytest.raises(ResponseInvalidError):
        pm.parse_payment(payload)


def test_a_payment_for_another_amount_or_sale_is_an_error_not_a_success() -> None:
    with pytest.raises(ResponseInvalidError, match=r"not the 18\.00 GBP"):
        pm.parse_payment(fixture("payment_201_authorized"), expected=gbp(1800))
    with pytest.raises(ResponseInvalidError, match="another sale"):
        pm.parse_payment(fixture("payment_201_authorized"), reference="S-OTHER")


@pytest.mark.parametrize(
    "actions",
    [
        {"type": "Capture"},
        [{"id": "act_1", "type": "Capture", "amount": 100}],  # approved missing
        [{"id": "act_1", "type": "Capture", "amount": "1.00", "approved": True}],
        [{"id": "act_1", "amount": 100, "approved": True}],
        [{"id": "act_1", "type": "Capture", "amount": 100, "approved": True, "processed_on": 5}],
        ["act_1"],
    ],
)
def test_malformed_actions_are_response_invalid(actions: Any) -> None:
    with pytest.raises(ResponseInvalidError):
        pm.parse_payment(fixture("details_captured"), actions=actions)
