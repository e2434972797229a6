"""A Payfect checkout's life: created open, completed when the chain reports the transfer (the
customer page's button stands in for it), expired 24 hours after creation (sandbox clock), each
change recording its signed callback. Shared by the API and the customer page.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from cryptography.fernet import Fernet

from ..web import money
from ..webhooks.outbox import record_webhook, webhook_secret
from .errors import detail, not_found
from .validation import CURRENCIES, NETWORKS

if TYPE_CHECKING:
    from ..state import Sandbox

MERCHANT = {"id": "5a9dbb8e-2f0c-4d6e-9a51-7b3c1e0d4f21", "name": "Sandbox Store"}
CHECKOUT_LIFETIME = timedelta(hours=24)
KIND = "payfect_checkout"
FAULTS_META = "payfect_faults"


def epoch_seconds(moment: datetime) -> str:
    return f"{moment.timestamp():.6f}"


def epoch_ms(moment: datetime) -> str:
    return str(round(moment.timestamp() * 1000))


def from_epoch_ms(text: str) -> datetime:
    return datetime.fromtimestamp(int(text) / 1000, UTC)


def faults(sandbox: Sandbox) -> dict[str, Any]:
    stored = sandbox.store.get_meta(FAULTS_META)
    return {"truncate_amounts": False, **(json.loads(stored) if stored else {})}


def create_checkout(sandbox: Sandbox, fields: dict[str, Any], base_url: str) -> dict[str, Any]:
    now = sandbox.now()
    truncate = bool(faults(sandbox)["truncate_amounts"])
    checkout_id = str(uuid.uuid4())
    items = []
    total = Decimal("0")
    for item in fields["invoice_items"]:
        unit = item["unit_amount"]
        if truncate:
            unit = Decimal(int(unit))  # the documented echo: 20.5 → "20.00"
        amount = unit * item["quantity"]
        total += amount
        items.append(
            {
                "id": str(uuid.uuid4()),
                "price": str(uuid.uuid4()),
                "quantity": item["quantity"],
                "amount": money(amount),
            }
        )
    currency = fields["currency"]
    checkout = {
        "id": checkout_id,
        "merchant": dict(MERCHANT),
        "nameCollection": False,
        "emailCollection": False,
        "phoneNumberCollection": False,
        "shippingAddressCollection": None,
        "invoiceItems": items,
        "amountTotal": money(total),
        "status": "open",
        "createdAt": epoch_seconds(now),
        "updatedAt": epoch_seconds(now),
        "clientReferenceId": fields["client_reference_id"],
        "currency": currency,
        "successUrl": fields["success_url"],
        "cancelUrl": fields["cancel_url"],
        "expiresAt": epoch_ms(now + CHECKOUT_LIFETIME),
        "paymentIntent": str(uuid.uuid4()),
        "paymentMethodTypes": list(fields["payment_method_types"]),
        "paymentMethodOptions": {
            "crypto": [
                {
                    "currency": {
                        "value": currency,
                        "name": CURRENCIES[currency],
                        "logo": f"/static/images/cryptos/{currency}.png",
                    },
                    "networks": [{"value": net, "name": name} for net, name in NETWORKS.items()],
                }
            ],
            "card": None,
        },
        "url": f"{base_url.rstrip('/')}/payfect/pay/{checkout_id}",
        "metadata": fields["metadata"],
        "isLivemode": False,
    }
    record = {
        "checkout": checkout,
        "callback_url": fields["callback_url"],
        "network": fields["network"],
        "item_names": [item["name"] for item in fields["invoice_items"]],
    }
    with sandbox.store.transaction():
        sandbox.store.put(KIND, checkout_id, record)
    return checkout


def fernet_for(secret: str) -> Fernet:
    """The secret as a Fernet key; one that is not a Fernet key (someone set a plain string
    through the control API) is turned into one as base64url(sha256(secret)) [sandbox]."""
    try:
        return Fernet(secret.encode())
    except ValueError:
        return Fernet(base64.urlsafe_b64encode(hashlib.sha256(secret.encode()).digest()))


def _record_callback(sandbox: Sandbox, record: dict[str, Any], status: str) -> None:
    checkout = record["checkout"]
    payment_method = (
        {
            "id": record["payment_method_id"],
            "payment_method_detail": {
                "network": record["network"],
                "currency": checkout["currency"],
            },
        }
        if status == "succeeded"
        else None
    )
    payload = {
        "id": checkout["id"],
        "amount": checkout["amountTotal"],
        "status": status,
        "currency": checkout["currency"],
        "merchant": checkout["merchant"]["id"],
        "is_livemode": False,
        "payment_intent": checkout["paymentIntent"],
        "payment_method": payment_method,
        "client_reference_id": checkout["clientReferenceId"],
    }
    body = json.dumps(payload, separators=(",", ":")).encode()
    signature = (
        fernet_for(webhook_secret(sandbox, "payfect"))
        .encrypt_at_time(body, int(sandbox.now().timestamp()))
        .decode()
    )
    record_webhook(
        sandbox,
        provider="payfect",
        event_id=str(uuid.uuid4()),
        event_type="checkout.completed" if status == "succeeded" else "checkout.expired",
        body=body,
        headers={"Content-Type": "application/json", "X-Payfect-Signature": signature},
        url=record.get("callback_url") or None,
    )


def load(sandbox: Sandbox, checkout_id: str) -> dict[str, Any] | None:
    """The stored record, expiring it (and recording its callback) once its time has passed."""
    record = sandbox.store.get(KIND, checkout_id)
    if record is None:
        return None
    checkout = record["checkout"]
    expires_at = from_epoch_ms(checkout["expiresAt"])
    if checkout["status"] == "open" and sandbox.now() >= expires_at:
        checkout["status"] = "expired"
        checkout["updatedAt"] = epoch_seconds(expires_at)
        with sandbox.store.transaction():
            sandbox.store.put(KIND, checkout_id, record)
            _record_callback(sandbox, record, "expired")
    return record


def complete(sandbox: Sandbox, checkout_id: str) -> dict[str, Any]:
    """The chain reports the transfer: open → complete (complete stays complete)."""
    record = load(sandbox, checkout_id)
    if record is None:
        raise not_found()
    checkout = record["checkout"]
    if checkout["status"] == "expired":
        raise detail(409, "This checkout has expired.")
    if checkout["status"] == "open":
        checkout["status"] = "complete"
        checkout["updatedAt"] = epoch_seconds(sandbox.now())
        record["payment_method_id"] = str(uuid.uuid4())
        with sandbox.store.transaction():
            sandbox.store.put(KIND, checkout_id, record)
            _record_callback(sandbox, record, "succeeded")
    return record
