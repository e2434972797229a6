"""The sandbox's Checkout.com dialect, over real loopback HTTP, as a client (or a shopper) sees it.

Responses are checked against the NAS OpenAPI spec (2023-10-16) in the shared provider-specs
directory beside the repository (``POS_PROVIDER_SPECS`` overrides it); a missing spec fails
the tests that need it.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jsonschema
import pytest

from pos_sandbox.checkout_com.api import (
    SANDBOX_PROCESSING_CHANNEL,
    SANDBOX_PUBLIC_KEY,
    SANDBOX_SECRET_KEY,
)
from pos_sandbox.checkout_com.cards import TEST_CARDS, response_summary
from pos_sandbox.checkout_com.pages import THREEDS_SANDBOX_CODE
from pos_sandbox.credentials import WEBHOOK_SECRETS
from tests.specs import provider_spec

if TYPE_CHECKING:
    from pos_sandbox.server import SandboxServer

API = "/checkout-com"
NAS = {"Authorization": f"Bearer {SANDBOX_SECRET_KEY}"}
ABC = {"Authorization": SANDBOX_SECRET_KEY}
PUBLIC = {"Authorization": f"Bearer {SANDBOX_PUBLIC_KEY}"}
APPROVE = "4242424242424242"
INSUFFICIENT_FUNDS = "4544249167673670"
NAS_SPEC_NAME = "checkout-com/nas-spec-2023-10-16.assembled.json"
DAY = 24 * 3600


# -- helpers -------------------------------------------------------------------------------


def tokenize(client: httpx.Client, number: str = APPROVE, **card: Any) -> httpx.Response:
    cvv = "1000" if number.startswith(("34", "37")) else "100"
    body = {
        "type": "card",
        "number": number,
        "expiry_month": 12,
        "expiry_year": 2040,
        "cvv": cvv,
        "name": "Bruce Wayne",
        **card,
    }
    return client.post(f"{API}/tokens", json=body, headers=PUBLIC)


def card_token(client: httpx.Client, number: str = APPROVE) -> str:
    response = tokenize(client, number)
    assert response.status_code == 201, response.text
    return str(response.json()["token"])


def pay(
    client: httpx.Client,
    number: str = APPROVE,
    *,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> httpx.Response:
    body = {
        "source": {"type": "token", "token": card_token(client, number)},
        "amount": 1799,
        "currency": "GBP",
        "reference": "ORD-1",
        "processing_channel_id": SANDBOX_PROCESSING_CHANNEL,
        **extra,
    }
    return client.post(f"{API}/payments", json=body, headers=headers or NAS)


def get_payment(client: httpx.Client, payment_id: str) -> dict[str, Any]:
    response = client.get(f"{API}/payments/{payment_id}", headers=NAS)
    assert response.status_code == 200, response.text
    return dict(response.json())


def error_codes(response: httpx.Response) -> list[str]:
    body = response.json()
    assert set(body) == {"request_id", "error_type", "error_codes"}
    assert body["request_id"] == response.headers["cko-request-id"]
    return list(body["error_codes"])


def advance_clock(client: httpx.Client, seconds: float) -> None:
    assert client.post("/_sandbox/clock/advance", json={"seconds": seconds}).status_code == 200


def webhooks(client: httpx.Client) -> list[dict[str, Any]]:
    response = client.get("/_sandbox/webhooks", params={"provider": "checkout_com"})
    assert response.status_code == 200
    return list(response.json()["data"])


def form_action(page: str, form_id: str) -> str:
    match = re.search(rf'<form id="{form_id}" method="post" action="([^"]+)"', page)
    assert match, page
    return match.group(1)


# -- schema validation against the NAS spec ------------------------------------------------


@cache
def _spec() -> dict[str, Any]:
    spec = json.loads(provider_spec(NAS_SPEC_NAME).read_text(encoding="utf-8"))
    # Spec defect: PaymentResponseBalances says required ["id"] but has no "id" property (and
    # neither the docs' examples nor the SDK have one); the real balances carry no id.
    spec["components"]["schemas"]["PaymentResponseBalances"].pop("required", None)
    return dict(spec)


def assert_schema(instance: Any, schema_name: str) -> None:
    root = {"$ref": f"#/components/schemas/{schema_name}", "components": _spec()["components"]}
    jsonschema.Draft7Validator(root).validate(copy.deepcopy(instance))


def assert_card_source(source: dict[str, Any]) -> None:
    assert source["type"] == "card"
    assert_schema(source, "01_PaymentResponseCardSource")


# -- authentication ------------------------------------------------------------------------


def test_secret_key_works_as_bearer_nas_and_raw_abc(client: httpx.Client) -> None:
    nas = pay(client, headers=NAS)
    abc = pay(client, headers=ABC)

    assert nas.status_code == abc.status_code == 201
    assert nas.json()["approved"] is abc.json()["approved"] is True
    assert get_payment(client, abc.json()["id"])["id"] == abc.json()["id"]
    assert client.get(f"{API}/payments/{nas.json()['id']}", headers=ABC).status_code == 200


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer sk_sbox_aaaaaaaaaaaaaaaaaaaaaaaaaaa",
        f"Bearer {SANDBOX_PUBLIC_KEY}",
        f"Basic {SANDBOX_SECRET_KEY}",
        "Bearer",
    ],
)
def test_payments_refuse_a_missing_or_wrong_key_with_an_empty_401(
    client: httpx.Client, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = client.post(f"{API}/payments", json={"currency": "GBP"}, headers=headers)

    assert response.status_code == 401
    assert response.content == b""
    assert response.headers["cko-request-id"]
    assert client.get(f"{API}/payments", headers=headers).status_code == 401


def test_tokens_take_only_the_public_key(client: httpx.Client) -> None:
    body = {"type": "card", "number": APPROVE, "expiry_month": 12, "expiry_year": 2040}
    assert client.post(f"{API}/tokens", json=body, headers=NAS).status_code == 401
    assert client.post(f"{API}/tokens", json=body).status_code == 401
    raw = client.post(f"{API}/tokens", json=body, headers={"Authorization": SANDBOX_PUBLIC_KEY})
    assert raw.status_code == 201


# -- tokens and payments -------------------------------------------------------------------


def test_token_looks_like_frames_tokens(client: httpx.Client) -> None:
    response = tokenize(client, "4543474002249996", cvv="956")

    assert response.status_code == 201
    body = response.json()
    assert re.fullmatch(r"tok_[a-z2-7]{26}", body["token"])
    assert body["type"] == "card"
    assert (body["bin"], body["last4"], body["scheme"]) == ("454347", "9996", "VISA")
    assert (body["expiry_month"], body["expiry_year"]) == (12, 2040)
    assert body["expires_on"].endswith("Z")
    assert_schema(body, "TokenResponse")
    assert_schema(body, "01_CardTokenResponse")


@pytest.mark.parametrize(
    ("card", "code"),
    [
        ({"number": "4242424242424241"}, "card_number_invalid"),
        ({"number": None}, "card_number_required"),
        ({"expiry_month": 13}, "card_expiry_month_invalid"),
        ({"expiry_year": 2001}, "card_expired"),
        ({"cvv": "12"}, "cvv_invalid"),
    ],
)
def test_bad_cards_are_not_tokenized(client: httpx.Client, card: dict[str, Any], code: str) -> None:
    body = {"type": "card", "number": APPROVE, "expiry_month": 12, "expiry_year": 2040, **card}
    body = {k: v for k, v in body.items() if v is not None}

    response = client.post(f"{API}/tokens", json=body, headers=PUBLIC)

    assert response.status_code == 422
    assert code in error_codes(response)
    assert response.json()["error_type"] == "request_invalid"


def test_approved_payment_then_capture_shows_up_on_the_next_read(client: httpx.Client) -> None:
    response = pay(client, customer={"email": "bruce@example.com", "name": "Bruce Wayne"})

    assert response.status_code == 201
    body = response.json()
    assert_schema(body, "PaymentResponse")
    assert_card_source(body["source"])
    assert re.fullmatch(r"pay_[a-z2-7]{26}", body["id"])
    assert body["action_id"] == "act_" + body["id"][4:]
    assert (body["approved"], body["status"], body["response_code"]) == (
        True,
        "Authorized",
        "10000",
    )
    assert body["response_summary"] == "Approved"
    assert body["amount"] == 1799
    assert body["currency"] == "GBP"
    assert body["source"]["id"].startswith("src_")
    assert body["customer"]["id"].startswith("cus_")
    assert body["balances"]["total_authorized"] == 1799
    assert {"self", "actions"} <= set(body["_links"])
    assert body["_links"]["self"]["href"].endswith(f"{API}/payments/{body['id']}")
    assert response.headers["cko-request-id"]

    # capture defaults to true: Checkout.com captures after answering (201 has no Captured).
    details = get_payment(client, body["id"])
    assert_schema(details, "PaymentDetails")
    assert details["status"] == "Captured"
    assert details["balances"]["total_captured"] == 1799
    assert details["balances"]["available_to_refund"] == 1799
    assert "refund" in details["_links"]
    assert "capture" not in details["_links"]


@pytest.mark.parametrize("number", sorted(TEST_CARDS))
def test_each_documented_test_card_gives_its_result(client: httpx.Client, number: str) -> None:
    card = TEST_CARDS[number]
    response = pay(client, number, capture=False)

    assert response.status_code == 201
    body = response.json()
    assert_schema(body, "PaymentResponse")
    assert body["response_code"] == card.response_code
    assert body["response_summary"] == response_summary(card.response_code)
    assert body["source"]["scheme"] == card.scheme
    if card.response_code == "10000":
        assert (body["approved"], body["status"]) == (True, "Authorized")
    else:
        assert (body["approved"], body["status"]) == (False, "Declined")
        assert "id" not in body["source"]  # a declined card is not stored
        assert "capture" not in body["_links"]
        assert "void" not in body["_links"]


def test_a_raw_card_source_is_refused_without_pci_approval(client: httpx.Client) -> None:
    body = {
        "source": {"type": "card", "number": APPROVE, "expiry_month": 12, "expiry_year": 2040},
        "amount": 100,
        "currency": "GBP",
    }
    response = client.post(f"{API}/payments", json=body, headers=NAS)

    assert response.status_code == 422
    assert error_codes(response) == ["server_api_not_allowed"]
    assert response.json()["error_type"] == "processing_error"
    assert_schema(response.json(), "ValidationError")


def test_a_token_is_single_use_and_expires_after_15_minutes(client: httpx.Client) -> None:
    token = card_token(client)
    body = {"source": {"type": "token", "token": token}, "amount": 100, "currency": "GBP"}
    assert client.post(f"{API}/payments", json=body, headers=NAS).status_code == 201
    again = client.post(f"{API}/payments", json=body, headers=NAS)
    assert again.status_code == 422
    assert error_codes(again) == ["token_used"]

    late = {**body, "source": {"type": "token", "token": card_token(client)}}
    advance_clock(client, 15 * 60)
    expired = client.post(f"{API}/payments", json=late, headers=NAS)
    assert expired.status_code == 422
    assert error_codes(expired) == ["token_expired"]

    unknown = {**body, "source": {"type": "token", "token": "tok_" + "a" * 26}}
    response = client.post(f"{API}/payments", json=unknown, headers=NAS)
    assert error_codes(response) == ["token_invalid"]


def test_stored_instrument_and_customer_can_pay_again(client: httpx.Client) -> None:
    first = pay(client, customer={"email": "selina@example.com"}).json()
    source_id, customer_id = first["source"]["id"], first["customer"]["id"]

    by_id = client.post(
        f"{API}/payments",
        json={"source": {"type": "id", "id": source_id}, "amount": 500, "currency": "GBP"},
        headers=NAS,
    )
    by_customer = client.post(
        f"{API}/payments",
        json={"source": {"type": "customer", "id": customer_id}, "amount": 600, "currency": "GBP"},
        headers=NAS,
    )
    by_email = client.post(
        f"{API}/payments",
        json={
            "source": {"type": "customer", "email": "selina@example.com"},
            "amount": 700,
            "currency": "GBP",
        },
        headers=NAS,
    )

    for response in (by_id, by_customer, by_email):
        assert response.status_code == 201, response.text
        assert response.json()["approved"] is True
        assert response.json()["source"]["id"] == source_id
        assert response.json()["source"]["fingerprint"] == first["source"]["fingerprint"]
    unknown = client.post(
        f"{API}/payments",
        json={"source": {"type": "id", "id": "src_" + "b" * 26}, "currency": "GBP"},
        headers=NAS,
    )
    assert unknown.status_code == 422
    assert error_codes(unknown) == ["source_id_unknown"]


def test_amount_zero_is_a_card_verification(client: httpx.Client) -> None:
    body = pay(client, amount=0).json()

    assert (body["status"], body["approved"]) == ("Card Verified", True)
    actions = client.get(f"{API}/payments/{body['id']}/actions", headers=NAS).json()
    assert [a["type"] for a in actions] == ["Card Verification"]


# -- 3-D Secure ----------------------------------------------------------------------------


def test_3ds_challenge_page_authenticates_and_redirects_with_the_session_id(
    client: httpx.Client,
) -> None:
    response = pay(
        client,
        **{"3ds": {"enabled": True}},
        success_url="https://shop.example/ok?order=1",
        failure_url="https://shop.example/fail",
    )

    assert response.status_code == 202
    accepted = response.json()
    assert_schema(accepted, "PaymentAcceptedResponse")
    assert accepted["status"] == "Pending"
    redirect = accepted["_links"]["redirect"]["href"]
    assert urlsplit(redirect).path.startswith(f"{API}/3ds/sid_")
    assert get_payment(client, accepted["id"])["status"] == "Pending"

    page = client.get(redirect)
    assert page.status_code == 200
    assert "GBP 17.99" in page.text
    assert THREEDS_SANDBOX_CODE in page.text
    assert 'id="authenticate-button"' in page.text
    assert 'id="cancel-button"' in page.text
    action = form_action(page.text, "challenge-form")

    wrong = client.post(action, data={"code": "000000", "action": "authenticate"})
    assert wrong.status_code == 422
    assert "not right" in wrong.text
    done = client.post(action, data={"code": THREEDS_SANDBOX_CODE, "action": "authenticate"})

    assert done.status_code == 303
    target = urlsplit(done.headers["location"])
    assert (target.netloc, target.path) == ("shop.example", "/ok")
    query = parse_qs(target.query)
    assert query["order"] == ["1"]
    session_id = query["cko-session-id"][0]
    by_session = get_payment(client, session_id)
    assert_schema(by_session, "PaymentDetails")
    assert by_session["id"] == accepted["id"]
    assert by_session["approved"] is True
    assert by_session["status"] == "Captured"
    assert by_session["3ds"]["authentication_response"] == "Y"
    assert [a["type"] for a in by_session["actions"]] == ["Capture", "Authorization"]
    # The finished challenge cannot be answered twice.
    assert client.post(action, data={"action": "cancel"}).status_code == 303
    assert get_payment(client, accepted["id"])["status"] == "Captured"


def test_cancelling_the_challenge_declines_and_goes_to_the_failure_url(
    client: httpx.Client,
) -> None:
    accepted = pay(
        client,
        **{"3ds": {"enabled": True}},
        success_url="https://shop.example/ok",
        failure_url="https://shop.example/fail",
    ).json()
    action = form_action(client.get(accepted["_links"]["redirect"]["href"]).text, "challenge-form")

    response = client.post(action, data={"action": "cancel"})

    assert response.status_code == 303
    assert response.headers["location"].startswith("https://shop.example/fail?cko-session-id=sid_")
    details = get_payment(client, accepted["id"])
    assert (details["status"], details["approved"]) == ("Declined", False)
    actions = client.get(f"{API}/payments/{accepted['id']}/actions", headers=NAS).json()
    assert actions[0]["response_code"] == "20151"


def test_control_pay_completes_a_challenge_headlessly(client: httpx.Client) -> None:
    accepted = pay(client, **{"3ds": {"enabled": True}}, capture=False).json()
    session_id = accepted["_links"]["redirect"]["href"].rsplit("/", 1)[1]

    result = client.post("/_sandbox/checkout-com/pay", json={"session_id": session_id}).json()

    assert (result["payment_id"], result["status"]) == (accepted["id"], "Authorized")
    assert get_payment(client, session_id)["status"] == "Authorized"


# -- captures, refunds, voids --------------------------------------------------------------


def test_partial_capture_partial_refund_and_over_refund(client: httpx.Client) -> None:
    payment_id = pay(client, amount=10000, capture=False).json()["id"]
    assert get_payment(client, payment_id)["balances"]["available_to_capture"] == 10000

    capture = client.post(
        f"{API}/payments/{payment_id}/captures",
        json={"amount": 6000, "reference": "CAP-1"},
        headers=NAS,
    )
    assert capture.status_code == 202
    assert_schema(capture.json(), "CaptureAcceptedResponse")
    assert capture.json()["reference"] == "CAP-1"
    assert capture.json()["_links"]["payment"]["href"].endswith(payment_id)

    details = get_payment(client, payment_id)
    assert details["status"] == "Partially Captured"
    assert details["balances"] == {
        "total_authorized": 10000,
        "total_voided": 0,
        "available_to_void": 0,
        "total_captured": 6000,
        "available_to_capture": 0,  # capture_type defaults to Final: the rest is released
        "total_refunded": 0,
        "available_to_refund": 6000,
    }

    refund = client.post(f"{API}/payments/{payment_id}/refunds", json={"amount": 2500}, headers=NAS)
    assert refund.status_code == 202
    assert_schema(refund.json(), "RefundAcceptedResponse")
    over = client.post(f"{API}/payments/{payment_id}/refunds", json={"amount": 3501}, headers=NAS)
    assert over.status_code == 422
    assert error_codes(over) == ["amount_exceeds_balance"]
    assert_schema(over.json(), "ValidationError")
    rest = client.post(f"{API}/payments/{payment_id}/refunds", headers=NAS)  # no body: the rest
    assert rest.status_code == 202

    details = get_payment(client, payment_id)
    assert details["status"] == "Refunded"
    assert details["balances"]["total_refunded"] == 6000
    assert details["balances"]["available_to_refund"] == 0
    assert "refund" not in details["_links"]
    actions = client.get(f"{API}/payments/{payment_id}/actions", headers=NAS)
    assert actions.status_code == 200
    assert_schema(actions.json(), "PaymentActionsResponse")
    assert [(a["type"], a["amount"]) for a in actions.json()] == [
        ("Refund", 3500),
        ("Refund", 2500),
        ("Capture", 6000),
        ("Authorization", 10000),
    ]
    assert all(a["response_code"] == "10000" and a["processed_on"] for a in actions.json())
    assert actions.json()[0]["id"] == rest.json()["action_id"]
    assert client.post(f"{API}/payments/{payment_id}/refunds", headers=NAS).status_code == 403


def test_nonfinal_captures_can_follow_each_other(client: httpx.Client) -> None:
    payment_id = pay(client, amount=1000, capture=False).json()["id"]
    url = f"{API}/payments/{payment_id}/captures"

    first = client.post(url, json={"amount": 400, "capture_type": "NonFinal"}, headers=NAS)
    too_much = client.post(url, json={"amount": 700}, headers=NAS)
    second = client.post(url, json={"amount": 600}, headers=NAS)

    assert first.status_code == second.status_code == 202
    assert too_much.status_code == 422
    assert error_codes(too_much) == ["capture_value_greater_than_remaining_authorized"]
    assert get_payment(client, payment_id)["status"] == "Captured"


def test_void_before_capture_and_refused_after_capture(client: httpx.Client) -> None:
    authorized = pay(client, capture=False).json()
    assert "void" in authorized["_links"]
    void = client.post(f"{API}/payments/{authorized['id']}/voids", json={}, headers=NAS)

    assert void.status_code == 202
    assert_schema(void.json(), "VoidAcceptedResponse")
    details = get_payment(client, authorized["id"])
    assert details["status"] == "Voided"
    assert details["balances"]["total_voided"] == 1799
    assert details["balances"]["available_to_capture"] == 0
    refused = client.post(f"{API}/payments/{authorized['id']}/captures", headers=NAS)
    assert refused.status_code == 403
    assert refused.content == b""

    captured = pay(client).json()  # capture: true (default)
    late = client.post(f"{API}/payments/{captured['id']}/voids", headers=NAS)
    assert late.status_code == 403
    assert get_payment(client, captured["id"])["status"] == "Captured"


def test_actions_stay_queued_until_settled_when_auto_settle_is_off(client: httpx.Client) -> None:
    payment_id = pay(client, capture=False).json()["id"]
    off = client.post("/_sandbox/checkout-com/settle", json={"auto_settle": False})
    assert off.json()["auto_settle"] is False

    assert client.post(f"{API}/payments/{payment_id}/captures", headers=NAS).status_code == 202
    before = get_payment(client, payment_id)
    assert before["status"] == "Authorized"
    assert before["balances"]["total_captured"] == 0
    # A second full capture would exceed what is left once the first applies.
    again = client.post(f"{API}/payments/{payment_id}/captures", headers=NAS)
    assert again.status_code == 403

    settled = client.post("/_sandbox/checkout-com/settle", json={}).json()
    assert settled["settled"] == 1
    assert get_payment(client, payment_id)["status"] == "Captured"


def test_actions_of_an_unknown_payment_are_404(client: httpx.Client) -> None:
    unknown = "pay_" + "c" * 26
    for response in (
        client.get(f"{API}/payments/{unknown}", headers=NAS),
        client.get(f"{API}/payments/{unknown}/actions", headers=NAS),
        client.post(f"{API}/payments/{unknown}/captures", headers=NAS),
        client.post(f"{API}/payments/{unknown}/refunds", json={"amount": 1}, headers=NAS),
        client.get(f"{API}/payments/sid_{'d' * 26}", headers=NAS),
        client.get(f"{API}/payments/nonsense", headers=NAS),
    ):
        assert response.status_code == 404
        assert response.content == b""
        assert response.headers["cko-request-id"]


def test_list_payments_by_reference(client: httpx.Client) -> None:
    ids = [pay(client, reference="ORD-LIST").json()["id"] for _ in range(3)]
    pay(client, reference="OTHER")

    page = client.get(
        f"{API}/payments", params={"reference": "ORD-LIST", "limit": 2}, headers=NAS
    ).json()
    rest = client.get(
        f"{API}/payments", params={"reference": "ORD-LIST", "limit": 2, "skip": 2}, headers=NAS
    ).json()

    assert (page["limit"], page["skip"], page["total_count"]) == (2, 0, 3)
    assert [p["id"] for p in page["data"] + rest["data"]] == ids[::-1]  # newest first
    for details in page["data"]:
        assert_schema(details, "PaymentDetails")
    bad = client.get(f"{API}/payments", params={"limit": 0}, headers=NAS)
    assert bad.status_code == 422
    assert error_codes(bad) == ["paging_limit_invalid"]


# -- hosted payments page and payment links ------------------------------------------------


def hpp_body(**extra: Any) -> dict[str, Any]:
    return {
        "amount": 2500,
        "currency": "EUR",
        "reference": "HPP-1",
        "description": "Two coffees",
        "billing": {"address": {"country": "GB"}},
        "success_url": "https://shop.example/success",
        "failure_url": "https://shop.example/failure",
        "cancel_url": "https://shop.example/cancel",
        **extra,
    }


def test_hosted_payments_page_lifecycle(client: httpx.Client) -> None:
    created = client.post(f"{API}/hosted-payments", json=hpp_body(), headers=NAS)

    assert created.status_code == 201
    body = created.json()
    assert_schema(body, "HostedPaymentsResponse")
    assert re.fullmatch(r"hpp_[A-Za-z0-9]{12}", body["id"])
    status = client.get(f"{API}/hosted-payments/{body['id']}", headers=NAS).json()
    assert_schema(status, "GetHostedPaymentsResponse")
    assert status["status"] == "Payment Pending"

    page = client.get(body["_links"]["redirect"]["href"])
    assert page.status_code == 200
    assert "EUR 25.00" in page.text
    assert "Two coffees" in page.text
    assert 'href="https://shop.example/cancel"' in page.text
    action = form_action(page.text, "payment-form")
    card = {"cardholder_name": "Ann", "card_number": "4242 4242 4242 4242", "card_cvv": "100"}
    invalid = client.post(action, data={**card, "card_expiry": "13/99"})
    assert invalid.status_code == 422
    assert "MM/YY" in invalid.text
    declined = client.post(
        action, data={**card, "card_number": INSUFFICIENT_FUNDS, "card_expiry": "12/40"}
    )
    assert declined.status_code == 303
    assert declined.headers["location"].startswith("https://shop.example/failure?cko-session-id=")
    paid = client.post(action, data={**card, "card_expiry": "12/40"})

    assert paid.status_code == 303
    location = urlsplit(paid.headers["location"])
    assert location.path == "/success"
    session_id = parse_qs(location.query)["cko-session-id"][0]
    payment = get_payment(client, session_id)
    assert (payment["amount"], payment["currency"], payment["reference"]) == (2500, "EUR", "HPP-1")
    status = client.get(f"{API}/hosted-payments/{body['id']}", headers=NAS).json()
    assert_schema(status, "GetHostedPaymentsResponseStatusPaymentReceived")
    assert (status["status"], status["payment_id"]) == ("Payment Received", payment["id"])
    assert "Payment received" in client.get(body["_links"]["redirect"]["href"]).text


def test_hosted_payments_page_expires(client: httpx.Client) -> None:
    hpp_id = client.post(f"{API}/hosted-payments", json=hpp_body(), headers=NAS).json()["id"]
    advance_clock(client, 3 * 3600)

    status = client.get(f"{API}/hosted-payments/{hpp_id}", headers=NAS).json()
    assert status["status"] == "Expired"
    assert "expired" in client.get(f"{API}/page/{hpp_id}").text
    refused = client.post("/_sandbox/checkout-com/pay", json={"hpp_id": hpp_id})
    assert refused.status_code == 409


def test_hosted_payments_page_with_3ds_goes_through_the_challenge(client: httpx.Client) -> None:
    hpp_id = client.post(
        f"{API}/hosted-payments", json=hpp_body(**{"3ds": {"enabled": True}}), headers=NAS
    ).json()["id"]

    result = client.post(
        "/_sandbox/checkout-com/pay", json={"hpp_id": hpp_id, "outcome": "authenticate"}
    ).json()

    assert result["approved"] is True
    assert result["redirect_url"].startswith("https://shop.example/success?cko-session-id=sid_")
    status = client.get(f"{API}/hosted-payments/{hpp_id}", headers=NAS).json()
    assert status["status"] == "Payment Received"


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"amount": None}, "amount_required"),
        ({"currency": "eur"}, "currency_invalid"),
        ({"billing": None}, "billing_required"),
        ({"success_url": None}, "success_url_required"),
        ({"cancel_url": "not a url"}, "cancel_url_invalid"),
    ],
)
def test_invalid_hosted_payments_requests(
    client: httpx.Client, change: dict[str, Any], code: str
) -> None:
    body = {k: v for k, v in {**hpp_body(), **change}.items() if v is not None}
    response = client.post(f"{API}/hosted-payments", json=body, headers=NAS)
    assert response.status_code == 422
    assert code in error_codes(response)


def test_payment_link_lifecycle(client: httpx.Client) -> None:
    body = {
        "amount": 1200,
        "currency": "USD",
        "reference": "PL-1",
        "billing": {"address": {"country": "US"}},
        "return_url": "https://shop.example/thanks",
        "expires_in": 3600,
    }
    created = client.post(f"{API}/payment-links", json=body, headers=NAS)

    assert created.status_code == 201
    link = created.json()
    assert_schema(link, "PaymentLinksResponse")
    assert re.fullmatch(r"pl_[A-Za-z0-9]{12}", link["id"])
    status = client.get(f"{API}/payment-links/{link['id']}", headers=NAS).json()
    assert_schema(status, "GetPaymentLinkResponse")
    assert status["status"] == "Active"
    assert status["expires_on"] == link["expires_on"]

    page = client.get(link["_links"]["redirect"]["href"])
    assert "USD 12.00" in page.text
    action = form_action(page.text, "payment-form")
    card = {"cardholder_name": "Ann", "card_expiry": "12/40", "card_cvv": "100"}
    declined = client.post(action, data={**card, "card_number": INSUFFICIENT_FUNDS})
    assert declined.status_code == 402
    assert "Insufficient Funds" in declined.text
    assert client.get(f"{API}/payment-links/{link['id']}", headers=NAS).json()["status"] == "Active"
    paid = client.post(action, data={**card, "card_number": APPROVE}, follow_redirects=True)

    assert paid.status_code == 200
    assert "Payment received" in paid.text
    assert 'href="https://shop.example/thanks"' in paid.text
    status = client.get(f"{API}/payment-links/{link['id']}", headers=NAS).json()
    assert_schema(status, "PaymentLinkResponseStatusPaymentReceived")
    assert status["status"] == "Payment Received"
    assert get_payment(client, status["payment_id"])["amount"] == 1200
    # Paid links stay paid, even once they would have expired.
    advance_clock(client, 2 * 3600)
    assert client.get(f"{API}/payment-links/{link['id']}", headers=NAS).json()["status"] == (
        "Payment Received"
    )


def test_payment_link_expires_and_cannot_be_paid(client: httpx.Client) -> None:
    body = {"amount": 100, "currency": "GBP", "billing": {"address": {"country": "GB"}}}
    link = client.post(f"{API}/payment-links", json=body, headers=NAS).json()
    advance_clock(client, DAY - 1)
    assert client.get(f"{API}/payment-links/{link['id']}", headers=NAS).json()["status"] == "Active"
    advance_clock(client, 1)  # default expires_in: 86400 s

    assert client.get(f"{API}/payment-links/{link['id']}", headers=NAS).json()["status"] == (
        "Expired"
    )
    assert "expired" in client.get(f"{API}/link/{link['id']}").text
    assert (
        client.post("/_sandbox/checkout-com/pay", json={"link_id": link["id"]}).status_code == 409
    )
    too_long = client.post(
        f"{API}/payment-links", json={**body, "expires_in": 1209601}, headers=NAS
    )
    assert error_codes(too_long) == ["expires_in_invalid"]


def test_control_pay_pays_a_link_with_a_declining_card(client: httpx.Client) -> None:
    body = {"amount": 100, "currency": "GBP", "billing": {"address": {"country": "GB"}}}
    link_id = client.post(f"{API}/payment-links", json=body, headers=NAS).json()["id"]

    declined = client.post(
        "/_sandbox/checkout-com/pay", json={"link_id": link_id, "card": INSUFFICIENT_FUNDS}
    ).json()
    approved = client.post("/_sandbox/checkout-com/pay", json={"link_id": link_id}).json()

    assert (declined["approved"], declined["response_code"]) == (False, "20051")
    assert approved["approved"] is True
    status = client.get(f"{API}/payment-links/{link_id}", headers=NAS).json()
    assert status["payment_id"] == approved["payment_id"]


# -- idempotency ---------------------------------------------------------------------------


def test_same_idempotency_key_replays_the_first_answer(client: httpx.Client) -> None:
    key = {"Cko-Idempotency-Key": str(uuid.uuid4())}
    token = card_token(client)
    body = {"source": {"type": "token", "token": token}, "amount": 500, "currency": "GBP"}

    first = client.post(f"{API}/payments", json=body, headers={**NAS, **key})
    again = client.post(f"{API}/payments", json=body, headers={**NAS, **key})

    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    listed = client.get(f"{API}/payments", headers=NAS).json()
    assert listed["total_count"] == 1

    refund_key = {**NAS, "Cko-Idempotency-Key": "refund-1"}
    url = f"{API}/payments/{first.json()['id']}/refunds"
    one = client.post(url, json={"amount": 100}, headers=refund_key)
    two = client.post(url, json={"amount": 100}, headers=refund_key)
    assert one.json()["action_id"] == two.json()["action_id"]
    assert get_payment(client, first.json()["id"])["balances"]["total_refunded"] == 100


def test_failed_requests_are_not_replayed(client: httpx.Client) -> None:
    key = {**NAS, "Cko-Idempotency-Key": "fix-and-retry"}
    token = card_token(client)
    broken = {"source": {"type": "token", "token": token}, "amount": 500}

    first = client.post(f"{API}/payments", json=broken, headers=key)
    fixed = client.post(f"{API}/payments", json={**broken, "currency": "GBP"}, headers=key)

    assert first.status_code == 422
    assert error_codes(first) == ["currency_required"]
    assert fixed.status_code == 201


def test_idempotency_keys_are_kept_for_24_hours(client: httpx.Client) -> None:
    key = {**NAS, "Cko-Idempotency-Key": "day-key"}
    first = pay(client, headers=key).json()
    advance_clock(client, DAY - 60)
    assert pay(client, headers=key).json()["id"] == first["id"]
    advance_clock(client, 60)
    assert pay(client, headers=key).json()["id"] != first["id"]


def test_same_key_while_the_first_request_is_in_flight_is_429(
    sandbox: SandboxServer, client: httpx.Client
) -> None:
    body = {
        "source": {"type": "token", "token": card_token(client)},
        "amount": 500,
        "currency": "GBP",
    }
    headers = {**NAS, "Cko-Idempotency-Key": "in-flight"}
    assert client.post("/_sandbox/checkout-com/hold-requests", json={"enabled": True}).is_success
    try:
        with (
            ThreadPoolExecutor(max_workers=1) as pool,
            httpx.Client(
                base_url=sandbox.base_url, headers=sandbox.control_headers, timeout=10
            ) as other,
        ):
            first = pool.submit(other.post, f"{API}/payments", json=body, headers=headers)
            parked = client.post("/_sandbox/checkout-com/held-requests/wait", json={"count": 1})
            assert parked.status_code == 200

            concurrent = client.post(f"{API}/payments", json=body, headers=headers)

            assert concurrent.status_code == 429
            assert error_codes(concurrent) == ["duplicate_request"]
            client.post("/_sandbox/checkout-com/hold-requests", json={"enabled": False})
            original = first.result(timeout=10)
    finally:
        client.post("/_sandbox/checkout-com/hold-requests", json={"enabled": False})

    assert original.status_code == 201
    retry = client.post(f"{API}/payments", json=body, headers=headers)
    assert retry.json() == original.json()


# -- webhooks ------------------------------------------------------------------------------


def test_webhooks_are_signed_with_cko_signature(client: httpx.Client) -> None:
    payment = pay(client, capture=False).json()
    client.post(f"{API}/payments/{payment['id']}/captures", json={"amount": 1000}, headers=NAS)
    get_payment(client, payment["id"])  # applies the capture
    pay(client, INSUFFICIENT_FUNDS)

    events = webhooks(client)
    types = [e["event_type"] for e in events]
    assert types == ["payment_approved", "payment_captured", "payment_declined"]
    key = WEBHOOK_SECRETS["checkout_com"].encode()
    for event in events:
        raw = event["body"].encode()
        expected = hmac.new(key, raw, hashlib.sha256).hexdigest()
        assert event["headers"]["Cko-Signature"] == expected
        body = json.loads(raw)
        assert body["id"].startswith("evt_")
        assert body["type"] == event["event_type"]
        assert body["created_on"].endswith("Z")
    captured = json.loads(events[1]["body"])["data"]
    assert (captured["id"], captured["amount"], captured["currency"]) == (
        payment["id"],
        1000,
        "GBP",
    )
    assert captured["response_code"] == "10000"
    assert json.loads(events[2]["body"])["data"]["response_code"] == "20051"


# -- bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "codes"),
    [
        ({"source": None}, ["payment_source_required"]),
        ({"source": {"type": "token"}}, ["token_required"]),
        ({"source": {"type": "bitcoin"}}, ["source_type_invalid"]),
        ({"currency": None}, ["currency_required"]),
        ({"currency": "usd"}, ["currency_invalid"]),
        ({"amount": "17.99"}, ["amount_invalid"]),
        ({"amount": -1}, ["amount_invalid"]),
        ({"amount": 1.5}, ["amount_invalid"]),
        ({"amount": True}, ["amount_invalid"]),
        ({"reference": "x" * 51}, ["reference_invalid"]),
        ({"capture": "yes"}, ["capture_invalid"]),
        ({"processing_channel_id": "pc_unknown"}, ["processing_channel_id_invalid"]),
        ({"success_url": "javascript:alert(1)"}, ["success_url_invalid"]),
        ({"amount": "x", "currency": None}, ["amount_invalid", "currency_required"]),
    ],
)
def test_invalid_payment_requests_list_every_problem(
    client: httpx.Client, change: dict[str, Any], codes: list[str]
) -> None:
    body: dict[str, Any] = {
        "source": {"type": "token", "token": "tok_" + "e" * 26},
        "amount": 100,
        "currency": "GBP",
        **change,
    }
    body = {k: v for k, v in body.items() if v is not None}

    response = client.post(f"{API}/payments", json=body, headers=NAS)

    assert response.status_code == 422
    assert response.json()["error_type"] == "request_invalid"
    assert sorted(error_codes(response)) == sorted(codes)
    assert_schema(response.json(), "ValidationError")


def test_malformed_requests_get_checkout_com_answers_and_the_sandbox_keeps_serving(
    client: httpx.Client,
) -> None:
    json_headers = {**NAS, "Content-Type": "application/json"}
    broken = client.post(f"{API}/payments", content=b'{"amount": ', headers=json_headers)
    assert broken.status_code == 422
    assert error_codes(broken) == ["request_json_invalid"]
    array = client.post(f"{API}/payments", content=b"[1, 2]", headers=json_headers)
    assert array.status_code == 422
    binary = client.post(f"{API}/payments", content=b"\xff\xfe\x00", headers=json_headers)
    assert binary.status_code == 422
    deep = client.post(f"{API}/payments", content=b"[" * 100_000, headers=json_headers)
    assert deep.status_code == 422
    assert error_codes(deep) == ["request_json_invalid"]
    form = client.post(f"{API}/payments", data={"amount": "1"}, headers=NAS)
    assert form.status_code == 415
    assert form.content == b""

    huge = client.post(
        f"{API}/payments",
        content=b'{"a":"' + b"x" * (2 * 1024 * 1024) + b'"}',
        headers=json_headers,
    )
    assert huge.status_code == 413
    assert huge.headers["cko-request-id"]

    unknown_route = client.get(f"{API}/payments/pay_x/whatever", headers=NAS)
    assert unknown_route.status_code == 404
    assert unknown_route.content == b""
    wrong_method = client.delete(f"{API}/payments", headers=NAS)
    assert wrong_method.status_code == 405
    assert wrong_method.headers["cko-request-id"]
    assert client.get(f"{API}/hosted-payments/hpp_nothinghere", headers=NAS).status_code == 404
    assert client.get(f"{API}/payment-links/pl_nothinghere", headers=NAS).status_code == 404
    assert client.get(f"{API}/page/hpp_nothinghere").status_code == 404
    assert client.get(f"{API}/3ds/sid_nothinghere").status_code == 404
    assert client.get("/_sandbox/health").json() == {"status": "ok"}
    assert pay(client).status_code == 201


def test_refund_void_and_3ds_events(client: httpx.Client) -> None:
    captured = pay(client).json()
    client.post(f"{API}/payments/{captured['id']}/refunds", json={"amount": 99}, headers=NAS)
    voided = pay(client, capture=False).json()
    client.post(f"{API}/payments/{voided['id']}/voids", headers=NAS)
    client.post("/_sandbox/checkout-com/settle", json={})
    pending = pay(client, **{"3ds": {"enabled": True}}).json()

    events = [(e["event_type"], json.loads(e["body"])["data"]) for e in webhooks(client)]

    assert [name for name, _ in events] == [
        "payment_approved",
        "payment_captured",  # applied when the refund request read the payment
        "payment_approved",
        "payment_refunded",  # queued actions apply oldest payment first
        "payment_voided",
        "payment_pending",
    ]
    assert (events[3][1]["id"], events[3][1]["amount"]) == (captured["id"], 99)
    assert (events[4][1]["id"], events[4][1]["amount"]) == (voided["id"], 1799)
    assert events[5][1]["id"] == pending["id"]


def test_hosted_payments_and_links_ignore_idempotency_keys(client: httpx.Client) -> None:
    headers = {**NAS, "Cko-Idempotency-Key": "not-for-hpp"}
    first = client.post(f"{API}/hosted-payments", json=hpp_body(), headers=headers)
    second = client.post(f"{API}/hosted-payments", json=hpp_body(), headers=headers)

    assert first.status_code == second.status_code == 201
    assert first.json()["id"] != second.json()["id"]
