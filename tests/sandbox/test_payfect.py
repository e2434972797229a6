"""The sandbox's Payfect dialect, over real loopback HTTP, as a client (or a payer) sees it."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import uuid
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from cryptography.fernet import Fernet

from pos_sandbox.credentials import WEBHOOK_SECRETS
from pos_sandbox.payfect.api import SANDBOX_PAYFECT_API_KEY
from pos_sandbox.server import SandboxServer

if TYPE_CHECKING:
    from collections.abc import Iterator

AUTH = {"Authorization": f"Api-Key {SANDBOX_PAYFECT_API_KEY}"}
V1 = "/payfect/api/v1/checkouts/"
SDK = "/payfect/api/checkouts/"
DAY = 24 * 3600

# The keys of Payfect's documented responses (provider-specs/payfect/
# checkout-create.response.example.json and checkout-retrieve.response.example.json, identical
# key sets), copied here so the tests do not depend on files outside the repository.
EXAMPLE_KEYS = {
    "id", "merchant", "nameCollection", "emailCollection", "phoneNumberCollection",
    "shippingAddressCollection", "invoiceItems", "amountTotal", "status", "createdAt",
    "updatedAt", "clientReferenceId", "currency", "successUrl", "cancelUrl", "expiresAt",
    "paymentIntent", "paymentMethodTypes", "paymentMethodOptions", "url", "metadata",
    "isLivemode",
}  # fmt: skip
EXAMPLE_ITEM_KEYS = {"id", "price", "quantity", "amount"}
# callback.payload.example.json
CALLBACK_KEYS = {
    "id", "amount", "status", "currency", "merchant", "is_livemode", "payment_intent",
    "payment_method", "client_reference_id",
}  # fmt: skip


def request_body(unit_amount: Any = "20.5", quantity: int = 1, **extra: Any) -> dict[str, Any]:
    return {
        "client_reference_id": "order-1001",
        "currency": "usdt",
        "invoice_items": [
            {
                "price_data": {
                    "currency": "usdt",
                    "unit_amount": unit_amount,
                    "product_data": {"name": "Standard Plan", "description": "A standard plan"},
                },
                "quantity": quantity,
            }
        ],
        "success_url": "https://example.com/success",
        "cancel_url": "https://example.com/cancel",
        "callback_url": "https://example.com/callback",
        "payment_method_data": {
            "type": "cryptopaymentmethoddetail",
            "paymentMethodDetail": {"currency": "usdt", "network": "tron"},
        },
        **extra,
    }


def create(client: httpx.Client, path: str = V1, **kwargs: Any) -> dict[str, Any]:
    response = client.post(path, json=request_body(**kwargs), headers=AUTH)
    assert response.status_code == 201, response.text
    return dict(response.json())


def get(client: httpx.Client, checkout_id: str, path: str = V1) -> dict[str, Any]:
    response = client.get(f"{path}{checkout_id}/", headers=AUTH)
    assert response.status_code == 200, response.text
    return dict(response.json())


def callbacks(client: httpx.Client, checkout_id: str) -> list[dict[str, Any]]:
    events = client.get("/_sandbox/webhooks", params={"provider": "payfect"}).json()["data"]
    return [e for e in events if json.loads(e["body"])["id"] == checkout_id]


# -- the API -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [V1, SDK])
def test_create_and_retrieve_answer_the_documented_camelcase_object(
    client: httpx.Client, path: str
) -> None:
    checkout = create(client, path)
    assert set(checkout) == EXAMPLE_KEYS
    assert set(checkout["invoiceItems"][0]) == EXAMPLE_ITEM_KEYS
    uuid.UUID(checkout["id"])
    uuid.UUID(checkout["paymentIntent"])
    assert checkout["status"] == "open"
    assert checkout["currency"] == "usdt"
    assert checkout["amountTotal"] == "20.50"
    assert checkout["invoiceItems"][0]["amount"] == "20.50"
    assert checkout["clientReferenceId"] == "order-1001"
    assert checkout["successUrl"] == "https://example.com/success"
    assert checkout["isLivemode"] is False
    assert checkout["metadata"] is None
    assert set(checkout["merchant"]) == {"id", "name"}
    assert checkout["paymentMethodOptions"]["crypto"][0]["networks"] == [
        {"value": "tron", "name": "Tron (TRC20)"}
    ]
    assert re.fullmatch(r"\d+\.\d{6}", checkout["createdAt"])
    assert re.fullmatch(r"\d{13}", checkout["expiresAt"])
    assert int(checkout["expiresAt"]) - float(checkout["createdAt"]) * 1000 == pytest.approx(
        DAY * 1000, abs=1
    )
    assert checkout["url"].endswith(f"/payfect/pay/{checkout['id']}")
    # Both path forms reach the same object.
    assert get(client, checkout["id"], V1) == checkout == get(client, checkout["id"], SDK)


def test_amounts_are_exact_decimal_strings(client: httpx.Client) -> None:
    checkout = create(client, unit_amount=0.1, quantity=3)  # a JSON number, not a string
    assert checkout["invoiceItems"][0]["amount"] == "0.30"
    assert checkout["amountTotal"] == "0.30"
    for amount in (checkout["amountTotal"], *(i["amount"] for i in checkout["invoiceItems"])):
        assert isinstance(amount, str)
    assert isinstance(checkout["invoiceItems"][0]["quantity"], int)


def test_truncate_fault_reproduces_the_documented_echo(client: httpx.Client) -> None:
    assert create(client)["amountTotal"] == "20.50"
    on = client.post("/_sandbox/payfect/faults", json={"truncate_amounts": True})
    assert on.status_code == 200
    assert on.json() == {"truncate_amounts": True}
    echoed = create(client)
    assert echoed["amountTotal"] == "20.00"
    assert echoed["invoiceItems"][0]["amount"] == "20.00"
    assert get(client, echoed["id"])["amountTotal"] == "20.00"
    client.post("/_sandbox/payfect/faults", json={"truncate_amounts": False})
    assert create(client)["amountTotal"] == "20.50"


def test_auth_is_refused_with_drf_details(client: httpx.Client) -> None:
    missing = client.post(V1, json=request_body())
    assert missing.status_code == 401
    assert missing.json() == {"detail": "Authentication credentials were not provided."}
    bearer = client.post(V1, json=request_body(), headers={"Authorization": "Bearer x"})
    assert bearer.status_code == 401
    wrong = client.get(f"{V1}{uuid.uuid4()}/", headers={"Authorization": "Api-Key nope.nope"})
    assert wrong.status_code == 403
    assert wrong.json() == {"detail": "You do not have permission to perform this action."}


@pytest.mark.parametrize(
    ("change", "errors"),
    [
        ({"currency": None}, {"currency": ["This field is required."]}),
        ({"currency": "CNY"}, {"currency": ['"CNY" is not a valid choice.']}),
        (
            {"invoice_items": []},
            {"invoice_items": {"non_field_errors": ["This list may not be empty."]}},
        ),
        ({"success_url": "not a url"}, {"success_url": ["Enter a valid URL."]}),
    ],
)
def test_invalid_checkout_fields_are_400(
    client: httpx.Client, change: dict[str, Any], errors: dict[str, Any]
) -> None:
    body = {**request_body(), **change}
    body = {key: value for key, value in body.items() if value is not None}
    response = client.post(V1, json=body, headers=AUTH)
    assert response.status_code == 400
    assert response.json() == errors


def unit_error(message: str) -> dict[str, Any]:
    return {"price_data": {"unit_amount": [message]}}


@pytest.mark.parametrize(
    ("unit_amount", "quantity", "message"),
    [
        ("abc", 1, unit_error("A valid number is required.")),
        (True, 1, unit_error("A valid number is required.")),
        ("20.555", 1, unit_error("Ensure that there are no more than 2 decimal places.")),
        ("0", 1, unit_error("Ensure this value is greater than or equal to 0.01.")),
        ("1e12", 1, unit_error("Ensure this value is less than or equal to 9999999999.99.")),
        ("1.00", 0, {"quantity": ["Ensure this value is greater than or equal to 1."]}),
        ("1.00", "2", {"quantity": ["A valid integer is required."]}),
    ],
)
def test_invalid_amounts_are_400_per_item(
    client: httpx.Client, unit_amount: Any, quantity: Any, message: dict[str, Any]
) -> None:
    response = client.post(V1, json=request_body(unit_amount, quantity), headers=AUTH)
    assert response.status_code == 400
    assert response.json() == {"invoice_items": [message]}


def test_malformed_requests_get_drf_errors_and_the_sandbox_keeps_serving(
    client: httpx.Client,
) -> None:
    bad_json = client.post(
        V1, content=b"{oops", headers={**AUTH, "Content-Type": "application/json"}
    )
    assert bad_json.status_code == 400
    assert bad_json.json()["detail"].startswith("JSON parse error")
    deep = client.post(
        V1, content=b'{"a":' * 100_000, headers={**AUTH, "Content-Type": "application/json"}
    )
    assert deep.status_code == 400
    assert "detail" in deep.json()
    wrong_type = client.post(V1, content=b"a=1", headers={**AUTH, "Content-Type": "text/plain"})
    assert wrong_type.status_code == 415
    assert wrong_type.json() == {"detail": 'Unsupported media type "text/plain" in request.'}
    unknown = client.get(f"{V1}{uuid.uuid4()}/", headers=AUTH)
    assert unknown.status_code == 404
    assert unknown.json() == {"detail": "Not found."}
    not_uuid = client.get(f"{SDK}not-a-uuid/", headers=AUTH)
    assert not_uuid.status_code == 404
    assert not_uuid.json() == {"detail": "Not found."}
    wrong_method = client.delete(f"{V1}{uuid.uuid4()}/", headers=AUTH)
    assert wrong_method.status_code == 405
    assert wrong_method.json() == {"detail": "Method not allowed."}

    def chunks() -> Iterator[bytes]:
        yield b'{"metadata": {"x": "'
        for _ in range(70):
            yield b"x" * 16384
        yield b'"}}'

    oversize = client.post(
        V1, content=chunks(), headers={**AUTH, "Content-Type": "application/json"}
    )
    assert oversize.status_code == 413
    assert create(client)["status"] == "open"


# -- the customer page, the helper, expiry ------------------------------------------------


def test_the_page_shows_usdt_on_tron_and_its_button_completes(client: httpx.Client) -> None:
    checkout = create(client)
    path = f"/payfect/pay/{checkout['id']}"
    page = client.get(path)
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]
    assert "20.50 USDT" in page.text
    assert "Tron (TRC20)" in page.text
    address = re.search(r'id="deposit-address"[^>]*>(T[1-9A-HJ-NP-Za-km-z]{33})<', page.text)
    assert address is not None
    assert "Payment received" in page.text

    pressed = client.post(path + "/received")
    assert pressed.status_code == 303
    assert pressed.headers["location"] == "https://example.com/success"
    after = get(client, checkout["id"])
    assert after["status"] == "complete"
    assert after["updatedAt"] >= checkout["updatedAt"]
    assert "Payment received" in client.get(path).text
    assert client.get(f"/payfect/pay/{uuid.uuid4()}").status_code == 404


def test_helper_completes_like_the_button(client: httpx.Client) -> None:
    checkout = create(client)
    paid = client.post("/_sandbox/payfect/pay", json={"id": checkout["id"]})
    assert paid.status_code == 200
    assert paid.json()["status"] == "complete"
    assert get(client, checkout["id"], SDK)["status"] == "complete"
    missing = client.post("/_sandbox/payfect/pay", json={"id": str(uuid.uuid4())})
    assert missing.status_code == 404


def test_open_checkouts_expire_on_the_sandbox_clock(client: httpx.Client) -> None:
    checkout = create(client)
    client.post("/_sandbox/clock/advance", json={"seconds": DAY - 60})
    assert get(client, checkout["id"])["status"] == "open"
    client.post("/_sandbox/clock/advance", json={"seconds": 60})
    expired = get(client, checkout["id"])
    assert expired["status"] == "expired"
    assert "Checkout expired" in client.get(f"/payfect/pay/{checkout['id']}").text
    late = client.post(f"/payfect/pay/{checkout['id']}/received")
    assert late.status_code == 200
    assert "Checkout expired" in late.text
    assert client.post("/_sandbox/payfect/pay", json={"id": checkout["id"]}).status_code == 409
    assert get(client, checkout["id"])["status"] == "expired"
    [event] = callbacks(client, checkout["id"])
    assert event["event_type"] == "checkout.expired"
    assert json.loads(event["body"])["status"] == "expired"


def test_a_complete_checkout_never_expires(client: httpx.Client) -> None:
    checkout = create(client)
    client.post("/_sandbox/payfect/pay", json={"id": checkout["id"]})
    client.post("/_sandbox/clock/advance", json={"seconds": 2 * DAY})
    assert get(client, checkout["id"])["status"] == "complete"


# -- callbacks -----------------------------------------------------------------------------


def test_the_callback_is_signed_with_a_fernet_token_of_the_exact_body(
    client: httpx.Client,
) -> None:
    checkout = create(client)
    client.post(f"/payfect/pay/{checkout['id']}/received")
    client.post(f"/payfect/pay/{checkout['id']}/received")  # pressing twice pays once
    [event] = callbacks(client, checkout["id"])
    assert event["event_type"] == "checkout.completed"
    body = json.loads(event["body"])
    assert set(body) == CALLBACK_KEYS
    assert body["status"] == "succeeded"
    assert body["amount"] == "20.50"
    assert body["currency"] == "usdt"
    assert body["client_reference_id"] == "order-1001"
    assert body["merchant"] == checkout["merchant"]["id"]
    assert body["payment_intent"] == checkout["paymentIntent"]
    assert body["payment_method"]["payment_method_detail"] == {
        "network": "tron",
        "currency": "usdt",
    }

    signature = event["headers"]["X-Payfect-Signature"]
    decrypted = Fernet(WEBHOOK_SECRETS["payfect"].encode()).decrypt(signature.encode())
    assert decrypted == event["body"].encode()
    assert json.loads(decrypted) == body


def test_state_survives_a_restart(tmp_path: Any) -> None:
    state = tmp_path / "state"
    with (
        SandboxServer(state) as first,
        httpx.Client(base_url=first.base_url, headers=first.control_headers) as http,
    ):
        checkout = create(http)
        http.post("/_sandbox/payfect/faults", json={"truncate_amounts": True})
    with (
        SandboxServer(state) as second,
        httpx.Client(base_url=second.base_url, headers=second.control_headers) as http,
    ):
        assert get(http, checkout["id"]) == checkout
        assert http.get("/_sandbox/payfect/faults").json() == {"truncate_amounts": True}


def test_a_plain_string_secret_still_signs_callbacks(client: httpx.Client) -> None:
    set_secret = client.post(
        "/_sandbox/webhooks/secret", json={"provider": "payfect", "secret": "not-a-fernet-key"}
    )
    assert set_secret.status_code == 200
    checkout = create(client)
    assert client.post("/_sandbox/payfect/pay", json={"id": checkout["id"]}).status_code == 200
    [event] = callbacks(client, checkout["id"])
    key = base64.urlsafe_b64encode(hashlib.sha256(b"not-a-fernet-key").digest())
    assert (
        Fernet(key).decrypt(event["headers"]["X-Payfect-Signature"].encode())
        == event["body"].encode()
    )
