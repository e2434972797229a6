"""What a ReCharge checkout's create or update request may carry, checked and normalized.

Line items either carry a price (custom items) or name a catalog variant (``products``); the
2021-01 and 2021-11 field names are both taken. A problem is a 422 on the field it concerns.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from ..web import CENT, money, plain
from . import products
from .errors import invalid
from .views import SCHEDULE_FIELDS, rate_for

if TYPE_CHECKING:
    from ..state import Sandbox

MAX_PRICE = Decimal("1000000")
MAX_QUANTITY = 10_000
MAX_LINE_ITEMS = 250


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


def _catalog_item(
    sandbox: Sandbox, item: dict[str, Any], field: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The (product, variant) a line item without a price names; 422 when there is none."""
    product_ref = item.get("product_id", item.get("external_product_id"))
    variant_ref = item.get("variant_id", item.get("external_variant_id"))
    product_id = products.ecommerce_id(product_ref)
    variant_id = products.ecommerce_id(variant_ref)
    if product_ref is not None and product_id is None:
        raise invalid(f"{field}.product_id", "must be a product id")
    if variant_ref is not None and variant_id is None:
        raise invalid(f"{field}.variant_id", "must be a variant id")
    if variant_id is None:
        # Neither a price (a custom item) nor a catalog variant to price it from.
        raise invalid(
            f"{field}.price" if product_id is None else f"{field}.variant_id", "is required"
        )
    found = products.find_variant(sandbox, product_id, variant_id)
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
        **{name: schedule(name) for name in SCHEDULE_FIELDS},
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
