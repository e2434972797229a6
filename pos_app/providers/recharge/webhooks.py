"""ReCharge's webhooks (PROVIDERS.md §5): a SHA-256 of the client secret and the body."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from pos_app.providers.webhooks import (
    REFERENCE_KEY,
    VerifiedEvent,
    check_signature,
    json_field,
    json_object,
    lowered,
    required_header,
    text,
)

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime, timedelta


def verify_recharge(body: bytes, headers: Mapping[str, str], client_secret: str) -> VerifiedEvent:
    """``X-Recharge-Hmac-Sha256`` = hex SHA-256(client_secret + body).

    ReCharge bodies carry no event id: duplicates are recognised by the body's digest
    (a redelivery repeats the body byte for byte).
    """
    found = lowered(headers)
    signature = required_header(found, "x-recharge-hmac-sha256")
    check_signature(hashlib.sha256(client_secret.encode() + body).hexdigest(), signature)
    payload = json_object(body)
    topic = found.get("x-recharge-topic", "")
    return VerifiedEvent("recharge", hashlib.sha256(body).hexdigest(), topic, payload)


def parse(event: VerifiedEvent) -> tuple[str, str | None]:
    """A ``checkout`` body names its token and our note attribute; a ``charge`` body names
    the checkout it charged (the payment ref, see recharge/mapping/charges.py) but not our
    reference."""
    if isinstance(event.payload.get("checkout"), dict):
        checkout = event.payload["checkout"]
        attributes = checkout.get("note_attributes") or checkout.get("order_attributes") or []
        reference = next(
            (
                str(a["value"])
                for a in attributes
                if isinstance(a, dict) and a.get("name") == REFERENCE_KEY and a.get("value")
            ),
            None,
        )
        return text(checkout, "token"), reference
    charge = json_field(event.payload, "charge")
    return text(charge, "checkout_token"), None


def verify(
    body: bytes, headers: Mapping[str, str], secret: str, now: datetime, max_age: timedelta
) -> VerifiedEvent:
    # The scheme carries no time: a replay is caught as a repeated body.
    return verify_recharge(body, headers, secret)
