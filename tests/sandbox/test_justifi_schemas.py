"""The checkout flow's JustiFi bodies — including errors — validate against JustiFi's bundle."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import pytest
from jsonschema import Draft202012Validator

from pos_sandbox.server import (
    SANDBOX_CLIENT_ID,
    SANDBOX_CLIENT_SECRET,
    SANDBOX_SUB_ACCOUNT,
    SandboxServer,
)
from tests.sandbox.test_justifi_payments import _spec, assert_matches_spec

if TYPE_CHECKING:
    from collections.abc import Iterator


def _fix_spec_defects() -> None:
    """Two defects in JustiFi's bundle, fixed the way a careful reader would: payment-method
    ids are typed as numbers though its own example ("pm_123xyz"), the mocks and every real
    id are strings; and one field has the non-type "array of objects"."""
    bundle, _ = _spec()
    for name in ("CardResponse", "BankAccountResponse", "CardPresentResponse"):
        ident = bundle["components"]["schemas"][name]["properties"]["id"]
        # The test's converter wraps every property as anyOf[<schema>, null].
        for option in ident.get("anyOf", [ident]):
            if option.get("type") == "number":
                option["type"] = "string"

    _walk_fix_types(bundle)


def _walk_fix_types(node: object) -> None:
    """The bundle writes `type: "array of objects"` (e.g. additional_transactions): an array."""
    if isinstance(node, dict):
        if node.get("type") == "array of objects":
            node["type"] = "array"
        for value in node.values():
            _walk_fix_types(value)
    elif isinstance(node, list):
        for value in node:
            _walk_fix_types(value)


_fix_spec_defects()


def assert_object_matches(schema_name: str, instance: object) -> None:
    bundle, registry = _spec()
    validator = Draft202012Validator(
        bundle["components"]["schemas"][schema_name], registry=registry
    )
    errors = list(validator.iter_errors(instance))
    assert not errors, [e.message[:200] for e in errors[:3]]


def assert_error_matches_spec(response: httpx.Response) -> None:
    """Errors share one schema in the bundle (PaymentError), whatever the path."""
    assert_object_matches("PaymentError", response.json())
    assert response.json()["error"]["code"]


@pytest.fixture
def api(sandbox: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{sandbox.base_url}/justifi", timeout=10) as http:
        token = http.post(
            "/oauth/token",
            json={"client_id": SANDBOX_CLIENT_ID, "client_secret": SANDBOX_CLIENT_SECRET},
        )
        assert token.status_code == 200
        assert_matches_spec(token, "/oauth/token", "post")
        http.headers.update(
            {
                "Authorization": f"Bearer {token.json()['access_token']}",
                "Sub-Account": SANDBOX_SUB_ACCOUNT,
            }
        )
        yield http


CARD_WITH_BAD_NUMBER = {
    "name": "Leslie Knope",
    "number": "4242424242424241",
    "verification": "123",
    "month": 12,
    "year": 2030,
    "address_postal_code": "10001",
}


def tokenize(api: httpx.Client, number: str) -> httpx.Response:
    return api.post(
        "/v1/payment_methods",
        headers={"Idempotency-Key": f"pm-{number}"},
        json={
            "payment_method": {
                "card": {
                    "name": "Leslie Knope",
                    "number": number,
                    "verification": "123",
                    "month": 12,
                    "year": 2030,
                    "address_postal_code": "10001",
                }
            }
        },
    )


def test_checkout_create_get_list_and_complete_match_the_spec(api: httpx.Client) -> None:
    created = api.post("/v1/checkouts", json={"amount": 1799, "description": "Donut"})
    assert created.status_code == 201
    assert_matches_spec(created, "/checkouts", "post")
    checkout_id = created.json()["id"]

    method = tokenize(api, "4242424242424242")
    assert method.status_code == 201
    assert_matches_spec(method, "/payment_methods", "post")

    declined = api.post(
        f"/v1/checkouts/{checkout_id}/complete",
        headers={"Idempotency-Key": "complete-1"},
        json={
            "payment_token": tokenize(api, "4000000000000002").json()["id"],
            "payment_mode": "ecom",
        },
    )
    assert declined.status_code == 201
    assert_matches_spec(declined, "/checkouts/{id}/complete", "post")

    completed = api.post(
        f"/v1/checkouts/{checkout_id}/complete",
        headers={"Idempotency-Key": "complete-2"},
        json={"payment_token": method.json()["id"], "payment_mode": "ecom"},
    )
    assert completed.status_code == 201
    assert_matches_spec(completed, "/checkouts/{id}/complete", "post")

    got = api.get(f"/v1/checkouts/{checkout_id}")
    assert_matches_spec(got, "/checkouts/{id}", "get")
    listed = api.get("/v1/checkouts", params={"limit": 5})
    # The bundle declares the list's `data` as one Checkout (a defect: the envelope and
    # JustiFi's own list mock carry an array), so each item is checked against Checkout.
    body = listed.json()
    assert (body["type"], body["id"]) == ("array", None)
    assert set(body["page_info"]) == {"has_previous", "has_next", "start_cursor", "end_cursor"}
    assert [item["id"] for item in body["data"]] == [checkout_id]
    for item in body["data"]:
        assert_object_matches("Checkout", item)


@pytest.mark.parametrize(
    ("request_args", "status"),
    [
        (
            {"method": "POST", "url": "/v1/checkouts", "json": {"amount": 50, "description": "x"}},
            422,
        ),
        ({"method": "GET", "url": "/v1/checkouts/cho_missing"}, 404),
        (
            {
                "method": "POST",
                "url": "/v1/payment_methods",
                "json": {"payment_method": {"card": CARD_WITH_BAD_NUMBER}},
                "headers": {"Idempotency-Key": "bad-card"},
            },
            402,
        ),
    ],
)
def test_error_bodies_match_the_spec(
    api: httpx.Client, request_args: dict[str, object], status: int
) -> None:
    response = api.request(**request_args)  # type: ignore[arg-type]
    assert response.status_code == status, response.text
    assert_error_matches_spec(response)


def test_unauthenticated_calls_match_the_spec(sandbox: SandboxServer) -> None:
    response = httpx.get(f"{sandbox.base_url}/justifi/v1/checkouts/cho_x")
    assert response.status_code == 401
    assert_error_matches_spec(response)
