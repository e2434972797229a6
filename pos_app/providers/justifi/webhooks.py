"""JustiFi's webhooks (PROVIDERS.md §5): an HMAC over the timestamp and body, refused when
older than the receiver allows."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from pos_app.providers.webhooks import (
    VerifiedEvent,
    WebhookSignatureError,
    check_signature,
    json_field,
    json_object,
    lowered,
    metadata_reference,
    required_header,
    text,
)

if TYPE_CHECKING:
    from collections.abc import Mapping


def verify_justifi(
    body: bytes,
    headers: Mapping[str, str],
    secret: str,
    *,
    now: datetime | None = None,
    tolerance: timedelta | None = None,
) -> VerifiedEvent:
    """``JUSTIFI-SIGNATURE`` = hex HMAC-SHA256(secret, "<JUSTIFI-TIMESTAMP>.<body>").

    JustiFi documents no time tolerance; pass one (with ``now``) to also refuse old events.
    The timestamp is read as ISO 8601 (what the sandbox sends) or as epoch seconds.
    """
    found = lowered(headers)
    timestamp = required_header(found, "justifi-timestamp")
    signature = required_header(found, "justifi-signature")
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    check_signature(expected.hexdigest(), signature)
    if tolerance is not None:
        sent = parse_time(timestamp)
        if now is None:
            raise ValueError("a tolerance needs the time to judge it by (now)")
        if abs(now - sent) > tolerance:
            raise WebhookSignatureError("The JustiFi event is too old or from the future")
    payload = json_object(body)
    return VerifiedEvent("justifi", text(payload, "id"), text(payload, "event_name"), payload)


def parse(event: VerifiedEvent) -> tuple[str, str | None]:
    """``data`` is the object; a completion points at its checkout, a refund at its payment."""
    data = json_field(event.payload, "data")
    if event.event_type.startswith("checkout.completion."):
        object_ref = text(data, "checkout_id")
    elif event.event_type == "payment.refunded":
        object_ref = text(data, "payment_id")
    else:
        object_ref = text(data, "id")
    nested = data.get("checkout")
    holder = nested if isinstance(nested, dict) else data
    return object_ref, metadata_reference(holder)


def parse_time(text: str) -> datetime:
    try:
        if text.isascii() and text.isdigit():
            return datetime.fromtimestamp(int(text), UTC)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError) as exc:
        raise WebhookSignatureError(f"JUSTIFI-TIMESTAMP {text!r} is not a time") from exc
    if moment.tzinfo is None:
        raise WebhookSignatureError(f"JUSTIFI-TIMESTAMP {text!r} has no time zone")
    return moment


def verify(
    body: bytes, headers: Mapping[str, str], secret: str, now: datetime, max_age: timedelta
) -> VerifiedEvent:
    return verify_justifi(body, headers, secret, now=now, tolerance=max_age)
