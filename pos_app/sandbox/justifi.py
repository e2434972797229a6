"""JustiFi's HTTP dialect under ``/justifi``: OAuth token, checkouts, payment methods, payments.

Objects, envelopes, error bodies and status codes follow JustiFi's OpenAPI spec, its published
mocks and its error-code catalogue (see PROVIDERS.md §1). The operations at the top
(create_checkout, tokenize_card, complete_checkout) are shared with the hosted checkout page,
so a payment made on the page and one made through the API leave identical state.

Authentication accepts platform access tokens and web component tokens (``Auth``); the latter
only on the routes their ``role:resource:id`` resources allow. Every API route answers CORS
(``with_cors``) because the web components call the same paths from the browser. Changes
publish signed JustiFi events (``publish_event``). Payments, refunds and checkout updates live
in ``justifi_payments``; web component tokens, iframes and the host page in
``justifi_components``; payment intents and checkout sessions in ``justifi_sessions``.

Where the sources disagree or are silent:

* ``origin_url`` (CreateCheckout: "required for web component usage only") is kept on the
  checkout and shown in it; the spec's Checkout schema, JustiFi's mocks and its Node SDK
  types do not list it in answers, so whether the real API echoes it is unconfirmed.
* ``Sub-Account`` is required where the spec says so (create checkout, payment, payment
  method, payment intent); on ``/complete`` it is optional but checked when sent (see
  ``JustifiApi.complete_checkout``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import cards, credentials
from .justifi_balance import FEE_TYPES, collected_balance, payment_fees, record_collected
from .state import Sandbox, iso, new_id, parse_iso
from .webhooks import record_webhook, webhook_secret

SANDBOX_CLIENT_ID = credentials.JUSTIFI_CLIENT_ID
SANDBOX_CLIENT_SECRET = credentials.JUSTIFI_CLIENT_SECRET
SANDBOX_SUB_ACCOUNT = credentials.JUSTIFI_SUB_ACCOUNT
SANDBOX_PLATFORM_ACCOUNT = credentials.JUSTIFI_PLATFORM_ACCOUNT

# Sub-accounts the sandbox platform owns, with the store name the hosted page shows.
SUB_ACCOUNTS = {SANDBOX_SUB_ACCOUNT: "Sandbox Store"}

# The spec's own example answer (CreatePayment / CreatePaymentMethod, 400 "Full_PAN_not_allowed").
FULL_PAN_MESSAGE = (
    "Full card numbers are not accepted on this endpoint. Please use the tokenization iframe "
    "to create a payment method token first."
)

TOKEN_LIFETIME = timedelta(hours=24)
WEB_COMPONENT_TOKEN_LIFETIME = timedelta(minutes=60)
CHECKOUT_LIFETIME = timedelta(days=7)
MIN_AMOUNT_EXCLUSIVE = 50
MAX_AMOUNT_EXCLUSIVE = 100_000_000
MAX_IDEMPOTENCY_KEY_LENGTH = 100
DEFAULT_PAGE_SIZE = 25
CARD_PAYMENT_MODES = ("ecom", "apple_pay", "google_pay")

PAYMENT_SETTINGS = {
    "ach_payments": False,
    "bnpl_payments": False,
    "credit_card_payments": True,
    "insurance_payments": False,
    "bank_account_verification": False,
    "apple_payments": False,
    "google_payments": False,
}


class ApiError(Exception):
    """A JustiFi error response: ``{"error": {"code", "message", ...}}`` with an HTTP status."""

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, **self.extra}}


def not_authenticated() -> ApiError:
    return ApiError(401, "not_authenticated", "Not authenticated")


def not_found() -> ApiError:
    return ApiError(404, "resource_not_found", "Resource not found")


def missing(name: str, code: str = "parameter_missing") -> ApiError:
    return ApiError(422, code, f"Missing required parameter: {name}")


def invalid(name: str, code: str | None = None) -> ApiError:
    return ApiError(422, code or f"{name}_invalid", f"Format is invalid for parameter: {name}")


def envelope(object_type: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"id": data["id"], "type": object_type, "data": data, "page_info": None}


# -- webhooks ------------------------------------------------------------------------------


def sign_webhook(secret: str, timestamp: str, body: bytes) -> str:
    """``JUSTIFI-SIGNATURE``: hex HMAC-SHA256 of ``"{JUSTIFI-TIMESTAMP}.{raw body}"``."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def publish_event(
    sandbox: Sandbox,
    event_name: str,
    data: dict[str, Any],
    *,
    account_id: str,
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    """Record a signed JustiFi Event (spec Event.yaml); call inside the change's transaction."""
    event_id = new_id("evt_")
    event: dict[str, Any] = {
        "id": event_id,
        "event_name": event_name,
        "account_id": account_id,
        "account_type": "test",
        "platform_account_id": SANDBOX_PLATFORM_ACCOUNT,
        "idempotency_key": idempotency_key,
        "request_id": None,
        "version": "v1",
        "data": data,
    }
    body = json.dumps(event, separators=(",", ":")).encode()
    timestamp = iso(sandbox.now())
    signature = sign_webhook(webhook_secret(sandbox, "justifi"), timestamp, body)
    record_webhook(
        sandbox,
        provider="justifi",
        event_id=event_id,
        event_type=event_name,
        body=body,
        headers={
            "Content-Type": "application/json",
            "JUSTIFI-TIMESTAMP": timestamp,
            "JUSTIFI-SIGNATURE": signature,
        },
    )
    return event


# -- checkouts -----------------------------------------------------------------------------


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _checkout_amount(body: dict[str, Any]) -> int:
    if "amount" not in body or body["amount"] is None:
        raise ApiError(422, "amount_required", "Missing required parameter: amount")
    amount = body["amount"]
    if not _is_int(amount):
        raise ApiError(422, "amount_must_be_an_integer", "Amount must be an integer")
    if amount <= MIN_AMOUNT_EXCLUSIVE:
        raise ApiError(422, "amount_below_minimum", "Amount must be greater than 50")
    if amount >= MAX_AMOUNT_EXCLUSIVE:
        raise ApiError(
            422, "amount_above_maximum", "Amount must be lower than 100000000 ($1,000,000.00)"
        )
    return int(amount)


def _optional_str(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise invalid(name)
    return value


def _optional_object(body: dict[str, Any], name: str) -> dict[str, Any] | None:
    value = body.get(name)
    if value is not None and not isinstance(value, dict):
        raise invalid(name)
    return value


def validate_fees(raw: Any, amount: int) -> list[dict[str, Any]] | None:
    """A request's ``fees`` array, checked by the spec's "Enhanced Fee Management" rules."""
    if raw is None:
        return None
    if not isinstance(raw, list) or not all(isinstance(fee, dict) for fee in raw):
        raise ApiError(422, "fees_invalid", "Fee type must be processing_fee or platform_fee")
    types = [fee.get("type") for fee in raw]
    if any(kind not in FEE_TYPES for kind in types):
        raise ApiError(422, "fees_invalid", "Fee type must be processing_fee or platform_fee")
    if len(set(types)) != len(types):
        raise ApiError(422, "multiple_of_same_fee_type", "Only one fee per type is allowed")
    amounts = [fee.get("amount") for fee in raw]
    if not all(_is_int(value) and value > 0 for value in amounts):
        raise ApiError(
            422,
            "fee_amount_greater_than_zero",
            "Fee amount must be an integer greater than 0",
        )
    if sum(amounts) > amount:
        raise ApiError(
            422,
            "fee_amount_greater_than_payment_amount",
            "Total fees cannot exceed the payment amount",
        )
    return [{"type": fee["type"], "amount": fee["amount"]} for fee in raw]


def validate_checkout_request(body: dict[str, Any]) -> dict[str, Any]:
    """The checkout fields of a create request, checked; raises ApiError(422)."""
    amount = _checkout_amount(body)
    description = body.get("description")
    if not isinstance(description, str) or not description.strip():
        raise missing("description")
    descriptor = _optional_str(body, "statement_descriptor")
    if descriptor is not None and not (
        5 <= len(descriptor) <= 22
        and all(c.isalnum() or c in " -_" for c in descriptor)
        and descriptor.isascii()
    ):
        raise invalid("statement_descriptor")
    # The domain the web component renders on ("required for web component usage only").
    origin_url = _optional_str(body, "origin_url")
    group = _optional_str(body, "payment_method_group_id")
    application_fees = _optional_object(body, "application_fees")
    payment = _optional_object(body, "payment")
    if payment is not None:
        _optional_str(payment, "description")
        _optional_object(payment, "metadata")
        fees = validate_fees(payment.get("fees"), amount)
        # payment.fees "Cannot be used together with application_fees" (spec CreateCheckout);
        # the code is the Enhanced Fee Management table's "No mixing fee types".
        if fees is not None and application_fees is not None:
            raise ApiError(
                422,
                "fee_and_application_fee_declared",
                "Cannot use both fees and application_fees",
            )
    return {
        "amount": amount,
        "description": description,
        "statement_descriptor": descriptor,
        "origin_url": origin_url,
        "payment_method_group_id": group,
        "metadata": _optional_object(body, "metadata"),
        "application_fees": application_fees,
        "payment": payment,
    }


def create_checkout(
    sandbox: Sandbox, *, account_id: str, client_id: str, fields: dict[str, Any]
) -> dict[str, Any]:
    now = iso(sandbox.now())
    checkout_id = new_id("cho_")
    payment = fields["payment"]
    payment_description = (payment or {}).get("description") or fields["description"]
    checkout = {
        "id": checkout_id,
        "payment_intent_id": None,
        "account_id": account_id,
        "platform_account_id": SANDBOX_PLATFORM_ACCOUNT,
        "payment_amount": fields["amount"],
        "payment_currency": "USD",
        "payment_description": payment_description,
        "description": fields["description"],
        # Kept and shown: the spec takes it on create; its Checkout schema and mocks do not
        # list it in answers (see the module notes).
        "origin_url": fields.get("origin_url"),
        "payment_methods": [],
        "payment_method_group_id": fields["payment_method_group_id"],
        "status": "created",
        "mode": "test",
        "payment_settings": dict(PAYMENT_SETTINGS),
        "successful_payment_id": None,
        "statement_descriptor": fields["statement_descriptor"],
        "metadata": fields["metadata"],
        "application_fees": fields["application_fees"],
        "payment": payment,
        "created_at": now,
        "updated_at": now,
        "total_amount": fields["amount"],
        "insurance_amount": 0,
        "payment_client_id": client_id,
        "completions": [],
        "bnpl": None,
    }
    sandbox.store.put("checkout", checkout_id, checkout)
    publish_event(sandbox, "checkout.created", checkout, account_id=account_id)
    return checkout


def checkout_view(checkout: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The checkout as a client sees it now: unfinished checkouts expire after a week."""
    expires_at = parse_iso(checkout["created_at"]) + CHECKOUT_LIFETIME
    if checkout["status"] in ("created", "attempted") and now >= expires_at:
        return {**checkout, "status": "expired", "updated_at": iso(expires_at)}
    return checkout


def get_checkout(sandbox: Sandbox, checkout_id: str) -> dict[str, Any] | None:
    stored = sandbox.store.get("checkout", checkout_id)
    return None if stored is None else checkout_view(stored, sandbox.now())


# -- payment methods -----------------------------------------------------------------------


def _card_text(card: dict[str, Any], name: str) -> str | None:
    value = card.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise invalid(name)
    return str(value)


def tokenize_card(sandbox: Sandbox, *, account_id: str, card: dict[str, Any]) -> dict[str, Any]:
    """Validate a raw card and store it as a payment method; returns the PM data object.

    Format problems are 422; a card that cannot be tokenized (Luhn, expiry, CVC) is 402,
    as JustiFi documents for tokenization errors.
    """
    raw_number = _card_text(card, "number")
    if raw_number is None:
        raise missing("card_number", "card_number_required")
    name = _card_text(card, "name")
    if name is None or not name.strip():
        raise missing("card_name", "card_name_required")
    month_text, year_text = _card_text(card, "month"), _card_text(card, "year")
    if month_text is None:
        raise missing("month")
    if year_text is None:
        raise missing("year")
    postal = _card_text(card, "address_postal_code")
    if postal is None:
        raise missing("address_postal_code")
    if not (3 <= len(postal.strip()) <= 10 and all(c.isalnum() or c in " -" for c in postal)):
        raise invalid("postal_code")
    cvc = _card_text(card, "verification")
    if cvc is not None and not cvc.isdigit():
        raise invalid("verification")
    metadata = _optional_object(card, "metadata")
    month_digits = month_text.strip()
    if not month_digits.isdigit() or not 1 <= int(month_digits) <= 12:
        raise invalid("month")
    expiry = cards.parse_expiry(month_digits, year_text)
    if expiry is None:
        raise invalid("year")
    month, year = expiry

    number = cards.normalize_number(raw_number)
    if not cards.luhn_valid(number):
        raise ApiError(402, "card_number_invalid", "The card number is invalid.")
    brand = cards.detect_brand(number)
    if brand is None:
        raise ApiError(
            402,
            "invalid_card_brand",
            "The card's brand is not supported. Please use Visa, Mastercard, American Express, "
            "or Discover, or try a different payment method.",
        )
    if cards.is_expired(month, year, sandbox.now()):
        raise ApiError(
            402,
            "expired_card",
            "The card has expired. Please check the expiration date or try a different card "
            "or payment method.",
        )
    if cvc is not None and len(cvc) != cards.cvc_length(brand):
        raise ApiError(
            402,
            "invalid_cvc",
            "The card's security code is incorrect. Please check the security code or try a "
            "different card or payment method.",
        )

    now = iso(sandbox.now())
    token = new_id("pm_")
    line1_given = bool(_card_text(card, "address_line1"))
    payment_method = {
        "id": token,
        "signature": _card_signature(number),
        "customer_id": None,
        "account_id": account_id,
        "status": "valid",
        "invalid_reason": None,
        "created_at": now,
        "updated_at": now,
        "card": {
            "id": token,
            "name": name.strip(),
            "acct_last_four": number[-4:],
            "brand": brand,
            "digital_wallet": None,
            "token": token,
            "month": str(month),
            "year": str(year),
            "metadata": metadata,
            "address_line1_check": "pass" if line1_given else "unchecked",
            "address_postal_code_check": "pass",
            "bin_details": cards.bin_details(number, brand),
            "created_at": now,
            "updated_at": now,
        },
    }
    sandbox.store.put("payment_method", token, payment_method)
    # What the card will do when charged; kept apart so it never shows in a response.
    sandbox.store.put(
        "card_rule",
        token,
        {"number": number if number in cards.TEST_CARDS else None, "cvc_given": cvc is not None},
    )
    return payment_method


def tokenize_bank_account(
    sandbox: Sandbox, *, account_id: str, bank: dict[str, Any]
) -> dict[str, Any]:
    """Validate a bank account and store it as a payment method (ACH)."""
    owner = _card_text(bank, "account_owner_name")
    if owner is None or not owner.strip():
        raise missing("account_owner_name", "account_owner_name_required")
    routing = _card_text(bank, "routing_number")
    if routing is None:
        raise missing("routing_number", "routing_number_required")
    number = _card_text(bank, "account_number")
    if number is None:
        raise missing("account_number", "account_number_required")
    account_type = bank.get("account_type") or "checking"
    if account_type not in ("checking", "savings"):
        raise invalid("account_type")
    owner_type = bank.get("account_owner_type") or "individual"
    if owner_type not in ("individual", "company"):
        raise invalid("account_owner_type")
    if not cards.routing_number_valid(routing.strip()):
        raise ApiError(402, "routing_number_invalid", "The routing number is invalid.")
    number = number.strip()
    if not (number.isdigit() and 4 <= len(number) <= 17):
        raise ApiError(402, "account_number_invalid", "The account number is invalid.")
    now = iso(sandbox.now())
    token = new_id("pm_")
    payment_method = {
        "id": token,
        "signature": _card_signature("bank:" + routing.strip() + ":" + number),
        "customer_id": None,
        "account_id": account_id,
        "status": "valid",
        "invalid_reason": None,
        "created_at": now,
        "updated_at": now,
        "bank_account": {
            "id": token,
            "token": token,
            "acct_last_four": number[-4:],
            "name": owner.strip(),
            "account_owner_name": owner.strip(),
            "account_owner_type": owner_type,
            "account_type": account_type,
            "routing_number": routing.strip(),
            "bank_name": "STRIPE TEST BANK" if routing.strip() == cards.ACH_TEST_ROUTING else None,
            "country": bank.get("country") or "US",
            "currency": bank.get("currency") or "usd",
            "metadata": _optional_object(bank, "metadata"),
            "created_at": now,
            "updated_at": now,
        },
    }
    sandbox.store.put("payment_method", token, payment_method)
    sandbox.store.put("bank_rule", token, {"account_number": number})
    return payment_method


def charge_decline(sandbox: Sandbox, payment_token: str) -> cards.Decline | None:
    """How charging this stored payment method fails (None: it is approved)."""
    bank = sandbox.store.get("bank_rule", payment_token)
    if bank is not None:
        return cards.ach_decline(bank["account_number"])
    rule = sandbox.store.get("card_rule", payment_token) or {"number": None, "cvc_given": False}
    if not rule["number"]:
        return None
    return cards.payment_decline(rule["number"], cvc_given=rule["cvc_given"])


def decline_error(decline: cards.Decline, payment_method: dict[str, Any]) -> dict[str, Any]:
    return _decline_error(decline, payment_method)


def _card_signature(number: str) -> str:
    """Stable per card number across payment methods, like JustiFi's ``signature``."""
    digest = hashlib.sha256(b"pos-sandbox-card:" + number.encode()).digest()
    return base64.b32encode(digest).decode().rstrip("=").lower()[:22]


def payment_method_envelope(payment_method: dict[str, Any]) -> dict[str, Any]:
    data = {key: value for key, value in payment_method.items() if key != "id"}
    return {"id": payment_method["id"], "type": "payment_method", "data": data, "page_info": None}


# -- completing a checkout -----------------------------------------------------------------


def complete_checkout(
    sandbox: Sandbox, *, checkout_id: str, payment_token: str, payment_mode: str = "ecom"
) -> dict[str, Any]:
    """Charge the token for the checkout: returns the CheckoutCompletion (succeeded or failed).

    A decline is data (HTTP 201 with payment_status "failed"), and leaves the checkout
    ``attempted`` so another card can be tried. Call inside a store transaction.
    """
    store = sandbox.store
    now = sandbox.now()
    stored = store.get("checkout", checkout_id)
    if stored is None:
        raise not_found()
    checkout = checkout_view(stored, now)
    if checkout["status"] == "completed":
        raise ApiError(422, "checkout_already_completed", "This checkout is already completed")
    if checkout["status"] == "expired":
        raise ApiError(422, "checkout_expired", "This checkout has expired")
    payment_method = store.get("payment_method", payment_token)
    if payment_method is None or payment_method["account_id"] != checkout["account_id"]:
        raise ApiError(404, "payment_method_not_found", "Payment method not found")
    decline = charge_decline(sandbox, payment_token)
    charge_mode = "ach" if "bank_account" in payment_method else payment_mode

    stamp = iso(now)
    payment = _new_payment(checkout, payment_method, charge_mode, decline, stamp)
    store.put("payment", payment["id"], payment)
    if payment["captured"] and payment["status"] == "succeeded":
        record_collected(sandbox, payment)
    attempt: dict[str, Any] = {
        "id": new_id("chc_"),
        "payment_mode": payment_mode,
        "payment_token": payment_token,
        "status": "failed" if decline else "succeeded",
        # ACH debits stay pending until they settle; cards are collected at once.
        "payment_status": "failed" if decline else payment["status"],
        "payment_error_code": decline.code if decline else None,
        "payment_error_description": decline.message if decline else None,
        "payment_response": (
            _decline_error(decline, payment_method) if decline else envelope("payment", payment)
        ),
        "checkout_id": checkout_id,
        "additional_transactions": [],
        # JustiFi reports the payment only when it succeeded (schema and mocks).
        "payment_id": None if decline else payment["id"],
        "payment_method_id": payment_token,
        "terminal_id": None,
        "created_at": stamp,
        "updated_at": stamp,
    }
    updated = {
        **stored,
        "status": "attempted" if decline else "completed",
        "successful_payment_id": None if decline else payment["id"],
        "completions": [*stored["completions"], attempt],
        "updated_at": stamp,
    }
    store.put("checkout", checkout_id, updated)
    completion = {**attempt, "checkout": updated}
    store.put("checkout_completion", attempt["id"], completion)
    account = checkout["account_id"]
    publish_event(sandbox, "payment.created", payment, account_id=account)
    publish_event(
        sandbox, "payment.failed" if decline else "payment.succeeded", payment, account_id=account
    )
    publish_event(
        sandbox,
        "checkout.completion.failed" if decline else "checkout.completion.succeeded",
        completion,
        account_id=account,
    )
    if not decline:
        publish_event(sandbox, "checkout.completed", updated, account_id=account)
    return completion


def _decline_error(decline: cards.Decline, payment_method: dict[str, Any]) -> dict[str, Any]:
    return {
        "error": {
            "code": decline.code,
            "decline_code": decline.decline_code,
            "message": decline.message,
            "network": (
                cards.NETWORKS.get(payment_method["card"]["brand"])
                if "card" in payment_method
                else None
            ),
            "network_error_category": None,
            "network_error_code": decline.network_error_code,
        }
    }


def _new_payment(
    checkout: dict[str, Any],
    payment_method: dict[str, Any],
    payment_mode: str,
    decline: cards.Decline | None,
    stamp: str,
) -> dict[str, Any]:
    override = checkout.get("payment") or {}
    return build_payment(
        account_id=checkout["account_id"],
        amount=checkout["payment_amount"],
        currency="usd",
        payment_method=payment_method,
        capture_strategy="automatic",
        decline=decline,
        stamp=stamp,
        checkout_id=checkout["id"],
        description=checkout["payment_description"],
        statement_descriptor=checkout["statement_descriptor"],
        metadata=override.get("metadata"),
        payment_mode="ecom" if payment_mode in CARD_PAYMENT_MODES else payment_mode,
        fees=override.get("fees"),
    )


def payment_method_summary(payment_method: dict[str, Any]) -> dict[str, Any]:
    """The ``payment_method`` object embedded in a payment (card or bank_account)."""
    if "bank_account" in payment_method:
        bank = payment_method["bank_account"]
        kind, detail = (
            "bank_account",
            {
                key: bank[key]
                for key in (
                    "id",
                    "acct_last_four",
                    "name",
                    "account_owner_name",
                    "routing_number",
                    "account_type",
                    "bank_name",
                    "token",
                    "metadata",
                )
            },
        )
    else:
        card = payment_method["card"]
        kind, detail = (
            "card",
            {
                key: card[key]
                for key in (
                    "id",
                    "acct_last_four",
                    "brand",
                    "name",
                    "token",
                    "metadata",
                    "bin_details",
                )
            },
        )
        detail["digital_wallet"] = None
    detail.update(created_at=payment_method["created_at"], updated_at=payment_method["updated_at"])
    return {
        kind: detail,
        "customer_id": None,
        "signature": payment_method["signature"],
        "account_id": payment_method["account_id"],
    }


def build_payment(
    *,
    account_id: str,
    amount: int,
    currency: str,
    payment_method: dict[str, Any],
    capture_strategy: str,
    decline: cards.Decline | None,
    stamp: str,
    checkout_id: str | None,
    description: str | None,
    statement_descriptor: str | None,
    metadata: dict[str, Any] | None,
    payment_mode: str,
    fees: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A new Payment object (spec CardPayment / BankAccountPayment).

    Automatic capture succeeds at once (ACH: ``pending`` until it settles); manual capture
    leaves an ``authorized``, uncaptured payment. A decline is a ``failed`` payment.
    """
    succeeded = decline is None
    captured = succeeded and capture_strategy == "automatic"
    if not succeeded:
        status = "failed"
    elif capture_strategy == "manual":
        status = "authorized"
    else:
        status = "pending" if payment_mode == "ach" else "succeeded"
    fee_objects = payment_fees(fees if succeeded else None, currency)
    payment = {
        "id": new_id("py_"),
        "account_id": account_id,
        "amount": amount,
        "amount_disputed": 0,
        "amount_refunded": 0,
        "amount_refundable": amount if captured else 0,
        "amount_returned": 0,
        "application_fee_rate_id": None,
        "application_fee": None,
        "balance": 0,
        "capture_strategy": capture_strategy,
        "captured": captured,
        "checkout_id": checkout_id,
        "created_at": stamp,
        "currency": currency,
        "description": description,
        "statement_descriptor": statement_descriptor,
        "disputed": False,
        "disputes": [],
        "error_code": decline.code if decline else None,
        "error_description": decline.message if decline else None,
        "expedited": None,
        "fee_amount": sum(fee["amount"] for fee in fee_objects),
        "fees": fee_objects,
        "financial_transaction_id": new_id("ft_") if succeeded else None,
        "is_test": True,
        "metadata": metadata,
        "payment_intent_id": None,
        "payment_method": payment_method_summary(payment_method),
        "payment_mode": payment_mode,
        "refunded": False,
        "refunds": [],
        "returned": False,
        "status": status,
        "terminal_id": None,
        "transaction_hold": None,
        "updated_at": stamp,
    }
    if captured:
        payment["balance"] = collected_balance(payment)
    return payment


# -- pagination ----------------------------------------------------------------------------


def _encode_cursor(item: dict[str, Any]) -> str:
    raw = json.dumps([item["created_at"], item["id"]], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> str:
    """The object id inside a cursor; raises ApiError(400) for a cursor we never issued."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created_at, object_id = json.loads(raw)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise ApiError(400, "invalid_cursor", "The pagination cursor is invalid") from exc
    if not isinstance(object_id, str) or not isinstance(created_at, str):
        raise ApiError(400, "invalid_cursor", "The pagination cursor is invalid")
    return object_id


def page_size(raw: str | None) -> int:
    """JustiFi: 1-100, default 25; an invalid value falls back to the default."""
    try:
        limit = int(raw) if raw is not None else DEFAULT_PAGE_SIZE
    except ValueError:
        return DEFAULT_PAGE_SIZE
    return limit if 1 <= limit <= 100 else DEFAULT_PAGE_SIZE


def paginate(
    items: list[tuple[int, dict[str, Any]]],
    *,
    limit: int,
    after_seq: int | None,
    before_seq: int | None,
) -> dict[str, Any]:
    """A list envelope over newest-first ``(seq, object)`` pairs, cut at a cursor."""
    if after_seq is not None:
        candidates = [pair for pair in items if pair[0] < after_seq]
        page = candidates[:limit]
    elif before_seq is not None:
        candidates = [pair for pair in items if pair[0] > before_seq]
        page = candidates[-limit:]
    else:
        page = items[:limit]
    if page:
        first_seq, last_seq = page[0][0], page[-1][0]
        has_previous = any(seq > first_seq for seq, _ in items)
        has_next = any(seq < last_seq for seq, _ in items)
    else:
        has_previous = after_seq is not None and any(seq >= after_seq for seq, _ in items)
        has_next = before_seq is not None and any(seq <= before_seq for seq, _ in items)
    data = [obj for _, obj in page]
    return {
        "id": None,
        "type": "array",
        "data": data,
        "page_info": {
            "has_previous": has_previous,
            "has_next": has_next,
            "start_cursor": _encode_cursor(data[0]) if data else None,
            "end_cursor": _encode_cursor(data[-1]) if data else None,
        },
    }


# -- CORS (the wc-proxy surface) ------------------------------------------------------------

CORS_ALLOW_HEADERS = (
    "authorization, content-type, idempotency-key, justifi-web-component-version, "
    "sub-account, account"
)
CORS_ALLOW_METHODS = "GET, POST, PATCH, PUT, DELETE, OPTIONS"


def cors_headers(origin: str) -> dict[str, str]:
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Headers": CORS_ALLOW_HEADERS,
        "Access-Control-Allow-Methods": CORS_ALLOW_METHODS,
        "Access-Control-Max-Age": "600",
        "Vary": "Origin",
    }


def with_cors(app: ASGIApp) -> ASGIApp:
    """Adds the CORS headers (echoing ``Origin``) to every response of ``app``, errors too."""

    async def cors_app(scope: Scope, receive: Receive, send: Send) -> None:
        origin = dict(scope.get("headers", [])).get(b"origin")
        if origin is None:
            await app(scope, receive, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in cors_headers(origin.decode("latin-1")).items():
                    headers[name] = value
            await send(message)

        await app(scope, receive, send_with_cors)

    return cors_app


def cors_routes(routes: list[Route]) -> list[Route]:
    for route in routes:
        route.app = with_cors(route.app)
    return routes


async def cors_preflight(request: Request) -> Response:
    """OPTIONS on any ``/justifi/v1/...`` path: what a browser asks before a cross-origin call.

    Mounted last as a catch-all for every method, so for anything but OPTIONS it answers
    what the router would have: 405 when another route owns the path, else 404.
    """
    if request.method != "OPTIONS":
        for route in request.app.router.routes:
            if route.matches(request.scope)[0] is Match.PARTIAL:
                raise HTTPException(405)
        raise HTTPException(404)
    origin = request.headers.get("origin", "*")
    return Response(status_code=204, headers=cors_headers(origin))


# -- authentication ------------------------------------------------------------------------


@dataclass(frozen=True)
class Auth:
    """Who is calling: a platform API token (``resources`` None) or a web component token."""

    client_id: str
    resources: frozenset[str] | None

    def require(self, *any_of: str) -> None:
        """A web component token must hold one of these resources (403 otherwise)."""
        if self.resources is not None and not self.resources.intersection(any_of):
            raise ApiError(403, "not_authorized", "Not authorized")


# -- HTTP layer ----------------------------------------------------------------------------


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ApiError(400, "invalid_json", "The request body is not valid JSON") from exc
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_json", "The request body must be a JSON object")
    return body


def _fingerprint(request: Request, body: dict[str, Any]) -> str:
    material = [request.method, request.url.path, request.headers.get("sub-account"), body]
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


def authenticate(sandbox: Sandbox, request: Request, *allowed: str, defer: bool = False) -> Auth:
    scheme, _, token = request.headers.get("authorization", "").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise not_authenticated()
    now = sandbox.now()
    record = sandbox.store.get("access_token", token)
    if record is not None:
        if parse_iso(record["expires_at"]) <= now:
            raise not_authenticated()
        return Auth(str(record["client_id"]), None)
    component = sandbox.store.get("web_component_token", token)
    if component is None or parse_iso(component["expires_at"]) <= now:
        raise not_authenticated()
    auth = Auth(str(component["client_id"]), frozenset(component["resources"]))
    if not defer:
        auth.require(*allowed)
    if request.method == "POST" and request.url.path.startswith("/justifi/v1/checkouts"):
        _count_component_post(sandbox, token, component, now)
    return auth


# The checkout component API allows 2 POSTs per 10 s, and 10 POST attempts per token
# (PROVIDERS.md §1.2). Attempts count whether or not they succeed.
COMPONENT_POST_WINDOW = timedelta(seconds=10)
COMPONENT_POSTS_PER_WINDOW = 2
COMPONENT_POSTS_PER_TOKEN = 10


def _count_component_post(
    sandbox: Sandbox, token: str, component: dict[str, Any], now: datetime
) -> None:
    posts = [parse_iso(stamp) for stamp in component.get("posts", [])]
    if len(posts) >= COMPONENT_POSTS_PER_TOKEN:
        raise ApiError(
            429,
            "rate_limit_exceeded",
            "This web component token has used its 10 checkout requests; create a new token",
        )
    if sum(1 for stamp in posts if now - stamp < COMPONENT_POST_WINDOW) >= (
        COMPONENT_POSTS_PER_WINDOW
    ):
        raise ApiError(429, "rate_limit_exceeded", "Too many requests: at most 2 every 10 seconds")
    with sandbox.store.transaction():
        sandbox.store.put(
            "web_component_token",
            token,
            {**component, "posts": [*component.get("posts", []), iso(now)]},
        )


class JustifiApi:
    """The REST endpoints; every handler is async so all store access stays on one thread."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    def routes(self) -> list[Route]:
        return cors_routes(
            [
                Route("/justifi/oauth/token", self.oauth_token, methods=["POST"]),
                Route("/justifi/v1/checkouts", self.create_checkout, methods=["POST"]),
                Route("/justifi/v1/checkouts", self.list_checkouts, methods=["GET"]),
                Route("/justifi/v1/checkouts/{checkout_id}", self.get_checkout, methods=["GET"]),
                Route(
                    "/justifi/v1/checkouts/{checkout_id}/complete",
                    self.complete_checkout,
                    methods=["POST"],
                ),
                Route("/justifi/v1/payment_methods", self.create_payment_method, methods=["POST"]),
                Route(
                    "/justifi/v1/payment_methods/{token}", self.get_payment_method, methods=["GET"]
                ),
            ]
        )

    # -- auth ----------------------------------------------------------------------------

    async def oauth_token(self, request: Request) -> Response:
        body = await _json_body(request)
        client_id, secret = body.get("client_id"), body.get("client_secret")
        if not (
            isinstance(client_id, str)
            and client_id.startswith("test_")
            and isinstance(secret, str)
            and secret
        ):
            # Only test keys exist here; live keys and bad credentials are refused alike.
            raise not_authenticated()
        token = secrets.token_urlsafe(48)
        expires_at = self.sandbox.now() + TOKEN_LIFETIME
        with self.sandbox.store.transaction():
            self.sandbox.store.put(
                "access_token", token, {"client_id": client_id, "expires_at": iso(expires_at)}
            )
        return JSONResponse({"access_token": token})

    def _authenticate(self, request: Request, *allowed: str, defer: bool = False) -> Auth:
        """The caller behind the Bearer token, or 401.

        A web component token may call a route only if it holds one of ``allowed``
        (403 otherwise); with ``defer`` the handler checks ``Auth.require`` itself.
        """
        return authenticate(self.sandbox, request, *allowed, defer=defer)

    @staticmethod
    def _required_sub_account(request: Request) -> str:
        account = request.headers.get("sub-account", "").strip()
        if not account:
            raise ApiError(400, "parameter_missing", "Missing required header: Sub-Account")
        if account not in SUB_ACCOUNTS:
            raise ApiError(403, "not_authorized", "Not authorized")
        return account

    @staticmethod
    def _account_filter(request: Request) -> str | None:
        # The web components send the account as ``Account`` on list calls.
        account = request.headers.get("sub-account") or request.headers.get("account")
        return account.strip() if account else None

    # -- mutations with idempotency ------------------------------------------------------

    async def _apply(
        self,
        request: Request,
        client_id: str,
        body: dict[str, Any],
        apply: Callable[[], tuple[int, dict[str, Any]]],
        *,
        key_required: bool,
        replay_status: int | None = None,
    ) -> Response:
        """Run a validated mutation once per Idempotency-Key; replay its response after.

        ``replay_status`` replaces the status of a successful replay (capture: 201, then 200).
        """
        store = self.sandbox.store
        key = request.headers.get("idempotency-key")
        if not key:
            if key_required:
                raise ApiError(
                    422, "idempotency_key_required", "Idempotency-Key is a required header"
                )
            await self.sandbox.gate.pass_through()
            with store.transaction():
                status, payload = apply()
            return JSONResponse(payload, status_code=status)
        if len(key) > MAX_IDEMPOTENCY_KEY_LENGTH:
            raise ApiError(
                422,
                "idempotency_key_too_long",
                "Validation failed: Idempotency key is too long (maximum is 100 characters)",
            )
        fingerprint = _fingerprint(request, body)
        with store.transaction():
            earlier = store.claim_key(client_id, key, fingerprint, self.sandbox.now())
        if earlier is not None:
            if earlier.fingerprint != fingerprint:
                raise ApiError(
                    422,
                    "idempotency_params_mismatch",
                    "The request parameters do not match those of a previous request using "
                    "this idempotency key",
                )
            if earlier.state == "in_progress":
                raise ApiError(
                    409,
                    "idempotency_request_in_progress",
                    "Another request using this idempotency key is currently in progress",
                )
            status = earlier.status or 200
            if replay_status is not None and 200 <= status < 300:
                status = replay_status
            return JSONResponse(earlier.body, status_code=status)
        try:
            await self.sandbox.gate.pass_through()
            with store.transaction():
                status, payload = apply()
                store.finish_key(client_id, key, status, payload)
        except ApiError as exc:
            with store.transaction():
                if exc.status == 402:
                    # The attempt was processed (tokenization failed): a retry gets the same.
                    store.finish_key(client_id, key, exc.status, exc.body())
                else:
                    store.release_key(client_id, key)
            raise
        except BaseException:
            with store.transaction():
                store.release_key(client_id, key)
            raise
        return JSONResponse(payload, status_code=status)

    # -- checkouts -----------------------------------------------------------------------

    async def create_checkout(self, request: Request) -> Response:
        client_id = self._authenticate(request).client_id
        account_id = self._required_sub_account(request)
        body = await _json_body(request)
        fields = validate_checkout_request(body)

        def apply() -> tuple[int, dict[str, Any]]:
            checkout = create_checkout(
                self.sandbox, account_id=account_id, client_id=client_id, fields=fields
            )
            return 201, envelope("checkout", checkout)

        return await self._apply(request, client_id, body, apply, key_required=False)

    async def get_checkout(self, request: Request) -> Response:
        checkout_id = request.path_params["checkout_id"]
        self._authenticate(request, f"write:checkout:{checkout_id}")
        checkout = get_checkout(self.sandbox, checkout_id)
        account = self._account_filter(request)
        if checkout is None or (account and checkout["account_id"] != account):
            raise not_found()
        return JSONResponse(envelope("checkout", checkout))

    async def list_checkouts(self, request: Request) -> Response:
        auth = self._authenticate(request, defer=True)
        query = request.query_params
        now = self.sandbox.now()
        account = self._account_filter(request)
        if auth.resources is not None:
            # A component lists one account's checkouts (header ``Account``).
            if not account:
                raise ApiError(403, "not_authorized", "Not authorized")
            auth.require(f"read:account:{account}", f"write:account:{account}")
        items = [
            (seq, checkout_view(checkout, now))
            for seq, checkout in self.sandbox.store.newest_first("checkout")
        ]

        def wanted(checkout: dict[str, Any]) -> bool:
            last = checkout["completions"][-1] if checkout["completions"] else {}
            return (
                (not account or checkout["account_id"] == account)
                and ("status" not in query or checkout["status"] == query["status"])
                and (
                    "payment_status" not in query
                    or last.get("payment_status") == query["payment_status"]
                )
                and (
                    "payment_mode" not in query or last.get("payment_mode") == query["payment_mode"]
                )
            )

        items = [pair for pair in items if wanted(pair[1])]
        return JSONResponse(
            paginate(
                items,
                limit=page_size(query.get("limit")),
                after_seq=self._cursor_seq("checkout", query.get("after_cursor")),
                before_seq=self._cursor_seq("checkout", query.get("before_cursor")),
            )
        )

    def _cursor_seq(self, kind: str, cursor: str | None) -> int | None:
        if not cursor:
            return None
        seq = self.sandbox.store.seq_of(kind, _decode_cursor(cursor))
        if seq is None:
            raise ApiError(400, "invalid_cursor", "The pagination cursor is invalid")
        return seq

    @staticmethod
    def _optional_sub_account(request: Request) -> str | None:
        """A ``Sub-Account`` the spec does not require but a caller sent: it must be ours."""
        if "sub-account" not in request.headers:
            return None
        return JustifiApi._required_sub_account(request)

    async def complete_checkout(self, request: Request) -> Response:
        """``POST /v1/checkouts/{id}/complete``.

        ``Sub-Account`` is optional here: the operation's parameters list only
        ``Idempotency-Key`` and ``Authorization``, JustiFi's Node SDK and web components send
        none, its Ruby SDK sends one only when given, and the spec's Platform Wallet guide
        sends the processing sub account. When sent it must be a sub account of the platform
        (else 403) and the checkout's own (else 404, as a checkout outside that account).
        """
        checkout_id = request.path_params["checkout_id"]
        client_id = self._authenticate(request, f"write:checkout:{checkout_id}").client_id
        account = self._optional_sub_account(request)
        body = await _json_body(request)
        token = body.get("payment_token")
        mode = body.get("payment_mode") or "ecom"

        def apply() -> tuple[int, dict[str, Any]]:
            # Checked here, not before: a replay must not depend on the checkout's state now.
            if not isinstance(token, str) or not token:
                raise missing("payment_token")
            if mode not in CARD_PAYMENT_MODES:
                raise invalid("payment_mode")
            stored = self.sandbox.store.get("checkout", checkout_id)
            if account is not None and stored is not None and stored["account_id"] != account:
                raise not_found()
            completion = complete_checkout(
                self.sandbox, checkout_id=checkout_id, payment_token=token, payment_mode=mode
            )
            return 201, envelope("checkout_completion", completion)

        return await self._apply(request, client_id, body, apply, key_required=True)

    # -- payment methods and payments ----------------------------------------------------

    async def create_payment_method(self, request: Request) -> Response:
        auth = self._authenticate(request, defer=True)
        account_id = self._required_sub_account(request)
        auth.require(f"write:tokenize:{account_id}")
        client_id = auth.client_id
        body = await _json_body(request)
        method = _optional_object(body, "payment_method")
        if not method:
            raise missing("payment_method", "payment_method_required")
        bank = _optional_object(method, "bank_account")
        card = _optional_object(method, "card")
        if card is None and bank is None:
            raise missing("card", "payment_method_required")
        _optional_str(body, "email")

        def apply() -> tuple[int, dict[str, Any]]:
            if bank is not None:
                pm = tokenize_bank_account(self.sandbox, account_id=account_id, bank=bank)
            else:
                assert card is not None
                pm = tokenize_card(self.sandbox, account_id=account_id, card=card)
            publish_event(self.sandbox, "payment_method.created", pm, account_id=account_id)
            return 201, payment_method_envelope(pm)

        return await self._apply(request, client_id, body, apply, key_required=True)

    async def get_payment_method(self, request: Request) -> Response:
        self._authenticate(request)
        pm = self.sandbox.store.get("payment_method", request.path_params["token"])
        account = self._account_filter(request)
        if pm is None or (account and pm["account_id"] != account):
            raise ApiError(404, "payment_method_not_found", "Payment method not found")
        return JSONResponse(payment_method_envelope(pm))


async def api_error_response(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return JSONResponse(exc.body(), status_code=exc.status)


def json_body(request: Request) -> Awaitable[dict[str, Any]]:
    return _json_body(request)
