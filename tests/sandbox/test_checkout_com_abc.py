"""A client using the raw secret key (Checkout.com's "ABC" accounts) gets ABC-valid bodies."""

from __future__ import annotations

import copy
import json
from functools import cache
from typing import TYPE_CHECKING, Any

import jsonschema

from pos_sandbox.checkout_com.api import SANDBOX_SECRET_KEY
from tests.sandbox.test_checkout_com import API, card_token
from tests.specs import provider_spec

if TYPE_CHECKING:
    import httpx

ABC = {"Authorization": SANDBOX_SECRET_KEY}  # the raw key, no "Bearer"


@cache
def _abc_components() -> dict[str, Any]:
    spec = json.loads(
        provider_spec("checkout-com/abc-spec-2023-10-16.assembled.json").read_text("utf-8")
    )
    components: dict[str, Any] = spec["components"]
    return components


def assert_abc(instance: Any, schema_name: str) -> None:
    root = {"$ref": f"#/components/schemas/{schema_name}", "components": _abc_components()}
    jsonschema.Draft7Validator(root).validate(copy.deepcopy(instance))


def test_abc_payment_lifecycle_validates_against_the_abc_spec(client: httpx.Client) -> None:
    body = {
        "source": {"type": "token", "token": card_token(client)},
        "amount": 2500,
        "currency": "EUR",
        "reference": "ABC-1",
        "capture": False,
    }
    created = client.post(f"{API}/payments", json=body, headers=ABC)
    assert created.status_code == 201, created.text
    assert_abc(created.json(), "PaymentResponse")
    payment_id = created.json()["id"]

    capture = client.post(
        f"{API}/payments/{payment_id}/captures", json={"amount": 1000}, headers=ABC
    )
    assert capture.status_code == 202, capture.text
    actions = client.get(f"{API}/payments/{payment_id}/actions", headers=ABC)
    assert actions.status_code == 200
    assert_abc(actions.json(), "PaymentActionsResponse")
    assert [a["type"] for a in actions.json()] == ["Capture", "Authorization"]

    three_ds = client.post(
        f"{API}/payments",
        json={
            **body,
            "source": {"type": "token", "token": card_token(client)},
            "3ds": {"enabled": True},
            "success_url": "https://pos-app.invalid/s",
            "failure_url": "https://pos-app.invalid/f",
        },
        headers=ABC,
    )
    assert three_ds.status_code == 202, three_ds.text
    assert_abc(three_ds.json(), "PaymentAcceptedResponse")


def test_abc_validation_errors_have_the_abc_shape(client: httpx.Client) -> None:
    response = client.post(f"{API}/payments", json={"currency": "EUR"}, headers=ABC)
    assert response.status_code == 422
    assert_abc(response.json(), "ValidationError")
    assert response.headers["Cko-Request-Id"] == response.json()["request_id"]
