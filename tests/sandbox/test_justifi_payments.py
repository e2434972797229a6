"""The sandbox's JustiFi payments, web component API, iframes and webhooks, over loopback HTTP.

Response bodies are validated against JustiFi's OpenAPI bundle (provider-specs) with jsonschema.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import uuid
from functools import cache
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from pos_sandbox.server import (
    SANDBOX_CLIENT_ID,
    SANDBOX_CLIENT_SECRET,
    SANDBOX_SUB_ACCOUNT,
    SandboxServer,
)
from tests.specs import provider_spec

if TYPE_CHECKING:
    from pathlib import Path

SPEC_NAME = "justifi/justifi-openapi.bundled.json"
SPEC_URI = "urn:justifi-openapi"
WEBHOOK_SECRET = "sandbox-justifi-webhook-secret"  # webhooks.DEFAULT_SECRETS["justifi"]
MINUTE = 60
DAY = 24 * 3600

APPROVE = "4242424242424242"
APPROVING_CARDS = [
    "4242424242424242", "4000056655665556", "5555555555554444", "2223003122003222",
    "5200828282828210", "5105105105105100", "378282246310005", "371449635398431",
    "6011000990139424",
]  # fmt: skip
# card → (error.code, error.decline_code) of the 402 body (PROVIDERS.md §1.9, card_payments.mdx)
DECLINING_CARDS = {
    "4000000000000002": ("card_declined", "generic_decline"),
    "4000000000009995": ("card_declined", "insufficient_funds"),
    "4000000000009987": ("card_declined", "lost_card"),
    "4000000000009979": ("card_declined", "stolen_card"),
    "4000000000000069": ("expired_card", "expired_card"),
    "4000000000000127": ("invalid_cvc", "invalid_cvc"),
    "4000000000000119": ("gateway_error", None),
    "4000000000000341": ("card_declined", "do_not_honor"),
    "4000000000000101": ("invalid_cvc", "invalid_cvc"),
}
ACH_ROUTING = "110000000"
ACH_DECLINES = {
    "000222222227": "insufficient_funds",
    "000333333335": "debits_not_allowed",
    "000111111113": "account_closed",
    "000111111116": "no_account",
}


# -- schema validation against the OpenAPI bundle ------------------------------------------


def _to_json_schema(node: Any, *, in_properties: bool = False) -> Any:
    """OpenAPI 3.0 → JSON Schema 2020-12, as the sandbox's contract reads the spec.

    * ``$ref`` point into the bundle's own URI; ``type: null`` (a spec typo) is dropped.
    * ``nullable`` and every object property accept ``null``: JustiFi's own mocks return
      ``null`` for unset fields the spec does not mark nullable (description, metadata, …).
    * ``oneOf`` becomes ``anyOf``: CardPayment and BankAccountPayment have no required or
      discriminating fields, so every payment matches both.
    * ``items: [A, B]`` (GET /payments writes the list of payment kinds that way) means any of.
    """
    if isinstance(node, list):
        return [_to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "$ref" and isinstance(value, str) and value.startswith("#"):
            out[key] = SPEC_URI + value
        elif key == "type" and value is None:
            continue
        elif key == "oneOf":
            out["anyOf"] = _to_json_schema(value)
        elif key == "items" and isinstance(value, list):
            out[key] = {"anyOf": _to_json_schema(value)}
        elif key == "properties" and isinstance(value, dict):
            out[key] = {
                name: _to_json_schema(prop, in_properties=True) for name, prop in value.items()
            }
        elif key in ("nullable", "example", "examples", "discriminator", "xml"):
            continue
        else:
            out[key] = _to_json_schema(value)
    if in_properties or node.get("nullable"):
        return {"anyOf": [out, {"type": "null"}]}
    return out


@cache
def _spec() -> tuple[dict[str, Any], Registry]:
    bundle = _to_json_schema(json.loads(provider_spec(SPEC_NAME).read_text()))
    resource = Resource.from_contents(bundle, default_specification=DRAFT202012)
    return bundle, Registry().with_resource(SPEC_URI, resource)


def assert_matches_spec(response: httpx.Response, path: str, method: str) -> None:
    bundle, registry = _spec()
    responses = bundle["paths"][path][method]["responses"]
    schema = responses[str(response.status_code)]["content"]["application/json"]["schema"]
    validator = Draft202012Validator(schema, registry=registry)
    errors = sorted(validator.iter_errors(response.json()), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:5])


# -- helpers -------------------------------------------------------------------------------


@pytest.fixture
def token(client: httpx.Client) -> str:
    return new_token(client)


def new_token(client: httpx.Client) -> str:
    response = client.post(
        "/justifi/oauth/token",
        json={"client_id": SANDBOX_CLIENT_ID, "client_secret": SANDBOX_CLIENT_SECRET},
    )
    assert response.status_code == 200
    return str(response.json()["access_token"])


def headers(token: str, *, key: bool | str = True, sub_account: bool = True) -> dict[str, str]:
    result = {"Authorization": f"Bearer {token}"}
    if sub_account:
        result["Sub-Account"] = SANDBOX_SUB_ACCOUNT
    if key:
        result["Idempotency-Key"] = key if isinstance(key, str) else str(uuid.uuid4())
    return result


def error_code(response: httpx.Response) -> str:
    return str(response.json()["error"]["code"])


def advance_clock(client: httpx.Client, seconds: float) -> None:
    assert client.post("/_sandbox/clock/advance", json={"seconds": seconds}).status_code == 200


def card_token(client: httpx.Client, token: str, number: str = APPROVE) -> str:
    body = {
        "payment_method": {
            "card": {
                "name": "Leslie Knope",
                "number": number,
                "verification": "1234" if number.startswith("37") else "123",
                "month": "12",
                "year": "2040",
                "address_postal_code": "55555",
            }
        }
    }
    response = client.post("/justifi/v1/payment_methods", json=body, headers=headers(token))
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def bank_token(client: httpx.Client, token: str, account: str) -> httpx.Response:
    body = {
        "payment_method": {
            "bank_account": {
                "account_owner_name": "Ann Perkins",
                "routing_number": ACH_ROUTING,
                "account_number": account,
                "account_type": "checking",
                "account_owner_type": "individual",
                "country": "US",
                "currency": "usd",
            }
        }
    }
    return client.post("/justifi/v1/payment_methods", json=body, headers=headers(token))


def pay(
    client: httpx.Client,
    token: str,
    number: str = APPROVE,
    *,
    amount: int = 2500,
    capture: str = "automatic",
    key: bool | str = True,
    **extra: Any,
) -> httpx.Response:
    body = {
        "amount": amount,
        "currency": "usd",
        "capture_strategy": capture,
        "payment_method": {"token": card_token(client, token, number)},
        "description": "Order 42",
        **extra,
    }
    return client.post("/justifi/v1/payments", json=body, headers=headers(token, key=key))


def paid(client: httpx.Client, token: str, **kwargs: Any) -> dict[str, Any]:
    response = pay(client, token, **kwargs)
    assert response.status_code == 201, response.text
    return dict(response.json()["data"])


def post(
    client: httpx.Client, token: str, path: str, body: Any = None, **kw: Any
) -> httpx.Response:
    return client.post(path, json=body or {}, headers=headers(token, **kw))


def create_checkout(client: httpx.Client, token: str, amount: int = 1799) -> str:
    response = client.post(
        "/justifi/v1/checkouts",
        json={"amount": amount, "description": "One Chocolate Donut"},
        headers=headers(token, key=False),
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def web_component_token(client: httpx.Client, token: str, *resources: str) -> str:
    response = client.post(
        "/justifi/v1/web_component_tokens",
        json={"resources": list(resources)},
        headers=headers(token, key=False, sub_account=False),
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def webhooks(client: httpx.Client) -> list[dict[str, Any]]:
    response = client.get("/_sandbox/webhooks", params={"provider": "justifi"})
    assert response.status_code == 200, response.text
    return list(response.json()["data"])


# -- payments ------------------------------------------------------------------------------


@pytest.mark.parametrize("number", APPROVING_CARDS)
def test_approving_cards_create_a_succeeded_payment(
    client: httpx.Client, token: str, number: str
) -> None:
    response = pay(client, token, number)
    assert response.status_code == 201, response.text
    assert_matches_spec(response, "/payments", "post")
    body = response.json()
    assert body["type"] == "payment"
    assert body["id"].startswith("py_")
    payment = body["data"]
    assert payment["status"] == "succeeded"
    assert payment["captured"] is True
    assert payment["amount_refundable"] == 2500
    assert payment["amount_refunded"] == 0
    assert payment["payment_method"]["card"]["acct_last_four"] == number[-4:]
    got = client.get(f"/justifi/v1/payments/{body['id']}", headers=headers(token, key=False))
    assert got.status_code == 200
    assert got.json()["data"] == payment
    assert_matches_spec(got, "/payments/{id}", "get")


@pytest.mark.parametrize(("number", "expected"), DECLINING_CARDS.items())
def test_declining_cards_answer_402_with_the_documented_error(
    client: httpx.Client, token: str, number: str, expected: tuple[str, str | None]
) -> None:
    response = pay(client, token, number)
    assert response.status_code == 402, response.text
    assert_matches_spec(response, "/payments", "post")
    error = response.json()["error"]
    assert (error["code"], error["decline_code"]) == expected
    assert error["message"]
    assert error["network"] == "VISA"
    failed = client.get(
        "/justifi/v1/payments", params={"payment_status": "failed"}, headers=headers(token)
    ).json()["data"]
    assert [p["error_code"] for p in failed] == [expected[0]]


def test_card_that_fails_luhn_cannot_be_tokenized(client: httpx.Client, token: str) -> None:
    body = {"payment_method": {"card": {"name": "A", "number": "4242424242424241", "month": "1",
            "year": "2040", "address_postal_code": "55555"}}}  # fmt: skip
    response = client.post("/justifi/v1/payment_methods", json=body, headers=headers(token))
    assert response.status_code == 402
    assert error_code(response) == "card_number_invalid"


def test_payment_requires_key_sub_account_and_a_token_not_a_card(
    client: httpx.Client, token: str
) -> None:
    body = {"amount": 1000, "currency": "usd", "capture_strategy": "automatic",
            "payment_method": {"token": card_token(client, token)}}  # fmt: skip
    no_key = client.post("/justifi/v1/payments", json=body, headers=headers(token, key=False))
    assert no_key.status_code == 422
    assert error_code(no_key) == "idempotency_key_required"
    no_account = client.post(
        "/justifi/v1/payments", json=body, headers=headers(token, sub_account=False)
    )
    assert no_account.status_code == 400
    raw = {**body, "payment_method": {"card": {"number": APPROVE, "month": "1", "year": "2040"}}}
    full_pan = client.post("/justifi/v1/payments", json=raw, headers=headers(token))
    assert full_pan.status_code == 400
    assert error_code(full_pan) == "full_pan_not_allowed"
    assert_matches_spec(full_pan, "/payments", "post")
    # The spec's example answer, word for word.
    assert full_pan.json()["error"]["message"] == (
        "Full card numbers are not accepted on this endpoint. Please use the tokenization "
        "iframe to create a payment method token first."
    )
    for field, value, code in (
        ("currency", "eur", "currency_invalid"),
        ("capture_strategy", "later", "capture_strategy_invalid"),
        ("amount", "10", "amount_must_be_an_integer"),
    ):
        bad = client.post(
            "/justifi/v1/payments", json={**body, field: value}, headers=headers(token)
        )
        assert bad.status_code == 422
        assert error_code(bad) == code
    cad = client.post(
        "/justifi/v1/payments", json={**body, "currency": "cad"}, headers=headers(token)
    )
    assert cad.status_code == 201
    assert cad.json()["data"]["currency"] == "cad"


def test_updating_a_payment_needs_an_idempotency_key(client: httpx.Client, token: str) -> None:
    payment_id = paid(client, token)["id"]
    path = f"/justifi/v1/payments/{payment_id}"
    keyless = client.patch(
        path, json={"description": "Order 43"}, headers=headers(token, key=False)
    )
    assert keyless.status_code == 422
    assert error_code(keyless) == "idempotency_key_required"
    updated = client.patch(path, json={"description": "Order 43"}, headers=headers(token))
    assert updated.status_code == 200, updated.text
    assert_matches_spec(updated, "/payments/{id}", "patch")
    assert updated.json()["data"]["description"] == "Order 43"


def test_same_key_replays_the_payment(client: httpx.Client, token: str) -> None:
    body = {"amount": 1000, "currency": "usd", "capture_strategy": "automatic",
            "payment_method": {"token": card_token(client, token)}}  # fmt: skip
    first = client.post("/justifi/v1/payments", json=body, headers=headers(token, key="k-1"))
    again = client.post("/justifi/v1/payments", json=body, headers=headers(token, key="k-1"))
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    listed = client.get("/justifi/v1/payments", headers=headers(token)).json()["data"]
    assert len(listed) == 1


def test_manual_capture_authorizes_then_captures_once(client: httpx.Client, token: str) -> None:
    payment = paid(client, token, capture="manual")
    assert payment["status"] == "authorized"
    assert payment["captured"] is False
    assert payment["amount_refundable"] == 0
    path = f"/justifi/v1/payments/{payment['id']}/capture"
    captured = post(client, token, path, key="cap-1")
    assert captured.status_code == 201, captured.text
    assert_matches_spec(captured, "/payments/{id}/capture", "post")
    data = captured.json()["data"]
    assert data["status"] == "succeeded"
    assert data["captured"] is True
    assert data["amount_refundable"] == 2500
    replay = post(client, token, path, key="cap-1")
    assert replay.status_code == 200
    assert replay.json() == captured.json()
    assert_matches_spec(replay, "/payments/{id}/capture", "post")
    twice = post(client, token, path)
    assert twice.status_code == 422
    assert error_code(twice) == "payment_already_captured"


def test_authorization_expires_after_seven_days(client: httpx.Client, token: str) -> None:
    payment = paid(client, token, capture="manual")
    advance_clock(client, 7 * DAY)
    token = new_token(client)  # API tokens last 24 hours
    response = post(client, token, f"/justifi/v1/payments/{payment['id']}/capture")
    assert response.status_code == 422
    assert error_code(response) == "charge_expired_for_capture"
    got = client.get(f"/justifi/v1/payments/{payment['id']}", headers=headers(token, key=False))
    assert got.json()["data"]["status"] == "canceled"


def test_partial_refunds_until_fully_refunded(client: httpx.Client, token: str) -> None:
    payment = paid(client, token, amount=5000)
    path = f"/justifi/v1/payments/{payment['id']}/refunds"
    first = post(client, token, path, {"amount": 2000, "reason": "customer_request"})
    assert first.status_code == 201, first.text
    assert_matches_spec(first, "/payments/{id}/refunds", "post")
    assert first.json()["type"] == "refund"
    assert first.json()["id"].startswith("re_")
    after = client.get(f"/justifi/v1/payments/{payment['id']}", headers=headers(token)).json()
    data = after["data"]
    assert (data["status"], data["amount_refunded"], data["amount_refundable"]) == (
        "partially_refunded", 2000, 3000,
    )  # fmt: skip
    assert data["refunded"] is True
    assert [r["id"] for r in data["refunds"]] == [first.json()["id"]]
    too_much = post(client, token, path, {"amount": 3001})
    assert too_much.status_code == 422
    assert error_code(too_much) == "refund_exceeds_amount_available"
    bad_reason = post(client, token, path, {"amount": 1, "reason": "changed_mind"})
    assert bad_reason.status_code == 422
    assert error_code(bad_reason) == "refund_reason_invalid"
    rest = post(client, token, path, {"reason": "duplicate"})  # no amount: all that is left
    assert rest.status_code == 201
    assert rest.json()["data"]["amount"] == 3000
    final = client.get(f"/justifi/v1/payments/{payment['id']}", headers=headers(token)).json()
    assert final["data"]["status"] == "fully_refunded"
    assert final["data"]["amount_refundable"] == 0
    again = post(client, token, path, {"amount": 1})
    assert again.status_code == 422
    assert error_code(again) == "payment_fully_refunded"

    listed = client.get("/justifi/v1/refunds", headers=headers(token, key=False))
    assert listed.status_code == 200
    assert_matches_spec(listed, "/refunds", "get")
    assert [r["amount"] for r in listed.json()["data"]] == [3000, 2000]
    one = client.get(f"/justifi/v1/refunds/{first.json()['id']}", headers=headers(token))
    assert one.status_code == 200
    assert one.json()["data"]["amount"] == 2000
    assert_matches_spec(one, "/refunds/{id}", "get")

    txns = client.get(
        f"/justifi/v1/payments/{payment['id']}/payment_balance_transactions", headers=headers(token)
    )
    assert txns.status_code == 200
    assert_matches_spec(txns, "/payments/{id}/payment_balance_transactions", "get")
    kinds = [(t["payment_balance_txn_type"], t["amount"]) for t in txns.json()["data"]]
    assert kinds == [("refund", -3000), ("refund", -2000), ("payment", 5000)]


def test_uncaptured_authorization_cannot_be_refunded(client: httpx.Client, token: str) -> None:
    payment = paid(client, token, capture="manual")
    response = post(client, token, f"/justifi/v1/payments/{payment['id']}/refunds", {"amount": 100})
    assert response.status_code == 422
    assert error_code(response) == "refund_exceeds_amount_available"


def test_void_within_25_minutes_cancels(client: httpx.Client, token: str) -> None:
    payment = paid(client, token)
    advance_clock(client, 24 * MINUTE)
    response = post(client, token, f"/justifi/v1/payments/{payment['id']}/void")
    assert response.status_code == 200, response.text
    assert_matches_spec(response, "/payments/{id}/void", "post")
    assert response.json()["data"]["status"] == "canceled"
    assert response.json()["data"]["amount_refundable"] == 0
    refund = post(client, token, f"/justifi/v1/payments/{payment['id']}/refunds", {"amount": 1})
    assert refund.status_code == 422


def test_void_of_an_uncaptured_authorization(client: httpx.Client, token: str) -> None:
    payment = paid(client, token, capture="manual")
    response = post(client, token, f"/justifi/v1/payments/{payment['id']}/void")
    assert response.status_code == 200
    assert response.json()["data"]["status"] == "canceled"
    capture = post(client, token, f"/justifi/v1/payments/{payment['id']}/capture")
    assert capture.status_code == 422


def test_void_after_25_minutes_is_outside_the_window(client: httpx.Client, token: str) -> None:
    payment = paid(client, token)
    advance_clock(client, 25 * MINUTE)
    response = post(client, token, f"/justifi/v1/payments/{payment['id']}/void")
    assert response.status_code == 422
    assert error_code(response) == "payment_outside_void_window"
    void_key = post(client, token, f"/justifi/v1/payments/{payment['id']}/void", key=False)
    assert void_key.status_code == 422
    assert error_code(void_key) == "idempotency_key_required"


def test_payment_list_pages_and_filters(client: httpx.Client, token: str) -> None:
    ids = [paid(client, token, amount=1000 + i)["id"] for i in range(3)]
    authorized = paid(client, token, capture="manual")["id"]
    first = client.get("/justifi/v1/payments", params={"limit": 2}, headers=headers(token))
    assert first.status_code == 200
    assert_matches_spec(first, "/payments", "get")
    page = first.json()
    assert [p["id"] for p in page["data"]] == [authorized, ids[2]]
    assert page["page_info"]["has_next"] is True
    assert page["page_info"]["has_previous"] is False
    second = client.get(
        "/justifi/v1/payments",
        params={"limit": 2, "after_cursor": page["page_info"]["end_cursor"]},
        headers=headers(token),
    ).json()
    assert [p["id"] for p in second["data"]] == [ids[1], ids[0]]
    assert second["page_info"]["has_next"] is False
    filtered = client.get(
        "/justifi/v1/payments", params={"payment_status": "authorized"}, headers=headers(token)
    ).json()
    assert [p["id"] for p in filtered["data"]] == [authorized]
    unknown = client.get("/justifi/v1/payments/py_nope", headers=headers(token))
    assert unknown.status_code == 404
    assert error_code(unknown) == "resource_not_found"


# -- ACH ---------------------------------------------------------------------------------


def test_ach_success_account_pays_pending(client: httpx.Client, token: str) -> None:
    tokenized = bank_token(client, token, "000123456789")
    assert tokenized.status_code == 201, tokenized.text
    bank = tokenized.json()["data"]["bank_account"]
    assert bank["acct_last_four"] == "6789"
    assert bank["routing_number"] == ACH_ROUTING
    body = {"amount": 1500, "currency": "usd", "capture_strategy": "automatic",
            "payment_method": {"token": tokenized.json()["id"]}}  # fmt: skip
    response = client.post("/justifi/v1/payments", json=body, headers=headers(token))
    assert response.status_code == 201, response.text
    assert_matches_spec(response, "/payments", "post")
    data = response.json()["data"]
    assert data["payment_mode"] == "ach"
    assert data["status"] == "pending"
    assert "bank_account" in data["payment_method"]
    manual = client.post(
        "/justifi/v1/payments", json={**body, "capture_strategy": "manual"}, headers=headers(token)
    )
    assert manual.status_code == 422
    assert error_code(manual) == "capture_strategy_invalid"


@pytest.mark.parametrize(("account", "code"), ACH_DECLINES.items())
def test_ach_declining_accounts(client: httpx.Client, token: str, account: str, code: str) -> None:
    tokenized = bank_token(client, token, account)
    assert tokenized.status_code == 201
    body = {"amount": 1500, "currency": "usd", "capture_strategy": "automatic",
            "payment_method": {"token": tokenized.json()["id"]}}  # fmt: skip
    response = client.post("/justifi/v1/payments", json=body, headers=headers(token))
    assert response.status_code == 402
    assert error_code(response) == code


def test_invalid_routing_number_cannot_be_tokenized(client: httpx.Client, token: str) -> None:
    body = {"payment_method": {"bank_account": {"account_owner_name": "A",
            "routing_number": "110000001", "account_number": "000123456789"}}}  # fmt: skip
    response = client.post("/justifi/v1/payment_methods", json=body, headers=headers(token))
    assert response.status_code == 402
    assert error_code(response) == "routing_number_invalid"


# -- checkouts: update and refunds ---------------------------------------------------------


def test_patch_checkout_before_completion_only(client: httpx.Client, token: str) -> None:
    checkout_id = create_checkout(client, token)
    patched = client.patch(
        f"/justifi/v1/checkouts/{checkout_id}",
        json={"amount": 2599, "description": "Two donuts", "metadata": {"order": "7"}},
        headers=headers(token, key=False),
    )
    assert patched.status_code == 200, patched.text
    assert_matches_spec(patched, "/checkouts/{id}", "patch")
    data = patched.json()["data"]
    assert (data["payment_amount"], data["payment_description"], data["metadata"]) == (
        2599, "Two donuts", {"order": "7"},
    )  # fmt: skip
    bad = client.patch(
        f"/justifi/v1/checkouts/{checkout_id}", json={"amount": 10}, headers=headers(token)
    )
    assert bad.status_code == 422
    assert error_code(bad) == "amount_below_minimum"
    assert (
        client.post(
            "/_sandbox/justifi/pay", json={"checkout_id": checkout_id, "card": APPROVE}
        ).status_code
        == 201
    )
    late = client.patch(
        f"/justifi/v1/checkouts/{checkout_id}", json={"amount": 3000}, headers=headers(token)
    )
    assert late.status_code == 422
    assert error_code(late) == "checkout_already_completed"


def test_refund_a_completed_checkout(client: httpx.Client, token: str) -> None:
    checkout_id = create_checkout(client, token, amount=4000)
    paid_checkout = client.post(
        "/_sandbox/justifi/pay", json={"checkout_id": checkout_id, "card": APPROVE}
    )
    assert paid_checkout.status_code == 201, paid_checkout.text
    payment_id = paid_checkout.json()["data"]["payment_id"]
    path = f"/justifi/v1/checkouts/{checkout_id}/refunds"
    partial = post(client, token, path, {"amount": 1000})
    assert partial.status_code == 200, partial.text
    assert_matches_spec(partial, "/checkouts/{id}/refunds", "post")
    refund = partial.json()["data"]
    assert refund["id"].startswith("chr_")
    assert refund["status"] == "succeeded"
    assert refund["refund_amount"] == 1000
    rest = post(client, token, path)
    assert rest.json()["data"]["refund_amount"] == 3000
    payment = client.get(f"/justifi/v1/payments/{payment_id}", headers=headers(token)).json()
    assert payment["data"]["status"] == "fully_refunded"
    failed = post(client, token, path, {"amount": 1})
    assert failed.status_code == 200
    assert failed.json()["data"]["status"] == "failed"
    assert failed.json()["data"]["refund_response"] == "payment_fully_refunded"
    open_checkout = create_checkout(client, token)
    refused = post(client, token, f"/justifi/v1/checkouts/{open_checkout}/refunds")
    assert refused.status_code == 422


def test_control_pay_helper_declines_like_the_page(client: httpx.Client, token: str) -> None:
    checkout_id = create_checkout(client, token)
    response = client.post(
        "/_sandbox/justifi/pay", json={"checkout_id": checkout_id, "card": "4000000000000002"}
    )
    assert response.status_code == 201
    assert response.json()["data"]["payment_status"] == "failed"
    checkout = client.get(f"/justifi/v1/checkouts/{checkout_id}", headers=headers(token)).json()
    assert checkout["data"]["status"] == "attempted"
    bad = client.post("/_sandbox/justifi/pay", json={"checkout_id": checkout_id, "card": "1234"})
    assert bad.status_code == 402


# -- web component tokens ----------------------------------------------------------------


def test_web_component_token_shape(client: httpx.Client, token: str) -> None:
    checkout_id = create_checkout(client, token)
    response = client.post(
        "/justifi/v1/web_component_tokens",
        json={
            "resources": [f"write:checkout:{checkout_id}", f"write:tokenize:{SANDBOX_SUB_ACCOUNT}"]
        },
        headers=headers(token, key=False, sub_account=False),
    )
    assert response.status_code == 200, response.text
    assert_matches_spec(response, "/web_component_tokens", "post")
    body = response.json()
    assert body["expires_in"] == 3600
    assert body["token_type"] == "Bearer"
    assert len(body["access_token"]) > 40
    bad = client.post(
        "/justifi/v1/web_component_tokens",
        json={"resources": ["checkout"]},
        headers=headers(token, key=False),
    )
    assert bad.status_code == 422
    no_auth = client.post("/justifi/v1/web_component_tokens", json={"resources": []})
    assert no_auth.status_code == 401
    assert error_code(no_auth) == "not_authenticated"


def test_web_component_token_is_limited_to_its_resources(client: httpx.Client, token: str) -> None:
    mine, other = create_checkout(client, token), create_checkout(client, token)
    wct = web_component_token(
        client, token, f"write:checkout:{mine}", f"write:tokenize:{SANDBOX_SUB_ACCOUNT}"
    )
    auth = {"Authorization": f"Bearer {wct}"}
    assert client.get(f"/justifi/v1/checkouts/{mine}", headers=auth).status_code == 200
    forbidden = client.get(f"/justifi/v1/checkouts/{other}", headers=auth)
    assert forbidden.status_code == 403
    assert error_code(forbidden) == "not_authorized"
    # It can tokenize for its account and complete its checkout, nothing else.
    body = {"payment_method": {"card": {"name": "A", "number": APPROVE, "month": "12",
            "year": "2040", "verification": "123", "address_postal_code": "55555"}}}  # fmt: skip
    pm = client.post(
        "/justifi/v1/payment_methods",
        json=body,
        headers={**auth, "Sub-Account": SANDBOX_SUB_ACCOUNT, "Idempotency-Key": "t1"},
    )
    assert pm.status_code == 201, pm.text
    other_key = {**auth, "Idempotency-Key": str(uuid.uuid4())}
    done = client.post(
        f"/justifi/v1/checkouts/{other}/complete",
        json={"payment_token": pm.json()["id"]},
        headers=other_key,
    )
    assert done.status_code == 403
    done = client.post(
        f"/justifi/v1/checkouts/{mine}/complete",
        json={"payment_token": pm.json()["id"]},
        headers={**auth, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert done.status_code == 201
    assert done.json()["data"]["payment_status"] == "succeeded"
    for method, path in (
        ("GET", "/justifi/v1/checkouts"),
        ("POST", "/justifi/v1/checkouts"),
        ("GET", f"/justifi/v1/payments/{done.json()['data']['payment_id']}"),
        ("POST", "/justifi/v1/payments"),
        ("POST", "/justifi/v1/web_component_tokens"),
    ):
        response = client.request(
            method,
            path,
            json={} if method == "POST" else None,
            headers={**auth, "Sub-Account": SANDBOX_SUB_ACCOUNT, "Idempotency-Key": "x"},
        )
        assert response.status_code == 403, (method, path, response.text)


def test_web_component_token_with_account_scope_lists_checkouts(
    client: httpx.Client, token: str
) -> None:
    create_checkout(client, token)
    wct = web_component_token(client, token, f"read:account:{SANDBOX_SUB_ACCOUNT}")
    listed = client.get(
        "/justifi/v1/checkouts",
        headers={"Authorization": f"Bearer {wct}", "Account": SANDBOX_SUB_ACCOUNT},
    )
    assert listed.status_code == 200
    assert len(listed.json()["data"]) == 1
    other = client.get(
        "/justifi/v1/checkouts",
        headers={"Authorization": f"Bearer {wct}", "Account": "acc_someone_else"},
    )
    assert other.status_code == 403


def test_web_component_token_expires_after_60_minutes(client: httpx.Client, token: str) -> None:
    checkout_id = create_checkout(client, token)
    wct = web_component_token(client, token, f"write:checkout:{checkout_id}")
    auth = {"Authorization": f"Bearer {wct}"}
    advance_clock(client, 59 * MINUTE)
    assert client.get(f"/justifi/v1/checkouts/{checkout_id}", headers=auth).status_code == 200
    advance_clock(client, MINUTE)
    expired = client.get(f"/justifi/v1/checkouts/{checkout_id}", headers=auth)
    assert expired.status_code == 401
    assert error_code(expired) == "not_authenticated"


def test_analytics_needs_no_auth(client: httpx.Client) -> None:
    response = client.post(
        "/justifi/v1/analytics",
        json={"event_type": "init", "data": {"component_name": "justifi-checkout"}},
        headers={"Origin": "http://127.0.0.1:9999"},
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "http://127.0.0.1:9999"


# -- CORS --------------------------------------------------------------------------------


def test_cors_preflight_and_response_headers(client: httpx.Client, token: str) -> None:
    origin = "http://shop.example:3000"
    checkout_id = create_checkout(client, token)
    preflight = client.options(
        f"/justifi/v1/checkouts/{checkout_id}/complete",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": (
                "authorization,content-type,idempotency-key,justifi-web-component-version"
            ),
        },
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == origin
    allowed = {h.strip() for h in preflight.headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "content-type", "idempotency-key", "justifi-web-component-version",
            "sub-account", "account"} <= allowed  # fmt: skip
    assert "POST" in preflight.headers["access-control-allow-methods"]
    ok = client.get(
        f"/justifi/v1/checkouts/{checkout_id}", headers={**headers(token), "Origin": origin}
    )
    assert ok.headers["access-control-allow-origin"] == origin
    error = client.get(
        "/justifi/v1/checkouts/cho_nope", headers={**headers(token), "Origin": origin}
    )
    assert error.status_code == 404
    assert error.headers["access-control-allow-origin"] == origin
    unauthenticated = client.get(f"/justifi/v1/checkouts/{checkout_id}", headers={"Origin": origin})
    assert unauthenticated.status_code == 401
    assert unauthenticated.headers["access-control-allow-origin"] == origin


# -- iframe pages --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "field",
    ["cardNumber", "expirationMonth", "expirationYear", "CVV", "accountNumber", "routingNumber"],
)
def test_iframe_pages_speak_the_component_protocol(client: httpx.Client, field: str) -> None:
    style = "fontFamily=" + "QXJpYWw="  # base64 "Arial"
    response = client.get(f"/justifi/iframe/v2/{field}?tabId=abc-123?{style}")
    assert response.status_code == 200
    page = response.text
    assert 'id="field"' in page
    assert "font-family: Arial" in page
    assert f"var FIELD = {json.dumps(field)}" in page
    for needle in ('eventType: "validate"', 'eventType: "tokenize"', '"focused"', '"blurred"',
                   "/v1/payment_methods", "iframeResizer.contentWindow.min.js"):  # fmt: skip
        assert needle in page, needle
    assert client.get("/justifi/iframe/v2/ssn").status_code == 404


def card_form_files(folder: Path) -> tuple[Path, Path]:
    """Stand-ins for the verified npm files the app keeps in its assets folder."""
    components = folder / "webcomponents"
    components.mkdir(parents=True)
    (components / "webcomponents.esm.js").write_text("export {};")
    resizer = folder / "iframeResizer.contentWindow.min.js"
    resizer.write_text("/* iframe-resizer child */")
    return components, resizer


def test_iframe_resizer_is_served_once_configured(tmp_path: Path) -> None:
    path = "/justifi/iframe/assets/iframeResizer.contentWindow.min.js"
    components, resizer = card_form_files(tmp_path / "assets")
    with (
        SandboxServer(tmp_path / "state", assets_root=tmp_path / "assets") as server,
        httpx.Client(base_url=server.base_url) as client,
    ):
        assert client.get(path).status_code == 404
        server.serve_component_assets(components, resizer)
        served = client.get(path)
    assert served.status_code == 200
    assert "javascript" in served.headers["content-type"]
    assert served.text == "/* iframe-resizer child */"


def test_component_host_page_and_assets(tmp_path: Path) -> None:
    components, resizer = card_form_files(tmp_path / "assets")
    with SandboxServer(tmp_path / "state", assets_root=tmp_path / "assets") as server:
        server.serve_component_assets(components, resizer)
        with httpx.Client(base_url=server.base_url) as client:
            page = client.get("/justifi/component-host/cho_abc?token=wct_x").text
            asset = client.get("/justifi/component-assets/webcomponents.esm.js")
            escape = client.get("/justifi/component-assets/..%2F..%2Fetc%2Fpasswd")
    provider, checkout = page.index("<justifi-config-provider"), page.index("<justifi-checkout")
    assert provider < checkout
    assert f'api-origin="{server.base_url}/justifi"' in page
    assert 'auth-token="wct_x"' in page
    assert 'checkout-id="cho_abc"' in page
    assert 'type="module"' in page
    assert "window.__events" in page
    assert asset.status_code == 200
    assert "javascript" in asset.headers["content-type"]
    assert escape.status_code == 404


# -- webhooks ------------------------------------------------------------------------------


def test_payment_events_are_signed_justifi_style(client: httpx.Client, token: str) -> None:
    payment = paid(client, token, amount=3000)
    post(client, token, f"/justifi/v1/payments/{payment['id']}/refunds", {"amount": 500})
    events = webhooks(client)
    names = [e["event_type"] for e in events]
    for name in (
        "payment_method.created",
        "payment.created",
        "payment.succeeded",
        "payment.refunded",
    ):
        assert name in names, names
    for event in events:
        body, sent = event["body"], event["headers"]
        timestamp = sent["JUSTIFI-TIMESTAMP"]
        assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", timestamp)
        expected = hmac.new(
            WEBHOOK_SECRET.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256
        ).hexdigest()
        assert hmac.compare_digest(sent["JUSTIFI-SIGNATURE"], expected)
        parsed = json.loads(body)
        assert parsed["event_name"] == event["event_type"]
        assert parsed["version"] == "v1"
        assert parsed["account_type"] == "test"
        assert parsed["account_id"] == SANDBOX_SUB_ACCOUNT
        assert parsed["id"].startswith("evt_")
    refunded = next(json.loads(e["body"]) for e in events if e["event_type"] == "payment.refunded")
    assert refunded["data"]["amount"] == 500
    assert refunded["data"]["id"].startswith("re_")


def test_checkout_events(client: httpx.Client, token: str) -> None:
    checkout_id = create_checkout(client, token)
    client.post(
        "/_sandbox/justifi/pay", json={"checkout_id": checkout_id, "card": "4000000000000002"}
    )
    client.post("/_sandbox/justifi/pay", json={"checkout_id": checkout_id, "card": APPROVE})
    names = [e["event_type"] for e in webhooks(client) if e["event_type"].startswith("checkout")]
    assert names == [
        "checkout.created",
        "checkout.completion.failed",
        "checkout.completion.succeeded",
        "checkout.completed",
    ]


def test_web_component_checkout_posts_are_rate_limited_as_documented(
    client: httpx.Client, token: str
) -> None:
    checkout_id = create_checkout(client, token)
    component = web_component_token(
        client, token, f"write:checkout:{checkout_id}", f"write:tokenize:{SANDBOX_SUB_ACCOUNT}"
    )

    def complete() -> httpx.Response:
        # An unknown payment token: each attempt still counts against the limits.
        return client.post(
            f"/justifi/v1/checkouts/{checkout_id}/complete",
            json={"payment_token": "pm_unknown", "payment_mode": "ecom"},
            headers=headers(component, sub_account=False),
        )

    assert [complete().status_code for _ in range(3)] == [404, 404, 429]  # 2 per 10 s
    assert complete().json()["error"]["code"] == "rate_limit_exceeded"
    for _ in range(4):  # 8 more attempts, 2 per window
        advance_clock(client, 10)
        assert [complete().status_code for _ in range(2)] == [404, 404]
    advance_clock(client, 10)
    limited = complete()  # the 11th attempt: the token is used up, whatever the time
    assert limited.status_code == 429
    assert "create a new token" in limited.json()["error"]["message"]
