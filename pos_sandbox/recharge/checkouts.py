"""ReCharge checkouts: creating, updating and charging one, shared by the API and the hosted
page, with the webhooks each change records (2021-01 bodies; topics ``checkout/created``,
``checkout/updated``, ``checkout/completed``, ``charge/paid``, ``charge/failed``; signed
``X-Recharge-Hmac-Sha256 = hex(sha256(client_secret + body))``).

No idempotency header exists: a client that lost a response looks the checkout up
(``completed_at`` / ``charge_id``) before charging again. A declined charge answers 402 and
leaves the checkout open for another attempt. Test payment tokens are ``TEST_PAYMENT_TOKENS``.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from decimal import Decimal
from typing import Any

from .. import cards
from ..state import Sandbox, new_id
from ..webhooks.outbox import record_webhook, webhook_secret
from .errors import fail, invalid, not_found
from .fields import apply_fields
from .views import (
    DEFAULT_VERSION,
    checkout_view,
    requires_shipping,
    shipping_line,
    timestamp,
    totals,
)

KIND = "recharge_checkout"


# Processor test tokens (Stripe's and Braintree's published ones): None approves.
TEST_PAYMENT_TOKENS: dict[str, cards.Decline | None] = {
    "tok_visa": None,
    "tok_mastercard": None,
    "tok_amex": None,
    "tok_discover": None,
    "fake-valid-nonce": None,
    "tok_chargeDeclined": cards.GENERIC_DECLINE,
    "tok_chargeDeclinedInsufficientFunds": cards.INSUFFICIENT_FUNDS,
    "fake-processor-declined-visa-nonce": cards.GENERIC_DECLINE,
}
# Tokens the hosted page and the headless helper mint for a card number they were given.
SANDBOX_TOKEN_PREFIX = "tok_sandbox_"  # noqa: S105 - a prefix, not a secret


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
            if shipping_line(checkout) is None:
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
            "shipping_lines": [line] if (line := shipping_line(checkout)) else [],
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
