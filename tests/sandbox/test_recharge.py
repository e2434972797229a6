"""The sandbox's ReCharge dialect, over real loopback HTTP, as a client (or a shopper) sees it."""

from __future__ import annotations

import hashlib
import json
import re
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from pos_app.domain.money import Money
from pos_app.providers.recharge.mapping import build_checkout_body, price_key
from pos_app.providers.types import CheckoutRequest
from pos_sandbox.credentials import WEBHOOK_SECRETS
from pos_sandbox.recharge.api import SANDBOX_RECHARGE_TOKEN
from pos_sandbox.server import SandboxServer

if TYPE_CHECKING:
    from collections.abc import Iterator

AUTH = {"X-Recharge-Access-Token": SANDBOX_RECHARGE_TOKEN}
V2021_11 = {**AUTH, "X-Recharge-Version": "2021-11"}
ADDRESS = {
    "first_name": "Ada",
    "last_name": "Lovelace",
    "address1": "1 Main St",
    "city": "Springfield",
    "province": "IL",
    "zip": "62701",
    "country_code": "US",
}


def item(price: Any = "19.99", quantity: int = 1, **extra: Any) -> dict[str, Any]:
    return {
        "product_id": 1001,
        "variant_id": 2001,
        "title": "Coffee beans",
        "price": price,
        "quantity": quantity,
        "requires_shipping": False,
        **extra,
    }


def create(client: httpx.Client, headers: dict[str, str] = AUTH, **body: Any) -> dict[str, Any]:
    body.setdefault("line_items", [item()])
    response = client.post("/recharge/checkouts", json=body, headers=headers)
    assert response.status_code == 200, response.text
    return dict(response.json()["checkout"])


def charge(client: httpx.Client, token: str, payment_token: str) -> httpx.Response:
    return client.post(
        f"/recharge/checkouts/{token}/charge",
        json={
            "payment_processor": "stripe",
            "payment_token": payment_token,
            "payment_type": "CREDIT_CARD",
        },
        headers=AUTH,
    )


def webhooks(client: httpx.Client) -> list[dict[str, Any]]:
    response = client.get("/_sandbox/webhooks", params={"provider": "recharge"})
    assert response.status_code == 200
    return list(response.json()["data"])


# -- auth, versions, limits ----------------------------------------------------------------


def test_calls_without_a_valid_access_token_are_refused(client: httpx.Client) -> None:
    for headers in ({}, {"X-Recharge-Access-Token": "not-the-token"}):
        response = client.post(
            "/recharge/checkouts", json={"line_items": [item()]}, headers=headers
        )
        assert response.status_code == 401
        assert response.json() == {"errors": "A valid access token is required"}
        assert re.fullmatch(r"\d+/40", response.headers["X-Recharge-Limit"])


def test_the_version_header_selects_the_response_shape(client: httpx.Client) -> None:
    checkout = create(client, line_items=[item("39.95", 2, sku="BEAN-1")])
    assert re.fullmatch(r"[0-9a-f]{32}", checkout["token"])
    # No header: 2021-01 (price, product_id, shipping_line, naive timestamps).
    line = checkout["line_items"][0]
    assert line["price"] == "39.95"
    assert line["product_id"] == 1001
    assert "shipping_line" in checkout
    assert "discount_code" in checkout
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", checkout["created_at"])

    newer = client.get(f"/recharge/checkouts/{checkout['token']}", headers=V2021_11).json()
    line = newer["checkout"]["line_items"][0]
    assert line["unit_price"] == "39.95"
    assert "price" not in line
    # From 2021-11 every external id is a string (ReCharge's API standards).
    assert line["external_product_id"] == {"ecommerce": "1001"}
    assert line["purchase_item_type"] == "onetime"
    assert "applied_shipping_rate" in newer["checkout"]
    assert "applied_discounts" in newer["checkout"]
    assert newer["checkout"]["created_at"].endswith("+00:00")

    bad = client.get(
        f"/recharge/checkouts/{checkout['token']}", headers={**AUTH, "X-Recharge-Version": "2019"}
    )
    assert bad.status_code == 426
    assert bad.json() == {"errors": "Invalid API version"}


def test_rate_limit_fills_at_40_and_leaks_on_the_sandbox_clock(client: httpx.Client) -> None:
    token = create(client)["token"]  # call 1
    path = f"/recharge/checkouts/{token}"
    for n in range(2, 41):
        response = client.get(path, headers=AUTH)
        assert response.status_code == 200
        assert response.headers["X-Recharge-Limit"] == f"{n}/40"
    refused = client.get(path, headers=AUTH)
    assert refused.status_code == 429
    assert refused.json() == {"errors": "Too many requests"}
    assert refused.headers["X-Recharge-Limit"] == "40/40"

    advanced = client.post("/_sandbox/clock/advance", json={"seconds": 1})
    assert advanced.status_code == 200
    # Two calls leaked away in one second: two more fit, the third is refused.
    assert client.get(path, headers=AUTH).status_code == 200
    assert client.get(path, headers=AUTH).status_code == 200
    assert client.get(path, headers=AUTH).status_code == 429

    client.post("/_sandbox/clock/advance", json={"seconds": 20})
    recovered = client.get(path, headers=AUTH)
    assert recovered.status_code == 200
    assert recovered.headers["X-Recharge-Limit"] == "1/40"


# -- checkouts -----------------------------------------------------------------------------


def test_create_get_update_and_unknown_tokens(client: httpx.Client) -> None:
    checkout = create(client, email="ada@example.com", note="front counter")
    token = checkout["token"]
    assert checkout["email"] == "ada@example.com"
    assert checkout["completed_at"] is None
    fetched = client.get(f"/recharge/checkouts/{token}", headers=AUTH)
    assert fetched.status_code == 200
    assert fetched.json()["checkout"] == checkout

    updated = client.put(
        f"/recharge/checkouts/{token}",
        json={"email": "grace@example.com", "line_items": [item("5.00", 3)]},
        headers=AUTH,
    )
    assert updated.status_code == 200
    body = updated.json()["checkout"]
    assert body["email"] == "grace@example.com"
    assert body["total_price"] == "15.00"
    assert client.get(f"/recharge/checkouts/{token}", headers=AUTH).json()["checkout"] == body

    missing = client.get("/recharge/checkouts/" + "0" * 32, headers=AUTH)
    assert missing.status_code == 404
    assert missing.json() == {"error": "Not found"}
    wrong_method = client.delete(f"/recharge/checkouts/{token}", headers=AUTH)
    assert wrong_method.status_code == 405
    assert wrong_method.json() == {"errors": "Method not allowed"}


def test_totals_are_exact_decimal_strings(client: httpx.Client) -> None:
    # As floats, 19.99*3 + 0.10*7 + 0.1 is 60.769999999999996.
    checkout = create(client, line_items=[item("19.99", 3), item("0.10", 7), item(0.1, 1)])
    assert checkout["subtotal_price"] == "60.77"
    assert checkout["total_tax"] == "0.00"
    assert checkout["total_price"] == "60.77"
    assert [line["line_price"] for line in checkout["line_items"]] == ["59.97", "0.70", "0.10"]
    assert checkout["line_items"][2]["price"] == "0.10"


@pytest.mark.parametrize(
    ("line_items", "field"),
    [
        (None, "line_items"),
        ([], "line_items"),
        ([item("abc")], "line_items[0].price"),
        ([item("-1.00")], "line_items[0].price"),
        ([item("1.001")], "line_items[0].price"),
        ([item(True)], "line_items[0].price"),
        ([item("1000000.01")], "line_items[0].price"),
        ([item(quantity=0)], "line_items[0].quantity"),
        ([item(quantity="2")], "line_items[0].quantity"),
        (["not an object"], "line_items[0]"),
    ],
)
def test_invalid_line_items_are_422(client: httpx.Client, line_items: Any, field: str) -> None:
    response = client.post("/recharge/checkouts", json={"line_items": line_items}, headers=AUTH)
    assert response.status_code == 422
    assert list(response.json()["errors"]) == [field]


def test_malformed_requests_get_recharge_errors_and_the_sandbox_keeps_serving(
    client: httpx.Client,
) -> None:
    bad_json = client.post(
        "/recharge/checkouts",
        content=b"{not json",
        headers={**AUTH, "Content-Type": "application/json"},
    )
    assert bad_json.status_code == 400
    assert bad_json.json() == {"errors": "The request body is not valid JSON"}
    not_object = client.post("/recharge/checkouts", json=[1, 2], headers=AUTH)
    assert not_object.status_code == 400
    wrong_type = client.post(
        "/recharge/checkouts",
        content=b"line_items=1",
        headers={**AUTH, "Content-Type": "text/plain"},
    )
    assert wrong_type.status_code == 415
    assert "errors" in wrong_type.json()
    nan = client.post(
        "/recharge/checkouts",
        content=b'{"line_items": [{"title": "x", "price": NaN, "quantity": 1}]}',
        headers={**AUTH, "Content-Type": "application/json"},
    )
    assert nan.status_code == 400
    deep = client.post(
        "/recharge/checkouts",
        content=b"[" * 100_000,
        headers={**AUTH, "Content-Type": "application/json"},
    )
    assert deep.status_code == 400

    def chunks() -> Iterator[bytes]:
        yield b'{"note": "'
        for _ in range(70):
            yield b"x" * 16384
        yield b'"}'

    oversize = client.post(
        "/recharge/checkouts",
        content=chunks(),
        headers={**AUTH, "Content-Type": "application/json"},
    )
    assert oversize.status_code == 413
    assert client.get("/_sandbox/health").status_code == 200
    assert create(client)["total_price"] == "19.99"


# -- shipping ------------------------------------------------------------------------------


def test_shipping_rates_need_an_address_and_change_the_total(client: httpx.Client) -> None:
    checkout = create(client, line_items=[item("20.00", 1, requires_shipping=True)])
    token = checkout["token"]
    assert checkout["requires_shipping"] is True
    empty = client.get(f"/recharge/checkouts/{token}/shipping_rates", headers=AUTH)
    assert empty.status_code == 200
    assert empty.json() == {"shipping_rates": []}

    client.put(f"/recharge/checkouts/{token}", json={"shipping_address": ADDRESS}, headers=AUTH)
    rates = client.get(f"/recharge/checkouts/{token}/shipping_rates", headers=AUTH).json()
    by_handle = {rate["handle"]: rate for rate in rates["shipping_rates"]}
    assert by_handle["sandbox-standard"]["price"] == "5.00"
    assert by_handle["sandbox-express"]["checkout"] == {
        "subtotal_price": "20.00",
        "total_tax": "0.00",
        "total_price": "35.00",
    }

    unknown = client.put(
        f"/recharge/checkouts/{token}", json={"shipping_line": {"handle": "nope"}}, headers=AUTH
    )
    assert unknown.status_code == 422
    chosen = client.put(
        f"/recharge/checkouts/{token}",
        json={"shipping_line": {"handle": "sandbox-express"}},
        headers=AUTH,
    ).json()["checkout"]
    assert chosen["shipping_line"]["price"] == "15.00"
    assert chosen["total_price"] == "35.00"
    newer = client.get(f"/recharge/checkouts/{token}", headers=V2021_11).json()["checkout"]
    assert newer["applied_shipping_rate"]["handle"] == "sandbox-express"


# -- charging ------------------------------------------------------------------------------


def test_charge_approves_and_completes_the_checkout_once(client: httpx.Client) -> None:
    token = create(client, email="ada@example.com")["token"]
    response = charge(client, token, "tok_visa")
    assert response.status_code == 200
    result = response.json()["checkout_charge"]
    assert result["status"] == "success"
    assert isinstance(result["charge_id"], int)
    assert result["payment_processor"] == "stripe"
    assert result["payment_token"] == "tok_visa"
    assert result["free"] is False

    after = client.get(f"/recharge/checkouts/{token}", headers=AUTH).json()["checkout"]
    assert after["charge_id"] == result["charge_id"]
    assert after["completed_at"] is not None
    assert after["payment_processor_transaction_id"] == result["payment_processor_transaction_id"]

    again = charge(client, token, "tok_visa")
    assert again.status_code == 422
    assert again.json() == {"errors": "Checkout has already been completed"}


def test_a_declined_charge_is_402_and_leaves_the_checkout_payable(client: httpx.Client) -> None:
    token = create(client, email="ada@example.com")["token"]
    declined = charge(client, token, "tok_chargeDeclined")
    assert declined.status_code == 402
    assert declined.json() == {"errors": "Your card was declined."}
    funds = charge(client, token, "tok_chargeDeclinedInsufficientFunds")
    assert funds.status_code == 402
    assert funds.json() == {"errors": "Your card has insufficient funds."}
    assert (
        client.get(f"/recharge/checkouts/{token}", headers=AUTH).json()["checkout"]["completed_at"]
        is None
    )
    assert charge(client, token, "tok_mastercard").status_code == 200


def test_charge_validates_its_request(client: httpx.Client) -> None:
    token = create(client)["token"]
    no_email = charge(client, token, "tok_visa")
    assert no_email.status_code == 422
    assert no_email.json() == {"errors": {"email": ["is required"]}}
    client.put(f"/recharge/checkouts/{token}", json={"email": "a@example.com"}, headers=AUTH)
    unknown_token = charge(client, token, "tok_made_up")
    assert unknown_token.status_code == 422
    assert list(unknown_token.json()["errors"]) == ["payment_token"]
    bad_processor = client.post(
        f"/recharge/checkouts/{token}/charge",
        json={"payment_processor": "paypal", "payment_token": "tok_visa"},
        headers=AUTH,
    )
    assert bad_processor.status_code == 422
    # The 2019 wrapped form is accepted too.
    wrapped = client.post(
        f"/recharge/checkouts/{token}/charge",
        json={"checkout_charge": {"payment_processor": "stripe", "payment_token": "tok_visa"}},
        headers=AUTH,
    )
    assert wrapped.status_code == 200
    assert charge(client, "f" * 32, "tok_visa").status_code == 404


def test_shipped_orders_need_a_shipping_line_before_charging(client: httpx.Client) -> None:
    token = create(
        client,
        email="ada@example.com",
        shipping_address=ADDRESS,
        line_items=[item("10.00", 2, requires_shipping=True)],
    )["token"]
    refused = charge(client, token, "tok_visa")
    assert refused.status_code == 422
    assert list(refused.json()["errors"]) == ["shipping_line"]
    client.put(
        f"/recharge/checkouts/{token}",
        json={"applied_shipping_rate": {"handle": "sandbox-standard"}},
        headers=AUTH,
    )
    assert charge(client, token, "tok_visa").status_code == 200
    total = client.get(f"/recharge/checkouts/{token}", headers=AUTH).json()["checkout"]
    assert total["total_price"] == "25.00"


# -- hosted page and helper ----------------------------------------------------------------


def test_the_hosted_page_takes_a_card_and_shows_completion(client: httpx.Client) -> None:
    token = create(client, line_items=[item("12.50", 2)])["token"]
    page = client.get(f"/recharge/r/checkout/{token}")
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]
    assert "$25.00" in page.text
    assert 'name="email"' in page.text
    form = {
        "email": "shopper@example.com",
        "card_name": "Ada Lovelace",
        "card_number": "4000 0000 0000 0002",
        "card_expiry": "12/39",
        "card_cvc": "123",
        "card_postal": "62701",
    }
    declined = client.post(f"/recharge/r/checkout/{token}/pay", data=form)
    assert declined.status_code == 402
    assert "Your card was declined." in declined.text

    incomplete = client.post(f"/recharge/r/checkout/{token}/pay", data={**form, "card_number": ""})
    assert incomplete.status_code == 422
    assert "Enter your card number." in incomplete.text

    paid = client.post(
        f"/recharge/r/checkout/{token}/pay", data={**form, "card_number": "4242424242424242"}
    )
    assert paid.status_code == 303
    assert paid.headers["location"] == f"/recharge/r/checkout/{token}"
    done = client.get(paid.headers["location"])
    assert done.status_code == 200
    assert "Thank you for your order!" in done.text
    checkout = client.get(f"/recharge/checkouts/{token}", headers=AUTH).json()["checkout"]
    assert checkout["email"] == "shopper@example.com"
    assert checkout["completed_at"] is not None
    assert checkout["payment_processor"] == "stripe"
    assert client.get("/recharge/r/checkout/" + "0" * 32).status_code == 404


def test_headless_helper_pays_like_the_page(client: httpx.Client) -> None:
    token = create(client, email="ada@example.com")["token"]
    declined = client.post(
        "/_sandbox/recharge/pay", json={"token": token, "card": "4000000000000002"}
    )
    assert declined.status_code == 402
    paid = client.post("/_sandbox/recharge/pay", json={"token": token, "card": "4242424242424242"})
    assert paid.status_code == 200
    assert paid.json()["checkout_charge"]["status"] == "success"
    bad = client.post("/_sandbox/recharge/pay", json={"token": token, "card": "1234"})
    assert bad.status_code == 400


# -- webhooks ------------------------------------------------------------------------------


def test_webhooks_are_signed_with_sha256_of_secret_plus_body(client: httpx.Client) -> None:
    token = create(client, email="ada@example.com")["token"]
    assert charge(client, token, "tok_chargeDeclined").status_code == 402
    assert charge(client, token, "tok_visa").status_code == 200
    events = [e for e in webhooks(client) if token in e["body"]]
    assert [e["event_type"] for e in events] == [
        "checkout/created",
        "charge/failed",
        "charge/paid",
        "checkout/completed",
    ]
    secret = WEBHOOK_SECRETS["recharge"].encode()
    for event in events:
        body = event["body"].encode()
        assert (
            event["headers"]["X-Recharge-Hmac-Sha256"] == hashlib.sha256(secret + body).hexdigest()
        )
        assert event["headers"]["X-Recharge-Topic"] == event["event_type"]
    completed = json.loads(events[-1]["body"])["checkout"]
    assert completed["token"] == token
    assert completed["completed_at"] is not None
    assert json.loads(events[2]["body"])["charge"]["status"] == "success"


def test_state_survives_a_restart(tmp_path: Any) -> None:
    state = tmp_path / "state"
    with (
        SandboxServer(state) as first,
        httpx.Client(base_url=first.base_url, headers=first.control_headers) as http,
    ):
        token = create(http, email="ada@example.com")["token"]
        assert charge(http, token, "tok_visa").status_code == 200
    with (
        SandboxServer(state) as second,
        httpx.Client(base_url=second.base_url, headers=second.control_headers) as http,
    ):
        checkout = http.get(f"/recharge/checkouts/{token}", headers=AUTH).json()["checkout"]
        assert checkout["completed_at"] is not None


def test_the_hosted_page_charges_the_shipping_rate_picked(client: httpx.Client) -> None:
    token = create(
        client,
        email="ada@example.com",
        shipping_address=ADDRESS,
        line_items=[item("20.00", 1, requires_shipping=True)],
    )["token"]
    page = client.get(f"/recharge/r/checkout/{token}")
    assert "$25.00" in page.text
    assert 'data-total="$35.00"' in page.text
    form = {
        "shipping_rate": "sandbox-express",
        "card_name": "Ada Lovelace",
        "card_number": "4242424242424242",
        "card_expiry": "12/39",
        "card_cvc": "123",
        "card_postal": "62701",
    }
    assert client.post(f"/recharge/r/checkout/{token}/pay", data=form).status_code == 303
    checkout = client.get(f"/recharge/checkouts/{token}", headers=AUTH).json()["checkout"]
    assert checkout["total_price"] == "35.00"
    assert checkout["completed_at"] is not None
    assert checkout["shipping_line"]["handle"] == "sandbox-express"

    unaddressed = create(client, line_items=[item("1.00", 1, requires_shipping=True)])["token"]
    assert client.get(f"/recharge/r/checkout/{unaddressed}").status_code == 409


# -- the product catalog and catalog line items --------------------------------------------


def products(client: httpx.Client, headers: dict[str, str] = V2021_11) -> list[dict[str, Any]]:
    response = client.get("/recharge/products", headers=headers)
    assert response.status_code == 200, response.text
    return list(response.json()["products"])


def documented_line_item(product_id: Any, variant_id: Any) -> dict[str, Any]:
    """The line item of ReCharge's own checkout example (shop-docs docs/checkouts.md,
    "Creating a Checkout"), as JSON: no title, no price; ``<product_id>`` / ``<variant_id>``
    filled in from the store's catalog."""
    return {
        "charge_interval_frequency": 5,
        "cutoff_day_of_month": None,
        "cutoff_day_of_week": None,
        "expire_after_specific_number_of_charges": None,
        "fulfillment_service": "manual",
        "order_day_of_month": None,
        "order_day_of_week": None,
        "order_interval_frequency": 5,
        "order_interval_unit": "day",
        "product_id": product_id,
        "quantity": 6,
        "requires_shipping": True,
        "taxable": True,
        "variant_id": variant_id,
    }


def test_the_catalog_in_both_versions_shapes(client: httpx.Client) -> None:
    newer = products(client)
    assert len(newer) >= 3
    # 2021-11: catalog entries with string external ids, variants and decimal-string prices;
    # sorted descending, keys alphabetical.
    ids = [product["external_product_id"] for product in newer]
    assert all(isinstance(i, str) for i in ids)
    assert ids == sorted(ids, key=int, reverse=True)
    first = newer[0]
    assert list(first) == sorted(first)
    variant = first["variants"][0]
    assert isinstance(variant["external_variant_id"], str)
    assert re.fullmatch(r"\d+\.\d\d", variant["prices"]["unit_price"])
    assert set(variant) >= {"prices", "sku", "title", "requires_shipping", "taxable"}

    older = products(client, AUTH)  # no version header: 2021-01
    assert len(older) == len(newer)
    product = older[0]
    # 2021-01: ReCharge's subscription settings for an ecommerce product; no variants/prices.
    assert isinstance(product["id"], int)
    assert isinstance(product["shopify_product_id"], int)
    assert "variants" not in product
    assert "external_product_id" not in product
    assert product["order_interval_unit"] in ("day", "week", "month")
    assert set(product) >= {
        "charge_interval_frequency", "order_interval_frequency_options", "discount_amount",
        "discount_type", "storefront_purchase_options", "handle", "images", "title",
        "created_at", "updated_at",
    }  # fmt: skip
    assert {str(p["shopify_product_id"]) for p in older} == set(ids)

    # One product: ReCharge's id in 2021-01, the ecommerce id in 2021-11.
    one = client.get(f"/recharge/products/{product['id']}", headers=AUTH)
    assert one.status_code == 200
    assert one.json() == {"product": product}
    same = client.get(f"/recharge/products/{product['shopify_product_id']}", headers=V2021_11)
    assert same.status_code == 200
    assert same.json()["product"]["title"] == product["title"]
    for headers, key in ((AUTH, "999"), (V2021_11, "999"), (V2021_11, str(product["id"]))):
        missing = client.get(f"/recharge/products/{key}", headers=headers)
        assert missing.status_code == 404
        assert missing.json() == {"error": "Not found"}
    refused = client.get("/recharge/products", headers={})
    assert refused.status_code == 401
    assert refused.json() == {"errors": "A valid access token is required"}
    assert re.fullmatch(r"\d+/40", refused.headers["X-Recharge-Limit"])


def test_the_catalog_pages_as_each_version_does(client: httpx.Client) -> None:
    everything = products(client)
    # 2021-01: page/limit, the next page in a Link header.
    first = client.get("/recharge/products", params={"limit": 2}, headers=AUTH)
    assert first.status_code == 200
    assert len(first.json()["products"]) == 2
    link = first.headers["Link"]
    assert link.endswith('; rel="next"')
    assert "page=2" in link
    assert "limit=2" in link
    last_page = (len(everything) + 1) // 2
    last = client.get("/recharge/products", params={"limit": 2, "page": last_page}, headers=AUTH)
    assert last.status_code == 200
    assert "Link" not in last.headers
    only = client.get(
        "/recharge/products",
        params={"shopify_product_id": everything[0]["external_product_id"]},
        headers=AUTH,
    ).json()["products"]
    assert [str(p["shopify_product_id"]) for p in only] == [everything[0]["external_product_id"]]

    # 2021-11: cursor/limit, next_cursor and previous_cursor in the body.
    page = client.get("/recharge/products", params={"limit": 2}, headers=V2021_11).json()
    assert page["previous_cursor"] is None
    assert page["next_cursor"]
    seen = [p["external_product_id"] for p in page["products"]]
    while page["next_cursor"]:
        cursor = page["next_cursor"]
        page = client.get(
            "/recharge/products", params={"cursor": cursor, "limit": 2}, headers=V2021_11
        ).json()
        assert page["previous_cursor"]
        seen += [p["external_product_id"] for p in page["products"]]
    assert seen == [p["external_product_id"] for p in everything]
    chosen = ",".join(p["external_product_id"] for p in everything[1:3])
    filtered = client.get(
        "/recharge/products", params={"external_product_ids": chosen}, headers=V2021_11
    ).json()["products"]
    assert [p["external_product_id"] for p in filtered] == chosen.split(",")

    for headers, params, field in (
        (AUTH, {"limit": "0"}, "limit"),
        (AUTH, {"page": "x"}, "page"),
        (V2021_11, {"limit": "251"}, "limit"),
        (V2021_11, {"cursor": "not-a-cursor"}, "cursor"),
    ):
        bad = client.get("/recharge/products", params=params, headers=headers)
        assert bad.status_code == 422, params
        assert list(bad.json()["errors"]) == [field], params


def test_recharges_documented_checkout_body_is_priced_from_the_catalog(
    client: httpx.Client,
) -> None:
    product = products(client)[-1]
    variant = product["variants"][0]
    price = variant["prices"]["unit_price"]
    line_item = documented_line_item(
        int(product["external_product_id"]), int(variant["external_variant_id"])
    )
    checkout = create(client, line_items=[line_item])

    line = checkout["line_items"][0]
    assert line["price"] == price
    assert line["quantity"] == 6
    assert line["title"] == product["title"]
    assert line["variant_title"] == variant["title"]
    assert line["sku"] == variant["sku"]
    assert line["grams"] == variant["dimensions"]["weight"]
    assert line["product_id"] == int(product["external_product_id"])
    assert line["variant_id"] == int(variant["external_variant_id"])
    assert (line["charge_interval_frequency"], line["order_interval_frequency"]) == (5, 5)
    assert line["order_interval_unit"] == "day"
    assert line["fulfillment_service"] == "manual"
    assert line["cutoff_day_of_month"] is None
    assert line["expire_after_specific_number_of_charges"] is None
    assert line["purchase_item_type"] == "subscription"
    six = str((Decimal(price) * 6).quantize(Decimal("0.01")))
    assert line["line_price"] == six
    assert checkout["subtotal_price"] == six
    assert checkout["total_price"] == six
    assert checkout["requires_shipping"] is True

    newer = client.get(f"/recharge/checkouts/{checkout['token']}", headers=V2021_11).json()
    line = newer["checkout"]["line_items"][0]
    assert line["unit_price"] == price
    assert line["total_price"] == six
    assert line["external_variant_id"] == {"ecommerce": variant["external_variant_id"]}
    assert line["subscription_preferences"]["interval_unit"] == "day"
    assert line["subscription_preferences"]["charge_interval_frequency"] == 5

    # The priced checkout is payable like any other: address, shipping line, charge.
    token = checkout["token"]
    client.put(
        f"/recharge/checkouts/{token}",
        json={"email": "ada@example.com", "shipping_address": ADDRESS},
        headers=AUTH,
    )
    shipped = client.put(
        f"/recharge/checkouts/{token}",
        json={"shipping_line": {"handle": "sandbox-standard"}},
        headers=AUTH,
    ).json()["checkout"]
    assert shipped["total_price"] == str(Decimal(six) + Decimal("5.00"))
    assert charge(client, token, "tok_visa").status_code == 200


def test_2021_11_catalog_items_and_creation_status(client: httpx.Client) -> None:
    product = products(client)[0]
    variant = product["variants"][-1]
    response = client.post(
        "/recharge/checkouts",
        json={
            "line_items": [
                {
                    "external_variant_id": {"ecommerce": variant["external_variant_id"]},
                    "quantity": 2,
                    "purchase_item_type": "onetime",
                }
            ]
        },
        headers=V2021_11,
    )
    # From 2021-11 a creation answers 201 (ReCharge's API standards).
    assert response.status_code == 201, response.text
    line = response.json()["checkout"]["line_items"][0]
    assert line["unit_price"] == variant["prices"]["unit_price"]
    assert line["external_product_id"] == {"ecommerce": product["external_product_id"]}
    assert line["title"] == product["title"]
    assert line["subscription_preferences"] is None


@pytest.mark.parametrize("version", [AUTH, V2021_11])
def test_an_unknown_catalog_variant_is_refused(
    client: httpx.Client, version: dict[str, str]
) -> None:
    catalog = products(client)
    other = catalog[1]["variants"][0]["external_variant_id"]
    before = len(webhooks(client))
    cases = [
        (documented_line_item(catalog[0]["external_product_id"], 999), "variant_id"),
        # A real variant, but of another product than the one named.
        (documented_line_item(catalog[0]["external_product_id"], other), "variant_id"),
        ({"external_variant_id": {"ecommerce": "999"}, "quantity": 1}, "variant_id"),
        # Neither a price nor a variant: nothing to price the item from.
        ({"product_id": catalog[0]["external_product_id"], "quantity": 1}, "variant_id"),
        ({"title": "Loaf", "quantity": 1}, "price"),
    ]
    for line_item, field in cases:
        response = client.post(
            "/recharge/checkouts", json={"line_items": [item(), line_item]}, headers=version
        )
        assert response.status_code == 422, response.text
        errors = response.json()["errors"]
        assert list(errors) == [f"line_items[1].{field}"], errors
        assert isinstance(errors[f"line_items[1].{field}"], list)
    assert len(webhooks(client)) == before  # nothing was created


@pytest.mark.parametrize("version", ["2021-01", "2021-11"])
def test_our_adapters_custom_items_still_work(client: httpx.Client, version: str) -> None:
    request = CheckoutRequest(
        reference="S-1", amount=Money(1799, "USD"), description="Till sale", idempotency_key="k"
    )
    body = build_checkout_body(request, version=version, email="till@shop.example")
    response = client.post(
        "/recharge/checkouts", json=body, headers={**AUTH, "X-Recharge-Version": version}
    )
    assert response.status_code in (200, 201), response.text
    checkout = response.json()["checkout"]
    assert checkout["total_price"] == "17.99"
    assert checkout["requires_shipping"] is False
    line = checkout["line_items"][0]
    assert line["title"] == "Till sale"
    assert line[price_key(version)] == "17.99"
    assert charge(client, checkout["token"], "tok_visa").status_code == 200
