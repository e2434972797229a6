"""Checkout.com's webhooks (PROVIDERS.md §5): an HMAC of the body under the webhook key."""

from __future__ import annotations

import hashlib
import hmac
from typing import TYPE_CHECKING

from pos_app.providers.webhooks import (
    VerifiedEvent,
    check_signature,
    json_field,
    json_object,
    lowered,
    optional_text,
    required_header,
    text,
)

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime, timedelta


def verify_checkout_com(body: bytes, headers: Mapping[str, str], key: str) -> VerifiedEvent:
    """``Cko-Signature`` = hex HMAC-SHA256(key, body)."""
    signature = required_header(lowered(headers), "cko-signature")
    check_signature(hmac.new(key.encode(), body, hashlib.sha256).hexdigest(), signature)
    payload = json_object(body)
    return VerifiedEvent("checkout_com", text(payload, "id"), text(payload, "type"), payload)


def parse(event: VerifiedEvent) -> tuple[str, str | None]:
    data = json_field(event.payload, "data")
    return text(data, "id"), optional_text(data, "reference")


def verify(
    body: bytes, headers: Mapping[str, str], key: str, now: datetime, max_age: timedelta
) -> VerifiedEvent:
    # The scheme carries no time: a replay is caught as a repeated event id.
    return verify_checkout_com(body, headers, key)
