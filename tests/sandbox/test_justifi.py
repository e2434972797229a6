"""The sandbox's JustiFi dialect, over real loopback HTTP, as a client (or a shopper) sees it."""

from __future__ import annotations

import json
import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from pos_sandbox.server import (
    SANDBOX_CLIENT_ID,
    SANDBOX_CLIENT_SECRET,
    SANDBOX_SUB_ACCOUNT,
    SandboxServer,
)

if TYPE_CHECKING:
    from pathlib import Path

# The data keys of JustiFi's own mocks (web-component-library mockData/
# mockPostCheckoutSuccess.json and mockPostPaymentMethodsSuccess.json), copied here so the
# tests do not depend on files outside the repository.
MOCK_CHECKOUT_KEYS = {
    "id", "payment_intent_id", "account_id", "platform_account_id", "payment_amount",
    "payment_currency", "payment_description", "payment_methods", "payment_method_group_id",
    "status", "mode", "payment_settings", "successful_payment_id", "statement_descriptor",
    "application_fees", "created_at", "updated_at", "total_amount", "insurance_amount",
    "payment_client_id", "completions", "bnpl",
}  # fmt: skip
MOCK_PAYMENT_METHOD_KEYS = {"signature", "customer_id", "account_id", "status", "invalid_reason"}
MOCK_CARD_KEYS = {
    "id", "name", "acct_last_four", "brand", "token", "month", "year", "metadata",
    "address_line1_check", "address_postal_code_check", "bin_details",
}  # fmt: skip
ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
WEEK = 7 * 24 * 3600

APPROVE = "4242424242424242"
DECLINE = "4000000000000002"


# -- helpers -------------------------------------------------------------------------------


def get_token(client: httpx.Client) -> str:
    response = client.post(
        "/justifi/oauth/token",
        json={"client_id": SANDBOX_CLIENT_ID, "client_secret": SANDBOX_CLIENT_SECRET},
    )
    assert response.status_code == 200
    return str(response.json()["access_token"])


def headers(token: str, *, key: str | None = None, sub_account: bool = True) -> dict[str, str]:
    result = {"Authorization": f"Bearer {token}"}
    if sub_account:
        result["Sub-Account"] = SANDBOX_SUB_ACCOUNT
    if key is not None:
        result["Idempotency-Key"] = key
    return result


@pytest.fixture
def token(client: httpx.Client) -> str:
    return get_token(client)


def create_checkout(client: httpx.Client, token: str, amount: int = 1799, **extra: Any) -> str:
    body = {"amount": amount, "description": "One Chocolate Donut", **extra}
    response = client.post("/justifi/v1/checkouts", json=body, headers=headers(token))
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def tokenize(client: httpx.Client, token: str, number: str, **card: Any) -> httpx.Response:
    body = {
        "payment_method": {
            "card": {
                "name": "Leslie Knope",
                "number": number,
                "verification": "123",
                "month": "12",
                "year": "2040",
                "address_postal_code": "55555",
                **card,
            }
        }
    }
    return client.post(
        "/justifi/v1/payment_methods", json=body, headers=headers(token, key=str(uuid.uuid4()))
    )


def card_token(client: httpx.Client, token: str, number: str) -> str:
    response = tokenize(client, token, number)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def complete(
    client: httpx.Client, token: str, checkout_id: str, payment_token: str, key: str | None = None
) -> httpx.Response:
    return client.post(
        f"/justifi/v1/checkouts/{checkout_id}/complete",
        json={"payment_token": payment_token, "payment_mode": "ecom"},
        headers=headers(token, key=key or str(uuid.uuid4()), sub_account=False),
    )


def get_checkout(client: httpx.Client, token: str, checkout_id: str) -> dict[str, Any]:
    response = client.get(f"/justifi/v1/checkouts/{checkout_id}", headers=headers(token))
    assert response.status_code == 200
    return dict(response.json()["data"])


def error_code(response: httpx.Response) -> str:
    return str(response.json()["error"]["code"])


def advance_clock(client: httpx.Client, seconds: float) -> None:
    assert client.post("/_sandbox/clock/advance", json={"seconds": seconds}).status_code == 200


class Page(HTMLParser):
    """Elements of an HTML page by id: tag, attributes and text content."""

    VOID: ClassVar[set[str]] = {"input", "meta", "br", "img", "link", "hr"}

    def __init__(self, text: str) -> None:
        super().__init__()
        self.elements: dict[str, dict[str, Any]] = {}
        self._open: list[tuple[str, str | None]] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        element_id = attributes.get("id")
        if element_id:
            self.elements[element_id] = {"tag": tag, "attrs": attributes, "text": ""}
        if tag not in self.VOID:
            self._open.append((tag, element_id))

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            open_tag, _ = self._open.pop()
            if open_tag == tag:
                break

    def handle_data(self, data: str) -> None:
        for _, element_id in self._open:
            if element_id:
                self.elements[element_id]["text"] += data

    def text(self, element_id: str) -> str:
        return " ".join(self.elements[element_id]["text"].split())

    def attr(self, element_id: str, name: str) -> str | None:
        value = self.elements[element_id]["attrs"].get(name)
        return None if value is None else str(value)


def card_form(number: str, **overrides: str) -> dict[str, str]:
    return {
        "cardholder_name": "Leslie Knope",
        "card_number": number,
        "card_expiry": "12/40",
        "card_cvc": "123",
        "postal_code": "55555",
        **overrides,
    }


# -- authentication ------------------------------------------------------------------------


def test_test_credentials_get_a_long_access_token(client: httpx.Client) -> None:
    response = client.post(
        "/justifi/oauth/token",
        json={"client_id": "test_any_client", "client_secret": "anything"},
    )

    assert response.status_code == 200
    assert list(response.json()) == ["access_token"]
    assert len(response.json()["access_token"]) >= 40


@pytest.mark.parametrize(
    "credentials",
    [
        {"client_id": "live_real_client", "client_secret": "secret"},
        {"client_id": "test_client", "client_secret": ""},
        {"client_id": "test_client"},
        {},
    ],
)
def test_live_or_incomplete_credentials_are_refused(
    client: httpx.Client, credentials: dict[str, str]
) -> None:
    response = client.post("/justifi/oauth/token", json=credentials)

    assert response.status_code == 401
    assert error_code(response) == "not_authenticated"


@pytest.mark.parametrize("authorization", [None, "Bearer not-a-token", "Basic dXNlcjpwYXNz"])
def test_api_calls_need_a_valid_bearer_token(
    client: httpx.Client, authorization: str | None
) -> None:
    request_headers = {"Sub-Account": SANDBOX_SUB_ACCOUNT}
    if authorization:
        request_headers["Authorization"] = authorization

    response = client.post(
        "/justifi/v1/checkouts",
        json={"amount": 1799, "description": "x"},
        headers=request_headers,
    )

    assert response.status_code == 401
    assert response.json() == {
        "error": {"code": "not_authenticated", "message": "Not authenticated"}
    }


def test_tokens_expire_after_24_hours(client: httpx.Client, token: str) -> None:
    advance_clock(client, 24 * 3600 - 1)
    assert client.get("/justifi/v1/checkouts", headers=headers(token)).status_code == 200

    advance_clock(client, 1)
    assert client.get("/justifi/v1/checkouts", headers=headers(token)).status_code == 401


def test_expire_tokens_control_forces_a_new_token(client: httpx.Client, token: str) -> None:
    assert client.post("/_sandbox/justifi/expire-tokens").status_code == 200

    assert client.get("/justifi/v1/checkouts", headers=headers(token)).status_code == 401
    fresh = get_token(client)
    assert client.get("/justifi/v1/checkouts", headers=headers(fresh)).status_code == 200


# -- creating checkouts --------------------------------------------------------------------


def test_create_checkout_returns_a_full_checkout_envelope(client: httpx.Client, token: str) -> None:
    response = client.post(
        "/justifi/v1/checkouts",
        json={
            "amount": 1799,
            "description": "One Chocolate Donut",
            "origin_url": "http://localhost:3000",
            "metadata": {"sale": "S-1"},
            "statement_descriptor": "Sandbox Store",
        },
        headers=headers(token),
    )

    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "type", "data", "page_info"}
    assert body["type"] == "checkout"
    assert body["page_info"] is None
    data = body["data"]
    assert set(data) >= MOCK_CHECKOUT_KEYS
    assert re.fullmatch(r"cho_[A-Za-z0-9]{21,22}", data["id"])
    assert body["id"] == data["id"]
    assert data["account_id"] == SANDBOX_SUB_ACCOUNT
    assert data["payment_amount"] == data["total_amount"] == 1799
    assert data["payment_currency"] == "USD"
    assert data["payment_description"] == "One Chocolate Donut"
    assert data["status"] == "created"
    assert data["mode"] == "test"
    assert data["payment_methods"] == []
    assert data["completions"] == []
    assert data["successful_payment_id"] is None
    assert data["metadata"] == {"sale": "S-1"}
    assert data["statement_descriptor"] == "Sandbox Store"
    assert data["insurance_amount"] == 0
    assert data["payment_settings"]["credit_card_payments"] is True
    assert all(isinstance(value, bool) for value in data["payment_settings"].values())
    assert ISO_MS.match(data["created_at"])
    assert ISO_MS.match(data["updated_at"])


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"amount": 50, "description": "x"}, 422, "amount_below_minimum"),
        ({"amount": 17.99, "description": "x"}, 422, "amount_must_be_an_integer"),
        ({"amount": "1799", "description": "x"}, 422, "amount_must_be_an_integer"),
        ({"amount": 100_000_000, "description": "x"}, 422, "amount_above_maximum"),
        ({"description": "x"}, 422, "amount_required"),
        ({"amount": 1799}, 422, "parameter_missing"),
    ],
)
def test_invalid_checkout_requests_are_rejected(
    client: httpx.Client, token: str, body: dict[str, Any], status: int, code: str
) -> None:
    response = client.post("/justifi/v1/checkouts", json=body, headers=headers(token))

    assert response.status_code == status
    assert error_code(response) == code
    assert response.json()["error"]["message"]


def test_the_smallest_allowed_amount_is_51_cents(client: httpx.Client, token: str) -> None:
    create_checkout(client, token, amount=51)


def test_checkout_needs_a_known_sub_account(client: httpx.Client, token: str) -> None:
    body = {"amount": 1799, "description": "x"}

    missing = client.post(
        "/justifi/v1/checkouts", json=body, headers=headers(token, sub_account=False)
    )
    unknown = client.post(
        "/justifi/v1/checkouts",
        json=body,
        headers={**headers(token), "Sub-Account": "acc_SomebodyElse"},
    )

    assert missing.status_code == 400
    assert "Sub-Account" in missing.json()["error"]["message"]
    assert unknown.status_code == 403
    assert error_code(unknown) == "not_authorized"


# -- reading checkouts ---------------------------------------------------------------------


def test_get_checkout_and_unknown_checkout(client: httpx.Client, token: str) -> None:
    checkout_id = create_checkout(client, token)

    found = client.get(f"/justifi/v1/checkouts/{checkout_id}", headers=headers(token))
    unknown = client.get("/justifi/v1/checkouts/cho_doesNotExist", headers=headers(token))

    assert found.status_code == 200
    assert found.json()["type"] == "checkout"
    assert found.json()["data"]["id"] == checkout_id
    assert unknown.status_code == 404
    assert error_code(unknown) == "resource_not_found"


def test_list_pages_newest_first_with_cursors(client: httpx.Client, token: str) -> None:
    created = [create_checkout(client, token, amount=100 + n) for n in range(5)]
    newest_first = list(reversed(created))

    def page(**params: Any) -> dict[str, Any]:
        response = client.get("/justifi/v1/checkouts", params=params, headers=headers(token))
        assert response.status_code == 200
        return dict(response.json())

    first = page(limit=2)
    assert first["id"] is None
    assert first["type"] == "array"
    assert [c["id"] for c in first["data"]] == newest_first[:2]
    assert first["page_info"]["has_previous"] is False
    assert first["page_info"]["has_next"] is True

    second = page(limit=2, after_cursor=first["page_info"]["end_cursor"])
    assert [c["id"] for c in second["data"]] == newest_first[2:4]
    assert second["page_info"]["has_previous"] is True
    assert second["page_info"]["has_next"] is True

    last = page(limit=2, after_cursor=second["page_info"]["end_cursor"])
    assert [c["id"] for c in last["data"]] == newest_first[4:]
    assert last["page_info"]["has_next"] is False

    back = page(limit=2, before_cursor=second["page_info"]["start_cursor"])
    assert [c["id"] for c in back["data"]] == newest_first[:2]
    assert back["page_info"]["has_previous"] is False

    assert len(page(limit="lots")["data"]) == 5  # invalid limit → default of 25


def test_list_filters_by_status(client: httpx.Client, token: str) -> None:
    paid = create_checkout(client, token)
    open_checkout = create_checkout(client, token)
    assert complete(client, token, paid, card_token(client, token, APPROVE)).status_code == 201

    def ids(**params: str) -> list[str]:
        response = client.get("/justifi/v1/checkouts", params=params, headers=headers(token))
        return [c["id"] for c in response.json()["data"]]

    assert ids(status="completed") == [paid]
    assert ids(status="created") == [open_checkout]
    assert ids(payment_status="succeeded") == [paid]


# -- tokenizing cards ----------------------------------------------------------------------


def test_tokenizing_a_card_returns_a_payment_method(client: httpx.Client, token: str) -> None:
    response = tokenize(client, token, "4242 4242 4242 4242")

    assert response.status_code == 201
    body = response.json()
    assert body["type"] == "payment_method"
    assert re.fullmatch(r"pm_[A-Za-z0-9]{21,22}", body["id"])
    data = body["data"]
    assert set(data) >= MOCK_PAYMENT_METHOD_KEYS
    assert set(data["card"]) >= MOCK_CARD_KEYS
    assert data["card"]["token"] == body["id"]
    assert data["card"]["acct_last_four"] == "4242"
    assert data["card"]["brand"] == "visa"
    assert "number" not in json.dumps(body)


@pytest.mark.parametrize(
    ("number", "card", "status", "code"),
    [
        ("4242424242424241", {}, 402, "card_number_invalid"),
        (APPROVE, {"year": "2020"}, 402, "expired_card"),
        (APPROVE, {"verification": "12"}, 402, "invalid_cvc"),
        (APPROVE, {"month": "13"}, 422, "month_invalid"),
        (APPROVE, {"name": ""}, 422, "card_name_required"),
    ],
)
def test_cards_that_cannot_be_tokenized(
    client: httpx.Client,
    token: str,
    number: str,
    card: dict[str, str],
    status: int,
    code: str,
) -> None:
    response = tokenize(client, token, number, **card)

    assert response.status_code == status
    assert error_code(response) == code


# -- completing checkouts ------------------------------------------------------------------


def test_approved_card_completes_the_checkout(client: httpx.Client, token: str) -> None:
    checkout_id = create_checkout(client, token)
    payment_token = card_token(client, token, APPROVE)

    response = complete(client, token, checkout_id, payment_token)

    assert response.status_code == 201
    body = response.json()
    assert body["type"] == "checkout_completion"
    completion = body["data"]
    assert re.fullmatch(r"chc_[A-Za-z0-9]{21,22}", completion["id"])
    assert completion["payment_status"] == "succeeded"
    assert completion["checkout_id"] == checkout_id
    assert completion["payment_method_id"] == payment_token
    assert completion["payment_response"]["data"]["amount"] == 1799
    assert completion["checkout"]["status"] == "completed"

    payment_id = completion["payment_id"]
    payment = client.get(f"/justifi/v1/payments/{payment_id}", headers=headers(token))
    assert payment.status_code == 200
    assert payment.json()["type"] == "payment"
    payment_data = payment.json()["data"]
    assert payment_data["status"] == "succeeded"
    assert payment_data["captured"] is True
    assert payment_data["capture_strategy"] == "automatic"
    assert payment_data["amount"] == payment_data["amount_refundable"] == 1799
    assert payment_data["currency"] == "usd"
    assert payment_data["checkout_id"] == checkout_id
    assert payment_data["payment_method"]["card"]["acct_last_four"] == "4242"

    checkout = get_checkout(client, token, checkout_id)
    assert checkout["status"] == "completed"
    assert checkout["successful_payment_id"] == payment_id
    assert [c["payment_status"] for c in checkout["completions"]] == ["succeeded"]


def test_decline_is_a_failed_completion_and_another_card_can_pay(
    client: httpx.Client, token: str
) -> None:
    checkout_id = create_checkout(client, token)

    declined = complete(client, token, checkout_id, card_token(client, token, DECLINE))

    assert declined.status_code == 201
    failed = declined.json()["data"]
    assert failed["payment_status"] == "failed"
    assert failed["payment_error_code"] == "card_declined"
    assert failed["payment_error_description"] == "Your card was declined."
    assert failed["payment_response"]["error"]["code"] == "card_declined"
    assert failed["payment_id"] is None
    checkout = get_checkout(client, token, checkout_id)
    assert checkout["status"] == "attempted"
    assert checkout["successful_payment_id"] is None
    assert [c["payment_error_code"] for c in checkout["completions"]] == ["card_declined"]

    approved = complete(client, token, checkout_id, card_token(client, token, APPROVE))

    assert approved.status_code == 201
    assert approved.json()["data"]["payment_status"] == "succeeded"
    checkout = get_checkout(client, token, checkout_id)
    assert checkout["status"] == "completed"
    assert [c["payment_status"] for c in checkout["completions"]] == ["failed", "succeeded"]


@pytest.mark.parametrize(
    ("number", "code", "decline_code"),
    [
        ("4000000000009995", "card_declined", "insufficient_funds"),
        ("4000000000009987", "card_declined", "lost_card"),
        ("4000000000009979", "card_declined", "stolen_card"),
        ("4000000000000069", "expired_card", "expired_card"),
        ("4000000000000127", "invalid_cvc", "invalid_cvc"),
        ("4000000000000119", "gateway_error", None),
        ("4000000000000341", "card_declined", "do_not_honor"),
        ("4000000000000101", "invalid_cvc", "invalid_cvc"),
    ],
)
def test_decline_test_cards(
    client: httpx.Client, token: str, number: str, code: str, decline_code: str | None
) -> None:
    checkout_id = create_checkout(client, token)

    response = complete(client, token, checkout_id, card_token(client, token, number))

    assert response.status_code == 201
    completion = response.json()["data"]
    assert completion["payment_status"] == "failed"
    assert completion["payment_error_code"] == code
    assert completion["payment_response"]["error"]["decline_code"] == decline_code


def test_completing_a_completed_checkout_is_an_error(client: httpx.Client, token: str) -> None:
    checkout_id = create_checkout(client, token)
    assert complete(client, token, checkout_id, card_token(client, token, APPROVE)).is_success

    again = complete(client, token, checkout_id, card_token(client, token, APPROVE))

    assert again.status_code == 422
    assert error_code(again) == "checkout_already_completed"


def test_unknown_payment_token_is_not_found(client: httpx.Client, token: str) -> None:
    checkout_id = create_checkout(client, token)

    response = complete(client, token, checkout_id, "pm_doesNotExist")

    assert response.status_code == 404
    assert error_code(response) == "payment_method_not_found"
    assert get_checkout(client, token, checkout_id)["status"] == "created"


# -- idempotency ---------------------------------------------------------------------------


def test_create_retried_with_the_same_key_returns_the_same_checkout(
    client: httpx.Client, token: str
) -> None:
    body = {"amount": 1799, "description": "One Chocolate Donut"}
    request_headers = headers(token, key="sale-1-create")

    first = client.post("/justifi/v1/checkouts", json=body, headers=request_headers)
    retry = client.post("/justifi/v1/checkouts", json=body, headers=request_headers)

    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    listed = client.get("/justifi/v1/checkouts", headers=headers(token)).json()["data"]
    assert [c["id"] for c in listed] == [first.json()["id"]]


def test_same_key_replays_the_original_completion(client: httpx.Client, token: str) -> None:
    checkout_id = create_checkout(client, token)
    payment_token = card_token(client, token, APPROVE)

    first = complete(client, token, checkout_id, payment_token, key="sale-1-complete")
    replay = complete(client, token, checkout_id, payment_token, key="sale-1-complete")

    assert first.status_code == replay.status_code == 201
    assert replay.json() == first.json()
    assert len(get_checkout(client, token, checkout_id)["completions"]) == 1


def test_same_key_with_other_params_is_refused(client: httpx.Client, token: str) -> None:
    checkout_id = create_checkout(client, token)
    declined = complete(client, token, checkout_id, card_token(client, token, DECLINE), key="k")
    assert declined.status_code == 201

    other = complete(client, token, checkout_id, card_token(client, token, APPROVE), key="k")

    assert other.status_code == 422
    assert error_code(other) == "idempotency_params_mismatch"
    assert get_checkout(client, token, checkout_id)["status"] == "attempted"


def test_complete_requires_an_idempotency_key(client: httpx.Client, token: str) -> None:
    checkout_id = create_checkout(client, token)

    response = client.post(
        f"/justifi/v1/checkouts/{checkout_id}/complete",
        json={"payment_token": card_token(client, token, APPROVE)},
        headers=headers(token),
    )

    assert response.status_code == 422
    assert error_code(response) == "idempotency_key_required"
    assert get_checkout(client, token, checkout_id)["status"] == "created"


def test_idempotency_key_longer_than_100_characters_is_refused(
    client: httpx.Client, token: str
) -> None:
    checkout_id = create_checkout(client, token)

    response = complete(client, token, checkout_id, card_token(client, token, APPROVE), "k" * 101)

    assert response.status_code == 422
    assert response.json()["error"]["message"] == (
        "Validation failed: Idempotency key is too long (maximum is 100 characters)"
    )


def test_same_key_while_the_first_request_is_in_flight_is_409(
    sandbox: SandboxServer, client: httpx.Client, token: str
) -> None:
    checkout_id = create_checkout(client, token)
    payment_token = card_token(client, token, APPROVE)
    assert client.post("/_sandbox/justifi/hold-requests", json={"enabled": True}).is_success

    with (
        ThreadPoolExecutor(max_workers=1) as pool,
        httpx.Client(
            base_url=sandbox.base_url, headers=sandbox.control_headers, timeout=10
        ) as other_client,
    ):
        first = pool.submit(complete, other_client, token, checkout_id, payment_token, "k-1")
        parked = client.post("/_sandbox/justifi/held-requests/wait", json={"count": 1})
        assert parked.status_code == 200

        concurrent = complete(client, token, checkout_id, payment_token, key="k-1")

        assert concurrent.status_code == 409
        assert error_code(concurrent) == "idempotency_request_in_progress"
        assert client.post("/_sandbox/justifi/hold-requests", json={"enabled": False}).is_success
        original = first.result(timeout=10)

    assert original.status_code == 201
    retry = complete(client, token, checkout_id, payment_token, key="k-1")
    assert retry.status_code == 201
    assert retry.json() == original.json()


# -- expiry --------------------------------------------------------------------------------


def test_checkout_expires_a_week_after_creation(client: httpx.Client, token: str) -> None:
    checkout_id = create_checkout(client, token)
    payment_token = card_token(client, token, APPROVE)

    advance_clock(client, WEEK - 1)
    token = get_token(client)  # the first one has long expired
    assert get_checkout(client, token, checkout_id)["status"] == "created"

    advance_clock(client, 1)
    assert get_checkout(client, token, checkout_id)["status"] == "expired"
    response = complete(client, token, checkout_id, payment_token)
    assert response.status_code == 422
    assert error_code(response) == "checkout_expired"
    expired = client.get(
        "/justifi/v1/checkouts", params={"status": "expired"}, headers=headers(token)
    )
    assert [c["id"] for c in expired.json()["data"]] == [checkout_id]


def test_completed_checkout_never_expires(client: httpx.Client, token: str) -> None:
    checkout_id = create_checkout(client, token)
    assert complete(client, token, checkout_id, card_token(client, token, APPROVE)).is_success

    advance_clock(client, 2 * WEEK)

    assert get_checkout(client, get_token(client), checkout_id)["status"] == "completed"


# -- hosted checkout page ------------------------------------------------------------------


def test_hosted_page_shows_the_sale_and_a_card_form(client: httpx.Client, token: str) -> None:
    checkout_id = create_checkout(client, token)

    response = client.get(f"/justifi/hosted-checkout/{checkout_id}")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = Page(response.text)
    assert page.text("checkout-amount") == "$17.99"
    assert page.text("checkout-description") == "One Chocolate Donut"
    assert page.text("merchant-name") == "Sandbox Store"
    assert page.text("pay-button") == "Pay $17.99"
    assert page.attr("payment-form", "method") == "post"
    assert page.attr("form-error", "role") == "alert"
    assert page.text("form-error") == ""
    for element_id, autocomplete in [
        ("cardholder-name", "cc-name"),
        ("card-number", "cc-number"),
        ("card-expiry", "cc-exp"),
        ("card-cvc", "cc-csc"),
        ("postal-code", "postal-code"),
    ]:
        assert page.attr(element_id, "autocomplete") == autocomplete
        assert f'<label for="{element_id}">' in response.text
    assert page.attr("card-number", "inputmode") == "numeric"
    assert "4242 4242 4242 4242" in response.text
    assert "4000 0000 0000 0002" in response.text
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", response.text)  # all inline


def test_paying_on_the_page_redirects_to_the_success_url(client: httpx.Client, token: str) -> None:
    checkout_id = create_checkout(client, token)
    success_url = "https://pos.example/done?sale=S-1"
    page = Page(
        client.get(
            f"/justifi/hosted-checkout/{checkout_id}",
            params={"success_redirect_url": success_url},
        ).text
    )
    action = page.attr("payment-form", "action")
    assert action is not None

    response = client.post(
        action,
        data={**card_form("4242 4242 4242 4242"), "success_redirect_url": success_url},
    )

    assert response.status_code == 303
    location = urlsplit(response.headers["location"])
    assert (location.scheme, location.netloc, location.path) == ("https", "pos.example", "/done")
    assert parse_qs(location.query) == {"sale": ["S-1"], "checkout_id": [checkout_id]}
    checkout = get_checkout(client, token, checkout_id)
    assert checkout["status"] == "completed"
    assert checkout["completions"][0]["payment_response"]["data"]["amount"] == 1799


def test_declined_card_on_the_page_shows_the_reason_and_allows_another_card(
    client: httpx.Client, token: str
) -> None:
    checkout_id = create_checkout(client, token)
    pay_url = f"/justifi/hosted-checkout/{checkout_id}/pay"

    declined = client.post(pay_url, data=card_form("4000 0000 0000 0002"))

    assert declined.status_code == 402
    page = Page(declined.text)
    assert page.text("form-error") == "Your card was declined."
    assert page.attr("card-number", "value") == ""
    assert page.attr("cardholder-name", "value") == "Leslie Knope"
    assert get_checkout(client, token, checkout_id)["status"] == "attempted"

    approved = client.post(pay_url, data=card_form(APPROVE))

    assert approved.status_code == 303
    assert approved.headers["location"] == f"/justifi/hosted-checkout/{checkout_id}"
    done = Page(client.get(approved.headers["location"]).text)
    assert done.text("checkout-complete-title") == "Checkout Complete"
    assert get_checkout(client, token, checkout_id)["status"] == "completed"


@pytest.mark.parametrize(
    ("fields", "field_id", "message"),
    [
        ({"card_number": "4242424242424241"}, "card-number", "Your card number is invalid."),
        ({"card_expiry": "01/20"}, "card-expiry", "Your card has expired."),
        ({"card_expiry": "13/40"}, "card-expiry", "Enter the expiry date as MM/YY."),
        ({"cardholder_name": " "}, "cardholder-name", "Enter the name on the card."),
        ({"postal_code": ""}, "postal-code", "Enter your postal code."),
    ],
)
def test_invalid_card_details_are_explained_and_nothing_is_charged(
    client: httpx.Client, token: str, fields: dict[str, str], field_id: str, message: str
) -> None:
    checkout_id = create_checkout(client, token)

    response = client.post(
        f"/justifi/hosted-checkout/{checkout_id}/pay", data=card_form(APPROVE, **fields)
    )

    assert response.status_code == 422
    page = Page(response.text)
    assert page.text("form-error") == "Please check the highlighted fields."
    assert page.text(f"{field_id}-error") == message
    assert page.attr(field_id, "aria-invalid") == "true"
    checkout = get_checkout(client, token, checkout_id)
    assert checkout["status"] == "created"
    assert checkout["completions"] == []


def test_unsafe_success_url_is_ignored(client: httpx.Client, token: str) -> None:
    checkout_id = create_checkout(client, token)

    response = client.post(
        f"/justifi/hosted-checkout/{checkout_id}/pay",
        data={**card_form(APPROVE), "success_redirect_url": "javascript:alert(1)"},
    )

    assert response.status_code == 303
    assert response.headers["location"] == f"/justifi/hosted-checkout/{checkout_id}"


def test_end_pages_for_completed_expired_and_unknown_checkouts(
    client: httpx.Client, token: str
) -> None:
    completed = create_checkout(client, token)
    assert complete(client, token, completed, card_token(client, token, APPROVE)).is_success
    expiring = create_checkout(client, token)

    done = client.get(f"/justifi/hosted-checkout/{completed}")
    advance_clock(client, WEEK)
    expired = client.get(f"/justifi/hosted-checkout/{expiring}")
    unknown = client.get("/justifi/hosted-checkout/cho_doesNotExist")

    assert done.status_code == 200
    assert Page(done.text).text("checkout-complete-title") == "Checkout Complete"
    assert "payment-form" not in Page(done.text).elements
    assert expired.status_code == 200
    assert Page(expired.text).text("checkout-expired-title") == "Checkout Session Expired"
    assert unknown.status_code == 404
    assert "checkout-not-found" in Page(unknown.text).elements


# -- persistence and control API -----------------------------------------------------------


def test_state_survives_a_restart(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    with (
        SandboxServer(state_dir) as first,
        httpx.Client(base_url=first.base_url, headers=first.control_headers) as client,
    ):
        token = get_token(client)
        checkout_id = create_checkout(client, token)
        payment_token = card_token(client, token, APPROVE)
        completion = complete(client, token, checkout_id, payment_token, key="restart-key")
        before = get_checkout(client, token, checkout_id)

    with (
        SandboxServer(state_dir) as second,
        httpx.Client(base_url=second.base_url, headers=second.control_headers) as client,
    ):
        assert get_checkout(client, token, checkout_id) == before
        replay = complete(client, token, checkout_id, payment_token, key="restart-key")
        assert replay.status_code == 201
        assert replay.json() == completion.json()


def test_health_and_clock_control(client: httpx.Client) -> None:
    assert client.get("/_sandbox/health").json() == {"status": "ok"}
    before = client.get("/_sandbox/clock").json()["now"]

    after = client.post("/_sandbox/clock/advance", json={"seconds": 3600}).json()["now"]

    assert after > before
    assert client.post("/_sandbox/clock/advance", json={"seconds": -1}).status_code == 400


# -- legacy hosted flow: payment intents + checkout sessions -------------------------------


def create_intent(client: httpx.Client, token: str, amount: int = 2200) -> str:
    response = client.post(
        "/justifi/v1/payment_intents",
        json={"amount": amount, "currency": "usd", "description": "Order 7"},
        headers=headers(token, key=str(uuid.uuid4())),
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["type"] == "payment_intent"
    assert body["id"].startswith("pi_")
    assert body["data"]["status"] == "requires_payment_method"
    return str(body["id"])


def create_session(client: httpx.Client, token: str, intent_id: str) -> str:
    response = client.post(
        "/justifi/v1/checkout_sessions",
        json={
            "payment_intent_id": intent_id,
            "after_payment_url": "https://pos.example/paid?sale=9",
            "back_url": "https://pos.example/back",
        },
        headers=headers(token, sub_account=False),
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["type"] == "checkout_session"
    session_id = str(body["data"]["checkout_session_id"])
    assert re.fullmatch(r"[0-9a-f]{64}", session_id)
    return session_id


def test_checkout_session_page_pays_the_intent_and_redirects(
    client: httpx.Client, token: str
) -> None:
    intent_id = create_intent(client, token)
    session_id = create_session(client, token, intent_id)
    page = Page(client.get(f"/justifi/r/{session_id}").text)
    assert page.attr("back-link", "href") == "https://pos.example/back"
    action = page.attr("payment-form", "action")
    assert action == f"/justifi/r/{session_id}/pay"
    declined = client.post(action, data=card_form("4000000000000002"))
    assert declined.status_code == 402
    assert "declined" in Page(declined.text).text("form-error").lower()
    paid = client.post(action, data=card_form("4242424242424242"))
    assert paid.status_code == 303
    assert paid.headers["location"] == "https://pos.example/paid?sale=9"
    intent = client.get(f"/justifi/v1/payment_intents/{intent_id}", headers=headers(token))
    data = intent.json()["data"]
    assert data["status"] == "succeeded"
    assert data["successful_payment_id"].startswith("py_")
    payments = client.get(
        f"/justifi/v1/payment_intents/{intent_id}/payments", headers=headers(token)
    ).json()["data"]
    assert sorted(p["status"] for p in payments) == ["failed", "succeeded"]
    again = client.get(f"/justifi/r/{session_id}")
    assert again.status_code == 303


def test_checkout_session_expires_after_24_hours(client: httpx.Client, token: str) -> None:
    session_id = create_session(client, token, create_intent(client, token))
    advance_clock(client, 24 * 3600)
    expired = client.get(f"/justifi/r/{session_id}")
    assert expired.status_code == 410
    assert Page(expired.text).text("checkout-expired")
    assert client.get(f"/justifi/r/{'0' * 64}").status_code == 404


def test_checkout_session_needs_an_intent_and_a_safe_url(client: httpx.Client, token: str) -> None:
    bad = client.post(
        "/justifi/v1/checkout_sessions",
        json={"payment_intent_id": "pi_missing", "after_payment_url": "https://x.example/"},
        headers=headers(token),
    )
    assert bad.status_code == 404
    unsafe = client.post(
        "/justifi/v1/checkout_sessions",
        json={"payment_intent_id": create_intent(client, token), "after_payment_url": "ftp://x"},
        headers=headers(token),
    )
    assert unsafe.status_code == 422
    missing = client.post(
        "/justifi/v1/checkout_sessions",
        json={"after_payment_url": "https://x/"},
        headers=headers(token),
    )
    assert missing.status_code == 422
    assert error_code(missing) == "parameter_missing"


def test_payment_intent_capture_through_the_api(client: httpx.Client, token: str) -> None:
    intent_id = create_intent(client, token)
    pm = card_token(client, token, APPROVE)
    patched = client.patch(
        f"/justifi/v1/payment_intents/{intent_id}",
        json={"payment_method": {"token": pm}, "metadata": {"k": "v"}},
        headers=headers(token, key=str(uuid.uuid4())),
    )
    assert patched.status_code == 200
    assert patched.json()["data"]["status"] == "requires_capture"
    captured = client.post(
        f"/justifi/v1/payment_intents/{intent_id}/capture",
        json={},
        headers=headers(token, key=str(uuid.uuid4())),
    )
    assert captured.status_code == 201, captured.text
    assert captured.json()["data"]["status"] == "succeeded"
    again = client.post(
        f"/justifi/v1/payment_intents/{intent_id}/capture",
        json={},
        headers=headers(token, key=str(uuid.uuid4())),
    )
    assert again.status_code == 422
    assert error_code(again) == "payment_intent_cannot_be_captured"
    listed = client.get("/justifi/v1/payment_intents", headers=headers(token)).json()
    assert [i["id"] for i in listed["data"]] == [intent_id]


# -- contract details: origin_url, Sub-Account on /complete, fee mixing ---------------------


def test_origin_url_is_kept_on_the_checkout(client: httpx.Client, token: str) -> None:
    checkout_id = create_checkout(client, token, origin_url="http://localhost:3000")
    assert get_checkout(client, token, checkout_id)["origin_url"] == "http://localhost:3000"
    listed = client.get("/justifi/v1/checkouts", headers=headers(token)).json()["data"]
    assert [c["origin_url"] for c in listed if c["id"] == checkout_id] == ["http://localhost:3000"]
    # Updating a checkout (no origin_url in UpdateCheckout) leaves it in place.
    patched = client.patch(
        f"/justifi/v1/checkouts/{checkout_id}", json={"amount": 2500}, headers=headers(token)
    )
    assert patched.status_code == 200
    assert patched.json()["data"]["origin_url"] == ("http://localhost:3000")
    assert get_checkout(client, token, create_checkout(client, token))["origin_url"] is None

    bad = client.post(
        "/justifi/v1/checkouts",
        json={"amount": 1799, "description": "Donut", "origin_url": 3000},
        headers=headers(token),
    )
    assert bad.status_code == 422
    assert error_code(bad) == "origin_url_invalid"


def test_complete_checks_a_sub_account_it_is_given(client: httpx.Client, token: str) -> None:
    """The spec's CompleteCheckout lists no Sub-Account, and JustiFi's Node SDK and web
    components send none: without one the call works. One that is sent must be ours."""
    checkout_id = create_checkout(client, token)
    payment_token = card_token(client, token, APPROVE)
    body = {"payment_token": payment_token, "payment_mode": "ecom"}
    wrong = client.post(
        f"/justifi/v1/checkouts/{checkout_id}/complete",
        json=body,
        headers={**headers(token, key="done-once"), "Sub-Account": "acc_not_on_this_platform"},
    )
    assert wrong.status_code == 403
    assert error_code(wrong) == "not_authorized"
    empty = client.post(
        f"/justifi/v1/checkouts/{checkout_id}/complete",
        json=body,
        headers={**headers(token, key="done-once"), "Sub-Account": ""},
    )
    assert empty.status_code == 400
    assert error_code(empty) == "parameter_missing"
    assert get_checkout(client, token, checkout_id)["status"] == "created"

    # The refused calls claimed nothing: the same key now completes, with our sub account.
    done = client.post(
        f"/justifi/v1/checkouts/{checkout_id}/complete",
        json=body,
        headers=headers(token, key="done-once"),
    )
    assert done.status_code == 201, done.text
    assert done.json()["data"]["payment_status"] == "succeeded"

    other = create_checkout(client, token)
    without = complete(client, token, other, card_token(client, token, APPROVE))
    assert without.status_code == 201
    assert without.json()["data"]["checkout_id"] == other


def test_checkout_fees_and_application_fees_do_not_mix(client: httpx.Client, token: str) -> None:
    fees = [{"type": "processing_fee", "amount": 100}]
    both = client.post(
        "/justifi/v1/checkouts",
        json={
            "amount": 1799,
            "description": "Donut",
            "payment": {"fees": fees},
            "application_fees": {"card": {"amount": 100}},
        },
        headers=headers(token),
    )
    assert both.status_code == 422
    assert error_code(both) == "fee_and_application_fee_declared"
    checkout_id = create_checkout(client, token, payment={"fees": fees})
    later = client.patch(
        f"/justifi/v1/checkouts/{checkout_id}",
        json={"application_fees": {"card": {"amount": 100}}},
        headers=headers(token),
    )
    assert later.status_code == 422
    assert error_code(later) == "fee_and_application_fee_declared"
