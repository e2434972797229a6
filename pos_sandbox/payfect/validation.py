"""What a Payfect create request may carry, refused with 400 in DRF's shape and messages."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from ..web import CENT, plain
from .errors import PayfectError

CURRENCIES = {"usdt": "Tether"}
NETWORKS = {"tron": "Tron (TRC20)"}
PAYMENT_METHOD_TYPES = ("crypto", "card")
MIN_UNIT_AMOUNT = Decimal("0.01")
MAX_UNIT_AMOUNT = Decimal("9999999999.99")
MAX_QUANTITY = 10_000
MAX_ITEMS = 100
MAX_URL_LENGTH = 2048

REQUIRED = "This field is required."


def _unit_amount(value: Any) -> Decimal | str:
    if value is None:
        return REQUIRED
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        return "A valid number is required."
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        return "A valid number is required."
    if not amount.is_finite():
        return "A valid number is required."
    if amount != amount.quantize(CENT):
        return "Ensure that there are no more than 2 decimal places."
    if amount < MIN_UNIT_AMOUNT:
        return f"Ensure this value is greater than or equal to {MIN_UNIT_AMOUNT}."
    if amount > MAX_UNIT_AMOUNT:
        return f"Ensure this value is less than or equal to {MAX_UNIT_AMOUNT}."
    return amount


def _invoice_item(item: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """(parsed item, errors) for one ``invoice_items`` entry."""
    if not isinstance(item, dict):
        return {}, {"non_field_errors": ["Invalid data. Expected a dictionary."]}
    errors: dict[str, Any] = {}
    parsed: dict[str, Any] = {}
    quantity = item.get("quantity")
    if quantity is None:
        errors["quantity"] = [REQUIRED]
    elif isinstance(quantity, bool) or not isinstance(quantity, int):
        errors["quantity"] = ["A valid integer is required."]
    elif quantity < 1:
        errors["quantity"] = ["Ensure this value is greater than or equal to 1."]
    elif quantity > MAX_QUANTITY:
        errors["quantity"] = [f"Ensure this value is less than or equal to {MAX_QUANTITY}."]
    else:
        parsed["quantity"] = quantity
    price, price_data = item.get("price"), item.get("price_data")
    if price is not None:
        # No price objects exist in the sandbox (the prices resource is SDK-only).
        errors["price"] = [f'Invalid pk "{price}" - object does not exist.']
    elif price_data is None:
        errors["price_data"] = [REQUIRED]
    elif not isinstance(price_data, dict):
        errors["price_data"] = {"non_field_errors": ["Invalid data. Expected a dictionary."]}
    else:
        data_errors: dict[str, Any] = {}
        amount = _unit_amount(price_data.get("unit_amount"))
        if isinstance(amount, str):
            data_errors["unit_amount"] = [amount]
        else:
            parsed["unit_amount"] = amount
        product = price_data.get("product_data")
        if not isinstance(product, dict) or not isinstance(product.get("name"), str):
            data_errors["product_data"] = {"name": [REQUIRED]}
        elif not product["name"].strip():
            data_errors["product_data"] = {"name": ["This field may not be blank."]}
        else:
            parsed["name"] = product["name"]
        if data_errors:
            errors["price_data"] = data_errors
    return parsed, errors


def _url(body: dict[str, Any], name: str, errors: dict[str, Any]) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        errors[name] = ["Not a valid string."]
        return None
    parts = urlsplit(value)
    if len(value) > MAX_URL_LENGTH or parts.scheme not in ("http", "https") or not parts.netloc:
        errors[name] = ["Enter a valid URL."]
        return None
    return value


def validate_create(body: dict[str, Any]) -> dict[str, Any]:
    """The checkout fields of a create request; raises PayfectError(400) in DRF's shape."""
    errors: dict[str, Any] = {}
    fields: dict[str, Any] = {}
    currency = body.get("currency")
    if currency is None:
        errors["currency"] = [REQUIRED]
    elif not isinstance(currency, str) or currency.lower() not in CURRENCIES:
        errors["currency"] = [f'"{currency}" is not a valid choice.']
    else:
        fields["currency"] = currency.lower()
    items = body.get("invoice_items")
    if items is None:
        errors["invoice_items"] = [REQUIRED]
    elif not isinstance(items, list):
        errors["invoice_items"] = {"non_field_errors": ["Expected a list of items."]}
    elif not items:
        errors["invoice_items"] = {"non_field_errors": ["This list may not be empty."]}
    elif len(items) > MAX_ITEMS:
        errors["invoice_items"] = {
            "non_field_errors": [f"Ensure this field has no more than {MAX_ITEMS} elements."]
        }
    else:
        parsed = [_invoice_item(item) for item in items]
        if any(item_errors for _, item_errors in parsed):
            errors["invoice_items"] = [item_errors for _, item_errors in parsed]
        fields["invoice_items"] = [item for item, _ in parsed]
    reference = body.get("client_reference_id")
    if reference is not None and (not isinstance(reference, str) or len(reference) > 255):
        errors["client_reference_id"] = ["Not a valid string."]
    fields["client_reference_id"] = reference
    for name in ("success_url", "cancel_url", "callback_url"):
        fields[name] = _url(body, name, errors)
    fields["network"] = "tron"
    method_data = body.get("payment_method_data")
    if method_data is not None:
        detail_data = (
            method_data.get("paymentMethodDetail") if isinstance(method_data, dict) else None
        )
        if (
            not isinstance(method_data, dict)
            or method_data.get("type") != "cryptopaymentmethoddetail"
            or not isinstance(detail_data, dict)
        ):
            errors["payment_method_data"] = ["Invalid payment method data."]
        elif detail_data.get("network") not in NETWORKS:
            errors["payment_method_data"] = {
                "paymentMethodDetail": {
                    "network": [f'"{detail_data.get("network")}" is not a valid choice.']
                }
            }
    types = body.get("payment_method_types", ["crypto"])
    if (
        not isinstance(types, list)
        or not types
        or any(t not in PAYMENT_METHOD_TYPES for t in types)
    ):
        errors["payment_method_types"] = ['Each entry must be one of "crypto", "card".']
    fields["payment_method_types"] = types
    metadata = body.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        errors["metadata"] = ["Expected a dictionary of items."]
    fields["metadata"] = plain(metadata)
    if errors:
        raise PayfectError(400, errors)
    return fields
