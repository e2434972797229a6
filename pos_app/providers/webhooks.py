"""Verifying provider webhooks: signatures per PROVIDERS.md §5, and duplicates by event id.

Every function takes the raw body exactly as received (signatures cover bytes, not parsed
JSON) and the request headers, and returns a ``VerifiedEvent`` or raises. Comparisons are
constant-time. Payfect's Fernet scheme lives with its adapter (``providers/payfect``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any


class WebhookSignatureError(Exception):
    """The event is not provably from the provider: refuse it (answer 401, record nothing)."""


class DuplicateEventError(Exception):
    """The event was already processed; acknowledge it again and do nothing."""


@dataclass(frozen=True)
class VerifiedEvent:
    provider: str
    event_id: str
    event_type: str
    payload: dict[str, Any]


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
    """
    found = _lower(headers)
    timestamp = _required(found, "justifi-timestamp")
    signature = _required(found, "justifi-signature")
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    _check(expected.hexdigest(), signature)
    if tolerance is not None:
        sent = _parse_time(timestamp)
        if now is None or abs(now - sent) > tolerance:
            raise WebhookSignatureError("The JustiFi event is too old or from the future")
    payload = _json(body)
    return VerifiedEvent("justifi", _text(payload, "id"), _text(payload, "event_name"), payload)


def verify_checkout_com(body: bytes, headers: Mapping[str, str], key: str) -> VerifiedEvent:
    """``Cko-Signature`` = hex HMAC-SHA256(key, body)."""
    signature = _required(_lower(headers), "cko-signature")
    _check(hmac.new(key.encode(), body, hashlib.sha256).hexdigest(), signature)
    payload = _json(body)
    return VerifiedEvent("checkout_com", _text(payload, "id"), _text(payload, "type"), payload)


def verify_recharge(body: bytes, headers: Mapping[str, str], client_secret: str) -> VerifiedEvent:
    """``X-Recharge-Hmac-Sha256`` = hex SHA-256(client_secret + body).

    ReCharge bodies carry no event id: duplicates are recognised by the body's digest
    (a redelivery repeats the body byte for byte).
    """
    found = _lower(headers)
    signature = _required(found, "x-recharge-hmac-sha256")
    _check(hashlib.sha256(client_secret.encode() + body).hexdigest(), signature)
    payload = _json(body)
    topic = found.get("x-recharge-topic", "")
    return VerifiedEvent("recharge", hashlib.sha256(body).hexdigest(), topic, payload)


class ReplayGuard:
    """Remembers the last ``capacity`` events per provider; a repeat raises DuplicateEventError."""

    def __init__(self, capacity: int = 10_000) -> None:
        self._capacity = capacity
        self._seen: OrderedDict[tuple[str, str], None] = OrderedDict()

    def admit(self, event: VerifiedEvent) -> VerifiedEvent:
        key = (event.provider, event.event_id)
        if key in self._seen:
            self._seen.move_to_end(key)
            raise DuplicateEventError(f"{event.provider} event {event.event_id} already seen")
        self._seen[key] = None
        if len(self._seen) > self._capacity:
            self._seen.popitem(last=False)
        return event


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def _required(headers: dict[str, str], name: str) -> str:
    value = headers.get(name, "").strip()
    if not value:
        raise WebhookSignatureError(f"The webhook has no {name} header")
    return value


def _check(expected: str, given: str) -> None:
    if not hmac.compare_digest(expected.lower(), given.strip().lower()):
        raise WebhookSignatureError("The webhook signature does not match its body")


def _json(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise WebhookSignatureError("The signed webhook body is not JSON") from exc
    if not isinstance(payload, dict):
        raise WebhookSignatureError("The signed webhook body is not a JSON object")
    return payload


def _text(payload: dict[str, Any], key: str) -> str:
    value = payload.get(key)
    if not isinstance(value, str) or not value:
        raise WebhookSignatureError(f"The webhook has no {key!r}")
    return value


def _parse_time(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise WebhookSignatureError(f"JUSTIFI-TIMESTAMP {text!r} is not a time") from exc
