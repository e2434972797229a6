"""ReCharge's HTTP dialect under ``/recharge``: the Checkouts API (PROVIDERS.md §3).

ReCharge publishes no OpenAPI; paths, envelopes and fields follow its guides, the shop-docs
mirror and the third-party ``recharge-api`` client. Where the sources are silent this module
decides, and says so (``[sandbox]``):

* ``X-Recharge-Version`` selects the 2021-01 or 2021-11 shapes; absent → **2021-01** (the real
  default is a store setting). Any other value → 426 ``{"errors": "Invalid API version"}``.
* Errors are ``{"errors": "<message>"}`` or ``{"errors": {"field": ["message"]}}`` (422), and
  ``{"error": "Not found"}`` for unknown objects, as the third-party captures show.
* ``POST /checkouts`` answers 200 under 2021-01 (the 2019 capture) and 201 under 2021-11 (the
  API standards: "201: … created a new resource"); a declined charge answers 402 with
  ``{"errors": "<decline message>"}`` and leaves the checkout open for another attempt.
* Line items either carry a price (custom items: ``title`` + ``price`` / ``unit_price``) or
  name a catalog variant (``variant_id`` / ``external_variant_id``, optionally ``product_id``),
  as ReCharge's own checkout example does: then title, sku, weight and price come from the
  catalog (``recharge_products``: ``GET /products``, ``GET /products/{id}``). An unknown
  variant is a 422 on ``line_items[i].variant_id`` (the exact real message is unpublished).
* 2021-11 writes external ids as strings (its API standards), whatever type was sent.
* No idempotency header exists: a client that lost a response looks the checkout up
  (``completed_at`` / ``charge_id``) before charging again.
* Rate limit: a leaky bucket of 40 calls per access token leaking 2 per second on the sandbox
  clock; every answer of an API route carries ``X-Recharge-Limit: n/40``; a full bucket → 429.
* Taxes are not simulated (``total_tax`` is ``"0.00"``); no discount codes exist.
* Webhook bodies use the 2021-01 shapes; topics ``checkout/created``, ``checkout/updated``,
  ``checkout/completed``, ``charge/paid``, ``charge/failed``; signed
  ``X-Recharge-Hmac-Sha256 = hex(sha256(client_secret + body))``.

Test payment tokens for ``POST /checkouts/{token}/charge`` are in ``TEST_PAYMENT_TOKENS``.
"""

from __future__ import annotations

import hashlib
import json
import math
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from . import cards, credentials, recharge_products
from .dialects import Dialect
from .state import Sandbox, new_id, parse_iso
from .webhooks import record_webhook, webhook_secret

SANDBOX_RECHARGE_TOKEN = credentials.RECHARGE_ACCESS_TOKEN
API_VERSIONS = ("2021-01", "2021-11")
DEFAULT_VERSION = "2021-01"
BUCKET_SIZE = 40
LEAK_PER_SECOND = 2.0
MAX_PRICE = Decimal("1000000")
MAX_QUANTITY = 10_000
MAX_LINE_ITEMS = 250
CENT = Decimal("0.01")
KIND = "recharge_checkout"

PROCESSORS = ("stripe", "braintree", "authorize", "mollie")
PAYMENT_TYPES = ("CREDIT_CARD", "PAYPAL", "APPLE_PAY", "GOOGLE_PAY", "SEPA_DEBIT")

INSUFFICIENT_FUNDS = cards.Decline(
    "card_declined", "insufficient_funds", "Your card has insufficient funds.", "116"
)
# Processor test tokens (Stripe's and Braintree's published ones): None approves.
TEST_PAYMENT_TOKENS: dict[str, cards.Decline | None] = {
    "tok_visa": None,
    "tok_mastercard": None,
    "tok_amex": None,
    "tok_discover": None,
    "fake-valid-nonce": None,
    "tok_chargeDeclined": cards.GENERIC_DECLINE,
    "tok_chargeDeclinedInsufficientFunds": INSUFFICIENT_FUNDS,
    "fake-processor-declined-visa-nonce": cards.GENERIC_DECLINE,
}
# Tokens the hosted page and the headless helper mint for a card number they were given.
SANDBOX_TOKEN_PREFIX = "tok_sandbox_"  # noqa: S105 - a prefix, not a secret


@dataclass(frozen=True)
class ShippingRate:
    handle: str
    title: str
    price: Decimal
    description: str
    delivery_range: tuple[int, int]


SHIPPING_RATES = (
    ShippingRate("sandbox-standard", "Standard Shipping", Decimal("5.00"), "3-5 days", (3, 5)),
    ShippingRate("sandbox-express", "Express Shipping", Decimal("15.00"), "1-2 days", (1, 2)),
)


class RechargeError(Exception):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body


def fail(status: int, message: str) -> RechargeError:
    return RechargeError(status, {"errors": message})


def invalid(field: str, message: str) -> RechargeError:
    return RechargeError(422, {"errors": {field: [message]}})


def not_found() -> RechargeError:
    return RechargeError(404, {"error": "Not found"})


def recharge_error(status: int, detail: str) -> Response:
    """Unknown routes, wrong methods and crashes under the API, in ReCharge's shape."""
    if status == 404:
        return JSONResponse({"error": "Not found"}, status_code=404)
    messages = {405: "Method not allowed", 413: "Request body too large", 500: "Server error"}
    return JSONResponse({"errors": messages.get(status, detail)}, status_code=status)


def money(value: Decimal) -> str:
    return str(value.quantize(CENT))


def timestamp(text: str | None, version: str) -> str | None:
    """2021-01 writes naive ``YYYY-MM-DDTHH:MM:SS``; 2021-11 adds ``+00:00``."""
    if text is None:
        return None
    moment = parse_iso(text).replace(microsecond=0)
    naive = moment.strftime("%Y-%m-%dT%H:%M:%S")
    return naive if version == "2021-01" else naive + "+00:00"


def plain(value: Any) -> Any:
    """JSON from a request with its exact decimals turned back into plain numbers."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


# -- request fields ------------------------------------------------------------------------


def _price(value: Any, field: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise invalid(field, "must be a decimal amount")
    try:
        price = Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise invalid(field, "must be a decimal amount") from exc
    if not price.is_finite() or price < 0 or price > MAX_PRICE:
        raise invalid(field, f"must be between 0 and {MAX_PRICE}")
    if price != price.quantize(CENT):
        raise invalid(field, "must have at most 2 decimal places")
    return price.quantize(CENT)


def _opt_str(body: dict[str, Any], name: str, field: str | None = None) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise invalid(field or name, "must be a string")
    return str(value)


def _opt_int(body: dict[str, Any], name: str, field: str) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise invalid(field, "must be an integer")
    try:
        return int(value)
    except ValueError as exc:
        raise invalid(field, "must be an integer") from exc


def _opt_bool(body: dict[str, Any], name: str, default: bool) -> bool:
    value = body.get(name, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise invalid(name, "must be true or false")
    return value


def _ecommerce_id(value: Any) -> Any:
    return value.get("ecommerce") if isinstance(value, dict) else value


# Documented 2021-01 line-item fields kept as given (2021-11 nests them in
# ``subscription_preferences``): integers, and one string.
_SCHEDULE_FIELDS = (
    "cutoff_day_of_month",
    "cutoff_day_of_week",
    "order_day_of_month",
    "order_day_of_week",
    "expire_after_specific_number_of_charges",
)


def _catalog_item(
    sandbox: Sandbox, item: dict[str, Any], field: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The (product, variant) a line item without a price names; 422 when there is none."""
    product_ref = item.get("product_id", item.get("external_product_id"))
    variant_ref = item.get("variant_id", item.get("external_variant_id"))
    product_id = recharge_products.ecommerce_id(product_ref)
    variant_id = recharge_products.ecommerce_id(variant_ref)
    if product_ref is not None and product_id is None:
        raise invalid(f"{field}.product_id", "must be a product id")
    if variant_ref is not None and variant_id is None:
        raise invalid(f"{field}.variant_id", "must be a variant id")
    if variant_id is None:
        # Neither a price (a custom item) nor a catalog variant to price it from.
        raise invalid(
            f"{field}.price" if product_id is None else f"{field}.variant_id", "is required"
        )
    found = recharge_products.find_variant(sandbox, product_id, variant_id)
    if found is None:
        where = f" of product {product_id}" if product_id is not None else ""
        raise invalid(f"{field}.variant_id", f"{variant_id}{where} was not found")
    return found


def parse_line_item(sandbox: Sandbox, item: Any, index: int) -> dict[str, Any]:
    """One line item in either version's shape, normalized for storage.

    With a price (``price`` / ``unit_price``) it is a custom item: its title is required and
    any ids are kept as given. Without one it must name a catalog variant
    (``variant_id`` / ``external_variant_id``, optionally its ``product_id``): title, variant
    title, sku, weight and price come from the catalog (``recharge_products``).
    """
    field = f"line_items[{index}]"
    if not isinstance(item, dict):
        raise invalid(field, "must be an object")
    raw_price = item.get("price", item.get("unit_price"))
    catalog: tuple[dict[str, Any], dict[str, Any]] | None = None
    if raw_price is None:
        catalog = _catalog_item(sandbox, item, field)
        price = Decimal(catalog[1]["price"])
    else:
        price = _price(raw_price, f"{field}.price")
    quantity = item.get("quantity")
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise invalid(f"{field}.quantity", "must be an integer")
    if not 1 <= quantity <= MAX_QUANTITY:
        raise invalid(f"{field}.quantity", f"must be between 1 and {MAX_QUANTITY}")
    prefs = item.get("subscription_preferences")
    prefs = prefs if isinstance(prefs, dict) else {}

    def schedule(name: str, nested: str | None = None) -> int | None:
        value = _opt_int(item, name, f"{field}.{name}")
        if value is None:
            value = _opt_int(prefs, nested or name, f"{field}.subscription_preferences")
        return value

    charge_every = schedule("charge_interval_frequency")
    order_every = schedule("order_interval_frequency")
    unit = item.get("order_interval_unit") or prefs.get("interval_unit")
    if unit is not None and unit not in ("day", "week", "month"):
        raise invalid(f"{field}.order_interval_unit", "must be day, week or month")
    title = _opt_str(item, "title", f"{field}.title")
    variant_title = _opt_str(item, "variant_title", f"{field}.variant_title")
    sku = _opt_str(item, "sku", f"{field}.sku")
    grams = _opt_int(item, "grams", f"{field}.grams") or _opt_int(item, "weight", field)
    if catalog is not None:
        product, variant = catalog
        title = title or str(product["title"])
        variant_title = variant_title or str(variant["title"])
        sku = sku or str(variant["sku"])
        grams = grams or int(variant["weight"])
    if not title:
        raise invalid(f"{field}.title", "is required")
    properties = item.get("properties")
    if properties is not None and not isinstance(properties, list | dict):
        raise invalid(f"{field}.properties", "must be a list")
    purchase = item.get("purchase_item_type")
    if purchase is None:
        purchase = "subscription" if charge_every else "onetime"
    elif purchase not in ("subscription", "onetime"):
        raise invalid(f"{field}.purchase_item_type", "must be subscription or onetime")
    default_shipping = bool(catalog[1]["requires_shipping"]) if catalog else True
    default_taxable = bool(catalog[1]["taxable"]) if catalog else True
    product_id = _ecommerce_id(item.get("product_id", item.get("external_product_id")))
    if catalog is not None and product_id is None:
        product_id = catalog[0]["external_product_id"]  # named by its variant only
    return {
        "product_id": plain(product_id),
        "variant_id": plain(_ecommerce_id(item.get("variant_id", item.get("external_variant_id")))),
        "quantity": quantity,
        "price": money(price),
        "title": title,
        "variant_title": variant_title,
        "sku": sku,
        "grams": grams,
        "handle": _opt_str(item, "handle", f"{field}.handle")
        or (str(catalog[0]["handle"]) if catalog else None),
        "requires_shipping": _opt_bool(item, "requires_shipping", default_shipping),
        "taxable": _opt_bool(item, "taxable", default_taxable),
        "fulfillment_service": _opt_str(
            item, "fulfillment_service", f"{field}.fulfillment_service"
        ),
        "purchase_item_type": purchase,
        "charge_interval_frequency": charge_every,
        "order_interval_frequency": order_every,
        "order_interval_unit": unit,
        **{name: schedule(name) for name in _SCHEDULE_FIELDS},
        "properties": plain(properties) if properties is not None else [],
    }


def _address(body: dict[str, Any], name: str) -> dict[str, Any] | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise invalid(name, "must be an object")
    if not value.get("address1") or not value.get("zip"):
        raise invalid(name, "must include address1 and zip")
    return dict(plain(value))


def _selected_handle(body: dict[str, Any]) -> str | None:
    for name in ("shipping_line", "applied_shipping_rate"):
        value = body.get(name)
        if value is None:
            continue
        if not isinstance(value, dict) or not isinstance(value.get("handle"), str):
            raise invalid(name, "must be an object with a handle")
        return str(value["handle"])
    return None


def apply_fields(
    sandbox: Sandbox, checkout: dict[str, Any], body: dict[str, Any], *, creating: bool
) -> None:
    """Validate create/update fields and write them into the stored checkout."""
    if "line_items" in body or creating:
        items = body.get("line_items")
        if not isinstance(items, list) or not items:
            raise invalid("line_items", "is required")
        if len(items) > MAX_LINE_ITEMS:
            raise invalid("line_items", f"must have at most {MAX_LINE_ITEMS} items")
        checkout["line_items"] = [parse_line_item(sandbox, item, i) for i, item in enumerate(items)]
    for name in ("email", "note", "phone", "external_checkout_id", "external_checkout_source"):
        if name in body:
            checkout[name] = _opt_str(body, name)
    if "currency" in body:
        currency = _opt_str(body, "currency")
        if currency is not None and currency.upper() != "USD":
            raise invalid("currency", "is not supported by this store")
    for name in ("billing_address", "shipping_address"):
        if name in body:
            checkout[name] = _address(body, name)
    if "buyer_accepts_marketing" in body:
        checkout["buyer_accepts_marketing"] = _opt_bool(body, "buyer_accepts_marketing", False)
    for name in ("note_attributes", "order_attributes"):
        if name in body:
            value = body.get(name)
            if value is not None and not isinstance(value, list):
                raise invalid(name, "must be a list")
            checkout["note_attributes"] = plain(value) or []
    handle = _selected_handle(body)
    if handle is not None:
        if rate_for(checkout, handle) is None:
            raise invalid("shipping_line", "is not an available shipping rate")
        checkout["shipping_handle"] = handle
    elif (
        checkout.get("shipping_handle") and rate_for(checkout, checkout["shipping_handle"]) is None
    ):
        checkout["shipping_handle"] = None  # the address or items changed under it


# -- totals and shipping -------------------------------------------------------------------


def requires_shipping(checkout: dict[str, Any]) -> bool:
    return any(item["requires_shipping"] for item in checkout["line_items"])


def available_rates(checkout: dict[str, Any]) -> list[ShippingRate]:
    if not requires_shipping(checkout) or not checkout.get("shipping_address"):
        return []
    return list(SHIPPING_RATES)


def rate_for(checkout: dict[str, Any], handle: str) -> ShippingRate | None:
    return next((rate for rate in available_rates(checkout) if rate.handle == handle), None)


def subtotal(checkout: dict[str, Any]) -> Decimal:
    return sum(
        (Decimal(item["price"]) * item["quantity"] for item in checkout["line_items"]),
        Decimal("0.00"),
    )


def totals(checkout: dict[str, Any], rate: ShippingRate | None = None) -> dict[str, str]:
    if rate is None and checkout.get("shipping_handle"):
        rate = rate_for(checkout, checkout["shipping_handle"])
    sub = subtotal(checkout)
    tax = Decimal("0.00")
    shipping = rate.price if rate else Decimal("0.00")
    return {
        "subtotal_price": money(sub),
        "total_tax": money(tax),
        "total_price": money(sub + tax + shipping),
    }


def _rate_view(rate: ShippingRate, checkout: dict[str, Any]) -> dict[str, Any]:
    return {
        "code": rate.title,
        "handle": rate.handle,
        "name": rate.title,
        "title": rate.title,
        "price": money(rate.price),
        "description": rate.description,
        "delivery_range": list(rate.delivery_range),
        "phone_required": False,
        "checkout": totals(checkout, rate),
    }


def _shipping_line(checkout: dict[str, Any]) -> dict[str, Any] | None:
    handle = checkout.get("shipping_handle")
    rate = rate_for(checkout, handle) if handle else None
    if rate is None:
        return None
    return {
        "code": rate.title,
        "handle": rate.handle,
        "price": money(rate.price),
        "title": rate.title,
    }


# -- views ---------------------------------------------------------------------------------


_V2021_01_LINE_FIELDS = (
    "product_id",
    "variant_id",
    "quantity",
    "price",
    "title",
    "variant_title",
    "sku",
    "grams",
    "requires_shipping",
    "taxable",
    "fulfillment_service",
    "purchase_item_type",
    "charge_interval_frequency",
    "order_interval_frequency",
    "order_interval_unit",
    *_SCHEDULE_FIELDS,
    "properties",
)


def _external_id(value: Any) -> dict[str, str | None]:
    """2021-11 writes every external id as a string (its API standards)."""
    return {"ecommerce": None if value is None else str(value)}


def _line_item_view(item: dict[str, Any], version: str) -> dict[str, Any]:
    line_price = money(Decimal(item["price"]) * item["quantity"])
    if version == "2021-01":
        view = {name: item.get(name) for name in _V2021_01_LINE_FIELDS}
        return {**view, "line_price": line_price}
    subscription = (
        {
            "charge_interval_frequency": item["charge_interval_frequency"],
            "order_interval_frequency": item["order_interval_frequency"],
            "interval_unit": item["order_interval_unit"],
            **{name: item.get(name) for name in _SCHEDULE_FIELDS},
        }
        if item["purchase_item_type"] == "subscription"
        else None
    )
    return {
        "external_product_id": _external_id(item["product_id"]),
        "external_variant_id": _external_id(item["variant_id"]),
        "quantity": item["quantity"],
        "unit_price": item["price"],
        "total_price": line_price,
        "title": item["title"],
        "variant_title": item["variant_title"],
        "sku": item["sku"],
        "handle": item.get("handle"),
        "weight": item["grams"],
        "requires_shipping": item["requires_shipping"],
        "taxable": item["taxable"],
        "purchase_item_type": item["purchase_item_type"],
        "subscription_preferences": subscription,
        "properties": item["properties"],
    }


def checkout_view(checkout: dict[str, Any], version: str) -> dict[str, Any]:
    """The checkout object as ``version`` writes it."""
    view: dict[str, Any] = {
        "token": checkout["token"],
        "email": checkout["email"],
        "phone": checkout["phone"],
        "line_items": [_line_item_view(item, version) for item in checkout["line_items"]],
        "billing_address": checkout["billing_address"],
        "shipping_address": checkout["shipping_address"],
        **totals(checkout),
        "tax_lines": [],
        "taxes_included": False,
        "requires_shipping": requires_shipping(checkout),
        "currency": "USD",
        "note": checkout["note"],
        "buyer_accepts_marketing": checkout["buyer_accepts_marketing"],
        "external_checkout_id": checkout["external_checkout_id"],
        "external_checkout_source": checkout["external_checkout_source"],
        "payment_processor": checkout["payment_processor"],
        "payment_processor_customer_id": checkout["payment_processor_customer_id"],
        "charge_id": checkout["charge_id"],
        "analytics_data": {"utm_params": []},
        "completed_at": timestamp(checkout["completed_at"], version),
        "created_at": timestamp(checkout["created_at"], version),
        "updated_at": timestamp(checkout["updated_at"], version),
    }
    if version == "2021-01":
        view["discount_code"] = None
        view["note_attributes"] = checkout["note_attributes"]
        view["shipping_line"] = _shipping_line(checkout)
        view["payment_processor_transaction_id"] = checkout["payment_processor_transaction_id"]
    else:
        view["applied_discounts"] = []
        view["order_attributes"] = checkout["note_attributes"]
        view["applied_shipping_rate"] = _shipping_line(checkout)
        view["external_transaction_id"] = checkout["payment_processor_transaction_id"]
    return view


# -- operations shared with the hosted page ------------------------------------------------


def _record(sandbox: Sandbox, topic: str, payload: dict[str, Any]) -> None:
    body = json.dumps(payload, separators=(",", ":")).encode()
    secret = webhook_secret(sandbox, "recharge")
    signature = hashlib.sha256(secret.encode() + body).hexdigest()
    record_webhook(
        sandbox,
        provider="recharge",
        event_id=str(uuid.uuid4()),
        event_type=topic,
        body=body,
        headers={
            "Content-Type": "application/json",
            "X-Recharge-Topic": topic,
            "X-Recharge-Hmac-Sha256": signature,
        },
    )


def create_checkout(sandbox: Sandbox, body: dict[str, Any]) -> dict[str, Any]:
    now = sandbox.now().isoformat()
    checkout: dict[str, Any] = {
        "token": uuid.uuid4().hex,
        "email": None,
        "phone": None,
        "line_items": [],
        "billing_address": None,
        "shipping_address": None,
        "shipping_handle": None,
        "note": None,
        "note_attributes": [],
        "buyer_accepts_marketing": False,
        "external_checkout_id": None,
        "external_checkout_source": None,
        "payment_processor": None,
        "payment_processor_customer_id": None,
        "payment_processor_transaction_id": None,
        "charge_id": None,
        "completed_at": None,
        "created_at": now,
        "updated_at": now,
    }
    apply_fields(sandbox, checkout, body, creating=True)
    with sandbox.store.transaction():
        sandbox.store.put(KIND, checkout["token"], checkout)
        _record(sandbox, "checkout/created", {"checkout": checkout_view(checkout, DEFAULT_VERSION)})
    return checkout


def update_checkout(sandbox: Sandbox, token: str, body: dict[str, Any]) -> dict[str, Any]:
    checkout = sandbox.store.get(KIND, token)
    if checkout is None:
        raise not_found()
    if checkout["completed_at"]:
        raise fail(422, "Checkout has already been completed")
    apply_fields(sandbox, checkout, body, creating=False)
    checkout["updated_at"] = sandbox.now().isoformat()
    with sandbox.store.transaction():
        sandbox.store.put(KIND, token, checkout)
        _record(sandbox, "checkout/updated", {"checkout": checkout_view(checkout, DEFAULT_VERSION)})
    return checkout


def token_for_card(sandbox: Sandbox, number: str, cvc_given: bool) -> str:
    """A processor token standing for a card the page or helper was given."""
    token = SANDBOX_TOKEN_PREFIX + new_id("", 24)
    sandbox.store.put(
        "recharge_card_token", token, {"number": number, "cvc_given": cvc_given, "used": False}
    )
    return token


def _decline_for(sandbox: Sandbox, payment_token: str) -> cards.Decline | None:
    if payment_token in TEST_PAYMENT_TOKENS:
        return TEST_PAYMENT_TOKENS[payment_token]
    card = sandbox.store.get("recharge_card_token", payment_token)
    if card is None:
        raise invalid("payment_token", "is invalid")
    return cards.payment_decline(card["number"], cvc_given=card["cvc_given"])


def _next_charge_id(sandbox: Sandbox) -> int:
    current = int(sandbox.store.get_meta("recharge_charge_seq") or 468_000_000)
    sandbox.store.set_meta("recharge_charge_seq", str(current + 1))
    return current + 1


def charge_checkout(
    sandbox: Sandbox,
    token: str,
    *,
    payment_processor: str,
    payment_token: str,
    payment_type: str,
) -> dict[str, Any]:
    """Charge the checkout: returns the ``checkout_charge``; a decline raises 402 (committed)."""
    store = sandbox.store
    with store.transaction():
        checkout = store.get(KIND, token)
        if checkout is None:
            raise not_found()
        if checkout["completed_at"]:
            raise fail(422, "Checkout has already been completed")
        if not checkout["email"]:
            raise invalid("email", "is required")
        if requires_shipping(checkout):
            if not checkout["shipping_address"]:
                raise invalid("shipping_address", "is required")
            if _shipping_line(checkout) is None:
                raise invalid("shipping_line", "is required")
        decline = _decline_for(sandbox, payment_token)
        now = sandbox.now().isoformat()
        charge_id = _next_charge_id(sandbox)
        amounts = totals(checkout)
        charge = {
            "id": charge_id,
            "status": "error" if decline else "success",
            "email": checkout["email"],
            "line_items": checkout_view(checkout, DEFAULT_VERSION)["line_items"],
            "currency": "USD",
            **amounts,
            "shipping_lines": [line] if (line := _shipping_line(checkout)) else [],
            "shipping_address": checkout["shipping_address"],
            "billing_address": checkout["billing_address"],
            "checkout_token": token,
            "processor_name": payment_processor,
            "error": decline.message if decline else None,
            "error_type": decline.decline_code if decline else None,
            "created_at": timestamp(now, DEFAULT_VERSION),
            "processed_at": None if decline else timestamp(now, DEFAULT_VERSION),
        }
        store.put("recharge_charge", str(charge_id), charge)
        if decline:
            _record(sandbox, "charge/failed", {"charge": charge})
        else:
            processor_ids = {
                "stripe": ("cus_", "ch_", "pm_"),
                "braintree": ("bt_cus_", "bt_txn_", "bt_pm_"),
                "authorize": ("anet_cus_", "anet_txn_", "anet_pm_"),
                "mollie": ("cst_", "tr_", "mdt_"),
            }[payment_processor]
            customer, transaction = new_id(processor_ids[0], 14), new_id(processor_ids[1], 24)
            checkout.update(
                payment_processor=payment_processor,
                payment_processor_customer_id=customer,
                payment_processor_transaction_id=transaction,
                charge_id=charge_id,
                completed_at=now,
                updated_at=now,
            )
            store.put(KIND, token, checkout)
            _record(sandbox, "charge/paid", {"charge": charge})
            _record(
                sandbox,
                "checkout/completed",
                {"checkout": checkout_view(checkout, DEFAULT_VERSION)},
            )
            result = {
                "charge_id": charge_id,
                "free": Decimal(amounts["total_price"]) == 0,
                "payment_processor": payment_processor,
                "payment_token": payment_token,
                "payment_type": payment_type,
                "processor_customer_token": customer,
                "processor_payment_method_token": new_id(processor_ids[2], 24),
                "payment_processor_transaction_id": transaction,
                "authorization_token": None,
                "status": "success",
            }
    if decline:  # committed above: the failed charge and its webhook stay recorded
        raise fail(402, decline.message)
    return result


# -- HTTP layer ----------------------------------------------------------------------------


async def read_json(request: Request) -> dict[str, Any]:
    """The JSON object body, decimals kept exact; ReCharge-shaped errors otherwise."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise fail(415, "Content-Type must be application/json")
    try:
        raw = await request.body()
    except HTTPException as exc:
        raise fail(exc.status_code, str(exc.detail)) from exc
    try:
        body = json.loads(raw, parse_float=Decimal, parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise fail(400, "The request body is not valid JSON") from exc
    if not isinstance(body, dict):
        raise fail(400, "The request body must be a JSON object")
    return body


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


@dataclass
class _Bucket:
    level: float
    at: datetime


Handler = Callable[
    [Request, str],
    Awaitable[tuple[int, dict[str, Any]] | tuple[int, dict[str, Any], dict[str, str]]],
]


class RechargeApi:
    """The checkout endpoints; each call passes auth, the rate limit and the version check."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self._buckets: dict[str, _Bucket] = {}

    def routes(self) -> list[Route]:
        def route(path: str, handler: Handler, method: str) -> Route:
            async def endpoint(request: Request) -> Response:
                return await self._serve(request, handler)

            return Route("/recharge" + path, endpoint, methods=[method])

        return [
            route("/checkouts", self.create, "POST"),
            route("/checkouts/{token}", self.get, "GET"),
            route("/checkouts/{token}", self.update, "PUT"),
            route("/checkouts/{token}/shipping_rates", self.shipping_rates, "GET"),
            route("/checkouts/{token}/charge", self.charge, "POST"),
            route("/products", self.list_products, "GET"),
            route("/products/{product_id}", self.get_product, "GET"),
        ]

    def _level(self, token: str, now: datetime) -> float:
        bucket = self._buckets.get(token)
        if bucket is None:
            return 0.0
        elapsed = max(0.0, (now - bucket.at).total_seconds())
        return max(0.0, bucket.level - elapsed * LEAK_PER_SECOND)

    async def _serve(self, request: Request, handler: Handler) -> Response:
        token = request.headers.get("x-recharge-access-token", "").strip()
        now = self.sandbox.now()
        level = self._level(token, now)
        try:
            if token != SANDBOX_RECHARGE_TOKEN:
                raise fail(401, "A valid access token is required")
            if level + 1 > BUCKET_SIZE:
                raise fail(429, "Too many requests")
            level += 1
            self._buckets[token] = _Bucket(level, now)
            version = request.headers.get("x-recharge-version", DEFAULT_VERSION).strip()
            if version not in API_VERSIONS:
                raise fail(426, "Invalid API version")
            answer = await handler(request, version)
            status, body = answer[0], answer[1]
            extra = answer[2] if len(answer) == 3 else {}
        except RechargeError as exc:
            status, body, extra = exc.status, exc.body, {}
        headers = {
            **extra,
            "X-Recharge-Limit": f"{min(BUCKET_SIZE, math.ceil(level))}/{BUCKET_SIZE}",
        }
        if status == 429:
            headers["Retry-After"] = str(math.ceil((level + 1 - BUCKET_SIZE) / LEAK_PER_SECOND))
        return JSONResponse(body, status_code=status, headers=headers)

    async def create(self, request: Request, version: str) -> tuple[int, dict[str, Any]]:
        checkout = create_checkout(self.sandbox, await read_json(request))
        # 2021-01 answered 200 (the 2019 capture); from 2021-11 a creation is 201 (the
        # API standards' status grid).
        status = 200 if version == "2021-01" else 201
        return status, {"checkout": checkout_view(checkout, version)}

    async def get(self, request: Request, version: str) -> tuple[int, dict[str, Any]]:
        checkout = self.sandbox.store.get(KIND, request.path_params["token"])
        if checkout is None:
            raise not_found()
        return 200, {"checkout": checkout_view(checkout, version)}

    async def update(self, request: Request, version: str) -> tuple[int, dict[str, Any]]:
        body = await read_json(request)
        wrapped = body.get("checkout")
        fields = wrapped if isinstance(wrapped, dict) and len(body) == 1 else body
        checkout = update_checkout(self.sandbox, request.path_params["token"], fields)
        return 200, {"checkout": checkout_view(checkout, version)}

    async def shipping_rates(self, request: Request, version: str) -> tuple[int, dict[str, Any]]:
        checkout = self.sandbox.store.get(KIND, request.path_params["token"])
        if checkout is None:
            raise not_found()
        rates = [_rate_view(rate, checkout) for rate in available_rates(checkout)]
        return 200, {"shipping_rates": rates}

    async def charge(self, request: Request, version: str) -> tuple[int, dict[str, Any]]:
        body = await read_json(request)
        wrapped = body.get("checkout_charge")
        fields = wrapped if isinstance(wrapped, dict) else body  # the 2019 wrapped form too
        processor = fields.get("payment_processor")
        if processor not in PROCESSORS:
            raise invalid("payment_processor", f"must be one of {', '.join(PROCESSORS)}")
        payment_token = fields.get("payment_token")
        if not isinstance(payment_token, str) or not payment_token:
            raise invalid("payment_token", "is required")
        payment_type = fields.get("payment_type", "CREDIT_CARD")
        if payment_type not in PAYMENT_TYPES:
            raise invalid("payment_type", f"must be one of {', '.join(PAYMENT_TYPES)}")
        result = charge_checkout(
            self.sandbox,
            request.path_params["token"],
            payment_processor=str(processor),
            payment_token=payment_token,
            payment_type=str(payment_type),
        )
        return 200, {"checkout_charge": result}

    async def list_products(
        self, request: Request, version: str
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        query = request.query_params
        try:
            if version != "2021-01":
                return 200, recharge_products.list_v2021_11(self.sandbox, query), {}
            items, next_page = recharge_products.list_v2021_01(self.sandbox, query)
        except recharge_products.ListQueryError as exc:
            raise invalid(exc.field, exc.message) from exc
        headers = {}
        if next_page is not None:
            url = request.url.include_query_params(page=next_page)
            headers["Link"] = f'<{url}>; rel="next"'
        return 200, {"products": items}, headers

    async def get_product(self, request: Request, version: str) -> tuple[int, dict[str, Any]]:
        product = recharge_products.find_product(
            self.sandbox, request.path_params["product_id"], version
        )
        if product is None:
            raise not_found()
        return 200, {"product": recharge_products.product_view(product, version)}


def _routes(sandbox: Sandbox) -> list[BaseRoute]:
    from .recharge_pages import RechargePages

    return [*RechargeApi(sandbox).routes(), *RechargePages(sandbox).routes()]


DIALECT = Dialect(
    name="recharge",
    api_prefixes=("/recharge/checkouts", "/recharge/products"),
    routes=_routes,
    error_response=recharge_error,
)
