"""JustiFi checkouts: the create request's rules, the checkout object, and completing it with a
stored payment method (PROVIDERS.md §1.3). These operations are shared by the REST API, the
hosted checkout page and the web components, so a payment made on a page and one made through
the API leave identical state.

``origin_url`` (CreateCheckout: "required for web component usage only") is kept on the checkout
and shown in it; the spec's Checkout schema, JustiFi's mocks and its Node SDK types do not list
it in answers, so whether the real API echoes it is unconfirmed.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from .. import credentials
from ..state import Sandbox, iso, new_id, parse_iso
from ..web import is_int
from .balance import FEE_TYPES, record_collected
from .errors import ApiError, envelope, invalid, missing, not_found, optional_object, optional_str
from .events import publish_event
from .payment_methods import build_payment, charge_decline, decline_error

if TYPE_CHECKING:
    from ..cards import Decline

# Sub-accounts the sandbox platform owns, with the store name the hosted page shows.
SUB_ACCOUNTS = {credentials.JUSTIFI_SUB_ACCOUNT: "Sandbox Store"}

CHECKOUT_LIFETIME = timedelta(days=7)
MIN_AMOUNT_EXCLUSIVE = 50
MAX_AMOUNT_EXCLUSIVE = 100_000_000
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


def _checkout_amount(body: dict[str, Any]) -> int:
    if "amount" not in body or body["amount"] is None:
        raise ApiError(422, "amount_required", "Missing required parameter: amount")
    amount = body["amount"]
    if not is_int(amount):
        raise ApiError(422, "amount_must_be_an_integer", "Amount must be an integer")
    if amount <= MIN_AMOUNT_EXCLUSIVE:
        raise ApiError(422, "amount_below_minimum", "Amount must be greater than 50")
    if amount >= MAX_AMOUNT_EXCLUSIVE:
        raise ApiError(
            422, "amount_above_maximum", "Amount must be lower than 100000000 ($1,000,000.00)"
        )
    return int(amount)


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
    if not all(is_int(value) and value > 0 for value in amounts):
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
    descriptor = optional_str(body, "statement_descriptor")
    if descriptor is not None and not (
        5 <= len(descriptor) <= 22
        and all(c.isalnum() or c in " -_" for c in descriptor)
        and descriptor.isascii()
    ):
        raise invalid("statement_descriptor")
    # The domain the web component renders on ("required for web component usage only").
    origin_url = optional_str(body, "origin_url")
    group = optional_str(body, "payment_method_group_id")
    application_fees = optional_object(body, "application_fees")
    payment = optional_object(body, "payment")
    if payment is not None:
        optional_str(payment, "description")
        optional_object(payment, "metadata")
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
        "metadata": optional_object(body, "metadata"),
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
        "platform_account_id": credentials.JUSTIFI_PLATFORM_ACCOUNT,
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
            decline_error(decline, payment_method) if decline else envelope("payment", payment)
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


def _new_payment(
    checkout: dict[str, Any],
    payment_method: dict[str, Any],
    payment_mode: str,
    decline: Decline | None,
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
