"""Checkout.com's HTTP dialect under ``/checkout-com`` (PROVIDERS.md §2, NAS spec 2023-10-16).

Tokens (``POST /tokens``, public key), payments (``POST/GET /payments``, actions, captures,
refunds, voids), the Hosted Payments Page and Payment Links. Auth is the secret key as
``Bearer sk_sbox_…`` (NAS) or the raw key (ABC). Captures, refunds and voids answer 202 and are
applied later: on the payment's next read (default) or by ``POST /_sandbox/checkout-com/settle``
when auto-settling is switched off — never by a timer, so tests stay deterministic.

The operations at the top are shared with the customer pages (3-D Secure challenge, Hosted
Payments Page, Payment Link page) in ``checkout_com_pages``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
import secrets
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from . import checkout_com_cards as cko_cards
from . import credentials
from .dialects import Dialect
from .state import Sandbox, Store, iso, new_id, parse_iso
from .webhooks import record_webhook, webhook_secret

PREFIX = "/checkout-com"
SANDBOX_SECRET_KEY = credentials.CHECKOUT_COM_SECRET_KEY
SANDBOX_PUBLIC_KEY = credentials.CHECKOUT_COM_PUBLIC_KEY
SANDBOX_PROCESSING_CHANNEL = credentials.CHECKOUT_COM_PROCESSING_CHANNEL
CKO_VERSION = "1.0.0"
THREEDS_SANDBOX_CODE = "Checkout1!"  # the password Checkout.com's sandbox challenge asks for

TOKEN_LIFETIME = timedelta(minutes=15)  # spec: "Tokens are single use and expire after 15 minutes"
AUTHORIZATION_LIFETIME = timedelta(days=7)
IDEMPOTENCY_RETENTION = timedelta(hours=24)
HPP_LIFETIME = timedelta(hours=3)  # [inferred]: not stated in the spec
LINK_DEFAULT_EXPIRES_IN = 86400
LINK_MAX_EXPIRES_IN = 1209600
MAX_AMOUNT = 9_999_999_999
DEFAULT_LIST_LIMIT = 10

_B32 = "abcdefghijklmnopqrstuvwxyz234567"
_ID26 = re.compile(r"^\w{26}$")
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


def cko_id(prefix: str) -> str:
    """``pay_`` + 26 lower-case base32 characters, as Checkout.com's ids look."""
    return prefix + "".join(secrets.choice(_B32) for _ in range(26))


# -- errors --------------------------------------------------------------------------------


class CkoError(Exception):
    """An error answer: ``{request_id, error_type, error_codes}``, or no body (401/403/404…)."""

    def __init__(
        self, status: int, error_type: str | None = None, codes: list[str] | None = None
    ) -> None:
        super().__init__(f"{status} {error_type} {codes}")
        self.status = status
        self.error_type = error_type
        self.codes = codes or []

    def response(self, request_id: str) -> Response:
        if self.error_type is None:
            return Response(b"", status_code=self.status)
        body = {"request_id": request_id, "error_type": self.error_type, "error_codes": self.codes}
        return JSONResponse(body, status_code=self.status)


def invalid(*codes: str) -> CkoError:
    return CkoError(422, "request_invalid", list(codes))


def checkout_com_error(status: int, detail: str) -> Response:
    """Unknown routes, wrong methods and crashes under the API, in Checkout.com's format."""
    request_id = str(uuid.uuid4())
    # 401/404/405/413: Checkout.com sends no body.
    error = CkoError(status, "internal_server_error", []) if status >= 500 else CkoError(status)
    response = error.response(request_id)
    response.headers["Cko-Request-Id"] = request_id
    response.headers["Cko-Version"] = CKO_VERSION
    return response


# -- small validators ----------------------------------------------------------------------


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _int_like(value: Any) -> int | None:
    if _is_int(value):
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
    if cid is not None and not (isinstance(cid, str) and _matches(cid, "cus_")):
        codes.append("customer_id_invalid")
    if email is not None and not (
        isinstance(email, str) and len(email) <= 255 and _EMAIL.match(email)
    ):
        codes.append("customer_email_invalid")
    if name is not None and not (isinstance(name, str) and len(name) <= 255):
        codes.append("customer_name_invalid")


def _matches(value: str, prefix: str) -> bool:
    return value.startswith(prefix) and bool(_ID26.match(value[len(prefix) :]))


def _check_channel(body: dict[str, Any], codes: list[str]) -> None:
    channel = body.get("processing_channel_id")
    if channel is not None and channel != SANDBOX_PROCESSING_CHANNEL:
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
        and _is_int(p.get("quantity"))
        and p["quantity"] >= 1
        and _is_int(p.get("price"))
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


# -- the simulated gateway -----------------------------------------------------------------


class Gateway:
    """Checkout.com's objects and rules; call the mutating methods inside a transaction."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    @property
    def store(self) -> Store:
        return self.sandbox.store

    def now(self) -> datetime:
        return self.sandbox.now()

    # -- settings --------------------------------------------------------------------------

    @property
    def auto_settle(self) -> bool:
        return self.store.get_meta("checkout_com:auto_settle") != "0"

    def set_auto_settle(self, enabled: bool) -> None:
        self.store.set_meta("checkout_com:auto_settle", "1" if enabled else "0")

    # -- cards and tokens ------------------------------------------------------------------

    def validate_card(self, card: dict[str, Any]) -> dict[str, Any]:
        """A card as ``POST /tokens`` takes it, checked (422 with the spec's codes)."""
        codes: list[str] = []
        raw_number = card.get("number")
        number = ""
        if raw_number is None or raw_number == "":
            codes.append("card_number_required")
        elif not isinstance(raw_number, str):
            codes.append("card_number_invalid")
        else:
            number = cko_cards.normalize_number(raw_number)
            if not cko_cards.card_number_valid(number):
                codes.append("card_number_invalid")
        month = _int_like(card.get("expiry_month"))
        year = _int_like(card.get("expiry_year"))
        if card.get("expiry_month") is None:
            codes.append("card_expiry_month_required")
        elif month is None or not 1 <= month <= 12:
            codes.append("card_expiry_month_invalid")
        if card.get("expiry_year") is None:
            codes.append("card_expiry_year_required")
        elif year is None or not 1000 <= year <= 9999:
            codes.append("card_expiry_year_invalid")
        cvv = card.get("cvv")
        scheme = cko_cards.detect_scheme(number) if number else None
        cvv_ok = isinstance(cvv, str) and cvv.isdigit() and 3 <= len(cvv) <= 4
        if cvv not in (None, "") and (
            not cvv_ok or (scheme is not None and len(cvv) != cko_cards.cvv_length(scheme))
        ):
            codes.append("cvv_invalid")
        name = card.get("name")
        if name is not None and not isinstance(name, str):
            codes.append("card_holder_invalid")
        if not codes and month is not None and year is not None:
            now = self.now()
            if (year, month) < (now.year, now.month):
                codes.append("card_expired")
        if codes:
            raise invalid(*codes)
        assert month is not None and year is not None
        return {
            "number": number,
            "expiry_month": month,
            "expiry_year": year,
            "name": name,
            "cvv_given": bool(cvv),
            "billing_address": card.get("billing_address")
            if isinstance(card.get("billing_address"), dict)
            else None,
            "phone": card.get("phone") if isinstance(card.get("phone"), dict) else None,
        }

    def create_token(self, card: dict[str, Any]) -> dict[str, Any]:
        token = cko_id("tok_")
        expires_on = iso(self.now() + TOKEN_LIFETIME)
        self.store.put(
            "cko_token", token, {"token": token, "card": card, "expires_on": expires_on, "used": 0}
        )
        info = cko_cards.describe(card["number"])
        body: dict[str, Any] = {
            "type": "card",
            "token": token,
            "expires_on": expires_on,
            "expiry_month": card["expiry_month"],
            "expiry_year": card["expiry_year"],
            **self._card_facts(card["number"], info),
        }
        for field in ("name", "billing_address", "phone"):
            if card.get(field):
                body[field] = card[field]
        return body

    @staticmethod
    def _card_facts(number: str, info: cko_cards.TestCard) -> dict[str, Any]:
        return {
            "scheme": info.scheme,
            "last4": number[-4:],
            "bin": number[:6],
            "card_type": info.card_type,
            "card_category": info.card_category,
            "issuer": "SANDBOX ISSUING BANK",
            "issuer_country": info.issuer_country,
            "product_id": "F",
            "product_type": "CLASSIC",
        }

    @staticmethod
    def fingerprint(number: str) -> str:
        return hashlib.sha256(b"pos-sandbox-cko:" + number.encode()).hexdigest().upper()

    # -- customers -------------------------------------------------------------------------

    def customer_by_email(self, email: str) -> dict[str, Any] | None:
        wanted = email.strip().lower()
        return next(
            (c for _, c in self.store.newest_first("cko_customer") if c["email"] == wanted),
            None,
        )

    def resolve_customer(self, request_customer: dict[str, Any] | None) -> dict[str, Any] | None:
        if not request_customer:
            return None
        if request_customer.get("id"):
            customer = self.store.get("cko_customer", request_customer["id"])
            if customer is None:
                raise invalid("customer_not_found")
            return dict(customer)
        email = request_customer.get("email")
        if not email:
            return None
        customer = self.customer_by_email(email)
        if customer is None:
            customer = {
                "id": cko_id("cus_"),
                "email": email.strip().lower(),
                "name": request_customer.get("name"),
                "default_instrument": None,
            }
            self.store.put("cko_customer", customer["id"], customer)
        return dict(customer)

    # -- sources ---------------------------------------------------------------------------

    def resolve_source(self, source: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
        """The card behind a payment source, and the stored instrument id if it is one."""
        kind = source["type"]
        now = self.now()
        if kind == "token":
            record = self.store.get("cko_token", source["token"])
            if record is None:
                raise invalid("token_invalid")
            if record["used"]:
                raise invalid("token_used")
            if parse_iso(record["expires_on"]) <= now:
                raise invalid("token_expired")
            record["used"] = 1
            self.store.put("cko_token", record["token"], record)
            card = dict(record["card"])
            for field in ("billing_address", "phone"):
                if isinstance(source.get(field), dict):
                    card[field] = source[field]
            return card, None
        if kind == "id":
            instrument = self.store.get("cko_instrument", source["id"])
            if instrument is None:
                raise invalid("source_id_unknown")
            return dict(instrument["card"]), instrument["id"]
        # customer: the customer's default instrument
        customer = (
            self.store.get("cko_customer", source["id"])
            if source.get("id")
            else self.customer_by_email(str(source.get("email", "")))
        )
        if customer is None:
            raise invalid("customer_not_found")
        instrument = (
            self.store.get("cko_instrument", customer["default_instrument"])
            if customer.get("default_instrument")
            else None
        )
        if instrument is None:
            raise invalid("source_invalid")
        return dict(instrument["card"]), instrument["id"]

    # -- payments --------------------------------------------------------------------------

    def create_payment(
        self,
        fields: dict[str, Any],
        *,
        base_url: str,
        origin: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """Request a payment: 201 PaymentResponse, or 202 Pending with a 3DS redirect."""
        customer = self.resolve_customer(fields.get("customer"))
        card, instrument_id = self.resolve_source(fields["source"])
        source_request = fields["source"]
        store_card = source_request.get("store_for_future_use", True) is not False
        core = "".join(secrets.choice(_B32) for _ in range(26))
        now = iso(self.now())
        threeds: dict[str, Any] = fields["3ds"] if isinstance(fields.get("3ds"), dict) else {}
        payment: dict[str, Any] = {
            "id": "pay_" + core,
            "action_id": "act_" + core,
            "requested_on": now,
            "amount": fields.get("amount") or 0,
            "currency": fields["currency"],
            "payment_type": fields.get("payment_type") or "Regular",
            "reference": fields.get("reference"),
            "description": fields.get("description"),
            "metadata": fields.get("metadata"),
            "capture": fields.get("capture", True) is not False or bool(fields.get("capture_on")),
            "status": "Pending",
            "approved": False,
            "customer": _customer_view(customer),
            "success_url": fields.get("success_url"),
            "failure_url": fields.get("failure_url"),
            "processing_channel_id": fields.get("processing_channel_id")
            or SANDBOX_PROCESSING_CHANNEL,
            "session_id": None,
            "threeds": None,
            "actions": [],
            "pending": [],
            "totals": {"authorized": 0, "captured": 0, "refunded": 0, "voided": 0},
            "capture_closed": False,
            "origin": origin or {},
            "base_url": base_url,
            "_card": card,
            "_instrument_id": instrument_id,
            "_store_card": store_card,
            "_customer_id": customer["id"] if customer else None,
        }
        if threeds.get("enabled") is True:
            session_id = cko_id("sid_")
            payment["session_id"] = session_id
            payment["threeds"] = {"downgraded": False, "enrolled": "Y", "version": "2.2.0"}
            self._save(payment)
            self.store.put("cko_session", session_id, {"payment_id": payment["id"]})
            self._webhook(payment, "payment_pending", _event_data(payment, None))
            return 202, self.accepted_view(payment)
        self._authorize(payment, authenticated=None)
        return 201, self.response_view(payment)

    def complete_3ds(self, payment: dict[str, Any], *, authenticated: bool) -> dict[str, Any]:
        """The challenge page's answer: authorize (or decline) a Pending 3DS payment."""
        if payment["status"] != "Pending":
            return payment
        self._authorize(payment, authenticated=authenticated)
        return payment

    def _authorize(self, payment: dict[str, Any], *, authenticated: bool | None) -> None:
        card = payment["_card"]
        info = cko_cards.describe(card["number"])
        now = self.now()
        code = info.response_code
        if (card["expiry_year"], card["expiry_month"]) < (now.year, now.month):
            code = "20054"
        if authenticated is False:
            code = cko_cards.THREEDS_FAILED
        approved = code == cko_cards.APPROVED
        verification = payment["amount"] == 0
        stamp = iso(now)
        if payment["threeds"] is not None:
            payment["threeds"].update(
                {
                    "challenged": True,
                    "authentication_response": "Y" if authenticated else "N",
                }
            )
        payment.update(
            {
                "approved": approved,
                "response_code": code,
                "response_summary": cko_cards.response_summary(code),
                "processed_on": stamp,
                "auth_code": f"{secrets.randbelow(1_000_000):06d}" if approved else None,
                "scheme_id": "".join(str(secrets.randbelow(10)) for _ in range(15)),
                "eci": "05" if payment["threeds"] is not None else "06",
                "processing": {
                    "retrieval_reference_number": "".join(
                        str(secrets.randbelow(10)) for _ in range(12)
                    ),
                    "acquirer_transaction_id": "".join(
                        str(secrets.randbelow(10)) for _ in range(21)
                    ),
                },
            }
        )
        if verification:
            payment["status"] = "Card Verified" if approved else "Declined"
        else:
            payment["status"] = "Authorized" if approved else "Declined"
        if approved:
            payment["expires_on"] = iso(now + AUTHORIZATION_LIFETIME)
            payment["totals"]["authorized"] = payment["amount"]
            self._store_instrument(payment)
        payment["actions"].append(
            {
                "id": payment["action_id"],
                "type": "Card Verification" if verification else "Authorization",
                "processed_on": stamp,
                "amount": payment["amount"],
                "approved": approved,
                **({"auth_code": payment["auth_code"]} if approved else {}),
                "response_code": code,
                "response_summary": payment["response_summary"],
                "authorization_type": "Final",
                **({"reference": payment["reference"]} if payment["reference"] else {}),
                "processing": {
                    "retrieval_reference_number": payment["processing"][
                        "retrieval_reference_number"
                    ]
                },
                **({"metadata": payment["metadata"]} if payment["metadata"] else {}),
            }
        )
        # A flagged payment must be captured or voided by hand ("Flagged payments"); unattended
        # it expires with its authorization.
        payment["risk_flagged"] = approved and info.flagged
        if approved and not verification and payment["capture"] and not info.flagged:
            payment["pending"].append(
                {
                    "id": cko_id("act_"),
                    "type": "Capture",
                    "amount": payment["amount"],
                    "final": True,
                    "reference": payment["reference"],
                    "metadata": None,
                }
            )
        self._save(payment)
        if verification:
            event = "card_verified" if approved else "card_verification_declined"
        else:
            event = "payment_approved" if approved else "payment_declined"
        self._webhook(payment, event, _event_data(payment, payment["actions"][-1]))

    def _store_instrument(self, payment: dict[str, Any]) -> None:
        instrument_id = payment["_instrument_id"]
        if instrument_id is None and payment["_store_card"]:
            instrument_id = cko_id("src_")
            card = {k: v for k, v in payment["_card"].items() if k != "cvv_given"}
            self.store.put(
                "cko_instrument",
                instrument_id,
                {
                    "id": instrument_id,
                    "card": card,
                    "customer_id": payment["_customer_id"],
                    "created_on": iso(self.now()),
                },
            )
            payment["_instrument_id"] = instrument_id
        customer_id = payment["_customer_id"]
        if customer_id and instrument_id:
            customer = self.store.get("cko_customer", customer_id)
            if customer is not None and not customer.get("default_instrument"):
                customer["default_instrument"] = instrument_id
                self.store.put("cko_customer", customer_id, customer)

    def _save(self, payment: dict[str, Any]) -> None:
        self.store.put("cko_payment", payment["id"], payment)

    def payment(self, payment_id: str, *, settle: bool = True) -> dict[str, Any] | None:
        """A payment by ``pay_`` or ``sid_`` id; applies due actions first when auto-settling."""
        if payment_id.startswith("sid_"):
            session = self.store.get("cko_session", payment_id)
            if session is None:
                return None
            payment_id = session["payment_id"]
        payment = self.store.get("cko_payment", payment_id)
        if payment is not None and settle and payment["pending"] and self.auto_settle:
            self.settle(payment)
        return payment

    # -- captures, refunds, voids ------------------------------------------------------------

    def balances(self, payment: dict[str, Any]) -> dict[str, int]:
        totals = payment["totals"]
        open_auth = (
            payment["status"] in ("Authorized", "Partially Captured")
            and not payment["capture_closed"]
        )
        to_capture = totals["authorized"] - totals["captured"] if open_auth else 0
        return {
            "total_authorized": totals["authorized"],
            "total_voided": totals["voided"],
            "available_to_void": to_capture if totals["captured"] == 0 else 0,
            "total_captured": totals["captured"],
            "available_to_capture": to_capture,
            "total_refunded": totals["refunded"],
            "available_to_refund": totals["captured"] - totals["refunded"],
        }

    def _pending_sum(self, payment: dict[str, Any], kind: str) -> int:
        return sum(a["amount"] for a in payment["pending"] if a["type"] == kind)

    def request_action(
        self, payment: dict[str, Any], kind: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        """Queue a Capture/Refund/Void after checking it against the balances; 403/422 if not."""
        balances = self.balances(payment)
        pending_types = {a["type"] for a in payment["pending"]}
        amount = body.get("amount")
        if kind == "Capture":
            room = balances["available_to_capture"] - self._pending_sum(payment, "Capture")
            if "Void" in pending_types or room <= 0:
                raise CkoError(403)
            if amount is None:
                amount = room
            elif amount > room:
                raise invalid(
                    "capture_value_greater_than_authorized"
                    if amount > balances["total_authorized"]
                    else "capture_value_greater_than_remaining_authorized"
                )
        elif kind == "Refund":
            room = balances["available_to_refund"] - self._pending_sum(payment, "Refund")
            if room <= 0:
                raise CkoError(403)
            if amount is None:
                amount = room
            elif amount > room:
                raise invalid("amount_exceeds_balance")
        else:
            if (
                balances["available_to_void"] <= 0
                or pending_types & {"Capture", "Void"}
                or payment["totals"]["captured"]
            ):
                raise CkoError(403)
            amount = balances["available_to_void"]
        action = {
            "id": cko_id("act_"),
            "type": kind,
            "amount": amount,
            "final": body.get("capture_type", "Final") != "NonFinal",
            "reference": body.get("reference"),
            "metadata": body.get("metadata"),
        }
        payment["pending"].append(action)
        self._save(payment)
        return action

    def settle(self, payment: dict[str, Any]) -> int:
        """Apply the payment's queued actions, in order, with their webhooks."""
        applied = 0
        while payment["pending"]:
            action = payment["pending"].pop(0)
            totals = payment["totals"]
            stamp = iso(self.now())
            if action["type"] == "Capture":
                totals["captured"] += action["amount"]
                if action["final"]:
                    payment["capture_closed"] = True
                event = "payment_captured"
            elif action["type"] == "Refund":
                totals["refunded"] += action["amount"]
                event = "payment_refunded"
            else:
                totals["voided"] += action["amount"]
                payment["capture_closed"] = True
                event = "payment_voided"
            record = {
                "id": action["id"],
                "type": action["type"],
                "processed_on": stamp,
                "amount": action["amount"],
                "approved": True,
                "response_code": cko_cards.APPROVED,
                "response_summary": "Approved",
                **({"reference": action["reference"]} if action.get("reference") else {}),
                "processing": {
                    "acquirer_reference_number": "".join(
                        str(secrets.randbelow(10)) for _ in range(23)
                    )
                },
                **({"metadata": action["metadata"]} if action.get("metadata") else {}),
            }
            payment["actions"].append(record)
            payment["status"] = self._status_after(payment)
            applied += 1
            self._webhook(payment, event, _event_data(payment, record))
        self._save(payment)
        return applied

    @staticmethod
    def _status_after(payment: dict[str, Any]) -> str:
        totals = payment["totals"]
        if totals["voided"] and not totals["captured"]:
            return "Voided"
        if totals["refunded"]:
            return "Refunded" if totals["refunded"] >= totals["captured"] else "Partially Refunded"
        if totals["captured"]:
            return (
                "Captured" if totals["captured"] >= totals["authorized"] else "Partially Captured"
            )
        return "Authorized"

    def settle_all(self) -> int:
        return sum(
            self.settle(payment)
            for _, payment in reversed(self.store.newest_first("cko_payment"))
            if payment["pending"]
        )

    # -- views -----------------------------------------------------------------------------

    def _href(self, payment: dict[str, Any], path: str) -> dict[str, str]:
        return {"href": f"{payment['base_url']}{PREFIX}{path}"}

    def links(self, payment: dict[str, Any]) -> dict[str, Any]:
        pid = payment["id"]
        links: dict[str, Any] = {
            "self": self._href(payment, f"/payments/{pid}"),
            "actions": self._href(payment, f"/payments/{pid}/actions"),
        }
        if payment["status"] == "Pending" and payment["session_id"]:
            links["redirect"] = self._href(payment, f"/3ds/{payment['session_id']}")
            return links
        balances = self.balances(payment)
        pending_types = {a["type"] for a in payment["pending"]}
        if balances["available_to_capture"] > 0 and "Void" not in pending_types:
            links["capture"] = self._href(payment, f"/payments/{pid}/captures")
        if balances["available_to_void"] > 0 and not pending_types & {"Capture", "Void"}:
            links["void"] = self._href(payment, f"/payments/{pid}/voids")
        if balances["available_to_refund"] > 0:
            links["refund"] = self._href(payment, f"/payments/{pid}/refunds")
        return links

    def source_view(self, payment: dict[str, Any]) -> dict[str, Any]:
        card = payment["_card"]
        info = cko_cards.describe(card["number"])
        view: dict[str, Any] = {"type": "card"}
        if payment["approved"] and payment["_instrument_id"]:
            view["id"] = payment["_instrument_id"]
        if card.get("billing_address"):
            view["billing_address"] = card["billing_address"]
        if card.get("phone"):
            view["phone"] = card["phone"]
        view.update(
            {
                "expiry_month": card["expiry_month"],
                "expiry_year": card["expiry_year"],
                **({"name": card["name"]} if card.get("name") else {}),
                **self._card_facts(card["number"], info),
                "fingerprint": self.fingerprint(card["number"]),
                "avs_check": "S",
                "cvv_check": "Y" if card.get("cvv_given") else "",
            }
        )
        if not view["cvv_check"]:
            del view["cvv_check"]
        return view

    def response_view(self, payment: dict[str, Any]) -> dict[str, Any]:
        """The 201 PaymentResponse."""
        body: dict[str, Any] = {
            "id": payment["id"],
            "action_id": payment["action_id"],
            "amount": payment["amount"],
            "currency": payment["currency"],
            "approved": payment["approved"],
            "status": payment["status"],
            **({"auth_code": payment["auth_code"]} if payment.get("auth_code") else {}),
            "response_code": payment["response_code"],
            "response_summary": payment["response_summary"],
            **({"expires_on": payment["expires_on"]} if payment.get("expires_on") else {}),
            **({"3ds": _threeds_short(payment)} if payment["threeds"] else {}),
            "risk": {"flagged": bool(payment.get("risk_flagged"))},
            "source": self.source_view(payment),
            **({"customer": payment["customer"]} if payment["customer"] else {}),
            "balances": self.balances(payment),
            "processed_on": payment["processed_on"],
            **({"reference": payment["reference"]} if payment["reference"] else {}),
            "processing": payment["processing"],
            "eci": payment["eci"],
            "scheme_id": payment["scheme_id"],
            "_links": self.links(payment),
        }
        return body

    def accepted_view(self, payment: dict[str, Any]) -> dict[str, Any]:
        """The 202 PaymentAcceptedResponse of a payment waiting for 3-D Secure."""
        return {
            "id": payment["id"],
            "status": "Pending",
            **({"reference": payment["reference"]} if payment["reference"] else {}),
            **({"customer": payment["customer"]} if payment["customer"] else {}),
            "3ds": _threeds_short(payment),
            "_links": {
                "self": self._href(payment, f"/payments/{payment['id']}"),
                "redirect": self._href(payment, f"/3ds/{payment['session_id']}"),
            },
        }

    def details_view(self, payment: dict[str, Any], *, by_session: bool = False) -> dict[str, Any]:
        """GET /payments/{id}: PaymentDetails."""
        body: dict[str, Any] = {
            "id": payment["id"],
            "requested_on": payment["requested_on"],
            "source": self.source_view(payment),
            "amount": payment["amount"],
            "currency": payment["currency"],
            "payment_type": payment["payment_type"],
            **({"reference": payment["reference"]} if payment["reference"] else {}),
            **({"description": payment["description"]} if payment["description"] else {}),
            "approved": payment["approved"],
            **({"expires_on": payment["expires_on"]} if payment.get("expires_on") else {}),
            "status": payment["status"],
            "balances": self.balances(payment),
            **({"3ds": dict(payment["threeds"])} if payment["threeds"] else {}),
            "risk": {"flagged": bool(payment.get("risk_flagged"))},
            **({"customer": payment["customer"]} if payment["customer"] else {}),
            **({"metadata": payment["metadata"]} if payment["metadata"] else {}),
            **({"eci": payment["eci"]} if payment.get("eci") else {}),
            **({"scheme_id": payment["scheme_id"]} if payment.get("scheme_id") else {}),
            "_links": self.links(payment),
        }
        if payment["status"] == "Pending":
            del body["source"]  # nothing was sent to the card scheme yet
        if by_session:
            body["actions"] = [
                {
                    "id": a["id"],
                    "type": a["type"],
                    "response_code": a["response_code"],
                    "response_summary": a["response_summary"],
                }
                for a in reversed(payment["actions"])
            ]
        return body

    def actions_view(self, payment: dict[str, Any]) -> list[dict[str, Any]]:
        return [dict(a) for a in reversed(payment["actions"])]  # newest first

    # -- webhooks --------------------------------------------------------------------------

    def _webhook(self, payment: dict[str, Any], event_type: str, data: dict[str, Any]) -> None:
        event_id = cko_id("evt_")
        body = {
            "id": event_id,
            "type": event_type,
            "version": "1.0.33",
            "created_on": iso(self.now()),
            "data": data,
            "_links": {
                "self": {"href": f"{payment['base_url']}{PREFIX}/workflows/events/{event_id}"},
                "subject": self._href(payment, f"/workflows/events/subject/{payment['id']}"),
                "payment": self._href(payment, f"/payments/{payment['id']}"),
                "payment_actions": self._href(payment, f"/payments/{payment['id']}/actions"),
            },
        }
        raw = json.dumps(body, separators=(",", ":")).encode()
        key = webhook_secret(self.sandbox, "checkout_com").encode()
        signature = hmac.new(key, raw, hashlib.sha256).hexdigest()
        record_webhook(
            self.sandbox,
            provider="checkout_com",
            event_id=event_id,
            event_type=event_type,
            body=raw,
            headers={"Content-Type": "application/json", "Cko-Signature": signature},
        )

    # -- hosted payments and payment links -------------------------------------------------

    def hosted_view(self, hpp: dict[str, Any]) -> dict[str, Any]:
        status = hpp["status"]
        if status == "Payment Pending" and parse_iso(hpp["expires_on"]) <= self.now():
            status = "Expired"
        return self._hosted_common(hpp, status, "/hosted-payments", "/page") | {
            "success_url": hpp["success_url"],
            "cancel_url": hpp["cancel_url"],
            "failure_url": hpp["failure_url"],
        }

    def link_view(self, link: dict[str, Any]) -> dict[str, Any]:
        status = link["status"]
        if status == "Active" and parse_iso(link["expires_on"]) <= self.now():
            status = "Expired"
        body = self._hosted_common(link, status, "/payment-links", "/link")
        body["created_on"] = link["created_on"]
        body["expires_on"] = link["expires_on"]
        body["processing_channel_id"] = link["processing_channel_id"]
        if link.get("return_url"):
            body["return_url"] = link["return_url"]
        return body

    def _hosted_common(
        self, obj: dict[str, Any], status: str, api_path: str, page_path: str
    ) -> dict[str, Any]:
        base = f"{obj['base_url']}{PREFIX}"
        links: dict[str, Any] = {
            "self": {"href": f"{base}{api_path}/{obj['id']}"},
            "redirect": {"href": f"{base}{page_path}/{obj['id']}"},
        }
        if obj.get("payment_id"):
            links["payment"] = {"href": f"{base}/payments/{obj['payment_id']}"}
            links["payment_actions"] = {"href": f"{base}/payments/{obj['payment_id']}/actions"}
        request = obj["request"]
        body: dict[str, Any] = {
            "id": obj["id"],
            "status": status,
            **({"payment_id": obj["payment_id"]} if obj.get("payment_id") else {}),
            "amount": request["amount"],
            "currency": request["currency"],
            **({"reference": request["reference"]} if request.get("reference") else {}),
            **({"description": request["description"]} if request.get("description") else {}),
            **({"customer": request["customer"]} if request.get("customer") else {}),
            "billing": request["billing"],
            **({"products": request["products"]} if request.get("products") else {}),
            **({"metadata": request["metadata"]} if request.get("metadata") else {}),
            "_links": links,
        }
        return body

    def pay_hosted(
        self, kind: str, obj: dict[str, Any], card: dict[str, Any], *, page_url: str
    ) -> tuple[int, dict[str, Any]]:
        """A customer pays a Hosted Payments Page or Payment Link with a card."""
        request = obj["request"]
        token = self.create_token(card)["token"]
        fields: dict[str, Any] = {
            "source": {"type": "token", "token": token},
            "amount": request["amount"],
            "currency": request["currency"],
            "reference": request.get("reference"),
            "description": request.get("description"),
            "metadata": request.get("metadata"),
            "capture": request.get("capture", True),
            "customer": request.get("customer"),
            "payment_type": request.get("payment_type"),
            "3ds": request.get("3ds"),
            "processing_channel_id": request.get("processing_channel_id"),
            "success_url": obj.get("success_url") or page_url,
            "failure_url": obj.get("failure_url") or page_url,
        }
        status, answer = self.create_payment(
            fields, base_url=obj["base_url"], origin={"kind": kind, "id": obj["id"]}
        )
        payment = self.store.get("cko_payment", answer["id"])
        assert payment is not None
        self.after_payment(payment)
        return status, payment

    def after_payment(self, payment: dict[str, Any]) -> None:
        """Mark the page or link paid once its payment is approved."""
        origin = payment.get("origin") or {}
        if not origin or not payment["approved"]:
            return
        kind = "cko_hpp" if origin["kind"] == "hpp" else "cko_link"
        obj = self.store.get(kind, origin["id"])
        if obj is None or obj.get("payment_id"):
            return
        obj["payment_id"] = payment["id"]
        obj["status"] = "Payment Received"
        self.store.put(kind, obj["id"], obj)


def _customer_view(customer: dict[str, Any] | None) -> dict[str, Any] | None:
    if customer is None:
        return None
    view = {"id": customer["id"], "email": customer["email"]}
    if customer.get("name"):
        view["name"] = customer["name"]
    return view


def _threeds_short(payment: dict[str, Any]) -> dict[str, Any]:
    threeds = payment["threeds"] or {}
    return {"downgraded": threeds.get("downgraded", False), "enrolled": threeds.get("enrolled")}


def _event_data(payment: dict[str, Any], action: dict[str, Any] | None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": payment["id"],
        **({"action_id": action["id"]} if action else {}),
        **({"reference": payment["reference"]} if payment["reference"] else {}),
        "amount": action["amount"] if action else payment["amount"],
        "currency": payment["currency"],
        "payment_type": payment["payment_type"],
        "processing_channel_id": payment["processing_channel_id"],
    }
    if action is not None:
        data.update(
            {
                "response_code": action["response_code"],
                "response_summary": action["response_summary"],
                "processed_on": action["processed_on"],
                **({"auth_code": action["auth_code"]} if action.get("auth_code") else {}),
            }
        )
    card = payment["_card"]
    data["source"] = {
        "type": "card",
        **({"id": payment["_instrument_id"]} if payment["_instrument_id"] else {}),
        "scheme": cko_cards.describe(card["number"]).scheme,
        "last_4": card["number"][-4:],
        "bin": card["number"][:6],
        "expiry_month": card["expiry_month"],
        "expiry_year": card["expiry_year"],
        "fingerprint": Gateway.fingerprint(card["number"]),
    }
    if payment["customer"]:
        data["customer"] = payment["customer"]
    if payment["metadata"]:
        data["metadata"] = payment["metadata"]
    return data


# -- request validation --------------------------------------------------------------------


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
            elif not (isinstance(token, str) and _matches(token, "tok_")):
                codes.append("token_invalid")
        elif kind == "id":
            source_id = source.get("id")
            if not source_id:
                codes.append("source_id_required")
            elif not (isinstance(source_id, str) and _matches(source_id, "src_")):
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
            elif cid and not (isinstance(cid, str) and _matches(cid, "cus_")):
                codes.append("customer_id_invalid")
            elif email and not (isinstance(email, str) and _EMAIL.match(email)):
                codes.append("source_email_invalid")
    amount = body.get("amount")
    if amount is not None and not (_is_int(amount) and 0 <= amount <= MAX_AMOUNT):
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
    elif not (_is_int(amount) and 1 <= amount <= MAX_AMOUNT):
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
            _is_int(expires_in) and 1 <= expires_in <= LINK_MAX_EXPIRES_IN
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


def _validate_action_body(body: dict[str, Any], kind: str) -> None:
    codes: list[str] = []
    amount = body.get("amount")
    if kind != "Void" and amount is not None and not (_is_int(amount) and 0 < amount <= MAX_AMOUNT):
        codes.append("amount_invalid")
    if kind == "Capture" and body.get("capture_type") not in (None, "Final", "NonFinal"):
        codes.append("capture_type_invalid")
    _check_str(body, "reference", 50, codes)
    _check_metadata(body, codes)
    if codes:
        raise invalid(*codes)


# -- HTTP layer ----------------------------------------------------------------------------

Handler = Callable[[Request], Awaitable[Response]]


def api(handler: Handler) -> Handler:
    """Every answer carries Cko-Request-Id; CkoError becomes Checkout.com's error answer."""

    async def run(request: Request) -> Response:
        request_id = str(uuid.uuid4())
        try:
            response = await handler(request)
        except CkoError as exc:
            response = exc.response(request_id)
        response.headers["Cko-Request-Id"] = request_id
        response.headers["Cko-Version"] = CKO_VERSION
        return response

    return run


def presented_key(request: Request) -> str:
    """The key in Authorization: ``Bearer <key>`` (NAS) or the bare key (ABC/Previous)."""
    raw = request.headers.get("authorization", "").strip()
    scheme, _, rest = raw.partition(" ")
    if scheme.lower() == "bearer":
        return rest.strip()
    return raw


async def json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise CkoError(415)
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # ValueError includes UnicodeDecodeError
        raise invalid("request_json_invalid") from exc
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise invalid("request_json_invalid")
    return body


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


class CheckoutComApi:
    """The REST endpoints; all handlers are async so store access stays on one thread."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.gateway = Gateway(sandbox)

    def routes(self) -> list[Route]:
        p = PREFIX
        return [
            Route(f"{p}/tokens", api(self.create_token), methods=["POST"]),
            Route(f"{p}/payments", api(self.create_payment), methods=["POST"]),
            Route(f"{p}/payments", api(self.list_payments), methods=["GET"]),
            Route(f"{p}/payments/{{payment_id}}", api(self.get_payment), methods=["GET"]),
            Route(f"{p}/payments/{{payment_id}}/actions", api(self.get_actions), methods=["GET"]),
            Route(f"{p}/payments/{{payment_id}}/captures", api(self.capture), methods=["POST"]),
            Route(f"{p}/payments/{{payment_id}}/refunds", api(self.refund), methods=["POST"]),
            Route(f"{p}/payments/{{payment_id}}/voids", api(self.void), methods=["POST"]),
            Route(f"{p}/hosted-payments", api(self.create_hosted), methods=["POST"]),
            Route(f"{p}/hosted-payments/{{hpp_id}}", api(self.get_hosted), methods=["GET"]),
            Route(f"{p}/payment-links", api(self.create_link), methods=["POST"]),
            Route(f"{p}/payment-links/{{link_id}}", api(self.get_link), methods=["GET"]),
            Route("/_sandbox/checkout-com/settle", self.control_settle, methods=["POST"]),
            Route("/_sandbox/checkout-com/hold-requests", self.control_hold, methods=["POST"]),
            Route("/_sandbox/checkout-com/held-requests/wait", self.control_wait, methods=["POST"]),
        ]

    # -- auth ------------------------------------------------------------------------------

    @staticmethod
    def _secret(request: Request) -> None:
        if presented_key(request) != SANDBOX_SECRET_KEY:
            raise CkoError(401)

    # -- idempotency -----------------------------------------------------------------------

    async def _apply(
        self, request: Request, apply: Callable[[], tuple[int, Any]], *, idempotent: bool = True
    ) -> Response:
        """Run a mutation once per Cko-Idempotency-Key: 2xx answers are replayed for 24 h,
        a duplicate while the first is in flight gets 429, failures are not remembered.

        Only /payments and the payment actions honour the key (Checkout.com's idempotency
        docs list those); hosted payments and payment links ignore it."""
        store = self.sandbox.store
        key = request.headers.get("cko-idempotency-key") if idempotent else None
        if not key:
            await self.sandbox.gate.pass_through()
            with store.transaction():
                status, payload = apply()
            return JSONResponse(payload, status_code=status)
        scope = f"checkout_com:{request.method} {request.url.path}"
        now = self.sandbox.now()
        record_id = f"{scope}|{key}"
        with store.transaction():
            claimed = store.get("cko_idempotency", record_id)
            if (
                claimed is not None
                and parse_iso(claimed["created_at"]) + IDEMPOTENCY_RETENTION <= now
            ):
                store.release_key(scope, key)
            earlier = store.claim_key(scope, key, "-", now)
            if earlier is None:
                store.put("cko_idempotency", record_id, {"created_at": iso(now)})
        if earlier is not None:
            if earlier.state == "in_progress":
                raise CkoError(429, "request_invalid", ["duplicate_request"])
            return JSONResponse(earlier.body, status_code=earlier.status or 200)
        try:
            await self.sandbox.gate.pass_through()
            with store.transaction():
                status, payload = apply()
                store.finish_key(scope, key, status, payload)
        except BaseException:
            with store.transaction():
                store.release_key(scope, key)
            raise
        return JSONResponse(payload, status_code=status)

    # -- tokens ----------------------------------------------------------------------------

    async def create_token(self, request: Request) -> Response:
        if presented_key(request) != SANDBOX_PUBLIC_KEY:
            raise CkoError(401)
        body = await json_body(request)
        kind = body.get("type")
        if not kind:
            raise invalid("token_type_required")
        if kind != "card":
            raise invalid("token_type_invalid")
        with self.sandbox.store.transaction():
            card = self.gateway.validate_card(body)
            token = self.gateway.create_token(card)
        return JSONResponse(token, status_code=201)

    # -- payments --------------------------------------------------------------------------

    async def create_payment(self, request: Request) -> Response:
        self._secret(request)
        body = validate_payment_request(await json_body(request))
        root = base_url(request)
        return await self._apply(request, lambda: self.gateway.create_payment(body, base_url=root))

    def _payment_or_404(self, payment_id: str, *, sessions: bool = True) -> dict[str, Any]:
        if not sessions and not payment_id.startswith("pay_"):
            raise CkoError(404)
        payment = self.gateway.payment(payment_id)
        if payment is None:
            raise CkoError(404)
        return payment

    async def get_payment(self, request: Request) -> Response:
        self._secret(request)
        payment_id = request.path_params["payment_id"]
        with self.sandbox.store.transaction():
            payment = self._payment_or_404(payment_id)
        return JSONResponse(
            self.gateway.details_view(payment, by_session=payment_id.startswith("sid_"))
        )

    async def get_actions(self, request: Request) -> Response:
        self._secret(request)
        with self.sandbox.store.transaction():
            payment = self._payment_or_404(request.path_params["payment_id"], sessions=False)
        return JSONResponse(self.gateway.actions_view(payment))

    async def list_payments(self, request: Request) -> Response:
        self._secret(request)
        query = request.query_params
        codes: list[str] = []
        limit = _int_like(query.get("limit", str(DEFAULT_LIST_LIMIT)))
        skip = _int_like(query.get("skip", "0"))
        if limit is None or not 1 <= limit <= 100:
            codes.append("paging_limit_invalid")
        if skip is None or skip < 0:
            codes.append("paging_skip_invalid")
        reference = query.get("reference")
        if reference is not None and len(reference) > 50:
            codes.append("reference_invalid")
        if codes:
            raise invalid(*codes)
        assert limit is not None and skip is not None
        with self.sandbox.store.transaction():
            matches = []
            for _, stored in self.sandbox.store.newest_first("cko_payment"):
                if reference is not None and stored["reference"] != reference:
                    continue
                payment = self.gateway.payment(stored["id"])
                assert payment is not None
                matches.append(payment)
        page = [self.gateway.details_view(p) for p in matches[skip : skip + limit]]
        return JSONResponse(
            {"limit": limit, "skip": skip, "total_count": len(matches), "data": page}
        )

    async def _action(self, request: Request, kind: str) -> Response:
        self._secret(request)
        payment_id = request.path_params["payment_id"]
        body = await json_body(request)
        _validate_action_body(body, kind)
        with self.sandbox.store.transaction():
            if self._payment_or_404(payment_id, sessions=False) is None:
                raise CkoError(404)

        def apply() -> tuple[int, dict[str, Any]]:
            payment = self._payment_or_404(payment_id, sessions=False)
            action = self.gateway.request_action(payment, kind, body)
            answer: dict[str, Any] = {"action_id": action["id"]}
            if action["reference"]:
                answer["reference"] = action["reference"]
            answer["_links"] = {"payment": self.gateway._href(payment, f"/payments/{payment_id}")}
            return 202, answer

        return await self._apply(request, apply)

    async def capture(self, request: Request) -> Response:
        return await self._action(request, "Capture")

    async def refund(self, request: Request) -> Response:
        return await self._action(request, "Refund")

    async def void(self, request: Request) -> Response:
        return await self._action(request, "Void")

    # -- hosted payments page and payment links --------------------------------------------

    async def create_hosted(self, request: Request) -> Response:
        self._secret(request)
        body = validate_hosted_request(await json_body(request), link=False)
        root = base_url(request)

        def apply() -> tuple[int, dict[str, Any]]:
            hpp_id = new_id("hpp_", 12)
            now = self.sandbox.now()
            hpp = {
                "id": hpp_id,
                "status": "Payment Pending",
                "payment_id": None,
                "request": body,
                "success_url": body["success_url"],
                "cancel_url": body["cancel_url"],
                "failure_url": body["failure_url"],
                "created_on": iso(now),
                "expires_on": iso(now + HPP_LIFETIME),
                "base_url": root,
            }
            self.sandbox.store.put("cko_hpp", hpp_id, hpp)
            answer: dict[str, Any] = {"id": hpp_id}
            if body.get("reference"):
                answer["reference"] = body["reference"]
            answer["_links"] = {
                "self": {"href": f"{root}{PREFIX}/hosted-payments/{hpp_id}"},
                "redirect": {"href": f"{root}{PREFIX}/page/{hpp_id}"},
            }
            return 201, answer

        return await self._apply(request, apply, idempotent=False)

    async def get_hosted(self, request: Request) -> Response:
        self._secret(request)
        hpp = self.sandbox.store.get("cko_hpp", request.path_params["hpp_id"])
        if hpp is None:
            raise CkoError(404)
        return JSONResponse(self.gateway.hosted_view(hpp))

    async def create_link(self, request: Request) -> Response:
        self._secret(request)
        body = validate_hosted_request(await json_body(request), link=True)
        root = base_url(request)

        def apply() -> tuple[int, dict[str, Any]]:
            link_id = new_id("pl_", 12)
            now = self.sandbox.now()
            expires_in = body.get("expires_in") or LINK_DEFAULT_EXPIRES_IN
            link = {
                "id": link_id,
                "status": "Active",
                "payment_id": None,
                "request": body,
                "return_url": body.get("return_url"),
                "processing_channel_id": body.get("processing_channel_id")
                or SANDBOX_PROCESSING_CHANNEL,
                "created_on": iso(now),
                "expires_on": iso(now + timedelta(seconds=expires_in)),
                "base_url": root,
            }
            self.sandbox.store.put("cko_link", link_id, link)
            answer: dict[str, Any] = {"id": link_id, "expires_on": link["expires_on"]}
            if body.get("reference"):
                answer["reference"] = body["reference"]
            answer["_links"] = {
                "self": {"href": f"{root}{PREFIX}/payment-links/{link_id}"},
                "redirect": {"href": f"{root}{PREFIX}/link/{link_id}"},
            }
            return 201, answer

        return await self._apply(request, apply, idempotent=False)

    async def get_link(self, request: Request) -> Response:
        self._secret(request)
        link = self.sandbox.store.get("cko_link", request.path_params["link_id"])
        if link is None:
            raise CkoError(404)
        return JSONResponse(self.gateway.link_view(link))

    # -- control ---------------------------------------------------------------------------

    async def control_settle(self, request: Request) -> Response:
        """Apply every queued capture/refund/void now; ``{"auto_settle": false}`` keeps them
        queued until this is called again (default: applied on the payment's next read)."""
        body = await _control_body(request)
        auto = body.get("auto_settle")
        if auto is not None and not isinstance(auto, bool):
            return JSONResponse({"error": "'auto_settle' must be true or false"}, status_code=400)
        with self.sandbox.store.transaction():
            settled = self.gateway.settle_all()
            if auto is not None:
                self.gateway.set_auto_settle(auto)
            auto_now = self.gateway.auto_settle
        return JSONResponse({"settled": settled, "auto_settle": auto_now})

    async def control_hold(self, request: Request) -> Response:
        enabled = (await _control_body(request)).get("enabled")
        if not isinstance(enabled, bool):
            return JSONResponse({"error": "'enabled' must be true or false"}, status_code=400)
        if enabled:
            self.sandbox.gate.hold()
        else:
            self.sandbox.gate.release()
        return JSONResponse({"enabled": enabled, "parked": self.sandbox.gate.parked})

    async def control_wait(self, request: Request) -> Response:
        body = await _control_body(request)
        count, timeout = body.get("count", 1), body.get("timeout", 10)
        if not _is_int(count) or not isinstance(timeout, int | float):
            return JSONResponse({"error": "bad 'count' or 'timeout'"}, status_code=400)
        try:
            async with asyncio.timeout(float(timeout)):
                await self.sandbox.gate.wait_parked(count)
        except TimeoutError:
            return JSONResponse({"parked": self.sandbox.gate.parked}, status_code=408)
        return JSONResponse({"parked": self.sandbox.gate.parked})


async def _control_body(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (ValueError, RecursionError):
        return {}
    return body if isinstance(body, dict) else {}


def _routes(sandbox: Sandbox) -> list[BaseRoute]:
    from .checkout_com_pages import CheckoutComPages

    return [*CheckoutComApi(sandbox).routes(), *CheckoutComPages(sandbox).routes()]


DIALECT = Dialect(
    name="checkout_com",
    api_prefixes=(
        f"{PREFIX}/tokens",
        f"{PREFIX}/payments",
        f"{PREFIX}/hosted-payments",
        f"{PREFIX}/payment-links",
    ),
    routes=_routes,
    error_response=checkout_com_error,
)
