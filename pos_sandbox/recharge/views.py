"""What ReCharge answers about a checkout: its totals and shipping rates, and the checkout in
the 2021-01 or the 2021-11 shape. Taxes are not simulated; no discount codes exist."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ..state import parse_iso
from ..web import money

API_VERSIONS = ("2021-01", "2021-11")
DEFAULT_VERSION = "2021-01"  # also the shape of every webhook body

# ``subscription_preferences``): integers, and one string.
SCHEDULE_FIELDS = (
    "cutoff_day_of_month",
    "cutoff_day_of_week",
    "order_day_of_month",
    "order_day_of_week",
    "expire_after_specific_number_of_charges",
)


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


def timestamp(text: str | None, version: str) -> str | None:
    """2021-01 writes naive ``YYYY-MM-DDTHH:MM:SS``; 2021-11 adds ``+00:00``."""
    if text is None:
        return None
    moment = parse_iso(text).replace(microsecond=0)
    naive = moment.strftime("%Y-%m-%dT%H:%M:%S")
    return naive if version == "2021-01" else naive + "+00:00"


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


def rate_view(rate: ShippingRate, checkout: dict[str, Any]) -> dict[str, Any]:
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


def shipping_line(checkout: dict[str, Any]) -> dict[str, Any] | None:
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
    *SCHEDULE_FIELDS,
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
            **{name: item.get(name) for name in SCHEDULE_FIELDS},
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
        view["shipping_line"] = shipping_line(checkout)
        view["payment_processor_transaction_id"] = checkout["payment_processor_transaction_id"]
    else:
        view["applied_discounts"] = []
        view["order_attributes"] = checkout["note_attributes"]
        view["applied_shipping_rate"] = shipping_line(checkout)
        view["external_transaction_id"] = checkout["payment_processor_transaction_id"]
    return view
