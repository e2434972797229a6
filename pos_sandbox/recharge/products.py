"""ReCharge's product catalog in the sandbox: ``GET /products`` and ``GET /products/{id}``.

ReCharge's own checkout example (shop-docs ``docs/checkouts.md``, "Creating a Checkout") sends
line items that name a product by ``product_id`` / ``variant_id`` and carry no title or price:
those come from the store's catalog. The sandbox's store has a small bakery catalog, seeded
into the sandbox state the first time anything reads it (``ensure_catalog``).

The two API versions show it differently (third-party ``recharge-api`` 2.0.8 models,
``model/v1/product.py`` and ``model/v2/product.py``; PROVIDERS.md §3.2):

* **2021-01**: a product is ReCharge's *subscription settings* for an ecommerce product: ``id``
  (ReCharge's), ``shopify_product_id`` (the ecommerce id, an integer), ``title``, ``handle``,
  ``images``, the interval settings (``charge_interval_frequency``,
  ``order_interval_frequency_options``, ``order_interval_unit``, cutoff/order days, …),
  ``discount_amount`` / ``discount_type``, ``storefront_purchase_options``. No variants and
  no prices: those live in the ecommerce catalog. ``GET /products/{id}`` takes ReCharge's id.
  Lists page with ``page`` / ``limit`` and a ``Link: <…>; rel="next"`` header.
* **2021-11**: a product is the catalog entry itself: ``external_product_id`` (a string, as
  every external id from 2021-11 on), ``title``, ``vendor``, ``images[]``, ``options[]`` and
  ``variants[]`` with ``external_variant_id``, ``prices {unit_price, compare_at_price}``
  (decimal strings), ``sku``, ``dimensions``, ``requires_shipping``, ``taxable``.
  ``GET /products/{external_product_id}``. Lists are sorted descending (the 2021-11 API
  standards) and page with ``cursor`` / ``limit``, answering ``next_cursor`` /
  ``previous_cursor``.

Checkout line items match ``product_id`` / ``variant_id`` (2021-01) or
``external_product_id`` / ``external_variant_id`` ``{ecommerce}`` (2021-11) against the
ecommerce ids here, compared as strings.

[sandbox] decisions: the default page size is 50 and the largest 250; the seeded timestamps
are fixed (the catalog predates every checkout); the catalog is read-only (no
``POST``/``PUT``/``DELETE /products``).
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..state import Sandbox

KIND = "recharge_product"
SEEDED_META = "recharge_catalog_seeded"
DEFAULT_LIMIT = 50
MAX_LIMIT = 250
SEEDED_AT = "2024-03-01T09:00:00"  # UTC; fixed, so no answer depends on today's date
VENDOR = "Sandbox Bakery"


def _variant(
    external_id: str, title: str, sku: str, price: str, weight: int, compare_at: str | None = None
) -> dict[str, Any]:
    return {
        "external_variant_id": external_id,
        "title": title,
        "sku": sku,
        "price": price,
        "compare_at_price": compare_at or price,
        "weight": weight,
        "weight_unit": "g",
        "requires_shipping": True,
        "taxable": True,
    }


def _product(
    recharge_id: int,
    external_id: str,
    title: str,
    handle: str,
    variants: list[dict[str, Any]],
    *,
    unit: str,
    frequencies: list[str],
    purchase_options: str = "subscription_and_onetime",
    discount: str = "0",
) -> dict[str, Any]:
    return {
        "id": recharge_id,
        "external_product_id": external_id,
        "title": title,
        "handle": handle,
        "vendor": VENDOR,
        "option_name": "Size",
        "variants": variants,
        "charge_interval_frequency": int(frequencies[0]),
        "order_interval_frequency_options": frequencies,
        "order_interval_unit": unit,
        "storefront_purchase_options": purchase_options,
        "discount_amount": discount,
        "discount_type": "percentage",
        "created_at": SEEDED_AT,
        "updated_at": SEEDED_AT,
    }


# Ecommerce ids look like a Shopify/BigCommerce catalog's; ReCharge ids like ReCharge's.
SEED_PRODUCTS: tuple[dict[str, Any], ...] = (
    _product(
        1_850_101,
        "7200000000101",
        "Sourdough Loaf",
        "sourdough-loaf",
        [
            _variant("42000000001011", "Regular", "SOUR-REG", "8.50", 800),
            _variant("42000000001012", "Large", "SOUR-LRG", "11.00", 1200),
        ],
        unit="day",
        frequencies=["5", "7", "14"],
        discount="10",
    ),
    _product(
        1_850_102,
        "7200000000102",
        "Butter Croissants",
        "butter-croissants",
        [
            _variant("42000000001021", "Box of 6", "CROI-6", "18.00", 420),
            _variant("42000000001022", "Box of 12", "CROI-12", "33.00", 840, "36.00"),
        ],
        unit="week",
        frequencies=["1", "2", "4"],
    ),
    _product(
        1_850_103,
        "7200000000103",
        "Cinnamon Rolls",
        "cinnamon-rolls",
        [_variant("42000000001031", "Half dozen", "CINN-6", "15.00", 600)],
        unit="week",
        frequencies=["1", "2"],
    ),
    _product(
        1_850_104,
        "7200000000104",
        "Bagel Bundle",
        "bagel-bundle",
        [
            _variant("42000000001041", "Dozen plain", "BAGL-12P", "14.40", 1100),
            _variant("42000000001042", "Dozen everything", "BAGL-12E", "15.60", 1150),
        ],
        unit="month",
        frequencies=["1"],
        purchase_options="subscription_only",
    ),
)


def ensure_catalog(sandbox: Sandbox) -> None:
    """Write the seeded products into the sandbox state once (joins a caller's transaction)."""
    store = sandbox.store
    if store.get_meta(SEEDED_META) is not None:
        return
    with store.transaction():
        for product in SEED_PRODUCTS:
            store.put(KIND, str(product["id"]), copy.deepcopy(product))
        store.set_meta(SEEDED_META, "1")


def products(sandbox: Sandbox) -> list[dict[str, Any]]:
    """Every catalog product, by ReCharge id ascending."""
    ensure_catalog(sandbox)
    found = [product for _, product in sandbox.store.newest_first(KIND)]
    return sorted(found, key=lambda product: int(product["id"]))


def ecommerce_id(value: Any) -> str | None:
    """An id as the catalog compares it: ``{"ecommerce": x}`` or ``x``, as a string."""
    if isinstance(value, Mapping):
        value = value.get("ecommerce")
    if value is None or isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = str(value).strip()
    return text or None


def find_variant(
    sandbox: Sandbox, product_id: str | None, variant_id: str
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(product, variant) for an ecommerce variant id, in ``product_id`` when one is given."""
    for product in products(sandbox):
        if product_id is not None and product["external_product_id"] != product_id:
            continue
        for variant in product["variants"]:
            if variant["external_variant_id"] == variant_id:
                return product, variant
    return None


def find_product(sandbox: Sandbox, key: str, version: str) -> dict[str, Any] | None:
    """``GET /products/{key}``: ReCharge's id in 2021-01, the ecommerce id in 2021-11."""
    field = "id" if version == "2021-01" else "external_product_id"
    return next((p for p in products(sandbox) if str(p[field]) == key), None)


# -- views ---------------------------------------------------------------------------------


def _images(product: dict[str, Any]) -> dict[str, str]:
    base = f"https://cdn.sandbox.invalid/products/{product['handle']}"
    return {size: f"{base}_{size}.jpg" for size in ("large", "medium", "original", "small")}


def product_view(product: dict[str, Any], version: str) -> dict[str, Any]:
    """The product as ``version`` writes it."""
    if version == "2021-01":
        return {
            "id": product["id"],
            "charge_interval_frequency": product["charge_interval_frequency"],
            "collection_id": None,
            "created_at": product["created_at"],
            "cutoff_day_of_month": None,
            "cutoff_day_of_week": None,
            "discount_amount": product["discount_amount"],
            "discount_type": product["discount_type"],
            "expire_after_specific_number_of_charges": None,
            "handle": product["handle"],
            "images": _images(product),
            "modifiable_properties": [],
            "number_charges_until_expiration": None,
            "order_day_of_month": None,
            "order_day_of_week": None,
            "order_interval_frequency_options": list(product["order_interval_frequency_options"]),
            "order_interval_unit": product["order_interval_unit"],
            "shopify_product_id": int(product["external_product_id"]),
            "storefront_purchase_options": product["storefront_purchase_options"],
            "title": product["title"],
            "updated_at": product["updated_at"],
        }
    images = _images(product)
    labels = [variant["title"] for variant in product["variants"]]
    # 2021-11 orders keys alphabetically (there is no ``id``: the ecommerce id is the key).
    return {
        "brand": product["vendor"],
        "external_created_at": product["created_at"] + "+00:00",
        "external_product_id": product["external_product_id"],
        "external_updated_at": product["updated_at"] + "+00:00",
        "images": [{**images, "sort_order": 1}],
        "options": [
            {
                "name": product["option_name"],
                "position": "1",
                "values": [
                    {"label": label, "position": str(n)} for n, label in enumerate(labels, 1)
                ],
            }
        ],
        "published_at": product["created_at"] + "+00:00",
        "requires_shipping": any(v["requires_shipping"] for v in product["variants"]),
        "title": product["title"],
        "variants": [
            {
                "dimensions": {"weight": variant["weight"], "weight_unit": variant["weight_unit"]},
                "external_variant_id": variant["external_variant_id"],
                "image": None,
                "option_values": [{"label": variant["title"]}],
                "prices": {
                    "compare_at_price": variant["compare_at_price"],
                    "unit_price": variant["price"],
                },
                "requires_shipping": variant["requires_shipping"],
                "sku": variant["sku"],
                "tax_code": None,
                "taxable": variant["taxable"],
                "title": variant["title"],
            }
            for variant in product["variants"]
        ],
        "vendor": product["vendor"],
    }


# -- lists ---------------------------------------------------------------------------------


class ListQueryError(ValueError):
    """A list query parameter that cannot be used: ``field`` and a message."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field} {message}")
        self.field = field
        self.message = message


def _limit(query: Mapping[str, str]) -> int:
    raw = query.get("limit")
    if raw is None:
        return DEFAULT_LIMIT
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise ListQueryError("limit", f"must be an integer from 1 to {MAX_LIMIT}")
    return int(raw)


def list_v2021_01(
    sandbox: Sandbox, query: Mapping[str, str]
) -> tuple[list[dict[str, Any]], int | None]:
    """(this page's products, the next page number or None): ``id``, ``shopify_product_id``,
    ``page`` and ``limit`` as the 2021-01 list takes them."""
    limit = _limit(query)
    raw_page = query.get("page", "1")
    if not raw_page.isdigit() or int(raw_page) < 1:
        raise ListQueryError("page", "must be a positive integer")
    page = int(raw_page)
    found = products(sandbox)
    if "id" in query:
        found = [p for p in found if str(p["id"]) == query["id"]]
    if "shopify_product_id" in query:
        found = [p for p in found if p["external_product_id"] == query["shopify_product_id"]]
    start = (page - 1) * limit
    items = [product_view(p, "2021-01") for p in found[start : start + limit]]
    return items, page + 1 if start + limit < len(found) else None


def _encode_cursor(state: dict[str, Any]) -> str:
    raw = json.dumps(state, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> dict[str, Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        state = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise ListQueryError("cursor", "is invalid") from exc
    ids = state.get("ids") if isinstance(state, dict) else None
    offset = state.get("offset") if isinstance(state, dict) else None
    if (
        isinstance(offset, bool)
        or not isinstance(offset, int)
        or offset < 0
        or not (ids is None or (isinstance(ids, list) and all(isinstance(i, str) for i in ids)))
    ):
        raise ListQueryError("cursor", "is invalid")
    return {"offset": offset, "ids": ids}


def list_v2021_11(sandbox: Sandbox, query: Mapping[str, str]) -> dict[str, Any]:
    """``{"next_cursor", "previous_cursor", "products"}``; a cursor carries its filter."""
    limit = _limit(query)
    cursor = query.get("cursor")
    if cursor:
        state = _decode_cursor(cursor)
        offset, ids = int(state["offset"]), state["ids"]
    else:
        raw_ids = query.get("external_product_ids")
        ids = [part.strip() for part in raw_ids.split(",") if part.strip()] if raw_ids else None
        offset = 0
    found = sorted(products(sandbox), key=lambda p: int(p["external_product_id"]), reverse=True)
    if ids is not None:
        found = [p for p in found if p["external_product_id"] in ids]
    page = found[offset : offset + limit]
    more = offset + limit < len(found)
    return {
        "next_cursor": _encode_cursor({"offset": offset + limit, "ids": ids}) if more else None,
        "previous_cursor": (
            _encode_cursor({"offset": max(0, offset - limit), "ids": ids}) if offset else None
        ),
        "products": [product_view(p, "2021-11") for p in page],
    }
