"""JustiFi's signed webhook events (spec Event.yaml): recorded in the outbox with the change."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from .. import credentials
from ..state import Sandbox, iso, new_id
from ..webhooks.outbox import record_webhook, webhook_secret


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
        "platform_account_id": credentials.JUSTIFI_PLATFORM_ACCOUNT,
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
