"""What Checkout.com accepts in a request: payments, hosted payment pages and payment links,
and payment actions, each refused with 422 and the code of every problem (NAS spec 2023-10-16).
Also the currencies' minor units, for showing amounts (``format_amount``).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from .. import credentials
from ..state import parse_iso
from ..web import is_int
from .errors import CkoError, invalid
from .ids import matches

LINK_MAX_EXPIRES_IN = 1209600
MAX_AMOUNT = 9_999_999_999
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

# ISO 4217 codes with their minor-unit exponent.
_TWO_DECIMALS = (
    "AED AUD BRL CAD CHF CNY CZK DKK EGP EUR GBP HKD HUF ILS INR MXN MYR NOK NZD PHP "
    "PLN QAR RON SAR SEK SGD THB TRY TWD USD ZAR ARS COP PEN NGN KES MAD PKR LKR BGN"
)
CURRENCY_EXPONENTS: dict[str, int] = {
    **dict.fromkeys(_TWO_DECIMALS.split(), 2),
    **dict.fromkeys(("JPY", "KRW", "CLP", "VND", "ISK", "XOF", "XAF", "UGX", "PYG"), 0),
    **dict.fromkeys(("BHD", "KWD", "OMR", "JOD", "TND", "IQD", "LYD"), 3),
}
PAYMENT_TYPES = ("Regular", "Recurring", "MOTO", "Installment", "PayLater", "Unscheduled")
SOURCE_TYPES = ("token", "id", "customer", "card")


def int_like(value: Any) -> int | None:
    if is_int(value):
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _http_url(value: Any, max_length: int) -> bool:
    if not isinstance(value, str) or not value or len(value) > max_length:
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _check_str(body: dict[str, Any], name: str, max_length: int, codes: list[str]) -> None:
    value = body.get(name)
    if value is not None and (not isinstance(value, str) or len(value) > max_length):
        codes.append(f"{name}_invalid")


def _check_currency(body: dict[str, Any], codes: list[str]) -> None:
    currency = body.get("currency")
    if currency is None or currency == "":
        codes.append("currency_required")
    elif not isinstance(currency, str) or currency not in CURRENCY_EXPONENTS:
        codes.append("currency_invalid")


def _check_metadata(body: dict[str, Any], codes: list[str]) -> None:
    metadata = body.get("metadata")
    if metadata is None:
        return
    if not isinstance(metadata, dict) or any(
        isinstance(value, dict | list) for value in metadata.values()
    ):
        codes.append("metadata_invalid")


def _check_customer(body: dict[str, Any], codes: list[str]) -> None:
    customer = body.get("customer")
    if customer is None:
        return
    if not isinstance(customer, dict):
        codes.append("customer_invalid")
        return
    cid, email, name = customer.get("id"), customer.get("email"), customer.get("name")
    if cid is not None and not (isinstance(cid, str) and matches(cid, "cus_")):
        codes.append("customer_id_invalid")
    if email is not None and not (
        isinstance(email, str) and len(email) <= 255 and _EMAIL.match(email)
    ):
        codes.append("customer_email_invalid")
    if name is not None and not (isinstance(name, str) and len(name) <= 255):
        codes.append("customer_name_invalid")


def _check_channel(body: dict[str, Any], codes: list[str]) -> None:
    channel = body.get("processing_channel_id")
    if channel is not None and channel != credentials.CHECKOUT_COM_PROCESSING_CHANNEL:
        codes.append("processing_channel_id_invalid")


def _check_billing(body: dict[str, Any], codes: list[str]) -> None:
    billing = body.get("billing")
    if billing is None:
        codes.append("billing_required")
        return
    address = billing.get("address") if isinstance(billing, dict) else None
    if not isinstance(address, dict):
        codes.append("billing_address_required" if isinstance(billing, dict) else "billing_invalid")
        return
    country = address.get("country")
    if country is None:
        codes.append("billing_address_country_required")
    elif not (isinstance(country, str) and len(country) == 2 and country.isalpha()):
        codes.append("billing_address_country_invalid")


def _check_products(body: dict[str, Any], codes: list[str]) -> None:
    products = body.get("products")
    if products is None:
        return
    if not isinstance(products, list) or not all(
        isinstance(p, dict)
        and isinstance(p.get("name"), str)
        and is_int(p.get("quantity"))
        and p["quantity"] >= 1
        and is_int(p.get("price"))
        and p["price"] >= 0
        for p in products
    ):
        codes.append("products_invalid")


def _check_threeds(body: dict[str, Any], codes: list[str]) -> bool:
    threeds = body.get("3ds")
    if threeds is None:
        return False
    if not isinstance(threeds, dict):
        codes.append("3ds_invalid")
        return False
    enabled = threeds.get("enabled", False)
    if not isinstance(enabled, bool):
        codes.append("3ds_enabled_invalid")
        return False
    return enabled


def format_amount(amount: int, currency: str) -> str:
    """``1799, "GBP"`` → ``GBP 17.99`` (the currency's own number of decimals)."""
    exponent = CURRENCY_EXPONENTS.get(currency, 2)
    if exponent == 0:
        return f"{currency} {amount:,}"
    major, minor = divmod(amount, 10**exponent)
    return f"{currency} {major:,}.{minor:0{exponent}d}"


def validate_payment_request(body: dict[str, Any]) -> dict[str, Any]:
    """A ``POST /payments`` body, checked; raises 422 with every problem's code."""
    codes: list[str] = []
    source = body.get("source")
    if source is None:
        codes.append("payment_source_required")
    elif not isinstance(source, dict):
        codes.append("source_invalid")
    else:
        kind = source.get("type")
        if not kind:
            codes.append("source_type_required")
        elif kind not in SOURCE_TYPES:
            codes.append("source_type_invalid")
        elif kind == "card":
            # Full card details need SAQ-D approval; the sandbox merchant has none.
            raise CkoError(422, "processing_error", ["server_api_not_allowed"])
        elif kind == "token":
            token = source.get("token")
            if not token:
                codes.append("token_required")
            elif not (isinstance(token, str) and matches(token, "tok_")):
                codes.append("token_invalid")
        elif kind == "id":
            source_id = source.get("id")
            if not source_id:
                codes.append("source_id_required")
            elif not (isinstance(source_id, str) and matches(source_id, "src_")):
                codes.append("source_id_invalid")
            cvv = source.get("cvv")
            if cvv is not None and not (
                isinstance(cvv, str) and cvv.isdigit() and 3 <= len(cvv) <= 4
            ):
                codes.append("cvv_invalid")
        else:
            cid, email = source.get("id"), source.get("email")
            if not cid and not email:
                codes.append("source_id_or_email_required")
            elif cid and not (isinstance(cid, str) and matches(cid, "cus_")):
                codes.append("customer_id_invalid")
            elif email and not (isinstance(email, str) and _EMAIL.match(email)):
                codes.append("source_email_invalid")
    amount = body.get("amount")
    if amount is not None and not (is_int(amount) and 0 <= amount <= MAX_AMOUNT):
        codes.append("amount_invalid")
    _check_currency(body, codes)
    payment_type = body.get("payment_type")
    if payment_type is not None and payment_type not in PAYMENT_TYPES:
        codes.append("payment_type_invalid")
    _check_str(body, "reference", 50, codes)
    _check_str(body, "description", 100, codes)
    if "capture" in body and not isinstance(body["capture"], bool):
        codes.append("capture_invalid")
    capture_on = body.get("capture_on")
    if capture_on is not None:
        try:
            parse_iso(str(capture_on))
        except ValueError:
            codes.append("capture_on_invalid")
    if body.get("authorization_type") not in (None, "Final", "Estimated"):
        codes.append("authorization_type_invalid")
    for name, code in (
        ("success_url", "success_url_invalid"),
        ("failure_url", "failure_url_invalid"),
    ):
        if body.get(name) is not None and not _http_url(body[name], 1024):
            codes.append(code)
    _check_threeds(body, codes)
    _check_channel(body, codes)
    _check_customer(body, codes)
    _check_metadata(body, codes)
    if isinstance(source, dict) and not isinstance(source.get("store_for_future_use", True), bool):
        codes.append("store_for_future_use_invalid")
    if codes:
        raise invalid(*codes)
    return body


def validate_hosted_request(body: dict[str, Any], *, link: bool) -> dict[str, Any]:
    codes: list[str] = []
    amount = body.get("amount")
    if amount is None:
        codes.append("amount_required")
    elif not (is_int(amount) and 1 <= amount <= MAX_AMOUNT):
        codes.append("amount_invalid")
    _check_currency(body, codes)
    _check_billing(body, codes)
    _check_str(body, "reference", 50, codes)
    _check_str(body, "description", 100, codes)
    _check_channel(body, codes)
    _check_metadata(body, codes)
    _check_products(body, codes)
    if body.get("payment_type") not in (None, "Regular", "Recurring"):
        codes.append("payment_type_invalid")
    if "capture" in body and not isinstance(body["capture"], bool):
        codes.append("capture_invalid")
    _check_threeds(body, codes)
    customer = body.get("customer")
    if customer is not None:
        if not isinstance(customer, dict):
            codes.append("customer_invalid")
        elif customer.get("email") is not None and not (
            isinstance(customer["email"], str) and _EMAIL.match(customer["email"])
        ):
            codes.append("customer_email_invalid")
    if link:
        expires_in = body.get("expires_in")
        if expires_in is not None and not (
            is_int(expires_in) and 1 <= expires_in <= LINK_MAX_EXPIRES_IN
        ):
            codes.append("expires_in_invalid")
        if body.get("return_url") is not None and not _http_url(body["return_url"], 255):
            codes.append("return_url_invalid")
    else:
        for name in ("success_url", "cancel_url", "failure_url"):
            if body.get(name) is None:
                codes.append(f"{name}_required")
            elif not _http_url(body[name], 255):
                codes.append(f"{name}_invalid")
    if codes:
        raise invalid(*codes)
    return body


def validate_action_body(body: dict[str, Any], kind: str) -> None:
    codes: list[str] = []
    amount = body.get("amount")
    if kind != "Void" and amount is not None and not (is_int(amount) and 0 < amount <= MAX_AMOUNT):
        codes.append("amount_invalid")
    if kind == "Capture" and body.get("capture_type") not in (None, "Final", "NonFinal"):
        codes.append("capture_type_invalid")
    _check_str(body, "reference", 50, codes)
    _check_metadata(body, codes)
    if codes:
        raise invalid(*codes)
